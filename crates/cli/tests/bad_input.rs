//! Malformed and hostile input to `stepcart serve`: every request in the tables is refused with a 4xx
//! whose JSON message names the field (or the AWS error code), and leaves no trace (no execution, no
//! state machine, stock unchanged). Also broken definitions through the Step Functions API and
//! `stepcart validate`. Raw HTTP over TCP, so that bytes no client library would send can be sent.
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "common/server.rs"]
mod server;

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use serde_json::{Value, json};
use server::{Response, Server, example_cart, stepcart};

const CHECKOUT_MACHINE: &str = "arn:aws:states:us-east-1:000000000000:stateMachine:stepcart-local-checkout";
const ROLE: &str = "arn:aws:iam::000000000000:role/x";

/// The requests this file sends, on the shared server.
trait Requests {
    fn checkout(&self, headers: &[(&str, &str)], body: &[u8]) -> Response;
    fn sfn(&self, operation: &str, body: &Value) -> Response;
    fn sfn_raw(&self, target: &str, body: &[u8]) -> Response;
    fn stock(&self) -> Value;
    fn count(&self, table: &str) -> i64;
}

impl Requests for Server {
    fn checkout(&self, headers: &[(&str, &str)], body: &[u8]) -> Response {
        let mut all = vec![("Content-Type", "application/json")];
        all.extend_from_slice(headers);
        self.http("POST", "/checkouts", &all, body)
    }

    fn sfn(&self, operation: &str, body: &Value) -> Response {
        self.sfn_raw(
            &format!("AWSStepFunctions.{operation}"),
            body.to_string().as_bytes(),
        )
    }

    fn sfn_raw(&self, target: &str, body: &[u8]) -> Response {
        self.http(
            "POST",
            "/",
            &[
                ("Content-Type", "application/x-amz-json-1.0"),
                ("X-Amz-Target", target),
            ],
            body,
        )
    }

    /// `stepcart stock --json` on this server's store.
    fn stock(&self) -> Value {
        let output = stepcart(&self.db, &["stock", "--json"]);
        assert!(
            output.status.success(),
            "{}",
            String::from_utf8_lossy(&output.stderr)
        );
        serde_json::from_slice(&output.stdout).expect("stock JSON")
    }

    fn count(&self, table: &str) -> i64 {
        self.query(&format!("SELECT count(*) FROM {table}"))
    }
}

// ----------------------------------------------------------------------------------------- requests

fn valid() -> Value {
    serde_json::from_str(&example_cart("happy-path")).expect("cart JSON")
}

/// The valid cart with the value at `pointer` replaced (or inserted, for a new object member).
fn with(pointer: &str, value: Value) -> Vec<u8> {
    let mut body = valid();
    let (parent, field) = pointer.rsplit_once('/').expect("pointer");
    let target = if parent.is_empty() {
        &mut body
    } else {
        body.pointer_mut(parent).unwrap_or_else(|| panic!("no {parent}"))
    };
    match target {
        Value::Object(map) => {
            map.insert(field.to_owned(), value);
        }
        Value::Array(items) => items[field.parse::<usize>().expect("index")] = value,
        other => panic!("{parent} is {other}"),
    }
    body.to_string().into_bytes()
}

fn without(pointer: &str) -> Vec<u8> {
    let mut body = valid();
    let (parent, field) = pointer.rsplit_once('/').expect("pointer");
    let target = if parent.is_empty() {
        &mut body
    } else {
        body.pointer_mut(parent).expect("parent")
    };
    target.as_object_mut().expect("object").remove(field);
    body.to_string().into_bytes()
}

fn sku(sku: &str) -> Vec<u8> {
    with("/items/0/sku", json!(sku))
}

