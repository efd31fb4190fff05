//! The ports: what the checkout needs from the outside world. Adapters (SQLite, DynamoDB, Stripe, the
//! simulated provider, SNS) implement them; the task handlers only ever see these traits.
//!
//! Every write is idempotent by the id it is given, because Step Functions and Lambda may run a step again
//! after it already had its effect.

use async_trait::async_trait;
use serde_json::Value;

use crate::cart::CartLine;
use crate::catalog::{Discount, Product};
use crate::error::PortError;
use crate::inventory::{ReleaseOutcome, Reservation, Shortage, StockLevel};
use crate::notification::Notification;
use crate::order::Order;
use crate::payment::{LedgerEntry, Payment, PaymentError, PaymentRequest, RefundOutcome};

#[async_trait]
pub trait Catalog: Send + Sync {
    /// The products among `skus` that exist (active or not); unknown SKUs are simply absent.
    async fn products(&self, skus: &[String]) -> Result<Vec<Product>, PortError>;
    /// The discount with this code (already normalised to upper case), if any.
    async fn discount(&self, code: &str) -> Result<Option<Discount>, PortError>;
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ReserveError {
    #[error("{}", .0.message())]
    OutOfStock(Shortage),
    #[error("SKU {0} has no stock record")]
    UnknownSku(String),
    #[error(transparent)]
    Port(#[from] PortError),
}

#[async_trait]
pub trait Inventory: Send + Sync {
    /// Reserves every line or none (moves units from available to reserved), never below zero.
    /// Idempotent: the same reservation id again returns the existing reservation unchanged, whatever
    /// its status.
    async fn reserve(
        &self,
        reservation_id: &str,
        execution_name: &str,
        lines: &[CartLine],
    ) -> Result<Reservation, ReserveError>;
    /// Moves a reservation's units back to available. Idempotent.
    async fn release(&self, reservation_id: &str) -> Result<ReleaseOutcome, PortError>;
    async fn reservation(&self, reservation_id: &str) -> Result<Option<Reservation>, PortError>;
    /// Stock levels of these SKUs, or of every SKU when `skus` is empty, ordered by SKU.
    async fn stock(&self, skus: &[String]) -> Result<Vec<StockLevel>, PortError>;
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum PlaceOrderError {
    /// The reservation is missing or was released: the order cannot be fulfilled.
    #[error("reservation {reservation_id} is {state}; the order cannot be placed")]
    ReservationNotHeld { reservation_id: String, state: String },
    #[error(transparent)]
    Port(#[from] PortError),
}

#[async_trait]
pub trait Orders: Send + Sync {
    /// Records the order and commits its reservation (reserved -> sold) in one atomic write.
    /// Idempotent by order id: placing the same order again returns the stored one.
    async fn place(&self, order: &Order) -> Result<Order, PlaceOrderError>;
    async fn order(&self, order_id: &str) -> Result<Option<Order>, PortError>;
    /// Cancels a placed order whose checkout is being compensated (its payment is refunded): the order
    /// becomes CANCELLED, its reservation RELEASED and its units go back from sold to available, in one
    /// atomic write. Idempotent.
    async fn cancel(&self, order_id: &str) -> Result<CancelOutcome, PortError>;
}

/// What cancelling an order did; cancelling is idempotent.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CancelOutcome {
    Cancelled,
    AlreadyCancelled,
    /// No order was placed under this id.
    NotFound,
}

#[async_trait]
pub trait PaymentGateway: Send + Sync {
    /// Creates and confirms a PaymentIntent (captured on success). The same idempotency key never
    /// charges twice: it returns the first result.
    async fn create_and_confirm(&self, request: &PaymentRequest) -> Result<Payment, PaymentError>;
    /// The payment made under this idempotency key, if one was.
    async fn find_by_key(&self, idempotency_key: &str) -> Result<Option<Payment>, PaymentError>;
    async fn retrieve(&self, payment_id: &str) -> Result<Payment, PaymentError>;
    /// Refunds a captured payment in full, or cancels one that was not captured. Idempotent by key.
    async fn refund(&self, payment_id: &str, idempotency_key: &str) -> Result<RefundOutcome, PaymentError>;
}

/// The payments ledger of an external provider (Stripe): by idempotency key, what was asked and what the
/// provider answered. The provider itself cannot be searched by idempotency key, so `find_by_key` and the
/// refund of a payment whose answer was lost read this.
#[async_trait]
pub trait PaymentLedger: Send + Sync {
    /// Records an attempt before the provider is called. Idempotent: an existing entry is kept as is.
    async fn begin(&self, entry: &LedgerEntry) -> Result<(), PortError>;
    /// Records the provider's payment id and status for the key.
    async fn record(&self, idempotency_key: &str, payment_id: &str, status: &str) -> Result<(), PortError>;
    async fn entry(&self, idempotency_key: &str) -> Result<Option<LedgerEntry>, PortError>;
    /// Records that the payment of this key has been refunded, `refunded` minor units in all, so the
    /// books can be checked without asking the provider.
    async fn record_refund(&self, idempotency_key: &str, refunded: i64) -> Result<(), PortError>;
}

#[async_trait]
pub trait Notifier: Send + Sync {
    /// Publishes once per `dedup_key`; a repeat is accepted and not sent again.
    async fn publish(&self, notification: &Notification) -> Result<(), PortError>;
}

/// Which task token waits for a payment's 3-D Secure outcome, so the provider's webhook can resume it.
#[async_trait]
pub trait AuthenticationWaits: Send + Sync {
    async fn register(&self, payment_id: &str, task_token: &str) -> Result<(), PortError>;
    async fn task_token(&self, payment_id: &str) -> Result<Option<String>, PortError>;
}

/// Completes a waiting task (Step Functions' SendTaskSuccess / SendTaskFailure).
#[async_trait]
pub trait TaskCallbacks: Send + Sync {
    async fn succeed(&self, task_token: &str, output: Value) -> Result<(), PortError>;
    async fn fail(&self, task_token: &str, error: &str, cause: &str) -> Result<(), PortError>;
}
