//! The ports' contract suite (crates/port-contract) against the DynamoDB adapter on a moto server.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod moto;

use async_trait::async_trait;
use stepcart_aws::DynamoStore;
use stepcart_aws::bootstrap::{Environment, create_tables};
use stepcart_domain::catalog::{Discount, StockedProduct};
use stepcart_domain::ports::{AuthenticationWaits, Catalog, Inventory, Orders};
use stepcart_port_contract::{ContractStore, run_all};

struct Dynamo(DynamoStore);

#[async_trait]
impl ContractStore for Dynamo {
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
        for p in products {
            self.0.put_product(&p.product, 1).await.expect("put product");
            self.0
                .put_stock(&p.product.sku, &[p.stock])
                .await
                .expect("put stock");
        }
        for d in discounts {
            self.0.put_discount(d).await.expect("put discount");
        }
    }
    async fn shard_stock(&self, sku: &str, shards: &[u32]) -> bool {
        self.0.put_stock(sku, shards).await.expect("put shards");
        true
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dynamodb_adapter_keeps_the_port_contract() {
    let moto = moto::Moto::start();
    let clients = moto.clients().await;
    let env = Environment::new("contract");
    create_tables(&clients, &env.tables).await.expect("tables");
    run_all(&Dynamo(DynamoStore::new(
        clients.dynamodb.clone(),
        env.tables.clone(),
    )))
    .await;
}