/// (what, body, expected substring of `message`)
fn refused_bodies() -> Vec<(String, Vec<u8>, String)> {
    let mut cases: Vec<(String, Vec<u8>, String)> = Vec::new();
    let mut case = |what: &str, body: Vec<u8>, expected: &str| {
        cases.push((what.to_owned(), body, expected.to_owned()));
    };
    // Not JSON, or not an object.
    case(
        "invalid JSON",
        br#"{"customer": {"id": "#.to_vec(),
        "the body is not JSON",
    );
    case("empty body", Vec::new(), "the body is not JSON");
    case(
        "trailing garbage",
        [valid().to_string().as_bytes(), b"}"].concat(),
        "the body is not JSON",
    );
    case(
        "not UTF-8",
        b"{\"customer\": \"\xff\xfe\"}".to_vec(),
        "the body is not JSON",
    );
    case("an array", b"[]".to_vec(), "/: must be an object");
    case("a string", br#""checkout""#.to_vec(), "/: must be an object");
    case("null", b"null".to_vec(), "/: must be an object");
    // Wrong types, one field at a time.
    case(
        "customer string",
        with("/customer", json!("cus_1")),
        "/customer: must be an object",
    );
    case(
        "customer.id number",
        with("/customer/id", json!(1001)),
        "/customer/id: must be a string",
    );
    case(
        "customer.email bool",
        with("/customer/email", json!(true)),
        "/customer/email: must be a string",
    );
    case(
        "currency number",
        with("/currency", json!(978)),
        "/currency: must be a string",
    );
    case(
        "items object",
        with("/items", json!({"sku": "MUG-BLACK"})),
        "/items: must be an array",
    );
    case(
        "items string",
        with("/items", json!("MUG-BLACK")),
        "/items: must be an array",
    );
    case(
        "item string",
        with("/items/0", json!("MUG-BLACK")),
        "/items/0: must be an object",
    );
    case(
        "sku number",
        with("/items/0/sku", json!(42)),
        "/items/0/sku: must be a string",
    );
    case(
        "sku null",
        with("/items/0/sku", Value::Null),
        "/items/0/sku: must be a string",
    );
    case(
        "quantity string",
        with("/items/0/quantity", json!("2")),
        "/items/0/quantity",
    );
    case(
        "quantity bool",
        with("/items/0/quantity", json!(true)),
        "/items/0/quantity",
    );
    case(
        "discountCode number",
        with("/discountCode", json!(10)),
        "/discountCode: must be a string",
    );
    case(
        "discountCode null",
        with("/discountCode", Value::Null),
        "/discountCode: must be a string",
    );
    case(
        "paymentMethod null",
        with("/paymentMethod", Value::Null),
        "/paymentMethod: must be a string",
    );
    case(
        "shippingAddress array",
        with("/shippingAddress", json!([])),
        "/shippingAddress: must be an object",
    );
    case(
        "country number",
        with("/shippingAddress/country", json!(250)),
        "/shippingAddress/country: must be a string",
    );
    // Missing fields.
    case("no customer", without("/customer"), "/customer: is required");
    case(
        "no email",
        without("/customer/email"),
        "/customer/email: is required",
    );
    case("no items", without("/items"), "/items: is required");
    case(
        "no quantity",
        {
            let mut body = valid();
            body["items"][0].as_object_mut().expect("line").remove("quantity");
            body.to_string().into_bytes()
        },
        "/items/0/quantity: is required",
    );
    case(
        "no city",
        without("/shippingAddress/city"),
        "/shippingAddress/city: is required",
    );
    // Quantities.
    for (what, quantity) in [
        ("negative", "-1"),
        ("zero", "0"),
        ("100", "100"),
        ("1e30", "1e30"),
        ("2^63", "9223372036854775808"),
        ("i64::MAX", "9223372036854775807"),
        ("-2^63", "-9223372036854775808"),
        ("u64 overflow", "184467440737095516160"),
        ("fractional", "1.5"),
        ("whole float", "2.0"),
        ("exponent", "1e0"),
        ("tiny", "1e-300"),
    ] {
        let body = String::from_utf8(valid().to_string().into_bytes())
            .expect("text")
            .replacen("\"quantity\":2", &format!("\"quantity\":{quantity}"), 1);
        assert!(body.contains(quantity), "{body}");
        case(
            &format!("quantity {what}"),
            body.into_bytes(),
            "/items/0/quantity: must be a whole number from 1 to 99",
        );
    }
    // Sizes.
    case(
        "no lines",
        with("/items", json!([])),
        "/items: must have 1 to 50 lines, has 0",
    );
    let many: Vec<Value> = (0..10_000)
        .map(|i| json!({"sku": format!("SKU-{i}"), "quantity": 1}))
        .collect();
    case(
        "10,000 lines",
        with("/items", Value::Array(many)),
        "/items: must have 1 to 50 lines, has 10000",
    );
    let fifty_one: Vec<Value> = (0..51)
        .map(|i| json!({"sku": format!("SKU-{i}"), "quantity": 1}))
        .collect();
    case(
        "51 lines",
        with("/items", Value::Array(fifty_one)),
        "/items: must have 1 to 50 lines, has 51",
    );
    let big = with("/shippingAddress/line1", json!("x".repeat(300 * 1024)));
    assert!(big.len() > 300 * 1024);
    case(
        "300 KiB body",
        big,
        "/shippingAddress/line1: must be 1 to 200 characters long",
    );
    case(
        "long sku",
        sku(&"A".repeat(65)),
        "/items/0/sku: must be 1 to 64 characters long",
    );
    case(
        "empty sku",
        sku(""),
        "/items/0/sku: must be 1 to 64 characters long",
    );
    case(
        "long customer id",
        with("/customer/id", json!("c".repeat(65))),
        "/customer/id: must be 1 to 64",
    );
    // Unknown fields, top level and nested.
    case(
        "unknown top-level",
        with("/admin", json!(true)),
        "/: unknown field \"admin\"",
    );
    case(
        "unknown in customer",
        with("/customer/role", json!("admin")),
        "/customer: unknown field \"role\"",
    );
    case(
        "unknown in a line",
        with("/items/0/price", json!(1)),
        "/items/0: unknown field \"price\"",
    );
    case(
        "unknown in address",
        with("/shippingAddress/phone", json!("+33")),
        "/shippingAddress: unknown field \"phone\"",
    );
    case(
        "unknown: total",
        with("/total", json!(1)),
        "unknown field \"total\"",
    );
    // Unicode tricks in SKUs.
    for (what, trick) in [
        ("Cyrillic А homoglyph", "TSHIRT-RED-M\u{410}"),
        ("Cyrillic А alone", "\u{410}"),
        ("zero-width joiner", "TSHIRT\u{200D}-RED-M"),
        ("zero-width space", "MUG\u{200B}-BLACK"),
        ("RTL override", "\u{202E}M-DER-TRIHST"),
        ("NUL", "TSHIRT-RED-M\u{0}"),
        ("combining acute", "TSHIRT-RE\u{301}D-M"),
        ("full-width digits", "MUG-\u{FF11}\u{FF12}"),
        ("BOM", "\u{FEFF}MUG-BLACK"),
        ("space", "MUG BLACK"),
        ("newline", "MUG-BLACK\n"),
        ("SQL", "MUG'; DROP TABLE stock; --"),
        ("HTML", "<script>alert(1)</script>"),
        ("path", "../../etc/passwd"),
    ] {
        case(
            &format!("sku {what}"),
            sku(trick),
            "/items/0/sku: only letters, digits, '.', '_' and '-' are allowed",
        );
    }
    // Emails.
    for email in [
        "nobody",
        "ada@",
        "@example.com",
        "ada @example.com",
        "ada@example",
        "ada@@example.com",
        "ada@.com",
        "ada@example.",
        "a\u{0}@example.com\n",
    ] {
        case(
            &format!("email {email:?}"),
            with("/customer/email", json!(email)),
            "/customer/email",
        );
    }
    // Currencies.
    for currency in ["eur", "EURO", "EU", "E1R", "€", "", "EU\u{0}", "ЕUR"] {
        case(
            &format!("currency {currency:?}"),
            with("/currency", json!(currency)),
            "/currency",
        );
    }
    // Hostile strings where the model has a pattern.
    case(
        "discountCode SQL",
        with("/discountCode", json!("' OR 1=1 --")),
        "/discountCode",
    );
    case(
        "discountCode HTML",
        with("/discountCode", json!("<b>WELCOME10</b>")),
        "/discountCode",
    );
    case(
        "paymentMethod card number",
        with("/paymentMethod", json!("4242424242424242")),
        "/paymentMethod",
    );
    case(
        "paymentMethod SQL",
        with("/paymentMethod", json!("pm_x'; DELETE FROM orders; --")),
        "/paymentMethod",
    );
    case(
        "country lower",
        with("/shippingAddress/country", json!("fr")),
        "/shippingAddress/country",
    );
    case(
        "address name too long",
        with("/shippingAddress/name", json!("<".repeat(201))),
        "/shippingAddress/name: must be 1 to 200",
    );
    cases
}

/// A valid body with a bad `Idempotency-Key`: (what, key).
const BAD_KEYS: &[(&str, &str)] = &[
    (
        "81 characters",
        "kkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkk",
    ),
    ("inner space", "order 1"),
    ("inner tab", "order\t1"),
    ("slash", "order/1"),
    ("SQL", "x';DROP TABLE executions;--"),
    ("HTML", "<script>"),
    ("wildcard", "order*"),
    ("dollar", "$order"),
    ("non-ASCII (obs-text)", "caf\u{e9}"),
];

/// Header values hyper itself refuses (control characters): a 4xx, possibly with an empty body.
const CONTROL_KEYS: &[(&str, &str)] = &[
    ("SOH", "order\u{1}1"),
    ("DEL", "order\u{7f}1"),
    ("ESC", "\u{1b}[31mred"),
];

#[test]
fn malformed_and_hostile_checkouts_are_refused_and_leave_no_trace() {
    let server = Server::fresh("checkouts", &[], &[]);
    let stock = server.stock();
    assert!(
        stock.as_array().is_some_and(|s| !s.is_empty()),
        "the demo catalog is seeded: {stock}"
    );
    assert_eq!(server.count("executions"), 0);

    let mut failures = Vec::new();
    for (what, body, expected) in refused_bodies() {
        let response = server.checkout(&[], &body);
        let message = serde_json::from_str::<Value>(&response.body)
            .ok()
            .and_then(|v| v["message"].as_str().map(str::to_owned));
        let ok = response.status == 400 && message.as_deref().is_some_and(|m| m.contains(&expected));
        if !ok {
            failures.push(format!(
                "{what}: want 400 with {expected:?}, got {} {}",
                response.status, response.body
            ));
        }
    }
    for (what, key) in BAD_KEYS {
        let response = server.checkout(&[("Idempotency-Key", key)], valid().to_string().as_bytes());
        let ok = response.status == 400
            && response.json()["error"] == "InvalidName"
            && response.json()["message"]
                .as_str()
                .is_some_and(|m| m.contains("Idempotency-Key"));
        if !ok {
            failures.push(format!(
                "Idempotency-Key {what}: got {} {}",
                response.status, response.body
            ));
        }
    }
    for (what, key) in CONTROL_KEYS {
        let response = server.checkout(&[("Idempotency-Key", key)], valid().to_string().as_bytes());
        if !(400..500).contains(&response.status) {
            failures.push(format!(
                "Idempotency-Key {what}: got {} {}",
                response.status, response.body
            ));
        }
    }
    // A 2 MiB body is refused unread (the server's 1 MiB limit), before any parsing.
    let huge = with("/shippingAddress/line1", json!("x".repeat(2 * 1024 * 1024)));
    let response = server.checkout(&[], &huge);
    if response.status != 413 || response.json()["error"] != "PayloadTooLarge" {
        failures.push(format!(
            "2 MiB body: want 413 with a JSON error, got {} {}",
            response.status, response.body
        ));
    }
    assert!(
        failures.is_empty(),
        "{} refusals wrong:\n{}\nlog:\n{}",
        failures.len(),
        failures.join("\n"),
        server.log()
    );

    // No trace: no execution, no reservation, no order, stock as before.
    assert_eq!(server.count("executions"), 0);
    assert_eq!(server.count("execution_events"), 0);
    assert_eq!(server.count("reservations"), 0);
    assert_eq!(server.count("orders"), 0);
    assert_eq!(server.stock(), stock);
    assert!(!server.log().contains("panicked"), "{}", server.log());

    // The server still serves: a valid checkout is accepted.
    let response = server.checkout(
        &[("Idempotency-Key", "after-the-storm")],
        valid().to_string().as_bytes(),
    );
    assert_eq!(response.status, 202, "{}", response.body);
}

/// Hostile strings in fields that are free text (names, address, customer id) are not refused: they are
/// data. They must be stored verbatim through bound parameters (no table dropped), and come back
/// JSON-escaped (never as HTML).
#[test]
fn injection_strings_in_free_text_are_stored_verbatim_and_harmless() {
    let server = Server::fresh("injection", &[], &[]);
    let stock = server.stock();
    let sql = "Robert'); DROP TABLE orders; DROP TABLE executions;--";
    let html = "<img src=x onerror=alert(1)><script>alert(\"x\")</script>";
    let mut body = valid();
    body["customer"]["id"] = json!("' OR '1'='1");
    body["shippingAddress"]["name"] = json!(sql);
    body["shippingAddress"]["line1"] = json!(html);
    body["shippingAddress"]["line2"] = json!("\u{202E}evil\u{200D}");
    let response = server.checkout(
        &[("Idempotency-Key", "injection-1"), ("Prefer", "wait=10")],
        body.to_string().as_bytes(),
    );
    assert!(
        response.status == 200 || response.status == 202,
        "{}",
        response.body
    );
    assert!(
        response
            .head
            .to_ascii_lowercase()
            .contains("content-type: application/json"),
        "{}",
        response.head
    );
    // Served as JSON (the console renders with textContent, never innerHTML), never as HTML.
    assert!(
        !response.head.to_ascii_lowercase().contains("text/html"),
        "{}",
        response.head
    );
    let mut status = Value::Null;
    for _ in 0..100 {
        status = server.http("GET", "/checkouts/injection-1", &[], b"").json();
        if status["status"] != "RUNNING" {
            break;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    assert_eq!(status["status"], "SUCCEEDED", "{status}\n{}", server.log());
    let input: Value = serde_json::from_str(status["input"].as_str().expect("input")).expect("input JSON");
    assert_eq!(input, body, "stored verbatim");
    assert_eq!(server.count("executions"), 1);
    assert_eq!(server.count("orders"), 1);
    let after = server.stock();
    assert_ne!(after, stock, "the order took stock");
}

// ---------------------------------------------------------------------------------------- definitions

/// Next points to a state that does not exist (line 4).
const NEXT_TO_NOWHERE: &str = "{\n  \"StartAt\": \"A\",\n  \"States\": {\n    \"A\": {\"Type\": \"Pass\", \"Next\": \"Nowhere\"}\n  }\n}\n";
/// StartAt names a missing state.
const MISSING_START: &str = "{\n  \"StartAt\": \"Missing\",\n  \"States\": {\n    \"A\": {\"Type\": \"Pass\", \"End\": true}\n  }\n}\n";
/// A state with neither Next nor End.
const NO_NEXT_NO_END: &str =
    "{\n  \"StartAt\": \"A\",\n  \"States\": {\n    \"A\": {\"Type\": \"Pass\"}\n  }\n}\n";
/// Two Pass states in a loop and no terminal state at all: AWS refuses it (MISSING_END_STATE, "The
/// workflow does not have a terminal state").
const CYCLE_WITHOUT_END: &str = "{\n  \"StartAt\": \"A\",\n  \"States\": {\n    \"A\": {\"Type\": \"Pass\", \"Next\": \"B\"},\n    \"B\": {\"Type\": \"Pass\", \"Next\": \"A\"}\n  }\n}\n";
/// A loop that a Choice can leave for a terminal state: legal in AWS and here.
const CYCLE_WITH_EXIT: &str = r#"{"StartAt": "A", "States": {
  "A": {"Type": "Pass", "Next": "More"},
  "More": {"Type": "Choice", "Choices": [{"Variable": "$.done", "BooleanEquals": true, "Next": "Done"}], "Default": "A"},
  "Done": {"Type": "Succeed"}}}"#;
const BAD_JSON: &str = "{\"StartAt\": \"A\", \"States\": {";

/// (file name, definition, what the message must contain: the pointer / state name)
const BROKEN: &[(&str, &str, &[&str])] = &[
    (
        "next-to-nowhere.json",
        NEXT_TO_NOWHERE,
        &["/States/A/Next", "Nowhere"],
    ),
    ("missing-start.json", MISSING_START, &["/StartAt", "Missing"]),
    (
        "no-next-no-end.json",
        NO_NEXT_NO_END,
        &["/States/A", "\"Next\" or \"End\""],
    ),
    ("bad-json.json", BAD_JSON, &["invalid JSON"]),
];

#[test]
fn broken_definitions_are_refused_by_the_step_functions_api() {
    let server = Server::fresh("definitions", &[], &[]);
    for (i, (what, definition, expected)) in BROKEN.iter().enumerate() {
        let response = server.sfn(
            "CreateStateMachine",
            &json!({"name": format!("broken-{i}"), "definition": definition, "roleArn": ROLE}),
        );
        assert_eq!(response.status, 400, "{what}: {}", response.body);
        let error = response.json();
        assert_eq!(error["__type"], "InvalidDefinition", "{what}: {error}");
        let message = error["message"].as_str().expect("message");
        for part in *expected {
            assert!(message.contains(part), "{what}: {part:?} not in {message}");
        }
        assert!(
            response.head.contains("application/x-amz-json-1.0"),
            "{}",
            response.head
        );

        let response = server.sfn(
            "ValidateStateMachineDefinition",
            &json!({"definition": definition}),
        );
        assert_eq!(response.status, 200, "{what}: {}", response.body);
        let result = response.json();
        assert_eq!(result["result"], "FAIL", "{what}: {result}");
        let diagnostics = result["diagnostics"].as_array().expect("diagnostics");
        assert!(!diagnostics.is_empty(), "{what}: {result}");
        assert!(
            diagnostics
                .iter()
                .all(|d| d["severity"] == "ERROR" && d["message"].is_string()),
            "{result}"
        );
        let all = result.to_string();
        for part in expected.iter().filter(|p| p.starts_with('/')) {
            assert!(all.contains(part), "{what}: {part:?} not in {all}");
        }
    }
    // Legal loop: OK.
    let response = server.sfn(
        "ValidateStateMachineDefinition",
        &json!({"definition": CYCLE_WITH_EXIT}),
    );
    assert_eq!(response.json()["result"], "OK", "{}", response.body);
    // Nothing was created: only the checkout machine is listed.
    let list = server.sfn("ListStateMachines", &json!({})).json();
    let arns: Vec<&str> = list["stateMachines"]
        .as_array()
        .expect("stateMachines")
        .iter()
        .filter_map(|m| m["stateMachineArn"].as_str())
        .collect();
    assert_eq!(arns, [CHECKOUT_MACHINE], "{list}");
    assert!(!server.log().contains("panicked"));
}

/// AWS's ValidateStateMachineDefinition answers FAIL with MISSING_END_STATE ("The workflow does not have
/// a terminal state") and CreateStateMachine refuses such a definition; stepcart's validator does not
/// check for a terminal state yet, and accepts it (an execution then loops until the history limit).
#[test]
fn a_cycle_without_any_terminal_state_is_refused_as_aws_does() {
    let server = Server::fresh("cycle", &[], &[]);
    let response = server.sfn(
        "ValidateStateMachineDefinition",
        &json!({"definition": CYCLE_WITHOUT_END}),
    );
    assert_eq!(response.json()["result"], "FAIL", "{}", response.body);
    let response = server.sfn(
        "CreateStateMachine",
        &json!({"name": "cycle", "definition": CYCLE_WITHOUT_END, "roleArn": ROLE}),
    );
    assert_eq!(response.status, 400, "{}", response.body);
    assert_eq!(response.json()["__type"], "InvalidDefinition");
    let dir = server.dir().to_owned();
    std::fs::write(dir.join("cycle.json"), CYCLE_WITHOUT_END).expect("write");
    let output = validate(&dir, &["cycle.json"]);
    assert_eq!(output.0, 1, "{output:?}");
}

/// `stepcart validate FILE...` in `dir`: (exit code, stdout, stderr).
fn validate(dir: &Path, files: &[&str]) -> (i32, String, String) {
    let output = Command::new(env!("CARGO_BIN_EXE_stepcart"))
        .arg("validate")
        .args(files)
        .current_dir(dir)
        .output()
        .expect("stepcart validate");
    (
        output.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&output.stdout).to_string(),
        String::from_utf8_lossy(&output.stderr).to_string(),
    )
}

