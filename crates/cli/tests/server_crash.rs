//! Killing `stepcart serve` (SIGKILL) while 100 checkouts are in flight, several times, at random
//! transition points, then starting it again: every execution finishes, and nothing happened twice (no
//! second order, charge or reservation for a checkout; stock conserved; one terminal event each).
//!
//! The server runs with `STEPCART_FAULTS` delaying every task call by 150 ms, so that executions are
//! still in flight when it is killed; the last start runs without faults. The store is read directly
//! with rusqlite between runs (never while two processes could write it).
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "common/server.rs"]
mod server;

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use rusqlite::Connection;
use serde_json::{Value, json};
use server::{Server, get_checkout, post_checkout, post_webhook, repo_root, sign, stripe_event};

const DELAY_FAULTS: &str = r#"{"rules":[{"task":"*","kind":"delay","delayMs":150}]}"#;
const CHECKOUTS: usize = 100;
/// Kills after the first one, each after a random 100-400 ms of the restarted server's life.
const EXTRA_KILLS: usize = 3;
const FINISH_TIMEOUT: Duration = Duration::from_secs(60);
const ALLOWED_ERRORS: [&str; 4] = [
    "OutOfStock",
    "PaymentDeclined",
    "PaymentAuthenticationFailed",
    "InvalidCart",
];

/// `stepcart serve` on 127.0.0.1:0 over the store in `dir`, with `faults` as `STEPCART_FAULTS`; stderr
/// appended to `stepcart.server.log` there. Killed (SIGKILL) and reaped on drop.
fn serve(dir: &Path, faults: Option<&str>) -> Server {
    let env: Vec<(&str, &str)> = faults.map(|f| ("STEPCART_FAULTS", f)).into_iter().collect();
    Server::start(&dir.join("stepcart.db"), &env)
}

// -------------------------------------------------------------------------------------------- carts

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    /// A card that pays: SUCCEEDED, or OutOfStock once the SKU runs out.
    Pays,
    /// `pm_card_visa_chargeDeclined`: PaymentDeclined (or OutOfStock first).
    Declined,
    /// `pm_card_authenticationRequired`: waits for 3-D Secure, finished by a webhook.
    ThreeDSecure,
}

fn kind_of(i: usize) -> Kind {
    match i % 10 {
        3 => Kind::ThreeDSecure,
        7 => Kind::Declined,
        _ => Kind::Pays,
    }
}

/// The cart of checkout `i`: the example carts with varied quantities, so that some SKUs run out.
fn cart(i: usize) -> Value {
    let customer = json!({"id": format!("cus_crash_{i}"), "email": format!("crash{i}@example.com")});
    let q = 1 + (i % 3) as u64;
    match kind_of(i) {
        // examples/carts/three-d-secure.json
        Kind::ThreeDSecure => json!({
            "customer": customer, "currency": "EUR",
            "items": [{"sku": "TSHIRT-BLUE-L", "quantity": 1}, {"sku": "STICKER-PACK", "quantity": 4}],
            "discountCode": "FIVEOFF", "paymentMethod": "pm_card_authenticationRequired"
        }),
        // examples/carts/declined-card.json
        Kind::Declined => json!({
            "customer": customer, "currency": "EUR",
            "items": [{"sku": "HOODIE-GREY-M", "quantity": 1}, {"sku": "STICKER-PACK", "quantity": q}],
            "paymentMethod": "pm_card_visa_chargeDeclined"
        }),
        Kind::Pays => match i % 5 {
            // examples/carts/happy-path.json: 25 red T-shirts for about 32 asked, so some run out.
            0 => json!({
                "customer": customer, "currency": "EUR",
                "items": [{"sku": "TSHIRT-RED-M", "quantity": q}, {"sku": "MUG-BLACK", "quantity": 1}],
                "paymentMethod": "pm_card_visa",
                "shippingAddress": {"name": "Ada Lovelace", "line1": "1 Rue de Rivoli", "city": "Paris",
                                    "postalCode": "75001", "country": "FR"}
            }),
            // examples/carts/discount.json, on plentiful SKUs.
            1 => json!({
                "customer": customer, "currency": "EUR",
                "items": [{"sku": "MUG-BLACK", "quantity": 1}, {"sku": "STICKER-PACK", "quantity": q * 2}],
                "discountCode": "WELCOME10", "paymentMethod": "pm_card_visa"
            }),
            2 => json!({
                "customer": customer, "currency": "EUR",
                "items": [{"sku": "STICKER-PACK", "quantity": q * 3}],
                "discountCode": "WELCOME10", "paymentMethod": "pm_card_visa"
            }),
            // examples/carts/out-of-stock.json, asked by 5 for 3 posters.
            3 if i % 20 == 8 => json!({
                "customer": customer, "currency": "EUR",
                "items": [{"sku": "POSTER-LIMITED", "quantity": 1}, {"sku": "STICKER-PACK", "quantity": 1}],
                "paymentMethod": "pm_card_visa"
            }),
            3 => json!({
                "customer": customer, "currency": "EUR",
                "items": [{"sku": "STICKER-PACK", "quantity": q}],
                "paymentMethod": "pm_card_visa"
            }),
            // 25 blue T-shirts for 26 asked (with the 3-D Secure carts).
            _ => json!({
                "customer": customer, "currency": "EUR",
                "items": [{"sku": "TSHIRT-BLUE-L", "quantity": 1}, {"sku": "STICKER-PACK", "quantity": q * 5}],
                "discountCode": "FIVEOFF", "paymentMethod": "pm_card_visa"
            }),
        },
    }
}

