mod common;

use common::eur;
use stepcart_domain::Money;
use stepcart_domain::payment::{PaymentError, PaymentRequest, PaymentStatus, RefundOutcome};
use stepcart_domain::ports::PaymentGateway;
use stepcart_store_sqlite::{
    AUTHENTICATION_FAILED, SAME_ENDPOINT_REQUIRED, SAME_PARAMETERS_REQUIRED, SimulatedPayments, Store,
};

fn request(key: &str, method: &str) -> PaymentRequest {
    PaymentRequest {
        idempotency_key: key.into(),
        amount: Money::new(4497, eur()),
        payment_method: method.into(),
        customer_id: "cus_1".into(),
        order_id: "ord_1".into(),
        execution_name: "exec-1".into(),
    }
}

fn gateway() -> (Store, SimulatedPayments) {
    let store = Store::open_in_memory().expect("store");
    let payments = SimulatedPayments::new(&store);
    (store, payments)
}

fn is_stripe_id(id: &str, prefix: &str) -> bool {
    id.strip_prefix(prefix)
        .is_some_and(|rest| rest.len() == 24 && rest.chars().all(|c| c.is_ascii_alphanumeric()))
}

#[tokio::test]
async fn pm_card_visa_succeeds_and_is_captured() {
    let (store, payments) = gateway();
    let payment = payments
        .create_and_confirm(&request("k1", "pm_card_visa"))
        .await
        .expect("paid");
    assert_eq!(payment.status, PaymentStatus::Succeeded);
    assert_eq!(payment.amount, Money::new(4497, eur()));
    assert!(is_stripe_id(&payment.payment_id, "pi_"), "{}", payment.payment_id);
    assert_eq!(payment.client_secret, None);
    assert_eq!(
        payments.retrieve(&payment.payment_id).await.expect("retrieve"),
        payment
    );
    let rows = store.payments().await.expect("list");
    assert_eq!(rows.len(), 1);
    assert_eq!((rows[0].captured, rows[0].refunded), (4497, 0));
    assert_eq!(rows[0].payment_method, "pm_card_visa");
    assert_eq!(rows[0].order_id, "ord_1");
    // Other test cards not simulated specially behave like a plain visa.
    let other = payments
        .create_and_confirm(&request("k2", "pm_card_mastercard"))
        .await
        .expect("paid");
    assert_eq!(other.status, PaymentStatus::Succeeded);
    assert_ne!(other.payment_id, payment.payment_id);
}

#[tokio::test]
async fn declines_are_errors_and_recorded_as_failed_payments() {
    let (store, payments) = gateway();
    let cases = [
        (
            "k1",
            "pm_card_visa_chargeDeclined",
            "card_declined",
            "Your card was declined.",
        ),
        (
            "k2",
            "pm_card_visa_chargeDeclinedInsufficientFunds",
            "insufficient_funds",
            "Your card has insufficient funds.",
        ),
    ];
    for (key, method, code, message) in cases {
        let error = payments
            .create_and_confirm(&request(key, method))
            .await
            .expect_err("declined");
        assert_eq!(
            error,
            PaymentError::Declined {
                code: code.into(),
                message: message.into()
            }
        );
        let failed = payments.find_by_key(key).await.expect("read").expect("recorded");
        assert_eq!(failed.status, PaymentStatus::Failed);
        assert_eq!(failed.failure_message.as_deref(), Some(message));
    }
    let rows = store.payments().await.expect("list");
    assert_eq!(rows.len(), 2);
    assert!(
        rows.iter()
            .all(|r| r.captured == 0 && r.status == PaymentStatus::Failed)
    );
    assert!(store.check_invariants().await.expect("read").is_empty());
}

#[tokio::test]
async fn authentication_required_waits_with_a_client_secret() {
    let (_store, payments) = gateway();
    let payment = payments
        .create_and_confirm(&request("k1", "pm_card_authenticationRequired"))
        .await
        .expect("created");
    assert_eq!(payment.status, PaymentStatus::RequiresAction);
    let secret = payment.client_secret.clone().expect("client secret");
    let random = secret
        .strip_prefix(&format!("{}_secret_", payment.payment_id))
        .expect("{pi}_secret_ prefix");
    assert!(!random.is_empty() && random.chars().all(|c| c.is_ascii_alphanumeric()));
}

