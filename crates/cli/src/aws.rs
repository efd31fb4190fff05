//! The AWS side of the CLI (cargo feature `aws`): the checkout's domain data on DynamoDB and SNS instead of
//! the embedded store (`stepcart run --backend aws`), and `stepcart aws bootstrap`. Clients come from the
//! standard AWS configuration; `AWS_ENDPOINT_URL` points them at a local endpoint such as moto.

use std::sync::Arc;
use stepcart_aws::bootstrap::{BootstrapReport, Environment, bootstrap};
use stepcart_aws::{AwsClients, DynamoStore, SnsNotifier, TableNames};

use stepcart_domain::catalog::{Discount, StockedProduct};
use stepcart_domain::ports::PaymentGateway;

use crate::local::LocalError;

/// The environment whose resources the CLI uses: `STEPCART_ENV`, default `dev` (the names Terraform's
/// dev environment uses).
pub fn environment_name() -> String {
    std::env::var("STEPCART_ENV")
        .ok()
        .filter(|e| !e.is_empty())
        .unwrap_or_else(|| "dev".to_owned())
}

/// The AWS adapters of the domain ports the local engine's tasks use with `--backend aws`.
pub struct AwsDomain {
    pub store: DynamoStore,
    pub notifier: SnsNotifier,
    /// Stripe (`--payment stripe`), with its ledger in the payments table; `None`: the simulated provider.
    pub payments: Option<Arc<dyn PaymentGateway>>,
}

fn aws_error(message: impl std::fmt::Display) -> LocalError {
    LocalError::Engine(format!("AWS backend: {message}"))
}

impl AwsDomain {
    pub async fn connect(stripe: bool) -> Result<AwsDomain, LocalError> {
        let clients = AwsClients::from_env().await;
        let tables = TableNames::from_env();
        let env = Environment::new(&environment_name());
        let topic_arn = match std::env::var("STEPCART_NOTIFICATIONS_TOPIC_ARN") {
            Ok(arn) if !arn.is_empty() => arn,
            _ => find_topic(&clients, &env.topic_name()).await?,
        };
        require_tables(&clients, &tables).await?;
        let store = DynamoStore::new(clients.dynamodb.clone(), tables.clone());
        let payments = if stripe {
            Some(stripe_gateway(&store)?)
        } else {
            None
        };
        Ok(AwsDomain {
            payments,
            store,
            notifier: SnsNotifier::new(
                clients.sns.clone(),
                clients.dynamodb.clone(),
                topic_arn,
                tables.idempotency.clone(),
            ),
        })
    }
}

/// Stripe from `STRIPE_SECRET_KEY` and `STRIPE_API_BASE` (default Stripe's own), as the Lambdas read
/// them. `STEPCART_STRIPE_AUTOMATIC_PAYMENT_METHODS=off` leaves out a parameter that Stripe needs and
/// Stripe-compatible test servers (localstripe) refuse.
fn stripe_gateway(store: &DynamoStore) -> Result<Arc<dyn PaymentGateway>, LocalError> {
    let key = std::env::var("STRIPE_SECRET_KEY")
        .ok()
        .filter(|k| !k.is_empty())
        .ok_or_else(|| aws_error("--payment stripe needs STRIPE_SECRET_KEY"))?;
    let base =
        std::env::var("STRIPE_API_BASE").unwrap_or_else(|_| stepcart_stripe::DEFAULT_API_BASE.to_owned());
    let gateway =
        stepcart_stripe::StripeGateway::new(&key, &base, Arc::new(store.clone())).map_err(aws_error)?;
    Ok(
        if std::env::var("STEPCART_STRIPE_AUTOMATIC_PAYMENT_METHODS").as_deref() == Ok("off") {
            Arc::new(gateway.without_automatic_payment_methods())
        } else {
            Arc::new(gateway)
        },
    )
}

async fn find_topic(clients: &AwsClients, name: &str) -> Result<String, LocalError> {
    let mut next = None;
    loop {
        let page = clients
            .sns
            .list_topics()
            .set_next_token(next)
            .send()
            .await
            .map_err(|e| aws_error(format!("ListTopics: {}", stepcart_aws::error_chain(&e))))?;
        if let Some(arn) = page
            .topics()
            .iter()
            .filter_map(|t| t.topic_arn())
            .find(|arn| arn.rsplit(':').next() == Some(name))
        {
            return Ok(arn.to_owned());
        }
        next = page.next_token;
        if next.is_none() {
            return Err(aws_error(format!(
                "no SNS topic {name}; run `stepcart aws bootstrap` first or set STEPCART_NOTIFICATIONS_TOPIC_ARN"
            )));
        }
    }
}