fn name(i: usize) -> String {
    format!("crash-{i}")
}

// -------------------------------------------------------------------------------------------- store

fn open(dir: &Path) -> Connection {
    let conn = Connection::open(dir.join("stepcart.db")).expect("open the store");
    conn.busy_timeout(Duration::from_secs(10)).expect("busy timeout");
    conn
}

fn status_counts(conn: &Connection) -> BTreeMap<String, i64> {
    let mut stmt = conn
        .prepare("SELECT status, count(*) FROM executions GROUP BY status")
        .expect("prepare");
    stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
        .expect("query")
        .map(Result::unwrap)
        .collect()
}

/// The executions' status counts and how many history events the store holds: where a kill landed.
fn snapshot(dir: &Path) -> (BTreeMap<String, i64>, i64) {
    let conn = open(dir);
    (
        status_counts(&conn),
        count(&conn, "SELECT count(*) FROM execution_events"),
    )
}

fn running_names(conn: &Connection) -> BTreeSet<String> {
    let mut stmt = conn
        .prepare("SELECT name FROM executions WHERE status = 'RUNNING'")
        .expect("prepare");
    stmt.query_map([], |r| r.get(0))
        .expect("query")
        .map(Result::unwrap)
        .collect()
}

/// Rows of a query whose every column is read as text (NULL as "").
fn rows(conn: &Connection, sql: &str) -> Vec<Vec<String>> {
    let mut stmt = conn.prepare(sql).unwrap_or_else(|e| panic!("{sql}: {e}"));
    let columns = stmt.column_count();
    stmt.query_map([], |r| {
        (0..columns)
            .map(|c| {
                let v: rusqlite::types::Value = r.get(c)?;
                Ok(match v {
                    rusqlite::types::Value::Null => String::new(),
                    rusqlite::types::Value::Integer(n) => n.to_string(),
                    rusqlite::types::Value::Real(f) => f.to_string(),
                    rusqlite::types::Value::Text(t) => t,
                    rusqlite::types::Value::Blob(b) => format!("{b:?}"),
                })
            })
            .collect()
    })
    .unwrap_or_else(|e| panic!("{sql}: {e}"))
    .map(Result::unwrap)
    .collect()
}

fn count(conn: &Connection, sql: &str) -> i64 {
    conn.query_row(sql, [], |r| r.get(0))
        .unwrap_or_else(|e| panic!("{sql}: {e}"))
}

// --------------------------------------------------------------------------------------------- test

