//! The contract of the domain's store ports (catalog, inventory, orders, 3-D Secure waits), as one
//! suite of cases that every adapter must pass with the same results: the SQLite store's tests and the
//! DynamoDB adapter's tests (against a moto server) both call [`run_all`].
//!
//! Each case works on its own SKUs and ids (prefixed with the case name), so one store serves the whole
//! suite and a failure names the case. [`server`] starts the Python API servers (moto, localstripe) the
//! adapters' tests run against.

#![allow(clippy::unwrap_used, clippy::expect_used)]

pub mod server;

use async_trait::async_trait;
use futures::future::join_all;
use stepcart_domain::cart::CartLine;
use stepcart_domain::catalog::{Discount, DiscountKind, Product, StockedProduct};
use stepcart_domain::inventory::{ReleaseOutcome, ReservationStatus, StockLevel};
use stepcart_domain::order::{Order, OrderStatus};
use stepcart_domain::ports::{
    AuthenticationWaits, CancelOutcome, Catalog, Inventory, Orders, PlaceOrderError, ReserveError,
};
use stepcart_domain::pricing::PricedLine;
use stepcart_domain::{Currency, Money, PortError};

/// A store under test: its ports, and how to load test data into it.
#[async_trait]
pub trait ContractStore: Send + Sync {
    fn catalog(&self) -> &dyn Catalog;
    fn inventory(&self) -> &dyn Inventory;
    fn orders(&self) -> &dyn Orders;
    fn waits(&self) -> &dyn AuthenticationWaits;
    /// Loads products (each with its stock) and discounts, as `stepcart seed` / `aws bootstrap` do.
    async fn seed(&self, products: &[StockedProduct], discounts: &[Discount]);
    /// Splits a SKU's stock over shards with these available units, if the store shards stock.
    /// Returns false when it does not (the sharding cases are then skipped).
    async fn shard_stock(&self, sku: &str, shards: &[u32]) -> bool;
}

fn eur() -> Currency {
    Currency::parse("EUR").expect("EUR")
}

fn product(sku: &str, price: i64, stock: u32) -> StockedProduct {
    StockedProduct {
        product: Product::new(sku, &format!("Product {sku}"), Money::new(price, eur()), true),
        stock,
    }
}

fn line(sku: &str, quantity: u32) -> CartLine {
    CartLine {
        sku: sku.to_owned(),
        quantity,
    }
}

async fn level(store: &dyn ContractStore, sku: &str) -> StockLevel {
    let levels = store.inventory().stock(&[sku.to_owned()]).await.expect("stock");
    levels.into_iter().find(|l| l.sku == sku).expect("a stock level")
}

fn order_for(prefix: &str, reservation_id: &str, lines: &[(&str, u32, i64)]) -> Order {
    let items: Vec<PricedLine> = lines
        .iter()
        .map(|(sku, quantity, price)| PricedLine {
            sku: (*sku).to_owned(),
            quantity: *quantity,
            unit_price: *price,
            line_total: price * i64::from(*quantity),
        })
        .collect();
    let subtotal = items.iter().map(|l| l.line_total).sum();
    Order {
        order_id: format!("ord_{prefix}"),
        status: OrderStatus::Confirmed,
        items,
        subtotal,
        discount: 0,
        total: subtotal,
        currency: eur(),
        payment_id: format!("pi_{prefix}"),
        reservation_id: reservation_id.to_owned(),
        discount_code: None,
        execution_name: format!("exec-{prefix}"),
        customer_id: "cus_1".into(),
        customer_email: "ada@example.com".into(),
    }
}

/// Runs every case; panics with the case's name on the first broken rule.
pub async fn run_all(store: &dyn ContractStore) {
    catalog_finds_products_and_discounts(store).await;
    reserve_takes_every_line_or_none(store).await;
    reserve_is_idempotent_by_reservation_id(store).await;
    reserve_refuses_unknown_skus_duplicates_and_zero(store).await;
    release_returns_units_once(store).await;
    place_commits_the_reservation_once(store).await;
    place_refuses_a_reservation_not_held(store).await;
    concurrent_reservations_never_oversell(store).await;
    waits_keep_the_newest_token(store).await;
    sharded_stock_never_oversells(store).await;
}

