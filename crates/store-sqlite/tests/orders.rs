mod common;

use common::{assert_consistent, levels, line, order_for, seeded};
use stepcart_domain::PortError;
use stepcart_domain::inventory::ReservationStatus;
use stepcart_domain::ports::{Inventory, Orders, PlaceOrderError};

#[tokio::test]
async fn placing_records_the_order_and_sells_the_units_atomically() {
    let store = seeded(&[("A", 10), ("B", 10)]).await;
    let r = store
        .reserve("res_1", "exec-1", &[line("A", 2), line("B", 1)])
        .await
        .expect("reserved");
    let mut order = order_for(&r, "ord_1");
    order.discount_code = Some("WELCOME10".into());
    order.discount = 300;
    order.total = order.subtotal - 300;
    let placed = store.place(&order).await.expect("placed");
    assert_eq!(placed, order);
    assert_eq!(levels(&store, "A").await, (8, 0, 2));
    assert_eq!(levels(&store, "B").await, (9, 0, 1));
    let stored = store.order("ord_1").await.expect("read").expect("stored");
    // Every field, including the ones skipped in the execution output.
    assert_eq!(stored, order);
    assert_eq!(stored.customer_email, "ada@example.com");
    let reservation = store.reservation("res_1").await.expect("read").expect("kept");
    assert_eq!(reservation.status, ReservationStatus::Committed);
    assert_eq!(store.order("ord_missing").await.expect("read"), None);
    assert_consistent(&store).await;
}

#[tokio::test]
async fn placing_twice_makes_one_order_and_commits_once() {
    let store = seeded(&[("A", 10)]).await;
    let r = store
        .reserve("res_1", "exec-1", &[line("A", 3)])
        .await
        .expect("reserved");
    let order = order_for(&r, "ord_1");
    let first = store.place(&order).await.expect("first");
    let mut changed = order.clone();
    changed.payment_id = "pi_other".into();
    let second = store.place(&changed).await.expect("second");
    assert_eq!(first, second, "the stored order comes back, not the new one");
    assert_eq!(levels(&store, "A").await, (7, 0, 3));
    let rows = store.orders().await.expect("list");
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0].order_id, "ord_1");
    assert_eq!(rows[0].total, 3000);
    assert_eq!(rows[0].currency, "EUR");
    assert_eq!(rows[0].payment_id, "pi_test");
    assert_eq!(rows[0].execution_name, "exec-1");
    assert_eq!(rows[0].status, "CONFIRMED");
    assert_consistent(&store).await;
}

#[tokio::test]
async fn placing_after_release_is_refused() {
    let store = seeded(&[("A", 10)]).await;
    let r = store
        .reserve("res_1", "exec-1", &[line("A", 3)])
        .await
        .expect("reserved");
    store.release("res_1").await.expect("released");
    let error = store.place(&order_for(&r, "ord_1")).await.expect_err("refused");
    assert_eq!(
        error,
        PlaceOrderError::ReservationNotHeld {
            reservation_id: "res_1".into(),
            state: "released".into()
        }
    );
    assert_eq!(store.order("ord_1").await.expect("read"), None);
    assert_eq!(levels(&store, "A").await, (10, 0, 0));
    assert_consistent(&store).await;
}

#[tokio::test]
async fn placing_without_a_reservation_is_refused() {
    let store = seeded(&[("A", 10)]).await;
    let r = store
        .reserve("res_1", "exec-1", &[line("A", 3)])
        .await
        .expect("reserved");
    let mut order = order_for(&r, "ord_1");
    order.reservation_id = "res_missing".into();
    let error = store.place(&order).await.expect_err("refused");
    assert!(
        matches!(&error, PlaceOrderError::ReservationNotHeld { state, .. } if state == "missing"),
        "{error:?}"
    );
    assert!(store.orders().await.expect("list").is_empty());
}

#[tokio::test]
async fn a_reservation_sells_to_one_order_only() {
    let store = seeded(&[("A", 10)]).await;
    let r = store
        .reserve("res_1", "exec-1", &[line("A", 3)])
        .await
        .expect("reserved");
    store.place(&order_for(&r, "ord_1")).await.expect("first order");
    let error = store
        .place(&order_for(&r, "ord_2"))
        .await
        .expect_err("second order");
    assert!(
        matches!(&error, PlaceOrderError::ReservationNotHeld { state, .. } if state.contains("ord_1")),
        "{error:?}"
    );
    assert_eq!(levels(&store, "A").await, (7, 0, 3));
    assert_consistent(&store).await;
}

#[tokio::test]
async fn an_order_must_sell_what_was_reserved() {
    let store = seeded(&[("A", 10)]).await;
    let r = store
        .reserve("res_1", "exec-1", &[line("A", 3)])
        .await
        .expect("reserved");
    let mut order = order_for(&r, "ord_1");
    order.items[0].quantity = 5;
    let error = store.place(&order).await.expect_err("mismatch");
    assert!(
        matches!(error, PlaceOrderError::Port(PortError::Failed(_))),
        "{error:?}"
    );
    assert_eq!(levels(&store, "A").await, (7, 3, 0));
    assert_eq!(store.order("ord_1").await.expect("read"), None);
}

#[tokio::test]
async fn an_order_whose_total_does_not_add_up_writes_nothing() {
    let store = seeded(&[("A", 10)]).await;
    let r = store
        .reserve("res_1", "exec-1", &[line("A", 3)])
        .await
        .expect("reserved");
    let mut order = order_for(&r, "ord_1");
    order.total += 1;
    let error = store.place(&order).await.expect_err("CHECK fails");
    assert!(
        matches!(error, PlaceOrderError::Port(PortError::Failed(_))),
        "{error:?}"
    );
    // The reservation is still held: the failed write took nothing with it.
    assert_eq!(levels(&store, "A").await, (7, 3, 0));
    assert_eq!(
        store.reservation("res_1").await.expect("read").map(|r| r.status),
        Some(ReservationStatus::Reserved)
    );
}
