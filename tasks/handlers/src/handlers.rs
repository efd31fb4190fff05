use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use stepcart_domain::PortError;
use stepcart_domain::cart::{self, CartLine, CheckoutRequest, Customer, ValidCart};
use stepcart_domain::ids::CheckoutIds;
use stepcart_domain::inventory::{ReleaseOutcome, ReservationStatus};
use stepcart_domain::notification::{Notification, NotificationKind};
use stepcart_domain::order::{Order, OrderStatus};
use stepcart_domain::payment::{PaymentError, PaymentRequest, PaymentStatus, RefundOutcome};
use stepcart_domain::ports::{CancelOutcome, PlaceOrderError, ReserveError};
use stepcart_domain::pricing::{self, Pricing};
use stepcart_domain::{CheckoutError, Currency, Money};

use crate::Ports;

// ---------------------------------------------------------------- validate-cart

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ValidateCartInput {
    pub execution_name: String,
    /// The execution input as the client sent it; read here so that its shape errors are `InvalidCart`.
    pub request: Value,
}

pub async fn validate_cart(ports: &Ports, input: ValidateCartInput) -> Result<ValidCart, CheckoutError> {
    let request = CheckoutRequest::from_value(&input.request)?;
    // The catalog-free rules first, so a malformed cart never costs a catalog read.
    cart::check_request(&request)?;
    let skus: Vec<String> = request.items.iter().map(|l| l.sku.clone()).collect();
    let products = ports.catalog.products(&skus).await?;
    let discount = match &request.discount_code {
        Some(code) => {
            ports
                .catalog
                .discount(&cart::normalise_discount_code(code))
                .await?
        }
        None => None,
    };
    let valid = cart::validate(&request, &products, discount.as_ref())?;
    tracing::info!(execution = %input.execution_name, lines = valid.items.len(), "cart is valid");
    Ok(valid)
}

// ---------------------------------------------------------------- reserve-stock

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ReserveStockInput {
    pub execution_name: String,
    pub items: Vec<CartLine>,
}

#[derive(Debug, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct ReserveStockOutput {
    pub reservation_id: String,
    pub items: Vec<CartLine>,
}

pub async fn reserve_stock(
    ports: &Ports,
    input: ReserveStockInput,
) -> Result<ReserveStockOutput, CheckoutError> {
    let ids = CheckoutIds::for_execution(&input.execution_name);
    let reservation = ports
        .inventory
        .reserve(&ids.reservation_id, &input.execution_name, &input.items)
        .await
        .map_err(|e| match e {
            ReserveError::OutOfStock(shortage) => CheckoutError::OutOfStock(shortage.message()),
            ReserveError::UnknownSku(sku) => {
                CheckoutError::OutOfStock(format!("SKU {sku} has no stock; nothing was reserved"))
            }
            ReserveError::Port(port) => port.into(),
        })?;
    if reservation.status == ReservationStatus::Released {
        // The execution name was used before and that checkout was compensated; reusing it must not
        // silently proceed without stock.
        return Err(CheckoutError::OutOfStock(format!(
            "reservation {} for this checkout was already released",
            reservation.reservation_id
        )));
    }
    Ok(ReserveStockOutput {
        reservation_id: reservation.reservation_id,
        items: reservation.items,
    })
}

// ---------------------------------------------------------------- price-order

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PriceOrderInput {
    pub execution_name: String,
    pub cart: PricingCart,
}

/// The part of a [`ValidCart`] that pricing reads.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PricingCart {
    pub currency: Currency,
    pub items: Vec<CartLine>,
    #[serde(default)]
    pub discount_code: Option<String>,
}

pub async fn price_order(ports: &Ports, input: PriceOrderInput) -> Result<Pricing, CheckoutError> {
    let PriceOrderInput {
        execution_name,
        cart: input,
    } = input;
    let skus: Vec<String> = input.items.iter().map(|l| l.sku.clone()).collect();
    let products = ports.catalog.products(&skus).await?;
    let discount =
        match &input.discount_code {
            Some(code) => Some(ports.catalog.discount(code).await?.ok_or_else(|| {
                CheckoutError::invalid_cart(format!("discount code {code} no longer exists"))
            })?),
            None => None,
        };
    let priced = pricing::price(&input.items, &products, input.currency, discount.as_ref())?;
    tracing::info!(execution = %execution_name, total = priced.total, currency = %priced.currency, "priced");
    Ok(priced)
}