pub async fn catalog_finds_products_and_discounts(store: &dyn ContractStore) {
    let mut inactive = product("cat-C", 300, 1);
    inactive.product.active = false;
    store
        .seed(
            &[product("cat-A", 1999, 5), product("cat-B", 999, 0), inactive],
            &[
                Discount::percent_off("CAT10", 10, None),
                Discount {
                    code: "CAT5OFF".into(),
                    kind: DiscountKind::AmountOff(Money::new(500, eur())),
                    min_subtotal: Some(Money::new(2000, eur())),
                },
            ],
        )
        .await;
    let mut found = store
        .catalog()
        .products(&["cat-A".into(), "cat-missing".into(), "cat-C".into()])
        .await
        .expect("products");
    found.sort_by(|a, b| a.sku.cmp(&b.sku));
    assert_eq!(found.len(), 2, "catalog: unknown SKUs are absent: {found:?}");
    assert_eq!(found[0].sku, "cat-A");
    assert_eq!(found[0].price, Money::new(1999, eur()));
    assert!(found[0].active);
    assert_eq!(found[1].sku, "cat-C");
    assert!(
        !found[1].active,
        "catalog: inactive products are returned as inactive"
    );

    let ten = store
        .catalog()
        .discount("CAT10")
        .await
        .expect("discount")
        .expect("CAT10");
    assert_eq!(ten.kind, DiscountKind::PercentOff(10));
    assert_eq!(ten.min_subtotal, None);
    let five = store
        .catalog()
        .discount("CAT5OFF")
        .await
        .expect("discount")
        .expect("CAT5OFF");
    assert_eq!(five.kind, DiscountKind::AmountOff(Money::new(500, eur())));
    assert_eq!(five.min_subtotal, Some(Money::new(2000, eur())));
    assert_eq!(store.catalog().discount("NOPE").await.expect("discount"), None);
}

pub async fn reserve_takes_every_line_or_none(store: &dyn ContractStore) {
    store
        .seed(&[product("aon-A", 100, 5), product("aon-B", 100, 1)], &[])
        .await;
    let refused = store
        .inventory()
        .reserve("res_aon1", "exec-aon1", &[line("aon-A", 2), line("aon-B", 2)])
        .await;
    match refused {
        Err(ReserveError::OutOfStock(s)) => {
            assert_eq!((s.sku.as_str(), s.requested, s.available), ("aon-B", 2, 1));
        }
        other => panic!("reserve: expected OutOfStock for aon-B, got {other:?}"),
    }
    let a = level(store, "aon-A").await;
    assert_eq!(
        (a.available, a.reserved),
        (5, 0),
        "reserve: a refused cart takes nothing"
    );
    assert_eq!(
        store
            .inventory()
            .reservation("res_aon1")
            .await
            .expect("reservation"),
        None,
        "reserve: a refused cart leaves no reservation"
    );
}

pub async fn reserve_is_idempotent_by_reservation_id(store: &dyn ContractStore) {
    store
        .seed(&[product("idem-A", 100, 5), product("idem-B", 100, 3)], &[])
        .await;
    let lines = [line("idem-B", 1), line("idem-A", 2)];
    let first = store
        .inventory()
        .reserve("res_idem", "exec-idem", &lines)
        .await
        .expect("reserve");
    assert_eq!(first.status, ReservationStatus::Reserved);
    assert_eq!(
        first.items,
        lines.to_vec(),
        "reserve: lines keep the cart's order"
    );
    let again = store
        .inventory()
        .reserve("res_idem", "exec-idem", &lines)
        .await
        .expect("reserve again");
    assert_eq!(again, first, "reserve: the same id returns the same reservation");
    let a = level(store, "idem-A").await;
    assert_eq!(
        (a.available, a.reserved, a.sold),
        (3, 2, 0),
        "reserve: units moved once"
    );
    let stored = store
        .inventory()
        .reservation("res_idem")
        .await
        .expect("read")
        .expect("stored");
    assert_eq!(stored, first);
}

pub async fn reserve_refuses_unknown_skus_duplicates_and_zero(store: &dyn ContractStore) {
    store.seed(&[product("bad-A", 100, 5)], &[]).await;
    let unknown = store
        .inventory()
        .reserve("res_bad1", "e", &[line("bad-A", 1), line("bad-zzz", 1)])
        .await;
    assert!(
        matches!(unknown, Err(ReserveError::UnknownSku(ref s)) if s == "bad-zzz"),
        "reserve: unknown SKU: {unknown:?}"
    );
    let duplicate = store
        .inventory()
        .reserve("res_bad2", "e", &[line("bad-A", 1), line("bad-A", 1)])
        .await;
    assert!(
        matches!(duplicate, Err(ReserveError::Port(PortError::Failed(_)))),
        "reserve: duplicate SKU: {duplicate:?}"
    );
    let zero = store
        .inventory()
        .reserve("res_bad3", "e", &[line("bad-A", 0)])
        .await;
    assert!(
        matches!(zero, Err(ReserveError::Port(PortError::Failed(_)))),
        "reserve: zero quantity: {zero:?}"
    );
    let a = level(store, "bad-A").await;
    assert_eq!(
        (a.available, a.reserved),
        (5, 0),
        "reserve: refusals take nothing"
    );
}

