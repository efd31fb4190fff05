//! Every task handler against the real embedded store and simulated payment provider, called with the
//! JSON payloads the state machine builds.

use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use serde_json::{Value, json};
use stepcart_domain::catalog::CatalogFile;
use stepcart_domain::ports::{Inventory, Orders, TaskCallbacks};
use stepcart_domain::{CheckoutError, PortError};
use stepcart_store_sqlite::{SimulatedPayments, Store};
use stepcart_tasks::{AuthenticationDelivery, Ports, Task, deliver_authentication_outcome};

#[derive(Default)]
struct RecordedCallbacks(Mutex<Vec<(String, String)>>);

#[async_trait]
impl TaskCallbacks for RecordedCallbacks {
    async fn succeed(&self, task_token: &str, output: Value) -> Result<(), PortError> {
        self.0
            .lock()
            .expect("callbacks lock")
            .push((task_token.to_owned(), format!("success {output}")));
        Ok(())
    }
    async fn fail(&self, task_token: &str, error: &str, cause: &str) -> Result<(), PortError> {
        self.0
            .lock()
            .expect("callbacks lock")
            .push((task_token.to_owned(), format!("failure {error} {cause}")));
        Ok(())
    }
}

struct Fixture {
    store: Store,
    payments: SimulatedPayments,
    callbacks: Arc<RecordedCallbacks>,
    ports: Ports,
}

async fn fixture() -> Fixture {
    let store = Store::open_in_memory().expect("store");
    let catalog: CatalogFile = serde_json::from_value(json!({
        "products": [
            {"sku": "TSHIRT", "name": "T-shirt", "price": 1999, "currency": "EUR", "stock": 5},
            {"sku": "MUG", "name": "Mug", "price": 999, "currency": "EUR", "stock": 2},
            {"sku": "OLD", "name": "Old", "price": 100, "currency": "EUR", "stock": 9, "active": false}
        ],
        "discounts": [{"code": "WELCOME10", "percentOff": 10},
                      {"code": "FIVEOFF", "amountOff": 500, "currency": "EUR", "minSubtotal": 3000}]
    }))
    .expect("catalog");
    let (products, discounts) = catalog.into_domain().expect("valid catalog");
    store.seed(&products, &discounts).await.expect("seed");
    let payments = SimulatedPayments::new(&store);
    let callbacks = Arc::new(RecordedCallbacks::default());
    let ports = Ports::from_store(store.clone(), payments.clone(), callbacks.clone());
    Fixture {
        store,
        payments,
        callbacks,
        ports,
    }
}

fn request(items: Value, payment_method: &str) -> Value {
    json!({"customer": {"id": "cus_1", "email": "ada@example.com"}, "currency": "EUR", "items": items,
           "paymentMethod": payment_method})
}

async fn run(f: &Fixture, task: Task, payload: Value) -> Result<Value, CheckoutError> {
    task.handle(&f.ports, payload).await
}

fn error_name(result: Result<Value, CheckoutError>) -> (String, String) {
    let error = result.expect_err("the task should fail");
    (error.name().to_owned(), error.message().to_owned())
}

async fn available(f: &Fixture, sku: &str) -> (i64, i64, i64) {
    let level = f.store.stock(&[sku.to_owned()]).await.expect("stock").remove(0);
    (level.available, level.reserved, level.sold)
}

