//! A localstripe server (PyPI `localstripe`) started by the test itself on 127.0.0.1, one per test, in
//! memory (`scripts/testing/localstripe_server.py`). localstripe is looked for in
//! `.tools/stripe-py` (`python3 -m venv .tools/stripe-py && .tools/stripe-py/bin/pip install
//! localstripe`); `STEPCART_LOCALSTRIPE_PYTHON` names another Python that has it.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::collections::HashMap;
use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use async_trait::async_trait;
use stepcart_domain::PortError;
use stepcart_domain::payment::LedgerEntry;
use stepcart_domain::ports::PaymentLedger;

/// Any `sk_test_...` key works with localstripe.
pub const SECRET_KEY: &str = "sk_test_stepcartLocalstripeKey";

pub struct Localstripe {
    child: Child,
    pub base_url: String,
}

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn python() -> PathBuf {
    if let Ok(path) = std::env::var("STEPCART_LOCALSTRIPE_PYTHON") {
        return PathBuf::from(path);
    }
    let local = root().join(".tools/stripe-py/bin/python");
    if local.exists() {
        return local;
    }
    PathBuf::from("python3")
}

impl Localstripe {
    pub fn start() -> Localstripe {
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free port")
            .port();
        let exe = python();
        let mut child = Command::new(&exe)
            .arg(root().join("scripts/testing/localstripe_server.py"))
            .arg(port.to_string())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| {
                panic!(
                    "cannot start localstripe with {} ({e}): install it into .tools/stripe-py (python3 -m venv .tools/stripe-py && .tools/stripe-py/bin/pip install localstripe) or set STEPCART_LOCALSTRIPE_PYTHON",
                    exe.display()
                )
            });
        let deadline = Instant::now() + Duration::from_secs(30);
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            if let Ok(Some(status)) = child.try_wait() {
                panic!(
                    "localstripe exited ({status}) before listening: is localstripe installed for {}?",
                    exe.display()
                );
            }
            assert!(
                Instant::now() < deadline,
                "localstripe did not listen on port {port} within 30 s"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        Localstripe {
            child,
            base_url: format!("http://127.0.0.1:{port}/"),
        }
    }
}

impl Drop for Localstripe {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A PaymentLedger in memory, with the DynamoDB ledger's rules: `begin` keeps an existing entry,
/// `record` needs a begun entry and never changes its payment id.
#[derive(Default)]
pub struct MemoryLedger {
    entries: Mutex<HashMap<String, LedgerEntry>>,
    /// `record` calls to fail (as if the answer were lost), counted down.
    pub fail_records: Mutex<usize>,
    pub creates_begun: Mutex<usize>,
}

impl MemoryLedger {
    pub fn get(&self, key: &str) -> Option<LedgerEntry> {
        self.entries.lock().unwrap().get(key).cloned()
    }
}

#[async_trait]
impl PaymentLedger for MemoryLedger {
    async fn begin(&self, entry: &LedgerEntry) -> Result<(), PortError> {
        let mut entries = self.entries.lock().unwrap();
        if !entries.contains_key(&entry.idempotency_key) {
            *self.creates_begun.lock().unwrap() += 1;
            entries.insert(entry.idempotency_key.clone(), entry.clone());
        }
        Ok(())
    }

    async fn record(&self, idempotency_key: &str, payment_id: &str, status: &str) -> Result<(), PortError> {
        {
            let mut failing = self.fail_records.lock().unwrap();
            if *failing > 0 {
                *failing -= 1;
                return Err(PortError::Unavailable("ledger write lost (test)".into()));
            }
        }
        let mut entries = self.entries.lock().unwrap();
        let entry = entries
            .get_mut(idempotency_key)
            .ok_or_else(|| PortError::Failed(format!("no ledger entry {idempotency_key}")))?;
        if entry.payment_id.as_deref().is_some_and(|p| p != payment_id) {
            return Err(PortError::Failed(format!(
                "ledger entry {idempotency_key} holds another payment"
            )));
        }
        entry.payment_id = Some(payment_id.to_owned());
        entry.status = status.to_owned();
        Ok(())
    }

    async fn entry(&self, idempotency_key: &str) -> Result<Option<LedgerEntry>, PortError> {
        Ok(self.entries.lock().unwrap().get(idempotency_key).cloned())
    }
}
