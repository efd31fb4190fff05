//! The adapters beyond the store ports, on a moto server: the payments ledger, notifications once per
//! key through SNS (counted at an SQS queue subscribed to the topic), and SSM parameters with a cache.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod moto;

use std::time::Duration;

use aws_sdk_ssm::types::ParameterType;
use serde_json::json;
use stepcart_aws::bootstrap::{Environment, bootstrap};
use stepcart_aws::{DynamoStore, Parameters, SnsNotifier};
use stepcart_domain::notification::{Notification, NotificationKind};
use stepcart_domain::payment::LedgerEntry;
use stepcart_domain::ports::{Notifier, PaymentLedger};
use stepcart_domain::{Currency, Money};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ledger_notifications_and_parameters_on_moto() {
    let moto = moto::Moto::start();
    let clients = moto.clients().await;
    let env = Environment::new("services");
    let report = bootstrap(&clients, &env, &[], &[]).await.expect("bootstrap");
    assert_eq!(report.tables_created.len(), 6);
    let again = bootstrap(&clients, &env, &[], &[])
        .await
        .expect("bootstrap twice");
    assert_eq!(again.tables_existing.len(), 6, "bootstrap is idempotent");
    assert_eq!(again.topic_arn, report.topic_arn);

    // Ledger: the first attempt is kept; the payment id is recorded once.
    let store = DynamoStore::new(clients.dynamodb.clone(), env.tables.clone());
    let entry = LedgerEntry {
        idempotency_key: "stepcart-pay-abc".into(),
        execution_name: "exec-1".into(),
        order_id: "ord_1".into(),
        amount: Money::new(4997, Currency::parse("EUR").expect("EUR")),
        payment_id: None,
        status: "pending".into(),
    };
    store.begin(&entry).await.expect("begin");
    let mut other = entry.clone();
    other.amount = Money::new(1, Currency::parse("EUR").expect("EUR"));
    store.begin(&other).await.expect("begin again");
    assert_eq!(
        store.entry("stepcart-pay-abc").await.expect("read"),
        Some(entry.clone())
    );
    store
        .record("stepcart-pay-abc", "pi_1", "succeeded")
        .await
        .expect("record");
    let recorded = store
        .entry("stepcart-pay-abc")
        .await
        .expect("read")
        .expect("entry");
    assert_eq!(
        (recorded.payment_id.as_deref(), recorded.status.as_str()),
        (Some("pi_1"), "succeeded")
    );
    assert!(
        store
            .record("stepcart-pay-abc", "pi_other", "succeeded")
            .await
            .is_err(),
        "a key's payment id never changes"
    );
    assert!(
        store
            .record("stepcart-pay-none", "pi_2", "succeeded")
            .await
            .is_err(),
        "no entry, no record"
    );
    assert_eq!(store.entry("stepcart-pay-none").await.expect("read"), None);

    // Notifications: published once per dedup key, counted at a FIFO queue subscribed to the topic.
    let sqs = aws_sdk_sqs::Client::new(
        &aws_config::defaults(aws_config::BehaviorVersion::latest())
            .endpoint_url(&moto.endpoint)
            .region(aws_config::Region::new("us-east-1"))
            .credentials_provider(aws_sdk_dynamodb::config::Credentials::new(
                "test", "test", None, None, "moto",
            ))
            .load()
            .await,
    );
    let queue = sqs
        .create_queue()
        .queue_name("notifications.fifo")
        .attributes(aws_sdk_sqs::types::QueueAttributeName::FifoQueue, "true")
        .send()
        .await
        .expect("queue");
    let queue_url = queue.queue_url().expect("url").to_owned();
    let queue_arn = sqs
        .get_queue_attributes()
        .queue_url(&queue_url)
        .attribute_names(aws_sdk_sqs::types::QueueAttributeName::QueueArn)
        .send()
        .await
        .expect("attributes")
        .attributes()
        .and_then(|a| a.get(&aws_sdk_sqs::types::QueueAttributeName::QueueArn).cloned())
        .expect("arn");
    clients
        .sns
        .subscribe()
        .topic_arn(&report.topic_arn)
        .protocol("sqs")
        .endpoint(&queue_arn)
        .attributes("RawMessageDelivery", "true")
        .send()
        .await
        .expect("subscribe");
    let notifier = SnsNotifier::new(
        clients.sns.clone(),
        clients.dynamodb.clone(),
        report.topic_arn.clone(),
        env.tables.idempotency.clone(),
    );
    let confirmed = Notification {
        kind: NotificationKind::OrderConfirmed,
        dedup_key: "stepcart-notify-1-OrderConfirmed".into(),
        customer_email: "ada@example.com".into(),
        subject: "Your order ord_1".into(),
        detail: json!({"orderId": "ord_1"}),
    };
    notifier.publish(&confirmed).await.expect("publish");
    notifier.publish(&confirmed).await.expect("publish again");
    let mut other = confirmed.clone();
    other.dedup_key = "stepcart-notify-2-OrderConfirmed".into();
    notifier.publish(&other).await.expect("another key");
    let mut bodies = Vec::new();
    for _ in 0..5 {
        let got = sqs
            .receive_message()
            .queue_url(&queue_url)
            .max_number_of_messages(10)
            .send()
            .await
            .expect("receive");
        bodies.extend(got.messages().iter().filter_map(|m| m.body().map(str::to_owned)));
        if bodies.len() >= 2 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert_eq!(bodies.len(), 2, "one message per dedup key: {bodies:?}");
    assert!(
        bodies
            .iter()
            .any(|b| b.contains("stepcart-notify-1-OrderConfirmed"))
    );

    // Webhook events: the first delivery claims, a duplicate does nothing, a finished event stays taken,
    // and a released one can be claimed again.
    use stepcart_aws::Claim;
    assert_eq!(
        store
            .claim_event("evt_1", "payment_intent.succeeded", 60)
            .await
            .expect("claim"),
        Claim::First
    );
    assert_eq!(
        store
            .claim_event("evt_1", "payment_intent.succeeded", 60)
            .await
            .expect("again"),
        Claim::InProgress
    );
    store.finish_event("evt_1").await.expect("finish");
    assert_eq!(
        store
            .claim_event("evt_1", "payment_intent.succeeded", 0)
            .await
            .expect("done"),
        Claim::Done
    );
    assert_eq!(
        store
            .claim_event("evt_2", "payment_intent.succeeded", 60)
            .await
            .expect("claim"),
        Claim::First
    );
    store.release_event("evt_2").await.expect("release");
    assert_eq!(
        store
            .claim_event("evt_2", "payment_intent.succeeded", 60)
            .await
            .expect("retry"),
        Claim::First
    );
    assert_eq!(
        store.claim_event("evt_3", "x", -1).await.expect("expired lease"),
        Claim::First
    );
    assert_eq!(
        store.claim_event("evt_3", "x", 60).await.expect("take over"),
        Claim::First,
        "an expired lease is taken over"
    );

    // Parameters: SecureString decrypted, cached within the TTL, never printed.
    clients
        .ssm
        .put_parameter()
        .name(env.stripe_secret_key_parameter())
        .r#type(ParameterType::SecureString)
        .value("sk_test_from_ssm")
        .overwrite(true)
        .send()
        .await
        .expect("put parameter");
    let parameters = Parameters::new(clients.ssm.clone(), Duration::from_secs(300));
    let key = parameters
        .get(&env.stripe_secret_key_parameter())
        .await
        .expect("get");
    assert_eq!(key.expose(), "sk_test_from_ssm");
    assert!(
        !format!("{key:?} {key} {parameters:?}").contains("sk_test_from_ssm"),
        "secrets never print"
    );
    clients
        .ssm
        .delete_parameter()
        .name(env.stripe_secret_key_parameter())
        .send()
        .await
        .expect("delete");
    let cached = parameters
        .get(&env.stripe_secret_key_parameter())
        .await
        .expect("cached");
    assert_eq!(
        cached.expose(),
        "sk_test_from_ssm",
        "read once per container, then cached"
    );
    let expired = Parameters::new(clients.ssm.clone(), Duration::ZERO);
    assert!(
        expired.get(&env.stripe_secret_key_parameter()).await.is_err(),
        "a fresh read sees it gone"
    );
}
