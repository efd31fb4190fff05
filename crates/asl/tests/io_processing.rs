mod common;

use common::*;
use stepcart_asl::json;

#[tokio::test]
async fn task_io_processing_runs_in_aws_order() {
    let c = clock();
    let inv = ScriptInvoker::new(&c, |r, _| {
        // The task sees exactly what Parameters built from the InputPath selection.
        assert_eq!(
            r.parameters,
            json!({"sku": "A-1", "qty": 2, "exec": "run-1", "state": "Reserve", "label": "A-1 x2"})
        );
        Ok(json!({"reservation": {"id": "R-9", "noise": true}, "status": 200}))
    });
    let h = Harness::new(inv.clone(), c);
    let m = machine(json!({
        "StartAt": "Reserve",
        "States": {
            "Reserve": {
                "Type": "Task",
                "Resource": "arn:aws:states:::custom:reserve",
                "InputPath": "$.order",
                "Parameters": {
                    "sku.$": "$.sku",
                    "qty.$": "$.qty",
                    "exec.$": "$$.Execution.Name",
                    "state.$": "$$.State.Name",
                    "label.$": "States.Format('{} x{}', $.sku, $.qty)"
                },
                "ResultSelector": {"reservationId.$": "$.reservation.id"},
                "ResultPath": "$.order.result",
                "OutputPath": "$.order",
                "End": true
            }
        }
    }));
    let exec = h
        .run(
            &m,
            "run-1",
            json!({"order": {"sku": "A-1", "qty": 2}, "other": 1}),
        )
        .await;
    assert_eq!(
        output(&exec),
        json!({"sku": "A-1", "qty": 2, "result": {"reservationId": "R-9"}})
    );
    assert_eq!(inv.requests().len(), 1);
}

#[tokio::test]
async fn result_path_null_and_input_path_null() {
    let c = clock();
    let inv = ScriptInvoker::new(&c, |r, _| {
        assert_eq!(r.parameters, json!({}));
        Ok(json!("ignored"))
    });
    let h = Harness::new(inv, c);
    let m = machine(json!({
        "StartAt": "T",
        "States": {
            "T": {"Type": "Task", "Resource": "arn:aws:states:::x:y", "InputPath": null, "ResultPath": null, "Next": "P"},
            "P": {"Type": "Pass", "Result": {"fixed": true}, "ResultPath": "$.pass", "OutputPath": null, "Next": "Q"},
            "Q": {"Type": "Pass", "End": true}
        }
    }));
    let exec = h.run(&m, "n", json!({"keep": 1})).await;
    assert_eq!(output(&exec), json!({}));
    let exited: Vec<_> = h
        .events("n")
        .into_iter()
        .filter(|e| e.event_type.as_str() == "TaskStateExited")
        .map(|e| e.detail("output"))
        .collect();
    assert_eq!(exited, vec![Some(json!("{\"keep\":1}"))]);
}

#[tokio::test]
async fn pass_parameters_and_context_object() {
    let c = clock();
    let h = Harness::new(echo(&c), c);
    let m = machine(json!({
        "StartAt": "P",
        "States": {
            "P": {
                "Type": "Pass",
                "Parameters": {
                    "id.$": "$$.Execution.Id",
                    "input.$": "$$.Execution.Input",
                    "start.$": "$$.Execution.StartTime",
                    "sm.$": "$$.StateMachine.Name",
                    "entered.$": "$$.State.EnteredTime",
                    "retry.$": "$$.State.RetryCount",
                    "items.$": "$.items[*].n",
                    "first.$": "$.items[0]",
                    "static": [1, {"deep.$": "$.items[-1:].n"}]
                },
                "ResultPath": "$.out",
                "End": true
            }
        }
    }));
    let exec = h.run(&m, "ctx-1", json!({"items": [{"n": 1}, {"n": 2}]})).await;
    let out = output(&exec);
    assert_eq!(
        out["out"]["id"],
        json!("arn:aws:states:eu-west-1:123456789012:execution:Demo:ctx-1")
    );
    assert_eq!(out["out"]["input"], json!({"items": [{"n": 1}, {"n": 2}]}));
    assert_eq!(out["out"]["start"], json!("2024-05-01T12:00:00.000Z"));
    assert_eq!(out["out"]["entered"], json!("2024-05-01T12:00:00.000Z"));
    assert_eq!(out["out"]["sm"], json!("Demo"));
    assert_eq!(out["out"]["retry"], json!(0));
    assert_eq!(out["out"]["items"], json!([1, 2]));
    assert_eq!(out["out"]["first"], json!({"n": 1}));
    assert_eq!(out["out"]["static"], json!([1, {"deep": [2]}]));
    assert_eq!(out["items"], json!([{"n": 1}, {"n": 2}]));
}

