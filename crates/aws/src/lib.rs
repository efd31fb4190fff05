//! The AWS adapters of stepcart's ports: DynamoDB for the catalog, stock, reservations, orders and
//! 3-D Secure waits (docs/data-model.md), SNS for notifications, Step Functions for task callbacks, and
//! SSM Parameter Store for configuration and secrets.
//!
//! It knows the domain's ports and AWS; it knows nothing about the ASL engine, SQLite or HTTP. Clients are
//! built once ([`AwsClients::from_env`]) from the standard AWS configuration; `AWS_ENDPOINT_URL` points
//! every client at a local endpoint (moto) for tests and `stepcart run --backend aws`.

mod attributes;
pub mod bootstrap;
mod callbacks;
mod config;
mod dynamo;
mod error;
mod events;
mod invariants;
mod ledger;
mod notify;
mod tables;

pub use callbacks::SfnCallbacks;
pub use config::{Parameters, Secret};
pub use dynamo::{DynamoStore, ListedOrder, MAX_PIECES};
pub use error::error_chain;
pub use events::Claim;
pub use invariants::{InvariantOptions, PaymentRecord};
pub use notify::SnsNotifier;
pub use tables::TableNames;

/// One client per AWS service, sharing one configuration (credentials, region, endpoint).
#[derive(Clone, Debug)]
pub struct AwsClients {
    pub dynamodb: aws_sdk_dynamodb::Client,
    pub sfn: aws_sdk_sfn::Client,
    pub sns: aws_sdk_sns::Client,
    pub ssm: aws_sdk_ssm::Client,
}

impl AwsClients {
    /// Clients from the standard AWS configuration chain (environment, profile, container or instance
    /// credentials; `AWS_REGION`; `AWS_ENDPOINT_URL`).
    pub async fn from_env() -> AwsClients {
        let config = aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await;
        AwsClients::from_config(&config)
    }

    pub fn from_config(config: &aws_config::SdkConfig) -> AwsClients {
        AwsClients {
            dynamodb: aws_sdk_dynamodb::Client::new(config),
            sfn: aws_sdk_sfn::Client::new(config),
            sns: aws_sdk_sns::Client::new(config),
            ssm: aws_sdk_ssm::Client::new(config),
        }
    }
}
