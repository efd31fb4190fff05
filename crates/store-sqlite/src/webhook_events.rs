//! Stripe webhook events received by the local server: each event id has at most one effect. A delivery
//! claims the id for a lease, finishes it once its effect is recorded, or releases it so that Stripe's
//! retry can try again; a claim whose delivery crashed lapses when its lease ends.

use rusqlite::{OptionalExtension, params};

use crate::error::StoreError;
use crate::store::{Store, now_rfc3339};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WebhookClaim {
    /// This delivery owns the event: act on it, then finish or release it.
    First,
    /// The event was handled already: do nothing, and say so (2xx: Stripe stops retrying).
    Done,
    /// Another delivery holds the event and may still fail: answer non-2xx, so that Stripe retries.
    InProgress,
}

impl Store {
    pub async fn claim_webhook_event(
        &self,
        event_id: &str,
        event_type: &str,
        now_unix: i64,
        lease_secs: i64,
    ) -> Result<WebhookClaim, StoreError> {
        let (id, kind) = (event_id.to_owned(), event_type.to_owned());
        self.run(move |conn| {
            let tx = conn.savepoint()?;
            let held: Option<(String, i64)> = tx
                .query_row(
                    "SELECT state, lease_until_unix FROM webhook_events WHERE event_id = ?1",
                    [&id],
                    |row| Ok((row.get(0)?, row.get(1)?)),
                )
                .optional()?;
            let claim = match held {
                Some((state, _)) if state == "done" => WebhookClaim::Done,
                Some((_, lease)) if lease > now_unix => WebhookClaim::InProgress,
                _ => {
                    tx.execute(
                        "INSERT INTO webhook_events (event_id, event_type, state, lease_until_unix, received_at)
                         VALUES (?1, ?2, 'processing', ?3, ?4)
                         ON CONFLICT (event_id) DO UPDATE SET state = 'processing', lease_until_unix = ?3",
                        params![id, kind, now_unix.saturating_add(lease_secs), now_rfc3339()],
                    )?;
                    WebhookClaim::First
                }
            };
            tx.commit()?;
            Ok(claim)
        })
        .await
    }

    pub async fn finish_webhook_event(&self, event_id: &str) -> Result<(), StoreError> {
        let id = event_id.to_owned();
        self.run(move |conn| {
            conn.execute(
                "UPDATE webhook_events SET state = 'done' WHERE event_id = ?1",
                [id],
            )?;
            Ok(())
        })
        .await
    }

    /// Releases every claim still being processed: at start, when no delivery of this process can
    /// still hold one (a crash left them behind), so that Stripe's retries are not turned away.
    pub async fn release_webhook_claims(&self) -> Result<usize, StoreError> {
        self.run(|conn| Ok(conn.execute("DELETE FROM webhook_events WHERE state = 'processing'", [])?))
            .await
    }

    pub async fn release_webhook_event(&self, event_id: &str) -> Result<(), StoreError> {
        let id = event_id.to_owned();
        self.run(move |conn| {
            conn.execute(
                "DELETE FROM webhook_events WHERE event_id = ?1 AND state = 'processing'",
                [id],
            )?;
            Ok(())
        })
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn an_event_has_one_effect_and_a_lapsed_or_released_claim_can_be_taken_again() {
        let store = Store::open_in_memory().expect("store");
        let claim = |id: &'static str, now: i64| {
            let store = store.clone();
            async move {
                store
                    .claim_webhook_event(id, "payment_intent.succeeded", now, 60)
                    .await
                    .expect("claim")
            }
        };
        assert_eq!(claim("evt_1", 1000).await, WebhookClaim::First);
        assert_eq!(
            claim("evt_1", 1010).await,
            WebhookClaim::InProgress,
            "held by the first delivery"
        );
        assert_eq!(
            claim("evt_1", 1061).await,
            WebhookClaim::First,
            "the lease lapsed"
        );
        store.finish_webhook_event("evt_1").await.expect("finish");
        assert_eq!(claim("evt_1", 99_999).await, WebhookClaim::Done, "done is done");
        assert_eq!(claim("evt_2", 1000).await, WebhookClaim::First);
        store.release_webhook_event("evt_2").await.expect("release");
        assert_eq!(
            claim("evt_2", 1001).await,
            WebhookClaim::First,
            "released for a retry"
        );
    }
}
