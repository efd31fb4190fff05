mod common;

use common::*;
use stepcart_asl::TaskFailure;
use stepcart_asl::json;
use time::Duration;
use time::macros::datetime;

fn choice_machine() -> std::sync::Arc<stepcart_asl::StateMachine> {
    machine(json!({
        "StartAt": "Route",
        "States": {
            "Route": {
                "Type": "Choice",
                "Choices": [
                    {"And": [
                        {"Variable": "$.total", "IsPresent": true},
                        {"Variable": "$.total", "NumericGreaterThanEquals": 100}
                    ], "Next": "Big"},
                    {"Not": {"Variable": "$.country", "StringEquals": "DE"}, "Next": "Foreign"},
                    {"Or": [
                        {"Variable": "$.express", "BooleanEquals": true},
                        {"Variable": "$.note", "IsNull": true}
                    ], "Next": "Express"}
                ],
                "Default": "Normal"
            },
            "Big": {"Type": "Pass", "Result": "big", "End": true},
            "Foreign": {"Type": "Pass", "Result": "foreign", "End": true},
            "Express": {"Type": "Pass", "Result": "express", "End": true},
            "Normal": {"Type": "Pass", "Result": "normal", "End": true}
        }
    }))
}

#[tokio::test]
async fn choice_routes_and_default() {
    let c = clock();
    let h = Harness::new(echo(&c), c);
    let m = choice_machine();
    for (i, (input, expected)) in [
        (json!({"total": 150, "country": "DE"}), "big"),
        (json!({"total": 5, "country": "FR"}), "foreign"),
        (
            json!({"total": 5, "country": "DE", "express": true, "note": "x"}),
            "express",
        ),
        (
            json!({"total": 5, "country": "DE", "express": false, "note": null}),
            "express",
        ),
        (
            json!({"total": 5, "country": "DE", "express": false, "note": "x"}),
            "normal",
        ),
    ]
    .into_iter()
    .enumerate()
    {
        let exec = h.run(&m, &format!("c{i}"), input).await;
        assert_eq!(output(&exec), json!(expected), "case {i}");
    }
}

#[tokio::test]
async fn choice_without_match_fails_with_states_runtime() {
    // concepts-error-handling: States.NoChoiceMatched is "Reserved for future use. If no choices are
    // matched, the error is reported with the States.Runtime error name".
    let c = clock();
    let h = Harness::new(echo(&c), c);
    let m = machine(json!({
        "StartAt": "C",
        "States": {
            "C": {"Type": "Choice", "Choices": [{"Variable": "$.x", "StringEquals": "a", "Next": "A"}]},
            "A": {"Type": "Succeed"}
        }
    }));
    let exec = h.run(&m, "nm", json!({"x": "b"})).await;
    let (error, cause) = failure(&exec);
    assert_eq!(error, "States.Runtime");
    let cause = cause.expect("cause");
    assert!(
        cause.starts_with("An error occurred while executing the state 'C'"),
        "{cause}"
    );
}

#[tokio::test]
async fn wait_seconds_path_and_timestamps() {
    let c = clock();
    let h = Harness::new(echo(&c), c);
    let m = machine(json!({
        "StartAt": "W1",
        "States": {
            "W1": {"Type": "Wait", "Seconds": 10, "Next": "W2"},
            "W2": {"Type": "Wait", "SecondsPath": "$.delay", "Next": "W3"},
            "W3": {"Type": "Wait", "Timestamp": "2024-05-01T13:00:00Z", "Next": "W4"},
            "W4": {"Type": "Wait", "TimestampPath": "$.until", "End": true}
        }
    }));
    let exec = h
        .run(
            &m,
            "w",
            json!({"delay": 20, "until": "2024-05-01T14:00:00+00:00"}),
        )
        .await;
    assert_eq!(
        output(&exec),
        json!({"delay": 20, "until": "2024-05-01T14:00:00+00:00"})
    );
    let exits: Vec<_> = h
        .events("w")
        .into_iter()
        .filter(|e| e.event_type.as_str() == "WaitStateExited")
        .map(|e| e.timestamp)
        .collect();
    assert_eq!(
        exits,
        vec![
            T0 + Duration::seconds(10),
            T0 + Duration::seconds(30),
            datetime!(2024-05-01 13:00:00 UTC),
            datetime!(2024-05-01 14:00:00 UTC)
        ]
    );
}

