//! Resuming a waiting task through Step Functions' `SendTaskSuccess` / `SendTaskFailure`.

use async_trait::async_trait;
use serde_json::Value;
use stepcart_domain::PortError;
use stepcart_domain::ports::TaskCallbacks;

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
            .map_err(|e| port_error("SendTaskSuccess", e))?;
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
            .map_err(|e| port_error("SendTaskFailure", e))?;
        Ok(())
    }
}
