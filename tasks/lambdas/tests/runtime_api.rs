//! Every Lambda binary against a Lambda Runtime API: a small emulator here serves
//! `/2018-06-01/runtime/invocation/next` and records `/response` and `/error` posts, as the Lambda service
//! does for a provided.al2023 function. Also measures the cold start (process start to the first `next`
//! request) with every AWS client configured (`STEPCART_BACKEND=aws`); printed, never asserted.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::VecDeque;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc::{Receiver, Sender, channel};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use stepcart_domain::catalog::CatalogFile;
use stepcart_store_sqlite::Store;

/// What the function posted back for one invocation.
#[derive(Debug)]
enum Reply {
    /// The first `next` request arrived (the function finished initialising).
    Ready(Instant),
    Response {
        request_id: String,
        body: Value,
    },
    Error {
        request_id: String,
        body: Value,
    },
}

struct RuntimeApi {
    port: u16,
    events: Arc<Mutex<VecDeque<(String, Value)>>>,
    replies: Receiver<Reply>,
}

fn read_request(reader: &mut BufReader<TcpStream>) -> Option<(String, String, Vec<u8>)> {
    let mut line = String::new();
    if reader.read_line(&mut line).ok()? == 0 {
        return None;
    }
    let mut parts = line.split_whitespace();
    let (method, path) = (parts.next()?.to_owned(), parts.next()?.to_owned());
    let mut length = 0usize;
    loop {
        let mut header = String::new();
        reader.read_line(&mut header).ok()?;
        let header = header.trim_end();
        if header.is_empty() {
            break;
        }
        if let Some((name, value)) = header.split_once(':')
            && name.eq_ignore_ascii_case("content-length")
        {
            length = value.trim().parse().ok()?;
        }
    }
    let mut body = vec![0; length];
    reader.read_exact(&mut body).ok()?;
    Some((method, path, body))
}

fn respond(stream: &mut TcpStream, status: &str, headers: &[(&str, String)], body: &[u8]) {
    let mut head = format!("HTTP/1.1 {status}\r\nContent-Length: {}\r\n", body.len());
    for (name, value) in headers {
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    head.push_str("\r\n");
    let _ = stream.write_all(head.as_bytes());
    let _ = stream.write_all(body);
    let _ = stream.flush();
}

fn serve(stream: TcpStream, events: Arc<Mutex<VecDeque<(String, Value)>>>, replies: Sender<Reply>) {
    let mut writer = stream.try_clone().expect("clone stream");
    let mut reader = BufReader::new(stream);
    while let Some((method, path, body)) = read_request(&mut reader) {
        let body_json = || serde_json::from_slice(&body).unwrap_or(Value::Null);
        match (method.as_str(), path.as_str()) {
            ("GET", "/2018-06-01/runtime/invocation/next") => {
                let _ = replies.send(Reply::Ready(Instant::now()));
                // With no event left, the function waits here until the test stops it.
                let next = loop {
                    if let Some(next) = events.lock().expect("events").pop_front() {
                        break next;
                    }
                    std::thread::sleep(Duration::from_millis(5));
                };
                let deadline = std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .expect("clock")
                    .as_millis()
                    + 30_000;
                respond(
                    &mut writer,
                    "200 OK",
                    &[
                        ("Content-Type", "application/json".into()),
                        ("Lambda-Runtime-Aws-Request-Id", next.0.clone()),
                        ("Lambda-Runtime-Deadline-Ms", deadline.to_string()),
                        (
                            "Lambda-Runtime-Invoked-Function-Arn",
                            "arn:aws:lambda:us-east-1:123456789012:function:test".into(),
                        ),
                        (
                            "Lambda-Runtime-Trace-Id",
                            "Root=1-00000000-000000000000000000000000".into(),
                        ),
                    ],
                    next.1.to_string().as_bytes(),
                );
            }
            ("POST", p) if p.starts_with("/2018-06-01/runtime/invocation/") => {
                let rest = &p["/2018-06-01/runtime/invocation/".len()..];
                let (request_id, kind) = rest.split_once('/').unwrap_or((rest, ""));
                let reply = match kind {
                    "response" => Reply::Response {
                        request_id: request_id.to_owned(),
                        body: body_json(),
                    },
                    _ => Reply::Error {
                        request_id: request_id.to_owned(),
                        body: body_json(),
                    },
                };
                let _ = replies.send(reply);
                respond(&mut writer, "202 Accepted", &[], b"{}");
            }
            ("POST", "/2018-06-01/runtime/init/error") => {
                let _ = replies.send(Reply::Error {
                    request_id: "init".into(),
                    body: body_json(),
                });
                respond(&mut writer, "202 Accepted", &[], b"{}");
            }
            _ => respond(&mut writer, "404 Not Found", &[], b"{}"),
        }
    }
}

impl RuntimeApi {
    fn start() -> RuntimeApi {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        let port = listener.local_addr().expect("addr").port();
        let events = Arc::new(Mutex::new(VecDeque::new()));
        let (tx, rx) = channel();
        let shared = events.clone();
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let (events, tx) = (shared.clone(), tx.clone());
                std::thread::spawn(move || serve(stream, events, tx));
            }
        });
        RuntimeApi {
            port,
            events,
            replies: rx,
        }
    }

    fn push(&self, request_id: &str, event: Value) {
        self.events
            .lock()
            .expect("events")
            .push_back((request_id.to_owned(), event));
    }

    fn next_reply(&self) -> Reply {
        self.replies
            .recv_timeout(Duration::from_secs(30))
            .expect("the function answered within 30 s")
    }

    /// The next response or error, skipping the `next` requests in between.
    fn outcome(&self) -> Reply {
        loop {
            match self.next_reply() {
                Reply::Ready(_) => continue,
                other => return other,
            }
        }
    }
}

