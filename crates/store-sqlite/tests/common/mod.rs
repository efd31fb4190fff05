//! Helpers shared by the contract tests.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use stepcart_domain::cart::CartLine;
use stepcart_domain::catalog::{Product, StockedProduct};
use stepcart_domain::inventory::{Reservation, StockLevel};
use stepcart_domain::order::{Order, OrderStatus};
use stepcart_domain::ports::Inventory;
use stepcart_domain::pricing::PricedLine;
use stepcart_domain::{Currency, Money};
use stepcart_store_sqlite::Store;

/// A directory under the system temp dir, unique per test, removed when dropped.
pub struct TempDir {
    path: PathBuf,
}

impl TempDir {
    pub fn new(label: &str) -> Self {
        static COUNTER: AtomicU64 = AtomicU64::new(0);
        let nanos = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or(0);
        let path = std::env::temp_dir().join(format!(
            "stepcart-store-{label}-{}-{nanos}-{}",
            std::process::id(),
            COUNTER.fetch_add(1, Ordering::Relaxed)
        ));
        Self { path }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.path);
    }
}

pub fn eur() -> Currency {
    Currency::parse("EUR").expect("EUR is valid")
}

pub fn stocked(sku: &str, price: i64, stock: u32) -> StockedProduct {
    StockedProduct {
        product: Product::new(sku, &format!("{sku} name"), Money::new(price, eur()), true),
        stock,
    }
}

pub fn line(sku: &str, quantity: u32) -> CartLine {
    CartLine {
        sku: sku.to_owned(),
        quantity,
    }
}

/// A store seeded with `(sku, stock)` products at 1000 cents each.
pub async fn seeded(stock: &[(&str, u32)]) -> Store {
    let store = Store::open_in_memory().expect("in-memory store");
    let products: Vec<_> = stock.iter().map(|(sku, n)| stocked(sku, 1000, *n)).collect();
    store.seed(&products, &[]).await.expect("seed");
    store
}

pub async fn level(store: &Store, sku: &str) -> StockLevel {
    let levels = store.stock(&[sku.to_owned()]).await.expect("stock");
    levels.into_iter().next().expect("SKU has a stock row")
}

/// (available, reserved, sold)
pub async fn levels(store: &Store, sku: &str) -> (i64, i64, i64) {
    let l = level(store, sku).await;
    (l.available, l.reserved, l.sold)
}

/// A confirmed order for everything `reservation` holds at 10.00 EUR a unit, paid by [`UNPAID`]: these
/// tests exercise the Orders port alone.
pub fn order_for(reservation: &Reservation, order_id: &str) -> Order {
    let items: Vec<PricedLine> = reservation
        .items
        .iter()
        .map(|l| PricedLine {
            sku: l.sku.clone(),
            quantity: l.quantity,
            unit_price: 1000,
            line_total: 1000 * i64::from(l.quantity),
        })
        .collect();
    let subtotal = items.iter().map(|l| l.line_total).sum();
    Order {
        order_id: order_id.to_owned(),
        status: OrderStatus::Confirmed,
        items,
        subtotal,
        discount: 0,
        total: subtotal,
        currency: eur(),
        payment_id: UNPAID.into(),
        reservation_id: reservation.reservation_id.clone(),
        discount_code: None,
        execution_name: reservation.execution_name.clone(),
        customer_id: "cus_1".into(),
        customer_email: "ada@example.com".into(),
    }
}

/// The payment id of fixture orders placed without a payment.
pub const UNPAID: &str = "pi_test";

/// Every invariant holds, except the one tying orders to payments for fixture orders that were placed
/// with no payment on purpose (the money invariants have their own tests in durability.rs).
pub async fn assert_consistent(store: &Store) {
    let problems: Vec<String> = store
        .check_invariants()
        .await
        .expect("invariants readable")
        .into_iter()
        .filter(|p| !p.ends_with(&format!("payment {UNPAID} is missing")))
        .collect();
    assert!(problems.is_empty(), "invariants broken: {problems:#?}");
}

/// Captures `amount` cents through the simulated provider for `execution`; returns the payment id.
pub async fn pay(store: &stepcart_store_sqlite::Store, execution: &str, amount: i64) -> String {
    use stepcart_domain::ports::PaymentGateway;
    stepcart_store_sqlite::SimulatedPayments::new(store)
        .create_and_confirm(&stepcart_domain::payment::PaymentRequest {
            idempotency_key: format!("key-{execution}"),
            amount: stepcart_domain::Money::new(amount, eur()),
            payment_method: "pm_card_visa".into(),
            customer_id: "cus_1".into(),
            order_id: format!("ord-{execution}"),
            execution_name: execution.into(),
        })
        .await
        .expect("paid")
        .payment_id
}
