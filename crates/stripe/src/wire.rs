//! Sending async-stripe requests and reading their answers leniently.
//!
//! Requests are built with async-stripe's typed builders (or, for localstripe's own endpoints, its
//! `RequestBuilder`) and sent by its `Client` (authentication, `Idempotency-Key`, base URL, TLS).
//! Answers are read as a JSON value and then into the few fields stepcart needs: async-stripe's typed
//! `PaymentIntent` requires fields (`amount_capturable`, `amount_received`, `confirmation_method`,
//! `payment_method_types`) that localstripe does not send, and a lenient reader also survives Stripe
//! API versions adding or changing fields stepcart never reads.

use std::collections::HashMap;

use serde::Deserialize;
use serde::de::DeserializeOwned;
use stripe::{Client, RequestStrategy};
use stripe_client_core::RequestBuilder;

use crate::error::CallError;

/// A PaymentIntent, as far as stepcart reads it.
#[derive(Clone, Debug, Deserialize)]
pub(crate) struct Intent {
    pub id: String,
    pub status: String,
    pub amount: i64,
    pub currency: String,
    #[serde(default)]
    pub client_secret: Option<String>,
    #[serde(default)]
    pub last_payment_error: Option<LastError>,
    #[serde(default)]
    pub metadata: HashMap<String, String>,
}

#[derive(Clone, Debug, Deserialize)]
pub(crate) struct LastError {
    #[serde(default)]
    pub code: Option<String>,
    #[serde(default)]
    pub decline_code: Option<String>,
    #[serde(default)]
    pub message: Option<String>,
}

#[derive(Clone, Debug, Deserialize)]
pub(crate) struct Refund {
    pub id: String,
    pub amount: i64,
    #[serde(default)]
    pub status: Option<String>,
    #[serde(default)]
    pub metadata: HashMap<String, String>,
}

#[derive(Clone, Debug, Deserialize)]
pub(crate) struct List<T> {
    pub data: Vec<T>,
}

#[derive(Clone, Debug, Deserialize)]
pub(crate) struct Object {
    pub id: String,
}

/// Sends `request` with `strategy` through `client` and reads the answer as `T`.
pub(crate) async fn send<T: DeserializeOwned>(
    client: &Client,
    context: &str,
    request: RequestBuilder,
    strategy: RequestStrategy,
) -> Result<T, CallError> {
    let value: miniserde::json::Value = request
        .customize()
        .request_strategy(strategy)
        .send(client)
        .await
        .map_err(|e| CallError::from_stripe(context, e))?;
    let text = miniserde::json::to_string(&value);
    serde_json::from_str(&text)
        .map_err(|e| CallError::Transport(format!("{context}: unexpected answer from Stripe: {e}")))
}
