mod common;

use common::*;
use stepcart_asl::json;

#[tokio::test]
async fn linear_machine_event_sequence_and_numbering() {
    let c = clock();
    let h = Harness::new(echo(&c), c);
    let m = machine(json!({
        "StartAt": "Validate",
        "States": {
            "Validate": {"Type": "Pass", "Next": "Reserve"},
            "Reserve": {"Type": "Task", "Resource": "arn:aws:states:::custom:reserve", "TimeoutSeconds": 30, "Next": "Check"},
            "Check": {"Type": "Choice", "Choices": [{"Variable": "$.ok", "BooleanEquals": true, "Next": "Pause"}], "Default": "Done"},
            "Pause": {"Type": "Wait", "Seconds": 1, "Next": "Done"},
            "Done": {"Type": "Succeed"}
        }
    }));
    let exec = h.run(&m, "hist", json!({"ok": true})).await;
    assert_eq!(output(&exec), json!({"ok": true}));
    let ev = h.events("hist");
    let types: Vec<_> = ev.iter().map(|e| e.event_type.as_str()).collect();
    assert_eq!(
        types,
        vec![
            "ExecutionStarted",
            "PassStateEntered",
            "PassStateExited",
            "TaskStateEntered",
            "TaskScheduled",
            "TaskStarted",
            "TaskSucceeded",
            "TaskStateExited",
            "ChoiceStateEntered",
            "ChoiceStateExited",
            "WaitStateEntered",
            "WaitStateExited",
            "SucceedStateEntered",
            "SucceedStateExited",
            "ExecutionSucceeded",
        ]
    );
    for (i, e) in ev.iter().enumerate() {
        assert_eq!(e.id, i as u64 + 1);
        assert_eq!(e.previous_event_id, i as u64);
    }
    let scheduled = &ev[4];
    assert_eq!(
        scheduled.details.as_ref().map(stepcart_asl::Details::to_json),
        Some(json!({
            "resourceType": "custom", "resource": "reserve", "region": "eu-west-1",
            "parameters": "{\"ok\":true}", "timeoutInSeconds": 30
        }))
    );
    let aws = ev[0].to_aws_json();
    assert_eq!(aws["type"], json!("ExecutionStarted"));
    assert_eq!(aws["id"], json!(1));
    assert_eq!(aws["previousEventId"], json!(0));
    assert_eq!(
        aws["executionStartedEventDetails"]["input"],
        json!("{\"ok\":true}")
    );
    assert_eq!(aws["timestamp"].as_f64(), Some(T0.unix_timestamp() as f64));
    let entered = ev[1].to_aws_json();
    assert_eq!(entered["stateEnteredEventDetails"]["name"], json!("Validate"));
    let done = ev.last().expect("events").to_aws_json();
    assert_eq!(
        done["executionSucceededEventDetails"]["output"],
        json!("{\"ok\":true}")
    );
}

#[tokio::test]
async fn failure_events_carry_error_and_cause() {
    let c = clock();
    let inv = ScriptInvoker::new(&c, |_, _| Err(stepcart_asl::TaskFailure::new("Boom", "exploded")));
    let h = Harness::new(inv, c);
    let m = machine(json!({
        "StartAt": "T",
        "States": {"T": {"Type": "Task", "Resource": "arn:aws:states:::custom:x", "End": true}}
    }));
    h.run(&m, "fail", json!({})).await;
    let ev = h.events("fail");
    let types: Vec<_> = ev.iter().map(|e| e.event_type.as_str()).collect();
    assert_eq!(
        types,
        vec![
            "ExecutionStarted",
            "TaskStateEntered",
            "TaskScheduled",
            "TaskStarted",
            "TaskFailed",
            "ExecutionFailed"
        ]
    );
    assert_eq!(
        ev[4].to_aws_json()["taskFailedEventDetails"],
        json!({"resourceType": "custom", "resource": "x", "error": "Boom", "cause": "exploded"})
    );
    assert_eq!(
        ev[5].to_aws_json()["executionFailedEventDetails"],
        json!({"error": "Boom", "cause": "exploded"})
    );
}

