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
use serde_json::{Map, Value, json};
use stepcart_domain::ids::{CheckoutIds, is_valid_execution_name};
use stepcart_domain::payment::PaymentStatus;

use super::{App, epoch_seconds};
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
        None => uuid_name(),
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

fn uuid_name() -> String {
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

/// The request model of `modules/api/schemas/checkout-request.schema.json`, checked the way API
/// Gateway checks it: shape only (the catalog rules are validate-cart's). The message names the field.
pub fn check_request(body: &Value) -> Result<(), String> {
    let root = object(body, "")?;
    only(
        root,
        "",
        &[
            "customer",
            "currency",
            "items",
            "discountCode",
            "paymentMethod",
            "shippingAddress",
        ],
    )?;
    let customer = object(required(root, "", "customer")?, "/customer")?;
    only(customer, "/customer", &["id", "email"])?;
    string(required(customer, "/customer", "id")?, "/customer/id", 1, 64)?;
    let email = string(
        required(customer, "/customer", "email")?,
        "/customer/email",
        3,
        254,
    )?;
    if !valid_email(email) {
        return Err("/customer/email: is not an email address".into());
    }
    let currency = string(required(root, "", "currency")?, "/currency", 3, 3)?;
    if !currency.bytes().all(|b| b.is_ascii_uppercase()) {
        return Err("/currency: must be three capital letters (ISO 4217)".into());
    }
    let items = required(root, "", "items")?
        .as_array()
        .ok_or("/items: must be an array")?;
    if items.is_empty() || items.len() > 50 {
        return Err(format!("/items: must have 1 to 50 lines, has {}", items.len()));
    }
    for (i, item) in items.iter().enumerate() {
        let at = format!("/items/{i}");
        let line = object(item, &at)?;
        only(line, &at, &["sku", "quantity"])?;
        let sku = string(required(line, &at, "sku")?, &format!("{at}/sku"), 1, 64)?;
        if !sku
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
        {
            return Err(format!(
                "{at}/sku: only letters, digits, '.', '_' and '-' are allowed"
            ));
        }
        let quantity = required(line, &at, "quantity")?;
        match quantity.as_i64() {
            Some(1..=99) if quantity.is_i64() || quantity.is_u64() => {}
            _ => return Err(format!("{at}/quantity: must be a whole number from 1 to 99")),
        }
    }
    if let Some(code) = root.get("discountCode") {
        let code = string(code, "/discountCode", 1, 64)?.trim();
        if code.is_empty()
            || code.len() > 32
            || !code
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-'))
        {
            return Err("/discountCode: 1 to 32 letters, digits, '_' or '-'".into());
        }
    }
    let method = string(required(root, "", "paymentMethod")?, "/paymentMethod", 4, 255)?;
    let valid_method = method
        .strip_prefix("pm_")
        .is_some_and(|rest| !rest.is_empty() && rest.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_'));
    if !valid_method {
        return Err("/paymentMethod: must be a Stripe PaymentMethod id (pm_...)".into());
    }
    if let Some(address) = root.get("shippingAddress") {
        let at = "/shippingAddress";
        let address = object(address, at)?;
        only(
            address,
            at,
            &["name", "line1", "line2", "city", "postalCode", "country", "state"],
        )?;
        for field in ["name", "line1", "city", "postalCode"] {
            string(required(address, at, field)?, &format!("{at}/{field}"), 1, 200)?;
        }
        for field in ["line2", "state"] {
            if let Some(v) = address.get(field) {
                string(v, &format!("{at}/{field}"), 0, 200)?;
            }
        }
        let country = string(required(address, at, "country")?, &format!("{at}/country"), 2, 2)?;
        if !country.bytes().all(|b| b.is_ascii_uppercase()) {
            return Err(format!("{at}/country: must be two capital letters (ISO 3166)"));
        }
    }
    Ok(())
}

fn object<'a>(value: &'a Value, at: &str) -> Result<&'a Map<String, Value>, String> {
    value
        .as_object()
        .ok_or_else(|| format!("{}: must be an object", pointer(at)))
}

fn pointer(at: &str) -> &str {
    if at.is_empty() { "/" } else { at }
}

fn required<'a>(object: &'a Map<String, Value>, at: &str, field: &str) -> Result<&'a Value, String> {
    object
        .get(field)
        .ok_or_else(|| format!("{at}/{field}: is required"))
}

fn only(object: &Map<String, Value>, at: &str, allowed: &[&str]) -> Result<(), String> {
    match object.keys().find(|k| !allowed.contains(&k.as_str())) {
        Some(unknown) => Err(format!("{}: unknown field {unknown:?}", pointer(at))),
        None => Ok(()),
    }
}

fn string<'a>(value: &'a Value, at: &str, min: usize, max: usize) -> Result<&'a str, String> {
    let s = value.as_str().ok_or_else(|| format!("{at}: must be a string"))?;
    let length = s.chars().count();
    if length < min || length > max {
        return Err(format!("{at}: must be {min} to {max} characters long"));
    }
    Ok(s)
}

/// `^[^@\s]+@[^@\s.][^@\s]*\.[^@\s]*[^@\s.]$`, the model's pattern.
fn valid_email(email: &str) -> bool {
    if email.chars().any(char::is_whitespace) {
        return false;
    }
    let Some((local, domain)) = email.split_once('@') else {
        return false;
    };
    !local.is_empty()
        && !domain.contains('@')
        && domain.contains('.')
        && !domain.starts_with('.')
        && !domain.ends_with('.')
        && domain.rfind('.').is_some_and(|i| i > 0)
}

/// Whether a stored input is the same JSON as `input`.
fn same_input(stored: &str, input: &Value) -> bool {
    serde_json::from_str::<Value>(stored).is_ok_and(|stored| &stored == input)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn valid() -> Value {
        serde_json::from_str(include_str!("../../../../examples/carts/happy-path.json")).expect("example")
    }

    #[test]
    fn the_example_carts_pass_and_each_broken_field_is_named() {
        assert_eq!(check_request(&valid()), Ok(()));
        let cases: [(&str, Value, &str); 9] = [
            ("/items", json!([]), "/items: must have 1 to 50"),
            ("/items/0/quantity", json!(0), "/items/0/quantity"),
            ("/items/0/quantity", json!(1.5), "/items/0/quantity"),
            ("/items/0/sku", json!("A B"), "/items/0/sku"),
            ("/currency", json!("eur"), "/currency"),
            ("/customer/email", json!("nobody"), "/customer/email"),
            ("/paymentMethod", json!("4242424242424242"), "/paymentMethod"),
            ("/extra", json!(1), "unknown field \"extra\""),
            ("/customer", json!("x"), "/customer: must be an object"),
        ];
        for (pointer, value, expected) in cases {
            let mut body = valid();
            let (parent, field) = pointer.rsplit_once('/').expect("pointer");
            let target = if parent.is_empty() {
                &mut body
            } else {
                body.pointer_mut(parent).expect("parent")
            };
            match target {
                Value::Object(map) => {
                    map.insert(field.to_owned(), value);
                }
                Value::Array(items) => items[field.parse::<usize>().expect("index")] = value,
                _ => unreachable!(),
            }
            let problem = check_request(&body).expect_err(pointer);
            assert!(problem.contains(expected), "{pointer}: {problem}");
        }
        let mut missing = valid();
        missing.as_object_mut().expect("object").remove("paymentMethod");
        assert_eq!(check_request(&missing), Err("/paymentMethod: is required".into()));
    }
}
