//! Each checkout task as an AWS Lambda function. A binary's `main` is one line; the handler here is a plain
//! async function over a constructed [`LambdaEvent`], so tests call it directly.
//!
//! Business errors reach Step Functions with their ASL error name as the Lambda `errorType`, which is what
//! the state machine's Retry and Catch match.

mod backend;
#[cfg(feature = "aws")]
pub mod status;
#[cfg(feature = "aws")]
pub mod webhook;

use lambda_runtime::{Diagnostic, LambdaEvent, service_fn};
use serde_json::Value;
use stepcart_domain::CheckoutError;
use stepcart_tasks::{Ports, Task};

#[cfg(feature = "aws")]
pub use backend::aws_ports;
pub use backend::{BackendError, embedded_ports, ports_from_env};

/// A task's failure as the Lambda runtime reports it.
#[derive(Debug)]
pub struct TaskFailure(pub CheckoutError);

impl From<TaskFailure> for Diagnostic {
    fn from(failure: TaskFailure) -> Self {
        Diagnostic {
            error_type: failure.0.name().into(),
            error_message: failure.0.message().into(),
        }
    }
}

/// The function handler: runs `task` on the event's payload.
pub async fn handle_event(
    task: Task,
    ports: &Ports,
    event: LambdaEvent<Value>,
) -> Result<Value, TaskFailure> {
    let (payload, context) = event.into_parts();
    let execution = payload
        .get("executionName")
        .and_then(Value::as_str)
        .unwrap_or("-")
        .to_owned();
    let span =
        tracing::info_span!("task", task = %task, request_id = %context.request_id, execution = %execution);
    let _entered = span.enter();
    match task.handle(ports, payload).await {
        Ok(output) => Ok(output),
        Err(error) => {
            tracing::warn!(
                error_type = error.name(),
                message = error.message(),
                "task failed"
            );
            Err(TaskFailure(error))
        }
    }
}

/// JSON logs, each line carrying the current span (task, request id, execution name).
fn init_logging() {
    tracing_subscriber::fmt()
        .json()
        .with_current_span(true)
        .without_time()
        .init();
}

/// An API Gateway proxy response with a JSON body.
#[cfg(feature = "aws")]
pub(crate) fn proxy_response(status: u16, body: Value) -> Value {
    serde_json::json!({
        "statusCode": status,
        "headers": {"Content-Type": "application/json"},
        "body": body.to_string(),
        "isBase64Encoded": false,
    })
}

/// Builds the ports once per container (so clients are reused across invocations) and serves `task`.
pub async fn run(task: Task) -> Result<(), lambda_runtime::Error> {
    init_logging();
    let ports = ports_from_env().await?;
    lambda_runtime::run(service_fn(|event| handle_event(task, &ports, event))).await
}

/// The `stripe-webhook` function: API Gateway proxy events in, proxy responses out. The webhook secrets
/// come from the SSM parameter `STEPCART_STRIPE_WEBHOOK_SECRET_PARAMETER` (or `STRIPE_WEBHOOK_SECRET`),
/// comma-separated while a secret is being rotated; read once per container.
#[cfg(feature = "aws")]
pub async fn run_webhook() -> Result<(), lambda_runtime::Error> {
    init_logging();
    let clients = stepcart_aws::AwsClients::from_env().await;
    let ports = backend::aws_ports(&clients).await;
    let secret = match std::env::var("STEPCART_STRIPE_WEBHOOK_SECRET_PARAMETER") {
        Ok(name) if !name.is_empty() => {
            stepcart_aws::Parameters::new(clients.ssm.clone(), std::time::Duration::from_secs(300))
                .get(&name)
                .await?
                .expose()
                .to_owned()
        }
        _ => std::env::var("STRIPE_WEBHOOK_SECRET").unwrap_or_default(),
    };
    let hook = webhook::Webhook {
        ports,
        events: stepcart_aws::DynamoStore::new(
            clients.dynamodb.clone(),
            stepcart_aws::TableNames::from_env(),
        ),
        secrets: secret
            .split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
            .collect(),
    };
    let hook = &hook;
    lambda_runtime::run(service_fn(move |event: LambdaEvent<Value>| async move {
        let now = time::OffsetDateTime::now_utc().unix_timestamp();
        Ok::<Value, std::convert::Infallible>(hook.handle(&event.payload, now).await)
    }))
    .await
}

/// The `checkout-status` function: `GET /checkouts/{id}` proxy events in, proxy responses out.
#[cfg(feature = "aws")]
pub async fn run_status() -> Result<(), lambda_runtime::Error> {
    init_logging();
    let clients = stepcart_aws::AwsClients::from_env().await;
    let ports = backend::aws_ports(&clients).await;
    let state_machine_arn = std::env::var("STEPCART_STATE_MACHINE_ARN").unwrap_or_default();
    if state_machine_arn.is_empty() {
        tracing::error!("STEPCART_STATE_MACHINE_ARN is not set");
    }
    let status = status::Status {
        sfn: clients.sfn.clone(),
        state_machine_arn,
        payments: ports.payments.clone(),
    };
    let status = &status;
    lambda_runtime::run(service_fn(move |event: LambdaEvent<Value>| async move {
        Ok::<Value, std::convert::Infallible>(status.handle(&event.payload).await)
    }))
    .await
}
