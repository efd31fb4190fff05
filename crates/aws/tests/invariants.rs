//! The DynamoDB invariant checker on a moto server: a store written only through the adapters balances;
//! items corrupted on purpose (written straight with the SDK) are each reported, naming their ids.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod moto;

use aws_sdk_dynamodb::types::AttributeValue;
use stepcart_aws::bootstrap::{Environment, create_tables};
use stepcart_aws::{DynamoStore, InvariantOptions, PaymentRecord};
use stepcart_domain::cart::CartLine;
use stepcart_domain::catalog::Product;
use stepcart_domain::ids::CheckoutIds;
use stepcart_domain::money::{Currency, Money};
use stepcart_domain::order::{Order, OrderStatus};
use stepcart_domain::payment::LedgerEntry;
use stepcart_domain::ports::{Inventory, Orders, PaymentLedger};
use stepcart_domain::pricing::PricedLine;

fn s(v: &str) -> AttributeValue {
    AttributeValue::S(v.to_owned())
}

fn n(v: i64) -> AttributeValue {
    AttributeValue::N(v.to_string())
}

fn eur() -> Currency {
    Currency::parse("EUR").expect("EUR")
}

/// A checkout as the tasks would leave it: reserved, paid (ledger entry captured), ordered.
async fn checkout(store: &DynamoStore, name: &str, lines: &[(&str, u32)], unit_price: i64) -> Order {
    let ids = CheckoutIds::for_execution(name);
    let cart: Vec<CartLine> = lines
        .iter()
        .map(|(sku, q)| CartLine {
            sku: (*sku).to_owned(),
            quantity: *q,
        })
        .collect();
    store
        .reserve(&ids.reservation_id, name, &cart)
        .await
        .expect("reserve");
    let items: Vec<PricedLine> = lines
        .iter()
        .map(|(sku, q)| PricedLine {
            sku: (*sku).to_owned(),
            quantity: *q,
            unit_price,
            line_total: unit_price * i64::from(*q),
        })
        .collect();
    let total: i64 = items.iter().map(|l| l.line_total).sum();
    let payment_id = format!("pi_{}", &ids.payment_key[13..]);
    store
        .begin(&LedgerEntry {
            idempotency_key: ids.payment_key.clone(),
            execution_name: name.to_owned(),
            order_id: ids.order_id.clone(),
            amount: Money::new(total, eur()),
            payment_id: None,
            status: "pending".into(),
        })
        .await
        .expect("ledger begin");
    store
        .record(&ids.payment_key, &payment_id, "succeeded")
        .await
        .expect("ledger record");
    store
        .place(&Order {
            order_id: ids.order_id.clone(),
            status: OrderStatus::Confirmed,
            items,
            subtotal: total,
            discount: 0,
            total,
            currency: eur(),
            payment_id,
            reservation_id: ids.reservation_id.clone(),
            discount_code: None,
            execution_name: name.to_owned(),
            customer_id: "cus_1".into(),
            customer_email: "a@example.com".into(),
        })
        .await
        .expect("place")
}