pub async fn release_returns_units_once(store: &dyn ContractStore) {
    store.seed(&[product("rel-A", 100, 4)], &[]).await;
    store
        .inventory()
        .reserve("res_rel", "exec-rel", &[line("rel-A", 3)])
        .await
        .expect("reserve");
    let inv = store.inventory();
    assert_eq!(
        inv.release("res_rel").await.expect("release"),
        ReleaseOutcome::Released
    );
    let a = level(store, "rel-A").await;
    assert_eq!(
        (a.available, a.reserved),
        (4, 0),
        "release: units back to available"
    );
    assert_eq!(
        inv.release("res_rel").await.expect("again"),
        ReleaseOutcome::AlreadyReleased
    );
    let a = level(store, "rel-A").await;
    assert_eq!(
        (a.available, a.reserved),
        (4, 0),
        "release: a second release moves nothing"
    );
    assert_eq!(
        inv.release("res_never").await.expect("unknown"),
        ReleaseOutcome::NotFound
    );
    // The release of an unknown reservation leaves a released tombstone: a reservation arriving late
    // (its task timed out and was compensated) takes nothing.
    let late = inv
        .reserve("res_never", "exec-late", &[line("rel-A", 1)])
        .await
        .expect("late");
    assert_eq!(
        late.status,
        ReservationStatus::Released,
        "release: a tombstone stops a late reservation"
    );
    assert_eq!(
        level(store, "rel-A").await.available,
        4,
        "release: a late reservation takes nothing"
    );
    let released = inv.reservation("res_rel").await.expect("read").expect("kept");
    assert_eq!(released.status, ReservationStatus::Released);
    let again = inv
        .reserve("res_rel", "exec-rel", &[line("rel-A", 3)])
        .await
        .expect("same id");
    assert_eq!(
        again.status,
        ReservationStatus::Released,
        "reserve: a released id is not reserved again"
    );
    assert_eq!(level(store, "rel-A").await.available, 4);
}

pub async fn place_commits_the_reservation_once(store: &dyn ContractStore) {
    store
        .seed(&[product("ord-A", 250, 5), product("ord-B", 100, 5)], &[])
        .await;
    let inv = store.inventory();
    inv.reserve("res_ord", "exec-ord", &[line("ord-A", 2), line("ord-B", 1)])
        .await
        .expect("reserve");
    let order = order_for("ord", "res_ord", &[("ord-A", 2, 250), ("ord-B", 1, 100)]);
    let placed = store.orders().place(&order).await.expect("place");
    assert_eq!(placed.order_id, order.order_id);
    assert_eq!(placed.total, 600);
    let a = level(store, "ord-A").await;
    assert_eq!(
        (a.available, a.reserved, a.sold),
        (3, 0, 2),
        "place: reserved units are sold"
    );
    let again = store.orders().place(&order).await.expect("place again");
    assert_eq!(
        again.order_id, order.order_id,
        "place: the same order id returns the stored order"
    );
    assert_eq!(again.items, order.items);
    let a = level(store, "ord-A").await;
    assert_eq!(
        (a.available, a.reserved, a.sold),
        (3, 0, 2),
        "place: a repeat sells nothing more"
    );
    let stored = store
        .orders()
        .order(&order.order_id)
        .await
        .expect("read")
        .expect("stored");
    assert_eq!(
        (stored.total, stored.currency, stored.payment_id.as_str()),
        (600, eur(), "pi_ord")
    );
    assert_eq!(
        inv.reservation("res_ord")
            .await
            .expect("read")
            .expect("kept")
            .status,
        ReservationStatus::Committed
    );
    assert_eq!(
        inv.release("res_ord").await.expect("release"),
        ReleaseOutcome::Committed
    );
    assert_eq!(
        level(store, "ord-A").await.sold,
        2,
        "release: a committed reservation keeps its sale"
    );
    assert_eq!(store.orders().order("ord_none").await.expect("read"), None);

    // A placed order cancelled by a compensation gives its units back, once.
    assert_eq!(
        store.orders().cancel(&order.order_id).await.expect("cancel"),
        CancelOutcome::Cancelled
    );
    let a = level(store, "ord-A").await;
    assert_eq!(
        (a.available, a.reserved, a.sold),
        (5, 0, 0),
        "cancel: the sold units are available again"
    );
    assert_eq!(
        store.orders().cancel(&order.order_id).await.expect("again"),
        CancelOutcome::AlreadyCancelled
    );
    assert_eq!(
        level(store, "ord-A").await.available,
        5,
        "cancel: a repeat gives nothing more back"
    );
    let cancelled = store
        .orders()
        .order(&order.order_id)
        .await
        .expect("read")
        .expect("kept");
    assert_eq!(cancelled.status, OrderStatus::Cancelled);
    assert_eq!(
        inv.reservation("res_ord")
            .await
            .expect("read")
            .expect("kept")
            .status,
        ReservationStatus::Released
    );
    assert_eq!(
        store.orders().cancel("ord_none").await.expect("none"),
        CancelOutcome::NotFound
    );
}

