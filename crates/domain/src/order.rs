//! Orders: what the customer bought, at what price, paid by which payment.

use serde::{Deserialize, Serialize};

use crate::money::Currency;
use crate::pricing::PricedLine;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum OrderStatus {
    Confirmed,
    /// Placed, then undone by a compensation (its payment refunded, its units back in stock).
    Cancelled,
}

impl OrderStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Confirmed => "CONFIRMED",
            Self::Cancelled => "CANCELLED",
        }
    }
}

/// A placed order. Serialised, it is the successful execution's output.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Order {
    pub order_id: String,
    pub status: OrderStatus,
    pub items: Vec<PricedLine>,
    pub subtotal: i64,
    pub discount: i64,
    pub total: i64,
    pub currency: Currency,
    pub payment_id: String,
    pub reservation_id: String,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub discount_code: Option<String>,
    /// Not part of the execution output: where the order came from and who placed it.
    #[serde(skip)]
    pub execution_name: String,
    #[serde(skip)]
    pub customer_id: String,
    #[serde(skip)]
    pub customer_email: String,
}
