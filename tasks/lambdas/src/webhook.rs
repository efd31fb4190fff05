//! The `stripe-webhook` function: an API Gateway proxy event carrying a Stripe event. The signature is
//! checked (300 s tolerance, any of several `v1` signatures and several secrets during rotation), the
//! event id is claimed once (a replay or Stripe's own retry changes nothing), and a
//! `payment_intent.succeeded` / `payment_intent.payment_failed` resumes the checkout waiting for that
//! payment through `SendTaskSuccess` / `SendTaskFailure`. Anything else is answered without touching state.

use serde_json::{Value, json};

use crate::proxy_response;
use stepcart_aws::{Claim, DynamoStore};
use stepcart_stripe::webhook::{SIGNATURE_HEADER, verify};
use stepcart_tasks::{AuthenticationDelivery, Ports, deliver_authentication_outcome};

/// Stripe's default tolerance for a signature's timestamp.
pub const TOLERANCE_SECS: i64 = 300;
/// How long a delivery holds its event before another delivery may take it over.
const LEASE_SECS: i64 = 60;

/// What the webhook needs: the ports (3-D Secure waits, task callbacks), the event claims and the secrets.
pub struct Webhook {
    pub ports: Ports,
    pub events: DynamoStore,
    /// Every secret currently valid (one, or two while rotating).
    pub secrets: Vec<String>,
}

fn header<'a>(event: &'a Value, name: &str) -> Option<&'a str> {
    let find = |map: &'a Value| {
        map.as_object()?
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v)
    };
    if let Some(v) = event.get("headers").and_then(find).and_then(Value::as_str) {
        return Some(v);
    }
    event
        .get("multiValueHeaders")
        .and_then(find)
        .and_then(|v| v.as_array()?.first()?.as_str())
}

fn body(event: &Value) -> Result<Vec<u8>, String> {
    let text = event.get("body").and_then(Value::as_str).unwrap_or_default();
    if event.get("isBase64Encoded").and_then(Value::as_bool) == Some(true) {
        use base64::Engine;
        base64::engine::general_purpose::STANDARD
            .decode(text)
            .map_err(|e| format!("the body is not valid base64: {e}"))
    } else {
        Ok(text.as_bytes().to_vec())
    }
}

impl Webhook {
    /// Answers one API Gateway proxy event at `now_unix`.
    pub async fn handle(&self, event: &Value, now_unix: i64) -> Value {
        let payload = match body(event) {
            Ok(p) => p,
            Err(e) => return proxy_response(400, json!({"error": e})),
        };
        let Some(signature) = header(event, SIGNATURE_HEADER) else {
            return proxy_response(400, json!({"error": "no Stripe-Signature header"}));
        };
        let secrets: Vec<&str> = self.secrets.iter().map(String::as_str).collect();
        let stripe_event = match verify(&payload, signature, &secrets, now_unix, TOLERANCE_SECS) {
            Ok(e) => e,
            Err(e) => {
                tracing::warn!(error = %e, "webhook refused");
                return proxy_response(400, json!({"error": e.to_string()}));
            }
        };
        let span = tracing::info_span!("webhook", event_id = %stripe_event.id, event_type = %stripe_event.event_type);
        let _entered = span.enter();
        match self
            .events
            .claim_event(&stripe_event.id, &stripe_event.event_type, LEASE_SECS)
            .await
        {
            Ok(Claim::First) => {}
            Ok(Claim::InProgress) => {
                return proxy_response(
                    409,
                    json!({"error": "another delivery of this event is being handled; retry later"}),
                );
            }
            Ok(Claim::Done) => {
                return proxy_response(200, json!({"received": true, "duplicate": true}));
            }
            Err(e) => return proxy_response(503, json!({"error": e.to_string()})),
        }
        let Some(outcome) = stripe_event.authentication_outcome() else {
            return self
                .done(&stripe_event.id, json!({"received": true, "ignored": true}))
                .await;
        };
        match deliver_authentication_outcome(
            &self.ports,
            outcome.payment_id,
            outcome.succeeded,
            outcome.failure_message,
        )
        .await
        {
            Ok(AuthenticationDelivery::Delivered { .. }) => {
                tracing::info!(
                    payment = outcome.payment_id,
                    succeeded = outcome.succeeded,
                    "checkout resumed"
                );
                self.done(&stripe_event.id, json!({"received": true, "resumed": true}))
                    .await
            }
            Ok(AuthenticationDelivery::NobodyWaiting) => {
                self.done(&stripe_event.id, json!({"received": true, "waiting": false}))
                    .await
            }
            Err(e) => {
                // Give the event back so Stripe's retry of this delivery can resume the checkout.
                if let Err(release) = self.events.release_event(&stripe_event.id).await {
                    tracing::warn!(error = %release, "could not release the event claim");
                }
                tracing::warn!(error = %e, "could not resume the checkout");
                proxy_response(500, json!({"error": e.to_string()}))
            }
        }
    }

    async fn done(&self, event_id: &str, body: Value) -> Value {
        match self.events.finish_event(event_id).await {
            Ok(()) => proxy_response(200, body),
            Err(e) => proxy_response(503, json!({"error": e.to_string()})),
        }
    }
}
