mod common;

use std::sync::Arc;

use async_trait::async_trait;
use common::*;
use stepcart_asl::{FunctionError, LambdaFunction, LambdaRegistry};
use stepcart_asl::{Value, json};

struct Double;

#[async_trait]
impl LambdaFunction for Double {
    async fn invoke(&self, payload: Value) -> Result<Value, FunctionError> {
        match payload["n"].as_i64() {
            Some(n) => Ok(json!({"n": n * 2})),
            None => Err(FunctionError::new("InvalidInput", "n must be an integer")),
        }
    }
}

fn harness() -> Harness {
    let mut reg = LambdaRegistry::new();
    reg.register(
        "arn:aws:lambda:eu-west-1:123456789012:function:double",
        Arc::new(Double),
    );
    Harness::new(Arc::new(reg), clock())
}

#[tokio::test]
async fn direct_function_arn_returns_output_as_is_and_uses_lambda_events() {
    let h = harness();
    let m = machine(json!({
        "StartAt": "D",
        "States": {"D": {"Type": "Task", "Resource": "arn:aws:lambda:eu-west-1:123456789012:function:double", "End": true}}
    }));
    let exec = h.run(&m, "direct", json!({"n": 21})).await;
    assert_eq!(output(&exec), json!({"n": 42}));
    let types = h.types("direct");
    assert_eq!(
        types,
        vec![
            "ExecutionStarted",
            "TaskStateEntered",
            "LambdaFunctionScheduled",
            "LambdaFunctionStarted",
            "LambdaFunctionSucceeded",
            "TaskStateExited",
            "ExecutionSucceeded"
        ]
    );
}

#[tokio::test]
async fn lambda_invoke_integration_wraps_the_result() {
    let h = harness();
    let m = machine(json!({
        "StartAt": "D",
        "States": {"D": {
            "Type": "Task",
            "Resource": "arn:aws:states:::lambda:invoke",
            "Parameters": {"FunctionName": "double", "Payload": {"n.$": "$.value"}},
            "End": true
        }}
    }));
    let exec = h.run(&m, "wrapped", json!({"value": 4})).await;
    let out = output(&exec);
    assert_eq!(out["Payload"], json!({"n": 8}));
    assert_eq!(out["StatusCode"], json!(200));
    assert_eq!(out["ExecutedVersion"], json!("$LATEST"));
    assert_eq!(out["SdkHttpMetadata"]["HttpStatusCode"], json!(200));
    assert!(out["SdkResponseMetadata"]["RequestId"].is_string());
    let scheduled = h
        .events("wrapped")
        .into_iter()
        .find(|e| e.event_type.as_str() == "TaskScheduled")
        .expect("scheduled");
    assert_eq!(scheduled.detail("resourceType"), Some(json!("lambda")));
    assert_eq!(scheduled.detail("resource"), Some(json!("invoke")));
}

#[tokio::test]
async fn function_errors_map_to_error_type_and_json_cause() {
    let h = harness();
    let m = machine(json!({
        "StartAt": "D",
        "States": {"D": {
            "Type": "Task",
            "Resource": "arn:aws:states:::lambda:invoke",
            "Parameters": {"FunctionName": "arn:aws:lambda:eu-west-1:123456789012:function:double", "Payload": {}},
            "Catch": [{"ErrorEquals": ["InvalidInput"], "Next": "Caught"}],
            "End": true
        }, "Caught": {"Type": "Pass", "End": true}}
    }));
    let exec = h.run(&m, "ferr", json!({})).await;
    let out = output(&exec);
    assert_eq!(out["Error"], json!("InvalidInput"));
    let cause: Value = serde_json::from_str(out["Cause"].as_str().expect("cause")).expect("json cause");
    assert_eq!(
        cause,
        json!({"errorMessage": "n must be an integer", "errorType": "InvalidInput", "trace": []})
    );
}

#[tokio::test]
async fn unknown_function_and_unknown_resource() {
    let h = harness();
    let m = machine(json!({
        "StartAt": "D",
        "States": {"D": {"Type": "Task", "Resource": "arn:aws:states:::lambda:invoke", "Parameters": {"FunctionName": "ghost"}, "End": true}}
    }));
    let exec = h.run(&m, "ghost", json!({})).await;
    let (error, cause) = failure(&exec);
    assert_eq!(error, "Lambda.ResourceNotFoundException");
    assert!(
        cause
            .unwrap_or_default()
            .starts_with("Function not found: arn:aws:lambda:eu-west-1:123456789012:function:ghost")
    );
    let m = machine(json!({
        "StartAt": "D",
        "States": {"D": {"Type": "Task", "Resource": "arn:aws:states:::sqs:sendMessage", "End": true}}
    }));
    let exec = h.run(&m, "sqs", json!({})).await;
    let (error, cause) = failure(&exec);
    assert_eq!(error, "States.TaskFailed");
    assert!(
        cause
            .unwrap_or_default()
            .contains("arn:aws:states:::sqs:sendMessage")
    );
}
