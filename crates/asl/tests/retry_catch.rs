mod common;

use common::*;
use stepcart_asl::TaskFailure;
use stepcart_asl::json;
use time::Duration;

fn gaps(times: &[time::OffsetDateTime]) -> Vec<f64> {
    times.windows(2).map(|w| (w[1] - w[0]).as_seconds_f64()).collect()
}

#[tokio::test]
async fn retry_backoff_delays_follow_interval_rate_and_cap() {
    let c = clock();
    let inv = ScriptInvoker::new(&c, |_, n| {
        if n < 5 {
            Err(TaskFailure::new("Flaky", "try again"))
        } else {
            Ok(json!({"ok": n}))
        }
    });
    let h = Harness::new(inv.clone(), c);
    let m = machine(json!({
        "StartAt": "T",
        "States": {"T": {
            "Type": "Task", "Resource": "arn:aws:states:::x:y",
            "Retry": [{"ErrorEquals": ["Flaky"], "IntervalSeconds": 2, "BackoffRate": 3.0, "MaxAttempts": 4, "MaxDelaySeconds": 10}],
            "End": true
        }}
    }));
    let exec = h.run(&m, "r", json!({})).await;
    assert_eq!(output(&exec), json!({"ok": 5}));
    // 2 * 3^0, 2 * 3^1, min(2 * 3^2, 10), min(2 * 3^3, 10)
    assert_eq!(gaps(&inv.call_times()), vec![2.0, 6.0, 10.0, 10.0]);
    let attempts: Vec<u32> = inv.requests().iter().map(|r| r.context.attempt).collect();
    assert_eq!(attempts, vec![0, 1, 2, 3, 4]);
}

#[tokio::test]
async fn defaults_are_one_second_three_attempts_rate_two() {
    let c = clock();
    let inv = ScriptInvoker::new(&c, |_, _| Err(TaskFailure::new("Boom", "always")));
    let h = Harness::new(inv.clone(), c);
    let m = machine(json!({
        "StartAt": "T",
        "States": {"T": {"Type": "Task", "Resource": "arn:aws:states:::x:y", "Retry": [{"ErrorEquals": ["States.ALL"]}], "End": true}}
    }));
    let exec = h.run(&m, "d", json!({})).await;
    assert_eq!(failure(&exec), ("Boom".to_owned(), Some("always".to_owned())));
    assert_eq!(gaps(&inv.call_times()), vec![1.0, 2.0, 4.0]);
}

#[tokio::test]
async fn max_attempts_zero_never_retries_and_first_matching_retrier_wins() {
    let c = clock();
    let inv = ScriptInvoker::new(&c, |_, _| Err(TaskFailure::new("Specific", "x")));
    let h = Harness::new(inv.clone(), c);
    let m = machine(json!({
        "StartAt": "T",
        "States": {"T": {
            "Type": "Task", "Resource": "arn:aws:states:::x:y",
            "Retry": [
                {"ErrorEquals": ["Specific"], "MaxAttempts": 0},
                {"ErrorEquals": ["States.ALL"], "MaxAttempts": 5}
            ],
            "End": true
        }}
    }));
    let exec = h.run(&m, "z", json!({})).await;
    assert_eq!(failure(&exec).0, "Specific");
    assert_eq!(
        inv.requests().len(),
        1,
        "the exhausted first retrier must not fall through to States.ALL"
    );
}