fn binary(name: &str) -> PathBuf {
    // Integration tests sit in target/<profile>/deps; the binaries one level up.
    let exe = std::env::current_exe().expect("test path");
    exe.parent()
        .and_then(Path::parent)
        .expect("target dir")
        .join(name)
}

struct Function(Child);

impl Drop for Function {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn spawn(name: &str, api: &RuntimeApi, env: &[(&str, &str)]) -> (Function, Instant) {
    let mut command = Command::new(binary(name));
    command
        .env("AWS_LAMBDA_RUNTIME_API", format!("127.0.0.1:{}", api.port))
        .env("AWS_LAMBDA_FUNCTION_NAME", format!("stepcart-test-{name}"))
        .env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "256")
        .env("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
        .env("AWS_LAMBDA_LOG_STREAM_NAME", "test")
        .env("AWS_LAMBDA_LOG_GROUP_NAME", "test")
        .env("RUST_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    for (k, v) in env {
        command.env(k, v);
    }
    let started = Instant::now();
    let child = command.spawn().unwrap_or_else(|e| panic!("spawn {name}: {e}"));
    (Function(child), started)
}

const TASKS: [&str; 9] = [
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

#[tokio::test]
async fn the_binaries_answer_the_runtime_api_with_results_and_asl_error_types() {
    let dir = std::env::temp_dir().join(format!("stepcart-runtime-api-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("dir");
    let db = dir.join("store.db");
    let store = Store::open(&db).expect("store");
    let catalog: CatalogFile = serde_json::from_value(json!({"products": [
        {"sku": "MUG", "name": "Mug", "price": 999, "currency": "EUR", "stock": 1}]}))
    .expect("catalog");
    let (products, discounts) = catalog.into_domain().expect("valid");
    store.seed(&products, &discounts).await.expect("seed");
    drop(store);
    let db = db.to_str().expect("utf-8");
    let env = [("STEPCART_BACKEND", "embedded"), ("STEPCART_DB", db)];

    let api = RuntimeApi::start();
    let (_reserve, _) = spawn("reserve-stock", &api, &env);
    api.push(
        "req-1",
        json!({"executionName": "rt-1", "items": [{"sku": "MUG", "quantity": 1}]}),
    );
    match api.outcome() {
        Reply::Response { request_id, body } => {
            assert_eq!(request_id, "req-1");
            assert!(
                body["reservationId"]
                    .as_str()
                    .is_some_and(|id| id.starts_with("res_")),
                "{body}"
            );
        }
        other => panic!("reserve-stock: {other:?}"),
    }
    api.push(
        "req-2",
        json!({"executionName": "rt-2", "items": [{"sku": "MUG", "quantity": 1}]}),
    );
    match api.outcome() {
        Reply::Error { request_id, body } => {
            assert_eq!(request_id, "req-2");
            assert_eq!(body["errorType"], "OutOfStock", "{body}");
            assert!(
                body["errorMessage"].as_str().is_some_and(|m| m.contains("MUG")),
                "{body}"
            );
        }
        other => panic!("reserve-stock out of stock: {other:?}"),
    }

    let api = RuntimeApi::start();
    let (_validate, _) = spawn("validate-cart", &api, &env);
    api.push(
        "req-3",
        json!({"executionName": "rt-3", "request": {"customer": {"id": "c", "email": "a@b.co"},
               "currency": "EUR", "items": [{"sku": "MUG", "quantity": 100}], "paymentMethod": "pm_card_visa"}}),
    );
    match api.outcome() {
        Reply::Error { body, .. } => assert_eq!(body["errorType"], "InvalidCart", "{body}"),
        other => panic!("validate-cart: {other:?}"),
    }

    // Every binary starts, asks for work and reports a malformed event as Stepcart.InternalError.
    for name in TASKS {
        let api = RuntimeApi::start();
        let (_function, _) = spawn(name, &api, &env);
        api.push("bad", json!([1, 2, 3]));
        match api.outcome() {
            Reply::Error { request_id, body } => {
                assert_eq!(request_id, "bad", "{name}");
                assert!(body["errorType"].as_str().is_some(), "{name}: {body}");
            }
            other => panic!("{name}: {other:?}"),
        }
    }
    let _ = std::fs::remove_dir_all(&dir);
}

/// The `stripe-webhook` binary answers a proxy event with a proxy response: an unsigned delivery is
/// refused with 400 before anything is read or written.
#[cfg(feature = "aws")]
#[tokio::test]
async fn the_webhook_binary_answers_proxy_events() {
    let api = RuntimeApi::start();
    let (_function, _) = spawn(
        "stripe-webhook",
        &api,
        &[
            ("STEPCART_BACKEND", "aws"),
            ("STRIPE_WEBHOOK_SECRET", "whsec_test"),
            ("AWS_REGION", "us-east-1"),
            ("AWS_ACCESS_KEY_ID", "test"),
            ("AWS_SECRET_ACCESS_KEY", "test"),
        ],
    );
    api.push(
        "hook-1",
        json!({"httpMethod": "POST", "path": "/webhooks/stripe", "headers": {}, "body": "{}", "isBase64Encoded": false}),
    );
    match api.outcome() {
        Reply::Response { request_id, body } => {
            assert_eq!(request_id, "hook-1");
            assert_eq!(body["statusCode"], 400, "{body}");
        }
        other => panic!("stripe-webhook: {other:?}"),
    }
}

/// The `checkout-status` binary answers a proxy event: a malformed checkout id is a 400 before any call.
#[cfg(feature = "aws")]
#[tokio::test]
async fn the_status_binary_answers_proxy_events() {
    let api = RuntimeApi::start();
    let (_function, _) = spawn(
        "checkout-status",
        &api,
        &[
            ("STEPCART_BACKEND", "aws"),
            (
                "STEPCART_STATE_MACHINE_ARN",
                "arn:aws:states:us-east-1:123456789012:stateMachine:stepcart-test-checkout",
            ),
            ("STRIPE_SECRET_KEY", "sk_test_status"),
            ("AWS_REGION", "us-east-1"),
            ("AWS_ACCESS_KEY_ID", "test"),
            ("AWS_SECRET_ACCESS_KEY", "test"),
        ],
    );
    api.push(
        "status-1",
        json!({"httpMethod": "GET", "pathParameters": {"id": "not a name"}}),
    );
    match api.outcome() {
        Reply::Response { body, .. } => assert_eq!(body["statusCode"], 400, "{body}"),
        other => panic!("checkout-status: {other:?}"),
    }
}

/// Process start to the first `next` request, with the AWS backend's clients configured (no request is
/// sent before the first invocation). One JSON line per function on stderr; `scripts/bench/cold-start.sh`
/// collects them from a release build.
#[cfg(feature = "aws")]
#[tokio::test]
async fn cold_start_with_every_client_configured() {
    let env = [
        ("STEPCART_BACKEND", "aws"),
        ("STEPCART_ENV", "test"),
        (
            "STEPCART_NOTIFICATIONS_TOPIC_ARN",
            "arn:aws:sns:us-east-1:123456789012:t.fifo",
        ),
        ("AWS_REGION", "us-east-1"),
        ("AWS_ACCESS_KEY_ID", "test"),
        ("AWS_SECRET_ACCESS_KEY", "test"),
        ("STRIPE_WEBHOOK_SECRET", "whsec_test"),
        ("STRIPE_SECRET_KEY", "sk_test_cold_start"),
        (
            "STEPCART_STATE_MACHINE_ARN",
            "arn:aws:states:us-east-1:123456789012:stateMachine:stepcart-test-checkout",
        ),
    ];
    let runs: usize = std::env::var("STEPCART_COLD_START_RUNS")
        .ok()
        .and_then(|r| r.parse().ok())
        .unwrap_or(3);
    for name in TASKS.iter().copied().chain(["stripe-webhook", "checkout-status"]) {
        let mut samples = Vec::new();
        for _ in 0..runs {
            let api = RuntimeApi::start();
            let (_function, started) = spawn(name, &api, &env);
            match api.next_reply() {
                Reply::Ready(at) => samples.push(at.duration_since(started).as_secs_f64() * 1000.0),
                other => panic!("{name}: expected the first next request, got {other:?}"),
            }
        }
        samples.sort_by(f64::total_cmp);
        eprintln!(
            "{}",
            json!({"function": name, "runs": runs, "coldStartMsMedian": samples[samples.len() / 2],
                   "coldStartMsMin": samples[0], "coldStartMsMax": samples[samples.len() - 1]})
        );
    }
}
