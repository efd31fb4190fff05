mod common;

use common::*;
use stepcart_asl::json;
use stepcart_asl::{Execution, StateMachine, TaskFailure};

#[tokio::test]
async fn jsonpath_assign_is_visible_in_later_states_only() {
    let c = clock();
    let h = Harness::new(echo(&c), c);
    let m = machine(json!({
        "StartAt": "A",
        "States": {
            "A": {"Type": "Pass", "Assign": {"x": 1, "y.$": "$.v"}, "Next": "B"},
            // Assignments are simultaneous: `old.$` reads the value of x from state entry.
            "B": {"Type": "Pass", "Assign": {"x": 2, "old.$": "$x"}, "Parameters": {"x.$": "$x"}, "Next": "C"},
            "C": {"Type": "Pass", "Parameters": {"x.$": "$x", "y.$": "$y", "old.$": "$old", "prev.$": "$.x"}, "End": true}
        }
    }));
    let exec = h.run(&m, "v1", json!({"v": "hello"})).await;
    assert_eq!(output(&exec), json!({"x": 2, "y": "hello", "old": 1, "prev": 1}));
}

#[tokio::test]
async fn task_assign_reads_the_selected_result_and_choice_uses_variables() {
    let c = clock();
    let h = Harness::new(echo(&c), c);
    let m = machine(json!({
        "StartAt": "T",
        "States": {
            "T": {
                "Type": "Task", "Resource": "arn:aws:states:::x:y",
                "Parameters": {"n": 5},
                "ResultSelector": {"total.$": "$.n"},
                "ResultPath": null,
                "Assign": {"total.$": "$.total", "where.$": "$$.State.Name"},
                "Next": "C"
            },
            "C": {
                "Type": "Choice",
                "Choices": [{"Variable": "$total", "NumericGreaterThan": 3, "Next": "Big", "Assign": {"route": "big"}}],
                "Default": "Small"
            },
            "Big": {"Type": "Pass", "Parameters": {"route.$": "$route", "where.$": "$where", "args.$": "States.Array($total)"}, "End": true},
            "Small": {"Type": "Pass", "End": true}
        }
    }));
    let exec = h.run(&m, "v2", json!({})).await;
    assert_eq!(output(&exec), json!({"route": "big", "where": "T", "args": [5]}));
}

