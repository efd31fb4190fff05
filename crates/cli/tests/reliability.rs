//! Reliability of the checkout saga through `stepcart serve` on the embedded SQLite store: a flash sale
//! and contended multi-SKU carts, idempotency (the same key at once, tasks that lose their answer after
//! their effect, replayed Stripe events), and a fault sweep over every task function and fault kind
//! (`STEPCART_FAULTS`). Each test prints a one-line summary to stderr for docs/reliability.md.

#[path = "common/server.rs"]
mod server;

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Barrier, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use rusqlite::{Connection, OpenFlags};
use serde_json::{Value, json};
use server::{Server, catalog, check, get_checkout, post_checkout, seed, send_webhook, temp_dir};

/// Errors a FAILED checkout may end with by design (interfaces.md).
const BUSINESS_ERRORS: &[&str] = &[
    "InvalidCart",
    "OutOfStock",
    "PaymentDeclined",
    "PaymentAuthenticationFailed",
    "OrderFailed",
];
/// The workflow's `CompensationFailed` Fail state.
const COMPENSATION_FAILED: &str = "Stepcart.CompensationFailed";

// ------------------------------------------------------------------------------------------ helpers

fn cart(customer: usize, items: &[(&str, i64)], payment_method: &str) -> Value {
    let items: Vec<Value> = items
        .iter()
        .map(|(sku, quantity)| json!({"sku": sku, "quantity": quantity}))
        .collect();
    json!({
        "customer": {"id": format!("cus_{customer}"), "email": format!("c{customer}@example.com")},
        "currency": "EUR",
        "items": items,
        "paymentMethod": payment_method,
    })
}

/// Starts the checkout `name` and follows it to its end: `Prefer: wait=30`, then `GET` until it is no
/// longer RUNNING. When it waits for 3-D Secure and `three_d_secure` says how it ends, the signed webhook
/// (event `evt_{name}`) is delivered, again until acknowledged. Returns the final description.
fn drive(
    addr: &str,
    name: &str,
    cart: &Value,
    three_d_secure: Option<bool>,
    timeout: Duration,
) -> Result<Value, String> {
    let started = Instant::now();
    let first = post_checkout(addr, Some(name), cart, Some(30))?;
    if first.status != 200 && first.status != 202 {
        return Err(format!("POST /checkouts {name}: {} {}", first.status, first.body));
    }
    let mut described = first.json();
    let mut acknowledged = false;
    loop {
        let status = described["status"].as_str().unwrap_or("");
        if !status.is_empty() && status != "RUNNING" {
            return Ok(described);
        }
        if let (Some(succeeded), Some(payment_id), false) = (
            three_d_secure,
            described["nextAction"]["paymentId"].as_str(),
            acknowledged,
        ) {
            let answer = send_webhook(addr, &format!("evt_{name}"), succeeded, payment_id)?;
            acknowledged = answer.status == 200;
        }
        if started.elapsed() > timeout {
            return Err(format!("{name} still RUNNING after {timeout:?}: {described}"));
        }
        thread::sleep(Duration::from_millis(250));
        let answer = get_checkout(addr, name)?;
        if answer.status != 200 {
            return Err(format!(
                "GET /checkouts/{name}: {} {}",
                answer.status, answer.body
            ));
        }
        described = answer.json();
    }
}

/// Runs `jobs` on `threads` threads, each job once; results in job order.
fn parallel<T: Send + 'static, J: Send + Sync + 'static>(
    jobs: Vec<J>,
    threads: usize,
    run: impl Fn(&J) -> T + Send + Sync + 'static,
) -> Vec<T> {
    let jobs = Arc::new(jobs);
    let run = Arc::new(run);
    let next = Arc::new(AtomicUsize::new(0));
    let results: Arc<Mutex<Vec<(usize, T)>>> = Arc::default();
    let handles: Vec<_> = (0..threads.min(jobs.len()).max(1))
        .map(|_| {
            let (jobs, run, next, results) = (jobs.clone(), run.clone(), next.clone(), results.clone());
            thread::spawn(move || {
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    let Some(job) = jobs.get(i) else { break };
                    let out = run(job);
                    results.lock().expect("results").push((i, out));
                }
            })
        })
        .collect();
    for handle in handles {
        handle.join().expect("worker thread");
    }
    let mut results = std::mem::take(&mut *results.lock().expect("results"));
    results.sort_by_key(|(i, _)| *i);
    results.into_iter().map(|(_, t)| t).collect()
}

fn open(db: &Path) -> Connection {
    let conn = Connection::open_with_flags(db, OpenFlags::SQLITE_OPEN_READ_ONLY).expect("open the store");
    conn.busy_timeout(Duration::from_secs(10)).expect("busy timeout");
    conn
}

