//! `checkout-status` on a moto Step Functions API and a localstripe payment: the DescribeExecution
//! fields, `nextAction` while 3-D Secure is pending, 404 for an unknown checkout, 400 for a bad id.
#![cfg(feature = "aws")]
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "../../../crates/aws/tests/moto.rs"]
mod moto;

#[path = "../../../crates/stripe/tests/localstripe/mod.rs"]
mod localstripe;

use std::sync::Arc;

use serde_json::{Value, json};
use stepcart_aws::DynamoStore;
use stepcart_aws::bootstrap::{Environment, create_tables};
use stepcart_domain::ids::CheckoutIds;
use stepcart_domain::payment::{PaymentRequest, PaymentStatus};
use stepcart_domain::ports::PaymentGateway;
use stepcart_domain::{Currency, Money};
use stepcart_lambdas::status::Status;
use stepcart_stripe::StripeGateway;

fn body(response: &Value) -> Value {
    serde_json::from_str(response["body"].as_str().expect("body")).expect("json body")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn status_shows_the_execution_and_the_pending_authentication() {
    let moto = moto::Moto::start();
    let stripe = localstripe::Localstripe::start();
    let clients = moto.clients().await;
    let env = Environment::new("status");
    create_tables(&clients, &env.tables).await.expect("tables");

    let machine = clients
        .sfn
        .create_state_machine()
        .name("stepcart-status-checkout")
        .definition(
            json!({"StartAt": "W", "States": {"W": {"Type": "Wait", "Seconds": 3600, "End": true}}})
                .to_string(),
        )
        .role_arn("arn:aws:iam::123456789012:role/stepcart")
        .send()
        .await
        .expect("state machine");
    let name = "status-3ds-1";
    clients
        .sfn
        .start_execution()
        .state_machine_arn(machine.state_machine_arn())
        .name(name)
        .input(json!({"items": []}).to_string())
        .send()
        .await
        .expect("start");

    let ledger = Arc::new(DynamoStore::new(clients.dynamodb.clone(), env.tables.clone()));
    let gateway = StripeGateway::new(localstripe::SECRET_KEY, &stripe.base_url, ledger)
        .expect("gateway")
        .without_automatic_payment_methods();
    let method = gateway
        .localstripe_card_payment_method("4000002500003155")
        .await
        .expect("pm");
    let payment = gateway
        .create_and_confirm(&PaymentRequest {
            idempotency_key: CheckoutIds::for_execution(name).payment_key,
            amount: Money::new(4997, Currency::parse("EUR").expect("EUR")),
            payment_method: method,
            customer_id: "cus_1".into(),
            order_id: CheckoutIds::for_execution(name).order_id,
            execution_name: name.into(),
        })
        .await
        .expect("payment");
    assert_eq!(payment.status, PaymentStatus::RequiresAction);

    let status = Status {
        sfn: clients.sfn.clone(),
        state_machine_arn: machine.state_machine_arn().to_owned(),
        payments: Arc::new(gateway),
    };
    let proxy = |id: &str| json!({"httpMethod": "GET", "path": format!("/checkouts/{id}"), "pathParameters": {"id": id}});

    let running = status.handle(&proxy(name)).await;
    assert_eq!(running["statusCode"], 200, "{running}");
    let shown = body(&running);
    assert_eq!(shown["status"], "RUNNING");
    assert_eq!(shown["name"], name);
    assert_eq!(shown["executionArn"], status.execution_arn(name));
    assert_eq!(shown["nextAction"]["type"], "authenticate_payment");
    assert_eq!(shown["nextAction"]["paymentId"], payment.payment_id.as_str());
    assert!(
        shown["nextAction"]["clientSecret"]
            .as_str()
            .is_some_and(|s| !s.is_empty()),
        "{shown}"
    );

    let missing = status.handle(&proxy("status-none")).await;
    assert_eq!(missing["statusCode"], 404, "{missing}");
    for bad in ["", "has space", "a:b", &"x".repeat(81)] {
        let refused = status.handle(&proxy(bad)).await;
        assert_eq!(refused["statusCode"], 400, "{bad:?}: {refused}");
    }
}