#[tokio::test]
async fn branch_variables_stay_inside_and_outer_ones_are_readable() {
    let c = clock();
    let h = Harness::new(echo(&c), c);
    let m = machine(json!({
        "StartAt": "Init",
        "States": {
            "Init": {"Type": "Pass", "Assign": {"outer": "o"}, "Next": "P"},
            "P": {
                "Type": "Parallel",
                "Branches": [{
                    "StartAt": "B1",
                    "States": {
                        "B1": {"Type": "Pass", "Assign": {"inner": "i"}, "Next": "B2"},
                        "B2": {"Type": "Pass", "Parameters": {"outer.$": "$outer", "inner.$": "$inner"}, "End": true}
                    }
                }],
                "Next": "After"
            },
            "After": {"Type": "Pass", "Parameters": {"r.$": "$[0]", "inner.$": "$inner"}, "End": true}
        }
    }));
    let exec = h.run(&m, "v3", json!({})).await;
    let (error, cause) = failure(&exec);
    assert_eq!(error, "States.Runtime");
    assert!(cause.unwrap_or_default().contains("'inner.$'"));
    let branch_output = h
        .events("v3")
        .into_iter()
        .find(|e| {
            e.event_type.to_string() == "PassStateExited" && e.detail("name").is_some_and(|n| n == "B2")
        })
        .and_then(|e| e.details.as_ref().map(stepcart_asl::Details::to_json))
        .expect("B2 exited");
    assert_eq!(branch_output["output"], json!(r#"{"outer":"o","inner":"i"}"#));
}

#[tokio::test]
async fn catch_assign_sees_the_error_output() {
    let c = clock();
    let inv = ScriptInvoker::new(&c, |_, _| Err(TaskFailure::new("Boom", "bad")));
    let h = Harness::new(inv, c);
    let m = machine(json!({
        "StartAt": "T",
        "States": {
            "T": {
                "Type": "Task", "Resource": "arn:aws:states:::x:y",
                "Catch": [{"ErrorEquals": ["States.ALL"], "Assign": {"err.$": "$.Error"}, "ResultPath": "$.e", "Next": "Done"}],
                "End": true
            },
            "Done": {"Type": "Pass", "Parameters": {"err.$": "$err"}, "End": true}
        }
    }));
    let exec = h.run(&m, "v4", json!({})).await;
    assert_eq!(output(&exec), json!({"err": "Boom"}));
}

#[tokio::test]
async fn oversized_assignment_fails_with_data_limit_exceeded() {
    let c = clock();
    let h = Harness::new(echo(&c), c);
    let m = machine(json!({
        "StartAt": "A",
        "States": {
            "A": {"Type": "Pass", "Parameters": {"big": "x"}, "Next": "B"},
            "B": {"Type": "Pass", "Assign": {"a.$": "$.s", "b.$": "$.s"}, "End": true}
        }
    }));
    let s = "y".repeat(140_000);
    let m2 = machine(json!({
        "StartAt": "B",
        "States": {"B": {"Type": "Pass", "Assign": {"a.$": "$.s", "b.$": "$.s"}, "End": true}}
    }));
    let _ = m;
    let exec = h.run(&m2, "v5", json!({"s": s})).await;
    assert_eq!(failure(&exec).0, "States.DataLimitExceeded");
}

#[test]
fn variables_survive_the_snapshot() {
    let m = StateMachine::from_json(
        &json!({
            "StartAt": "A",
            "States": {
                "A": {"Type": "Pass", "Assign": {"k": 42}, "Next": "W"},
                "W": {"Type": "Wait", "Seconds": 10, "Next": "B"},
                "B": {"Type": "Pass", "Parameters": {"k.$": "$k"}, "End": true}
            }
        })
        .to_string(),
    )
    .expect("valid");
    let (exec, cmds) = Execution::start(&m, ctx("snap"), json!({}), T0);
    let text = serde_json::to_string(&exec).expect("serialises");
    assert!(text.contains("\"k\":42"), "{text}");
    let mut back: Execution = serde_json::from_str(&text).expect("deserialises");
    let timer_id = cmds
        .iter()
        .find_map(|c| match c {
            stepcart_asl::Command::StartTimer { timer_id, .. } => Some(*timer_id),
            _ => None,
        })
        .expect("timer");
    back.apply(
        &m,
        stepcart_asl::ExternalEvent::TimerFired { timer_id },
        T0 + time::Duration::seconds(10),
    );
    assert_eq!(output(&back), json!({"k": 42}));
}

#[test]
fn reserved_and_invalid_variable_names_are_rejected() {
    let err = StateMachine::from_json(
        &json!({
            "StartAt": "A",
            "States": {"A": {"Type": "Pass", "Assign": {"states": 1, "1bad": 2}, "End": true}}
        })
        .to_string(),
    )
    .expect_err("rejected");
    let text = err.to_string();
    assert!(
        text.contains("/States/A/Assign/states: \"states\" is a reserved variable name"),
        "{text}"
    );
    assert!(text.contains("/States/A/Assign/1bad"), "{text}");
}

#[tokio::test]
async fn missing_path_cause_matches_aws() {
    let c = clock();
    let h = Harness::new(echo(&c), c);
    let m = machine(json!({
        "StartAt": "Pick",
        "States": {"Pick": {"Type": "Pass", "Parameters": {"missing.$": "$.nope.deep"}, "End": true}}
    }));
    let exec = h.run(&m, "v6", json!({"other": 1})).await;
    assert_eq!(
        failure(&exec).1.as_deref(),
        Some(
            "An error occurred while executing the state 'Pick' (entered at the event id #2). The JSONPath \
             '$.nope.deep' specified for the field 'missing.$' could not be found in the input '{\"other\":1}'"
        )
    );
}