async fn missing_tables(clients: &AwsClients, tables: &TableNames) -> Result<Vec<String>, LocalError> {
    let mut missing = Vec::new();
    for table in tables.all() {
        match clients.dynamodb.describe_table().table_name(table).send().await {
            Ok(_) => {}
            Err(e)
                if e.as_service_error()
                    .is_some_and(|s| s.is_resource_not_found_exception()) =>
            {
                missing.push(table.to_owned());
            }
            Err(e) => {
                return Err(aws_error(format!(
                    "DescribeTable {table}: {}",
                    stepcart_aws::error_chain(&e)
                )));
            }
        }
    }
    Ok(missing)
}

/// `stepcart aws bootstrap`: tables, topic, parameters and the catalog, on the configured endpoint.
pub async fn run_bootstrap(
    products: &[StockedProduct],
    discounts: &[Discount],
) -> Result<(Environment, BootstrapReport), LocalError> {
    let clients = AwsClients::from_env().await;
    let mut env = Environment::new(&environment_name());
    env.tables = TableNames::from_env();
    let report = bootstrap(&clients, &env, products, discounts)
        .await
        .map_err(aws_error)?;
    Ok((env, report))
}

/// `stepcart check --backend aws`: the DynamoDB invariant checker. The payments it checks orders against
/// are the ledger's with `--payment stripe`, otherwise the simulated provider's, which live in the
/// embedded store `local` (as do the executions: those still running are skipped).
pub async fn check_invariants(
    local: &stepcart_store_sqlite::Store,
    stripe: bool,
) -> Result<Vec<String>, LocalError> {
    let store = bootstrapped_store().await?;
    let store_error = |e: stepcart_store_sqlite::StoreError| aws_error(format!("the embedded store: {e}"));
    let running = local
        .running_executions()
        .await
        .map_err(store_error)?
        .iter()
        .filter_map(|arn| arn.rsplit(':').next().map(str::to_owned))
        .collect();
    let payments = if stripe {
        None
    } else {
        Some(
            local
                .payments()
                .await
                .map_err(store_error)?
                .into_iter()
                .map(|p| stepcart_aws::PaymentRecord {
                    payment_id: Some(p.payment_id),
                    idempotency_key: p.idempotency_key,
                    execution_name: p.execution_name,
                    order_id: p.order_id,
                    amount: p.amount,
                    currency: p.currency,
                    status: p.status.as_str().to_owned(),
                    captured: p.captured,
                    refunded: p.refunded,
                    status_may_be_stale: false,
                })
                .collect(),
        )
    };
    store
        .check_invariants_with(&stepcart_aws::InvariantOptions { payments, running })
        .await
        .map_err(aws_error)
}

/// `stepcart orders --backend aws`: the orders table, newest first, in the embedded store's row shape.
pub async fn orders() -> Result<Vec<stepcart_store_sqlite::OrderRow>, LocalError> {
    let store = bootstrapped_store().await?;
    let orders = store.list_orders().await.map_err(aws_error)?;
    Ok(orders
        .into_iter()
        .map(|listed| stepcart_store_sqlite::OrderRow {
            order_id: listed.order.order_id,
            status: listed.order.status.as_str().to_owned(),
            total: listed.order.total,
            currency: listed.order.currency.as_str().to_owned(),
            payment_id: listed.order.payment_id,
            execution_name: listed.order.execution_name,
            created_at: listed.created_at,
        })
        .collect())
}

/// The DynamoDB store of the configured environment, once its tables exist.
async fn bootstrapped_store() -> Result<DynamoStore, LocalError> {
    let clients = AwsClients::from_env().await;
    let tables = TableNames::from_env();
    require_tables(&clients, &tables).await?;
    Ok(DynamoStore::new(clients.dynamodb.clone(), tables))
}

/// An error naming the tables the endpoint lacks, if any.
async fn require_tables(clients: &AwsClients, tables: &TableNames) -> Result<(), LocalError> {
    let missing = missing_tables(clients, tables).await?;
    if missing.is_empty() {
        return Ok(());
    }
    Err(aws_error(format!(
        "tables {} do not exist on this endpoint; run `stepcart aws bootstrap` first",
        missing.join(", ")
    )))
}
