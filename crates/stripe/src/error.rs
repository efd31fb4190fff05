//! Stripe's errors in the domain's terms. Messages are built from Stripe's `type`, `code` and `message`
//! only: never from the request (which carries the `Authorization` header) nor from `Debug` output.

use stepcart_domain::PortError;
use stepcart_domain::payment::PaymentError;
use stripe::StripeError;
use thiserror::Error;

/// The gateway could not be configured. Never contains the secret key.
#[derive(Debug, Error, PartialEq, Eq)]
pub enum StripeConfigError {
    #[error("the Stripe secret key is empty")]
    EmptySecretKey,
    #[error("the Stripe secret key must be visible ASCII without spaces")]
    MalformedSecretKey,
    #[error("the Stripe API base URL {0:?} is not an http(s) URL")]
    BadBaseUrl(String),
    #[error("cannot build the Stripe client: {0}")]
    Client(String),
}

/// What Stripe said about a failed request, in the few fields stepcart decides on.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct ApiFailure {
    pub status: u16,
    pub kind: String,
    pub code: Option<String>,
    pub decline_code: Option<String>,
    pub message: String,
    /// The PaymentIntent the error is about (real Stripe includes it on a decline).
    pub payment_intent: Option<String>,
}

impl ApiFailure {
    pub fn is_decline(&self) -> bool {
        // Real Stripe: HTTP 402 with type `card_error`. localstripe: 402 with type
        // `invalid_request_error` and code `card_declined`.
        self.status == 402 || self.kind == "card_error" || self.code.as_deref() == Some("card_declined")
    }

    pub fn is_not_found(&self) -> bool {
        self.status == 404 || self.code.as_deref() == Some("resource_missing")
    }

    fn describe(&self) -> String {
        match &self.code {
            Some(code) => format!("{} ({}, {code}, HTTP {})", self.message, self.kind, self.status),
            None => format!("{} ({}, HTTP {})", self.message, self.kind, self.status),
        }
    }
}

/// A failed call, classified before it becomes a [`PaymentError`].
#[derive(Clone, Debug)]
pub(crate) enum CallError {
    /// Stripe answered with an error object.
    Api(ApiFailure),
    /// Network, timeout or an answer that could not be read: whether Stripe acted is unknown, so the
    /// call must be retried with the same idempotency key.
    Transport(String),
    /// The client itself is misconfigured.
    Config(String),
}

impl CallError {
    pub fn from_stripe(context: &str, error: StripeError) -> Self {
        match error {
            StripeError::Stripe(api, status) => CallError::Api(ApiFailure {
                status,
                kind: api.type_.as_str().to_owned(),
                code: api.code.as_ref().map(|c| c.as_str().to_owned()),
                decline_code: api.decline_code.clone(),
                message: api.message.clone().unwrap_or_else(|| format!("{context} failed")),
                payment_intent: api.payment_intent.as_ref().map(|pi| pi.id.as_str().to_owned()),
            }),
            StripeError::JSONDeserialize(m) => {
                CallError::Transport(format!("{context}: unreadable answer from Stripe: {m}"))
            }
            StripeError::ClientError(m) => CallError::Transport(format!("{context}: {m}")),
            StripeError::Timeout => CallError::Transport(format!("{context}: timed out")),
            StripeError::ConfigError(m) => CallError::Config(format!("{context}: {m}")),
        }
    }

    pub fn api(&self) -> Option<&ApiFailure> {
        match self {
            CallError::Api(failure) => Some(failure),
            _ => None,
        }
    }

    /// Declines become `Declined`; 409 (a concurrent request with the same key), 429 and 5xx, network
    /// and unreadable answers `Unavailable`; every other 4xx `Rejected`.
    pub fn into_payment_error(self) -> PaymentError {
        match self {
            CallError::Api(failure) if failure.is_decline() => PaymentError::Declined {
                code: failure
                    .decline_code
                    .clone()
                    .or_else(|| failure.code.clone())
                    .unwrap_or_else(|| "card_declined".to_owned()),
                message: failure.message,
            },
            CallError::Api(failure)
                if failure.status == 409 || failure.status == 429 || failure.status >= 500 =>
            {
                PaymentError::Unavailable(failure.describe())
            }
            CallError::Api(failure) => PaymentError::Rejected(failure.describe()),
            CallError::Transport(m) => PaymentError::Unavailable(m),
            CallError::Config(m) => PaymentError::Rejected(m),
        }
    }
}

/// The ledger's storage failing is like a provider's 5xx: retry with the same key.
pub(crate) fn ledger_error(error: PortError) -> PaymentError {
    PaymentError::Unavailable(format!("payments ledger: {error}"))
}