// ---------------------------------------------------------------- authorize-payment

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AuthorizePaymentInput {
    pub execution_name: String,
    pub customer: Customer,
    pub payment_method: String,
    pub amount: i64,
    pub currency: Currency,
}

#[derive(Debug, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct PaymentOutput {
    pub payment_id: String,
    /// `succeeded`, or `requires_action` when 3-D Secure must be completed first.
    pub status: String,
    pub amount: i64,
    pub currency: Currency,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_secret: Option<String>,
}

pub async fn authorize_payment(
    ports: &Ports,
    input: AuthorizePaymentInput,
) -> Result<PaymentOutput, CheckoutError> {
    if input.amount < 0 {
        return Err(CheckoutError::Internal(format!(
            "refusing to charge a negative amount {}",
            input.amount
        )));
    }
    let ids = CheckoutIds::for_execution(&input.execution_name);
    let request = PaymentRequest {
        idempotency_key: ids.payment_key,
        amount: Money::new(input.amount, input.currency),
        payment_method: input.payment_method,
        customer_id: input.customer.id,
        order_id: ids.order_id,
        execution_name: input.execution_name,
    };
    let payment = ports
        .payments
        .create_and_confirm(&request)
        .await
        .map_err(payment_error)?;
    match payment.status {
        PaymentStatus::Succeeded | PaymentStatus::RequiresAction => Ok(PaymentOutput {
            payment_id: payment.payment_id,
            status: payment.status.as_str().to_owned(),
            amount: payment.amount.amount,
            currency: payment.amount.currency,
            client_secret: payment.client_secret,
        }),
        PaymentStatus::Failed | PaymentStatus::Canceled => Err(CheckoutError::PaymentDeclined(
            payment
                .failure_message
                .unwrap_or_else(|| format!("payment {} was not accepted", payment.payment_id)),
        )),
        PaymentStatus::Processing => Err(CheckoutError::Transient(format!(
            "payment {} is still processing at the provider",
            payment.payment_id
        ))),
    }
}

fn payment_error(error: PaymentError) -> CheckoutError {
    match error {
        PaymentError::Declined { code, message } => {
            CheckoutError::PaymentDeclined(format!("{message} (decline code: {code})"))
        }
        PaymentError::Unavailable(m) => CheckoutError::Transient(m),
        PaymentError::Rejected(m) => CheckoutError::Internal(format!("the payment provider refused: {m}")),
        PaymentError::NotFound(m) => CheckoutError::Internal(format!("unknown payment {m}")),
    }
}

// ---------------------------------------------------------------- await-payment-authentication

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AwaitAuthenticationInput {
    pub execution_name: String,
    pub payment_id: String,
    pub task_token: String,
}

#[derive(Debug, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct AwaitAuthenticationOutput {
    pub payment_id: String,
    /// The payment's status when the wait was registered.
    pub status: String,
}

/// Records which task token waits for this payment, so the provider's webhook (or `stepcart payments
/// authenticate`) can resume the execution. If the outcome arrived before the token was recorded, it
/// completes the wait itself, so an early webhook is never lost.
pub async fn await_payment_authentication(
    ports: &Ports,
    input: AwaitAuthenticationInput,
) -> Result<AwaitAuthenticationOutput, CheckoutError> {
    ports
        .authentication_waits
        .register(&input.payment_id, &input.task_token)
        .await?;
    let payment = ports
        .payments
        .retrieve(&input.payment_id)
        .await
        .map_err(payment_error)?;
    match payment.status {
        PaymentStatus::Succeeded => {
            ports
                .callbacks
                .succeed(&input.task_token, authentication_result(&payment.payment_id))
                .await?;
        }
        PaymentStatus::Failed | PaymentStatus::Canceled => {
            let failure = authentication_failure(&payment.payment_id, payment.failure_message.as_deref());
            ports
                .callbacks
                .fail(&input.task_token, failure.name(), &error_cause(&failure))
                .await?;
        }
        PaymentStatus::RequiresAction | PaymentStatus::Processing => {}
    }
    tracing::info!(execution = %input.execution_name, payment = %payment.payment_id, "waiting for 3-D Secure");
    Ok(AwaitAuthenticationOutput {
        payment_id: payment.payment_id,
        status: payment.status.as_str().to_owned(),
    })
}