#[tokio::test]
async fn missing_parameter_path_is_a_terminal_runtime_error() {
    let c = clock();
    let h = Harness::new(echo(&c), c);
    let m = machine(json!({
        "StartAt": "P",
        "States": {
            "P": {
                "Type": "Task",
                "Resource": "arn:aws:states:::x:y",
                "Parameters": {"a.$": "$.missing"},
                "Catch": [{"ErrorEquals": ["States.ALL"], "Next": "Caught"}],
                "End": true
            },
            "Caught": {"Type": "Succeed"}
        }
    }));
    let exec = h.run(&m, "rt", json!({})).await;
    let (error, cause) = failure(&exec);
    assert_eq!(error, "States.Runtime");
    let cause = cause.expect("cause");
    assert!(
        cause.starts_with("An error occurred while executing the state 'P' (entered at the event id #2)."),
        "{cause}"
    );
    assert!(cause.contains("'a.$'"), "{cause}");
}

#[tokio::test]
async fn intrinsic_failure_is_states_runtime_and_not_catchable() {
    // AWS reports intrinsic failures as States.Runtime: States.IntrinsicFailure is "Reserved for future
    // use" (concepts-error-handling), and States.Runtime is terminal.
    let c = clock();
    let h = Harness::new(echo(&c), c);
    let m = machine(json!({
        "StartAt": "P",
        "States": {
            "P": {
                "Type": "Task",
                "Resource": "arn:aws:states:::x:y",
                "Parameters": {"a.$": "States.ArrayGetItem($.list, 5)"},
                "Catch": [
                    {"ErrorEquals": ["States.IntrinsicFailure"], "ResultPath": "$.err", "Next": "Caught"},
                    {"ErrorEquals": ["States.ALL"], "ResultPath": "$.err", "Next": "Caught"}
                ],
                "End": true
            },
            "Caught": {"Type": "Succeed"}
        }
    }));
    let exec = h.run(&m, "if", json!({"list": [1]})).await;
    let (error, cause) = failure(&exec);
    assert_eq!(error, "States.Runtime");
    let cause = cause.expect("cause");
    assert!(
        cause.starts_with("An error occurred while executing the state 'P'"),
        "{cause}"
    );
    assert!(cause.contains("'a.$'"), "{cause}");
}

#[tokio::test]
async fn result_path_into_non_object_fails_with_result_path_match_failure() {
    let c = clock();
    let h = Harness::new(echo(&c), c);
    let m = machine(json!({
        "StartAt": "P",
        "States": {"P": {"Type": "Pass", "Result": 1, "ResultPath": "$.s.x", "End": true}}
    }));
    let exec = h.run(&m, "rp", json!({"s": "string"})).await;
    assert_eq!(failure(&exec).0, "States.ResultPathMatchFailure");
}

#[tokio::test]
async fn payload_limit_fails_with_data_limit_exceeded_even_with_catch_all() {
    let c = clock();
    let inv = ScriptInvoker::new(&c, |_, _| Ok(json!({"blob": "x".repeat(300_000)})));
    let h = Harness::new(inv, c);
    let m = machine(json!({
        "StartAt": "Big",
        "States": {
            "Big": {
                "Type": "Task",
                "Resource": "arn:aws:states:::x:y",
                "Retry": [{"ErrorEquals": ["States.ALL"]}],
                "Catch": [{"ErrorEquals": ["States.ALL"], "Next": "Caught"}],
                "End": true
            },
            "Caught": {"Type": "Succeed"}
        }
    }));
    let exec = h.run(&m, "big", json!({})).await;
    assert_eq!(failure(&exec).0, "States.DataLimitExceeded");
    let exact = "y".repeat(262_144 - 2);
    let c = clock();
    let h = Harness::new(echo(&c), c);
    let m = machine(json!({"StartAt": "P", "States": {"P": {"Type": "Pass", "End": true}}}));
    let exec = h.run(&m, "edge", json!(exact)).await;
    assert_eq!(output(&exec), json!(exact), "exactly 262144 bytes is allowed");
    let exec = h.run(&m, "over", json!(format!("{exact}y"))).await;
    assert_eq!(failure(&exec).0, "States.DataLimitExceeded");
}

