//! `POST /webhooks/stripe`: a Stripe event, verified against `Stripe-Signature` (300 s tolerance, any
//! `v1` signature, any current secret), claimed once by its id, and, for `payment_intent.succeeded` /
//! `payment_intent.payment_failed`, delivered to the checkout waiting on that payment's 3-D Secure.
//! Anything refused is answered 400 without touching state.

use std::sync::Arc;

use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::json;
use stepcart_store_sqlite::WebhookClaim;
use stepcart_stripe_webhook::{DEFAULT_TOLERANCE_SECS, SIGNATURE_HEADER, verify};
use stepcart_tasks::{AuthenticationDelivery, deliver_authentication_outcome};
use time::OffsetDateTime;

use super::App;

/// How long a delivery holds its event before another delivery may take it over.
const LEASE_SECS: i64 = 60;

fn answer(status: StatusCode, body: serde_json::Value) -> Response {
    (status, Json(body)).into_response()
}

pub async fn handle(State(app): State<Arc<App>>, headers: HeaderMap, body: Bytes) -> Response {
    if app.webhook_secrets.is_empty() {
        return answer(
            StatusCode::BAD_REQUEST,
            json!({"error": "no webhook secret is configured (--stripe-webhook-secret or STRIPE_WEBHOOK_SECRET)"}),
        );
    }
    let Some(signature) = headers.get(SIGNATURE_HEADER).and_then(|v| v.to_str().ok()) else {
        return answer(
            StatusCode::BAD_REQUEST,
            json!({"error": "no Stripe-Signature header"}),
        );
    };
    let secrets: Vec<&str> = app.webhook_secrets.iter().map(String::as_str).collect();
    let now = OffsetDateTime::now_utc().unix_timestamp();
    let event = match verify(&body, signature, &secrets, now, DEFAULT_TOLERANCE_SECS) {
        Ok(event) => event,
        Err(e) => {
            tracing::warn!(error = %e, "webhook refused");
            return answer(StatusCode::BAD_REQUEST, json!({"error": e.to_string()}));
        }
    };
    let store = app.local.store();
    match store
        .claim_webhook_event(&event.id, &event.event_type, now, LEASE_SECS)
        .await
    {
        Ok(WebhookClaim::First) => {}
        Ok(WebhookClaim::InProgress) => {
            return answer(
                StatusCode::CONFLICT,
                json!({"error": "another delivery of this event is being handled; retry later"}),
            );
        }
        Ok(WebhookClaim::Done) => {
            return answer(StatusCode::OK, json!({"received": true, "duplicate": true}));
        }
        Err(e) => return answer(StatusCode::SERVICE_UNAVAILABLE, json!({"error": e.to_string()})),
    }
    let Some(outcome) = event.authentication_outcome() else {
        return finish(&app, &event.id, json!({"received": true, "ignored": true})).await;
    };
    // With the simulated provider the server plays Stripe too: the event says the customer finished
    // (or failed) 3-D Secure, so the simulated PaymentIntent moves as Stripe's would have.
    if app.simulated_payments
        && let Err(e) = app
            .local
            .payments()
            .authenticate(outcome.payment_id, outcome.succeeded)
            .await
    {
        tracing::info!(payment = outcome.payment_id, error = %e, "simulated payment not moved");
    }
    match deliver_authentication_outcome(
        app.local.ports(),
        outcome.payment_id,
        outcome.succeeded,
        outcome.failure_message,
    )
    .await
    {
        Ok(AuthenticationDelivery::Delivered { .. }) => {
            finish(&app, &event.id, json!({"received": true, "resumed": true})).await
        }
        Ok(AuthenticationDelivery::NobodyWaiting) => {
            finish(&app, &event.id, json!({"received": true, "waiting": false})).await
        }
        Err(e) => {
            // Given back, so that Stripe's retry of this delivery can resume the checkout.
            if let Err(release) = store.release_webhook_event(&event.id).await {
                tracing::warn!(error = %release, "could not release the event claim");
            }
            tracing::warn!(error = %e, "could not resume the checkout");
            answer(StatusCode::INTERNAL_SERVER_ERROR, json!({"error": e.to_string()}))
        }
    }
}

async fn finish(app: &App, event_id: &str, body: serde_json::Value) -> Response {
    match app.local.store().finish_webhook_event(event_id).await {
        Ok(()) => answer(StatusCode::OK, body),
        Err(e) => answer(StatusCode::SERVICE_UNAVAILABLE, json!({"error": e.to_string()})),
    }
}
