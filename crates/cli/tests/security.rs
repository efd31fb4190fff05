//! The security of `stepcart serve`: the Stripe webhook's signature check (bad, stale, future, missing,
//! v1-less, other-secret signatures refused with 400 and no state change; a replay accepted once; secret
//! rotation), the listen address and `--api-key` (loopback by default, no 0.0.0.0 without a key, 403
//! without the key, the webhook outside the key but behind its signature), and no secret in any output,
//! response or the store. Raw HTTP over TCP.
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "common/server.rs"]
mod server;

use std::process::Command;
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use server::{Response, Server, WEBHOOK_SECRET, example_cart, now_unix, serve_command, temp_dir};
use stepcart_stripe_webhook::signature_header;

const CHECKOUT_MACHINE: &str = "arn:aws:states:us-east-1:000000000000:stateMachine:stepcart-local-checkout";

/// The requests this file sends, on the shared server.
trait Requests {
    fn checkout(&self, cart: &str, name: &str, extra: &[(&str, &str)]) -> Response;
    fn sfn(&self, operation: &str, body: &Value, extra: &[(&str, &str)]) -> Response;
    fn fingerprint(&self, name: &str) -> (String, i64, i64, i64);
}

impl Requests for Server {
    fn checkout(&self, cart: &str, name: &str, extra: &[(&str, &str)]) -> Response {
        let mut headers = vec![("Content-Type", "application/json"), ("Idempotency-Key", name)];
        headers.extend_from_slice(extra);
        self.http("POST", "/checkouts", &headers, example_cart(cart))
    }

    fn sfn(&self, operation: &str, body: &Value, extra: &[(&str, &str)]) -> Response {
        let target = format!("AWSStepFunctions.{operation}");
        let mut headers = vec![
            ("Content-Type", "application/x-amz-json-1.0"),
            ("X-Amz-Target", target.as_str()),
        ];
        headers.extend_from_slice(extra);
        self.http("POST", "/", &headers, body.to_string())
    }

    /// The state a refused webhook must not change: the execution's status and event count, the
    /// claimed webhook events, the orders.
    fn fingerprint(&self, name: &str) -> (String, i64, i64, i64) {
        let arn = format!("arn:aws:states:us-east-1:000000000000:execution:stepcart-local-checkout:{name}");
        (
            self.query(&format!(
                "SELECT status FROM executions WHERE execution_arn = '{arn}'"
            )),
            self.query(&format!(
                "SELECT count(*) FROM execution_events WHERE execution_arn = '{arn}'"
            )),
            self.query("SELECT count(*) FROM webhook_events"),
            self.query("SELECT count(*) FROM orders"),
        )
    }
}

// ------------------------------------------------------------------------------------------ webhooks

fn succeeded_event(id: &str, payment_id: &str) -> String {
    server::stripe_event(
        id,
        "payment_intent.succeeded",
        json!({"id": payment_id, "object": "payment_intent", "status": "succeeded"}),
    )
}

/// A 3-D Secure checkout started with `Prefer: wait=10`: its payment id from `nextAction`.
fn waiting_checkout(server: &Server, name: &str) -> String {
    let response = server.checkout("three-d-secure", name, &[("Prefer", "wait=10")]);
    assert!(
        response.status == 200 || response.status == 202,
        "{}",
        response.body
    );
    let mut status = response.json();
    let deadline = Instant::now() + Duration::from_secs(30);
    while !status["nextAction"]["paymentId"].is_string() {
        assert!(
            Instant::now() < deadline,
            "no nextAction: {status}\n{}",
            server.output()
        );
        std::thread::sleep(Duration::from_millis(100));
        status = server.http("GET", &format!("/checkouts/{name}"), &[], b"").json();
    }
    assert_eq!(status["status"], "RUNNING", "{status}");
    assert_eq!(status["nextAction"]["type"], "authenticate_payment");
    status["nextAction"]["paymentId"]
        .as_str()
        .expect("paymentId")
        .to_owned()
}

