//! Which adapters a Lambda container uses. Until the AWS adapters land (DynamoDB, SSM, Stripe,
//! `aws-sdk-sfn` callbacks: issue [3 of 6]), the only backend is the embedded store, at `STEPCART_DB`
//! (default `/tmp/stepcart.db`), with the simulated payment provider: enough to run the functions under
//! `cargo lambda watch` on a laptop.

use std::path::PathBuf;
use std::sync::Arc;

use async_trait::async_trait;
use serde_json::Value;
use stepcart_domain::PortError;
use stepcart_domain::ports::TaskCallbacks;
use stepcart_store_sqlite::{SimulatedPayments, Store};
use stepcart_tasks::Ports;

#[derive(Debug, thiserror::Error)]
pub enum BackendError {
    #[error("STEPCART_BACKEND={0} is not available in this build (known: embedded)")]
    Unknown(String),
    #[error("cannot open the embedded store at {path}: {message}")]
    Store { path: String, message: String },
}

/// Builds the ports from the environment, once per container.
pub fn ports_from_env() -> Result<Ports, BackendError> {
    let backend = std::env::var("STEPCART_BACKEND").unwrap_or_else(|_| "embedded".to_owned());
    if backend != "embedded" {
        return Err(BackendError::Unknown(backend));
    }
    let path = std::env::var_os("STEPCART_DB")
        .map(PathBuf::from)
        .unwrap_or_else(|| "/tmp/stepcart.db".into());
    let store = Store::open(&path).map_err(|e| BackendError::Store {
        path: path.display().to_string(),
        message: e.to_string(),
    })?;
    Ok(embedded_ports(store))
}

/// The embedded store and simulated payments behind every port.
pub fn embedded_ports(store: Store) -> Ports {
    let payments = SimulatedPayments::new(&store);
    Ports::from_store(store, payments, Arc::new(NoStepFunctionsClient))
}

/// A Lambda completes a task token through the Step Functions API; without an SFN client (issue 3) it
/// says so instead of pretending.
struct NoStepFunctionsClient;

#[async_trait]
impl TaskCallbacks for NoStepFunctionsClient {
    async fn succeed(&self, _task_token: &str, _output: Value) -> Result<(), PortError> {
        Err(PortError::Failed(
            "SendTaskSuccess needs the aws backend, not available in this build".into(),
        ))
    }

    async fn fail(&self, _task_token: &str, _error: &str, _cause: &str) -> Result<(), PortError> {
        Err(PortError::Failed(
            "SendTaskFailure needs the aws backend, not available in this build".into(),
        ))
    }
}
