//! The errors a checkout step can end with. Their names are the ASL error names the state machine's
//! Retry and Catch match, and the `error` of a FAILED execution (see `docs/interfaces` in the README).

use thiserror::Error;

/// A business outcome that ends the checkout (never retried) or a transient failure (retried).
#[derive(Clone, Debug, Error, PartialEq, Eq)]
pub enum CheckoutError {
    /// The request breaks a rule, names an unknown or inactive SKU, mixes currencies or an unknown discount.
    #[error("{0}")]
    InvalidCart(String),
    /// A line cannot be reserved in full.
    #[error("{0}")]
    OutOfStock(String),
    /// The card was declined.
    #[error("{0}")]
    PaymentDeclined(String),
    /// 3-D Secure failed or was not completed in time.
    #[error("{0}")]
    PaymentAuthenticationFailed(String),
    /// The order could not be written after payment.
    #[error("{0}")]
    OrderFailed(String),
    /// A dependency did not answer or answered "try later"; the state machine retries with back-off.
    #[error("{0}")]
    Transient(String),
    /// A dependency failed in a way retrying will not fix (misconfiguration, corrupt data).
    #[error("{0}")]
    Internal(String),
}

impl CheckoutError {
    pub const INVALID_CART: &'static str = "InvalidCart";
    pub const OUT_OF_STOCK: &'static str = "OutOfStock";
    pub const PAYMENT_DECLINED: &'static str = "PaymentDeclined";
    pub const PAYMENT_AUTHENTICATION_FAILED: &'static str = "PaymentAuthenticationFailed";
    pub const ORDER_FAILED: &'static str = "OrderFailed";
    pub const TRANSIENT: &'static str = "Stepcart.TransientError";
    pub const INTERNAL: &'static str = "Stepcart.InternalError";

    /// The error name Step Functions sees as the Lambda's `errorType`.
    pub fn name(&self) -> &'static str {
        match self {
            Self::InvalidCart(_) => Self::INVALID_CART,
            Self::OutOfStock(_) => Self::OUT_OF_STOCK,
            Self::PaymentDeclined(_) => Self::PAYMENT_DECLINED,
            Self::PaymentAuthenticationFailed(_) => Self::PAYMENT_AUTHENTICATION_FAILED,
            Self::OrderFailed(_) => Self::ORDER_FAILED,
            Self::Transient(_) => Self::TRANSIENT,
            Self::Internal(_) => Self::INTERNAL,
        }
    }

    /// The human-readable sentence that becomes the execution's `cause`.
    pub fn message(&self) -> &str {
        match self {
            Self::InvalidCart(m)
            | Self::OutOfStock(m)
            | Self::PaymentDeclined(m)
            | Self::PaymentAuthenticationFailed(m)
            | Self::OrderFailed(m)
            | Self::Transient(m)
            | Self::Internal(m) => m,
        }
    }

    pub fn invalid_cart(message: impl Into<String>) -> Self {
        Self::InvalidCart(message.into())
    }
}

/// What an adapter behind a port can fail with. Adapters decide which failures are worth retrying.
#[derive(Clone, Debug, Error, PartialEq, Eq)]
pub enum PortError {
    #[error("temporarily unavailable: {0}")]
    Unavailable(String),
    #[error("{0}")]
    Failed(String),
    /// What was addressed is over: a task token whose task has ended (`TaskTimedOut`, `InvalidToken`).
    #[error("no longer waiting: {0}")]
    Closed(String),
}

impl From<PortError> for CheckoutError {
    fn from(error: PortError) -> Self {
        match error {
            PortError::Unavailable(m) => CheckoutError::Transient(m),
            PortError::Failed(m) | PortError::Closed(m) => CheckoutError::Internal(m),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_names_are_the_documented_asl_names() {
        let cases = [
            (CheckoutError::InvalidCart(String::new()), "InvalidCart"),
            (CheckoutError::OutOfStock(String::new()), "OutOfStock"),
            (CheckoutError::PaymentDeclined(String::new()), "PaymentDeclined"),
            (
                CheckoutError::PaymentAuthenticationFailed(String::new()),
                "PaymentAuthenticationFailed",
            ),
            (CheckoutError::OrderFailed(String::new()), "OrderFailed"),
        ];
        for (error, name) in cases {
            assert_eq!(error.name(), name);
        }
    }

    #[test]
    fn port_failures_map_to_retryable_or_internal() {
        assert_eq!(
            CheckoutError::from(PortError::Unavailable("busy".into())).name(),
            CheckoutError::TRANSIENT
        );
        assert_eq!(
            CheckoutError::from(PortError::Failed("bad".into())).name(),
            CheckoutError::INTERNAL
        );
    }
}