fn wait_status(server: &Server, name: &str) -> Value {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let status = server.http("GET", &format!("/checkouts/{name}"), &[], b"").json();
        if status["status"] != "RUNNING" || Instant::now() > deadline {
            return status;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn forged_stale_and_unsigned_webhooks_are_refused_and_a_replay_changes_nothing() {
    let server = Server::fresh("webhook", &["--stripe-webhook-secret", WEBHOOK_SECRET], &[]);
    let payment_id = waiting_checkout(&server, "tds-1");
    let before = server.fingerprint("tds-1");
    assert_eq!(before.0, "RUNNING");
    assert_eq!(before.2, 0);

    let body = succeeded_event("evt_sec_1", &payment_id);
    let now = now_unix();
    let good = signature_header(body.as_bytes(), WEBHOOK_SECRET, now);
    let good_v1 = good.split("v1=").nth(1).expect("v1").to_owned();
    let mut flipped = good_v1.clone();
    let first = if flipped.starts_with('0') { "1" } else { "0" };
    flipped.replace_range(0..1, first);
    let refused: Vec<(&str, Option<String>, &str)> = vec![
        (
            "forged zeros",
            Some(format!("t={now},v1={}", "0".repeat(64))),
            "no signature matches",
        ),
        (
            "one hex digit flipped",
            Some(format!("t={now},v1={flipped}")),
            "no signature matches",
        ),
        (
            "signed body, other timestamp",
            Some(format!("t={},v1={good_v1}", now - 1)),
            "no signature matches",
        ),
        (
            "stale: 301 s old",
            Some(signature_header(body.as_bytes(), WEBHOOK_SECRET, now - 301)),
            "old",
        ),
        (
            "stale: a day old",
            Some(signature_header(body.as_bytes(), WEBHOOK_SECRET, now - 86_400)),
            "old",
        ),
        (
            "future: 301 s ahead",
            Some(signature_header(body.as_bytes(), WEBHOOK_SECRET, now + 301)),
            "future",
        ),
        (
            "future: far",
            Some(signature_header(body.as_bytes(), WEBHOOK_SECRET, i64::MAX / 2)),
            "future",
        ),
        ("missing header", None, "no Stripe-Signature header"),
        ("empty header", Some(String::new()), "Stripe-Signature"),
        ("no v1", Some(format!("t={now}")), "no v1 signature"),
        (
            "v0 only",
            Some(format!("t={now},v0={good_v1}")),
            "no v1 signature",
        ),
        ("no timestamp", Some(format!("v1={good_v1}")), "malformed"),
        (
            "negative timestamp",
            Some(format!("t=-1,v1={good_v1}")),
            "malformed",
        ),
        ("garbage", Some("\u{1}\u{2}garbage==,,".into()), ""),
        (
            "other secret",
            Some(signature_header(body.as_bytes(), "whsec_other", now)),
            "no signature matches",
        ),
        (
            "empty secret",
            Some(signature_header(body.as_bytes(), "", now)),
            "no signature matches",
        ),
    ];
    for (what, header, expected) in &refused {
        let response = server.webhook(&body, header.as_deref());
        assert_eq!(response.status, 400, "{what}: {}", response.body);
        if !expected.is_empty() {
            let error = response.json()["error"].as_str().unwrap_or_default().to_owned();
            assert!(error.contains(expected), "{what}: {expected:?} not in {error:?}");
        }
        assert_eq!(server.fingerprint("tds-1"), before, "{what} changed state");
    }
    // A signed body that was changed after signing.
    let tampered = body.replace("evt_sec_1", "evt_sec_X");
    assert_eq!(server.webhook(&tampered, Some(&good)).status, 400);
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(server.fingerprint("tds-1"), before);
    let status = server.http("GET", "/checkouts/tds-1", &[], b"").json();
    assert_eq!(status["status"], "RUNNING");
    assert_eq!(status["nextAction"]["paymentId"], payment_id.as_str());

    // The genuine event: accepted, the checkout finishes.
    let response = server.webhook(&body, Some(&good));
    assert_eq!(response.status, 200, "{}", response.body);
    assert_eq!(response.json()["resumed"], true, "{}", response.body);
    let done = wait_status(&server, "tds-1");
    assert_eq!(done["status"], "SUCCEEDED", "{done}\n{}", server.output());
    std::thread::sleep(Duration::from_millis(300));
    let after = server.fingerprint("tds-1");
    assert_eq!(after.2, 1);
    assert_eq!(after.3, before.3 + 1);

    // Replays (the same delivery, and a fresh signature of the same event id): 200, nothing changes.
    for header in [
        good.clone(),
        signature_header(body.as_bytes(), WEBHOOK_SECRET, now_unix()),
    ] {
        let response = server.webhook(&body, Some(&header));
        assert_eq!(response.status, 200, "{}", response.body);
        assert_eq!(response.json()["duplicate"], true, "{}", response.body);
        std::thread::sleep(Duration::from_millis(200));
        assert_eq!(server.fingerprint("tds-1"), after);
    }
    let again = server.http("GET", "/checkouts/tds-1", &[], b"").json();
    assert_eq!(again["output"], done["output"]);
    assert_eq!(again["stopDate"], done["stopDate"]);
    assert!(!server.output().contains("panicked"), "{}", server.output());
}

#[test]
fn during_a_rotation_every_configured_secret_verifies() {
    let comma = Server::fresh(
        "rotation-comma",
        &["--stripe-webhook-secret", "whsec_a,whsec_b"],
        &[],
    );
    let repeated = Server::fresh(
        "rotation-repeated",
        &[
            "--stripe-webhook-secret",
            "whsec_a",
            "--stripe-webhook-secret",
            "whsec_b",
        ],
        &[],
    );
    let from_env = Server::fresh(
        "rotation-env",
        &[],
        &[("STRIPE_WEBHOOK_SECRET", "whsec_a,whsec_b")],
    );
    for server in [&comma, &repeated, &from_env] {
        for (i, secret) in ["whsec_a", "whsec_b"].iter().enumerate() {
            let body = json!({"id": format!("evt_rot_{i}"), "type": "customer.created",
                              "data": {"object": {"id": "cus_1", "object": "customer"}}})
            .to_string();
            let response = server.webhook(
                &body,
                Some(&signature_header(body.as_bytes(), secret, now_unix())),
            );
            assert_eq!(response.status, 200, "{secret}: {}", response.body);
        }
        let body =
            json!({"id": "evt_rot_c", "type": "customer.created", "data": {"object": {"id": "cus_1"}}})
                .to_string();
        let response = server.webhook(
            &body,
            Some(&signature_header(body.as_bytes(), "whsec_c", now_unix())),
        );
        assert_eq!(response.status, 400, "{}", response.body);
        // Both v1 entries of a Stripe rotation header: either may match.
        let body =
            json!({"id": "evt_rot_2", "type": "customer.created", "data": {"object": {"id": "cus_1"}}})
                .to_string();
        let t = now_unix();
        let a = signature_header(body.as_bytes(), "whsec_c", t);
        let b = signature_header(body.as_bytes(), "whsec_b", t);
        let header = format!("{a},v1={}", b.split("v1=").nth(1).expect("v1"));
        assert_eq!(server.webhook(&body, Some(&header)).status, 200);
    }
}

#[test]
fn without_a_webhook_secret_every_webhook_is_refused() {
    let server = Server::fresh("no-secret", &[], &[]);
    let body =
        json!({"id": "evt_1", "type": "customer.created", "data": {"object": {"id": "cus_1"}}}).to_string();
    for secret in ["", "whsec_test"] {
        let response = server.webhook(
            &body,
            Some(&signature_header(body.as_bytes(), secret, now_unix())),
        );
        assert_eq!(response.status, 400, "{}", response.body);
    }
    assert_eq!(server.query::<i64>("SELECT count(*) FROM webhook_events"), 0);
}

// ------------------------------------------------------------------------------- address and api key

#[test]
fn the_server_listens_on_loopback_unless_given_an_api_key() {
    let help = Command::new(env!("CARGO_BIN_EXE_stepcart"))
        .args(["serve", "--help"])
        .output()
        .expect("serve --help");
    let help = String::from_utf8_lossy(&help.stdout).to_string();
    assert!(help.contains("[default: 127.0.0.1:8080]"), "{help}");

    for addr in ["0.0.0.0:0", "[::]:0", "192.0.2.1:0"] {
        let dir = temp_dir("refuse");
        let output = serve_command(&dir.join("stepcart.db"), &["--addr", addr], &[])
            .output()
            .expect("stepcart serve");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(2), "{addr}: {stderr}");
        assert!(
            stderr.contains("refusing to listen") && stderr.contains("--api-key"),
            "{addr}: {stderr}"
        );
        assert!(output.stdout.is_empty(), "{addr}: never listened");
        let _ = std::fs::remove_dir_all(&dir);
    }
    // An empty key is no key.
    let dir = temp_dir("empty-key");
    let output = serve_command(
        &dir.join("stepcart.db"),
        &["--addr", "127.0.0.1:0", "--api-key", ""],
        &[],
    )
    .output()
    .expect("stepcart serve");
    assert_eq!(
        output.status.code(),
        Some(2),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn with_an_api_key_the_checkout_and_step_functions_apis_need_it_and_the_webhook_needs_its_signature() {
    let server = Server::fresh(
        "api-key",
        &["--api-key", "k3y", "--stripe-webhook-secret", WEBHOOK_SECRET],
        &[],
    );
    let wrong: [&[(&str, &str)]; 5] = [
        &[],
        &[("x-api-key", "wrong")],
        &[("x-api-key", "")],
        &[("x-api-key", "k3")],
        &[("x-api-key", "K3Y")],
    ];
    for (i, headers) in wrong.iter().enumerate() {
        let response = server.checkout("happy-path", &format!("nokey-{i}"), headers);
        assert_eq!(response.status, 403, "{headers:?}: {}", response.body);
        let response = server.sfn(
            "StartExecution",
            &json!({"stateMachineArn": CHECKOUT_MACHINE, "name": format!("nokey-sfn-{i}"), "input": "{}"}),
            headers,
        );
        assert_eq!(response.status, 403, "{headers:?}: {}", response.body);
        assert_eq!(
            server
                .sfn(
                    "ListExecutions",
                    &json!({"stateMachineArn": CHECKOUT_MACHINE}),
                    headers
                )
                .status,
            403
        );
        assert_eq!(server.http("GET", "/checkouts/nokey-0", headers, b"").status, 403);
    }
    // Another header name, or the key as a bearer token, is not the key.
    let response = server.checkout("happy-path", "bearer", &[("Authorization", "Bearer k3y")]);
    assert_eq!(response.status, 403);
    assert_eq!(server.query::<i64>("SELECT count(*) FROM executions"), 0);

    // With the key: it works.
    let key: &[(&str, &str)] = &[("x-api-key", "k3y")];
    let response = server.checkout("happy-path", "with-key", key);
    assert_eq!(response.status, 202, "{}", response.body);
    let response = server.sfn(
        "ListExecutions",
        &json!({"stateMachineArn": CHECKOUT_MACHINE}),
        key,
    );
    assert_eq!(response.status, 200, "{}", response.body);
    assert_eq!(server.http("GET", "/checkouts/with-key", key, b"").status, 200);
    assert_eq!(server.query::<i64>("SELECT count(*) FROM executions"), 1);

    // The webhook: no key needed (Stripe cannot send one), but a signature is.
    let body =
        json!({"id": "evt_k", "type": "customer.created", "data": {"object": {"id": "cus_1"}}}).to_string();
    assert_eq!(server.webhook(&body, None).status, 400);
    assert_eq!(
        server
            .webhook(&body, Some(&format!("t={},v1={}", now_unix(), "0".repeat(64))))
            .status,
        400
    );
    let response = server.webhook(
        &body,
        Some(&signature_header(body.as_bytes(), WEBHOOK_SECRET, now_unix())),
    );
    assert_eq!(response.status, 200, "{}", response.body);
    // The health check is open; it says nothing secret.
    let health = server.http("GET", "/health", &[], b"");
    assert_eq!(health.status, 200);
    assert!(!health.body.contains("k3y"));
}

// ------------------------------------------------------------------------------------------ no leaks

const API_KEY: &str = "SECRETAPIKEY123";
const HOOK_SECRET: &str = "whsec_SECRETWEBHOOK";
const STRIPE_KEY: &str = "sk_test_SECRETSTRIPE";
const SECRETS: [&str; 3] = [API_KEY, HOOK_SECRET, STRIPE_KEY];

fn assert_no_secret(what: &str, bytes: &[u8]) {
    for secret in SECRETS {
        let found = bytes.windows(secret.len()).any(|w| w == secret.as_bytes());
        assert!(
            !found,
            "{secret} leaked in {what}:\n{}",
            String::from_utf8_lossy(bytes)
        );
    }
}

#[test]
fn no_secret_leaks_into_output_responses_help_or_the_store() {
    let env = [("STRIPE_SECRET_KEY", STRIPE_KEY), ("RUST_LOG", "debug")];
    let mut server = Server::fresh(
        "leaks",
        &["--api-key", API_KEY, "--stripe-webhook-secret", HOOK_SECRET],
        &env,
    );
    let key: &[(&str, &str)] = &[("x-api-key", API_KEY)];
    let mut responses: Vec<(String, Response)> = Vec::new();
    let mut record = |what: &str, response: Response| responses.push((what.to_owned(), response));

    for cart in ["happy-path", "declined-card", "out-of-stock", "invalid-cart"] {
        record(
            cart,
            server.checkout(
                cart,
                &format!("leak-{cart}"),
                &[("x-api-key", API_KEY), ("Prefer", "wait=10")],
            ),
        );
    }
    let payment_id = waiting_checkout_with_key(&server, "leak-tds");
    record(
        "wrong key",
        server.checkout("happy-path", "leak-wrong", &[("x-api-key", "SECRETAPIKEY12")]),
    );
    record("no key", server.checkout("happy-path", "leak-none", &[]));
    record(
        "bad body",
        server.http(
            "POST",
            "/checkouts",
            &[("x-api-key", API_KEY)],
            b"{\"customer\": 1}",
        ),
    );
    record(
        "bad key header",
        server.http(
            "POST",
            "/checkouts",
            &[("x-api-key", API_KEY), ("Idempotency-Key", "a b")],
            b"{}",
        ),
    );
    record("sfn garbage", server.sfn("Nope", &json!({}), key));
    record(
        "sfn bad input",
        server.sfn(
            "StartExecution",
            &json!({"stateMachineArn": CHECKOUT_MACHINE, "input": "{"}),
            key,
        ),
    );
    record(
        "sfn describe",
        server.sfn(
            "DescribeStateMachine",
            &json!({"stateMachineArn": CHECKOUT_MACHINE}),
            key,
        ),
    );
    let body = succeeded_event("evt_leak", &payment_id);
    let now = now_unix();
    record(
        "webhook forged",
        server.webhook(&body, Some(&format!("t={now},v1={}", "0".repeat(64)))),
    );
    record(
        "webhook stale",
        server.webhook(
            &body,
            Some(&signature_header(body.as_bytes(), HOOK_SECRET, now - 1000)),
        ),
    );
    record(
        "webhook other secret",
        server.webhook(&body, Some(&signature_header(body.as_bytes(), "whsec_x", now))),
    );
    record("webhook missing", server.webhook(&body, None));
    record(
        "webhook bad payload",
        server.webhook("{}", Some(&signature_header(b"{}", HOOK_SECRET, now))),
    );
    record(
        "webhook good",
        server.webhook(&body, Some(&signature_header(body.as_bytes(), HOOK_SECRET, now))),
    );
    let status = wait_status_with_key(&server, "leak-tds");
    assert_eq!(status["status"], "SUCCEEDED", "{status}");
    for name in ["leak-happy-path", "leak-declined-card", "leak-tds"] {
        record(name, server.http("GET", &format!("/checkouts/{name}"), key, b""));
    }
    let arn = "arn:aws:states:us-east-1:000000000000:execution:stepcart-local-checkout:leak-tds";
    record(
        "history",
        server.sfn("GetExecutionHistory", &json!({"executionArn": arn}), key),
    );
    record(
        "describe",
        server.sfn("DescribeExecution", &json!({"executionArn": arn}), key),
    );
    record(
        "list",
        server.sfn(
            "ListExecutions",
            &json!({"stateMachineArn": CHECKOUT_MACHINE}),
            key,
        ),
    );
    record("console", server.http("GET", "/console", &[], b""));
    record("health", server.http("GET", "/health", &[], b""));

    for (what, response) in &responses {
        assert!(
            response.status < 500,
            "{what}: {} {}",
            response.status,
            response.body
        );
        assert_no_secret(
            &format!("the response to {what}"),
            format!("{}\r\n\r\n{}", response.head, response.body).as_bytes(),
        );
    }
    server.stop();
    let output = server.output();
    assert!(
        output.contains("WARN") && output.contains("webhook refused"),
        "the logs are on (RUST_LOG=debug; nothing in stepcart logs at debug level today):\n{output}"
    );
    assert_no_secret("the server's stdout and stderr", output.as_bytes());

    // The store: the database file and any WAL / journal next to it.
    let mut store_files = 0;
    for entry in std::fs::read_dir(server.dir()).expect("dir") {
        let path = entry.expect("entry").path();
        if path
            .file_name()
            .and_then(|n| n.to_str())
            .is_some_and(|n| n.starts_with("stepcart.db"))
        {
            store_files += 1;
            assert_no_secret(
                &path.display().to_string(),
                &std::fs::read(&path).expect("read the store"),
            );
        }
    }
    assert!(store_files >= 1);

    // --help, with every secret in the environment too.
    let help = Command::new(env!("CARGO_BIN_EXE_stepcart"))
        .args(["serve", "--help"])
        .env("STEPCART_API_KEY", API_KEY)
        .env("STRIPE_WEBHOOK_SECRET", HOOK_SECRET)
        .env("STRIPE_SECRET_KEY", STRIPE_KEY)
        .output()
        .expect("serve --help");
    assert!(help.status.success());
    assert_no_secret("serve --help", &[help.stdout, help.stderr].concat());
    // A usage error with the secrets given: the message does not echo them.
    let dir = temp_dir("leak-usage");
    let output = serve_command(
        &dir.join("stepcart.db"),
        &["--addr", "0.0.0.0:0", "--stripe-webhook-secret", HOOK_SECRET],
        &env,
    )
    .output()
    .expect("stepcart serve");
    assert_eq!(output.status.code(), Some(2));
    assert_no_secret("a usage error", &[output.stdout, output.stderr].concat());
    let _ = std::fs::remove_dir_all(&dir);
}

fn waiting_checkout_with_key(server: &Server, name: &str) -> String {
    let key = [("x-api-key", API_KEY), ("Prefer", "wait=10")];
    let response = server.checkout("three-d-secure", name, &key);
    assert!(
        response.status == 200 || response.status == 202,
        "{}",
        response.body
    );
    let mut status = response.json();
    let deadline = Instant::now() + Duration::from_secs(30);
    while !status["nextAction"]["paymentId"].is_string() {
        assert!(Instant::now() < deadline, "no nextAction: {status}");
        std::thread::sleep(Duration::from_millis(100));
        status = server
            .http("GET", &format!("/checkouts/{name}"), &key[..1], b"")
            .json();
    }
    status["nextAction"]["paymentId"]
        .as_str()
        .expect("paymentId")
        .to_owned()
}

fn wait_status_with_key(server: &Server, name: &str) -> Value {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let status = server
            .http(
                "GET",
                &format!("/checkouts/{name}"),
                &[("x-api-key", API_KEY)],
                b"",
            )
            .json();
        if status["status"] != "RUNNING" || Instant::now() > deadline {
            return status;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}
