mod common;

use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use common::*;
use stepcart_asl::{
    CallbackError, DriveMode, Execution, ExternalEvent, FunctionError, LambdaFunction, LambdaRegistry,
    MemorySink, Runner,
};
use stepcart_asl::{Value, json};

/// A Lambda that hands the task token to "the outside world" (a shared slot), like a 3-D Secure
/// challenge handler would.
struct TokenCollector(Arc<Mutex<Vec<String>>>);

#[async_trait]
impl LambdaFunction for TokenCollector {
    async fn invoke(&self, payload: Value) -> Result<Value, FunctionError> {
        let token = payload["token"]
            .as_str()
            .ok_or_else(|| FunctionError::new("NoToken", "no token"))?;
        self.0.lock().expect("lock").push(token.to_owned());
        Ok(json!({"challenge": "sent"}))
    }
}

fn three_ds_machine() -> Arc<stepcart_asl::StateMachine> {
    machine(json!({
        "StartAt": "Challenge",
        "States": {
            "Challenge": {
                "Type": "Task",
                "Resource": "arn:aws:states:::lambda:invoke.waitForTaskToken",
                "Parameters": {"FunctionName": "challenge", "Payload": {"token.$": "$$.Task.Token", "order.$": "$.order"}},
                "ResultPath": "$.auth",
                "TimeoutSeconds": 900,
                "Catch": [{"ErrorEquals": ["Auth.Declined"], "ResultPath": "$.error", "Next": "Declined"}],
                "Next": "Capture"
            },
            "Capture": {"Type": "Pass", "Result": "captured", "ResultPath": "$.capture", "End": true},
            "Declined": {"Type": "Fail", "Error": "Declined"}
        }
    }))
}

fn registry(tokens: &Arc<Mutex<Vec<String>>>) -> Arc<LambdaRegistry> {
    let mut reg = LambdaRegistry::new();
    reg.register(
        "arn:aws:lambda:eu-west-1:123456789012:function:challenge",
        Arc::new(TokenCollector(tokens.clone())),
    );
    Arc::new(reg)
}

#[tokio::test]
async fn wait_for_task_token_survives_snapshot_and_resumes_in_a_fresh_runner() {
    let tokens = Arc::new(Mutex::new(Vec::new()));
    let m = three_ds_machine();

    // Process 1: run until only the callback is outstanding, persist, exit.
    let c = clock();
    let sink1 = Arc::new(MemorySink::new());
    let runner1 = Runner::new(registry(&tokens), sink1.clone(), Arc::new(c.clone()));
    let exec = runner1
        .start(
            m.clone(),
            ctx("pay-1"),
            json!({"order": "o-1"}),
            DriveMode::UntilIdle,
        )
        .await
        .expect("run");
    assert!(exec.status().is_running());
    let token = tokens
        .lock()
        .expect("lock")
        .first()
        .cloned()
        .expect("the lambda saw a token");
    assert!(
        token.len() >= 64 && token.chars().all(|c| c.is_ascii_hexdigit()),
        "{token}"
    );
    assert_eq!(exec.waiting_task_tokens(), vec![token.clone()]);
    assert_eq!(exec.active_states(), vec!["Challenge"]);
    assert!(exec.owns_token(&token));
    assert!(!exec.owns_token("forged"));
    assert_eq!(exec.token_status(&token), stepcart_asl::TokenStatus::Waiting);
    let snapshot = serde_json::to_string(&exec).expect("serialise");
    let recorded = sink1
        .snapshot(&exec.context().execution_arn)
        .expect("write-ahead snapshot");
    assert_eq!(serde_json::to_string(&recorded).expect("serialise"), snapshot);
    let history1 = sink1.events(&exec.context().execution_arn);
    let types: Vec<_> = history1.iter().map(|e| e.event_type.to_string()).collect();
    assert_eq!(
        types,
        vec![
            "ExecutionStarted",
            "TaskStateEntered",
            "TaskScheduled",
            "TaskStarted",
            "TaskSubmitted"
        ]
    );
    drop(runner1);

    // Process 2: load the snapshot, deliver the callback, finish.
    let restored: Execution = serde_json::from_str(&snapshot).expect("deserialise");
    let c2 = clock();
    c2.advance(time::Duration::seconds(120));
    let sink2 = Arc::new(MemorySink::new());
    let runner2 = Runner::new(registry(&tokens), sink2.clone(), Arc::new(c2));
    let exec = runner2
        .resume(
            m.clone(),
            restored,
            Some(ExternalEvent::TaskTokenSucceeded {
                token: token.clone(),
                output: json!({"authorised": true}),
            }),
            DriveMode::UntilComplete,
        )
        .await
        .expect("resume");
    assert_eq!(
        output(&exec),
        json!({"order": "o-1", "auth": {"authorised": true}, "capture": "captured"})
    );
    let history2 = sink2.events(&exec.context().execution_arn);
    let types: Vec<_> = history2.iter().map(|e| e.event_type.to_string()).collect();
    assert_eq!(
        types,
        vec![
            "TaskSucceeded",
            "TaskStateExited",
            "PassStateEntered",
            "PassStateExited",
            "ExecutionSucceeded"
        ]
    );
    // Numbering continues across processes.
    assert_eq!(history2[0].id, history1.last().expect("events").id + 1);
    assert_eq!(
        tokens.lock().expect("lock").len(),
        1,
        "the lambda is not invoked again"
    );
}