/// Starts checkout `i` for every index, all at once, under the name `name(i)`.
fn start_all(addr: &str, indices: impl Iterator<Item = usize>, name: fn(usize) -> String) {
    std::thread::scope(|scope| {
        let handles: Vec<_> = indices
            .map(|i| {
                scope.spawn(move || {
                    let key = name(i);
                    let response =
                        post_checkout(addr, Some(&key), &cart(i), None).unwrap_or_else(|e| panic!("{e}"));
                    let answer = response.json();
                    assert_eq!(response.status, 202, "POST /checkouts {key}: {answer}");
                    assert_eq!(answer["name"], key, "{answer}");
                })
            })
            .collect();
        for handle in handles {
            handle.join().expect("a start thread panicked");
        }
    });
}

fn webhook(addr: &str, event_id: &str, event_type: &str, payment_id: &str) -> (u16, Value) {
    try_webhook(addr, event_id, event_type, payment_id).unwrap_or_else(|e| panic!("{e}"))
}

/// A signed Stripe event about a PaymentIntent, as Stripe delivers it.
fn try_webhook(
    addr: &str,
    event_id: &str,
    event_type: &str,
    payment_id: &str,
) -> Result<(u16, Value), String> {
    let mut object = json!({"id": payment_id, "object": "payment_intent"});
    if event_type == "payment_intent.payment_failed" {
        object["last_payment_error"] = json!({"message": "The customer failed 3-D Secure (crash test)."});
    }
    let body = stripe_event(event_id, event_type, object);
    let response = post_webhook(addr, &body, Some(&sign(&body)))?;
    Ok((response.status, response.json()))
}

/// The payment checkout `name` waits on, once it waits for 3-D Secure: the payment asks for it
/// (`nextAction`) and the execution's task token is registered for it, so that a webhook resumes it
/// (rather than the wait task finding the outcome later).
fn waiting_payment(dir: &Path, addr: &str, name: &str) -> Option<String> {
    let response = get_checkout(addr, name).unwrap_or_else(|e| panic!("{e}"));
    let body = response.json();
    assert_eq!(response.status, 200, "GET /checkouts/{name}: {body}");
    let payment = body["nextAction"]["paymentId"].as_str()?;
    let registered: i64 = open(dir)
        .query_row(
            "SELECT count(*) FROM authentication_waits WHERE payment_id = ?1",
            [payment],
            |r| r.get(0),
        )
        .expect("authentication_waits");
    (registered == 1).then(|| payment.to_owned())
}

