//! `stepcart run --backend aws` on a moto server: every example cart gets the same status and error as in
//! the embedded run, and the stock left on DynamoDB equals the embedded store's. Built with
//! `--features aws` (scripts/test.sh builds the workspace with all features).
#![cfg(feature = "aws")]
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "../../aws/tests/moto.rs"]
mod moto;

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;
use stepcart_aws::{DynamoStore, TableNames};
use stepcart_domain::ports::Inventory;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn stepcart(endpoint: &str, db: &Path, args: &[&str]) -> (i32, Value, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_stepcart"))
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
    let _ = std::fs::remove_dir_all(&dir);
}