#[tokio::test]
async fn each_retrier_counts_its_own_attempts() {
    let c = clock();
    // A, B, A, B, then success: each retrier allows 2 retries, together 4.
    let inv = ScriptInvoker::new(&c, |_, n| match n {
        1 | 3 => Err(TaskFailure::new("A", "")),
        2 | 4 => Err(TaskFailure::new("B", "")),
        _ => Ok(json!("done")),
    });
    let h = Harness::new(inv.clone(), c);
    let m = machine(json!({
        "StartAt": "T",
        "States": {"T": {
            "Type": "Task", "Resource": "arn:aws:states:::x:y",
            "Retry": [
                {"ErrorEquals": ["A"], "MaxAttempts": 2, "IntervalSeconds": 1, "BackoffRate": 1.0},
                {"ErrorEquals": ["B"], "MaxAttempts": 2, "IntervalSeconds": 5, "BackoffRate": 1.0}
            ],
            "End": true
        }}
    }));
    let exec = h.run(&m, "own", json!({})).await;
    assert_eq!(output(&exec), json!("done"));
    assert_eq!(gaps(&inv.call_times()), vec![1.0, 5.0, 1.0, 5.0]);
}

#[tokio::test]
async fn full_jitter_stays_within_the_computed_delay() {
    let c = clock();
    let inv = ScriptInvoker::new(&c, |_, n| {
        if n < 4 {
            Err(TaskFailure::new("E", ""))
        } else {
            Ok(json!(1))
        }
    });
    let h = Harness::new(inv.clone(), c);
    let m = machine(json!({
        "StartAt": "T",
        "States": {"T": {
            "Type": "Task", "Resource": "arn:aws:states:::x:y",
            "Retry": [{"ErrorEquals": ["E"], "IntervalSeconds": 4, "BackoffRate": 2.0, "JitterStrategy": "FULL"}],
            "End": true
        }}
    }));
    let exec = h.run(&m, "j", json!({})).await;
    assert_eq!(output(&exec), json!(1));
    let g = gaps(&inv.call_times());
    for (gap, max) in g.iter().zip([4.0, 8.0, 16.0]) {
        assert!((0.0..=max).contains(gap), "{gap} outside [0, {max}]");
    }
}

#[tokio::test]
async fn catchers_are_checked_in_order_with_result_path() {
    let c = clock();
    let inv = ScriptInvoker::new(&c, |_, _| {
        Err(TaskFailure::new("Payment.Declined", "card declined"))
    });
    let h = Harness::new(inv, c);
    let m = machine(json!({
        "StartAt": "Pay",
        "States": {
            "Pay": {
                "Type": "Task", "Resource": "arn:aws:states:::x:y",
                "Catch": [
                    {"ErrorEquals": ["Other"], "Next": "Wrong"},
                    {"ErrorEquals": ["Payment.Declined", "X"], "ResultPath": "$.error", "Next": "Declined"},
                    {"ErrorEquals": ["States.ALL"], "Next": "Wrong"}
                ],
                "End": true
            },
            "Declined": {"Type": "Pass", "End": true},
            "Wrong": {"Type": "Fail", "Error": "WrongCatcher"}
        }
    }));
    let exec = h.run(&m, "c", json!({"order": 7})).await;
    assert_eq!(
        output(&exec),
        json!({"order": 7, "error": {"Error": "Payment.Declined", "Cause": "card declined"}})
    );
}

#[tokio::test]
async fn task_failed_wildcard_does_not_match_timeout() {
    let c = clock();
    let inv = ScriptInvoker::new(&c, |_, _| Ok(json!("late"))).with_delay(Duration::seconds(30));
    let h = Harness::new(inv.clone(), c);
    let m = machine(json!({
        "StartAt": "Slow",
        "States": {
            "Slow": {
                "Type": "Task", "Resource": "arn:aws:states:::x:y", "TimeoutSeconds": 5,
                "Catch": [
                    {"ErrorEquals": ["States.TaskFailed"], "Next": "Wrong"},
                    {"ErrorEquals": ["States.Timeout"], "ResultPath": "$.err", "Next": "TimedOut"}
                ],
                "End": true
            },
            "TimedOut": {"Type": "Pass", "End": true},
            "Wrong": {"Type": "Fail", "Error": "WrongCatcher"}
        }
    }));
    let exec = h.run(&m, "to", json!({})).await;
    assert_eq!(output(&exec)["err"]["Error"], json!("States.Timeout"));
    let types = h.types("to");
    assert!(types.contains(&"TaskTimedOut".to_owned()), "{types:?}");
    assert!(
        !types.contains(&"TaskSucceeded".to_owned()),
        "the late result must be ignored: {types:?}"
    );
}

