//! The `stripe-webhook` function's handler on API Gateway proxy events, with event claims and 3-D Secure
//! waits on DynamoDB (moto) and a recording Step Functions client: signed events resume the waiting
//! checkout once; replays, bad or stale signatures and missing headers change nothing.
#![cfg(feature = "aws")]
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "../../../crates/aws/tests/moto.rs"]
mod moto;

use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use serde_json::{Value, json};
use stepcart_aws::DynamoStore;
use stepcart_aws::bootstrap::{Environment, create_tables};
use stepcart_domain::PortError;
use stepcart_domain::ports::{AuthenticationWaits, TaskCallbacks};
use stepcart_lambdas::embedded_ports;
use stepcart_lambdas::webhook::Webhook;
use stepcart_store_sqlite::Store;
use stepcart_stripe::webhook::signature_header;

#[derive(Default)]
struct Recorder(Mutex<Vec<String>>);

#[async_trait]
impl TaskCallbacks for Recorder {
    async fn succeed(&self, task_token: &str, _output: Value) -> Result<(), PortError> {
        self.0.lock().expect("lock").push(format!("success {task_token}"));
        Ok(())
    }
    async fn fail(&self, task_token: &str, error: &str, _cause: &str) -> Result<(), PortError> {
        self.0
            .lock()
            .expect("lock")
            .push(format!("failure {task_token} {error}"));
        Ok(())
    }
}

const SECRET: &str = "whsec_test_secret";

fn stripe_event(id: &str, kind: &str, payment: &str) -> Vec<u8> {
    json!({"id": id, "object": "event", "type": kind,
           "data": {"object": {"id": payment, "object": "payment_intent",
                               "status": if kind.ends_with("succeeded") { "succeeded" } else { "requires_payment_method" },
                               "last_payment_error": {"message": "The card was declined."}}}})
    .to_string()
    .into_bytes()
}

fn proxy(body: &[u8], signature: Option<String>) -> Value {
    let mut headers = serde_json::Map::new();
    headers.insert("content-type".into(), json!("application/json"));
    if let Some(s) = signature {
        headers.insert("stripe-signature".into(), json!(s));
    }
    json!({"httpMethod": "POST", "path": "/webhooks/stripe", "headers": headers,
           "body": String::from_utf8_lossy(body), "isBase64Encoded": false})
}

fn status(response: &Value) -> u64 {
    response["statusCode"].as_u64().expect("statusCode")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn signed_events_resume_the_waiting_checkout_once() {
    let moto = moto::Moto::start();
    let clients = moto.clients().await;
    let env = Environment::new("webhook");
    create_tables(&clients, &env.tables).await.expect("tables");
    let store = DynamoStore::new(clients.dynamodb.clone(), env.tables.clone());
    store.register("pi_ok", "token-ok").await.expect("wait");
    store.register("pi_bad", "token-bad").await.expect("wait");

    let recorder = Arc::new(Recorder::default());
    let mut ports = embedded_ports(Store::open_in_memory().expect("store"));
    ports.authentication_waits = Arc::new(store.clone());
    ports.callbacks = recorder.clone();
    let hook = Webhook {
        ports,
        events: store.clone(),
        secrets: vec!["whsec_old".into(), SECRET.into()],
    };
    let now = 1_790_000_000;
    let calls = || recorder.0.lock().expect("lock").clone();

    let ok = stripe_event("evt_ok", "payment_intent.succeeded", "pi_ok");
    let signed = proxy(&ok, Some(signature_header(&ok, SECRET, now - 10)));
    let first = hook.handle(&signed, now).await;
    assert_eq!(status(&first), 200, "{first}");
    assert_eq!(calls(), vec!["success token-ok"]);
    let replay = hook.handle(&signed, now + 5).await;
    assert_eq!(status(&replay), 200, "{replay}");
    assert!(
        replay["body"].as_str().is_some_and(|b| b.contains("duplicate")),
        "{replay}"
    );
    assert_eq!(calls().len(), 1, "a replayed event resumes nothing");

    let bad = stripe_event("evt_bad", "payment_intent.payment_failed", "pi_bad");
    let failed = hook
        .handle(&proxy(&bad, Some(signature_header(&bad, SECRET, now))), now)
        .await;
    assert_eq!(status(&failed), 200, "{failed}");
    assert_eq!(calls()[1], "failure token-bad PaymentAuthenticationFailed");

    let forged = stripe_event("evt_forged", "payment_intent.succeeded", "pi_bad");
    for (label, event, at) in [
        (
            "bad signature",
            proxy(&forged, Some(signature_header(&forged, "whsec_wrong", now))),
            now,
        ),
        (
            "stale",
            proxy(&forged, Some(signature_header(&forged, SECRET, now - 301))),
            now,
        ),
        (
            "future",
            proxy(&forged, Some(signature_header(&forged, SECRET, now + 301))),
            now,
        ),
        ("missing header", proxy(&forged, None), now),
        ("garbled header", proxy(&forged, Some("t=abc,v1=zz".into())), now),
    ] {
        let refused = hook.handle(&event, at).await;
        assert_eq!(status(&refused), 400, "{label}: {refused}");
    }
    assert_eq!(calls().len(), 2, "refused deliveries change nothing");
    assert_eq!(
        store.claim_event("evt_forged", "x", 60).await.expect("claim"),
        stepcart_aws::Claim::First,
        "a refused delivery claims no event"
    );

    let other = stripe_event("evt_other", "customer.created", "cus_1");
    let ignored = hook
        .handle(&proxy(&other, Some(signature_header(&other, SECRET, now))), now)
        .await;
    assert_eq!(status(&ignored), 200);
    let nobody = stripe_event("evt_nobody", "payment_intent.succeeded", "pi_unknown");
    let unknown = hook
        .handle(&proxy(&nobody, Some(signature_header(&nobody, SECRET, now))), now)
        .await;
    assert_eq!(status(&unknown), 200, "{unknown}");
    assert_eq!(calls().len(), 2);
}