/// What a completed 3-D Secure wait outputs (the `SendTaskSuccess` output).
pub fn authentication_result(payment_id: &str) -> Value {
    json!({"paymentId": payment_id, "status": PaymentStatus::Succeeded.as_str()})
}

/// The error sent with `SendTaskFailure` when 3-D Secure fails.
pub fn authentication_failure(payment_id: &str, provider_message: Option<&str>) -> CheckoutError {
    CheckoutError::PaymentAuthenticationFailed(match provider_message {
        Some(message) => format!("3-D Secure authentication of payment {payment_id} failed: {message}"),
        None => format!("3-D Secure authentication of payment {payment_id} failed"),
    })
}

/// An error's cause as AWS Lambda reports a function error (`{"errorMessage", "errorType"}`), so a failure
/// sent through a task token reads like one raised by a function and the state machine treats both alike.
pub fn error_cause(error: &CheckoutError) -> String {
    json!({"errorMessage": error.message(), "errorType": error.name()}).to_string()
}

// ---------------------------------------------------------------- create-order

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CreateOrderInput {
    pub execution_name: String,
    pub customer: Customer,
    pub pricing: Pricing,
    pub payment_id: String,
    pub reservation_id: String,
}

pub async fn create_order(ports: &Ports, input: CreateOrderInput) -> Result<Order, CheckoutError> {
    let ids = CheckoutIds::for_execution(&input.execution_name);
    // Never confirm an order whose money was not taken, whatever the state machine's data says.
    let payment = ports
        .payments
        .retrieve(&input.payment_id)
        .await
        .map_err(payment_error)?;
    if payment.status != PaymentStatus::Succeeded {
        return Err(CheckoutError::OrderFailed(format!(
            "payment {} is {}, not succeeded; the order was not placed",
            payment.payment_id,
            payment.status.as_str()
        )));
    }
    if payment.amount != input.pricing.total_money() {
        return Err(CheckoutError::OrderFailed(format!(
            "payment {} is for {}, but the order totals {}",
            payment.payment_id,
            payment.amount,
            input.pricing.total_money()
        )));
    }
    let order = Order {
        order_id: ids.order_id,
        status: OrderStatus::Confirmed,
        items: input.pricing.items,
        subtotal: input.pricing.subtotal,
        discount: input.pricing.discount,
        total: input.pricing.total,
        currency: input.pricing.currency,
        payment_id: input.payment_id,
        reservation_id: input.reservation_id,
        discount_code: input.pricing.discount_code,
        execution_name: input.execution_name,
        customer_id: input.customer.id,
        customer_email: input.customer.email,
    };
    let placed = ports.orders.place(&order).await.map_err(|e| match e {
        PlaceOrderError::ReservationNotHeld { .. } => CheckoutError::OrderFailed(e.to_string()),
        PlaceOrderError::Port(port) => port.into(),
    })?;
    tracing::info!(execution = %order.execution_name, order = %placed.order_id, "order placed");
    Ok(placed)
}

// ---------------------------------------------------------------- notify-customer

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct NotifyCustomerInput {
    pub execution_name: String,
    pub customer: Customer,
    pub kind: NotificationKind,
    /// The order (OrderConfirmed) or the error (PaymentFailed) the message is about.
    #[serde(default)]
    pub detail: Value,
}

#[derive(Debug, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct NotifyCustomerOutput {
    pub notification_key: String,
}

pub async fn notify_customer(
    ports: &Ports,
    input: NotifyCustomerInput,
) -> Result<NotifyCustomerOutput, CheckoutError> {
    let ids = CheckoutIds::for_execution(&input.execution_name);
    let dedup_key = format!("{}-{}", ids.notification_key, input.kind.as_str());
    let subject = match input.kind {
        NotificationKind::OrderConfirmed => match input.detail.get("orderId").and_then(Value::as_str) {
            Some(order_id) => format!("Your order {order_id} is confirmed"),
            None => "Your order is confirmed".to_owned(),
        },
        NotificationKind::PaymentFailed => "Your payment did not go through".to_owned(),
    };
    let notification = Notification {
        kind: input.kind,
        dedup_key: dedup_key.clone(),
        customer_email: input.customer.email,
        subject,
        detail: json!({
            "executionName": input.execution_name,
            "customerId": input.customer.id,
            "detail": input.detail,
        }),
    };
    ports.notifier.publish(&notification).await?;
    Ok(NotifyCustomerOutput {
        notification_key: dedup_key,
    })
}

