//! `POST /checkouts` and `GET /checkouts/{name}`, as the API Gateway of `modules/api` serves them: the
//! body is checked against the request model (`modules/api/schemas/checkout-request.schema.json`) before
//! anything is started, and the `Idempotency-Key` header is the execution name.

use std::sync::Arc;
use std::time::Duration;

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};
use stepcart_domain::ids::{CheckoutIds, is_valid_execution_name};
use stepcart_domain::payment::PaymentStatus;
use stepcart_domain::request_model::check_request;

use super::{App, epoch_seconds, generated_execution_name, same_input};
use crate::local::{CHECKOUT_MACHINE_NAME, Started, execution_arn};

/// The longest `Prefer: wait=N` honoured.
const MAX_WAIT_SECS: u64 = 30;

fn error(status: StatusCode, code: &str, message: impl Into<String>) -> Response {
    (status, Json(json!({"error": code, "message": message.into()}))).into_response()
}

pub async fn start(State(app): State<Arc<App>>, headers: HeaderMap, body: Bytes) -> Response {
    let input: Value = match serde_json::from_slice(&body) {
        Ok(v) => v,
        Err(e) => {
            return error(
                StatusCode::BAD_REQUEST,
                "InvalidRequest",
                format!("the body is not JSON: {e}"),
            );
        }
    };
    if let Err(problem) = check_request(&input) {
        return error(StatusCode::BAD_REQUEST, "InvalidRequest", problem);
    }
    let name = match headers.get("idempotency-key").map(|v| v.to_str()) {
        None => generated_execution_name(),
        Some(Ok(key)) if is_valid_execution_name(key) => key.to_owned(),
        Some(_) => {
            return error(
                StatusCode::BAD_REQUEST,
                "InvalidName",
                "Idempotency-Key must be 1 to 80 characters without whitespace, brackets, wildcards, control characters or any of \" # % \\ ^ | ~ ` $ & , ; : /",
            );
        }
    };
    let wait = prefer_wait(&headers);
    let arn = execution_arn(CHECKOUT_MACHINE_NAME, &name);
    let settled = wait.map(|_| app.local.settled(&arn));
    let started = match app.local.start_checkout(&name, input.clone(), true).await {
        Ok(started) => started,
        Err(e) => {
            tracing::error!(error = %e, "a checkout could not be started");
            return error(
                StatusCode::INTERNAL_SERVER_ERROR,
                "StepFunctionsUnavailable",
                "the checkout could not be started; retry with the same Idempotency-Key",
            );
        }
    };
    let record = match started {
        Started::New(record) => record,
        Started::Existing(record) if record.status == "RUNNING" && same_input(&record.input, &input) => {
            record
        }
        // As the API Gateway template answers ExecutionAlreadyExists: that execution, never a second one.
        Started::Existing(record) => {
            return (
                StatusCode::OK,
                Json(json!({"executionArn": record.execution_arn, "name": record.name, "existing": true})),
            )
                .into_response();
        }
    };
    if let (Some(wait), Some(settled)) = (wait, settled) {
        let _ = tokio::time::timeout(wait, settled).await;
        if let Ok(Some(body)) = status_body(&app, &name).await {
            return (StatusCode::OK, Json(body)).into_response();
        }
    }
    (
        StatusCode::ACCEPTED,
        Json(json!({"executionArn": record.execution_arn, "name": record.name,
                    "startDate": epoch_seconds(&record.start_date)})),
    )
        .into_response()
}

/// `Prefer: wait=N` (RFC 7240): answer once the checkout has ended or waits for the customer, up to N
/// seconds, with what `GET /checkouts/{name}` would say.
fn prefer_wait(headers: &HeaderMap) -> Option<Duration> {
    headers
        .get_all("prefer")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .find_map(|p| p.trim().strip_prefix("wait=")?.trim().parse::<u64>().ok())
        .map(|secs| Duration::from_secs(secs.min(MAX_WAIT_SECS)))
}

pub async fn describe(State(app): State<Arc<App>>, Path(name): Path<String>) -> Response {
    if !is_valid_execution_name(&name) {
        return error(
            StatusCode::BAD_REQUEST,
            "InvalidName",
            "the checkout id is not a valid execution name",
        );
    }
    match status_body(&app, &name).await {
        Ok(Some(body)) => (StatusCode::OK, Json(body)).into_response(),
        Ok(None) => error(StatusCode::NOT_FOUND, "NotFound", format!("no checkout {name}")),
        Err(e) => error(StatusCode::SERVICE_UNAVAILABLE, "Unavailable", e),
    }
}

/// The DescribeExecution fields (dates RFC 3339), plus `nextAction` while the customer must authenticate.
async fn status_body(app: &App, name: &str) -> Result<Option<Value>, String> {
    let arn = execution_arn(CHECKOUT_MACHINE_NAME, name);
    let Some(record) = app
        .local
        .store()
        .execution(&arn)
        .await
        .map_err(|e| e.to_string())?
    else {
        return Ok(None);
    };
    let mut body = crate::output::describe_json(&record);
    if record.status == "RUNNING" {
        let key = CheckoutIds::for_execution(name).payment_key;
        if let Ok(Some(payment)) = app.local.ports().payments.find_by_key(&key).await
            && payment.status == PaymentStatus::RequiresAction
        {
            body["nextAction"] = json!({"type": "authenticate_payment", "paymentId": payment.payment_id,
                                        "clientSecret": payment.client_secret});
        }
    }
    Ok(Some(body))
}