#[tokio::test]
async fn callback_failure_is_caught_and_stale_token_ignored() {
    let tokens = Arc::new(Mutex::new(Vec::new()));
    let m = three_ds_machine();
    let c = clock();
    let runner = Runner::new(registry(&tokens), Arc::new(MemorySink::new()), Arc::new(c));
    let mut exec = runner
        .start(
            m.clone(),
            ctx("pay-2"),
            json!({"order": "o-2"}),
            DriveMode::UntilIdle,
        )
        .await
        .expect("run");
    let token = tokens.lock().expect("lock")[0].clone();
    let cmds = exec.apply(
        &m,
        ExternalEvent::TaskTokenFailed {
            token: token.clone(),
            error: "Auth.Declined".into(),
            cause: Some("3DS failed".into()),
        },
        T0,
    );
    assert!(cmds.is_empty());
    assert_eq!(failure(&exec), ("Declined".to_owned(), None));
    // Late or duplicate callbacks are ignored, never panic.
    let again = exec.apply(
        &m,
        ExternalEvent::TaskTokenSucceeded {
            token,
            output: json!(1),
        },
        T0,
    );
    assert!(again.is_empty());
    assert_eq!(exec.status().aws_status(), "FAILED");
}

#[tokio::test]
async fn until_complete_receives_callbacks_through_the_runner() {
    let tokens = Arc::new(Mutex::new(Vec::new()));
    let m = three_ds_machine();
    let runner = Runner::new(
        registry(&tokens),
        Arc::new(MemorySink::new()),
        Arc::new(stepcart_asl::SystemClock),
    );
    assert_eq!(
        runner.send_task_success("nope", json!(1)),
        Err(CallbackError::UnknownToken)
    );
    let driver = {
        let runner = runner.clone();
        let m = m.clone();
        tokio::spawn(async move {
            runner
                .start(m, ctx("pay-3"), json!({"order": "o-3"}), DriveMode::UntilComplete)
                .await
        })
    };
    let token = loop {
        if let Some(t) = tokens.lock().expect("lock").first().cloned() {
            break t;
        }
        tokio::task::yield_now().await;
    };
    // The token is registered once the invocation returned; retry until the runner knows it.
    loop {
        match runner.send_task_heartbeat(&token) {
            Ok(()) => break,
            Err(CallbackError::UnknownToken) => tokio::task::yield_now().await,
        }
    }
    runner.send_task_success(&token, json!("ok")).expect("delivered");
    let exec = driver.await.expect("join").expect("run");
    assert_eq!(output(&exec)["auth"], json!("ok"));
    assert_eq!(
        runner.send_task_success(&token, json!(1)),
        Err(CallbackError::UnknownToken)
    );
}

