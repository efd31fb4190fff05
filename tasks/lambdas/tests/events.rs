//! The Lambda handlers called with constructed events, as the Lambda runtime would call them: business
//! errors must reach Step Functions with the ASL error name as `errorType`.

use lambda_runtime::{Context, Diagnostic, LambdaEvent};
use serde_json::{Value, json};
use stepcart_domain::catalog::CatalogFile;
use stepcart_lambdas::{embedded_ports, handle_event};
use stepcart_store_sqlite::Store;
use stepcart_tasks::{Ports, Task};

async fn ports() -> Ports {
    let store = Store::open_in_memory().expect("store");
    let catalog: CatalogFile = serde_json::from_value(json!({"products": [
        {"sku": "MUG", "name": "Mug", "price": 999, "currency": "EUR", "stock": 1}]}))
    .expect("catalog");
    let (products, discounts) = catalog.into_domain().expect("valid");
    store.seed(&products, &discounts).await.expect("seed");
    embedded_ports(store)
}

fn event(payload: Value) -> LambdaEvent<Value> {
    LambdaEvent::new(payload, Context::default())
}

async fn diagnostic(task: Task, ports: &Ports, payload: Value) -> Diagnostic {
    handle_event(task, ports, event(payload))
        .await
        .expect_err("the function should fail")
        .into()
}

#[tokio::test]
async fn a_successful_invocation_returns_the_task_output() {
    let ports = ports().await;
    let output = handle_event(
        Task::ReserveStock,
        &ports,
        event(json!({"executionName": "lambda-1", "items": [{"sku": "MUG", "quantity": 1}]})),
    )
    .await
    .expect("reserved");
    assert!(
        output["reservationId"]
            .as_str()
            .is_some_and(|id| id.starts_with("res_"))
    );
}

#[tokio::test]
async fn business_errors_surface_as_their_asl_error_type() {
    let ports = ports().await;
    let out_of_stock = diagnostic(
        Task::ReserveStock,
        &ports,
        json!({"executionName": "lambda-2", "items": [{"sku": "MUG", "quantity": 5}]}),
    )
    .await;
    assert_eq!(out_of_stock.error_type, "OutOfStock");
    assert!(
        out_of_stock.error_message.contains("MUG"),
        "{}",
        out_of_stock.error_message
    );

    let invalid = diagnostic(
        Task::ValidateCart,
        &ports,
        json!({"executionName": "lambda-3", "request": {"customer": {"id": "c", "email": "a@b.co"},
               "currency": "EUR", "items": [{"sku": "MUG", "quantity": 100}], "paymentMethod": "pm_card_visa"}}),
    )
    .await;
    assert_eq!(invalid.error_type, "InvalidCart");

    let declined = diagnostic(
        Task::AuthorizePayment,
        &ports,
        json!({"executionName": "lambda-4", "customer": {"id": "c", "email": "a@b.co"},
               "paymentMethod": "pm_card_visa_chargeDeclined", "amount": 999, "currency": "EUR"}),
    )
    .await;
    assert_eq!(declined.error_type, "PaymentDeclined");
}

#[tokio::test]
async fn an_unreadable_payload_is_an_internal_error() {
    let ports = ports().await;
    let d = diagnostic(Task::CreateOrder, &ports, json!([1, 2, 3])).await;
    assert_eq!(d.error_type, "Stepcart.InternalError");
}
