//! The checkout's task handlers: one async function per Task state of `workflows/checkout.asl.json`.
//!
//! Each takes the JSON its state's `Parameters` build and returns the JSON its `ResultPath` stores. They see
//! the outside world only through the domain's ports, so the same code runs in a Lambda on AWS and
//! in-process in the local engine. A business failure is a [`CheckoutError`] whose name is the ASL error
//! name the state machine catches.

mod handlers;

use std::fmt;
use std::sync::Arc;

use serde_json::Value;
use stepcart_domain::CheckoutError;
use stepcart_domain::ports::{
    AuthenticationWaits, Catalog, Inventory, Notifier, Orders, PaymentGateway, TaskCallbacks,
};

pub use handlers::*;

/// Everything a handler may reach. Adapters are chosen by whoever builds this (the CLI or a Lambda).
#[derive(Clone)]
pub struct Ports {
    pub catalog: Arc<dyn Catalog>,
    pub inventory: Arc<dyn Inventory>,
    pub orders: Arc<dyn Orders>,
    pub payments: Arc<dyn PaymentGateway>,
    pub notifier: Arc<dyn Notifier>,
    pub authentication_waits: Arc<dyn AuthenticationWaits>,
    pub callbacks: Arc<dyn TaskCallbacks>,
}

/// The tasks, named as their Lambda functions are (`stepcart-<env>-<name>`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Task {
    ValidateCart,
    ReserveStock,
    PriceOrder,
    AuthorizePayment,
    AwaitPaymentAuthentication,
    CreateOrder,
    NotifyCustomer,
    ReleaseStock,
    RefundPayment,
}

impl Ports {
    /// Ports served by one store adapter (catalog, inventory, orders, notifications and 3-D Secure waits
    /// in the same database), a payment provider and a way to complete task tokens.
    pub fn from_store<S, P>(store: S, payments: P, callbacks: Arc<dyn TaskCallbacks>) -> Ports
    where
        S: Catalog + Inventory + Orders + Notifier + AuthenticationWaits + Clone + 'static,
        P: PaymentGateway + 'static,
    {
        Ports {
            catalog: Arc::new(store.clone()),
            inventory: Arc::new(store.clone()),
            orders: Arc::new(store.clone()),
            notifier: Arc::new(store.clone()),
            authentication_waits: Arc::new(store),
            payments: Arc::new(payments),
            callbacks,
        }
    }
}

impl Task {
    pub const ALL: [Task; 9] = [
        Task::ValidateCart,
        Task::ReserveStock,
        Task::PriceOrder,
        Task::AuthorizePayment,
        Task::AwaitPaymentAuthentication,
        Task::CreateOrder,
        Task::NotifyCustomer,
        Task::ReleaseStock,
        Task::RefundPayment,
    ];

    /// The function name suffix, e.g. `reserve-stock`.
    pub fn function_name(self) -> &'static str {
        match self {
            Task::ValidateCart => "validate-cart",
            Task::ReserveStock => "reserve-stock",
            Task::PriceOrder => "price-order",
            Task::AuthorizePayment => "authorize-payment",
            Task::AwaitPaymentAuthentication => "await-payment-authentication",
            Task::CreateOrder => "create-order",
            Task::NotifyCustomer => "notify-customer",
            Task::ReleaseStock => "release-stock",
            Task::RefundPayment => "refund-payment",
        }
    }

    /// The `${...}` placeholder of this function's ARN in the state machine definition.
    pub fn arn_placeholder(self) -> String {
        format!("{}_function_arn", self.function_name().replace('-', "_"))
    }

    pub fn from_function_name(name: &str) -> Option<Task> {
        Task::ALL.into_iter().find(|t| t.function_name() == name)
    }

    /// Runs this task on a JSON payload, as its Lambda function or the local engine does.
    pub async fn handle(self, ports: &Ports, payload: Value) -> Result<Value, CheckoutError> {
        match self {
            Task::ValidateCart => respond(validate_cart(ports, parse(self, payload)?).await),
            Task::ReserveStock => respond(reserve_stock(ports, parse(self, payload)?).await),
            Task::PriceOrder => respond(price_order(ports, parse(self, payload)?).await),
            Task::AuthorizePayment => respond(authorize_payment(ports, parse(self, payload)?).await),
            Task::AwaitPaymentAuthentication => {
                respond(await_payment_authentication(ports, parse(self, payload)?).await)
            }
            Task::CreateOrder => respond(create_order(ports, parse(self, payload)?).await),
            Task::NotifyCustomer => respond(notify_customer(ports, parse(self, payload)?).await),
            Task::ReleaseStock => respond(release_stock(ports, parse(self, payload)?).await),
            Task::RefundPayment => respond(refund_payment(ports, parse(self, payload)?).await),
        }
    }
}

impl fmt::Display for Task {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.function_name())
    }
}

/// A payload that does not fit the task is a defect in the state machine definition, not the customer's
/// fault, so it is an internal error rather than `InvalidCart`.
fn parse<T: serde::de::DeserializeOwned>(task: Task, payload: Value) -> Result<T, CheckoutError> {
    serde_json::from_value(payload)
        .map_err(|e| CheckoutError::Internal(format!("{task} received a payload it cannot read: {e}")))
}

fn respond<T: serde::Serialize>(result: Result<T, CheckoutError>) -> Result<Value, CheckoutError> {
    let output = result?;
    serde_json::to_value(output)
        .map_err(|e| CheckoutError::Internal(format!("cannot encode the result: {e}")))
}
