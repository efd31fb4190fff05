//! Shared by the tests that drive `stepcart serve` (bad_input, security, server_sfn, server_crash,
//! flash_sale_dynamodb, reliability): the server on 127.0.0.1:0 (killed on drop), the CLI commands
//! around it (`seed`, `check`), a tiny HTTP/1.1 client over `std::net::TcpStream` (`Connection: close`,
//! chunked or content-length bodies, header values sent byte for byte), and signed Stripe webhooks.
//! Use it with `#[path = "common/server.rs"] mod server;`.
// Each test binary uses a different subset of these helpers.
#![allow(dead_code)]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc::{self, Receiver};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde_json::{Value, json};

/// The webhook signing secret of [`Server::start`] (and of any server given [`WEBHOOK_SECRET_ARGS`]).
pub const WEBHOOK_SECRET: &str = "whsec_test";
/// `--stripe-webhook-secret whsec_test`, for [`Server::fresh`].
pub const WEBHOOK_SECRET_ARGS: [&str; 2] = ["--stripe-webhook-secret", WEBHOOK_SECRET];

/// How long `stepcart serve` may take to say where it listens.
const STARTUP_TIMEOUT: Duration = Duration::from_secs(60);
/// How long a request waits for its answer (`Prefer: wait=30` included).
const READ_TIMEOUT: Duration = Duration::from_secs(90);

/// Environment variables that must not leak from the developer's shell into a test.
const STEPCART_ENV: &[&str] = &[
    "STEPCART_API_KEY",
    "STEPCART_DB",
    "STEPCART_BACKEND",
    "STEPCART_PAYMENT",
    "STEPCART_FAULTS",
    "STRIPE_WEBHOOK_SECRET",
    "STRIPE_SECRET_KEY",
    "RUST_LOG",
];

pub fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// `examples/carts/{name}.json`.
pub fn example_cart(name: &str) -> String {
    let path = repo_root().join(format!("examples/carts/{name}.json"));
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()))
}

/// A new, empty directory under Cargo's per-test temporary directory, removed when the test is done
/// with it unless the test failed (then it stays for a look).
pub fn temp_dir(label: &str) -> TempDir {
    TempDir(new_dir(label))
}