fn count(conn: &Connection, sql: &str) -> i64 {
    conn.query_row(sql, [], |row| row.get(0))
        .unwrap_or_else(|e| panic!("{sql}: {e}"))
}

/// Rows of text columns.
fn rows(conn: &Connection, sql: &str) -> Vec<Vec<String>> {
    let mut stmt = conn.prepare(sql).unwrap_or_else(|e| panic!("{sql}: {e}"));
    let n = stmt.column_count();
    stmt.query_map([], |row| {
        (0..n)
            .map(|i| {
                Ok(match row.get_ref(i)? {
                    rusqlite::types::ValueRef::Null => "NULL".to_owned(),
                    rusqlite::types::ValueRef::Integer(v) => v.to_string(),
                    rusqlite::types::ValueRef::Real(v) => v.to_string(),
                    rusqlite::types::ValueRef::Text(t) | rusqlite::types::ValueRef::Blob(t) => {
                        String::from_utf8_lossy(t).into_owned()
                    }
                })
            })
            .collect::<Result<Vec<String>, _>>()
    })
    .expect("query")
    .collect::<Result<_, _>>()
    .expect("rows")
}

/// `status/error` of every execution, counted.
fn outcomes(conn: &Connection) -> BTreeMap<String, usize> {
    let mut counts = BTreeMap::new();
    for row in rows(conn, "SELECT status, COALESCE(error, '') FROM executions") {
        let key = if row[1].is_empty() {
            row[0].clone()
        } else {
            format!("{} {}", row[0], row[1])
        };
        *counts.entry(key).or_default() += 1;
    }
    counts
}

