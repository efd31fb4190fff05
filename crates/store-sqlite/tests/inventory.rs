mod common;

use common::{assert_consistent, level, levels, line, order_for, seeded};
use stepcart_domain::PortError;
use stepcart_domain::inventory::{ReleaseOutcome, ReservationStatus, Shortage};
use stepcart_domain::ports::{Inventory, Orders, ReserveError};

#[tokio::test]
async fn a_reservation_moves_units_from_available_to_reserved() {
    let store = seeded(&[("A", 10), ("B", 5)]).await;
    let r = store
        .reserve("res_1", "exec-1", &[line("B", 2), line("A", 3)])
        .await
        .expect("reserved");
    assert_eq!(r.status, ReservationStatus::Reserved);
    assert_eq!(r.execution_name, "exec-1");
    // Lines come back in the order they were given, even though they are taken in SKU order.
    assert_eq!(r.items, vec![line("B", 2), line("A", 3)]);
    assert_eq!(levels(&store, "A").await, (7, 3, 0));
    assert_eq!(levels(&store, "B").await, (3, 2, 0));
    assert_eq!(store.reservation("res_1").await.expect("read"), Some(r));
    assert_consistent(&store).await;
}

#[tokio::test]
async fn a_short_line_reserves_nothing_and_names_the_sku() {
    let store = seeded(&[("A", 10), ("B", 1), ("C", 10)]).await;
    let error = store
        .reserve("res_1", "exec-1", &[line("A", 2), line("B", 3), line("C", 1)])
        .await
        .expect_err("B is short");
    assert_eq!(
        error,
        ReserveError::OutOfStock(Shortage {
            sku: "B".into(),
            requested: 3,
            available: 1
        })
    );
    assert!(
        error.to_string().contains("SKU B has 1 available, 3 requested"),
        "{error}"
    );
    // A was taken before B was found short: the rollback must have put it back.
    assert_eq!(levels(&store, "A").await, (10, 0, 0));
    assert_eq!(levels(&store, "B").await, (1, 0, 0));
    assert_eq!(levels(&store, "C").await, (10, 0, 0));
    assert_eq!(store.reservation("res_1").await.expect("read"), None);
    // Nothing was recorded under the id, so a later attempt with stock works.
    store
        .reserve("res_1", "exec-1", &[line("A", 2), line("B", 1)])
        .await
        .expect("fits now");
    assert_consistent(&store).await;
}

#[tokio::test]
async fn an_unknown_sku_reserves_nothing() {
    let store = seeded(&[("A", 10)]).await;
    let error = store
        .reserve("res_1", "exec-1", &[line("A", 2), line("ZZZ", 1)])
        .await
        .expect_err("unknown");
    assert_eq!(error, ReserveError::UnknownSku("ZZZ".into()));
    assert_eq!(levels(&store, "A").await, (10, 0, 0));
}

#[tokio::test]
async fn bad_lines_are_refused_without_effect() {
    let store = seeded(&[("A", 10)]).await;
    for lines in [vec![line("A", 1), line("A", 2)], vec![line("A", 0)]] {
        let error = store
            .reserve("res_1", "exec-1", &lines)
            .await
            .expect_err("refused");
        assert!(
            matches!(error, ReserveError::Port(PortError::Failed(_))),
            "{error:?}"
        );
    }
    assert_eq!(levels(&store, "A").await, (10, 0, 0));
}

