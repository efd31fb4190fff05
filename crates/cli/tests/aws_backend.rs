//! `stepcart run --backend aws` on a moto server: every example cart gets the same status and error as in
//! the embedded run, and the stock left on DynamoDB equals the embedded store's. Built with
//! `--features aws` (scripts/test.sh builds the workspace with all features).
#![cfg(feature = "aws")]
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "../../aws/tests/moto.rs"]
mod moto;

#[path = "../../stripe/tests/localstripe/mod.rs"]
mod localstripe;

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;
use stepcart_aws::{DynamoStore, TableNames};
use stepcart_domain::ports::Inventory;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn stepcart(endpoint: &str, db: &Path, args: &[&str]) -> (i32, Value, String) {
    stepcart_with(endpoint, db, args, &[])
}

fn stepcart_with(endpoint: &str, db: &Path, args: &[&str], env: &[(&str, &str)]) -> (i32, Value, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_stepcart"))
        .envs(env.iter().copied())
        .current_dir(root())
        .arg("--db")
        .arg(db)
        .arg("--json")
        .args(args)
        .env("AWS_ENDPOINT_URL", endpoint)
        .env("AWS_ACCESS_KEY_ID", "test")
        .env("AWS_SECRET_ACCESS_KEY", "test")
        .env("AWS_REGION", "us-east-1")
        .env("STEPCART_ENV", "e2e")
        .env_remove("STEPCART_BACKEND")
        .env_remove("STEPCART_DB")
        .output()
        .expect("run stepcart");
    let stdout = String::from_utf8_lossy(&out.stdout).to_string();
    let stderr = String::from_utf8_lossy(&out.stderr).to_string();
    let json = serde_json::from_str(stdout.trim()).unwrap_or_else(|e| {
        panic!("stepcart {args:?}: stdout is not JSON ({e}):\n{stdout}\nstderr:\n{stderr}")
    });
    (out.status.code().unwrap_or(-1), json, stderr)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn example_carts_end_the_same_on_dynamodb_as_on_the_embedded_store() {
    let moto = moto::Moto::start();
    let dir = std::env::temp_dir().join(format!("stepcart-aws-e2e-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("temp dir");
    let (embedded_db, aws_db) = (dir.join("embedded.db"), dir.join("aws.db"));

    let (code, report, stderr) = stepcart(&moto.endpoint, &aws_db, &["aws", "bootstrap"]);
    assert_eq!(code, 0, "bootstrap: {stderr}");
    assert_eq!(
        report["tablesCreated"].as_array().map(Vec::len),
        Some(6),
        "{report}"
    );

    let mut carts: Vec<PathBuf> = std::fs::read_dir(root().join("examples/carts"))
        .expect("carts")
        .map(|e| e.expect("entry").path())
        .collect();
    carts.sort();
    assert!(carts.len() >= 7);
    for cart in &carts {
        let cart = cart.to_str().expect("utf-8 path");
        let name = format!(
            "e2e-{}",
            Path::new(cart)
                .file_stem()
                .and_then(|s| s.to_str())
                .expect("stem")
        );
        let (code_e, embedded, _) = stepcart(&moto.endpoint, &embedded_db, &["run", cart, "--name", &name]);
        let (code_a, aws, stderr) = stepcart(
            &moto.endpoint,
            &aws_db,
            &["--backend", "aws", "run", cart, "--name", &name],
        );
        assert_eq!(code_a, code_e, "{cart}: exit code (aws stderr: {stderr})");
        for field in ["status", "error"] {
            assert_eq!(
                aws[field], embedded[field],
                "{cart}: {field}\naws: {aws}\nembedded: {embedded}"
            );
        }
    }

    let (_, embedded_stock, _) = stepcart(&moto.endpoint, &embedded_db, &["stock"]);
    let clients = moto.clients().await;
    let store = DynamoStore::new(clients.dynamodb.clone(), TableNames::for_environment("e2e"));
    let aws_stock = serde_json::to_value(store.stock(&[]).await.expect("stock")).expect("json");
    let pick = |levels: &Value| -> Vec<(String, i64, i64)> {
        levels
            .as_array()
            .expect("array")
            .iter()
            .map(|l| {
                (
                    l["sku"].as_str().unwrap_or_default().to_owned(),
                    l["available"].as_i64().unwrap_or(-1),
                    l["reserved"].as_i64().unwrap_or(-1),
                )
            })
            .collect()
    };
    assert_eq!(pick(&aws_stock), pick(&embedded_stock), "stock after every cart");
    let (code, cli_aws_stock, stderr) = stepcart(&moto.endpoint, &aws_db, &["--backend", "aws", "stock"]);
    assert_eq!(code, 0, "stock --backend aws: {stderr}");
    assert_eq!(
        pick(&cli_aws_stock),
        pick(&aws_stock),
        "`stepcart --backend aws stock` reads DynamoDB"
    );

    // The same orders, placed by the same checkouts, listed from each backend.
    let orders = |db: &Path, backend: &[&str]| -> Vec<(String, String, i64, String)> {
        let args: Vec<&str> = backend.iter().copied().chain(["orders"]).collect();
        let (code, listed, stderr) = stepcart(&moto.endpoint, db, &args);
        assert_eq!(code, 0, "orders {backend:?}: {stderr}");
        let mut rows: Vec<_> = listed
            .as_array()
            .expect("array")
            .iter()
            .map(|o| {
                let text = |k: &str| o[k].as_str().unwrap_or_default().to_owned();
                let arn = text("executionArn");
                let execution = arn.rsplit(':').next().unwrap_or_default().to_owned();
                (
                    execution,
                    text("status"),
                    o["total"].as_i64().unwrap_or(-1),
                    text("currency"),
                )
            })
            .collect();
        rows.sort();
        rows
    };
    let embedded_orders = orders(&embedded_db, &[]);
    assert!(!embedded_orders.is_empty(), "the happy carts placed orders");
    assert_eq!(
        orders(&aws_db, &["--backend", "aws"]),
        embedded_orders,
        "`stepcart --backend aws orders` reads DynamoDB"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

/// `--backend aws --payment stripe` on moto and localstripe. localstripe knows `pm_card_visa` but not
/// Stripe's other test PaymentMethod ids, so the carts that use those get a PaymentMethod localstripe
/// made for the matching test card (declined: 4000000000000341; 3-D Secure: 4000002500003155). Every cart
/// must end as its original does in the embedded run with the simulated provider.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn example_carts_end_the_same_with_stripe_on_localstripe() {
    let moto = moto::Moto::start();
    let stripe = localstripe::Localstripe::start();
    let dir = std::env::temp_dir().join(format!("stepcart-stripe-e2e-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("temp dir");
    let (embedded_db, aws_db) = (dir.join("embedded.db"), dir.join("aws.db"));
    let env = [
        ("STRIPE_SECRET_KEY", localstripe::SECRET_KEY),
        ("STRIPE_API_BASE", stripe.base_url.as_str()),
        ("STEPCART_STRIPE_AUTOMATIC_PAYMENT_METHODS", "off"),
    ];
    let (code, _, stderr) = stepcart(&moto.endpoint, &aws_db, &["aws", "bootstrap"]);
    assert_eq!(code, 0, "bootstrap: {stderr}");

    let clients = moto.clients().await;
    let ledger = std::sync::Arc::new(DynamoStore::new(
        clients.dynamodb.clone(),
        TableNames::for_environment("e2e"),
    ));
    let gateway = stepcart_stripe::StripeGateway::new(localstripe::SECRET_KEY, &stripe.base_url, ledger)
        .expect("gateway")
        .without_automatic_payment_methods();
    let declined = gateway
        .localstripe_card_payment_method("4000000000000341")
        .await
        .expect("pm");
    let three_d_secure = gateway
        .localstripe_card_payment_method("4000002500003155")
        .await
        .expect("pm");

    let mut carts: Vec<PathBuf> = std::fs::read_dir(root().join("examples/carts"))
        .expect("carts")
        .map(|e| e.expect("entry").path())
        .collect();
    carts.sort();
    for cart in &carts {
        let original = cart.to_str().expect("utf-8 path");
        let mut request: Value =
            serde_json::from_str(&std::fs::read_to_string(cart).expect("read")).expect("json");
        let method = request["paymentMethod"].as_str().unwrap_or_default().to_owned();
        let substitute = match method.as_str() {
            "pm_card_visa_chargeDeclined" | "pm_card_visa_chargeDeclinedInsufficientFunds" => Some(&declined),
            "pm_card_authenticationRequired" => Some(&three_d_secure),
            _ => None,
        };
        if let Some(pm) = substitute {
            request["paymentMethod"] = Value::String(pm.clone());
        }
        let translated = dir.join(cart.file_name().expect("name"));
        std::fs::write(&translated, request.to_string()).expect("write");
        let name = format!(
            "stripe-{}",
            Path::new(original)
                .file_stem()
                .and_then(|s| s.to_str())
                .expect("stem")
        );
        let (code_e, embedded, _) =
            stepcart(&moto.endpoint, &embedded_db, &["run", original, "--name", &name]);
        let (code_s, with_stripe, stderr) = stepcart_with(
            &moto.endpoint,
            &aws_db,
            &[
                "--backend",
                "aws",
                "--payment",
                "stripe",
                "run",
                translated.to_str().expect("utf-8"),
                "--name",
                &name,
            ],
            &env,
        );
        assert_eq!(code_s, code_e, "{original}: exit code (stderr: {stderr})");
        for field in ["status", "error"] {
            assert_eq!(
                with_stripe[field], embedded[field],
                "{original}: {field}\nstripe: {with_stripe}\nembedded: {embedded}"
            );
        }
        if with_stripe["status"] == "SUCCEEDED" {
            let output: Value =
                serde_json::from_str(with_stripe["output"].as_str().expect("output")).expect("json");
            assert!(
                output["paymentId"].as_str().is_some_and(|p| p.starts_with("pi_")),
                "{output}"
            );
        }
    }
    let _ = std::fs::remove_dir_all(&dir);
}