#[tokio::test]
async fn resume_reissues_outstanding_invocations_after_a_crash() {
    let c = clock();
    let inv = ScriptInvoker::new(&c, |r, _| Ok(json!({"echo": r.parameters})));
    let m = machine(json!({
        "StartAt": "T",
        "States": {"T": {"Type": "Task", "Resource": "arn:aws:states:::x:y", "Parameters": {"a": 1}, "End": true}}
    }));
    // Crash right after start: the commands were never carried out.
    let (exec, cmds) = Execution::start(&m, ctx("crash"), json!({}), T0);
    assert_eq!(cmds.len(), 1);
    assert_eq!(exec.pending_commands(), cmds);
    let snapshot: Execution = serde_json::from_value(serde_json::to_value(&exec).expect("ser")).expect("de");
    let h = Harness::new(inv.clone(), c);
    let exec = h
        .runner
        .resume(m, snapshot, None, DriveMode::UntilComplete)
        .await
        .expect("resume");
    assert_eq!(output(&exec), json!({"echo": {"a": 1}}));
    assert_eq!(inv.requests().len(), 1);
}

/// Answers its own callback before the invocation returns, through the runner that drives it.
struct EagerResponder(Arc<std::sync::OnceLock<Runner>>);

#[async_trait]
impl LambdaFunction for EagerResponder {
    async fn invoke(&self, payload: Value) -> Result<Value, FunctionError> {
        let token = payload["token"].as_str().unwrap_or_default();
        let runner = self
            .0
            .get()
            .ok_or_else(|| FunctionError::new("NoRunner", "runner not set"))?;
        runner
            .send_task_success(token, json!("early"))
            .map_err(|e| FunctionError::new("Send", e.to_string()))?;
        Ok(json!({}))
    }
}

#[tokio::test]
async fn a_callback_sent_before_the_invocation_returns_is_not_lost_in_until_idle() {
    let slot = Arc::new(std::sync::OnceLock::new());
    let mut reg = LambdaRegistry::new();
    reg.register("challenge", Arc::new(EagerResponder(slot.clone())));
    let runner = Runner::new(Arc::new(reg), Arc::new(MemorySink::new()), Arc::new(clock()));
    assert!(slot.set(runner.clone()).is_ok());
    let exec = runner
        .start(
            three_ds_machine(),
            ctx("eager"),
            json!({"order": "o"}),
            DriveMode::UntilIdle,
        )
        .await
        .expect("run");
    assert_eq!(output(&exec)["auth"], json!("early"));
}

#[tokio::test]
async fn an_overdue_callback_timeout_fires_when_resumed_until_idle() {
    let tokens = Arc::new(Mutex::new(Vec::new()));
    let m = machine(json!({
        "StartAt": "Challenge",
        "States": {
            "Challenge": {
                "Type": "Task",
                "Resource": "arn:aws:states:::lambda:invoke.waitForTaskToken",
                "Parameters": {"FunctionName": "challenge", "Payload": {"token.$": "$$.Task.Token"}},
                "TimeoutSeconds": 900,
                "Catch": [{"ErrorEquals": ["States.Timeout"], "ResultPath": "$.error", "Next": "Expired"}],
                "End": true
            },
            "Expired": {"Type": "Pass", "End": true}
        }
    }));
    let c = clock();
    let runner = Runner::new(
        registry(&tokens),
        Arc::new(MemorySink::new()),
        Arc::new(c.clone()),
    );
    let exec = runner
        .start(m.clone(), ctx("late"), json!({}), DriveMode::UntilIdle)
        .await
        .expect("run");
    assert!(exec.status().is_running(), "idle while the deadline is ahead");
    let snapshot = serde_json::to_string(&exec).expect("ser");

    // Resumed before the deadline: still idle, nothing happens.
    c.advance(time::Duration::seconds(899));
    let exec: Execution = serde_json::from_str(&snapshot).expect("de");
    let exec = runner
        .resume(m.clone(), exec, None, DriveMode::UntilIdle)
        .await
        .expect("resume");
    assert!(exec.status().is_running());

    // Resumed after the deadline: the time-out fires and the catcher runs.
    c.advance(time::Duration::seconds(2));
    let exec = runner
        .resume(m, exec, None, DriveMode::UntilIdle)
        .await
        .expect("resume");
    assert_eq!(output(&exec)["error"]["Error"], json!("States.Timeout"));
}
