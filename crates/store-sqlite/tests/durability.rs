mod common;

use common::{TempDir, eur, levels, line, order_for, pay, stocked};
use stepcart_domain::Money;
use stepcart_domain::payment::{PaymentRequest, PaymentStatus};
use stepcart_domain::ports::{Inventory, Orders, PaymentGateway};
use stepcart_store_sqlite::{
    CreateOutcome, ExecutionRecord, SCHEMA_VERSION, SimulatedPayments, Store, StoreError,
};

#[tokio::test]
async fn everything_survives_closing_and_reopening_the_file() {
    let dir = TempDir::new("reopen");
    let path = dir.path().join("nested").join("stepcart.db");
    let execution = ExecutionRecord {
        execution_arn: "arn:exec:c1".into(),
        name: "c1".into(),
        state_machine_arn: "arn:sm".into(),
        status: "RUNNING".into(),
        input: "{}".into(),
        output: None,
        error: None,
        cause: None,
        start_date: "2026-05-01T10:00:00Z".into(),
        stop_date: None,
    };
    let payment_id = {
        let store = Store::open(&path).expect("open creates parent directories");
        store.seed(&[stocked("A", 1000, 10)], &[]).await.expect("seed");
        let r = store
            .reserve("res_1", "c1", &[line("A", 2)])
            .await
            .expect("reserve");
        let mut order = order_for(&r, "ord_1");
        order.payment_id = pay(&store, "e1", order.total).await;
        store.place(&order).await.expect("place");
        store
            .reserve("res_2", "c2", &[line("A", 1)])
            .await
            .expect("reserve");
        let payment = SimulatedPayments::new(&store)
            .create_and_confirm(&PaymentRequest {
                idempotency_key: "k1".into(),
                amount: Money::new(2000, eur()),
                payment_method: "pm_card_visa".into(),
                customer_id: "cus_1".into(),
                order_id: "ord_1".into(),
                execution_name: "c1".into(),
            })
            .await
            .expect("paid");
        store
            .create_execution(&execution, "snap")
            .await
            .expect("execution");
        payment.payment_id
    };
    let store = Store::open(&path).expect("reopen");
    assert!(store.is_seeded().await.expect("read"));
    assert_eq!(levels(&store, "A").await, (7, 1, 2));
    assert!(store.order("ord_1").await.expect("read").is_some());
    assert_eq!(store.reservations().await.expect("list").len(), 2);
    let payments = SimulatedPayments::new(&store);
    assert_eq!(
        payments.retrieve(&payment_id).await.expect("read").status,
        PaymentStatus::Succeeded
    );
    assert_eq!(
        store.create_execution(&execution, "other").await.expect("read"),
        CreateOutcome::Existing(execution)
    );
    assert!(store.check_invariants().await.expect("read").is_empty());
}

#[tokio::test]
async fn two_stores_on_one_file_share_the_stock() {
    let dir = TempDir::new("shared");
    let path = dir.path().join("stepcart.db");
    let one = Store::open(&path).expect("one");
    let two = Store::open(&path).expect("two");
    one.seed(&[stocked("A", 1000, 3)], &[]).await.expect("seed");
    two.reserve("res_1", "e1", &[line("A", 2)])
        .await
        .expect("two reserves");
    let error = one
        .reserve("res_2", "e2", &[line("A", 2)])
        .await
        .expect_err("one sees it");
    assert!(error.to_string().contains("1 available"), "{error}");
}

#[tokio::test]
async fn a_database_from_a_newer_stepcart_is_refused() {
    let dir = TempDir::new("newer");
    let path = dir.path().join("stepcart.db");
    drop(Store::open(&path).expect("create"));
    {
        let conn = rusqlite::Connection::open(&path).expect("raw");
        conn.pragma_update(None, "user_version", SCHEMA_VERSION + 1)
            .expect("bump");
    }
    let error = Store::open(&path).expect_err("too new");
    assert!(matches!(error, StoreError::SchemaTooNew { .. }), "{error:?}");
}

