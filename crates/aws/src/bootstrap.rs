//! `stepcart aws bootstrap`: creates an environment's tables (docs/data-model.md), parameters and topic on
//! an endpoint, and loads a catalog. Meant for a local endpoint (moto) or a fresh dev account; in a
//! deployed environment Terraform owns these resources. Everything is idempotent: what exists is kept.

use std::time::Duration;

use aws_sdk_dynamodb::types::{
    AttributeDefinition, BillingMode, GlobalSecondaryIndex, KeySchemaElement, KeyType, Projection,
    ProjectionType, ScalarAttributeType, TableStatus, TimeToLiveSpecification,
};
use aws_sdk_ssm::types::ParameterType;
use stepcart_domain::PortError;
use stepcart_domain::catalog::{Discount, StockedProduct};

use crate::AwsClients;
use crate::dynamo::DynamoStore;
use crate::error::port_error;
use crate::tables::TableNames;

/// What an environment's resources are called, besides its tables.
#[derive(Clone, Debug)]
pub struct Environment {
    pub name: String,
    pub tables: TableNames,
}

impl Environment {
    pub fn new(name: &str) -> Environment {
        Environment {
            name: name.to_owned(),
            tables: TableNames::for_environment(name),
        }
    }

    pub fn topic_name(&self) -> String {
        format!("stepcart-{}-notifications.fifo", self.name)
    }

    pub fn stripe_secret_key_parameter(&self) -> String {
        format!("/stepcart/{}/stripe/secret-key", self.name)
    }

    pub fn stripe_webhook_secret_parameter(&self) -> String {
        format!("/stepcart/{}/stripe/webhook-secret", self.name)
    }
}

/// What bootstrap created or found.
#[derive(Clone, Debug, Default, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct BootstrapReport {
    pub tables_created: Vec<String>,
    pub tables_existing: Vec<String>,
    pub topic_arn: String,
    pub parameters: Vec<String>,
    pub products: usize,
    pub discounts: usize,
}

struct TableSpec<'a> {
    name: &'a str,
    partition: (&'a str, ScalarAttributeType),
    sort: Option<(&'a str, ScalarAttributeType)>,
    ttl: Option<&'a str>,
    by_customer_index: bool,
}

fn specs(t: &TableNames) -> Vec<TableSpec<'_>> {
    use ScalarAttributeType::{N, S};
    vec![
        TableSpec {
            name: &t.catalog,
            partition: ("pk", S),
            sort: None,
            ttl: None,
            by_customer_index: false,
        },
        TableSpec {
            name: &t.stock,
            partition: ("sku", S),
            sort: Some(("shard", N)),
            ttl: None,
            by_customer_index: false,
        },
        TableSpec {
            name: &t.reservations,
            partition: ("reservationId", S),
            sort: None,
            ttl: Some("expiresAt"),
            by_customer_index: false,
        },
        TableSpec {
            name: &t.orders,
            partition: ("orderId", S),
            sort: None,
            ttl: None,
            by_customer_index: true,
        },
        TableSpec {
            name: &t.payments,
            partition: ("pk", S),
            sort: None,
            ttl: Some("expiresAt"),
            by_customer_index: false,
        },
        TableSpec {
            name: &t.idempotency,
            partition: ("pk", S),
            sort: None,
            ttl: Some("expiresAt"),
            by_customer_index: false,
        },
    ]
}

fn build_err(e: impl std::fmt::Display) -> PortError {
    PortError::Failed(format!("building a request: {e}"))
}