#[tokio::test]
async fn the_same_reservation_id_reserves_once() {
    let store = seeded(&[("A", 10)]).await;
    let first = store
        .reserve("res_1", "exec-1", &[line("A", 4)])
        .await
        .expect("first");
    let again = store
        .reserve("res_1", "exec-1", &[line("A", 4)])
        .await
        .expect("again");
    assert_eq!(first, again);
    assert_eq!(levels(&store, "A").await, (6, 4, 0));
    // Whatever the lines and status: the existing reservation comes back unchanged.
    let other = store
        .reserve("res_1", "exec-2", &[line("A", 9)])
        .await
        .expect("other lines");
    assert_eq!(other, first);
    store.release("res_1").await.expect("release");
    let released = store
        .reserve("res_1", "exec-1", &[line("A", 4)])
        .await
        .expect("after release");
    assert_eq!(released.status, ReservationStatus::Released);
    assert_eq!(levels(&store, "A").await, (10, 0, 0));
    assert_consistent(&store).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_reservations_never_oversell() {
    let store = seeded(&[("HOT", 50)]).await;
    let tasks: Vec<_> = (0..200)
        .map(|i| {
            let store = store.clone();
            tokio::spawn(async move {
                store
                    .reserve(&format!("res_{i}"), &format!("exec-{i}"), &[line("HOT", 1)])
                    .await
            })
        })
        .collect();
    let mut reserved = 0;
    let mut short = 0;
    for task in tasks {
        match task.await.expect("task finished") {
            Ok(_) => reserved += 1,
            Err(ReserveError::OutOfStock(s)) => {
                assert_eq!((s.sku.as_str(), s.available), ("HOT", 0));
                short += 1;
            }
            Err(other) => panic!("unexpected {other:?}"),
        }
    }
    assert_eq!((reserved, short), (50, 150));
    let l = level(&store, "HOT").await;
    assert_eq!((l.available, l.reserved, l.sold), (0, 50, 0));
    assert_eq!(l.available + l.reserved + l.sold, 50);
    assert_consistent(&store).await;
}

#[tokio::test]
async fn release_gives_units_back_once() {
    let store = seeded(&[("A", 10)]).await;
    store
        .reserve("res_1", "exec-1", &[line("A", 4)])
        .await
        .expect("reserved");
    assert_eq!(store.release("res_1").await, Ok(ReleaseOutcome::Released));
    assert_eq!(store.release("res_1").await, Ok(ReleaseOutcome::AlreadyReleased));
    assert_eq!(levels(&store, "A").await, (10, 0, 0));
    let r = store.reservation("res_1").await.expect("read").expect("kept");
    assert_eq!(r.status, ReservationStatus::Released);
    assert_eq!(store.release("res_never").await, Ok(ReleaseOutcome::NotFound));
    assert_consistent(&store).await;
}

#[tokio::test]
async fn release_after_commit_keeps_the_units_sold() {
    let store = seeded(&[("A", 10)]).await;
    let r = store
        .reserve("res_1", "exec-1", &[line("A", 4)])
        .await
        .expect("reserved");
    store.place(&order_for(&r, "ord_1")).await.expect("placed");
    assert_eq!(store.release("res_1").await, Ok(ReleaseOutcome::Committed));
    assert_eq!(levels(&store, "A").await, (6, 0, 4));
    assert_consistent(&store).await;
}

#[tokio::test]
async fn stock_lists_all_by_sku_or_the_ones_asked_for() {
    let store = seeded(&[("C", 3), ("A", 1), ("B", 2)]).await;
    let all = store.stock(&[]).await.expect("all");
    let skus: Vec<_> = all.iter().map(|l| l.sku.as_str()).collect();
    assert_eq!(skus, ["A", "B", "C"]);
    let some = store
        .stock(&["C".into(), "NOPE".into(), "A".into(), "C".into()])
        .await
        .expect("some");
    let skus: Vec<_> = some.iter().map(|l| (l.sku.as_str(), l.available)).collect();
    assert_eq!(skus, [("A", 1), ("C", 3)]);
}

#[tokio::test]
async fn reservations_are_listed_with_their_lines() {
    let store = seeded(&[("A", 10), ("B", 10)]).await;
    store
        .reserve("res_1", "exec-1", &[line("A", 1)])
        .await
        .expect("1");
    store
        .reserve("res_2", "exec-2", &[line("B", 2), line("A", 1)])
        .await
        .expect("2");
    store.release("res_1").await.expect("release");
    let rows = store.reservations().await.expect("list");
    assert_eq!(rows.len(), 2);
    let two = rows
        .iter()
        .find(|r| r.reservation_id == "res_2")
        .expect("res_2 listed");
    assert_eq!(two.items, vec![line("B", 2), line("A", 1)]);
    assert_eq!(two.status, ReservationStatus::Reserved);
    let one = rows
        .iter()
        .find(|r| r.reservation_id == "res_1")
        .expect("res_1 listed");
    assert_eq!(one.status, ReservationStatus::Released);
}
