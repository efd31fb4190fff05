//! The embedded store of stepcart on SQLite: catalog, stock and reservations, orders, the notification
//! outbox, 3-D Secure waits, a simulated Stripe, and the ASL engine's executions, all in one file.
//!
//! [`Store`] implements the domain ports `Catalog`, `Inventory`, `Orders`, `Notifier` and
//! `AuthenticationWaits`; [`SimulatedPayments`] implements `PaymentGateway` on the same database.

mod catalog;
mod error;
mod executions;
mod invariants;
mod inventory;
mod machines;
mod notifications;
mod orders;
mod payments;
mod schema;
mod store;
mod webhook_events;

pub use catalog::SeedReport;
pub use error::StoreError;
pub use executions::{
    CreateOutcome, EXECUTION_STATUSES, ExecutionFilter, ExecutionPage, ExecutionRecord, StoredEvent,
};
pub use inventory::ReservationRow;
pub use machines::{MachineOutcome, StateMachineRecord};
pub use notifications::NotificationRow;
pub use orders::OrderRow;
pub use payments::{
    AUTHENTICATION_FAILED, MAX_IDEMPOTENCY_KEY_LENGTH, PaymentRow, SAME_ENDPOINT_REQUIRED,
    SAME_PARAMETERS_REQUIRED, SimulatedPayments,
};
pub use schema::SCHEMA_VERSION;
pub use store::Store;
pub use webhook_events::WebhookClaim;