/// Creates the missing tables and waits until every table is ACTIVE.
pub async fn create_tables(
    clients: &AwsClients,
    tables: &TableNames,
) -> Result<(Vec<String>, Vec<String>), PortError> {
    let db = &clients.dynamodb;
    let mut created = Vec::new();
    let mut existing = Vec::new();
    let listed = list_tables(db).await?;
    for spec in specs(tables) {
        if listed.iter().any(|t| t == spec.name) {
            existing.push(spec.name.to_owned());
            continue;
        }
        let mut attributes = vec![
            AttributeDefinition::builder()
                .attribute_name(spec.partition.0)
                .attribute_type(spec.partition.1.clone())
                .build()
                .map_err(build_err)?,
        ];
        let mut keys = vec![
            KeySchemaElement::builder()
                .attribute_name(spec.partition.0)
                .key_type(KeyType::Hash)
                .build()
                .map_err(build_err)?,
        ];
        if let Some((name, ty)) = &spec.sort {
            attributes.push(
                AttributeDefinition::builder()
                    .attribute_name(*name)
                    .attribute_type(ty.clone())
                    .build()
                    .map_err(build_err)?,
            );
            keys.push(
                KeySchemaElement::builder()
                    .attribute_name(*name)
                    .key_type(KeyType::Range)
                    .build()
                    .map_err(build_err)?,
            );
        }
        let mut request = db
            .create_table()
            .table_name(spec.name)
            .billing_mode(BillingMode::PayPerRequest)
            .set_key_schema(Some(keys));
        if spec.by_customer_index {
            for name in ["customerId", "createdAt"] {
                attributes.push(
                    AttributeDefinition::builder()
                        .attribute_name(name)
                        .attribute_type(ScalarAttributeType::S)
                        .build()
                        .map_err(build_err)?,
                );
            }
            request = request.global_secondary_indexes(
                GlobalSecondaryIndex::builder()
                    .index_name("byCustomer")
                    .key_schema(
                        KeySchemaElement::builder()
                            .attribute_name("customerId")
                            .key_type(KeyType::Hash)
                            .build()
                            .map_err(build_err)?,
                    )
                    .key_schema(
                        KeySchemaElement::builder()
                            .attribute_name("createdAt")
                            .key_type(KeyType::Range)
                            .build()
                            .map_err(build_err)?,
                    )
                    .projection(
                        Projection::builder()
                            .projection_type(ProjectionType::Include)
                            .non_key_attributes("status")
                            .non_key_attributes("total")
                            .non_key_attributes("currency")
                            .build(),
                    )
                    .build()
                    .map_err(build_err)?,
            );
        }
        request
            .set_attribute_definitions(Some(attributes))
            .send()
            .await
            .map_err(|e| port_error(&format!("CreateTable {}", spec.name), e))?;
        created.push(spec.name.to_owned());
    }
    for spec in specs(tables) {
        wait_active(db, spec.name).await?;
        if let Some(attribute) = spec.ttl
            && created.iter().any(|c| c == spec.name)
        {
            db.update_time_to_live()
                .table_name(spec.name)
                .time_to_live_specification(
                    TimeToLiveSpecification::builder()
                        .attribute_name(attribute)
                        .enabled(true)
                        .build()
                        .map_err(build_err)?,
                )
                .send()
                .await
                .map_err(|e| port_error(&format!("UpdateTimeToLive {}", spec.name), e))?;
        }
    }
    Ok((created, existing))
}

async fn list_tables(db: &aws_sdk_dynamodb::Client) -> Result<Vec<String>, PortError> {
    let mut names = Vec::new();
    let mut start: Option<String> = None;
    loop {
        let out = db
            .list_tables()
            .set_exclusive_start_table_name(start)
            .send()
            .await
            .map_err(|e| port_error("ListTables", e))?;
        names.extend(out.table_names().iter().cloned());
        start = out.last_evaluated_table_name;
        if start.is_none() {
            return Ok(names);
        }
    }
}

async fn wait_active(db: &aws_sdk_dynamodb::Client, table: &str) -> Result<(), PortError> {
    for _ in 0..120 {
        let out = db
            .describe_table()
            .table_name(table)
            .send()
            .await
            .map_err(|e| port_error(&format!("DescribeTable {table}"), e))?;
        if out.table().and_then(|t| t.table_status()) == Some(&TableStatus::Active) {
            return Ok(());
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    Err(PortError::Unavailable(format!(
        "table {table} did not become ACTIVE within a minute"
    )))
}

/// Creates the tables, the notifications topic and the Stripe parameters (placeholders that are never
/// overwritten), then loads the catalog: products, discounts and each product's stock on one shard.
pub async fn bootstrap(
    clients: &AwsClients,
    env: &Environment,
    products: &[StockedProduct],
    discounts: &[Discount],
) -> Result<BootstrapReport, PortError> {
    let (tables_created, tables_existing) = create_tables(clients, &env.tables).await?;
    let topic = clients
        .sns
        .create_topic()
        .name(env.topic_name())
        .attributes("FifoTopic", "true")
        .attributes("ContentBasedDeduplication", "false")
        .send()
        .await
        .map_err(|e| port_error("CreateTopic", e))?;
    let topic_arn = topic
        .topic_arn()
        .ok_or_else(|| PortError::Failed("CreateTopic returned no TopicArn".into()))?
        .to_owned();
    let mut parameters = Vec::new();
    for name in [
        env.stripe_secret_key_parameter(),
        env.stripe_webhook_secret_parameter(),
    ] {
        let put = clients
            .ssm
            .put_parameter()
            .name(&name)
            .r#type(ParameterType::SecureString)
            .value("set-me-outside-terraform")
            .overwrite(false)
            .send()
            .await;
        match put {
            Ok(_) => {}
            Err(e)
                if e.as_service_error()
                    .is_some_and(|s| s.is_parameter_already_exists()) => {}
            Err(e) => return Err(port_error(&format!("PutParameter {name}"), e)),
        }
        parameters.push(name);
    }
    let store = DynamoStore::new(clients.dynamodb.clone(), env.tables.clone());
    for p in products {
        store.put_product(&p.product, 1).await?;
        store.put_stock(&p.product.sku, &[p.stock]).await?;
    }
    for d in discounts {
        store.put_discount(d).await?;
    }
    Ok(BootstrapReport {
        tables_created,
        tables_existing,
        topic_arn,
        parameters,
        products: products.len(),
        discounts: discounts.len(),
    })
}
