//! Flash sales on DynamoDB (moto) through the local server (`stepcart --backend aws serve`): many
//! concurrent `POST /checkouts` for too little stock. Exactly the stock is sold, never more; multi-SKU
//! carts that overlap in different orders all finish (no deadlock) and are all-or-nothing; a sharded hot
//! SKU sells exactly its stock; `stepcart --backend aws check` finds every invariant holding after each.
//! Each scenario prints one summary line on stderr (load, outcomes, seconds) for docs/reliability.md.
#![cfg(feature = "aws")]
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "../../aws/tests/moto.rs"]
mod moto;
#[path = "common/server.rs"]
mod server;

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use server::{Server, get_checkout, post_checkout, repo_root};
use stepcart_aws::{DynamoStore, TableNames};
use stepcart_domain::ids::CheckoutIds;
use stepcart_domain::inventory::ReservationStatus;
use stepcart_domain::ports::{Inventory, Orders};

const ENV: &str = "flash";
const THREADS: usize = 50;
/// How long one scenario may take before the test gives up on it (the issue asks for "no deadlock":
/// every checkout must have ended by then).
const SCENARIO_DEADLINE: Duration = Duration::from_secs(240);

/// `stepcart --db DB` against moto, in the `flash` environment.
fn stepcart_command(endpoint: &str, db: &Path) -> Command {
    let mut command = server::command();
    command
        .current_dir(repo_root())
        .arg("--db")
        .arg(db)
        .env("AWS_ENDPOINT_URL", endpoint)
        .env("AWS_ACCESS_KEY_ID", "test")
        .env("AWS_SECRET_ACCESS_KEY", "test")
        .env("AWS_REGION", "us-east-1")
        .env("STEPCART_ENV", ENV);
    command
}

fn stepcart(endpoint: &str, db: &Path, args: &[&str]) -> (i32, Value, String) {
    let out = stepcart_command(endpoint, db)
        .arg("--json")
        .args(args)
        .output()
        .expect("run stepcart");
    let stdout = String::from_utf8_lossy(&out.stdout).to_string();
    let stderr = String::from_utf8_lossy(&out.stderr).to_string();
    let json = serde_json::from_str(stdout.trim()).unwrap_or_else(|e| {
        panic!("stepcart {args:?}: stdout is not JSON ({e}):\n{stdout}\nstderr:\n{stderr}")
    });
    (out.status.code().unwrap_or(-1), json, stderr)
}

/// `stepcart --backend aws serve` on a free loopback port, killed when dropped.
fn serve(endpoint: &str, db: &Path, log: &Path) -> Server {
    let mut command = stepcart_command(endpoint, db);
    command
        .args(["--backend", "aws", "serve", "--addr", "127.0.0.1:0"])
        .env("RUST_LOG", "warn");
    Server::spawn(command, db, log)
}

/// Starts a checkout and returns how it ended: `(status, error)`. `Prefer: wait=30` answers once it
/// ended; a checkout still running then is polled with `GET /checkouts/{name}` until the deadline.
fn checkout(addr: &str, name: &str, cart: &Value, deadline: Instant) -> (String, String) {
    let response = post_checkout(addr, Some(name), cart, Some(30)).unwrap_or_else(|e| panic!("{e}"));
    let (code, mut answer) = (response.status, response.json());
    assert!(code == 200 || code == 202, "{name}: HTTP {code}: {answer}");
    while answer["status"].as_str().is_none_or(|s| s == "RUNNING") {
        assert!(
            Instant::now() < deadline,
            "{name} has not ended within the deadline: {answer}"
        );
        std::thread::sleep(Duration::from_millis(250));
        let response = get_checkout(addr, name).unwrap_or_else(|e| panic!("{e}"));
        let (code, again) = (response.status, response.json());
        assert_eq!(code, 200, "{name}: {again}");
        answer = again;
    }
    (
        answer["status"].as_str().unwrap_or_default().to_owned(),
        answer["error"].as_str().unwrap_or_default().to_owned(),
    )
}