fn fmt_counts(counts: &BTreeMap<String, usize>) -> String {
    counts
        .iter()
        .map(|(k, v)| format!("{k} {v}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// What `stepcart check` cannot see because it does not know the executions' outcomes: nothing done
/// twice per execution, nothing left running, a confirmed order exactly for each SUCCEEDED checkout, no
/// money kept and no stock held by a FAILED one (unless it failed in compensation, for an operator).
fn saga_violations(conn: &Connection) -> Vec<String> {
    let checks: &[&str] = &[
        "SELECT 'execution ' || name || ' is still RUNNING' FROM executions WHERE status = 'RUNNING'",
        "SELECT 'execution ' || execution_name || ' has ' || COUNT(*) || ' reservations'
         FROM reservations WHERE execution_name <> '' GROUP BY execution_name HAVING COUNT(*) > 1",
        "SELECT 'execution ' || execution_name || ' has ' || COUNT(*) || ' payment intents'
         FROM sim_payment_intents GROUP BY execution_name HAVING COUNT(*) > 1",
        "SELECT 'execution ' || execution_name || ' has ' || COUNT(*) || ' orders'
         FROM orders GROUP BY execution_name HAVING COUNT(*) > 1",
        "SELECT 'execution ' || json_extract(detail, '$.executionName') || ' has ' || COUNT(*) || ' ' || kind
             || ' notifications'
         FROM notifications GROUP BY json_extract(detail, '$.executionName'), kind HAVING COUNT(*) > 1",
        "SELECT 'execution ' || e.name || ' SUCCEEDED with ' || COUNT(o.order_id) || ' confirmed orders'
         FROM executions e LEFT JOIN orders o ON o.execution_name = e.name AND o.status = 'CONFIRMED'
         WHERE e.status = 'SUCCEEDED' GROUP BY e.name HAVING COUNT(o.order_id) <> 1",
        "SELECT 'execution ' || e.name || ' FAILED (' || e.error || ') but order ' || o.order_id || ' is '
             || o.status
         FROM executions e JOIN orders o ON o.execution_name = e.name
         WHERE e.status = 'FAILED' AND o.status = 'CONFIRMED'",
        "SELECT 'execution ' || e.name || ' FAILED (' || e.error || ') but payment ' || p.payment_id || ' keeps '
             || (p.captured - p.refunded)
         FROM executions e JOIN sim_payment_intents p ON p.execution_name = e.name
         WHERE e.status = 'FAILED' AND p.captured > p.refunded",
        "SELECT 'execution ' || e.name || ' ' || e.status || ' (' || COALESCE(e.error, '') || ') but reservation '
             || r.reservation_id || ' is still RESERVED'
         FROM executions e JOIN reservations r ON r.execution_name = e.name
         WHERE e.status <> 'RUNNING' AND r.status = 'RESERVED'
           AND COALESCE(e.error, '') <> 'Stepcart.CompensationFailed'",
        "SELECT 'execution ' || e.name || ' SUCCEEDED but has no OrderConfirmed notification'
         FROM executions e WHERE e.status = 'SUCCEEDED' AND NOT EXISTS (
             SELECT 1 FROM notifications n WHERE json_extract(n.detail, '$.executionName') = e.name)
           AND NOT EXISTS (SELECT 1 FROM execution_events v WHERE v.execution_arn = e.execution_arn
                           AND v.json LIKE '%notificationError%')",
    ];
    checks
        .iter()
        .flat_map(|sql| rows(conn, sql))
        .map(|r| r.join(" "))
        .collect()
}

/// Tiny deterministic generator for cart shapes.
struct Lcg(u64);
impl Lcg {
    fn next(&mut self, n: u64) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        (self.0 >> 33) % n
    }
}

// ------------------------------------------------------------------------------- 1. flash sale

#[test]
fn flash_sale_sells_exactly_the_stock_and_contended_carts_finish_all_or_nothing() {
    let dir = temp_dir("reliability-flash");
    let db = dir.join("stepcart.db");
    let multi = ["K-A", "K-B", "K-C", "K-D", "K-E"];
    let mut products = vec![("FLASH-1", 1999, 100)];
    products.extend(multi.iter().map(|sku| (*sku, 1000, 40)));
    seed(&db, &catalog(&products));
    let mut server = Server::start(&db, &[]);
    let addr = server.addr.clone();

    // 1 000 buyers, one unit each, 100 in stock.
    let started = Instant::now();
    let threads = 64;
    let jobs: Vec<usize> = (0..1000).collect();
    let a = addr.clone();
    let results = parallel(jobs, threads, move |&i| {
        drive(
            &a,
            &format!("flash-{i}"),
            &cart(i, &[("FLASH-1", 1)], "pm_card_visa"),
            None,
            Duration::from_secs(120),
        )
    });
    let flash_secs = started.elapsed().as_secs_f64();
    let errors: Vec<&String> = results.iter().filter_map(|r| r.as_ref().err()).collect();
    assert!(
        errors.is_empty(),
        "{} checkouts did not finish: {:?}",
        errors.len(),
        &errors[..errors.len().min(5)]
    );
    let conn = open(&db);
    let counts = outcomes(&conn);
    eprintln!(
        "reliability: flash sale (sqlite, server): 1000 concurrent checkouts ({threads} client threads), 1 SKU x 100 in stock, qty 1, faults none -> {}; {flash_secs:.1} s",
        fmt_counts(&counts)
    );
    assert_eq!(counts.get("SUCCEEDED"), Some(&100), "{counts:?}");
    assert_eq!(counts.get("FAILED OutOfStock"), Some(&900), "{counts:?}");
    assert_eq!(counts.values().sum::<usize>(), 1000, "{counts:?}");
    assert_eq!(
        rows(
            &conn,
            "SELECT available, reserved, sold FROM stock WHERE sku = 'FLASH-1'"
        ),
        vec![vec!["0".to_owned(), "0".to_owned(), "100".to_owned()]]
    );
    assert_eq!(count(&conn, "SELECT COUNT(*) FROM orders"), 100);
    assert_eq!(count(&conn, "SELECT COUNT(*) FROM sim_payment_intents"), 100);
    assert_eq!(
        count(
            &conn,
            "SELECT COUNT(*) FROM reservations WHERE execution_name LIKE 'flash-%' AND status <> 'COMMITTED'"
        ),
        0,
        "an OutOfStock checkout reserved something"
    );
    assert_eq!(check(&db), Vec::<String>::new());
    assert_eq!(saga_violations(&conn), Vec::<String>::new());

    // Carts of 2-3 of five SKUs, in different orders, 40 of each in stock: far more demand than stock.
    let mut rng = Lcg(42);
    let carts: Vec<(String, Vec<(&str, i64)>)> = (0..400)
        .map(|i| {
            let mut skus: Vec<&str> = multi.to_vec();
            // A random permutation, then the first 2 or 3.
            for j in (1..skus.len()).rev() {
                let k = rng.next(j as u64 + 1) as usize;
                skus.swap(j, k);
            }
            let n = 2 + rng.next(2) as usize;
            let items = skus[..n]
                .iter()
                .map(|sku| (*sku, 1 + rng.next(2) as i64))
                .collect();
            (format!("multi-{i}"), items)
        })
        .collect();
    let started = Instant::now();
    let a = addr.clone();
    let jobs = carts.clone();
    let results = parallel(jobs, threads, move |(name, items)| {
        drive(
            &a,
            name,
            &cart(7, items, "pm_card_visa"),
            None,
            Duration::from_secs(120),
        )
    });
    let multi_secs = started.elapsed().as_secs_f64();
    let errors: Vec<&String> = results.iter().filter_map(|r| r.as_ref().err()).collect();
    assert!(
        errors.is_empty(),
        "{} carts did not finish: {:?}",
        errors.len(),
        &errors[..errors.len().min(5)]
    );
    let mut counts = BTreeMap::new();
    let mut sold: BTreeMap<&str, i64> = BTreeMap::new();
    for ((name, items), described) in carts.iter().zip(&results) {
        let described = described.as_ref().unwrap();
        let status = described["status"].as_str().unwrap_or_default();
        let error = described["error"].as_str().unwrap_or_default();
        *counts
            .entry(format!("{status} {error}").trim().to_owned())
            .or_insert(0) += 1;
        let committed = rows(
            &conn,
            &format!(
                "SELECT l.sku, l.quantity, r.status FROM reservations r JOIN reservation_lines l USING (reservation_id)
                 WHERE r.execution_name = '{name}' ORDER BY l.sku"
            ),
        );
        match (status, error) {
            ("SUCCEEDED", _) => {
                let mut expected: Vec<Vec<String>> = items
                    .iter()
                    .map(|(sku, q)| vec![(*sku).to_owned(), q.to_string(), "COMMITTED".to_owned()])
                    .collect();
                expected.sort();
                assert_eq!(
                    committed, expected,
                    "{name}: the order does not hold the whole cart"
                );
                let lines = rows(
                    &conn,
                    &format!(
                        "SELECT l.sku, l.quantity FROM orders o JOIN order_lines l USING (order_id)
                         WHERE o.execution_name = '{name}' ORDER BY l.sku"
                    ),
                );
                let expected: Vec<Vec<String>> = expected.iter().map(|r| r[..2].to_vec()).collect();
                assert_eq!(lines, expected, "{name}: order lines");
                for (sku, q) in items {
                    *sold.entry(sku).or_default() += q;
                }
            }
            ("FAILED", "OutOfStock") => {
                assert!(
                    committed.iter().all(|r| r[2] == "RELEASED"),
                    "{name}: OutOfStock but holds {committed:?}"
                );
            }
            other => panic!("{name}: unexpected outcome {other:?}: {described}"),
        }
    }
    for sku in multi {
        let got = rows(
            &conn,
            &format!("SELECT available, reserved, sold FROM stock WHERE sku = '{sku}'"),
        );
        let s = sold.get(sku).copied().unwrap_or(0);
        assert_eq!(
            got,
            vec![vec![(40 - s).to_string(), "0".to_owned(), s.to_string()]],
            "{sku}"
        );
    }
    let leftover: i64 = multi
        .iter()
        .map(|sku| 40 - sold.get(sku).copied().unwrap_or(0))
        .sum();
    eprintln!(
        "reliability: contended carts (sqlite, server): 400 concurrent carts of 2-3 of 5 SKUs in random order, qty 1-2, 40 each in stock ({threads} client threads), faults none -> {}; units sold {:?}, left {leftover}; all-or-nothing held, no deadlock; {multi_secs:.1} s",
        fmt_counts(&counts),
        sold
    );
    assert!(counts.get("SUCCEEDED").copied().unwrap_or(0) > 0, "{counts:?}");
    assert!(
        counts.get("FAILED OutOfStock").copied().unwrap_or(0) > 0,
        "{counts:?}"
    );
    assert_eq!(check(&db), Vec::<String>::new());
    assert_eq!(saga_violations(&conn), Vec::<String>::new());
    drop(conn);
    server.stop();
}

// ------------------------------------------------------------------------------- 2. idempotency

#[test]
fn the_same_idempotency_key_fifty_times_at_once_makes_one_checkout() {
    let dir = temp_dir("reliability-samekey");
    let db = dir.join("stepcart.db");
    seed(&db, &catalog(&[("A", 1500, 100)]));
    let server = Server::start(&db, &[]);
    let started = Instant::now();
    let body = cart(1, &[("A", 2)], "pm_card_visa");
    let barrier = Arc::new(Barrier::new(50));
    let handles: Vec<_> = (0..50)
        .map(|_| {
            let (addr, body, barrier) = (server.addr.clone(), body.clone(), barrier.clone());
            thread::spawn(move || {
                barrier.wait();
                post_checkout(&addr, Some("same-key-1"), &body, Some(30))
            })
        })
        .collect();
    let mut statuses = BTreeMap::new();
    for handle in handles {
        let answer = handle.join().unwrap().expect("POST /checkouts");
        assert!(
            matches!(answer.status, 200 | 202),
            "{} {}",
            answer.status,
            answer.body
        );
        let json = answer.json();
        assert_eq!(json["name"], "same-key-1", "{json}");
        let label = if json["existing"] == true {
            format!("{} existing", answer.status)
        } else {
            format!(
                "{} {}",
                answer.status,
                json["status"].as_str().unwrap_or("started")
            )
        };
        *statuses.entry(label).or_insert(0) += 1;
    }
    let described = drive(&server.addr, "same-key-1", &body, None, Duration::from_secs(60)).unwrap();
    assert_eq!(described["status"], "SUCCEEDED", "{described}");
    let conn = open(&db);
    for (table, n) in [
        ("executions", 1),
        ("orders", 1),
        ("sim_payment_intents", 1),
        ("reservations", 1),
        ("notifications", 1),
        ("sim_refunds", 0),
    ] {
        assert_eq!(
            count(&conn, &format!("SELECT COUNT(*) FROM {table}")),
            n,
            "{table}"
        );
    }
    assert_eq!(
        rows(&conn, "SELECT sold FROM stock WHERE sku = 'A'"),
        vec![vec!["2".to_owned()]]
    );
    assert_eq!(check(&db), Vec::<String>::new());
    assert_eq!(saga_violations(&conn), Vec::<String>::new());
    eprintln!(
        "reliability: same Idempotency-Key x50 concurrently (sqlite, server), faults none -> answers {}; 1 execution, 1 reservation, 1 payment, 1 order, 1 notification; {:.1} s",
        fmt_counts(&statuses),
        started.elapsed().as_secs_f64()
    );
}

#[test]
fn a_task_that_loses_its_answer_after_its_effect_does_nothing_twice() {
    let started = Instant::now();
    let tasks = [
        "reserve-stock",
        "authorize-payment",
        "create-order",
        "notify-customer",
    ];
    let summaries = parallel(tasks.to_vec(), tasks.len(), |task| {
        let dir = temp_dir(&format!("reliability-aftereffect-{task}"));
        let db = dir.join("stepcart.db");
        seed(&db, &catalog(&[("A", 1500, 1000), ("B", 999, 1000)]));
        // Every call is hit with probability 0.3: most retries find the first effect; a checkout whose
        // four attempts all lose their answer fails through the workflow's Catch.
        let faults =
            format!(r#"{{"seed": 11, "rules": [{{"task": "{task}", "kind": "afterEffect", "rate": 0.3}}]}}"#);
        let mut server = Server::start(&db, &[("STEPCART_FAULTS", faults.as_str())]);
        let addr = server.addr.clone();
        let jobs: Vec<usize> = (0..16).collect();
        let results = parallel(jobs, 16, move |&i| {
            let (pm, tds) = if i % 4 == 3 {
                ("pm_card_authenticationRequired", Some(true))
            } else {
                ("pm_card_visa", None)
            };
            drive(
                &addr,
                &format!("ae-{i}"),
                &cart(i, &[("A", 1), ("B", 2)], pm),
                tds,
                Duration::from_secs(150),
            )
        });
        server.stop();
        let conn = open(&db);
        let errors: Vec<String> = results.into_iter().filter_map(Result::err).collect();
        let hits = count(
            &conn,
            "SELECT COUNT(*) FROM execution_events WHERE json LIKE '%answer was lost%'",
        );
        let mut problems: Vec<String> = errors;
        problems.extend(check(&db).into_iter().map(|v| format!("stepcart check: {v}")));
        problems.extend(saga_violations(&conn));
        (task.to_owned(), outcomes(&conn), hits, problems)
    });
    let mut all_problems = Vec::new();
    for (task, counts, hits, problems) in &summaries {
        eprintln!(
            "reliability: afterEffect on {task} (rate 0.3, seed 11), 16 concurrent checkouts (4 with 3-D Secure) -> {}; {hits} answers lost; duplicates none{}",
            fmt_counts(counts),
            if problems.is_empty() {
                String::new()
            } else {
                format!("; PROBLEMS {problems:?}")
            }
        );
        assert!(*hits > 0, "{task}: the fault never fired");
        all_problems.extend(problems.iter().map(|p| format!("{task}: {p}")));
    }
    eprintln!(
        "reliability: afterEffect idempotency, 4 tasks x 16 checkouts; {:.1} s",
        started.elapsed().as_secs_f64()
    );
    assert!(all_problems.is_empty(), "{all_problems:#?}");
}

/// Everything a replayed event could change.
fn snapshot(conn: &Connection) -> Vec<Vec<String>> {
    [
        "SELECT execution_arn, status, COALESCE(error, ''), (SELECT COUNT(*) FROM execution_events v
             WHERE v.execution_arn = e.execution_arn) FROM executions e ORDER BY 1",
        "SELECT order_id, status FROM orders ORDER BY 1",
        "SELECT payment_id, status, captured, refunded FROM sim_payment_intents ORDER BY 1",
        "SELECT COUNT(*) FROM sim_refunds",
        "SELECT COUNT(*) FROM notifications",
        "SELECT sku, available, reserved, sold FROM stock ORDER BY 1",
    ]
    .iter()
    .flat_map(|sql| rows(conn, sql))
    .collect()
}

fn wait_for_payment(addr: &str, name: &str) -> String {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let described = get_checkout(addr, name).expect("GET /checkouts").json();
        if let Some(payment) = described["nextAction"]["paymentId"].as_str() {
            return payment.to_owned();
        }
        assert!(
            Instant::now() < deadline,
            "{name} never asked for 3-D Secure: {described}"
        );
        thread::sleep(Duration::from_millis(50));
    }
}

fn wait_until_closed(addr: &str, name: &str) -> Value {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let described = get_checkout(addr, name).expect("GET /checkouts").json();
        if described["status"] != "RUNNING" {
            return described;
        }
        assert!(Instant::now() < deadline, "{name} never finished: {described}");
        thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn a_replayed_stripe_event_resumes_the_checkout_once_and_changes_nothing_after() {
    let started = Instant::now();
    let dir = temp_dir("reliability-webhook");
    let db = dir.join("stepcart.db");
    seed(&db, &catalog(&[("A", 1500, 100)]));
    let server = Server::start(&db, &[]);
    let addr = server.addr.clone();
    let body = |i| cart(i, &[("A", 1)], "pm_card_authenticationRequired");

    // Sequential replays.
    let answer = post_checkout(&addr, Some("tds-seq"), &body(1), None).unwrap();
    assert_eq!(answer.status, 202, "{}", answer.body);
    let payment = wait_for_payment(&addr, "tds-seq");
    let answers: Vec<Value> = (0..3)
        .map(|_| {
            let a = send_webhook(&addr, "evt_seq", true, &payment).unwrap();
            assert_eq!(a.status, 200, "{}", a.body);
            a.json()
        })
        .collect();
    assert_eq!(answers[0]["resumed"], true, "{answers:?}");
    assert!(answers[1..].iter().all(|a| a["duplicate"] == true), "{answers:?}");
    assert_eq!(wait_until_closed(&addr, "tds-seq")["status"], "SUCCEEDED");

    // Concurrent replays.
    let answer = post_checkout(&addr, Some("tds-par"), &body(2), None).unwrap();
    assert_eq!(answer.status, 202, "{}", answer.body);
    let payment_par = wait_for_payment(&addr, "tds-par");
    let barrier = Arc::new(Barrier::new(3));
    let handles: Vec<_> = (0..3)
        .map(|_| {
            let (addr, payment, barrier) = (addr.clone(), payment_par.clone(), barrier.clone());
            thread::spawn(move || {
                barrier.wait();
                send_webhook(&addr, "evt_par", true, &payment).unwrap()
            })
        })
        .collect();
    let answers: Vec<(u16, Value)> = handles
        .into_iter()
        .map(|h| {
            let a = h.join().unwrap();
            (a.status, a.json())
        })
        .collect();
    let resumed = answers
        .iter()
        .filter(|(s, a)| *s == 200 && a["resumed"] == true)
        .count();
    // The others: acknowledged as duplicates, or 409 while the first delivery is being handled (Stripe
    // then retries, and the retry is a duplicate).
    let others_ok = answers
        .iter()
        .all(|(s, a)| (*s == 200 && (a["resumed"] == true || a["duplicate"] == true)) || *s == 409);
    assert!(resumed == 1 && others_ok, "{answers:?}");
    assert_eq!(wait_until_closed(&addr, "tds-par")["status"], "SUCCEEDED");
    let retried = answers.iter().filter(|(s, _)| *s == 409).count();
    for _ in 0..retried {
        let a = send_webhook(&addr, "evt_par", true, &payment_par).unwrap();
        assert_eq!(
            (a.status, a.json()["duplicate"].clone()),
            (200, json!(true)),
            "{}",
            a.body
        );
    }
    let concurrent: Vec<u16> = answers.iter().map(|(s, _)| *s).collect();

    // After the fact: the same events again, a new event for the same payments, and a contradicting
    // failure event: nothing moves.
    let conn = open(&db);
    let before = snapshot(&conn);
    assert_eq!(count(&conn, "SELECT COUNT(*) FROM orders"), 2);
    let mut late = Vec::new();
    for (event, succeeded, payment) in [
        ("evt_seq", true, &payment),
        ("evt_par", true, &payment_par),
        ("evt_seq_again", true, &payment),
        ("evt_par_failed", false, &payment_par),
    ] {
        let a = send_webhook(&addr, event, succeeded, payment).unwrap();
        // A replay of a handled event must be acknowledged as a duplicate. A *new* event for a payment
        // whose checkout has moved on is currently answered 500 ("Task Timed Out") and its claim given
        // back, so Stripe would keep retrying it: recorded in the summary, not asserted here.
        if event == "evt_seq" || event == "evt_par" {
            assert_eq!(
                (a.status, a.json()["duplicate"].clone()),
                (200, json!(true)),
                "{event}: {}",
                a.body
            );
        }
        assert!(
            a.json()["resumed"] != true,
            "{event} resumed a closed checkout: {}",
            a.body
        );
        late.push(format!("{event} {}", a.status));
    }
    thread::sleep(Duration::from_millis(300));
    assert_eq!(snapshot(&conn), before, "a replayed event changed the store");
    assert_eq!(check(&db), Vec::<String>::new());
    assert_eq!(saga_violations(&conn), Vec::<String>::new());
    eprintln!(
        "reliability: replayed Stripe events (sqlite, server): 2 3-D Secure checkouts, one event x3 sequentially, one x3 concurrently (answers {concurrent:?}, 409s retried -> duplicate), then replays and new/contradicting events after completion (answers {late:?}) -> 2 SUCCEEDED, each resumed once, 2 orders, store unchanged after; {:.1} s",
        started.elapsed().as_secs_f64()
    );
}

// ------------------------------------------------------------------------------- 3. fault sweep

const SWEEP_TASKS: &[&str] = &[
    "validate-cart",
    "reserve-stock",
    "price-order",
    "authorize-payment",
    "await-payment-authentication",
    "create-order",
    "notify-customer",
    "release-stock",
    "refund-payment",
];
const SWEEP_KINDS: &[&str] = &["transient", "permanent", "timeout", "afterEffect"];
const SWEEP_RATE: f64 = 0.5;
const SWEEP_CHECKOUTS: usize = 20;

/// The error name the injected fault of `kind` reports.
fn injected_error(kind: &str) -> &'static str {
    match kind {
        "permanent" => "Stepcart.InjectedFault",
        "timeout" => "States.Timeout",
        _ => "Lambda.ServiceException",
    }
}

/// The sweep's mix: happy carts, a declined card, 3-D Secure that succeeds or fails (by a signed
/// webhook), out of stock, an unknown SKU.
fn sweep_cart(i: usize) -> (Value, Option<bool>) {
    match i % 10 {
        4 => (cart(i, &[("A", 1)], "pm_card_visa_chargeDeclined"), None),
        5 => (
            cart(i, &[("A", 1), ("B", 1)], "pm_card_authenticationRequired"),
            Some(true),
        ),
        6 => (
            cart(i, &[("B", 2)], "pm_card_authenticationRequired"),
            Some(false),
        ),
        7 => (cart(i, &[("A", 1), ("LTD", 5)], "pm_card_visa"), None),
        8 => (cart(i, &[("NOPE-1", 1)], "pm_card_visa"), None),
        9 => (cart(i, &[("B", 1), ("A", 2)], "pm_card_visa"), None),
        _ => (cart(i, &[("A", 1), ("B", 2)], "pm_card_visa"), None),
    }
}

struct Sweep {
    task: String,
    kind: String,
    outcomes: BTreeMap<String, usize>,
    hits: i64,
    problems: Vec<String>,
    /// Violations explained by a Stepcart.CompensationFailed execution (left for an operator).
    operator: Vec<String>,
    secs: f64,
}

fn run_sweep(index: usize, task: &str, kind: &str) -> Sweep {
    let started = Instant::now();
    let dir = temp_dir(&format!("reliability-sweep-{task}-{kind}"));
    let db = dir.join("stepcart.db");
    seed(
        &db,
        &catalog(&[("A", 1500, 10_000), ("B", 999, 10_000), ("LTD", 2500, 3)]),
    );
    let mut rules = vec![json!({"task": task, "kind": kind, "rate": SWEEP_RATE})];
    if matches!(task, "release-stock" | "refund-payment") {
        // The compensations run only when something fails after payment: make create-order fail too.
        rules.push(json!({"task": "create-order", "kind": "permanent", "rate": 0.5}));
    }
    let faults = json!({"seed": index as u64 + 1, "rules": rules}).to_string();
    let mut server = Server::start(&db, &[("STEPCART_FAULTS", faults.as_str())]);
    let addr = server.addr.clone();
    let jobs: Vec<usize> = (0..SWEEP_CHECKOUTS).collect();
    let results = parallel(jobs, SWEEP_CHECKOUTS, move |&i| {
        let (body, tds) = sweep_cart(i);
        drive(&addr, &format!("sweep-{i}"), &body, tds, Duration::from_secs(200))
    });
    server.stop();
    let conn = open(&db);
    let mut problems: Vec<String> = results.into_iter().filter_map(Result::err).collect();
    let outcomes = outcomes(&conn);
    let mut allowed: BTreeSet<&str> = BUSINESS_ERRORS.iter().copied().collect();
    allowed.insert(COMPENSATION_FAILED);
    allowed.insert(injected_error(kind));
    if matches!(task, "release-stock" | "refund-payment") {
        allowed.insert("Stepcart.InjectedFault");
    }
    for outcome in outcomes.keys() {
        if let Some(error) = outcome.strip_prefix("FAILED ")
            && !allowed.contains(error)
        {
            problems.push(format!("undocumented error {error}"));
        }
        if !(outcome == "SUCCEEDED" || outcome.starts_with("FAILED ")) {
            problems.push(format!("execution ended {outcome}"));
        }
    }
    // A checkout that failed in compensation (Stepcart.CompensationFailed) is left for an operator by
    // design: money or stock it still holds is reported, not counted as a broken invariant.
    let compensation_failed: BTreeSet<String> = rows(
        &conn,
        "SELECT p.payment_id FROM sim_payment_intents p JOIN executions e ON e.name = p.execution_name
         WHERE e.error = 'Stepcart.CompensationFailed'",
    )
    .into_iter()
    .map(|r| r[0].clone())
    .collect();
    let mut operator = Vec::new();
    let violations = check(&db)
        .into_iter()
        .map(|v| format!("stepcart check: {v}"))
        .chain(saga_violations(&conn));
    for v in violations {
        let explained = v.contains("(Stepcart.CompensationFailed)")
            || compensation_failed
                .iter()
                .any(|p| v.contains(&format!("payment {p} ")));
        if explained {
            operator.push(v);
        } else {
            problems.push(v);
        }
    }
    let hits = count(
        &conn,
        "SELECT COUNT(*) FROM execution_events WHERE json LIKE '%injected fault%'",
    );
    Sweep {
        task: task.to_owned(),
        kind: kind.to_owned(),
        outcomes,
        hits,
        problems,
        operator,
        secs: started.elapsed().as_secs_f64(),
    }
}

#[test]
fn fault_sweep_over_every_task_and_kind_keeps_the_books_balanced() {
    let started = Instant::now();
    let specs: Vec<(usize, &str, &str)> = SWEEP_TASKS
        .iter()
        .flat_map(|t| SWEEP_KINDS.iter().map(move |k| (*t, *k)))
        .enumerate()
        .map(|(i, (t, k))| (i, t, k))
        .collect();
    let sweeps = parallel(specs, 12, |(i, task, kind)| run_sweep(*i, task, kind));
    let mut problems = Vec::new();
    for s in &sweeps {
        eprintln!(
            "reliability: sweep {}/{} rate {SWEEP_RATE} x {SWEEP_CHECKOUTS} checkouts{} -> {}; {} faults injected; {:.1} s{}{}",
            s.task,
            s.kind,
            if matches!(s.task.as_str(), "release-stock" | "refund-payment") {
                " (+ create-order permanent 0.5)"
            } else {
                ""
            },
            fmt_counts(&s.outcomes),
            s.hits,
            s.secs,
            if s.problems.is_empty() {
                String::new()
            } else {
                format!("; PROBLEMS {:?}", s.problems)
            },
            if s.operator.is_empty() {
                String::new()
            } else {
                format!(
                    "; left for an operator by CompensationFailed: {} violations, e.g. {}",
                    s.operator.len(),
                    s.operator[0]
                )
            }
        );
        problems.extend(s.problems.iter().map(|p| format!("{}/{}: {p}", s.task, s.kind)));
    }
    eprintln!(
        "reliability: fault sweep, {} tasks x {} kinds x {SWEEP_CHECKOUTS} checkouts (12 servers at a time); {:.1} s",
        SWEEP_TASKS.len(),
        SWEEP_KINDS.len(),
        started.elapsed().as_secs_f64()
    );
    assert!(problems.is_empty(), "{problems:#?}");
}

// ------------------------------------------------------------------------------- known bug, minimal

/// Minimal reproduction: create-order writes the order (reservation COMMITTED, stock sold), then its
/// answer is lost on every attempt, so the workflow's Catch goes to OrderNotPlaced -> RefundPayment ->
/// ReleaseStock: the execution FAILS with OrderFailed and the payment is refunded in full, yet the
/// order stays CONFIRMED and the stock sold.
#[test]
fn create_order_losing_every_answer_leaves_no_confirmed_order_behind_a_refund() {
    let dir = temp_dir("reliability-create-order-lost");
    let db = dir.join("stepcart.db");
    seed(&db, &catalog(&[("A", 1500, 10)]));
    let faults = r#"{"rules": [{"task": "create-order", "kind": "afterEffect"}]}"#;
    let mut server = Server::start(&db, &[("STEPCART_FAULTS", faults)]);
    let described = drive(
        &server.addr,
        "lost-1",
        &cart(1, &[("A", 1)], "pm_card_visa"),
        None,
        Duration::from_secs(120),
    )
    .unwrap();
    server.stop();
    let conn = open(&db);
    let mut problems = check(&db);
    problems.extend(saga_violations(&conn));
    eprintln!(
        "reliability: create-order afterEffect rate 1 -> {} {}; violations {problems:?}",
        described["status"], described["error"]
    );
    assert_eq!(problems, Vec::<String>::new(), "execution {described}");
}
