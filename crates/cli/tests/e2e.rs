//! End to end: the `stepcart` binary, a fresh store per test, every example cart. Each run is a separate
//! process, so these also show that a second run sees what the first one did.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::{Value, json};

struct Run {
    code: i32,
    stdout: String,
    stderr: String,
}

impl Run {
    fn json(&self) -> Value {
        serde_json::from_str(self.stdout.trim()).unwrap_or_else(|e| {
            panic!(
                "stdout is not JSON ({e}):\n{}\nstderr:\n{}",
                self.stdout, self.stderr
            )
        })
    }
}

struct Sandbox {
    dir: PathBuf,
}

impl Sandbox {
    fn new(label: &str) -> Sandbox {
        let dir = std::env::temp_dir().join(format!("stepcart-e2e-{label}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("temp dir");
        Sandbox { dir }
    }

    fn db(&self) -> PathBuf {
        self.dir.join("store.db")
    }

    fn stepcart(&self, args: &[&str]) -> Run {
        let output = Command::new(env!("CARGO_BIN_EXE_stepcart"))
            .args(args)
            .arg("--db")
            .arg(self.db())
            .current_dir(repo_root())
            .env_remove("STEPCART_DB")
            .output()
            .expect("stepcart runs");
        Run {
            code: output.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        }
    }

    fn run_cart(&self, cart: &str, name: Option<&str>) -> (i32, Value) {
        let path = format!("examples/carts/{cart}.json");
        let mut args = vec!["run", path.as_str(), "--json"];
        if let Some(name) = name {
            args.extend(["--name", name]);
        }
        let run = self.stepcart(&args);
        (run.code, run.json())
    }

    /// sku -> (available, reserved, sold)
    fn stock(&self) -> BTreeMap<String, (i64, i64, i64)> {
        let run = self.stepcart(&["stock", "--json"]);
        assert_eq!(run.code, 0, "{}", run.stderr);
        run.json()
            .as_array()
            .expect("array")
            .iter()
            .map(|row| {
                let n = |k: &str| row[k].as_i64().expect("integer");
                (
                    row["sku"].as_str().expect("sku").to_owned(),
                    (n("available"), n("reserved"), n("sold")),
                )
            })
            .collect()
    }

    fn orders(&self) -> Vec<Value> {
        let run = self.stepcart(&["orders", "--json"]);
        assert_eq!(run.code, 0, "{}", run.stderr);
        run.json().as_array().expect("array").clone()
    }

    fn payments(&self) -> Vec<Value> {
        let run = self.stepcart(&["payments", "list", "--json"]);
        assert_eq!(run.code, 0, "{}", run.stderr);
        run.json().as_array().expect("array").clone()
    }
}

impl Drop for Sandbox {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn catalog_stock() -> BTreeMap<String, i64> {
    let text = std::fs::read_to_string(repo_root().join("examples/catalog.json")).expect("catalog");
    let catalog: Value = serde_json::from_str(&text).expect("json");
    catalog["products"]
        .as_array()
        .expect("products")
        .iter()
        .map(|p| {
            (
                p["sku"].as_str().expect("sku").to_owned(),
                p["stock"].as_i64().expect("stock"),
            )
        })
        .collect()
}

fn output_of(describe: &Value) -> Value {
    serde_json::from_str(describe["output"].as_str().expect("output is JSON text")).expect("output JSON")
}

/// Stock conserved (from the outside, via `stepcart stock`) and every store invariant (`stepcart check`).
fn assert_conserved(sandbox: &Sandbox) {
    let check = sandbox.stepcart(&["check", "--json"]);
    assert_eq!(check.json(), json!({"violations": []}), "{}", check.stderr);
    assert_eq!(check.code, 0);
    let initial = catalog_stock();
    for (sku, (available, reserved, sold)) in sandbox.stock() {
        assert!(
            available >= 0 && reserved >= 0 && sold >= 0,
            "{sku} went negative"
        );
        assert_eq!(
            available + reserved + sold,
            initial[&sku],
            "stock of {sku} is not conserved"
        );
    }
}

#[test]
fn happy_path_places_one_order_and_sells_the_stock() {
    let s = Sandbox::new("happy");
    let (code, describe) = s.run_cart("happy-path", None);
    assert_eq!(code, 0);
    assert_eq!(describe["status"], "SUCCEEDED");
    let output = output_of(&describe);
    assert_eq!(output["status"], "CONFIRMED");
    assert_eq!(
        (
            output["subtotal"].as_i64(),
            output["discount"].as_i64(),
            output["total"].as_i64()
        ),
        (Some(4997), Some(0), Some(4997))
    );
    assert_eq!(
        output["items"][0],
        json!({"sku": "TSHIRT-RED-M", "quantity": 2, "unitPrice": 1999, "lineTotal": 3998})
    );
    assert!(
        output["orderId"]
            .as_str()
            .is_some_and(|id| id.starts_with("ord_"))
    );
    assert!(
        output["paymentId"]
            .as_str()
            .is_some_and(|id| id.starts_with("pi_"))
    );
    assert!(
        output["reservationId"]
            .as_str()
            .is_some_and(|id| id.starts_with("res_"))
    );
    let stock = s.stock();
    assert_eq!(stock["TSHIRT-RED-M"], (23, 0, 2));
    assert_eq!(stock["MUG-BLACK"], (39, 0, 1));
    let orders = s.orders();
    assert_eq!(orders.len(), 1);
    assert_eq!(orders[0]["orderId"], output["orderId"]);
    assert_eq!(orders[0]["executionArn"], describe["executionArn"]);
    let payments = s.payments();
    assert_eq!(payments.len(), 1);
    assert_eq!(payments[0]["captured"], 4997);
    assert_conserved(&s);
}

#[test]
fn the_human_output_shows_each_state_with_timings_then_the_result() {
    let s = Sandbox::new("human");
    let run = s.stepcart(&["run", "examples/carts/discount.json"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    for state in [
        "ValidateCart",
        "ReserveStock",
        "PriceOrder",
        "AuthorizePayment",
        "CreateOrder",
        "NotifyCustomer",
    ] {
        assert!(
            run.stderr.contains(&format!("\u{25b8} {state}")),
            "{state} not shown entering:\n{}",
            run.stderr
        );
    }
    assert!(run.stderr.contains(" ms"), "timings missing:\n{}", run.stderr);
    assert!(run.stdout.contains("SUCCEEDED"), "{}", run.stdout);
    assert!(run.stdout.contains("44.97 EUR"), "{}", run.stdout);
}

#[test]
fn discount_code_takes_ten_percent_off() {
    let s = Sandbox::new("discount");
    let (code, describe) = s.run_cart("discount", None);
    assert_eq!((code, describe["status"].as_str()), (0, Some("SUCCEEDED")));
    let output = output_of(&describe);
    assert_eq!(
        (
            output["subtotal"].as_i64(),
            output["discount"].as_i64(),
            output["total"].as_i64()
        ),
        (Some(4997), Some(500), Some(4497))
    );
}

#[test]
fn a_declined_card_fails_and_leaves_stock_where_it_started() {
    let s = Sandbox::new("declined");
    let before = s.stock(); // seeds nothing: an unseeded store has no stock yet
    assert!(before.is_empty());
    for (cart, cause) in [
        ("declined-card", "declined"),
        ("insufficient-funds", "insufficient funds"),
    ] {
        let (code, describe) = s.run_cart(cart, None);
        assert_eq!(code, 1, "a FAILED execution exits 1");
        assert_eq!(describe["status"], "FAILED");
        assert_eq!(describe["error"], "PaymentDeclined");
        let text = describe["cause"].as_str().expect("cause");
        assert!(text.contains(cause), "{text}");
        assert!(
            !text.contains("errorMessage"),
            "the cause is a sentence, not a JSON document: {text}"
        );
    }
    let stock = s.stock();
    assert_eq!(stock["HOODIE-GREY-M"], (10, 0, 0));
    assert_eq!(stock["STICKER-PACK"], (500, 0, 0));
    assert!(s.orders().is_empty());
    assert!(s.payments().iter().all(|p| p["captured"] == 0), "no money taken");
    assert_conserved(&s);
}

#[test]
fn out_of_stock_reserves_nothing() {
    let s = Sandbox::new("oos");
    let (code, describe) = s.run_cart("out-of-stock", None);
    assert_eq!(code, 1);
    assert_eq!(describe["error"], "OutOfStock");
    assert!(
        describe["cause"]
            .as_str()
            .expect("cause")
            .contains("POSTER-LIMITED")
    );
    let stock = s.stock();
    assert_eq!(
        stock["MUG-BLACK"],
        (40, 0, 0),
        "the line that was available is not held either"
    );
    assert_eq!(stock["POSTER-LIMITED"], (3, 0, 0));
    assert!(s.orders().is_empty());
    assert!(s.payments().is_empty(), "no payment attempted");
}

#[test]
fn an_invalid_cart_fails_with_the_rule_it_broke() {
    let s = Sandbox::new("invalid");
    let (code, describe) = s.run_cart("invalid-cart", None);
    assert_eq!(code, 1);
    assert_eq!(describe["error"], "InvalidCart");
    assert!(describe["cause"].as_str().expect("cause").contains("quantity"));
    assert!(s.orders().is_empty());
    assert_conserved(&s);
}

fn waiting_payment(s: &Sandbox) -> String {
    let payments = s.payments();
    let pending: Vec<_> = payments
        .iter()
        .filter(|p| p["status"] == "requires_action")
        .collect();
    assert_eq!(pending.len(), 1, "{payments:?}");
    pending[0]["paymentId"].as_str().expect("id").to_owned()
}

#[test]
fn three_d_secure_waits_then_completes_from_another_process() {
    let s = Sandbox::new("3ds-ok");
    let (code, describe) = s.run_cart("three-d-secure", Some("three-ds-1"));
    assert_eq!(code, 0);
    assert_eq!(
        describe["status"], "RUNNING",
        "the execution waits for 3-D Secure"
    );
    assert_eq!(
        s.stock()["TSHIRT-BLUE-L"],
        (24, 1, 0),
        "stock stays reserved while waiting"
    );
    let payment = waiting_payment(&s);

    let done = s.stepcart(&["payments", "authenticate", &payment, "--json"]);
    assert_eq!(done.code, 0, "{}", done.stderr);
    let describe = done.json();
    assert_eq!(describe["status"], "SUCCEEDED");
    assert_eq!(describe["name"], "three-ds-1");
    let output = output_of(&describe);
    assert_eq!(output["paymentId"], payment.as_str());
    assert_eq!(
        (
            output["subtotal"].as_i64(),
            output["discount"].as_i64(),
            output["total"].as_i64()
        ),
        (Some(3399), Some(500), Some(2899))
    );
    assert_eq!(s.stock()["TSHIRT-BLUE-L"], (24, 0, 1));
    assert_eq!(s.orders().len(), 1);

    let again = s.stepcart(&["payments", "authenticate", &payment]);
    assert_eq!(
        again.code, 2,
        "a payment that is no longer waiting cannot be authenticated again"
    );
    assert_eq!(s.orders().len(), 1);
    assert_conserved(&s);
}

#[test]
fn failed_three_d_secure_releases_stock_and_takes_no_money() {
    let s = Sandbox::new("3ds-fail");
    let (code, describe) = s.run_cart("three-d-secure", Some("three-ds-2"));
    assert_eq!((code, describe["status"].as_str()), (0, Some("RUNNING")));
    let payment = waiting_payment(&s);
    let done = s.stepcart(&["payments", "authenticate", &payment, "--fail", "--json"]);
    assert_eq!(done.code, 1, "{}", done.stderr);
    let describe = done.json();
    assert_eq!(describe["status"], "FAILED");
    assert_eq!(describe["error"], "PaymentAuthenticationFailed");
    assert!(describe["cause"].as_str().expect("cause").contains(&payment));
    assert_eq!(s.stock()["TSHIRT-BLUE-L"], (25, 0, 0));
    assert!(s.orders().is_empty());
    assert!(s.payments().iter().all(|p| p["captured"] == 0));
    assert_conserved(&s);
}

#[test]
fn the_same_name_and_input_never_makes_a_second_order_or_charge() {
    let s = Sandbox::new("idempotent");
    let (code, first) = s.run_cart("happy-path", Some("order-42"));
    assert_eq!((code, first["status"].as_str()), (0, Some("SUCCEEDED")));
    let (code, second) = s.run_cart("happy-path", Some("order-42"));
    assert_eq!(code, 0);
    assert_eq!(second["executionArn"], first["executionArn"]);
    assert_eq!(second["output"], first["output"]);
    assert_eq!(s.orders().len(), 1);
    assert_eq!(s.payments().len(), 1);
    assert_eq!(s.stock()["TSHIRT-RED-M"], (23, 0, 2));

    let other = s.stepcart(&["run", "examples/carts/discount.json", "--name", "order-42"]);
    assert_eq!(other.code, 2);
    assert!(
        other.stderr.contains("ExecutionAlreadyExists"),
        "{}",
        other.stderr
    );
    assert_eq!(s.orders().len(), 1);
}

#[test]
fn stock_is_conserved_across_a_sequence_of_every_cart() {
    let s = Sandbox::new("sequence");
    let carts = [
        "happy-path",
        "declined-card",
        "out-of-stock",
        "discount",
        "invalid-cart",
        "insufficient-funds",
        "three-d-secure",
        "happy-path",
    ];
    let mut succeeded = 0;
    for cart in carts {
        let (_, describe) = s.run_cart(cart, None);
        if describe["status"] == "SUCCEEDED" {
            succeeded += 1;
        }
        assert_conserved(&s);
    }
    assert_eq!(succeeded, 3);
    assert_eq!(s.orders().len(), 3);
    let stock = s.stock();
    assert_eq!(stock["TSHIRT-RED-M"], (19, 0, 6));
    assert_eq!(
        stock["TSHIRT-BLUE-L"],
        (24, 1, 0),
        "the 3-D Secure checkout still holds its unit"
    );
}

#[test]
fn no_wait_records_the_checkout_and_resume_finishes_it() {
    let s = Sandbox::new("resume");
    let run = s.stepcart(&[
        "run",
        "examples/carts/happy-path.json",
        "--no-wait",
        "--json",
        "--name",
        "later",
    ]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(run.json()["status"], "RUNNING");
    assert!(s.orders().is_empty());
    let resumed = s.stepcart(&["resume", "--json"]);
    assert_eq!(resumed.code, 0, "{}", resumed.stderr);
    assert_eq!(resumed.json()["status"], "SUCCEEDED");
    assert_eq!(s.orders().len(), 1);
}

#[test]
fn bad_usage_and_unreadable_input_exit_2_with_a_message() {
    let s = Sandbox::new("usage");
    let missing = s.stepcart(&["run", "examples/carts/nope.json"]);
    assert_eq!(missing.code, 2);
    assert!(missing.stderr.contains("nope.json"), "{}", missing.stderr);
    let not_json = s.stepcart(&["run", "README.md"]);
    assert_eq!(not_json.code, 2);
    assert!(not_json.stderr.contains("not valid JSON"), "{}", not_json.stderr);
    let bad_name = s.stepcart(&["run", "examples/carts/happy-path.json", "--name", "has space"]);
    assert_eq!(bad_name.code, 2);
    let bad_catalog = s.stepcart(&["seed", "--catalog", "examples/carts/happy-path.json"]);
    assert_eq!(bad_catalog.code, 2);
    assert!(s.orders().is_empty(), "nothing ran");
}

#[test]
fn seeding_twice_keeps_stock() {
    let s = Sandbox::new("seed");
    assert_eq!(s.stepcart(&["seed"]).code, 0);
    s.run_cart("happy-path", None);
    let after_run = s.stock();
    let reseed = s.stepcart(&["seed", "--catalog", "examples/catalog.json", "--json"]);
    assert_eq!(reseed.code, 0, "{}", reseed.stderr);
    assert_eq!(
        s.stock(),
        after_run,
        "reseeding neither creates nor destroys units"
    );
}

#[test]
fn exec_runs_any_definition() {
    let s = Sandbox::new("exec");
    let definition = s.dir.join("machine.asl.json");
    std::fs::write(
        &definition,
        json!({"StartAt": "Double", "States": {
            "Double": {"Type": "Pass", "Parameters": {"n.$": "States.MathAdd($.n, $.n)"}, "Next": "Big?"},
            "Big?": {"Type": "Choice", "Choices": [{"Variable": "$.n", "NumericGreaterThan": 10, "Next": "Done"}],
                     "Default": "TooSmall"},
            "TooSmall": {"Type": "Fail", "Error": "Small", "Cause": "n stayed small"},
            "Done": {"Type": "Succeed"}}})
        .to_string(),
    )
    .expect("write");
    let input = s.dir.join("input.json");
    std::fs::write(&input, r#"{"n": 6}"#).expect("write");
    let ok = s.stepcart(&[
        "exec",
        definition.to_str().expect("utf8"),
        "--input",
        input.to_str().expect("utf8"),
    ]);
    assert_eq!(ok.code, 0, "{}", ok.stderr);
    assert_eq!(ok.json(), json!({"status": "SUCCEEDED", "output": {"n": 12}}));
    std::fs::write(&input, r#"{"n": 2}"#).expect("write");
    let failed = s.stepcart(&[
        "exec",
        definition.to_str().expect("utf8"),
        "--input",
        input.to_str().expect("utf8"),
    ]);
    assert_eq!(failed.code, 1);
    assert_eq!(
        failed.json(),
        json!({"status": "FAILED", "error": "Small", "cause": "n stayed small"})
    );
}

#[test]
fn validate_accepts_the_checkout_and_locates_problems() {
    let s = Sandbox::new("validate");
    let ok = s.stepcart(&["validate"]);
    assert_eq!(ok.code, 0, "{}{}", ok.stdout, ok.stderr);
    let broken = s.dir.join("broken.asl.json");
    std::fs::write(
        &broken,
        r#"{"StartAt": "A", "States": {"A": {"Type": "Pass", "Next": "Nowhere"}}}"#,
    )
    .expect("write");
    let bad = s.stepcart(&["validate", broken.to_str().expect("utf8")]);
    assert_eq!(bad.code, 1);
    assert!(bad.stdout.contains("/States/A/Next"), "{}", bad.stdout);
    assert!(bad.stdout.contains("Nowhere"), "{}", bad.stdout);
    assert!(
        bad.stdout.contains("broken.asl.json:1:59: /States/A/Next:"),
        "line and column: {}",
        bad.stdout
    );
    let json = s.stepcart(&["validate", broken.to_str().expect("utf8"), "--json"]);
    let problem = &json.json()[0]["problems"][0];
    assert_eq!(
        (problem["line"].as_u64(), problem["column"].as_u64()),
        (Some(1), Some(59))
    );
}

#[test]
fn check_reports_a_broken_invariant() {
    let s = Sandbox::new("check");
    s.run_cart("happy-path", None);
    assert_eq!(s.stepcart(&["check"]).code, 0);
    // Take money behind the store's back: a captured payment with no order and no refund.
    let db = rusqlite::Connection::open(s.db()).expect("open the store file");
    db.execute("UPDATE orders SET payment_id = 'pi_elsewhere'", [])
        .expect("tamper");
    drop(db);
    let check = s.stepcart(&["check", "--json"]);
    assert_eq!(check.code, 1);
    let violations = check.json()["violations"].as_array().expect("list").clone();
    assert!(
        violations
            .iter()
            .any(|v| v.as_str().is_some_and(|v| v.contains("no refund"))),
        "{violations:?}"
    );
    assert!(
        violations
            .iter()
            .any(|v| v.as_str().is_some_and(|v| v.contains("pi_elsewhere"))),
        "{violations:?}"
    );
}