fn mentions(problems: &[String], all: &[&str]) -> bool {
    problems.iter().any(|p| all.iter().all(|word| p.contains(word)))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_checker_passes_a_clean_store_and_names_every_corruption() {
    let moto = moto::Moto::start();
    let clients = moto.clients().await;
    let env = Environment::new("invariants");
    create_tables(&clients, &env.tables).await.expect("tables");
    let store = DynamoStore::new(clients.dynamodb.clone(), env.tables.clone());
    let db = clients.dynamodb.clone();
    let t = env.tables.clone();

    for (sku, shards) in [("A", vec![10]), ("B", vec![5]), ("HOT", vec![3, 3, 3, 3])] {
        store
            .put_product(
                &Product::new(sku, sku, Money::new(100, eur()), true),
                u32::try_from(shards.len()).unwrap(),
            )
            .await
            .expect("product");
        store.put_stock(sku, &shards).await.expect("stock");
    }
    assert_eq!(
        store.check_invariants().await.expect("check"),
        Vec::<String>::new()
    );

    // Through the adapters: two orders, one reservation still held, one released.
    let first = checkout(&store, "inv-1", &[("A", 2), ("B", 1)], 100).await;
    checkout(&store, "inv-2", &[("HOT", 5)], 100).await;
    let held = CheckoutIds::for_execution("inv-3").reservation_id;
    let line = |sku: &str, quantity| CartLine {
        sku: sku.into(),
        quantity,
    };
    store
        .reserve(&held, "inv-3", &[line("A", 1), line("HOT", 2)])
        .await
        .expect("reserve");
    let released = CheckoutIds::for_execution("inv-4").reservation_id;
    store
        .reserve(&released, "inv-4", &[line("B", 2)])
        .await
        .expect("reserve");
    store.release(&released).await.expect("release");
    // A compensated checkout: ordered, then the order cancelled and its payment refunded in full.
    let undone = checkout(&store, "inv-5", &[("B", 1)], 100).await;
    store.cancel(&undone.order_id).await.expect("cancel");
    store
        .record_refund(&CheckoutIds::for_execution("inv-5").payment_key, undone.total)
        .await
        .expect("refund recorded");
    let clean = store.check_invariants().await.expect("check");
    assert_eq!(clean, Vec::<String>::new());

    // 1. Stock that does not add up: A shard 0 gains 3 available units out of nowhere.
    db.update_item()
        .table_name(&t.stock)
        .key("sku", s("A"))
        .key("shard", n(0))
        .update_expression("SET available = available + :q")
        .expression_attribute_values(":q", n(3))
        .send()
        .await
        .expect("corrupt stock");
    // 2. Below zero, and conserved by accident: B shard 0 available -1, stocked adjusted.
    db.put_item()
        .table_name(&t.stock)
        .item("sku", s("NEG"))
        .item("shard", n(0))
        .item("available", n(-1))
        .item("reserved", n(0))
        .item("sold", n(1))
        .item("stocked", n(0))
        .send()
        .await
        .expect("negative stock");
    // 3. An order whose reservation was never committed (it is still RESERVED).
    let ghost_payment = "pi_ghost";
    db.put_item()
        .table_name(&t.orders)
        .item("orderId", s("ord_ghost"))
        .item("status", s("CONFIRMED"))
        .item(
            "items",
            AttributeValue::L(vec![AttributeValue::M(
                [
                    ("sku".to_owned(), s("A")),
                    ("quantity".to_owned(), n(1)),
                    ("unitPrice".to_owned(), n(100)),
                    ("lineTotal".to_owned(), n(100)),
                ]
                .into(),
            )]),
        )
        .item("subtotal", n(100))
        .item("discount", n(0))
        .item("total", n(100))
        .item("currency", s("EUR"))
        .item("paymentId", s(ghost_payment))
        .item("reservationId", s(&held))
        .item("executionName", s("inv-3"))
        .item("customerId", s("cus_1"))
        .item("customerEmail", s("a@example.com"))
        .item("createdAt", s("2026-01-01T00:00:00Z"))
        .send()
        .await
        .expect("ghost order");
    // 4. A captured payment without an order.
    db.put_item()
        .table_name(&t.payments)
        .item("pk", s("PAYMENT#stepcart-pay-orphan"))
        .item("paymentKey", s("stepcart-pay-orphan"))
        .item("executionName", s("inv-orphan"))
        .item("orderId", s("ord_orphan"))
        .item("amount", n(4200))
        .item("currency", s("EUR"))
        .item("status", s("succeeded"))
        .item("paymentId", s("pi_orphan"))
        .item("createdAt", s("2026-01-01T00:00:00Z"))
        .item("updatedAt", s("2026-01-01T00:00:00Z"))
        .send()
        .await
        .expect("orphan payment");
    // 5. A committed reservation whose order is gone.
    db.delete_item()
        .table_name(&t.orders)
        .key("orderId", s(&first.order_id))
        .send()
        .await
        .expect("delete order");

    let problems = store.check_invariants().await.expect("check");
    for p in &problems {
        eprintln!("violation: {p}");
    }
    assert!(mentions(&problems, &["SKU A", "stocked 10"]), "{problems:#?}");
    assert!(
        mentions(&problems, &["SKU NEG", "available is -1"]),
        "{problems:#?}"
    );
    assert!(
        mentions(&problems, &["SKU NEG", "sold 1", "COMMITTED reservations hold 0"]),
        "{problems:#?}"
    );
    assert!(
        mentions(&problems, &["order ord_ghost", &held, "RESERVED"]),
        "{problems:#?}"
    );
    assert!(
        mentions(&problems, &["order ord_ghost", "payment pi_ghost is missing"]),
        "{problems:#?}"
    );
    assert!(
        mentions(
            &problems,
            &["payment pi_orphan", "stepcart-pay-orphan", "0 confirmed orders"]
        ),
        "{problems:#?}"
    );
    assert!(
        mentions(&problems, &["reservation", &first.order_id, "does not exist"]),
        "{problems:#?}"
    );
    // The first checkout's payment lost its order too.
    assert!(
        mentions(&problems, &[&first.payment_id, "0 confirmed orders"]),
        "{problems:#?}"
    );
    assert_eq!(problems.len(), 8, "{problems:#?}");

    // Running executions are skipped, and payments can come from elsewhere (the simulated provider).
    let options = InvariantOptions {
        payments: Some(vec![PaymentRecord {
            payment_id: Some("pi_ghost".into()),
            idempotency_key: "k-ghost".into(),
            execution_name: "inv-3".into(),
            order_id: "ord_ghost".into(),
            amount: 100,
            currency: "EUR".into(),
            status: "succeeded".into(),
            captured: 100,
            refunded: 100,
            status_may_be_stale: false,
        }]),
        running: ["inv-orphan".to_owned()].into(),
    };
    let problems = store.check_invariants_with(&options).await.expect("check");
    assert!(
        mentions(
            &problems,
            &["order ord_ghost", "payment pi_ghost is succeeded", "refunded 100"]
        ),
        "{problems:#?}"
    );
    assert!(!mentions(&problems, &["pi_orphan"]), "{problems:#?}");
}