#[tokio::test]
async fn validate_cart_accepts_a_good_cart_and_names_every_broken_rule() {
    let f = fixture().await;
    let ok = run(
        &f,
        Task::ValidateCart,
        json!({"executionName": "e1",
        "request": request(json!([{"sku": "TSHIRT", "quantity": 2}]), "pm_card_visa")}),
    )
    .await
    .expect("valid");
    assert_eq!(ok["items"], json!([{"sku": "TSHIRT", "quantity": 2}]));
    assert_eq!(ok["currency"], "EUR");

    let cases = [
        (
            request(json!([{"sku": "TSHIRT", "quantity": 0}]), "pm_card_visa"),
            "quantity",
        ),
        (
            request(json!([{"sku": "NOPE", "quantity": 1}]), "pm_card_visa"),
            "NOPE",
        ),
        (
            request(json!([{"sku": "OLD", "quantity": 1}]), "pm_card_visa"),
            "no longer sold",
        ),
        (json!({"customer": {"id": "c"}}), "malformed"),
        (json!("not an object"), "JSON object"),
    ];
    for (bad, expected) in cases {
        let (name, message) = error_name(
            run(
                &f,
                Task::ValidateCart,
                json!({"executionName": "e", "request": bad}),
            )
            .await,
        );
        assert_eq!(name, "InvalidCart");
        assert!(message.contains(expected), "{message} should mention {expected}");
    }
    let mut unknown_code = request(json!([{"sku": "TSHIRT", "quantity": 1}]), "pm_card_visa");
    unknown_code["discountCode"] = json!("nope");
    let (name, message) = error_name(
        run(
            &f,
            Task::ValidateCart,
            json!({"executionName": "e", "request": unknown_code}),
        )
        .await,
    );
    assert_eq!(
        (name.as_str(), message.contains("does not exist")),
        ("InvalidCart", true),
        "{message}"
    );
}

#[tokio::test]
async fn reserve_stock_is_all_or_nothing_and_idempotent_per_execution() {
    let f = fixture().await;
    let (name, message) = error_name(
        run(
            &f,
            Task::ReserveStock,
            json!({"executionName": "e1",
            "items": [{"sku": "TSHIRT", "quantity": 1}, {"sku": "MUG", "quantity": 3}]}),
        )
        .await,
    );
    assert_eq!(name, "OutOfStock");
    assert!(
        message.contains("MUG") && message.contains("2 available"),
        "{message}"
    );
    assert_eq!(
        available(&f, "TSHIRT").await,
        (5, 0, 0),
        "nothing may stay reserved"
    );

    let payload = json!({"executionName": "e2", "items": [{"sku": "TSHIRT", "quantity": 2}, {"sku": "MUG", "quantity": 2}]});
    let first = run(&f, Task::ReserveStock, payload.clone())
        .await
        .expect("reserved");
    let again = run(&f, Task::ReserveStock, payload)
        .await
        .expect("same reservation");
    assert_eq!(first, again);
    assert!(first["reservationId"].as_str().unwrap().starts_with("res_"));
    assert_eq!(available(&f, "TSHIRT").await, (3, 2, 0));
    assert_eq!(available(&f, "MUG").await, (0, 2, 0));
}

#[tokio::test]
async fn price_order_applies_codes_and_enforces_minimums() {
    let f = fixture().await;
    let cart = |code: Option<&str>, quantity: u32| {
        let mut cart = json!({"currency": "EUR", "items": [{"sku": "TSHIRT", "quantity": quantity}]});
        if let Some(code) = code {
            cart["discountCode"] = json!(code);
        }
        json!({"executionName": "e1", "cart": cart})
    };
    let p = run(&f, Task::PriceOrder, cart(Some("WELCOME10"), 2))
        .await
        .expect("priced");
    assert_eq!(
        (
            p["subtotal"].as_i64(),
            p["discount"].as_i64(),
            p["total"].as_i64()
        ),
        (Some(3998), Some(400), Some(3598))
    );
    let p = run(&f, Task::PriceOrder, cart(Some("FIVEOFF"), 2))
        .await
        .expect("priced");
    assert_eq!(p["total"], 3498);
    let (name, message) = error_name(run(&f, Task::PriceOrder, cart(Some("FIVEOFF"), 1)).await);
    assert_eq!(name, "InvalidCart");
    assert!(message.contains("30.00 EUR"), "{message}");
}

