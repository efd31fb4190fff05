mod common;

use common::{assert_consistent, eur, levels, line, stocked};
use stepcart_domain::Money;
use stepcart_domain::catalog::{Discount, Product};
use stepcart_domain::notification::{Notification, NotificationKind};
use stepcart_domain::ports::{AuthenticationWaits, Catalog, Inventory, Notifier};
use stepcart_store_sqlite::{Store, StoreError};

fn discounts() -> Vec<Discount> {
    vec![
        Discount::percent_off("welcome10", 10, None),
        Discount::amount_off("FIVEOFF", Money::new(500, eur()), Some(Money::new(3000, eur()))),
    ]
}

#[tokio::test]
async fn seeded_products_and_discounts_read_back() {
    let store = Store::open_in_memory().expect("store");
    assert!(!store.is_seeded().await.expect("read"));
    let mut inactive = stocked("OLD", 500, 3);
    inactive.product.active = false;
    let report = store
        .seed(&[stocked("A", 1999, 25), inactive], &discounts())
        .await
        .expect("seed");
    assert_eq!(report.added, ["A", "OLD"]);
    assert!(report.updated.is_empty() && report.stock_kept.is_empty());
    assert_eq!(report.discounts_added, ["WELCOME10", "FIVEOFF"]);
    assert!(store.is_seeded().await.expect("read"));

    let products = store
        .products(&["OLD".into(), "NOPE".into(), "A".into(), "A".into()])
        .await
        .expect("products");
    assert_eq!(
        products,
        vec![
            Product::new("OLD", "OLD name", Money::new(500, eur()), false),
            Product::new("A", "A name", Money::new(1999, eur()), true),
        ]
    );
    assert_eq!(levels(&store, "A").await, (25, 0, 0));
    for discount in discounts() {
        assert_eq!(
            store.discount(&discount.code).await.expect("read"),
            Some(discount)
        );
    }
    assert_eq!(store.discount("NOPE").await.expect("read"), None);
}

#[tokio::test]
async fn seeding_twice_neither_creates_nor_destroys_units() {
    let store = Store::open_in_memory().expect("store");
    store
        .seed(&[stocked("A", 1000, 10)], &discounts())
        .await
        .expect("first");
    store
        .reserve("res_1", "exec-1", &[line("A", 3)])
        .await
        .expect("reserved");

    let mut changed = stocked("A", 1200, 99);
    changed.product.name = "A renamed".into();
    let report = store
        .seed(
            &[changed, stocked("B", 100, 4)],
            &[Discount::percent_off("welcome10", 15, None)],
        )
        .await
        .expect("second");
    assert_eq!(report.added, ["B"]);
    assert_eq!(report.updated, ["A"]);
    assert_eq!(report.stock_kept, ["A"]);
    assert_eq!(report.discounts_updated, ["WELCOME10"]);
    assert_eq!(levels(&store, "A").await, (7, 3, 0));
    assert_eq!(levels(&store, "B").await, (4, 0, 0));
    let a = store.products(&["A".into()]).await.expect("read");
    assert_eq!(a[0].price.amount, 1200);
    assert_eq!(a[0].name, "A renamed");

    // Unchanged: kept, not updated.
    let again = store.seed(&[stocked("B", 100, 50)], &[]).await.expect("third");
    assert!(again.added.is_empty() && again.updated.is_empty());
    assert_eq!(again.stock_kept, ["B"]);
    assert_eq!(levels(&store, "B").await, (4, 0, 0));
    assert_consistent(&store).await;
}

#[tokio::test]
async fn a_bad_catalog_writes_nothing() {
    let store = Store::open_in_memory().expect("store");
    let error = store
        .seed(&[stocked("A", 1, 1), stocked("A", 2, 2)], &[])
        .await
        .expect_err("duplicate");
    assert!(matches!(error, StoreError::Invalid(_)), "{error:?}");
    // A negative price passes the types but not the schema; the whole seed rolls back.
    let error = store
        .seed(&[stocked("B", 1, 1), stocked("C", -5, 1)], &[])
        .await
        .expect_err("negative price");
    assert!(matches!(error, StoreError::Sqlite(_)), "{error:?}");
    assert!(store.stock(&[]).await.expect("read").is_empty());
    assert!(!store.is_seeded().await.expect("read"));
}

fn notification(key: &str, subject: &str) -> Notification {
    Notification {
        kind: NotificationKind::OrderConfirmed,
        dedup_key: key.into(),
        customer_email: "ada@example.com".into(),
        subject: subject.into(),
        detail: serde_json::json!({"orderId": "ord_1", "total": 4497}),
    }
}

#[tokio::test]
async fn a_notification_is_stored_once_per_dedup_key() {
    let store = Store::open_in_memory().expect("store");
    store
        .publish(&notification("k1", "first"))
        .await
        .expect("publish");
    store
        .publish(&notification("k1", "repeat"))
        .await
        .expect("repeat accepted");
    store.publish(&notification("k2", "other")).await.expect("other");
    let rows = store.notifications().await.expect("list");
    assert_eq!(rows.len(), 2);
    assert_eq!(
        (rows[0].dedup_key.as_str(), rows[0].subject.as_str()),
        ("k1", "first")
    );
    assert_eq!(rows[0].kind, "OrderConfirmed");
    assert_eq!(
        rows[0].detail,
        serde_json::json!({"orderId": "ord_1", "total": 4497})
    );
    assert_eq!(rows[1].dedup_key, "k2");
}

#[tokio::test]
async fn the_latest_task_token_waits_for_a_payment() {
    let store = Store::open_in_memory().expect("store");
    assert_eq!(store.task_token("pi_1").await.expect("read"), None);
    store.register("pi_1", "token-a").await.expect("register");
    assert_eq!(
        store.task_token("pi_1").await.expect("read").as_deref(),
        Some("token-a")
    );
    store.register("pi_1", "token-b").await.expect("re-register");
    assert_eq!(
        store.task_token("pi_1").await.expect("read").as_deref(),
        Some("token-b")
    );
    assert_eq!(store.task_token("pi_2").await.expect("read"), None);
}
