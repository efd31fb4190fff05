//! Webhook event deduplication: `STRIPE_EVENT#<id>` items of the idempotency table (docs/data-model.md).
//! A delivery claims its event with a lease; a duplicate finds it claimed (or done) and has no effect; a
//! delivery that crashed holding the lease can be taken over once the lease has run out.

use aws_sdk_dynamodb::error::SdkError;
use aws_sdk_dynamodb::operation::put_item::PutItemError;
use stepcart_domain::PortError;

use crate::attributes::{n, s};
use crate::dynamo::{DynamoStore, now_rfc3339};
use crate::error::port_error;

/// How long a claimed event is kept from duplicates: longer than Stripe retries a delivery (3 days).
const EVENT_TTL_SECONDS: i64 = 7 * 24 * 3600;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Claim {
    /// This delivery is the first (or takes over an expired lease): process the event.
    First,
    /// The event was handled already: do nothing, and say so (2xx: Stripe stops retrying).
    Done,
    /// Another delivery holds the event and may still fail or crash: answer non-2xx, so that Stripe
    /// retries until the event is done (or the lease runs out and a retry takes it over).
    InProgress,
}

impl DynamoStore {
    /// Claims a webhook event for `lease_seconds`.
    pub async fn claim_event(
        &self,
        event_id: &str,
        event_type: &str,
        lease_seconds: i64,
    ) -> Result<Claim, PortError> {
        let now = time::OffsetDateTime::now_utc().unix_timestamp();
        let put = self
            .client()
            .put_item()
            .table_name(&self.tables().idempotency)
            .item("pk", s(format!("STRIPE_EVENT#{event_id}")))
            .item("eventType", s(event_type))
            .item("status", s("processing"))
            .item("leaseUntil", n(now + lease_seconds))
            .item("receivedAt", s(now_rfc3339()))
            .item("expiresAt", n(now + EVENT_TTL_SECONDS))
            .condition_expression("attribute_not_exists(pk) OR (#status = :processing AND leaseUntil < :now)")
            .expression_attribute_names("#status", "status")
            .expression_attribute_values(":processing", s("processing"))
            .expression_attribute_values(":now", n(now))
            .send()
            .await;
        match put {
            Ok(_) => Ok(Claim::First),
            Err(SdkError::ServiceError(e))
                if matches!(e.err(), PutItemError::ConditionalCheckFailedException(_)) =>
            {
                let held = self
                    .client()
                    .get_item()
                    .table_name(&self.tables().idempotency)
                    .key("pk", s(format!("STRIPE_EVENT#{event_id}")))
                    .consistent_read(true)
                    .send()
                    .await
                    .map_err(|e| port_error("GetItem idempotency", e))?;
                let done = held
                    .item()
                    .and_then(|item| item.get("status"))
                    .and_then(|v| v.as_s().ok())
                    .is_some_and(|status| status == "done");
                Ok(if done { Claim::Done } else { Claim::InProgress })
            }
            Err(e) => Err(port_error("PutItem idempotency", e)),
        }
    }

    /// Marks a claimed event as handled, for good.
    pub async fn finish_event(&self, event_id: &str) -> Result<(), PortError> {
        self.client()
            .update_item()
            .table_name(&self.tables().idempotency)
            .key("pk", s(format!("STRIPE_EVENT#{event_id}")))
            .update_expression("SET #status = :done")
            .expression_attribute_names("#status", "status")
            .expression_attribute_values(":done", s("done"))
            .send()
            .await
            .map_err(|e| port_error("UpdateItem idempotency", e))?;
        Ok(())
    }

    /// Gives a claimed event back (its handling failed), so Stripe's retry can process it.
    pub async fn release_event(&self, event_id: &str) -> Result<(), PortError> {
        self.client()
            .delete_item()
            .table_name(&self.tables().idempotency)
            .key("pk", s(format!("STRIPE_EVENT#{event_id}")))
            .condition_expression("#status = :processing")
            .expression_attribute_names("#status", "status")
            .expression_attribute_values(":processing", s("processing"))
            .send()
            .await
            .map_err(|e| port_error("DeleteItem idempotency", e))?;
        Ok(())
    }
}
