//! The checkout domain of stepcart: rules, money, pricing, reservations, orders, payments, and the ports
//! the outside world is reached through. It knows nothing of AWS, SQLite, HTTP or the state machine.

pub mod cart;
pub mod catalog;
pub mod error;
pub mod ids;
pub mod inventory;
pub mod money;
pub mod notification;
pub mod order;
pub mod payment;
pub mod ports;
pub mod pricing;
pub mod request_model;

pub use error::{CheckoutError, PortError};
pub use money::{Currency, Money};