/// Runs every `(name, cart)` from `THREADS` threads at once; outcomes in the same order.
fn burst(addr: &str, carts: Vec<(String, Value)>) -> (Vec<(String, String)>, f64) {
    let carts = Arc::new(carts);
    let next = Arc::new(AtomicUsize::new(0));
    let results = Arc::new(std::sync::Mutex::new(vec![
        (String::new(), String::new());
        carts.len()
    ]));
    let deadline = Instant::now() + SCENARIO_DEADLINE;
    let started = Instant::now();
    let threads: Vec<_> = (0..THREADS)
        .map(|_| {
            let (carts, next, results, addr) =
                (carts.clone(), next.clone(), results.clone(), addr.to_owned());
            std::thread::spawn(move || {
                loop {
                    let i = next.fetch_add(1, Ordering::SeqCst);
                    let Some((name, cart)) = carts.get(i) else { break };
                    let outcome = checkout(&addr, name, cart, deadline);
                    results.lock().unwrap()[i] = outcome;
                }
            })
        })
        .collect();
    for t in threads {
        t.join().expect("a client thread panicked");
    }
    let seconds = started.elapsed().as_secs_f64();
    let results = std::mem::take(&mut *results.lock().unwrap());
    (results, seconds)
}

fn cart(customer: usize, items: &[(&str, u32)]) -> Value {
    json!({
        "customer": {"id": format!("cus_{customer}"), "email": format!("buyer{customer}@example.com")},
        "currency": "EUR",
        "items": items.iter().map(|(sku, q)| json!({"sku": sku, "quantity": q})).collect::<Vec<_>>(),
        "paymentMethod": "pm_card_visa",
    })
}

fn count(results: &[(String, String)]) -> BTreeMap<String, usize> {
    let mut counts = BTreeMap::new();
    for (status, error) in results {
        let key = if error.is_empty() {
            status.clone()
        } else {
            format!("{status} {error}")
        };
        *counts.entry(key).or_insert(0) += 1;
    }
    counts
}

