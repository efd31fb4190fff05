//! stepcart's Stripe adapter: [`StripeGateway`] implements the domain's
//! [`PaymentGateway`](stepcart_domain::ports::PaymentGateway) with the async-stripe 1.0 release
//! candidates, and [`webhook`] checks Stripe's `Stripe-Signature` header and reads the events that
//! resume a checkout waiting for 3-D Secure.
//!
//! The base URL is configurable, so the same code runs against Stripe and against a local Stripe API
//! server (localstripe, in this crate's tests).

mod error;
mod gateway;
/// The webhook signature check, in its own crate so that builds without the Stripe SDK have it.
pub use stepcart_stripe_webhook as webhook;
mod wire;

pub use error::StripeConfigError;
pub use gateway::{DEFAULT_API_BASE, StripeGateway};
