mod common;

use common::*;
use stepcart_asl::json;
use stepcart_asl::{StateMachine, TaskFailure};

fn failing_on(bad: &'static [i64], c: &stepcart_asl::VirtualClock) -> std::sync::Arc<ScriptInvoker> {
    ScriptInvoker::new(c, move |r, _| {
        if r.parameters.as_i64().is_some_and(|v| bad.contains(&v)) {
            Err(TaskFailure::new("Bad.Item", "no"))
        } else {
            Ok(r.parameters.clone())
        }
    })
}

fn tolerant(extra: stepcart_asl::Value) -> std::sync::Arc<StateMachine> {
    let mut m = json!({
        "Type": "Map",
        "MaxConcurrency": 1,
        "ItemProcessor": {"StartAt": "T", "States": {"T": {"Type": "Task", "Resource": "arn:aws:states:::x:y", "End": true}}},
        "End": true
    });
    let fields = m.as_object_mut().expect("object");
    for (k, v) in extra.as_object().expect("object") {
        fields.insert(k.clone(), v.clone());
    }
    machine(json!({"StartAt": "M", "States": {"M": m}}))
}

#[tokio::test]
async fn tolerated_failures_let_the_other_iterations_finish() {
    let c = clock();
    let inv = failing_on(&[2], &c);
    let h = Harness::new(inv.clone(), c);
    let m = tolerant(json!({"ToleratedFailureCount": 1}));
    let exec = h.run(&m, "t1", json!([1, 2, 3])).await;
    assert_eq!(output(&exec), json!([1, {"Error": "Bad.Item", "Cause": "no"}, 3]));
    assert_eq!(inv.requests().len(), 3);
}

#[tokio::test]
async fn exceeding_the_threshold_fails_the_map() {
    let c = clock();
    let h = Harness::new(failing_on(&[1, 2], &c), c);
    let m = tolerant(json!({"ToleratedFailurePercentage": 50}));
    let exec = h.run(&m, "t2", json!([1, 2, 3])).await;
    assert_eq!(failure(&exec).0, "States.ExceedToleratedFailureThreshold");
    let exec = h.run(&m, "t3", json!([1, 3, 4, 5])).await;
    assert_eq!(output(&exec)[1], json!(3));
    let m = tolerant(json!({"ToleratedFailureCountPath": "$.n", "ItemsPath": "$.items"}));
    let exec = h.run(&m, "t4", json!({"n": 0, "items": [2]})).await;
    assert_eq!(failure(&exec).0, "States.ExceedToleratedFailureThreshold");
}

#[tokio::test]
async fn item_batcher_groups_items_with_batch_input() {
    let c = clock();
    let inv = echo(&c);
    let h = Harness::new(inv.clone(), c);
    let m = machine(json!({
        "StartAt": "M",
        "States": {"M": {
            "Type": "Map",
            "ItemBatcher": {"MaxItemsPerBatch": 2, "BatchInput": {"job.$": "$.job"}},
            "ItemsPath": "$.items",
            "ItemProcessor": {"StartAt": "T", "States": {"T": {"Type": "Task", "Resource": "arn:aws:states:::x:y", "End": true}}},
            "End": true
        }}
    }));
    let exec = h.run(&m, "b1", json!({"job": "j", "items": [1, 2, 3]})).await;
    assert_eq!(
        output(&exec),
        json!([{"BatchInput": {"job": "j"}, "Items": [1, 2]}, {"BatchInput": {"job": "j"}, "Items": [3]}])
    );
}

#[test]
fn distributed_map_fields_are_rejected_clearly() {
    let err = StateMachine::from_json(
        &json!({"StartAt": "M", "States": {"M": {
            "Type": "Map",
            "ItemReader": {"Resource": "arn:aws:states:::s3:getObject"},
            "ItemProcessor": {"StartAt": "P", "States": {"P": {"Type": "Pass", "End": true}}},
            "End": true
        }}})
        .to_string(),
    )
    .expect_err("rejected");
    assert!(err.to_string().contains("Distributed Map"), "{err}");
}