#[tokio::test]
async fn an_unknown_payment_method_is_rejected_and_not_remembered() {
    let (store, payments) = gateway();
    let error = payments
        .create_and_confirm(&request("k1", "pm_x"))
        .await
        .expect_err("rejected");
    assert_eq!(
        error,
        PaymentError::Rejected("No such PaymentMethod: 'pm_x'".into())
    );
    assert!(store.payments().await.expect("list").is_empty());
    assert_eq!(payments.find_by_key("k1").await.expect("read"), None);
    // Stripe does not save a request that failed validation, so the key is still free.
    let fixed = payments.create_and_confirm(&request("k1", "pm_card_visa")).await;
    assert!(fixed.is_ok(), "{fixed:?}");
}

#[tokio::test]
async fn the_same_key_never_charges_twice() {
    let (store, payments) = gateway();
    let first = payments
        .create_and_confirm(&request("k1", "pm_card_visa"))
        .await
        .expect("first");
    let again = payments
        .create_and_confirm(&request("k1", "pm_card_visa"))
        .await
        .expect("again");
    assert_eq!(first, again);
    assert_eq!(store.payments().await.expect("list").len(), 1);

    let mut other = request("k1", "pm_card_visa");
    other.amount = Money::new(1, eur());
    let error = payments
        .create_and_confirm(&other)
        .await
        .expect_err("other parameters");
    assert_eq!(error, PaymentError::Rejected(SAME_PARAMETERS_REQUIRED.into()));
    let mut other = request("k1", "pm_card_visa");
    other.execution_name = "exec-2".into();
    let error = payments
        .create_and_confirm(&other)
        .await
        .expect_err("other metadata");
    assert_eq!(error, PaymentError::Rejected(SAME_PARAMETERS_REQUIRED.into()));
    assert_eq!(store.payments().await.expect("list").len(), 1);
}