#[test]
fn stepcart_validate_locates_each_problem_by_file_line_and_column() {
    let dir = std::env::temp_dir().join(format!("stepcart-bad-input-validate-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("dir");
    for (file, definition, _) in BROKEN {
        std::fs::write(dir.join(file), definition).expect("write");
    }
    std::fs::write(dir.join("loop.json"), CYCLE_WITH_EXIT).expect("write");
    let expected_lines: &[(&str, &str)] = &[
        (
            "next-to-nowhere.json",
            "next-to-nowhere.json:4:35: /States/A/Next: state \"Nowhere\" does not exist",
        ),
        (
            "missing-start.json",
            "missing-start.json:2:14: /StartAt: state \"Missing\" does not exist",
        ),
        ("no-next-no-end.json", "no-next-no-end.json:4:10: /States/A"),
        ("bad-json.json", "bad-json.json: /: invalid JSON"),
    ];
    for (file, expected) in expected_lines {
        let (code, stdout, stderr) = validate(&dir, &[file]);
        assert_eq!(code, 1, "{file}: {stdout}{stderr}");
        let all = format!("{stdout}{stderr}");
        assert!(all.contains(expected), "{file}: {expected:?} not in\n{all}");
    }
    let (code, stdout, stderr) = validate(&dir, &["loop.json"]);
    assert_eq!(code, 0, "{stdout}{stderr}");
    // Several files: every problem reported, exit 1.
    let files: Vec<&str> = BROKEN.iter().map(|(f, _, _)| *f).collect();
    let (code, stdout, stderr) = validate(&dir, &files);
    assert_eq!(code, 1);
    for file in &files {
        assert!(format!("{stdout}{stderr}").contains(file), "{file}");
    }
    let (code, _, stderr) = validate(&dir, &["no-such-file.json"]);
    assert_eq!(code, 2, "{stderr}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn the_step_functions_api_refuses_garbage_with_aws_error_codes() {
    let server = Server::fresh("sfn-garbage", &[], &[]);
    let expect = |response: Response, code: &str, what: &str| {
        assert_eq!(response.status, 400, "{what}: {}", response.body);
        assert_eq!(response.json()["__type"], code, "{what}: {}", response.body);
        assert!(response.json()["message"].is_string(), "{what}");
    };
    for target in [
        "",
        "garbage",
        "AWSStepFunctions.",
        "AWSStepFunctions.DropAllTables",
        "AWSStepFunctions.startExecution",
        "DynamoDB_20120810.PutItem",
        "AWSStepFunctions.StartExecution\u{1}",
    ] {
        let response = server.sfn_raw(target, b"{}");
        if target.contains('\u{1}') {
            assert!(
                (400..500).contains(&response.status),
                "{target:?}: {}",
                response.status
            );
        } else {
            expect(response, "UnknownOperationException", target);
        }
    }
    let list = "AWSStepFunctions.ListExecutions";
    for body in [&b"[]"[..], b"\"x\"", b"1", b"null", b"{", b"\xff"] {
        let response = server.sfn_raw(list, body);
        expect(response, "SerializationException", &String::from_utf8_lossy(body));
    }
    // Wrong types and missing fields.
    expect(
        server.sfn("StartExecution", &json!({})),
        "ValidationException",
        "no stateMachineArn",
    );
    expect(
        server.sfn("StartExecution", &json!({"stateMachineArn": 5})),
        "ValidationException",
        "arn number",
    );
    expect(
        server.sfn(
            "StartExecution",
            &json!({"stateMachineArn": CHECKOUT_MACHINE, "input": {"a": 1}}),
        ),
        "ValidationException",
        "input object",
    );
    // Input that is not JSON, or over 256 KiB.
    for input in ["{", "not json", "{\"a\": 1} trailing", ""] {
        expect(
            server.sfn(
                "StartExecution",
                &json!({"stateMachineArn": CHECKOUT_MACHINE, "name": "bad-input", "input": input}),
            ),
            "InvalidExecutionInput",
            input,
        );
    }
    let huge = json!({"pad": "x".repeat(256 * 1024)}).to_string();
    let response = server.sfn(
        "StartExecution",
        &json!({"stateMachineArn": CHECKOUT_MACHINE, "name": "huge", "input": huge}),
    );
    assert!(
        response.json()["message"]
            .as_str()
            .is_some_and(|m| m.contains("262144")),
        "{}",
        response.body
    );
    expect(response, "InvalidExecutionInput", "huge input");
    let exactly = format!("\"{}\"", "x".repeat(256 * 1024 - 2));
    assert_eq!(exactly.len(), 262_144);
    let response = server.sfn(
        "StartExecution",
        &json!({"stateMachineArn": CHECKOUT_MACHINE, "name": "huge-exact", "input": exactly + " "}),
    );
    expect(response, "InvalidExecutionInput", "huge sync input");
    // Bad names and unknown machines.
    expect(
        server.sfn(
            "StartExecution",
            &json!({"stateMachineArn": CHECKOUT_MACHINE, "name": "a b", "input": "{}"}),
        ),
        "InvalidName",
        "name with a space",
    );
    let unknown = server.sfn(
        "StartExecution",
        &json!({"stateMachineArn": format!("{CHECKOUT_MACHINE}-nope"), "input": "{}"}),
    );
    assert_eq!(unknown.status, 400, "{}", unknown.body);
    assert_eq!(
        unknown.json()["__type"],
        "StateMachineDoesNotExist",
        "{}",
        unknown.body
    );
    expect(
        server.sfn("DescribeExecution", &json!({"executionArn": "arn:nope"})),
        "InvalidArn",
        "bad arn",
    );
    // Nothing started.
    assert_eq!(server.count("executions"), 0);
    assert!(!server.log().contains("panicked"));
}
