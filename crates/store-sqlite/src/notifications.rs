use async_trait::async_trait;
use rusqlite::{OptionalExtension, params};
use serde::Serialize;
use stepcart_domain::PortError;
use stepcart_domain::notification::Notification;
use stepcart_domain::ports::{AuthenticationWaits, Notifier};

use crate::error::StoreError;
use crate::store::{Store, now_rfc3339};

/// A notification in the outbox.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct NotificationRow {
    pub dedup_key: String,
    /// `OrderConfirmed` or `PaymentFailed`.
    pub kind: String,
    pub customer_email: String,
    pub subject: String,
    pub detail: serde_json::Value,
    pub created_at: String,
}

impl Store {
    /// The outbox, oldest first (the order they were published in).
    pub async fn notifications(&self) -> Result<Vec<NotificationRow>, StoreError> {
        self.run(|conn| {
            let mut stmt = conn.prepare(
                "SELECT dedup_key, kind, customer_email, subject, detail, created_at
                 FROM notifications ORDER BY rowid",
            )?;
            let rows = stmt.query_map([], |row| {
                Ok((
                    row.get::<_, String>(0)?,
                    row.get::<_, String>(1)?,
                    row.get::<_, String>(2)?,
                    row.get::<_, String>(3)?,
                    row.get::<_, String>(4)?,
                    row.get::<_, String>(5)?,
                ))
            })?;
            rows.map(|row| {
                let (dedup_key, kind, customer_email, subject, detail, created_at) = row?;
                let detail = serde_json::from_str(&detail)
                    .map_err(|e| StoreError::corrupt(format!("notifications[{dedup_key}].detail"), e))?;
                Ok(NotificationRow {
                    dedup_key,
                    kind,
                    customer_email,
                    subject,
                    detail,
                    created_at,
                })
            })
            .collect()
        })
        .await
    }
}

#[async_trait]
impl Notifier for Store {
    async fn publish(&self, notification: &Notification) -> Result<(), PortError> {
        let detail = serde_json::to_string(&notification.detail)
            .map_err(|e| PortError::Failed(format!("notification detail does not serialise: {e}")))?;
        let n = notification.clone();
        self.run(move |conn| {
            // DO NOTHING: the first publication under a key is the one that counts, like SNS FIFO dedup.
            conn.execute(
                "INSERT INTO notifications (dedup_key, kind, customer_email, subject, detail, created_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6) ON CONFLICT (dedup_key) DO NOTHING",
                params![
                    n.dedup_key,
                    n.kind.as_str(),
                    n.customer_email,
                    n.subject,
                    detail,
                    now_rfc3339()
                ],
            )?;
            Ok(())
        })
        .await?;
        Ok(())
    }
}

#[async_trait]
impl AuthenticationWaits for Store {
    /// The latest registration wins: a retried wait task gets a new token from Step Functions and the
    /// old one can no longer be completed.
    async fn register(&self, payment_id: &str, task_token: &str) -> Result<(), PortError> {
        let (payment_id, task_token) = (payment_id.to_owned(), task_token.to_owned());
        self.run(move |conn| {
            conn.execute(
                "INSERT INTO authentication_waits (payment_id, task_token, registered_at) VALUES (?1, ?2, ?3)
                 ON CONFLICT (payment_id) DO UPDATE SET task_token = excluded.task_token,
                     registered_at = excluded.registered_at",
                params![payment_id, task_token, now_rfc3339()],
            )?;
            Ok(())
        })
        .await?;
        Ok(())
    }

    async fn task_token(&self, payment_id: &str) -> Result<Option<String>, PortError> {
        let payment_id = payment_id.to_owned();
        let token = self
            .run(move |conn| {
                Ok(conn
                    .query_row(
                        "SELECT task_token FROM authentication_waits WHERE payment_id = ?1",
                        [payment_id],
                        |row| row.get(0),
                    )
                    .optional()?)
            })
            .await?;
        Ok(token)
    }
}