#[tokio::test]
async fn a_repeated_decline_is_the_same_decline() {
    let (store, payments) = gateway();
    let first = payments
        .create_and_confirm(&request("k1", "pm_card_visa_chargeDeclined"))
        .await
        .expect_err("declined");
    let again = payments
        .create_and_confirm(&request("k1", "pm_card_visa_chargeDeclined"))
        .await
        .expect_err("declined again");
    assert_eq!(first, again);
    assert_eq!(store.payments().await.expect("list").len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_requests_with_one_key_charge_once() {
    let (store, payments) = gateway();
    let tasks: Vec<_> = (0..20)
        .map(|_| {
            let payments = payments.clone();
            tokio::spawn(async move { payments.create_and_confirm(&request("k1", "pm_card_visa")).await })
        })
        .collect();
    let mut ids = Vec::new();
    for task in tasks {
        ids.push(task.await.expect("finished").expect("paid").payment_id);
    }
    ids.dedup();
    assert_eq!(ids.len(), 1);
    assert_eq!(store.payments().await.expect("list").len(), 1);
}

#[tokio::test]
async fn a_captured_payment_is_refunded_once() {
    let (store, payments) = gateway();
    let payment = payments
        .create_and_confirm(&request("k1", "pm_card_visa"))
        .await
        .expect("paid");
    let id = payment.payment_id.as_str();
    assert_eq!(payments.refund(id, "r1").await, Ok(RefundOutcome::Refunded));
    // The same key replays the first answer; another key finds nothing left to refund.
    assert_eq!(payments.refund(id, "r1").await, Ok(RefundOutcome::Refunded));
    assert_eq!(
        payments.refund(id, "r2").await,
        Ok(RefundOutcome::NothingToRefund)
    );
    let rows = store.payments().await.expect("list");
    assert_eq!((rows[0].captured, rows[0].refunded), (4497, 4497));
    assert!(store.check_invariants().await.expect("read").is_empty());
    // Stripe replays the first response of a key: the create still says succeeded.
    let replay = payments
        .create_and_confirm(&request("k1", "pm_card_visa"))
        .await
        .expect("replay");
    assert_eq!(replay, payment);
    // A refund key is not a create key, nor a refund key for another payment.
    let error = payments
        .create_and_confirm(&request("r1", "pm_card_visa"))
        .await
        .expect_err("endpoint");
    assert_eq!(error, PaymentError::Rejected(SAME_ENDPOINT_REQUIRED.into()));
    let error = payments.refund("pi_other", "r1").await.expect_err("parameters");
    assert_eq!(error, PaymentError::Rejected(SAME_PARAMETERS_REQUIRED.into()));
}

#[tokio::test]
async fn refunding_what_took_no_money() {
    let (store, payments) = gateway();
    let pending = payments
        .create_and_confirm(&request("k1", "pm_card_authenticationRequired"))
        .await
        .expect("pending");
    assert_eq!(
        payments.refund(&pending.payment_id, "r1").await,
        Ok(RefundOutcome::Canceled)
    );
    assert_eq!(
        payments.retrieve(&pending.payment_id).await.expect("read").status,
        PaymentStatus::Canceled
    );
    assert_eq!(
        payments.refund(&pending.payment_id, "r2").await,
        Ok(RefundOutcome::NothingToRefund)
    );
    let error = payments
        .authenticate(&pending.payment_id, true)
        .await
        .expect_err("canceled");
    assert!(
        matches!(&error, PaymentError::Rejected(m) if m.contains("canceled")),
        "{error:?}"
    );

    payments
        .create_and_confirm(&request("k2", "pm_card_visa_chargeDeclined"))
        .await
        .expect_err("declined");
    let failed = payments.find_by_key("k2").await.expect("read").expect("recorded");
    assert_eq!(
        payments.refund(&failed.payment_id, "r3").await,
        Ok(RefundOutcome::NothingToRefund)
    );
    assert_eq!(
        payments.refund("pi_unknown", "r4").await,
        Ok(RefundOutcome::NotFound)
    );
    assert!(
        store
            .payments()
            .await
            .expect("list")
            .iter()
            .all(|r| r.refunded == 0)
    );
}

#[tokio::test]
async fn authentication_completes_a_pending_payment() {
    let (store, payments) = gateway();
    let pending = payments
        .create_and_confirm(&request("k1", "pm_card_authenticationRequired"))
        .await
        .expect("pending");
    let done = payments
        .authenticate(&pending.payment_id, true)
        .await
        .expect("authenticated");
    assert_eq!(done.status, PaymentStatus::Succeeded);
    assert_eq!(
        payments.find_by_key("k1").await.expect("read"),
        Some(done.clone())
    );
    let rows = store.payments().await.expect("list");
    assert_eq!(rows[0].captured, 4497);
    let error = payments
        .authenticate(&pending.payment_id, true)
        .await
        .expect_err("twice");
    assert!(
        matches!(&error, PaymentError::Rejected(m) if m.contains("succeeded")),
        "{error:?}"
    );
    // Now captured, a refund gives the money back.
    assert_eq!(
        payments.refund(&pending.payment_id, "r1").await,
        Ok(RefundOutcome::Refunded)
    );
    assert!(store.check_invariants().await.expect("read").is_empty());
}

#[tokio::test]
async fn failed_authentication_fails_the_payment() {
    let (store, payments) = gateway();
    let pending = payments
        .create_and_confirm(&request("k1", "pm_card_authenticationRequired"))
        .await
        .expect("pending");
    let failed = payments
        .authenticate(&pending.payment_id, false)
        .await
        .expect("answered");
    assert_eq!(failed.status, PaymentStatus::Failed);
    assert_eq!(failed.failure_message.as_deref(), Some(AUTHENTICATION_FAILED));
    assert_eq!(store.payments().await.expect("list")[0].captured, 0);
    assert_eq!(
        payments.refund(&pending.payment_id, "r1").await,
        Ok(RefundOutcome::NothingToRefund)
    );
    let error = payments.authenticate("pi_nope", true).await.expect_err("unknown");
    assert_eq!(error, PaymentError::NotFound("pi_nope".into()));
}

#[tokio::test]
async fn lookups_of_unknown_payments() {
    let (_store, payments) = gateway();
    assert_eq!(payments.find_by_key("nope").await.expect("read"), None);
    assert_eq!(
        payments.retrieve("pi_nope").await,
        Err(PaymentError::NotFound("pi_nope".into()))
    );
    let error = payments
        .create_and_confirm(&request(&"k".repeat(256), "pm_card_visa"))
        .await
        .expect_err("key too long");
    assert!(matches!(error, PaymentError::Rejected(_)), "{error:?}");
}