// ---------------------------------------------------------------- release-stock (compensation)

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ReleaseStockInput {
    pub execution_name: String,
}

#[derive(Debug, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct ReleaseStockOutput {
    pub reservation_id: String,
    pub outcome: ReleaseOutcome,
}

/// Releases by the id derived from the execution name, so it works even when the reservation's own
/// answer was lost (the step wrote, then crashed before replying).
pub async fn release_stock(
    ports: &Ports,
    input: ReleaseStockInput,
) -> Result<ReleaseStockOutput, CheckoutError> {
    let ids = CheckoutIds::for_execution(&input.execution_name);
    let mut outcome = ports.inventory.release(&ids.reservation_id).await?;
    if outcome == ReleaseOutcome::Committed {
        // The order was placed although the saga failed (create-order wrote it, then every answer was
        // lost): the payment is refunded by now, so the order is cancelled and its units go back.
        match ports.orders.cancel(&ids.order_id).await? {
            CancelOutcome::Cancelled | CancelOutcome::AlreadyCancelled => {
                outcome = ReleaseOutcome::OrderCancelled;
            }
            CancelOutcome::NotFound => {}
        }
    }
    tracing::info!(execution = %input.execution_name, reservation = %ids.reservation_id, ?outcome, "released");
    Ok(ReleaseStockOutput {
        reservation_id: ids.reservation_id,
        outcome,
    })
}

// ---------------------------------------------------------------- refund-payment (compensation)

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RefundPaymentInput {
    pub execution_name: String,
}

#[derive(Debug, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct RefundPaymentOutput {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub payment_id: Option<String>,
    pub outcome: RefundOutcome,
}

/// Finds the payment by the checkout's idempotency key (not by a payment id the state may not hold) and
/// refunds or cancels it in full. Idempotent.
pub async fn refund_payment(
    ports: &Ports,
    input: RefundPaymentInput,
) -> Result<RefundPaymentOutput, CheckoutError> {
    let ids = CheckoutIds::for_execution(&input.execution_name);
    let Some(payment) = ports
        .payments
        .find_by_key(&ids.payment_key)
        .await
        .map_err(payment_error)?
    else {
        return Ok(RefundPaymentOutput {
            payment_id: None,
            outcome: RefundOutcome::NotFound,
        });
    };
    let outcome = ports
        .payments
        .refund(&payment.payment_id, &ids.refund_key)
        .await
        .map_err(payment_error)?;
    tracing::info!(execution = %input.execution_name, payment = %payment.payment_id, ?outcome, "refunded");
    Ok(RefundPaymentOutput {
        payment_id: Some(payment.payment_id),
        outcome,
    })
}

// ---------------------------------------------------------------- payment outcome (webhook / CLI)

/// What became of a delivered 3-D Secure outcome.
#[derive(Debug, PartialEq, Eq)]
pub enum AuthenticationDelivery {
    /// The waiting execution was sent the outcome.
    Delivered { task_token: String },
    /// No execution waits for this payment (already finished, timed out, or never asked).
    NobodyWaiting,
}

/// Sends a payment's 3-D Secure outcome to the execution waiting for it, as the Stripe webhook does for
/// `payment_intent.succeeded` / `payment_intent.payment_failed`.
pub async fn deliver_authentication_outcome(
    ports: &Ports,
    payment_id: &str,
    succeeded: bool,
    provider_message: Option<&str>,
) -> Result<AuthenticationDelivery, CheckoutError> {
    let Some(task_token) = ports.authentication_waits.task_token(payment_id).await? else {
        return Ok(AuthenticationDelivery::NobodyWaiting);
    };
    let delivered = if succeeded {
        ports
            .callbacks
            .succeed(&task_token, authentication_result(payment_id))
            .await
    } else {
        let failure = authentication_failure(payment_id, provider_message);
        ports
            .callbacks
            .fail(&task_token, failure.name(), &error_cause(&failure))
            .await
    };
    match delivered {
        Ok(()) => Ok(AuthenticationDelivery::Delivered { task_token }),
        // The checkout was resumed already (an earlier event) or gave up waiting (its timeout).
        Err(PortError::Closed(_)) => Ok(AuthenticationDelivery::NobodyWaiting),
        Err(e) => Err(e.into()),
    }
}
