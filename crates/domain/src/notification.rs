//! Messages to the customer. Each has a deduplication key so a retried step never notifies twice.

use serde::{Deserialize, Serialize};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum NotificationKind {
    OrderConfirmed,
    PaymentFailed,
}

impl NotificationKind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::OrderConfirmed => "OrderConfirmed",
            Self::PaymentFailed => "PaymentFailed",
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Notification {
    pub kind: NotificationKind,
    pub dedup_key: String,
    pub customer_email: String,
    pub subject: String,
    /// The event body as published (SNS message / EventBridge detail).
    pub detail: serde_json::Value,
}