#[tokio::test]
async fn uncaught_timeout_fails_the_execution_and_times_are_virtual() {
    let c = clock();
    let inv = ScriptInvoker::new(&c, |_, _| Ok(json!("late"))).with_delay(Duration::hours(2));
    let h = Harness::new(inv, c.clone());
    let m = machine(json!({
        "StartAt": "Slow",
        "States": {"Slow": {"Type": "Task", "Resource": "arn:aws:states:::x:y", "TimeoutSeconds": 60, "End": true}}
    }));
    let exec = h.run(&m, "to2", json!({})).await;
    assert_eq!(failure(&exec).0, "States.Timeout");
    let ev = h.events("to2");
    let last = ev.last().expect("events");
    assert_eq!(last.event_type.as_str(), "ExecutionFailed");
    assert_eq!(last.timestamp - T0, Duration::seconds(60));
}

#[tokio::test]
async fn heartbeat_timeout_on_callback_task() {
    let c = clock();
    let inv = ScriptInvoker::new(&c, |_, _| Ok(json!({"submitted": true})));
    let h = Harness::new(inv, c);
    let m = machine(json!({
        "StartAt": "Wait3DS",
        "States": {
            "Wait3DS": {
                "Type": "Task", "Resource": "arn:aws:states:::lambda:invoke.waitForTaskToken",
                "Parameters": {"FunctionName": "f", "Payload": {"token.$": "$$.Task.Token"}},
                "HeartbeatSeconds": 30, "TimeoutSeconds": 600,
                "Catch": [{"ErrorEquals": ["States.HeartbeatTimeout"], "Next": "Expired"}],
                "End": true
            },
            "Expired": {"Type": "Pass", "Result": "expired", "End": true}
        }
    }));
    let exec = h.run(&m, "hb", json!({})).await;
    assert_eq!(output(&exec), json!("expired"));
    let timed_out = h
        .events("hb")
        .into_iter()
        .find(|e| e.event_type.as_str() == "TaskTimedOut")
        .expect("timed out");
    // AWS records a heartbeat time-out as States.Timeout without a cause; the catcher named
    // States.HeartbeatTimeout still handles it and passes States.Timeout on.
    assert_eq!(timed_out.detail("error"), Some(json!("States.Timeout")));
    assert_eq!(timed_out.detail("cause"), None);
    assert_eq!(timed_out.timestamp - T0, Duration::seconds(30));
}

#[tokio::test]
async fn fail_state_error_and_cause_paths() {
    let c = clock();
    let h = Harness::new(echo(&c), c);
    let m = machine(json!({
        "StartAt": "F",
        "States": {"F": {"Type": "Fail", "ErrorPath": "$.e", "CausePath": "$.c"}}
    }));
    let exec = h.run(&m, "f", json!({"e": "Custom.Err", "c": "because"})).await;
    assert_eq!(
        failure(&exec),
        ("Custom.Err".to_owned(), Some("because".to_owned()))
    );
    let types = h.types("f");
    assert_eq!(
        types,
        vec!["ExecutionStarted", "FailStateEntered", "ExecutionFailed"]
    );
}

#[tokio::test]
async fn execution_timeout_seconds() {
    let c = clock();
    let h = Harness::new(echo(&c), c);
    let m = machine(json!({
        "TimeoutSeconds": 10,
        "StartAt": "W",
        "States": {"W": {"Type": "Wait", "Seconds": 3600, "End": true}}
    }));
    let exec = h.run(&m, "et", json!({})).await;
    assert_eq!(exec.status().aws_status(), "TIMED_OUT");
    assert_eq!(
        h.types("et"),
        vec![
            "ExecutionStarted",
            "WaitStateEntered",
            "WaitStateAborted",
            "ExecutionTimedOut"
        ]
    );
}