fn authorize(execution: &str, method: &str, amount: i64) -> Value {
    json!({"executionName": execution, "customer": {"id": "cus_1", "email": "ada@example.com"},
           "paymentMethod": method, "amount": amount, "currency": "EUR"})
}

#[tokio::test]
async fn authorize_payment_charges_once_per_execution_and_maps_declines() {
    let f = fixture().await;
    let first = run(&f, Task::AuthorizePayment, authorize("e1", "pm_card_visa", 3998))
        .await
        .expect("paid");
    assert_eq!(first["status"], "succeeded");
    let again = run(&f, Task::AuthorizePayment, authorize("e1", "pm_card_visa", 3998))
        .await
        .expect("same");
    assert_eq!(first["paymentId"], again["paymentId"]);
    let captured: Vec<_> = f.payments.payments().await.expect("list");
    assert_eq!(captured.len(), 1, "the same execution never charges twice");

    for method in [
        "pm_card_visa_chargeDeclined",
        "pm_card_visa_chargeDeclinedInsufficientFunds",
    ] {
        let (name, message) =
            error_name(run(&f, Task::AuthorizePayment, authorize(method, method, 100)).await);
        assert_eq!(name, "PaymentDeclined");
        assert!(
            message.contains("declined") || message.contains("insufficient"),
            "{message}"
        );
    }

    let three_ds = run(
        &f,
        Task::AuthorizePayment,
        authorize("e3", "pm_card_authenticationRequired", 100),
    )
    .await
    .expect("3ds");
    assert_eq!(three_ds["status"], "requires_action");
    assert!(
        three_ds["clientSecret"]
            .as_str()
            .is_some_and(|s| s.contains("_secret_"))
    );
}

#[tokio::test]
async fn await_authentication_registers_the_token_and_completes_an_outcome_that_came_early() {
    let f = fixture().await;
    let payment = run(
        &f,
        Task::AuthorizePayment,
        authorize("e1", "pm_card_authenticationRequired", 100),
    )
    .await
    .expect("3ds");
    let pid = payment["paymentId"].as_str().unwrap().to_owned();
    let out = run(
        &f,
        Task::AwaitPaymentAuthentication,
        json!({"executionName": "e1", "paymentId": pid, "taskToken": "tok-1"}),
    )
    .await
    .expect("registered");
    assert_eq!(out["status"], "requires_action");
    assert!(
        f.callbacks.0.lock().unwrap().is_empty(),
        "nothing to complete yet"
    );

    f.payments.authenticate(&pid, true).await.expect("authenticated");
    let delivery = deliver_authentication_outcome(&f.ports, &pid, true, None)
        .await
        .expect("delivered");
    assert_eq!(
        delivery,
        AuthenticationDelivery::Delivered {
            task_token: "tok-1".into()
        }
    );
    assert!(f.callbacks.0.lock().unwrap()[0].1.starts_with("success"));

    // An outcome that arrived before the wait was registered is completed by the task itself.
    let early = run(
        &f,
        Task::AuthorizePayment,
        authorize("e2", "pm_card_authenticationRequired", 100),
    )
    .await
    .expect("3ds");
    let early_id = early["paymentId"].as_str().unwrap().to_owned();
    f.payments
        .authenticate(&early_id, false)
        .await
        .expect("failed authentication");
    run(
        &f,
        Task::AwaitPaymentAuthentication,
        json!({"executionName": "e2", "paymentId": early_id, "taskToken": "tok-2"}),
    )
    .await
    .expect("registered");
    let calls = f.callbacks.0.lock().unwrap().clone();
    assert_eq!(calls[1].0, "tok-2");
    assert!(
        calls[1].1.contains("PaymentAuthenticationFailed"),
        "{}",
        calls[1].1
    );
    assert!(
        calls[1].1.contains("errorMessage"),
        "the cause is Lambda-shaped JSON: {}",
        calls[1].1
    );
}