#[tokio::test]
async fn parallel_events_link_to_their_branch_predecessors() {
    let c = clock();
    let h = Harness::new(echo(&c), c);
    let m = machine(json!({
        "StartAt": "P",
        "States": {
            "P": {
                "Type": "Parallel",
                "Branches": [
                    {"StartAt": "A", "States": {"A": {"Type": "Pass", "End": true}}},
                    {"StartAt": "B", "States": {"B": {"Type": "Pass", "End": true}}}
                ],
                "End": true
            }
        }
    }));
    h.run(&m, "par", json!(1)).await;
    let ev = h.events("par");
    let types: Vec<_> = ev.iter().map(|e| e.event_type.as_str()).collect();
    assert_eq!(
        types,
        vec![
            "ExecutionStarted",
            "ParallelStateEntered",
            "ParallelStateStarted",
            "PassStateEntered",
            "PassStateExited",
            "PassStateEntered",
            "PassStateExited",
            "ParallelStateSucceeded",
            "ParallelStateExited",
            "ExecutionSucceeded",
        ]
    );
    let started = ev[2].id;
    assert_eq!(
        ev[3].previous_event_id, started,
        "branch A starts from ParallelStateStarted"
    );
    assert_eq!(
        ev[5].previous_event_id, started,
        "branch B starts from ParallelStateStarted"
    );
    assert_eq!(ev[4].previous_event_id, ev[3].id);
    assert_eq!(ev[6].previous_event_id, ev[5].id);
}

#[tokio::test]
async fn map_events() {
    let c = clock();
    let h = Harness::new(echo(&c), c);
    let m = machine(json!({
        "StartAt": "M",
        "States": {"M": {"Type": "Map", "ItemProcessor": {"StartAt": "I", "States": {"I": {"Type": "Pass", "End": true}}}, "End": true}}
    }));
    h.run(&m, "map", json!(["x"])).await;
    let ev = h.events("map");
    let types: Vec<_> = ev.iter().map(|e| e.event_type.as_str()).collect();
    assert_eq!(
        types,
        vec![
            "ExecutionStarted",
            "MapStateEntered",
            "MapStateStarted",
            "MapIterationStarted",
            "PassStateEntered",
            "PassStateExited",
            "MapIterationSucceeded",
            "MapStateSucceeded",
            "MapStateExited",
            "ExecutionSucceeded",
        ]
    );
    assert_eq!(
        ev[3].to_aws_json()["mapIterationStartedEventDetails"],
        json!({"name": "M", "index": 0})
    );
    assert_eq!(
        ev[2].to_aws_json()["mapStateStartedEventDetails"],
        json!({"length": 1})
    );
}

#[tokio::test]
async fn retry_events_reschedule_the_task() {
    let c = clock();
    let inv = ScriptInvoker::new(&c, |_, n| {
        if n == 1 {
            Err(stepcart_asl::TaskFailure::new("E", ""))
        } else {
            Ok(json!(n))
        }
    });
    let h = Harness::new(inv, c);
    let m = machine(json!({
        "StartAt": "T",
        "States": {"T": {"Type": "Task", "Resource": "arn:aws:states:::custom:x", "Retry": [{"ErrorEquals": ["E"]}], "End": true}}
    }));
    h.run(&m, "retry", json!({})).await;
    let types = h.types("retry");
    assert_eq!(
        types,
        vec![
            "ExecutionStarted",
            "TaskStateEntered",
            "TaskScheduled",
            "TaskStarted",
            "TaskFailed",
            "TaskScheduled",
            "TaskStarted",
            "TaskSucceeded",
            "TaskStateExited",
            "ExecutionSucceeded"
        ]
    );
}
