//! Resuming a waiting task through Step Functions' `SendTaskSuccess` / `SendTaskFailure`.

use async_trait::async_trait;
use serde_json::Value;
use stepcart_domain::PortError;
use stepcart_domain::ports::TaskCallbacks;

use aws_sdk_sfn::error::ProvideErrorMetadata as _;

use crate::error::port_error;

#[derive(Clone, Debug)]
pub struct SfnCallbacks {
    client: aws_sdk_sfn::Client,
}

impl SfnCallbacks {
    pub fn new(client: aws_sdk_sfn::Client) -> SfnCallbacks {
        SfnCallbacks { client }
    }
}

#[async_trait]
impl TaskCallbacks for SfnCallbacks {
    async fn succeed(&self, task_token: &str, output: Value) -> Result<(), PortError> {
        self.client
            .send_task_success()
            .task_token(task_token)
            .output(output.to_string())
            .send()
            .await
            .map_err(|e| callback_error("SendTaskSuccess", e))?;
        Ok(())
    }

    async fn fail(&self, task_token: &str, error: &str, cause: &str) -> Result<(), PortError> {
        self.client
            .send_task_failure()
            .task_token(task_token)
            .error(error)
            .cause(cause)
            .send()
            .await
            .map_err(|e| callback_error("SendTaskFailure", e))?;
        Ok(())
    }
}

/// A token Step Functions no longer accepts (its task ended or never was) is `Closed`, not a failure.
fn callback_error<E, R>(operation: &str, error: aws_sdk_sfn::error::SdkError<E, R>) -> PortError
where
    E: aws_sdk_sfn::error::ProvideErrorMetadata + std::error::Error + 'static,
    R: std::fmt::Debug,
{
    match error.code() {
        Some(code @ ("TaskTimedOut" | "InvalidToken" | "TaskDoesNotExist")) => {
            PortError::Closed(format!("{operation}: {code}"))
        }
        _ => port_error(operation, error),
    }
}
