//! The payments ledger on DynamoDB: `PAYMENT#<idempotency key>` items of the payments table
//! (docs/data-model.md), written before the provider is called.

use async_trait::async_trait;
use aws_sdk_dynamodb::error::SdkError;
use aws_sdk_dynamodb::operation::put_item::PutItemError;
use stepcart_domain::PortError;
use stepcart_domain::money::{Currency, Money};
use stepcart_domain::payment::LedgerEntry;
use stepcart_domain::ports::PaymentLedger;

use crate::attributes::{get_n, get_s, n, opt_s, s};
use crate::dynamo::{DynamoStore, now_rfc3339};
use crate::error::port_error;

fn key(idempotency_key: &str) -> String {
    format!("PAYMENT#{idempotency_key}")
}

#[async_trait]
impl PaymentLedger for DynamoStore {
    async fn begin(&self, entry: &LedgerEntry) -> Result<(), PortError> {
        let now = now_rfc3339();
        let put = self
            .client()
            .put_item()
            .table_name(&self.tables().payments)
            .item("pk", s(key(&entry.idempotency_key)))
            .item("paymentKey", s(&entry.idempotency_key))
            .item("executionName", s(&entry.execution_name))
            .item("orderId", s(&entry.order_id))
            .item("amount", n(entry.amount.amount))
            .item("currency", s(entry.amount.currency.as_str()))
            .item("status", s(&entry.status))
            .item("createdAt", s(&now))
            .item("updatedAt", s(&now))
            .condition_expression("attribute_not_exists(pk)")
            .send()
            .await;
        match put {
            Ok(_) => Ok(()),
            // Begun by an earlier attempt: kept as it is.
            Err(SdkError::ServiceError(e))
                if matches!(e.err(), PutItemError::ConditionalCheckFailedException(_)) =>
            {
                Ok(())
            }
            Err(e) => Err(port_error("PutItem payments", e)),
        }
    }

    async fn record(&self, idempotency_key: &str, payment_id: &str, status: &str) -> Result<(), PortError> {
        self.client()
            .update_item()
            .table_name(&self.tables().payments)
            .key("pk", s(key(idempotency_key)))
            .update_expression("SET paymentId = :p, #status = :s, updatedAt = :now")
            .condition_expression(
                "attribute_exists(pk) AND (attribute_not_exists(paymentId) OR paymentId = :p)",
            )
            .expression_attribute_names("#status", "status")
            .expression_attribute_values(":p", s(payment_id))
            .expression_attribute_values(":s", s(status))
            .expression_attribute_values(":now", s(now_rfc3339()))
            .send()
            .await
            .map_err(|e| port_error("UpdateItem payments", e))?;
        Ok(())
    }

    async fn record_refund(&self, idempotency_key: &str, refunded: i64) -> Result<(), PortError> {
        self.client()
            .update_item()
            .table_name(&self.tables().payments)
            .key("pk", s(key(idempotency_key)))
            .update_expression("SET refundStatus = :refunded, refundedAmount = :amount, updatedAt = :now")
            .condition_expression("attribute_exists(pk)")
            .expression_attribute_values(":refunded", s("refunded"))
            .expression_attribute_values(":amount", n(refunded))
            .expression_attribute_values(":now", s(now_rfc3339()))
            .send()
            .await
            .map_err(|e| port_error("UpdateItem payments", e))?;
        Ok(())
    }

    async fn entry(&self, idempotency_key: &str) -> Result<Option<LedgerEntry>, PortError> {
        let table = &self.tables().payments;
        let out = self
            .client()
            .get_item()
            .table_name(table)
            .key("pk", s(key(idempotency_key)))
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| port_error("GetItem payments", e))?;
        let Some(item) = out.item else { return Ok(None) };
        let code = get_s(&item, table, "currency")?;
        let currency =
            Currency::parse(code).map_err(|_| PortError::Failed(format!("{table}: bad currency {code}")))?;
        Ok(Some(LedgerEntry {
            idempotency_key: idempotency_key.to_owned(),
            execution_name: get_s(&item, table, "executionName")?.to_owned(),
            order_id: get_s(&item, table, "orderId")?.to_owned(),
            amount: Money::new(get_n(&item, table, "amount")?, currency),
            payment_id: opt_s(&item, "paymentId").map(str::to_owned),
            status: get_s(&item, table, "status")?.to_owned(),
        }))
    }
}