/// A wait or back-off read from the input can be longer than the clock reaches; it saturates at the
/// clock's last second rather than overflowing (an overflow was a panic).
#[tokio::test]
async fn waits_and_back_offs_beyond_the_clock_end_at_its_last_second() {
    let c = clock();
    let inv = ScriptInvoker::new(&c, |r, _| match r.parameters["fail"].as_bool() {
        Some(true) => Err(TaskFailure::new("Boom", "always")),
        _ => Ok(json!("done")),
    });
    let h = Harness::new(inv, c);
    let m = machine(json!({
        "StartAt": "Forever",
        "States": {
            "Forever": {"Type": "Wait", "SecondsPath": "$.delay", "Next": "Again"},
            "Again": {"Type": "Wait", "Seconds": 99999999, "Next": "Call"},
            "Call": {
                "Type": "Task", "Resource": "arn:aws:lambda:us-east-1:123456789012:function:f",
                "Parameters": {"fail.$": "$.fail"},
                "TimeoutSecondsPath": "$.delay",
                "Retry": [{"ErrorEquals": ["Boom"], "IntervalSeconds": 99999999, "BackoffRate": 1e300,
                           "MaxAttempts": 3}],
                "End": true
            }
        }
    }));
    let exec = h.run(&m, "long", json!({"delay": u64::MAX, "fail": true})).await;
    assert_eq!(failure(&exec).0, "Boom");
    let last = h.events("long").last().expect("events").timestamp;
    assert_eq!(last, datetime!(9999-12-31 23:59:59 UTC));

    let exec = h
        .run(
            &m,
            "long-ok",
            json!({"delay": i64::MAX as u64 + 1, "fail": false}),
        )
        .await;
    assert_eq!(output(&exec), json!("done"));
}

#[tokio::test]
async fn parallel_results_in_branch_order() {
    let c = clock();
    let inv = ScriptInvoker::new(&c, |r, _| Ok(json!({"from": r.parameters["branch"]})));
    let h = Harness::new(inv.clone(), c);
    let m = machine(json!({
        "StartAt": "Both",
        "States": {
            "Both": {
                "Type": "Parallel",
                "Branches": [
                    {"StartAt": "Slow", "States": {
                        "Slow": {"Type": "Wait", "Seconds": 5, "Next": "A"},
                        "A": {"Type": "Task", "Resource": "arn:aws:states:::x:y", "Parameters": {"branch": "a"}, "End": true}
                    }},
                    {"StartAt": "B", "States": {
                        "B": {"Type": "Task", "Resource": "arn:aws:states:::x:y", "Parameters": {"branch": "b"}, "End": true}
                    }}
                ],
                "ResultSelector": {"a.$": "$[0].from", "b.$": "$[1].from"},
                "ResultPath": "$.results",
                "Next": "Done"
            },
            "Done": {"Type": "Succeed"}
        }
    }));
    let exec = h.run(&m, "par", json!({"id": 1})).await;
    assert_eq!(output(&exec), json!({"id": 1, "results": {"a": "a", "b": "b"}}));
    let order: Vec<_> = inv
        .requests()
        .iter()
        .map(|r| r.parameters["branch"].clone())
        .collect();
    assert_eq!(order, vec![json!("b"), json!("a")], "branch b runs while a waits");
}

#[tokio::test]
async fn parallel_branch_failure_fails_state_with_branch_error_and_is_catchable() {
    let c = clock();
    let inv = ScriptInvoker::new(&c, |_, _| Err(TaskFailure::new("Stock.Out", "none left")));
    let h = Harness::new(inv, c);
    let m = machine(json!({
        "StartAt": "Both",
        "States": {
            "Both": {
                "Type": "Parallel",
                "Branches": [
                    {"StartAt": "Long", "States": {"Long": {"Type": "Wait", "Seconds": 1000, "End": true}}},
                    {"StartAt": "Fails", "States": {"Fails": {"Type": "Task", "Resource": "arn:aws:states:::x:y", "End": true}}}
                ],
                "Catch": [{"ErrorEquals": ["Stock.Out"], "ResultPath": "$.error", "Next": "Compensate"}],
                "End": true
            },
            "Compensate": {"Type": "Pass", "End": true}
        }
    }));
    let exec = h.run(&m, "pf", json!({})).await;
    assert_eq!(
        output(&exec),
        json!({"error": {"Error": "Stock.Out", "Cause": "none left"}})
    );
    let ev = h.events("pf");
    let last = ev.last().expect("events");
    assert_eq!(last.timestamp, T0, "the waiting branch is abandoned, not awaited");
    let types = h.types("pf");
    assert!(types.contains(&"ParallelStateFailed".to_owned()));
    assert!(types.contains(&"WaitStateAborted".to_owned()));
}