/// Answers `{"n": CALL}` and keeps nothing, so no document stays shared with a request.
struct Counter(std::sync::atomic::AtomicU64);

impl stepcart_asl::TaskInvoker for Counter {
    fn invoke(
        &self,
        _request: stepcart_asl::TaskRequest,
    ) -> futures::future::BoxFuture<'static, Result<stepcart_asl::Value, stepcart_asl::TaskFailure>> {
        let n = self.0.fetch_add(1, std::sync::atomic::Ordering::Relaxed) + 1;
        Box::pin(std::future::ready(Ok(json!({"n": n}))))
    }
}

/// Keeps each event only as its JSON text, as a store does, so no document stays shared with one.
#[derive(Default)]
struct TextSink(std::sync::Mutex<Vec<String>>);

#[async_trait::async_trait]
impl stepcart_asl::ExecutionSink for TextSink {
    async fn record(
        &self,
        _execution: &stepcart_asl::Execution,
        new_events: &[stepcart_asl::HistoryEvent],
    ) -> Result<(), stepcart_asl::SinkError> {
        let mut texts = self.0.lock().expect("lock");
        texts.extend(new_events.iter().map(|e| e.to_aws_json().to_json_string()));
        Ok(())
    }
}

/// A result is written into the state document in place once nothing else holds it (here: the sink
/// keeps only text, the invoker keeps nothing). The documents other parts hold must come out
/// unchanged: the execution's input (the first state's input), and each state's input as its history
/// event recorded it.
#[tokio::test]
async fn results_written_in_place_leave_every_other_holder_unchanged() {
    let task = |result_path: &str, next: Option<&str>| {
        let mut state = json!({"Type": "Task", "Resource": "arn:aws:lambda:eu-west-1:123456789012:function:f",
                               "ResultPath": result_path});
        let fields = state.as_object_mut().expect("object");
        match next {
            Some(n) => fields.insert("Next", json!(n)),
            None => fields.insert("End", json!(true)),
        };
        state
    };
    let m = machine(json!({
        "StartAt": "First",
        "States": {
            "First": task("$.first", Some("Second")),
            "Second": task("$.second", Some("Third")),
            "Third": task("$.third", None)
        }
    }));
    let input = json!({"cart": {"items": [1, 2]}});
    let sink = std::sync::Arc::new(TextSink::default());
    let runner = stepcart_asl::Runner::new(
        std::sync::Arc::new(Counter(Default::default())),
        sink.clone(),
        std::sync::Arc::new(clock()),
    );
    let exec = runner
        .start(
            m,
            ctx("in-place"),
            input.clone(),
            stepcart_asl::DriveMode::UntilComplete,
        )
        .await
        .expect("runner");
    assert_eq!(
        output(&exec),
        json!({"cart": {"items": [1, 2]}, "first": {"n": 1}, "second": {"n": 2}, "third": {"n": 3}})
    );
    assert_eq!(
        exec.input(),
        &input,
        "the execution's input is never written into"
    );
    let entered: Vec<serde_json::Value> = sink
        .0
        .lock()
        .expect("lock")
        .iter()
        .map(|text| serde_json::from_str::<serde_json::Value>(text).expect("JSON"))
        .filter(|e| e["type"] == "TaskStateEntered")
        .map(|e| {
            serde_json::from_str(e["stateEnteredEventDetails"]["input"].as_str().expect("text"))
                .expect("JSON")
        })
        .collect();
    assert_eq!(
        entered,
        [
            serde_json::json!({"cart": {"items": [1, 2]}}),
            serde_json::json!({"cart": {"items": [1, 2]}, "first": {"n": 1}}),
            serde_json::json!({"cart": {"items": [1, 2]}, "first": {"n": 1}, "second": {"n": 2}}),
        ]
    );
}
