//! `stepcart serve`: the checkout API as API Gateway serves it, the Step Functions JSON 1.0 API (so the
//! AWS CLI and SDKs work unmodified), the Stripe webhook and the console, over one local runtime that
//! drives every execution in its own task and persists each transition before acting on it.

mod checkouts;
mod console;
mod sfn;
mod webhook;

use std::sync::Arc;

use axum::Router;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde_json::json;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use crate::local::Local;

/// What every handler shares.
pub struct App {
    pub local: Local,
    /// Required in `x-api-key` on the checkout and Step Functions APIs when set.
    pub api_key: Option<String>,
    /// Every Stripe webhook secret currently valid (several during a rotation).
    pub webhook_secrets: Vec<String>,
    /// Payments go to the simulated provider, which the webhook then moves as Stripe would.
    pub simulated_payments: bool,
}

pub fn router(app: Arc<App>) -> Router {
    let protected = Router::new()
        .route("/", post(sfn::handle))
        .route("/checkouts", post(checkouts::start))
        .route("/checkouts/{name}", get(checkouts::describe))
        .route_layer(middleware::from_fn_with_state(app.clone(), require_api_key));
    Router::new()
        .merge(protected)
        .route("/webhooks/stripe", post(webhook::handle))
        .route("/health", get(|| async { axum::Json(json!({"status": "ok"})) }))
        .merge(console::routes())
        // Step Functions caps inputs at 256 KiB; a JSON body a little larger than that still has to be
        // read to answer with the right error, anything far larger is refused unread.
        .layer(axum::extract::DefaultBodyLimit::max(MAX_BODY_BYTES))
        .layer(middleware::map_response(json_payload_too_large))
        .with_state(app)
}

/// The largest request body read.
const MAX_BODY_BYTES: usize = 1024 * 1024;

/// The body-limit refusal comes as plain text from axum; every other error here is JSON.
async fn json_payload_too_large(response: Response) -> Response {
    if response.status() != StatusCode::PAYLOAD_TOO_LARGE {
        return response;
    }
    let body = json!({"error": "PayloadTooLarge", "message": format!("the request body is over {MAX_BODY_BYTES} bytes")});
    (StatusCode::PAYLOAD_TOO_LARGE, axum::Json(body)).into_response()
}

async fn require_api_key(
    State(app): State<Arc<App>>,
    headers: HeaderMap,
    request: Request,
    next: Next,
) -> Response {
    if let Some(expected) = &app.api_key {
        let given = headers.get("x-api-key").and_then(|v| v.to_str().ok());
        if !given.is_some_and(|given| constant_time_eq(given.as_bytes(), expected.as_bytes())) {
            let body = json!({"__type": "MissingAuthenticationTokenException", "message": "Forbidden: a valid x-api-key header is required"});
            return (StatusCode::FORBIDDEN, axum::Json(body)).into_response();
        }
    }
    next.run(request).await
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// An RFC 3339 date as the AWS JSON protocol sends timestamps: epoch seconds, fractional.
pub fn epoch_seconds(rfc3339: &str) -> serde_json::Value {
    OffsetDateTime::parse(rfc3339, &Rfc3339)
        .ok()
        .and_then(|at| serde_json::Number::from_f64(at.unix_timestamp_nanos() as f64 / 1e9))
        .map_or(serde_json::Value::Null, serde_json::Value::Number)
}

/// A name for an execution started without one, as Step Functions makes them (a UUID).
pub fn generated_execution_name() -> String {
    let hex = hex::encode(rand::random::<[u8; 16]>());
    format!(
        "{}-{}-4{}-a{}-{}",
        &hex[0..8],
        &hex[8..12],
        &hex[13..16],
        &hex[17..20],
        &hex[20..32]
    )
}

/// Whether a stored execution input is the same JSON as `input`: a start repeated with the same name
/// and input is the same request again.
pub fn same_input(stored: &str, input: &serde_json::Value) -> bool {
    serde_json::from_str::<serde_json::Value>(stored).is_ok_and(|stored| &stored == input)
}