/// Polls until `done` holds, or fails after `timeout` with `what` and the running executions.
fn wait_until(dir: &Path, timeout: Duration, what: &str, mut done: impl FnMut(&BTreeSet<String>) -> bool) {
    let deadline = Instant::now() + timeout;
    loop {
        let running = running_names(&open(dir));
        if done(&running) {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "{what}: still RUNNING after {timeout:?}: {running:?}"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn sigkill_with_100_checkouts_in_flight_then_restarts_finish_every_one_exactly_once() {
    let began = Instant::now();
    let dir = std::env::temp_dir().join(format!("stepcart-serve-crash-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("temp dir");

    // 1. 100 checkouts at once, then SIGKILL mid-flight.
    let server = serve(&dir, Some(DELAY_FAULTS));
    start_all(&server.addr, 0..CHECKOUTS, name);
    let first_pause = rand::random_range(300..=600);
    std::thread::sleep(Duration::from_millis(first_pause));
    server.kill();
    let (counts, events) = snapshot(&dir);
    let total: i64 = counts.values().sum();
    assert_eq!(
        total, CHECKOUTS as i64,
        "every started checkout is persisted: {counts:?}"
    );
    let running = counts.get("RUNNING").copied().unwrap_or(0);
    assert!(
        running >= 50,
        "the first kill came too late to be mid-flight: {counts:?}"
    );
    let mut kills = vec![(first_pause, counts, events)];

    // 2. Restart on the same store (which resumes every RUNNING execution) and kill again, at random
    // points of their progress.
    for _ in 0..EXTRA_KILLS {
        let server = serve(&dir, Some(DELAY_FAULTS));
        let pause = rand::random_range(100..=400);
        std::thread::sleep(Duration::from_millis(pause));
        server.kill();
        let (counts, events) = snapshot(&dir);
        kills.push((pause, counts, events));
    }

    // 3. A last start without faults: everything but the 3-D Secure waits finishes; the webhooks
    // finish those (two of them with a failed authentication).
    let server = serve(&dir, None);
    let mut waiting: BTreeMap<String, String> = BTreeMap::new();
    wait_until(
        &dir,
        FINISH_TIMEOUT,
        "waiting for the 3-D Secure checkouts to ask",
        |running| {
            for name in running {
                if waiting.contains_key(name) {
                    continue;
                }
                if let Some(payment) = waiting_payment(&dir, &server.addr, name) {
                    waiting.insert(name.clone(), payment);
                }
            }
            running.iter().all(|n| waiting.contains_key(n))
        },
    );
    for name in waiting.keys() {
        let i: usize = name.trim_start_matches("crash-").parse().expect("index");
        assert_eq!(
            kind_of(i),
            Kind::ThreeDSecure,
            "{name} waits for 3-D Secure but is not a 3-D Secure cart"
        );
    }
    let failing: BTreeSet<String> = waiting.keys().take(2).cloned().collect();
    for (n, (name, payment)) in waiting.iter().enumerate() {
        let event_type = if failing.contains(name) {
            "payment_intent.payment_failed"
        } else {
            "payment_intent.succeeded"
        };
        let (status, answer) = webhook(
            &server.addr,
            &format!("evt_crash_{n}_{payment}"),
            event_type,
            payment,
        );
        assert_eq!(status, 200, "webhook for {name}: {answer}");
        assert_eq!(
            answer["resumed"], true,
            "webhook for {name} ({payment}): {answer}"
        );
    }
    wait_until(
        &dir,
        FINISH_TIMEOUT,
        "waiting for every checkout to end",
        BTreeSet::is_empty,
    );
    drop(server);

    // 4. Every execution ended as its cart allows, and nothing happened twice.
    let conn = open(&dir);
    let executions = rows(
        &conn,
        "SELECT name, status, error, cause, output FROM executions ORDER BY name",
    );
    assert_eq!(executions.len(), CHECKOUTS, "one execution per name");
    let mut outcomes: BTreeMap<String, usize> = BTreeMap::new();
    let mut succeeded = 0;
    for row in &executions {
        let (name, status, error, cause) = (&row[0], &row[1], &row[2], &row[3]);
        let i: usize = name.trim_start_matches("crash-").parse().expect("index");
        let outcome = if status == "SUCCEEDED" {
            status.clone()
        } else {
            format!("{status} {error}")
        };
        *outcomes.entry(outcome).or_default() += 1;
        match status.as_str() {
            "SUCCEEDED" => {
                succeeded += 1;
                assert!(
                    matches!(kind_of(i), Kind::Pays | Kind::ThreeDSecure) && !failing.contains(name),
                    "{name} ({:?}) SUCCEEDED",
                    kind_of(i)
                );
                let output: Value = serde_json::from_str(&row[4]).expect("output JSON");
                assert_eq!(output["status"], "CONFIRMED", "{name}: {output}");
            }
            "FAILED" => {
                assert!(
                    ALLOWED_ERRORS.contains(&error.as_str()),
                    "{name} FAILED {error}: {cause}"
                );
                let expected: &[&str] = match kind_of(i) {
                    _ if failing.contains(name) => &["PaymentAuthenticationFailed"],
                    Kind::Pays | Kind::ThreeDSecure => &["OutOfStock"],
                    Kind::Declined => &["OutOfStock", "PaymentDeclined"],
                };
                assert!(
                    expected.contains(&error.as_str()),
                    "{name} ({:?}) FAILED {error}: {cause}",
                    kind_of(i)
                );
            }
            other => panic!("{name} ended {other}: {error} {cause}"),
        }
    }

    // One terminal event per execution.
    let terminal = rows(
        &conn,
        "SELECT e.name, count(v.event_id) FROM executions e
           LEFT JOIN execution_events v ON v.execution_arn = e.execution_arn
                AND json_extract(v.json, '$.type') IN ('ExecutionSucceeded', 'ExecutionFailed',
                                                        'ExecutionAborted', 'ExecutionTimedOut')
          GROUP BY e.execution_arn HAVING count(v.event_id) <> 1",
    );
    assert!(
        terminal.is_empty(),
        "executions without exactly one terminal event: {terminal:?}"
    );

    // No second order, charge or reservation.
    let orders_twice = rows(
        &conn,
        "SELECT execution_name, count(*) FROM orders GROUP BY execution_name HAVING count(*) > 1",
    );
    assert!(
        orders_twice.is_empty(),
        "executions with several orders: {orders_twice:?}"
    );
    let confirmed = count(&conn, "SELECT count(*) FROM orders WHERE status = 'CONFIRMED'");
    assert_eq!(confirmed, succeeded, "CONFIRMED orders vs SUCCEEDED executions");
    let unmatched = rows(
        &conn,
        "SELECT e.name FROM executions e WHERE e.status = 'SUCCEEDED' AND NOT EXISTS
           (SELECT 1 FROM orders o WHERE o.execution_name = e.name AND o.status = 'CONFIRMED'
              AND o.order_id = json_extract(e.output, '$.orderId'))",
    );
    assert!(
        unmatched.is_empty(),
        "SUCCEEDED executions without their order: {unmatched:?}"
    );
    let charges_twice = rows(
        &conn,
        "SELECT execution_name, count(*) FROM sim_payment_intents GROUP BY execution_name HAVING count(*) > 1
         UNION ALL
         SELECT idempotency_key, count(*) FROM sim_payment_intents GROUP BY idempotency_key HAVING count(*) > 1",
    );
    assert!(
        charges_twice.is_empty(),
        "several payment intents for one checkout: {charges_twice:?}"
    );
    let kept_money = rows(
        &conn,
        "SELECT p.execution_name, p.status, p.captured, p.refunded FROM sim_payment_intents p
          WHERE p.captured > p.refunded
            AND NOT EXISTS (SELECT 1 FROM orders o WHERE o.payment_id = p.payment_id AND o.status = 'CONFIRMED')",
    );
    assert!(
        kept_money.is_empty(),
        "money captured without an order: {kept_money:?}"
    );
    let reservations_twice = rows(
        &conn,
        "SELECT execution_name, count(*) FROM reservations GROUP BY execution_name HAVING count(*) > 1
         UNION ALL
         SELECT reservation_id, count(*) FROM reservations GROUP BY reservation_id HAVING count(*) > 1",
    );
    assert!(
        reservations_twice.is_empty(),
        "several reservations for one checkout: {reservations_twice:?}"
    );
    let held = rows(
        &conn,
        "SELECT reservation_id, execution_name FROM reservations WHERE status = 'RESERVED'",
    );
    assert!(
        held.is_empty(),
        "reservations still held after every execution ended: {held:?}"
    );

    // Stock conserved: every SKU still has its seeded units, none reserved, and sold = what the
    // confirmed orders hold.
    let catalog: Value = serde_json::from_str(
        &std::fs::read_to_string(repo_root().join("examples/catalog.json")).expect("catalog"),
    )
    .expect("catalog JSON");
    for product in catalog["products"].as_array().expect("products") {
        let sku = product["sku"].as_str().expect("sku");
        let seeded = product["stock"].as_i64().expect("stock");
        let (stocked, available, reserved, sold): (i64, i64, i64, i64) = conn
            .query_row(
                "SELECT stocked, available, reserved, sold FROM stock WHERE sku = ?1",
                [sku],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
            )
            .expect("stock row");
        assert_eq!(stocked, seeded, "{sku}: stocked");
        assert_eq!(available + reserved + sold, seeded, "{sku}: not conserved");
        assert_eq!(reserved, 0, "{sku}: still reserved");
        let ordered: i64 = conn
            .query_row(
                "SELECT coalesce(sum(l.quantity), 0) FROM order_lines l JOIN orders o ON o.order_id = l.order_id
                  WHERE o.status = 'CONFIRMED' AND l.sku = ?1",
                [sku],
                |r| r.get(0),
            )
            .expect("ordered");
        assert_eq!(sold, ordered, "{sku}: sold vs ordered");
    }
    drop(conn);

    // The store's own checker agrees.
    let check = Command::new(env!("CARGO_BIN_EXE_stepcart"))
        .args(["check", "--json", "--db"])
        .arg(dir.join("stepcart.db"))
        .env_remove("STEPCART_DB")
        .output()
        .expect("stepcart check runs");
    assert!(
        check.status.success(),
        "stepcart check: {}\n{}",
        String::from_utf8_lossy(&check.stdout),
        String::from_utf8_lossy(&check.stderr)
    );

    let kills_text: Vec<String> = kills
        .iter()
        .map(|(pause, counts, events)| {
            format!(
                "{} RUNNING / {events} events after {pause} ms",
                counts.get("RUNNING").copied().unwrap_or(0)
            )
        })
        .collect();
    eprintln!(
        "server_crash: {CHECKOUTS} checkouts, {} SIGKILLs ({}); after the last restart {} 3-D Secure \
         webhooks ({} failed); outcomes {outcomes:?}; {confirmed} confirmed orders; {:.1} s",
        kills.len(),
        kills_text.join(", "),
        waiting.len(),
        failing.len(),
        began.elapsed().as_secs_f64()
    );
    let _ = std::fs::remove_dir_all(&dir);
}

/// Regression test for a bug this file found: a webhook delivery SIGKILLed after it claimed its event
/// but before finishing it left the event `processing`, and Stripe's retry after the restart was
/// answered `200 duplicate`, so Stripe stopped retrying while the checkout stayed parked on 3-D Secure.
/// Now a claim held by another delivery is answered 409 (Stripe retries) and the server releases the
/// claims of its dead predecessor at start. The kill lands 3 ms after 10 concurrent deliveries.
#[test]
fn a_webhook_retry_after_a_crash_mid_delivery_is_not_acknowledged_while_its_checkout_still_waits() {
    fn wh_name(i: usize) -> String {
        format!("wh-{i}")
    }
    let dir = std::env::temp_dir().join(format!("stepcart-serve-crash-webhook-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("temp dir");
    let server = serve(&dir, None);
    // Indices 3, 13, ... are the 3-D Secure carts.
    let indices: Vec<usize> = (0..10).map(|k| 3 + 10 * k).collect();
    assert!(indices.iter().all(|&i| kind_of(i) == Kind::ThreeDSecure));
    start_all(&server.addr, indices.iter().copied(), wh_name);
    let mut waiting: BTreeMap<String, String> = BTreeMap::new();
    let deadline = Instant::now() + Duration::from_secs(30);
    while waiting.len() < indices.len() {
        assert!(
            Instant::now() < deadline,
            "not every checkout waits for 3-D Secure: {waiting:?}"
        );
        for &i in &indices {
            if !waiting.contains_key(&wh_name(i))
                && let Some(payment) = waiting_payment(&dir, &server.addr, &wh_name(i))
            {
                waiting.insert(wh_name(i), payment);
            }
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let events: Vec<(String, String, String)> = waiting
        .iter()
        .map(|(name, payment)| (name.clone(), format!("evt_{name}_{payment}"), payment.clone()))
        .collect();
    let senders: Vec<_> = events
        .iter()
        .cloned()
        .map(|(_, id, payment)| {
            let addr = server.addr.clone();
            // A delivery cut by the kill is an error: Stripe sees a failed delivery and retries it.
            std::thread::spawn(move || try_webhook(&addr, &id, "payment_intent.succeeded", &payment))
        })
        .collect();
    std::thread::sleep(Duration::from_millis(3));
    server.kill();
    for sender in senders {
        let _ = sender.join();
    }

    // Stripe retries every delivery that failed (here: all of them, the same event ids).
    let server = serve(&dir, None);
    let mut acknowledged = Vec::new();
    for (name, id, payment) in &events {
        let (status, answer) = webhook(&server.addr, id, "payment_intent.succeeded", payment);
        if (200..300).contains(&status) {
            acknowledged.push((name.clone(), answer));
        }
    }
    let deadline = Instant::now() + Duration::from_secs(10);
    while Instant::now() < deadline && !running_names(&open(&dir)).is_empty() {
        std::thread::sleep(Duration::from_millis(100));
    }
    let running = running_names(&open(&dir));
    let parked: Vec<_> = acknowledged
        .iter()
        .filter(|(name, _)| running.contains(name))
        .collect();
    let claims = rows(
        &open(&dir),
        "SELECT event_id, state FROM webhook_events ORDER BY event_id",
    );
    drop(server);
    assert!(
        parked.is_empty(),
        "retries acknowledged 2xx while their checkout still waits 10 s later: {parked:?}\nwebhook_events: {claims:?}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}