#[tokio::test]
async fn a_write_blocked_by_another_process_is_unavailable() {
    let dir = TempDir::new("busy");
    let path = dir.path().join("stepcart.db");
    let store = Store::open(&path).expect("open");
    store.seed(&[stocked("A", 1000, 3)], &[]).await.expect("seed");
    let blocker = rusqlite::Connection::open(&path).expect("raw");
    blocker
        .execute_batch("BEGIN IMMEDIATE")
        .expect("hold the write lock");
    // Waits out the busy timeout, then reports a retryable failure.
    let error = store.release("res_1").await.expect_err("busy");
    assert!(
        matches!(error, stepcart_domain::PortError::Unavailable(_)),
        "{error:?}"
    );
    blocker.execute_batch("ROLLBACK").expect("let go");
    assert!(store.release("res_1").await.is_ok());
}

#[tokio::test]
async fn invariants_report_books_that_do_not_balance() {
    let dir = TempDir::new("invariants");
    let path = dir.path().join("stepcart.db");
    let store = Store::open(&path).expect("open");
    store.seed(&[stocked("A", 1000, 10)], &[]).await.expect("seed");
    let r = store
        .reserve("res_1", "e1", &[line("A", 2)])
        .await
        .expect("reserve");
    let mut order = order_for(&r, "ord_1");
    order.payment_id = pay(&store, "e1", order.total).await;
    store.place(&order).await.expect("place");
    assert!(store.check_invariants().await.expect("read").is_empty());
    {
        // Conserved per SKU (so the CHECK passes) yet reserved by no reservation: a leak.
        let raw = rusqlite::Connection::open(&path).expect("raw");
        raw.execute_batch(
            "UPDATE stock SET available = available - 1, reserved = reserved + 1 WHERE sku = 'A'",
        )
        .expect("tamper");
    }
    let problems = store.check_invariants().await.expect("read");
    assert_eq!(problems, ["SKU A: reserved 1 but RESERVED reservations hold 0"]);
}

#[tokio::test]
async fn invariants_tie_every_captured_payment_to_one_order_or_a_full_refund() {
    let dir = TempDir::new("money");
    let store = Store::open(&dir.path().join("stepcart.db")).expect("open");
    store.seed(&[stocked("A", 1000, 10)], &[]).await.expect("seed");
    let r = store
        .reserve("res_1", "e1", &[line("A", 1)])
        .await
        .expect("reserve");
    let mut order = order_for(&r, "ord_1");
    order.payment_id = pay(&store, "e1", order.total).await;
    store.place(&order).await.expect("place");
    // Money taken by a checkout that never placed its order, and never gave it back.
    let orphan = pay(&store, "e2", 700).await;
    let problems = store.check_invariants().await.expect("read");
    assert_eq!(problems.len(), 1, "{problems:?}");
    assert!(
        problems[0].contains(&orphan) && problems[0].contains("no refund"),
        "{problems:?}"
    );
    // Refunding it settles the books; refunding the paid order's payment breaks them the other way.
    let payments = SimulatedPayments::new(&store);
    payments.refund(&orphan, "refund-e2").await.expect("refund");
    assert!(store.check_invariants().await.expect("read").is_empty());
    payments
        .refund(&order.payment_id, "refund-e1")
        .await
        .expect("refund");
    let problems = store.check_invariants().await.expect("read");
    assert_eq!(problems.len(), 1, "{problems:?}");
    assert!(
        problems[0].starts_with("order ord_1 is CONFIRMED but payment"),
        "{problems:?}"
    );
}

#[tokio::test]
async fn the_schema_refuses_to_break_conservation() {
    let dir = TempDir::new("checks");
    let path = dir.path().join("stepcart.db");
    let store = Store::open(&path).expect("open");
    store.seed(&[stocked("A", 1000, 10)], &[]).await.expect("seed");
    let raw = rusqlite::Connection::open(&path).expect("raw");
    for tamper in [
        "UPDATE stock SET available = available + 1 WHERE sku = 'A'",
        "UPDATE stock SET available = -1, reserved = 11 WHERE sku = 'A'",
        "INSERT INTO products VALUES ('R', 'real', 1.5, 'EUR', 1)",
    ] {
        assert!(raw.execute_batch(tamper).is_err(), "{tamper} was accepted");
    }
    assert_eq!(levels(&store, "A").await, (10, 0, 0));
}
