mod common;

use common::*;
use stepcart_asl::json;
use stepcart_asl::{StateMachine, TaskFailure};

#[tokio::test]
async fn arguments_output_assign_and_states_variable() {
    let c = clock();
    let inv = echo(&c);
    let h = Harness::new(inv.clone(), c);
    let m = machine(json!({
        "QueryLanguage": "JSONata",
        "StartAt": "T",
        "States": {
            "T": {
                "Type": "Task", "Resource": "arn:aws:states:::x:y",
                "Arguments": {"sum": "{% $sum($states.input.items) %}", "name": "{% $states.context.State.Name %}", "fixed": 1},
                "Assign": {"seen": "{% $states.result.sum %}"},
                "Output": {"r": "{% $states.result %}", "in": "{% $count($states.input.items) %}"},
                "Next": "P"
            },
            "P": {"Type": "Pass", "Output": "{% {'seen': $seen, 'prev': $states.input.in} %}", "End": true}
        }
    }));
    let exec = h.run(&m, "j1", json!({"items": [1, 2, 3]})).await;
    assert_eq!(
        inv.requests()[0].parameters,
        json!({"sum": 6, "name": "T", "fixed": 1})
    );
    assert_eq!(output(&exec), json!({"seen": 6, "prev": 3}));
}

#[tokio::test]
async fn choice_conditions_wait_and_fail_expressions() {
    let c = clock();
    let h = Harness::new(echo(&c), c);
    let m = machine(json!({
        "QueryLanguage": "JSONata",
        "StartAt": "W",
        "States": {
            "W": {"Type": "Wait", "Seconds": "{% $states.input.delay %}", "Next": "C"},
            "C": {
                "Type": "Choice",
                "Choices": [
                    {"Condition": "{% $states.input.n > 10 %}", "Next": "Big", "Output": {"kind": "big"}},
                    {"Condition": "{% $states.input.n > 5 %}", "Next": "Bad"}
                ],
                "Default": "Big"
            },
            "Big": {"Type": "Succeed"},
            "Bad": {"Type": "Fail", "Error": "{% 'Too.' & 'Small' %}", "Cause": "{% 'n=' & $string($states.input.n) %}"}
        }
    }));
    let exec = h.run(&m, "j2", json!({"n": 20, "delay": 5})).await;
    assert_eq!(output(&exec), json!({"kind": "big"}));
    let exec = h.run(&m, "j3", json!({"n": 7, "delay": 0})).await;
    assert_eq!(failure(&exec), ("Too.Small".to_owned(), Some("n=7".to_owned())));
}

#[tokio::test]
async fn map_items_item_selector_and_catch_error_output() {
    let c = clock();
    let inv = ScriptInvoker::new(&c, |r, _| {
        if r.parameters["v"] == json!(3) {
            Err(TaskFailure::new("Odd", "three"))
        } else {
            Ok(r.parameters.clone())
        }
    });
    let h = Harness::new(inv, c);
    let m = machine(json!({
        "QueryLanguage": "JSONata",
        "StartAt": "M",
        "States": {
            "M": {
                "Type": "Map",
                "Items": "{% $states.input.xs %}",
                "ItemSelector": {"v": "{% $states.context.Map.Item.Value %}", "i": "{% $states.context.Map.Item.Index %}"},
                "ItemProcessor": {"StartAt": "T", "States": {"T": {"Type": "Task", "Resource": "arn:aws:states:::x:y", "End": true}}},
                "Catch": [{"ErrorEquals": ["States.ALL"], "Output": {"caught": "{% $states.errorOutput.Error %}"}, "Assign": {"c": "{% $states.errorOutput.Cause %}"}, "Next": "Done"}],
                "End": true
            },
            "Done": {"Type": "Pass", "Output": "{% $merge([$states.input, {'cause': $c}]) %}", "End": true}
        }
    }));
    let exec = h.run(&m, "j4", json!({"xs": [1, 2]})).await;
    assert_eq!(output(&exec), json!([{"v": 1, "i": 0}, {"v": 2, "i": 1}]));
    let exec = h.run(&m, "j5", json!({"xs": [1, 3]})).await;
    assert_eq!(output(&exec), json!({"caught": "Odd", "cause": "three"}));
}

#[tokio::test]
async fn evaluation_errors_are_query_evaluation_errors() {
    let c = clock();
    let h = Harness::new(echo(&c), c);
    let m = machine(json!({
        "QueryLanguage": "JSONata",
        "StartAt": "P",
        "States": {"P": {"Type": "Pass", "Output": "{% $states.input.a + 'x' %}", "End": true}}
    }));
    let exec = h.run(&m, "j6", json!({"a": 1})).await;
    let (error, cause) = failure(&exec);
    assert_eq!(error, "States.QueryEvaluationError");
    assert!(cause.unwrap_or_default().contains("$states.input.a + 'x'"));
}

