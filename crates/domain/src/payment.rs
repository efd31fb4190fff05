//! Payments through a provider with Stripe's PaymentIntent semantics.

use serde::{Deserialize, Serialize};
use thiserror::Error;

use crate::money::Money;

/// Create and confirm a payment. The idempotency key makes a repeated request return the first result.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PaymentRequest {
    pub idempotency_key: String,
    pub amount: Money,
    pub payment_method: String,
    pub customer_id: String,
    /// Kept with the payment (Stripe metadata) so a payment can be traced to its checkout.
    pub order_id: String,
    pub execution_name: String,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PaymentStatus {
    /// Captured: money is taken.
    Succeeded,
    /// 3-D Secure: the customer must authenticate before the payment can succeed.
    RequiresAction,
    /// The provider is still working on it.
    Processing,
    /// Authentication failed or the card was declined; no money was taken.
    Failed,
    /// Cancelled before capture.
    Canceled,
}

impl PaymentStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Succeeded => "succeeded",
            Self::RequiresAction => "requires_action",
            Self::Processing => "processing",
            Self::Failed => "failed",
            Self::Canceled => "canceled",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "succeeded" => Some(Self::Succeeded),
            "requires_action" => Some(Self::RequiresAction),
            "processing" => Some(Self::Processing),
            "failed" => Some(Self::Failed),
            "canceled" => Some(Self::Canceled),
            _ => None,
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Payment {
    pub payment_id: String,
    pub status: PaymentStatus,
    pub amount: Money,
    /// Given to the browser to finish 3-D Secure with Stripe.js. Not a secret key.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_secret: Option<String>,
    /// The provider's reason when the payment failed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failure_message: Option<String>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum RefundOutcome {
    /// The captured amount was refunded in full.
    Refunded,
    /// The payment was not captured; it was cancelled instead.
    Canceled,
    /// It was refunded or cancelled before (idempotent repeat), or had failed and took no money.
    NothingToRefund,
    /// No payment exists under this key: the authorization never happened.
    NotFound,
}

#[derive(Clone, Debug, Error, PartialEq, Eq)]
pub enum PaymentError {
    /// The card was declined (`card_declined` and its decline codes).
    #[error("{message}")]
    Declined { code: String, message: String },
    /// The provider failed temporarily (network, 5xx, rate limit): retry with the same idempotency key.
    #[error("payment provider unavailable: {0}")]
    Unavailable(String),
    /// The provider refused the request (bad key, bad parameters): retrying will not help.
    #[error("payment provider refused the request: {0}")]
    Rejected(String),
    #[error("no payment {0}")]
    NotFound(String),
}

/// What stepcart asked an external payment provider under one idempotency key. Written before the
/// provider is called, so a compensation knows a charge may exist even when the provider's answer was
/// lost; completed with the provider's payment id and status once known.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LedgerEntry {
    pub idempotency_key: String,
    pub execution_name: String,
    pub order_id: String,
    pub amount: Money,
    /// The provider's payment id (`pi_...`), once a call returned one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub payment_id: Option<String>,
    /// `pending` until the provider answered, then the payment's status.
    pub status: String,
}
