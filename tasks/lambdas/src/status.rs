//! The `checkout-status` function behind `GET /checkouts/{executionName}`: the execution's
//! DescribeExecution fields and, while it waits for 3-D Secure, the `nextAction` the client needs to
//! finish the authentication with Stripe.js (interfaces: `{"type": "authenticate_payment", "paymentId",
//! "clientSecret"}`).

use std::sync::Arc;

use aws_sdk_sfn::error::ProvideErrorMetadata;
use serde_json::{Map, Value, json};

use crate::proxy_response;
use stepcart_domain::ids::{CheckoutIds, is_valid_execution_name};
use stepcart_domain::payment::PaymentStatus;
use stepcart_domain::ports::PaymentGateway;

pub struct Status {
    pub sfn: aws_sdk_sfn::Client,
    /// The checkout state machine, `arn:aws:states:REGION:ACCOUNT:stateMachine:NAME`.
    pub state_machine_arn: String,
    pub payments: Arc<dyn PaymentGateway>,
}

fn rfc3339(at: &aws_sdk_sfn::primitives::DateTime) -> Value {
    at.fmt(aws_sdk_sfn::primitives::DateTimeFormat::DateTime)
        .map_or(Value::Null, Value::String)
}

impl Status {
    /// The execution ARN of `name` under the checkout state machine.
    pub fn execution_arn(&self, name: &str) -> String {
        format!(
            "{}:{name}",
            self.state_machine_arn
                .replacen(":stateMachine:", ":execution:", 1)
        )
    }

    /// Answers one API Gateway proxy event.
    pub async fn handle(&self, event: &Value) -> Value {
        let name = event
            .pointer("/pathParameters/id")
            .or_else(|| event.pointer("/pathParameters/executionName"))
            .and_then(Value::as_str)
            .unwrap_or_default();
        if !is_valid_execution_name(name) {
            return proxy_response(
                400,
                json!({"message": "the checkout id is not a valid execution name"}),
            );
        }
        let described = self
            .sfn
            .describe_execution()
            .execution_arn(self.execution_arn(name))
            .send()
            .await;
        let execution = match described {
            Ok(e) => e,
            Err(e) if e.code() == Some("ExecutionDoesNotExist") => {
                return proxy_response(404, json!({"message": format!("no checkout {name}")}));
            }
            Err(e) => {
                tracing::warn!(error = ?e.code(), "DescribeExecution failed");
                return proxy_response(
                    503,
                    json!({"message": "the checkout's status is unavailable; try again"}),
                );
            }
        };
        let mut body = Map::new();
        body.insert("executionArn".into(), json!(execution.execution_arn()));
        body.insert("stateMachineArn".into(), json!(execution.state_machine_arn()));
        body.insert("name".into(), json!(execution.name().unwrap_or(name)));
        body.insert("status".into(), json!(execution.status().as_str()));
        body.insert("startDate".into(), rfc3339(execution.start_date()));
        if let Some(stop) = execution.stop_date() {
            body.insert("stopDate".into(), rfc3339(stop));
        }
        for (key, value) in [
            ("input", execution.input()),
            ("output", execution.output()),
            ("error", execution.error()),
            ("cause", execution.cause()),
        ] {
            if let Some(v) = value {
                body.insert(key.into(), json!(v));
            }
        }
        if execution.status().as_str() == "RUNNING" {
            let key = CheckoutIds::for_execution(name).payment_key;
            if let Ok(Some(payment)) = self.payments.find_by_key(&key).await
                && payment.status == PaymentStatus::RequiresAction
            {
                body.insert(
                    "nextAction".into(),
                    json!({"type": "authenticate_payment", "paymentId": payment.payment_id,
                           "clientSecret": payment.client_secret}),
                );
            }
        }
        proxy_response(200, Value::Object(body))
    }
}