async fn reserved_and_paid(f: &Fixture, execution: &str, method: &str) -> (Value, Value, Value) {
    let reservation = run(
        f,
        Task::ReserveStock,
        json!({"executionName": execution,
        "items": [{"sku": "TSHIRT", "quantity": 2}]}),
    )
    .await
    .expect("reserved");
    let pricing = run(
        f,
        Task::PriceOrder,
        json!({"executionName": execution,
        "cart": {"currency": "EUR", "items": [{"sku": "TSHIRT", "quantity": 2}]}}),
    )
    .await
    .expect("priced");
    let payment = run(
        f,
        Task::AuthorizePayment,
        authorize(execution, method, pricing["total"].as_i64().expect("total")),
    )
    .await
    .expect("authorized");
    (reservation, pricing, payment)
}

fn create_order_payload(execution: &str, reservation: &Value, pricing: &Value, payment: &Value) -> Value {
    json!({"executionName": execution, "customer": {"id": "cus_1", "email": "ada@example.com"},
           "pricing": pricing, "paymentId": payment["paymentId"], "reservationId": reservation["reservationId"]})
}

#[tokio::test]
async fn create_order_commits_the_reservation_once_and_refuses_uncaptured_payments() {
    let f = fixture().await;
    let (reservation, pricing, payment) = reserved_and_paid(&f, "e1", "pm_card_visa").await;
    let payload = create_order_payload("e1", &reservation, &pricing, &payment);
    let order = run(&f, Task::CreateOrder, payload.clone()).await.expect("order");
    assert_eq!(order["status"], "CONFIRMED");
    assert_eq!(order["total"], 3998);
    assert_eq!(order["paymentId"], payment["paymentId"]);
    let again = run(&f, Task::CreateOrder, payload).await.expect("same order");
    assert_eq!(order, again);
    assert_eq!(f.store.orders().await.expect("orders").len(), 1);
    assert_eq!(
        available(&f, "TSHIRT").await,
        (3, 0, 2),
        "reserved units became sold once"
    );

    let (reservation, pricing, payment) = reserved_and_paid(&f, "e2", "pm_card_authenticationRequired").await;
    let (name, message) = error_name(
        run(
            &f,
            Task::CreateOrder,
            create_order_payload("e2", &reservation, &pricing, &payment),
        )
        .await,
    );
    assert_eq!(name, "OrderFailed");
    assert!(message.contains("requires_action"), "{message}");
    let mut wrong_total = pricing.clone();
    wrong_total["total"] = json!(1);
    let paid = run(&f, Task::AuthorizePayment, authorize("e3", "pm_card_visa", 3998))
        .await
        .expect("paid");
    let (name, _) = error_name(
        run(
            &f,
            Task::CreateOrder,
            create_order_payload("e3", &reservation, &wrong_total, &paid),
        )
        .await,
    );
    assert_eq!(name, "OrderFailed");
}

#[tokio::test]
async fn compensations_release_and_refund_exactly_once() {
    let f = fixture().await;
    let (reservation, _pricing, payment) = reserved_and_paid(&f, "e1", "pm_card_visa").await;
    let release = run(&f, Task::ReleaseStock, json!({"executionName": "e1"}))
        .await
        .expect("released");
    assert_eq!(release["reservationId"], reservation["reservationId"]);
    assert_eq!(release["outcome"], "released");
    let again = run(&f, Task::ReleaseStock, json!({"executionName": "e1"}))
        .await
        .expect("idempotent");
    assert_eq!(again["outcome"], "alreadyReleased");
    assert_eq!(available(&f, "TSHIRT").await, (5, 0, 0));
    let never = run(&f, Task::ReleaseStock, json!({"executionName": "never-reserved"}))
        .await
        .expect("nothing");
    assert_eq!(never["outcome"], "notFound");

    let refund = run(&f, Task::RefundPayment, json!({"executionName": "e1"}))
        .await
        .expect("refunded");
    assert_eq!(
        (refund["paymentId"].clone(), refund["outcome"].clone()),
        (payment["paymentId"].clone(), json!("refunded"))
    );
    // Stripe replays the first answer for a repeated idempotency key; the money goes back once.
    let again = run(&f, Task::RefundPayment, json!({"executionName": "e1"}))
        .await
        .expect("idempotent");
    assert_eq!(again, refund);
    let row = f.payments.payments().await.expect("list").remove(0);
    assert_eq!((row.captured, row.refunded), (3998, 3998));
    let none = run(&f, Task::RefundPayment, json!({"executionName": "never-paid"}))
        .await
        .expect("nothing");
    assert_eq!(none["outcome"], "notFound");
}

