//! Which adapters a Lambda container uses, from its environment (set by Terraform, see
//! docs/data-model.md): `STEPCART_BACKEND=aws` (DynamoDB tables `STEPCART_TABLE_*` / `STEPCART_ENV`, SNS
//! topic `STEPCART_NOTIFICATIONS_TOPIC_ARN`, Step Functions callbacks) or `embedded` (the SQLite store at
//! `STEPCART_DB`, default `/tmp/stepcart.db`, with the simulated payment provider: enough for
//! `cargo lambda watch` on a laptop). Everything is built once per container and reused.

use std::path::PathBuf;
use std::sync::Arc;

use async_trait::async_trait;
use serde_json::Value;
use stepcart_domain::PortError;
use stepcart_domain::notification::Notification;
use stepcart_domain::payment::{Payment, PaymentError, PaymentRequest, RefundOutcome};
use stepcart_domain::ports::{Notifier, PaymentGateway, TaskCallbacks};
use stepcart_store_sqlite::{SimulatedPayments, Store};
use stepcart_tasks::Ports;

#[derive(Debug, thiserror::Error)]
pub enum BackendError {
    #[error("STEPCART_BACKEND={0} is not known (embedded or aws)")]
    Unknown(String),
    #[error("STEPCART_BACKEND=aws needs a build with the `aws` feature")]
    NoAws,
    #[error("cannot open the embedded store at {path}: {message}")]
    Store { path: String, message: String },
}

/// Builds the ports from the environment, once per container.
pub async fn ports_from_env() -> Result<Ports, BackendError> {
    let backend = std::env::var("STEPCART_BACKEND").unwrap_or_else(|_| "embedded".to_owned());
    match backend.as_str() {
        "embedded" => {
            let path = std::env::var_os("STEPCART_DB")
                .map(PathBuf::from)
                .unwrap_or_else(|| "/tmp/stepcart.db".into());
            let store = Store::open(&path).map_err(|e| BackendError::Store {
                path: path.display().to_string(),
                message: e.to_string(),
            })?;
            Ok(embedded_ports(store))
        }
        #[cfg(feature = "aws")]
        "aws" => Ok(aws_ports(&stepcart_aws::AwsClients::from_env().await).await),
        #[cfg(not(feature = "aws"))]
        "aws" => Err(BackendError::NoAws),
        other => Err(BackendError::Unknown(other.to_owned())),
    }
}

/// The embedded store and simulated payments behind every port.
pub fn embedded_ports(store: Store) -> Ports {
    let payments = SimulatedPayments::new(&store);
    Ports::from_store(store, payments, Arc::new(NoStepFunctionsClient))
}

/// DynamoDB, SNS, Step Functions and Stripe, over clients built once per container.
#[cfg(feature = "aws")]
pub async fn aws_ports(clients: &stepcart_aws::AwsClients) -> Ports {
    use stepcart_aws::{DynamoStore, SfnCallbacks, SnsNotifier, TableNames};
    let tables = TableNames::from_env();
    let store = DynamoStore::new(clients.dynamodb.clone(), tables.clone());
    let notifier: Arc<dyn Notifier> = match std::env::var("STEPCART_NOTIFICATIONS_TOPIC_ARN") {
        Ok(arn) if !arn.is_empty() => Arc::new(SnsNotifier::new(
            clients.sns.clone(),
            clients.dynamodb.clone(),
            arn,
            tables.idempotency.clone(),
        )),
        _ => Arc::new(Unconfigured("STEPCART_NOTIFICATIONS_TOPIC_ARN is not set")),
    };
    let payments = stripe_payments(clients, &store).await;
    Ports {
        catalog: Arc::new(store.clone()),
        inventory: Arc::new(store.clone()),
        orders: Arc::new(store.clone()),
        authentication_waits: Arc::new(store),
        notifier,
        payments,
        callbacks: Arc::new(SfnCallbacks::new(clients.sfn.clone())),
    }
}

