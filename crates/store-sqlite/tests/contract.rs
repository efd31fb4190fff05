//! The ports' contract suite (crates/port-contract) against the SQLite store: the same cases the
//! DynamoDB adapter passes on moto (crates/aws/tests/contract.rs).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use async_trait::async_trait;
use stepcart_domain::catalog::{Discount, StockedProduct};
use stepcart_domain::ports::{AuthenticationWaits, Catalog, Inventory, Orders};
use stepcart_port_contract::{ContractStore, run_all};
use stepcart_store_sqlite::Store;

struct Sqlite(Store);

#[async_trait]
impl ContractStore for Sqlite {
    fn catalog(&self) -> &dyn Catalog {
        &self.0
    }
    fn inventory(&self) -> &dyn Inventory {
        &self.0
    }
    fn orders(&self) -> &dyn Orders {
        &self.0
    }
    fn waits(&self) -> &dyn AuthenticationWaits {
        &self.0
    }
    async fn seed(&self, products: &[StockedProduct], discounts: &[Discount]) {
        self.0.seed(products, discounts).await.expect("seed");
    }
    /// One stock row per SKU: the SQLite store serialises writers, so it needs no shards.
    async fn shard_stock(&self, _sku: &str, _shards: &[u32]) -> bool {
        false
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_store_keeps_the_port_contract() {
    let dir = std::env::temp_dir().join(format!("stepcart-contract-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let store = Store::open(&dir.join("contract.db")).expect("open");
    run_all(&Sqlite(store)).await;
    let _ = std::fs::remove_dir_all(&dir);
}
