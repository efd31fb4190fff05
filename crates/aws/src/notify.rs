//! Notifications through SNS, once per deduplication key: a `NOTIFY#<key>` record in the idempotency
//! table is written before publishing (`pending`) and marked `sent` after; a repeat of a sent key is
//! accepted and not published again. FIFO topics also get the key as `MessageDeduplicationId`, so a
//! re-publish after a crash between publish and mark is dropped by SNS.

use async_trait::async_trait;
use aws_sdk_dynamodb::error::SdkError;
use aws_sdk_dynamodb::operation::put_item::PutItemError;
use stepcart_domain::PortError;
use stepcart_domain::notification::Notification;
use stepcart_domain::ports::Notifier;

use crate::attributes::{get_s, n, s};
use crate::dynamo::now_rfc3339;
use crate::error::port_error;

/// A notification record lives as long as a reservation: longer than an execution name stays taken.
const NOTIFY_TTL_SECONDS: i64 = 100 * 24 * 3600;

#[derive(Clone, Debug)]
pub struct SnsNotifier {
    sns: aws_sdk_sns::Client,
    dynamo: aws_sdk_dynamodb::Client,
    topic_arn: String,
    idempotency_table: String,
}

impl SnsNotifier {
    pub fn new(
        sns: aws_sdk_sns::Client,
        dynamo: aws_sdk_dynamodb::Client,
        topic_arn: String,
        idempotency_table: String,
    ) -> SnsNotifier {
        SnsNotifier {
            sns,
            dynamo,
            topic_arn,
            idempotency_table,
        }
    }

    async fn status(&self, key: &str) -> Result<Option<String>, PortError> {
        let out = self
            .dynamo
            .get_item()
            .table_name(&self.idempotency_table)
            .key("pk", s(key))
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| port_error("GetItem idempotency", e))?;
        out.item
            .map(|item| get_s(&item, &self.idempotency_table, "status").map(str::to_owned))
            .transpose()
    }
}

#[async_trait]
impl Notifier for SnsNotifier {
    async fn publish(&self, notification: &Notification) -> Result<(), PortError> {
        let key = format!("NOTIFY#{}", notification.dedup_key);
        let claimed = self
            .dynamo
            .put_item()
            .table_name(&self.idempotency_table)
            .item("pk", s(&key))
            .item("kind", s(notification.kind.as_str()))
            .item("status", s("pending"))
            .item("createdAt", s(now_rfc3339()))
            .item(
                "expiresAt",
                n(time::OffsetDateTime::now_utc().unix_timestamp() + NOTIFY_TTL_SECONDS),
            )
            .condition_expression("attribute_not_exists(pk)")
            .send()
            .await;
        match claimed {
            Ok(_) => {}
            Err(SdkError::ServiceError(e))
                if matches!(e.err(), PutItemError::ConditionalCheckFailedException(_)) =>
            {
                // Sent already: nothing to do. Pending: an earlier attempt may have died between
                // publishing and marking; publish again (SNS FIFO or the consumer drops the duplicate).
                if self.status(&key).await?.as_deref() == Some("sent") {
                    return Ok(());
                }
            }
            Err(e) => return Err(port_error("PutItem idempotency", e)),
        }
        let message = serde_json::json!({
            "kind": notification.kind.as_str(),
            "dedupKey": notification.dedup_key,
            "to": notification.customer_email,
            "subject": notification.subject,
            "detail": notification.detail,
        });
        let mut publish = self
            .sns
            .publish()
            .topic_arn(&self.topic_arn)
            .subject(&notification.subject)
            .message(message.to_string());
        if self.topic_arn.ends_with(".fifo") {
            publish = publish
                .message_group_id(&notification.customer_email)
                .message_deduplication_id(&notification.dedup_key);
        }
        let published = publish.send().await.map_err(|e| port_error("Publish", e))?;
        let mut mark = self
            .dynamo
            .update_item()
            .table_name(&self.idempotency_table)
            .key("pk", s(&key))
            .update_expression("SET #status = :sent")
            .expression_attribute_names("#status", "status")
            .expression_attribute_values(":sent", s("sent"));
        if let Some(id) = published.message_id() {
            mark = mark
                .update_expression("SET #status = :sent, messageId = :id")
                .expression_attribute_values(":id", s(id));
        }
        mark.send()
            .await
            .map_err(|e| port_error("UpdateItem idempotency", e))?;
        Ok(())
    }
}
