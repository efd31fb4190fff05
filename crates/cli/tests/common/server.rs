//! Shared by the server tests: `stepcart serve` on 127.0.0.1:0 over a fresh store (killed on drop), the
//! CLI commands around it (`seed`, `check`), and a tiny HTTP/1.1 client over `std::net::TcpStream`
//! (`Connection: close`, chunked or content-length bodies). Use it with
//! `#[path = "common/server.rs"] mod server;`.
#![allow(dead_code)]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde_json::{Value, json};

/// The webhook signing secret every server started here accepts.
pub const WEBHOOK_SECRET: &str = "whsec_test";

/// Environment variables of stepcart that must not leak from the developer's shell into a test.
const STEPCART_ENV: &[&str] = &[
    "STEPCART_API_KEY",
    "STEPCART_DB",
    "STEPCART_BACKEND",
    "STEPCART_PAYMENT",
    "STEPCART_FAULTS",
    "STRIPE_WEBHOOK_SECRET",
];

pub fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// A new, empty directory under Cargo's per-test temporary directory.
pub fn temp_dir(label: &str) -> PathBuf {
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!(
        "{label}-{}-{nanos}-{}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    ));
    std::fs::create_dir_all(&dir).expect("create the test directory");
    dir
}

fn command() -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_stepcart"));
    for var in STEPCART_ENV {
        command.env_remove(var);
    }
    command.stdin(Stdio::null());
    command
}

/// `stepcart ARGS --db DB`, waited for.
pub fn stepcart(db: &Path, args: &[&str]) -> Output {
    command()
        .args(args)
        .arg("--db")
        .arg(db)
        .output()
        .expect("run stepcart")
}