fn new_dir(label: &str) -> PathBuf {
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

/// See [`temp_dir`].
pub struct TempDir(PathBuf);

impl std::ops::Deref for TempDir {
    type Target = Path;

    fn deref(&self) -> &Path {
        &self.0
    }
}

impl AsRef<Path> for TempDir {
    fn as_ref(&self) -> &Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        if !std::thread::panicking() {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }
}

// ---------------------------------------------------------------------------------------------- cli

/// The `stepcart` binary, without stepcart's environment variables, stdin from /dev/null.
pub fn command() -> Command {
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

/// `stepcart serve ARGS --db DB` with `env` set, run from the store's directory (not spawned).
pub fn serve_command(db: &Path, args: &[&str], env: &[(&str, &str)]) -> Command {
    let mut command = command();
    command
        .arg("serve")
        .args(args)
        .arg("--db")
        .arg(db)
        .envs(env.iter().copied());
    if let Some(dir) = db.parent().filter(|d| !d.as_os_str().is_empty()) {
        command.current_dir(dir);
    }
    command
}

// ------------------------------------------------------------------------------------------- server

/// A running `stepcart serve` on 127.0.0.1, its stderr appended to a log file, its stdout kept. Killed
/// (SIGKILL) and reaped on drop.
pub struct Server {
    child: Child,
    /// `127.0.0.1:PORT`.
    pub addr: String,
    /// `http://127.0.0.1:PORT`.
    pub url: String,
    /// The embedded store.
    pub db: PathBuf,
    log: PathBuf,
    stdout: Arc<Mutex<Vec<u8>>>,
    /// Says when stdout reached its end (the server is gone).
    stdout_closed: Receiver<()>,
    /// The store's directory, removed on drop unless the test failed.
    remove_dir: bool,
}

impl Server {
    /// `stepcart serve --addr 127.0.0.1:0 --stripe-webhook-secret whsec_test --db DB`, with `env` set
    /// (e.g. `STEPCART_FAULTS`); stderr goes to `DB.server.log` (e.g. `stepcart.server.log`).
    pub fn start(db: &Path, env: &[(&str, &str)]) -> Server {
        Server::start_with(db, &WEBHOOK_SECRET_ARGS, env)
    }

    /// `stepcart serve --addr 127.0.0.1:0 ARGS --db DB`, with `env` set; stderr goes to `DB.server.log`.
    pub fn start_with(db: &Path, args: &[&str], env: &[(&str, &str)]) -> Server {
        let mut all_args = vec!["--addr", "127.0.0.1:0"];
        all_args.extend_from_slice(args);
        Server::spawn(
            serve_command(db, &all_args, env),
            db,
            &db.with_extension("server.log"),
        )
    }

    /// As [`Server::start_with`], on a fresh `stepcart.db` in a new directory (named after the test
    /// binary and `label`), which is removed on drop unless the test failed.
    pub fn fresh(label: &str, args: &[&str], env: &[(&str, &str)]) -> Server {
        let dir = new_dir(&format!("{}-{label}", env!("CARGO_CRATE_NAME")));
        let mut server = Server::start_with(&dir.join("stepcart.db"), args, env);
        server.remove_dir = true;
        server
    }

    /// Spawns `command`, some `stepcart ... serve --addr 127.0.0.1:0 ...` on the store `db`, with stderr
    /// appended to `log`, and waits for its first stdout line, `listening on http://127.0.0.1:PORT`.
    pub fn spawn(mut command: Command, db: &Path, log: &Path) -> Server {
        let log_file = std::fs::File::options()
            .create(true)
            .append(true)
            .open(log)
            .expect("open the server log");
        command.stdout(Stdio::piped()).stderr(Stdio::from(log_file));
        let mut child = command.spawn().expect("start stepcart serve");
        let pipe = child.stdout.take().expect("the server's stdout");
        let stdout = Arc::new(Mutex::new(Vec::new()));
        let (first_line, first_line_read) = mpsc::channel();
        let (closed, stdout_closed) = mpsc::channel();
        let kept = stdout.clone();
        // Keeps reading stdout, so that a later print never meets a closed pipe, and keeps it.
        std::thread::spawn(move || {
            let mut reader = BufReader::new(pipe);
            let mut line = String::new();
            let _ = reader.read_line(&mut line);
            kept.lock()
                .unwrap_or_else(PoisonError::into_inner)
                .extend_from_slice(line.as_bytes());
            let _ = first_line.send(line);
            let mut chunk = [0u8; 8192];
            while let Ok(n @ 1..) = reader.read(&mut chunk) {
                kept.lock()
                    .unwrap_or_else(PoisonError::into_inner)
                    .extend_from_slice(&chunk[..n]);
            }
            let _ = closed.send(());
        });
        let mut server = Server {
            child,
            addr: String::new(),
            url: String::new(),
            db: db.to_owned(),
            log: log.to_owned(),
            stdout,
            stdout_closed,
            remove_dir: false,
        };
        let line = first_line_read.recv_timeout(STARTUP_TIMEOUT).unwrap_or_default();
        let Some(addr) = line.trim().strip_prefix("listening on http://") else {
            server.stop();
            panic!(
                "stepcart serve did not print `listening on http://ADDR` first (got {line:?}); log:\n{}",
                server.log()
            );
        };
        server.addr = addr.trim_end_matches('/').to_owned();
        server.url = format!("http://{}", server.addr);
        assert!(
            server.addr.starts_with("127.0.0.1:"),
            "stepcart serve listens beyond loopback: {line}"
        );
        server
    }

    /// The store's directory.
    pub fn dir(&self) -> &Path {
        self.db.parent().expect("the store's directory")
    }

    /// What the server wrote on stderr so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// Everything the server printed so far, stdout then stderr.
    pub fn output(&self) -> String {
        let stdout = self.stdout.lock().unwrap_or_else(PoisonError::into_inner);
        format!("{}{}", String::from_utf8_lossy(&stdout), self.log())
    }

    /// Kills (SIGKILL) and reaps the server now, and takes the rest of its stdout.
    pub fn stop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = self.stdout_closed.recv_timeout(Duration::from_secs(5));
    }

    /// SIGKILL (what `Child::kill` sends on unix), then reap: both must work.
    pub fn kill(mut self) {
        self.child.kill().expect("SIGKILL the server");
        self.child.wait().expect("reap the server");
    }

    /// One request (see [`request`]); a failed exchange panics.
    pub fn http(
        &self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: impl AsRef<[u8]>,
    ) -> Response {
        request(&self.addr, method, path, headers, body).unwrap_or_else(|e| panic!("{e}"))
    }

    /// `POST /webhooks/stripe` with `body` and, when given, `Stripe-Signature: signature`.
    pub fn webhook(&self, body: &str, signature: Option<&str>) -> Response {
        post_webhook(&self.addr, body, signature).unwrap_or_else(|e| panic!("{e}"))
    }

    /// The first column of the first row of `sql` on the store (opened read-only).
    pub fn query<T: rusqlite::types::FromSql>(&self, sql: &str) -> T {
        let db = rusqlite::Connection::open_with_flags(&self.db, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)
            .expect("open the store");
        db.query_row(sql, [], |row| row.get(0))
            .unwrap_or_else(|e| panic!("{sql}: {e}"))
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.stop();
        if self.remove_dir && !std::thread::panicking() {
            let _ = std::fs::remove_dir_all(self.dir());
        }
    }
}

// --------------------------------------------------------------------------------- tiny HTTP client

/// An HTTP answer.
#[derive(Debug, Clone)]
pub struct Response {
    pub status: u16,
    /// The status line and the headers, as received.
    pub head: String,
    pub headers: Vec<(String, String)>,
    pub body: String,
}

impl Response {
    /// The body as JSON; panics (with the status and the body) when it is not.
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.body)
            .unwrap_or_else(|e| panic!("not JSON ({e}), status {}: {}", self.status, self.body))
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// One HTTP/1.1 request on a fresh connection (`Connection: close`, `Content-Length`), with exactly the
/// `headers` given (no default `Content-Type`), their values sent byte for byte (control characters
/// included). A server may answer before reading a large body and close: an answer read after a failed
/// body write, or cut by a reset once complete, still counts.
pub fn request(
    addr: &str,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: impl AsRef<[u8]>,
) -> Result<Response, String> {
    let body = body.as_ref();
    let mut stream = TcpStream::connect(addr).map_err(|e| format!("{method} {path}: connect {addr}: {e}"))?;
    stream
        .set_read_timeout(Some(READ_TIMEOUT))
        .map_err(|e| format!("{method} {path}: {e}"))?;
    let mut head = format!(
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\nContent-Length: {}\r\n",
        body.len()
    );
    for (name, value) in headers {
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    head.push_str("\r\n");
    stream
        .write_all(head.as_bytes())
        .map_err(|e| format!("{method} {path}: write: {e}"))?;
    let written = stream.write_all(body);
    let mut raw = Vec::new();
    let mut chunk = [0u8; 16 * 1024];
    loop {
        match stream.read(&mut chunk) {
            Ok(0) => break,
            Ok(n) => raw.extend_from_slice(&chunk[..n]),
            // A reset after the answer (the unread body) is fine: the parse below sees whether it is whole.
            Err(_) if !raw.is_empty() => break,
            Err(e) => {
                let write = written
                    .err()
                    .map(|w| format!(" (write: {w})"))
                    .unwrap_or_default();
                return Err(format!("{method} {path}: read: {e}{write}"));
            }
        }
    }
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
        head,
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
    let mut headers: Vec<(&str, &str)> = vec![("Content-Type", "application/json")];
    if let Some(key) = key {
        headers.push(("Idempotency-Key", key));
    }
    if let Some(prefer) = &prefer {
        headers.push(("Prefer", prefer));
    }
    request(addr, "POST", "/checkouts", &headers, cart.to_string())
}

/// `GET /checkouts/{name}`.
pub fn get_checkout(addr: &str, name: &str) -> Result<Response, String> {
    request(addr, "GET", &format!("/checkouts/{name}"), &[], "")
}

// ----------------------------------------------------------------------------------------- webhooks

pub fn now_unix() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("clock after 1970")
        .as_secs() as i64
}

/// The `Stripe-Signature` header of `body`, signed now with [`WEBHOOK_SECRET`].
pub fn sign(body: &str) -> String {
    stepcart_stripe_webhook::signature_header(body.as_bytes(), WEBHOOK_SECRET, now_unix())
}

/// A Stripe event `event_type` about `object`, as Stripe delivers it.
pub fn stripe_event(event_id: &str, event_type: &str, object: Value) -> String {
    json!({"id": event_id, "object": "event", "type": event_type, "data": {"object": object}}).to_string()
}

/// `POST /webhooks/stripe` with `body` (JSON) and, when given, `Stripe-Signature: signature`.
pub fn post_webhook(addr: &str, body: &str, signature: Option<&str>) -> Result<Response, String> {
    let mut headers = vec![("Content-Type", "application/json")];
    if let Some(signature) = signature {
        headers.push(("Stripe-Signature", signature));
    }
    request(addr, "POST", "/webhooks/stripe", &headers, body)
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
    let body = stripe_event(event_id, event_type, object);
    post_webhook(addr, &body, Some(&sign(&body)))
}