#[tokio::test]
async fn release_after_the_order_cancels_it_and_gives_the_units_back() {
    // create-order wrote the order but every answer was lost: the saga compensates (refund, release),
    // so the order is cancelled and its sold units are available again, once.
    let f = fixture().await;
    let (reservation, pricing, payment) = reserved_and_paid(&f, "e1", "pm_card_visa").await;
    run(
        &f,
        Task::CreateOrder,
        create_order_payload("e1", &reservation, &pricing, &payment),
    )
    .await
    .expect("order");
    assert_eq!(available(&f, "TSHIRT").await, (3, 0, 2));
    let release = run(&f, Task::ReleaseStock, json!({"executionName": "e1"}))
        .await
        .expect("released");
    assert_eq!(release["outcome"], "orderCancelled");
    assert_eq!(available(&f, "TSHIRT").await, (5, 0, 0));
    let again = run(&f, Task::ReleaseStock, json!({"executionName": "e1"}))
        .await
        .expect("idempotent");
    assert_eq!(again["outcome"], "alreadyReleased");
    assert_eq!(available(&f, "TSHIRT").await, (5, 0, 0));
    let order_id = stepcart_domain::ids::CheckoutIds::for_execution("e1").order_id;
    let order = f.store.order(&order_id).await.expect("read").expect("kept");
    assert_eq!(order.status, stepcart_domain::order::OrderStatus::Cancelled);
}

#[tokio::test]
async fn notify_customer_publishes_once_per_checkout_and_kind() {
    let f = fixture().await;
    let payload = json!({"executionName": "e1", "customer": {"id": "cus_1", "email": "ada@example.com"},
                         "kind": "OrderConfirmed", "detail": {"orderId": "ord_1"}});
    let first = run(&f, Task::NotifyCustomer, payload.clone())
        .await
        .expect("sent");
    run(&f, Task::NotifyCustomer, payload)
        .await
        .expect("deduplicated");
    let failed = json!({"executionName": "e1", "customer": {"id": "cus_1", "email": "ada@example.com"},
                        "kind": "PaymentFailed", "detail": {"Error": "PaymentDeclined"}});
    let second = run(&f, Task::NotifyCustomer, failed).await.expect("sent");
    assert_ne!(first["notificationKey"], second["notificationKey"]);
    let sent = f.store.notifications().await.expect("outbox");
    assert_eq!(sent.len(), 2);
}

#[tokio::test]
async fn a_payload_the_task_cannot_read_is_an_internal_error_not_the_customers() {
    let f = fixture().await;
    for task in Task::ALL {
        let (name, message) = error_name(run(&f, task, json!({"unexpected": true})).await);
        assert_eq!(name, "Stepcart.InternalError", "{task}");
        assert!(message.contains(task.function_name()), "{message}");
    }
}

#[test]
fn task_names_and_placeholders_match_the_definition() {
    let definition = include_str!("../../../workflows/checkout.asl.json");
    for task in Task::ALL {
        let placeholder = format!("${{{}}}", task.arn_placeholder());
        assert!(
            definition.contains(&placeholder),
            "{placeholder} missing from the definition"
        );
        assert_eq!(Task::from_function_name(task.function_name()), Some(task));
    }
}