pub async fn place_refuses_a_reservation_not_held(store: &dyn ContractStore) {
    store.seed(&[product("nh-A", 100, 5)], &[]).await;
    let inv = store.inventory();
    inv.reserve("res_nh", "exec-nh", &[line("nh-A", 1)])
        .await
        .expect("reserve");
    inv.release("res_nh").await.expect("release");
    let released = store
        .orders()
        .place(&order_for("nh1", "res_nh", &[("nh-A", 1, 100)]))
        .await;
    assert!(
        matches!(released, Err(PlaceOrderError::ReservationNotHeld { ref state, .. }) if state == "released"),
        "place: released reservation: {released:?}"
    );
    let missing = store
        .orders()
        .place(&order_for("nh2", "res_nh_missing", &[("nh-A", 1, 100)]))
        .await;
    assert!(
        matches!(missing, Err(PlaceOrderError::ReservationNotHeld { ref state, .. }) if state == "missing"),
        "place: missing reservation: {missing:?}"
    );
    assert_eq!(
        store.orders().order("ord_nh1").await.expect("read"),
        None,
        "place: no order on refusal"
    );
    let a = level(store, "nh-A").await;
    assert_eq!((a.available, a.reserved, a.sold), (5, 0, 0));
}

/// `checkouts` concurrent reservations of one unit of `sku`: how many were reserved and how many were
/// out of stock (any other outcome fails the case).
async fn reserve_one_each(
    store: &dyn ContractStore,
    prefix: &str,
    sku: &str,
    checkouts: usize,
) -> (usize, usize) {
    let attempts = (0..checkouts).map(|i| async move {
        store
            .inventory()
            .reserve(
                &format!("res_{prefix}{i}"),
                &format!("exec-{prefix}{i}"),
                &[line(sku, 1)],
            )
            .await
    });
    let results = join_all(attempts).await;
    let other: Vec<_> = results
        .iter()
        .filter(|r| !matches!(r, Ok(_) | Err(ReserveError::OutOfStock(_))))
        .collect();
    assert!(other.is_empty(), "concurrency: unexpected outcomes {other:?}");
    let reserved = results.iter().filter(|r| r.is_ok()).count();
    (reserved, checkouts - reserved)
}

pub async fn concurrent_reservations_never_oversell(store: &dyn ContractStore) {
    store.seed(&[product("hot-A", 100, 10)], &[]).await;
    let (reserved, out_of_stock) = reserve_one_each(store, "hot", "hot-A", 30).await;
    assert_eq!(
        (reserved, out_of_stock),
        (10, 20),
        "concurrency: exactly the stock is reserved"
    );
    let a = level(store, "hot-A").await;
    assert_eq!(
        (a.available, a.reserved),
        (0, 10),
        "concurrency: never below zero"
    );
}

pub async fn waits_keep_the_newest_token(store: &dyn ContractStore) {
    let waits = store.waits();
    assert_eq!(waits.task_token("pi_wait").await.expect("read"), None);
    waits.register("pi_wait", "token-1").await.expect("register");
    waits
        .register("pi_wait", "token-2")
        .await
        .expect("register again");
    assert_eq!(
        waits.task_token("pi_wait").await.expect("read").as_deref(),
        Some("token-2")
    );
}

pub async fn sharded_stock_never_oversells(store: &dyn ContractStore) {
    store.seed(&[product("shard-A", 100, 0)], &[]).await;
    if !store.shard_stock("shard-A", &[3, 3, 3, 3]).await {
        return;
    }
    assert_eq!(
        level(store, "shard-A").await.available,
        12,
        "shards: levels add up"
    );
    let big = store
        .inventory()
        .reserve("res_shbig", "e", &[line("shard-A", 5)])
        .await
        .expect("split line");
    assert_eq!(
        big.items,
        vec![line("shard-A", 5)],
        "shards: a line larger than a shard is split"
    );
    let (reserved, out_of_stock) = reserve_one_each(store, "sh", "shard-A", 12).await;
    assert_eq!(
        (reserved, out_of_stock),
        (7, 5),
        "shards: exactly the stock is reserved"
    );
    let a = level(store, "shard-A").await;
    assert_eq!((a.available, a.reserved), (0, 12), "shards: never below zero");
    assert_eq!(
        store.inventory().release("res_shbig").await.expect("release"),
        ReleaseOutcome::Released
    );
    assert_eq!(
        level(store, "shard-A").await.available,
        5,
        "shards: a split line is released whole"
    );
}