fn check_holds(endpoint: &str, db: &Path, scenario: &str) {
    let (code, report, stderr) = stepcart(endpoint, db, &["--backend", "aws", "check"]);
    assert_eq!(
        report["violations"],
        json!([]),
        "{scenario}: invariants on DynamoDB ({stderr})"
    );
    assert_eq!(code, 0, "{scenario}: stepcart check exit code");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn flash_sales_on_dynamodb_sell_exactly_the_stock() {
    let moto = moto::Moto::start();
    let dir = std::env::temp_dir().join(format!("stepcart-flash-dynamodb-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("temp dir");
    let db = dir.join("stepcart.db");
    let multi: [(&str, i64); 4] = [("MULTI-A", 40), ("MULTI-B", 30), ("MULTI-C", 25), ("MULTI-D", 35)];
    let mut products = vec![
        json!({"sku": "FLASH-1", "name": "Flash sale item", "price": 1000, "currency": "EUR", "stock": 100}),
        json!({"sku": "HOT-1", "name": "Hot item (sharded)", "price": 500, "currency": "EUR", "stock": 25}),
    ];
    for (sku, stock) in multi {
        products.push(json!({"sku": sku, "name": sku, "price": 250, "currency": "EUR", "stock": stock}));
    }
    let catalog = dir.join("catalog.json");
    std::fs::write(&catalog, json!({"products": products}).to_string()).expect("catalog");
    let (code, _, stderr) = stepcart(
        &moto.endpoint,
        &db,
        &["aws", "bootstrap", "--catalog", catalog.to_str().expect("utf-8")],
    );
    assert_eq!(code, 0, "bootstrap: {stderr}");

    // The hot SKU on 4 shards of 25 (bootstrap puts every SKU on one shard; an operator shards by hand).
    let clients = moto.clients().await;
    let store = DynamoStore::new(clients.dynamodb.clone(), TableNames::for_environment(ENV));
    let hot = stepcart_domain::catalog::Product::new(
        "HOT-1",
        "Hot item (sharded)",
        stepcart_domain::money::Money::new(500, stepcart_domain::money::Currency::parse("EUR").unwrap()),
        true,
    );
    store.put_product(&hot, 4).await.expect("hot product");
    store
        .put_stock("HOT-1", &[25, 25, 25, 25])
        .await
        .expect("hot shards");

    let server = serve(&moto.endpoint, &db, &dir.join("serve.log"));
    let addr = server.addr.clone();
    let level = |sku: &'static str| {
        let store = store.clone();
        async move {
            let levels = store.stock(&[sku.to_owned()]).await.expect("stock");
            let l = levels.first().expect("a stock level").clone();
            (l.available, l.reserved, l.sold)
        }
    };

    // 1. One SKU, 100 units, 1,000 buyers.
    let carts: Vec<_> = (0..1000)
        .map(|i| (format!("flash-{i:04}"), cart(i, &[("FLASH-1", 1)])))
        .collect();
    let a = addr.clone();
    let (results, seconds) = tokio::task::spawn_blocking(move || burst(&a, carts))
        .await
        .expect("burst");
    let counts = count(&results);
    eprintln!(
        "flash sale (DynamoDB on moto, local server): 1000 concurrent checkouts of FLASH-1 (stock 100) from {THREADS} threads: {counts:?} in {seconds:.1} s"
    );
    assert_eq!(counts.get("SUCCEEDED"), Some(&100), "{counts:?}");
    assert_eq!(counts.get("FAILED OutOfStock"), Some(&900), "{counts:?}");
    assert_eq!(
        level("FLASH-1").await,
        (0, 0, 100),
        "FLASH-1 available/reserved/sold"
    );
    check_holds(&moto.endpoint, &db, "flash sale");

    // 2. 200 multi-SKU carts of 2 or 3 overlapping SKUs listed in different orders, for too little
    // stock: every cart ends, whole or not at all.
    let mut seed: u64 = 0x5eed;
    let mut random = |bound: u64| {
        seed = seed
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        (seed >> 33) % bound
    };
    let mut lines_of: BTreeMap<String, Vec<(&str, u32)>> = BTreeMap::new();
    let mut carts = Vec::new();
    for i in 0..200 {
        let mut skus: Vec<&str> = multi.iter().map(|(sku, _)| *sku).collect();
        // A random order of the four SKUs; the cart takes the first 2 or 3.
        for k in (1..skus.len()).rev() {
            let j = usize::try_from(random(k as u64 + 1)).unwrap();
            skus.swap(k, j);
        }
        let take = 2 + usize::try_from(random(2)).unwrap();
        let lines: Vec<(&str, u32)> = skus[..take]
            .iter()
            .map(|sku| (*sku, 1 + u32::try_from(random(2)).unwrap()))
            .collect();
        let name = format!("multi-{i:03}");
        carts.push((name.clone(), cart(2000 + i, &lines)));
        lines_of.insert(name, lines);
    }
    let a = addr.clone();
    let names: Vec<String> = carts.iter().map(|(n, _)| n.clone()).collect();
    let (results, seconds) = tokio::task::spawn_blocking(move || burst(&a, carts))
        .await
        .expect("burst");
    let counts = count(&results);
    eprintln!(
        "multi-SKU carts (DynamoDB on moto, local server): 200 concurrent carts of 2-3 of 4 SKUs (stock 130 units) from {THREADS} threads: {counts:?} in {seconds:.1} s"
    );
    let mut sold: BTreeMap<&str, i64> = BTreeMap::new();
    for (name, (status, error)) in names.iter().zip(&results) {
        let lines = &lines_of[name];
        let ids = CheckoutIds::for_execution(name);
        let reservation = store.reservation(&ids.reservation_id).await.expect("reservation");
        match status.as_str() {
            "SUCCEEDED" => {
                let r = reservation.unwrap_or_else(|| panic!("{name} succeeded without a reservation"));
                assert_eq!(r.status, ReservationStatus::Committed, "{name}");
                let mut held: Vec<(String, u32)> =
                    r.items.iter().map(|l| (l.sku.clone(), l.quantity)).collect();
                let mut wanted: Vec<(String, u32)> =
                    lines.iter().map(|(s, q)| ((*s).to_owned(), *q)).collect();
                held.sort();
                wanted.sort();
                assert_eq!(held, wanted, "{name}: the reservation holds the whole cart");
                let order = store.order(&ids.order_id).await.expect("order");
                assert!(order.is_some(), "{name} succeeded without an order");
                for (sku, q) in lines {
                    *sold.entry(sku).or_insert(0) += i64::from(*q);
                }
            }
            "FAILED" => {
                assert_eq!(error, "OutOfStock", "{name}");
                assert!(
                    reservation
                        .as_ref()
                        .is_none_or(|r| r.status == ReservationStatus::Released),
                    "{name} failed but holds {reservation:?}"
                );
                assert!(
                    store.order(&ids.order_id).await.expect("order").is_none(),
                    "{name}"
                );
            }
            other => panic!("{name} ended {other}"),
        }
    }
    for (sku, stock) in multi {
        let (available, reserved, sold_units) = level(sku).await;
        let expected = sold.get(sku).copied().unwrap_or(0);
        assert_eq!(sold_units, expected, "{sku}: sold = the succeeded carts' units");
        assert_eq!(reserved, 0, "{sku}: nothing left reserved");
        assert_eq!(available + sold_units, stock, "{sku}: conserved");
    }
    let multi_succeeded = counts.get("SUCCEEDED").copied().unwrap_or(0);
    assert!(multi_succeeded > 0, "{counts:?}");
    assert!(
        counts.get("FAILED OutOfStock").copied().unwrap_or(0) > 0,
        "{counts:?}"
    );
    check_holds(&moto.endpoint, &db, "multi-SKU carts");

    // 3. A hot SKU on 4 shards: 100 units, 300 buyers.
    let carts: Vec<_> = (0..300)
        .map(|i| (format!("hot-{i:03}"), cart(5000 + i, &[("HOT-1", 1)])))
        .collect();
    let a = addr.clone();
    let (results, seconds) = tokio::task::spawn_blocking(move || burst(&a, carts))
        .await
        .expect("burst");
    let counts = count(&results);
    eprintln!(
        "sharded hot SKU (DynamoDB on moto, local server): 300 concurrent checkouts of HOT-1 (stock 100 on 4 shards) from {THREADS} threads: {counts:?} in {seconds:.1} s"
    );
    assert_eq!(counts.get("SUCCEEDED"), Some(&100), "{counts:?}");
    assert_eq!(counts.get("FAILED OutOfStock"), Some(&200), "{counts:?}");
    assert_eq!(level("HOT-1").await, (0, 0, 100), "HOT-1 available/reserved/sold");
    check_holds(&moto.endpoint, &db, "sharded hot SKU");

    // The checker really looks at the payments: against an embedded store that has none of them (the
    // simulated provider keeps its payments there), every order is reported unpaid, and check fails.
    let (code, report, _) = stepcart(
        &moto.endpoint,
        &dir.join("other.db"),
        &["--backend", "aws", "check"],
    );
    let unpaid = report["violations"]
        .as_array()
        .expect("violations")
        .iter()
        .filter(|v| {
            v.as_str()
                .is_some_and(|v| v.contains("is CONFIRMED but payment") && v.ends_with("is missing"))
        })
        .count();
    assert_eq!(unpaid, 200 + multi_succeeded, "{report}");
    assert_eq!(code, 1, "stepcart check exits 1 on violations");

    drop(server);
    let _ = std::fs::remove_dir_all(&dir);
}