#[tokio::test]
async fn map_results_in_item_order_with_item_selector_and_concurrency() {
    let c = clock();
    // Later items answer sooner, so completion order differs from item order.
    let inv = ScriptInvoker::new(&c, |r, _| {
        Ok(json!(format!(
            "{}#{}",
            r.parameters["sku"].as_str().unwrap_or("?"),
            r.parameters["index"]
        )))
    });
    let h = Harness::new(inv.clone(), c);
    let m = machine(json!({
        "StartAt": "Lines",
        "States": {
            "Lines": {
                "Type": "Map",
                "ItemsPath": "$.lines",
                "MaxConcurrency": 2,
                "ItemSelector": {
                    "sku.$": "$$.Map.Item.Value.sku",
                    "delay.$": "$$.Map.Item.Value.delay",
                    "index.$": "$$.Map.Item.Index",
                    "order.$": "$.orderId"
                },
                "ItemProcessor": {
                    "ProcessorConfig": {"Mode": "INLINE"},
                    "StartAt": "Delay",
                    "States": {
                        "Delay": {"Type": "Wait", "SecondsPath": "$.delay", "Next": "Reserve"},
                        "Reserve": {"Type": "Task", "Resource": "arn:aws:states:::x:y", "End": true}
                    }
                },
                "ResultPath": "$.reserved",
                "End": true
            }
        }
    }));
    let input = json!({"orderId": "o-1", "lines": [
        {"sku": "a", "delay": 30}, {"sku": "b", "delay": 10}, {"sku": "c", "delay": 10}, {"sku": "d", "delay": 10}
    ]});
    let exec = h.run(&m, "map", input).await;
    assert_eq!(output(&exec)["reserved"], json!(["a#0", "b#1", "c#2", "d#3"]));
    let ev = h.events("map");
    let started = ev
        .iter()
        .find(|e| e.event_type.as_str() == "MapStateStarted")
        .expect("started");
    assert_eq!(started.detail("length"), Some(json!(4)));
    // With MaxConcurrency 2 the third iteration starts only when one of the first two finished.
    let iteration_starts: Vec<_> = ev
        .iter()
        .filter(|e| e.event_type.as_str() == "MapIterationStarted")
        .map(|e| e.timestamp)
        .collect();
    assert_eq!(
        iteration_starts,
        vec![T0, T0, T0 + Duration::seconds(10), T0 + Duration::seconds(20)]
    );
}

#[tokio::test]
async fn map_with_legacy_iterator_parameters_and_empty_input() {
    let c = clock();
    let h = Harness::new(echo(&c), c);
    let m = machine(json!({
        "StartAt": "M",
        "States": {
            "M": {
                "Type": "Map",
                "ItemsPath": "$.items",
                "Parameters": {"v.$": "$$.Map.Item.Value"},
                "Iterator": {"StartAt": "P", "States": {"P": {"Type": "Pass", "End": true}}},
                "End": true
            }
        }
    }));
    let exec = h.run(&m, "legacy", json!({"items": [1, 2]})).await;
    assert_eq!(output(&exec), json!([{"v": 1}, {"v": 2}]));
    let exec = h.run(&m, "empty", json!({"items": []})).await;
    assert_eq!(output(&exec), json!([]));
    let exec = h.run(&m, "notarray", json!({"items": 3})).await;
    assert_eq!(failure(&exec).0, "States.Runtime");
}

#[tokio::test]
async fn map_iteration_failure_fails_the_map() {
    let c = clock();
    let inv = ScriptInvoker::new(&c, |r, _| {
        if r.parameters == json!(2) {
            Err(TaskFailure::new("Bad.Item", "2"))
        } else {
            Ok(r.parameters.clone())
        }
    });
    let h = Harness::new(inv, c);
    let m = machine(json!({
        "StartAt": "M",
        "States": {
            "M": {
                "Type": "Map",
                "ItemProcessor": {"StartAt": "T", "States": {"T": {"Type": "Task", "Resource": "arn:aws:states:::x:y", "End": true}}},
                "End": true
            }
        }
    }));
    let exec = h.run(&m, "mf", json!([1, 2, 3])).await;
    assert_eq!(failure(&exec), ("Bad.Item".to_owned(), Some("2".to_owned())));
    let types = h.types("mf");
    assert!(types.contains(&"MapIterationFailed".to_owned()), "{types:?}");
    assert!(types.contains(&"MapStateFailed".to_owned()), "{types:?}");
}

#[tokio::test]
async fn stop_aborts_a_persisted_execution() {
    let c = clock();
    let m = machine(json!({"StartAt": "W", "States": {"W": {"Type": "Wait", "Seconds": 100, "End": true}}}));
    let (mut exec, cmds) = stepcart_asl::Execution::start(&m, ctx("stop"), json!({}), T0);
    assert_eq!(cmds.len(), 1);
    exec.stop(
        Some("User.Stop".into()),
        Some("changed my mind".into()),
        T0 + Duration::seconds(1),
    );
    assert_eq!(exec.status().aws_status(), "ABORTED");
    let types: Vec<_> = exec
        .take_new_events()
        .iter()
        .map(|e| e.event_type.to_string())
        .collect();
    assert_eq!(
        types,
        vec![
            "ExecutionStarted",
            "WaitStateEntered",
            "WaitStateAborted",
            "ExecutionAborted"
        ]
    );
    assert!(exec.pending_commands().is_empty());
    let _ = c;
}

#[tokio::test]
async fn infinite_loops_hit_the_history_limit() {
    let c = clock();
    let h = Harness::new(echo(&c), c);
    let m = machine(json!({
        "StartAt": "A",
        "States": {
            "A": {"Type": "Pass", "Next": "B"},
            // A way out that is never taken: a workflow without any terminal state is refused.
            "B": {"Type": "Choice", "Choices": [{"Variable": "$.done", "IsPresent": true, "Next": "Done"}],
                  "Default": "A"},
            "Done": {"Type": "Succeed"}
        }
    }));
    let exec = h.run(&m, "loop", json!({})).await;
    let (error, cause) = failure(&exec);
    assert_eq!(error, "States.Runtime");
    assert!(cause.unwrap_or_default().contains("25000"));
}