/// Stripe (`STEPCART_PAYMENT=stripe`, the default with the AWS backend): the secret key from the SSM
/// parameter `STEPCART_STRIPE_SECRET_KEY_PARAMETER` (read once per container) or `STRIPE_SECRET_KEY`, the
/// API at `STRIPE_API_BASE`, the ledger in the payments table. A missing setting makes every payment call
/// fail with a message naming it, never a charge attempt with a wrong key.
#[cfg(feature = "aws")]
async fn stripe_payments(
    clients: &stepcart_aws::AwsClients,
    store: &stepcart_aws::DynamoStore,
) -> Arc<dyn PaymentGateway> {
    match std::env::var("STEPCART_PAYMENT").as_deref() {
        Ok("stripe") | Err(_) => {}
        Ok(_) => {
            return Arc::new(Unconfigured(
                "STEPCART_PAYMENT must be stripe with STEPCART_BACKEND=aws",
            ));
        }
    }
    let key = match std::env::var("STEPCART_STRIPE_SECRET_KEY_PARAMETER") {
        Ok(name) if !name.is_empty() => {
            let parameters =
                stepcart_aws::Parameters::new(clients.ssm.clone(), std::time::Duration::from_secs(300));
            match parameters.get(&name).await {
                Ok(secret) => secret.expose().to_owned(),
                Err(e) => {
                    tracing::error!(parameter = %name, error = %e, "cannot read the Stripe secret key");
                    return Arc::new(Unconfigured("the Stripe secret key parameter cannot be read"));
                }
            }
        }
        _ => match std::env::var("STRIPE_SECRET_KEY") {
            Ok(key) if !key.is_empty() => key,
            _ => {
                return Arc::new(Unconfigured(
                    "set STEPCART_STRIPE_SECRET_KEY_PARAMETER (or STRIPE_SECRET_KEY) for STEPCART_PAYMENT=stripe",
                ));
            }
        },
    };
    let base =
        std::env::var("STRIPE_API_BASE").unwrap_or_else(|_| stepcart_stripe::DEFAULT_API_BASE.to_owned());
    match stepcart_stripe::StripeGateway::new(&key, &base, Arc::new(store.clone())) {
        Ok(gateway) if std::env::var("STEPCART_STRIPE_AUTOMATIC_PAYMENT_METHODS").as_deref() == Ok("off") => {
            Arc::new(gateway.without_automatic_payment_methods())
        }
        Ok(gateway) => Arc::new(gateway),
        Err(e) => {
            tracing::error!(error = %e, "cannot configure Stripe");
            Arc::new(Unconfigured(
                "the Stripe client cannot be configured (see the log)",
            ))
        }
    }
}

/// A port whose configuration is missing: every call says which setting to give, and the task fails
/// with a retryable error rather than pretending.
struct Unconfigured(&'static str);

#[async_trait]
impl Notifier for Unconfigured {
    async fn publish(&self, _notification: &Notification) -> Result<(), PortError> {
        Err(PortError::Failed(self.0.to_owned()))
    }
}

#[async_trait]
impl PaymentGateway for Unconfigured {
    async fn create_and_confirm(&self, _request: &PaymentRequest) -> Result<Payment, PaymentError> {
        Err(PaymentError::Unavailable(self.0.to_owned()))
    }
    async fn find_by_key(&self, _key: &str) -> Result<Option<Payment>, PaymentError> {
        Err(PaymentError::Unavailable(self.0.to_owned()))
    }
    async fn retrieve(&self, _payment_id: &str) -> Result<Payment, PaymentError> {
        Err(PaymentError::Unavailable(self.0.to_owned()))
    }
    async fn refund(&self, _payment_id: &str, _key: &str) -> Result<RefundOutcome, PaymentError> {
        Err(PaymentError::Unavailable(self.0.to_owned()))
    }
}

/// The embedded backend runs without Step Functions: a task token cannot be completed from here.
struct NoStepFunctionsClient;

#[async_trait]
impl TaskCallbacks for NoStepFunctionsClient {
    async fn succeed(&self, _task_token: &str, _output: Value) -> Result<(), PortError> {
        Err(PortError::Failed(
            "SendTaskSuccess needs STEPCART_BACKEND=aws (the embedded backend has no Step Functions)".into(),
        ))
    }

    async fn fail(&self, _task_token: &str, _error: &str, _cause: &str) -> Result<(), PortError> {
        Err(PortError::Failed(
            "SendTaskFailure needs STEPCART_BACKEND=aws (the embedded backend has no Step Functions)".into(),
        ))
    }
}