/// `stepcart seed --catalog FILE --db DB` with `catalog` written next to the store.
pub fn seed(db: &Path, catalog: &Value) {
    let file = db.with_extension("catalog.json");
    std::fs::write(&file, catalog.to_string()).expect("write the catalog");
    let out = stepcart(db, &["seed", "--catalog", file.to_str().expect("utf-8 path")]);
    assert!(
        out.status.success(),
        "stepcart seed failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A catalog of `(sku, price, stock)` in EUR, all active, no discounts.
pub fn catalog(products: &[(&str, i64, i64)]) -> Value {
    let products: Vec<Value> = products
        .iter()
        .map(|(sku, price, stock)| {
            json!({"sku": sku, "name": format!("Product {sku}"), "price": price, "currency": "EUR",
                   "stock": stock, "active": true})
        })
        .collect();
    json!({"products": products, "discounts": []})
}

/// `stepcart check --db DB --json`: the violations (empty when the invariants hold).
pub fn check(db: &Path) -> Vec<String> {
    let out = stepcart(db, &["check", "--json"]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    let parsed: Value = serde_json::from_str(stdout.trim()).unwrap_or_else(|e| {
        panic!(
            "stepcart check printed no JSON ({e}): {stdout}\n{}",
            String::from_utf8_lossy(&out.stderr)
        )
    });
    let violations: Vec<String> = parsed["violations"]
        .as_array()
        .expect("violations array")
        .iter()
        .map(|v| v.as_str().map_or_else(|| v.to_string(), str::to_owned))
        .collect();
    assert_eq!(
        out.status.success(),
        violations.is_empty(),
        "stepcart check exit status {:?} disagrees with {violations:?}",
        out.status
    );
    violations
}

/// `stepcart serve --addr 127.0.0.1:0 --db DB --stripe-webhook-secret whsec_test`, with `env` set (e.g.
/// `STEPCART_FAULTS`); stderr goes to `DB.server.log`. Killed and reaped on drop.
pub struct Server {
    child: Child,
    pub addr: String,
    pub db: PathBuf,
    log: PathBuf,
}

impl Server {
    pub fn start(db: &Path, env: &[(&str, &str)]) -> Server {
        let log = db.with_extension("server.log");
        let log_file = std::fs::File::options()
            .create(true)
            .append(true)
            .open(&log)
            .expect("server log");
        let mut command = command();
        command
            .arg("serve")
            .args(["--addr", "127.0.0.1:0"])
            .args(["--stripe-webhook-secret", WEBHOOK_SECRET])
            .arg("--db")
            .arg(db)
            .stdout(Stdio::piped())
            .stderr(Stdio::from(log_file));
        for (key, value) in env {
            command.env(key, value);
        }
        let mut child = command.spawn().expect("stepcart serve starts");
        let mut stdout = BufReader::new(child.stdout.take().expect("stdout"));
        let mut line = String::new();
        let _ = stdout.read_line(&mut line);
        let Some(addr) = line
            .trim()
            .strip_prefix("listening on http://")
            .map(str::to_owned)
        else {
            let _ = child.kill();
            let _ = child.wait();
            panic!(
                "stepcart serve did not say where it listens: {line:?}\n{}",
                std::fs::read_to_string(&log).unwrap_or_default()
            );
        };
        // Keep draining stdout so that a later print never meets a closed pipe.
        std::thread::spawn(move || {
            let _ = std::io::copy(&mut stdout, &mut std::io::sink());
        });
        Server {
            child,
            addr,
            db: db.to_owned(),
            log,
        }
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// Kills (SIGKILL) and reaps the server now.
    pub fn stop(mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// An HTTP answer.
#[derive(Debug, Clone)]
pub struct Response {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: String,
}

impl Response {
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap_or(Value::Null)
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// One HTTP/1.1 request on a fresh connection (`Connection: close`).
pub fn request(
    addr: &str,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &str,
) -> Result<Response, String> {
    let mut stream = TcpStream::connect(addr).map_err(|e| format!("connect {addr}: {e}"))?;
    stream
        .set_read_timeout(Some(Duration::from_secs(90)))
        .map_err(|e| e.to_string())?;
    let mut head = format!(
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\nContent-Length: {}\r\n",
        body.len()
    );
    if !body.is_empty()
        && !headers
            .iter()
            .any(|(k, _)| k.eq_ignore_ascii_case("content-type"))
    {
        head.push_str("Content-Type: application/json\r\n");
    }
    for (k, v) in headers {
        head.push_str(&format!("{k}: {v}\r\n"));
    }
    head.push_str("\r\n");
    stream
        .write_all(head.as_bytes())
        .and_then(|()| stream.write_all(body.as_bytes()))
        .map_err(|e| format!("{method} {path}: write: {e}"))?;
    let mut raw = Vec::new();
    stream
        .read_to_end(&mut raw)
        .map_err(|e| format!("{method} {path}: read: {e}"))?;
    parse_response(&raw).map_err(|e| format!("{method} {path}: {e}"))
}

fn parse_response(raw: &[u8]) -> Result<Response, String> {
    let split = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .ok_or_else(|| format!("no end of headers in {:?}", String::from_utf8_lossy(raw)))?;
    let head = String::from_utf8_lossy(&raw[..split]).into_owned();
    let rest = &raw[split + 4..];
    let mut lines = head.split("\r\n");
    let status_line = lines.next().unwrap_or_default();
    let status: u16 = status_line
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| format!("bad status line {status_line:?}"))?;
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_owned(), v.trim().to_owned()))
        .collect();
    let header = |name: &str| {
        headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.clone())
    };
    let body = if header("transfer-encoding").is_some_and(|v| v.to_ascii_lowercase().contains("chunked")) {
        dechunk(rest)?
    } else if let Some(len) = header("content-length").and_then(|v| v.parse::<usize>().ok()) {
        rest.get(..len)
            .ok_or_else(|| format!("body shorter than content-length {len}"))?
            .to_vec()
    } else {
        rest.to_vec()
    };
    Ok(Response {
        status,
        headers,
        body: String::from_utf8_lossy(&body).into_owned(),
    })
}

fn dechunk(mut rest: &[u8]) -> Result<Vec<u8>, String> {
    let mut out = Vec::new();
    loop {
        let end = rest
            .windows(2)
            .position(|w| w == b"\r\n")
            .ok_or("truncated chunk size")?;
        let size_text = String::from_utf8_lossy(&rest[..end]);
        let size = usize::from_str_radix(size_text.split(';').next().unwrap_or("").trim(), 16)
            .map_err(|e| format!("bad chunk size {size_text:?}: {e}"))?;
        rest = &rest[end + 2..];
        if size == 0 {
            return Ok(out);
        }
        out.extend_from_slice(rest.get(..size).ok_or("truncated chunk")?);
        rest = rest.get(size + 2..).unwrap_or_default();
    }
}

/// `POST /checkouts` with `cart`, an optional `Idempotency-Key` and an optional `Prefer: wait=N`.
pub fn post_checkout(
    addr: &str,
    key: Option<&str>,
    cart: &Value,
    wait: Option<u64>,
) -> Result<Response, String> {
    let prefer = wait.map(|w| format!("wait={w}"));
    let mut headers: Vec<(&str, &str)> = Vec::new();
    if let Some(key) = key {
        headers.push(("Idempotency-Key", key));
    }
    if let Some(prefer) = &prefer {
        headers.push(("Prefer", prefer));
    }
    request(addr, "POST", "/checkouts", &headers, &cart.to_string())
}

/// `GET /checkouts/{name}`.
pub fn get_checkout(addr: &str, name: &str) -> Result<Response, String> {
    request(addr, "GET", &format!("/checkouts/{name}"), &[], "")
}

/// A signed Stripe `payment_intent.succeeded` / `payment_intent.payment_failed` event for `payment_id`.
pub fn send_webhook(
    addr: &str,
    event_id: &str,
    succeeded: bool,
    payment_id: &str,
) -> Result<Response, String> {
    let (event_type, object) = if succeeded {
        (
            "payment_intent.succeeded",
            json!({"id": payment_id, "object": "payment_intent", "status": "succeeded"}),
        )
    } else {
        (
            "payment_intent.payment_failed",
            json!({"id": payment_id, "object": "payment_intent", "status": "requires_payment_method",
                   "last_payment_error": {"message": "The card holder failed 3-D Secure."}}),
        )
    };
    let body = json!({"id": event_id, "object": "event", "type": event_type, "data": {"object": object}})
        .to_string();
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs()) as i64;
    let signature = stepcart_stripe_webhook::signature_header(body.as_bytes(), WEBHOOK_SECRET, now);
    request(
        addr,
        "POST",
        "/webhooks/stripe",
        &[("Stripe-Signature", &signature)],
        &body,
    )
}