#[tokio::test]
async fn step_functions_functions_are_available() {
    let c = clock();
    let h = Harness::new(echo(&c), c);
    let m = machine(json!({
        "StartAt": "P",
        "States": {"P": {
            "Type": "Pass", "QueryLanguage": "JSONata",
            "Output": {
                "parts": "{% $partition([1,2,3,4,5], 2) %}",
                "range": "{% $range(0, 10, 5) %}",
                "hash": "{% $hash('abc', 'SHA-1') %}",
                "parsed": "{% $parse('{\"a\":[1]}') %}",
                "uuid": "{% $length($uuid()) %}",
                "seeded": "{% $random(1) = $random(1) %}"
            },
            "End": true
        }}
    }));
    let exec = h.run(&m, "j7", json!({})).await;
    assert_eq!(
        output(&exec),
        json!({
            "parts": [[1, 2], [3, 4], [5]],
            "range": [0, 5, 10],
            "hash": "a9993e364706816aba3e25717850c26c9cd0d89d",
            "parsed": {"a": [1]},
            "uuid": 36,
            "seeded": true
        })
    );
}

#[test]
fn syntax_errors_and_jsonpath_fields_are_validation_problems() {
    let err = StateMachine::from_json(
        &json!({
            "QueryLanguage": "JSONata",
            "StartAt": "P",
            "States": {"P": {"Type": "Pass", "Output": {"a": "{% 1 + %}"}, "InputPath": "$.x", "End": true}}
        })
        .to_string(),
    )
    .expect_err("rejected");
    let text = err.to_string();
    assert!(
        text.contains("/States/P/InputPath: field \"InputPath\" is not allowed in a JSONata state"),
        "{text}"
    );
    assert!(
        text.contains("/States/P/Output/a: invalid JSONata expression"),
        "{text}"
    );
    let err = StateMachine::from_json(
        &json!({"StartAt": "P", "States": {"P": {"Type": "Pass", "Output": {}, "End": true}}}).to_string(),
    )
    .expect_err("Output needs JSONata");
    assert!(err.to_string().contains("only allowed in JSONata states"));
}

#[tokio::test]
async fn undefined_results_fail_with_the_aws_cause() {
    let c = clock();
    let h = Harness::new(echo(&c), c);
    let m = machine(json!({
        "QueryLanguage": "JSONata",
        "StartAt": "E",
        "States": {"E": {"Type": "Pass", "Output": {"a": {"b": "{% $states.input.missing %}"}}, "End": true}}
    }));
    let exec = h.run(&m, "j8", json!({})).await;
    assert_eq!(
        failure(&exec),
        (
            "States.QueryEvaluationError".to_owned(),
            Some(
                "An error occurred while executing the state 'E' (entered at the event id #2). The JSONata expression \
                 '$states.input.missing' specified for the field 'Output/a/b' returned nothing (undefined)."
                    .to_owned()
            )
        )
    );
}

#[tokio::test]
async fn mixed_languages_variables_and_timeouts() {
    let c = clock();
    let inv = echo(&c).with_delay(time::Duration::seconds(5));
    let h = Harness::new(inv, c);
    let m = machine(json!({
        "StartAt": "Init",
        "States": {
            "Init": {"Type": "Pass", "Assign": {"limit": 3, "label": "L"}, "Next": "P"},
            "P": {
                "Type": "Parallel",
                "QueryLanguage": "JSONata",
                "Branches": [{
                    "StartAt": "T",
                    "States": {"T": {
                        "Type": "Task", "Resource": "arn:aws:states:::x:y",
                        "QueryLanguage": "JSONata",
                        "TimeoutSeconds": "{% $limit %}",
                        "Arguments": {"label": "{% $label %}"},
                        "End": true
                    }}
                }],
                "Catch": [{"ErrorEquals": ["States.Timeout"], "Output": "{% $states.errorOutput.Error & ':' & $label %}", "Next": "Done"}],
                "End": true
            },
            "Done": {"Type": "Pass", "End": true}
        }
    }));
    let exec = h.run(&m, "j9", json!({})).await;
    assert_eq!(output(&exec), json!("States.Timeout:L"));
}

#[test]
fn a_jsonata_machine_cannot_have_jsonpath_states() {
    let err = StateMachine::from_json(
        &json!({
            "QueryLanguage": "JSONata",
            "StartAt": "P",
            "States": {"P": {"Type": "Pass", "QueryLanguage": "JSONPath", "End": true}}
        })
        .to_string(),
    )
    .expect_err("rejected");
    assert!(err.to_string().contains("/States/P/QueryLanguage"), "{err}");
}
