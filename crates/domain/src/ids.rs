//! Identifiers derived from the execution name, so that a retried or repeated step finds the effect of
//! its first attempt instead of making a second one. The execution name is the checkout's idempotency key.

use sha2::{Digest, Sha256};

/// Every id and idempotency key one checkout uses.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CheckoutIds {
    pub reservation_id: String,
    pub order_id: String,
    /// Stripe `Idempotency-Key` of the PaymentIntent create+confirm.
    pub payment_key: String,
    /// Stripe `Idempotency-Key` of the refund (or cancel) that compensates it.
    pub refund_key: String,
    /// Deduplication key of the customer notification.
    pub notification_key: String,
}

impl CheckoutIds {
    pub fn for_execution(execution_name: &str) -> Self {
        let digest = |purpose: &str| {
            let mut hasher = Sha256::new();
            hasher.update(b"stepcart\0");
            hasher.update(purpose.as_bytes());
            hasher.update(b"\0");
            hasher.update(execution_name.as_bytes());
            hex::encode(&hasher.finalize()[..12])
        };
        Self {
            reservation_id: format!("res_{}", digest("reservation")),
            order_id: format!("ord_{}", digest("order")),
            payment_key: format!("stepcart-pay-{}", digest("payment")),
            refund_key: format!("stepcart-refund-{}", digest("refund")),
            notification_key: format!("stepcart-notify-{}", digest("notification")),
        }
    }
}

/// Characters Step Functions refuses in an execution name (besides whitespace and control characters).
pub const EXECUTION_NAME_RESERVED: &str = "<>{}[]?*\"#%\\^|~`$&,;:/";

/// Step Functions' rules for execution names: 1 to 80 characters, no whitespace, control characters or
/// any of [`EXECUTION_NAME_RESERVED`]. The execution name is the checkout's idempotency key.
pub fn is_valid_execution_name(name: &str) -> bool {
    (1..=80).contains(&name.chars().count()) && first_forbidden_char(name).is_none()
}

/// The first character an execution name may not contain.
pub fn first_forbidden_char(name: &str) -> Option<char> {
    name.chars()
        .find(|c| c.is_whitespace() || c.is_control() || EXECUTION_NAME_RESERVED.contains(*c))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_deterministic_per_execution_and_distinct_between_executions() {
        let a = CheckoutIds::for_execution("checkout-1");
        assert_eq!(a, CheckoutIds::for_execution("checkout-1"));
        let b = CheckoutIds::for_execution("checkout-2");
        assert_ne!(a.reservation_id, b.reservation_id);
        assert_ne!(a.order_id, b.order_id);
        assert_ne!(a.payment_key, b.payment_key);
    }

    #[test]
    fn ids_have_their_prefixes_and_fit_stripe_limits() {
        let ids = CheckoutIds::for_execution(&"x".repeat(80));
        assert!(ids.reservation_id.starts_with("res_") && ids.reservation_id.len() == 28);
        assert!(ids.order_id.starts_with("ord_"));
        assert!(ids.payment_key.len() <= 255 && ids.refund_key.len() <= 255);
        assert_ne!(ids.payment_key, ids.refund_key);
    }

    #[test]
    fn execution_names_follow_step_functions_rules() {
        assert!(is_valid_execution_name("checkout-42_retry.1"));
        for bad in ["", "has space", "a/b", "a:b", "x$y", &"n".repeat(81), "tab\there"] {
            assert!(!is_valid_execution_name(bad), "{bad:?} accepted");
        }
        assert_eq!(first_forbidden_char("ok#no"), Some('#'));
    }
}
