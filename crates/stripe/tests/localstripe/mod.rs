//! A localstripe server (PyPI `localstripe`) started by the test itself on 127.0.0.1, one per test, in
//! memory (`scripts/testing/localstripe_server.py`). localstripe is looked for in
//! `.tools/stripe-py` (`python3 -m venv .tools/stripe-py && .tools/stripe-py/bin/pip install
//! localstripe`); `STEPCART_LOCALSTRIPE_PYTHON` names another Python that has it.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::collections::HashMap;
use std::sync::Mutex;

use async_trait::async_trait;
use stepcart_domain::PortError;
use stepcart_domain::payment::LedgerEntry;
use stepcart_domain::ports::PaymentLedger;
use stepcart_port_contract::server::PythonServer;

/// Any `sk_test_...` key works with localstripe.
pub const SECRET_KEY: &str = "sk_test_stepcartLocalstripeKey";

pub struct Localstripe {
    _server: PythonServer,
    pub base_url: String,
}

impl Localstripe {
    pub fn start() -> Localstripe {
        let server = PythonServer::start(
            "localstripe_server.py",
            "STEPCART_LOCALSTRIPE_PYTHON",
            "stripe-py",
            "localstripe",
            "install it into .tools/stripe-py (python3 -m venv .tools/stripe-py && .tools/stripe-py/bin/pip install localstripe)",
        );
        Localstripe {
            base_url: format!("http://127.0.0.1:{}/", server.port),
            _server: server,
        }
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
    /// What `record_refund` was told, by key.
    pub refunds: Mutex<HashMap<String, i64>>,
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

    async fn record_refund(&self, idempotency_key: &str, refunded: i64) -> Result<(), PortError> {
        if !self.entries.lock().unwrap().contains_key(idempotency_key) {
            return Err(PortError::Failed(format!("no ledger entry {idempotency_key}")));
        }
        self.refunds
            .lock()
            .unwrap()
            .insert(idempotency_key.to_owned(), refunded);
        Ok(())
    }
}
