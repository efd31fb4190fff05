//! `stepcart executions list|describe|history`: executions through the Step Functions API (aws-sdk-sfn).

use clap::Args;

use crate::{GlobalArgs, Outcome, UsageError};

#[derive(Args)]
pub struct ExecutionsArgs {}

pub async fn run(_global: &GlobalArgs, _args: ExecutionsArgs) -> Result<Outcome, UsageError> {
    Err(UsageError::Usage("`stepcart executions` is not built yet".into()))
}
