//! A payment provider that behaves like Stripe in test mode, for running checkouts offline.

use async_trait::async_trait;
use rand::Rng;
use rand::distr::Alphanumeric;
use rusqlite::{Connection, OptionalExtension, Row, params};
use serde::{Deserialize, Serialize};
use stepcart_domain::Money;
use stepcart_domain::payment::{Payment, PaymentError, PaymentRequest, PaymentStatus, RefundOutcome};
use stepcart_domain::ports::PaymentGateway;

use crate::catalog::parse_currency;
use crate::error::StoreError;
use crate::store::{Store, now_rfc3339};

pub const SAME_PARAMETERS_REQUIRED: &str =
    "Keys for idempotent requests can only be used with the same parameters they were first used with.";
pub const SAME_ENDPOINT_REQUIRED: &str =
    "Keys for idempotent requests can only be used for the same endpoint they were first used for.";
pub const AUTHENTICATION_FAILED: &str = "The customer failed 3-D Secure authentication.";
/// Stripe's limit on an `Idempotency-Key`.
pub const MAX_IDEMPOTENCY_KEY_LENGTH: usize = 255;

const CREATE_ENDPOINT: &str = "POST /v1/payment_intents";
const REFUND_ENDPOINT: &str = "POST /v1/refunds";

/// Stripe's test PaymentMethods, backed by tables of the store's database. Cheap to clone.
#[derive(Clone, Debug)]
pub struct SimulatedPayments {
    store: Store,
}

/// A payment as the CLI lists it, with the amounts the invariants are checked on.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PaymentRow {
    pub payment_id: String,
    pub idempotency_key: String,
    pub status: PaymentStatus,
    pub amount: i64,
    pub currency: String,
    /// Money taken: the amount once succeeded, otherwise 0.
    pub captured: i64,
    /// Money given back: 0 or `captured`.
    pub refunded: i64,
    pub payment_method: String,
    pub customer_id: String,
    pub order_id: String,
    pub execution_name: String,
    pub client_secret: Option<String>,
    pub failure_code: Option<String>,
    pub failure_message: Option<String>,
    pub created_at: String,
    pub updated_at: String,
}

enum Behaviour {
    Succeed,
    Decline {
        code: &'static str,
        message: &'static str,
    },
    RequireAction,
    NoSuchMethod,
}

fn behaviour(payment_method: &str) -> Behaviour {
    match payment_method {
        "pm_card_visa_chargeDeclined" => Behaviour::Decline {
            code: "card_declined",
            message: "Your card was declined.",
        },
        "pm_card_visa_chargeDeclinedInsufficientFunds" => Behaviour::Decline {
            code: "insufficient_funds",
            message: "Your card has insufficient funds.",
        },
        "pm_card_authenticationRequired" => Behaviour::RequireAction,
        other if other.starts_with("pm_card_") => Behaviour::Succeed,
        _ => Behaviour::NoSuchMethod,
    }
}

/// The first response to an idempotency key, replayed verbatim as Stripe does (a later refund does not
/// change what a repeated create returns).
#[derive(Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
enum CreateResponse {
    Payment { payment: Payment },
    Declined { code: String, message: String },
}

impl CreateResponse {
    fn into_result(self) -> Result<Payment, PaymentError> {
        match self {
            Self::Payment { payment } => Ok(payment),
            Self::Declined { code, message } => Err(PaymentError::Declined { code, message }),
        }
    }
}

/// Every parameter Stripe would compare, metadata included.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct CreateParameters<'a> {
    amount: i64,
    currency: &'a str,
    payment_method: &'a str,
    customer: &'a str,
    order_id: &'a str,
    execution_name: &'a str,
}

fn random_alphanumeric(length: usize) -> String {
    rand::rng()
        .sample_iter(Alphanumeric)
        .take(length)
        .map(char::from)
        .collect()
}

fn new_id(prefix: &str) -> String {
    format!("{prefix}_{}", random_alphanumeric(24))
}

fn check_key(key: &str) -> Result<(), PaymentError> {
    if key.is_empty() {
        return Err(PaymentError::Rejected(
            "An idempotency key must not be empty.".into(),
        ));
    }
    if key.len() > MAX_IDEMPOTENCY_KEY_LENGTH {
        return Err(PaymentError::Rejected(format!(
            "Idempotency keys can be at most {MAX_IDEMPOTENCY_KEY_LENGTH} characters long."
        )));
    }
    Ok(())
}

fn to_json<T: Serialize>(value: &T) -> Result<String, StoreError> {
    serde_json::to_string(value).map_err(|e| StoreError::Invalid(e.to_string()))
}

/// The stored response under `key`, after checking it was for this endpoint and these parameters.
fn replay(
    tx: &Connection,
    key: &str,
    endpoint: &str,
    parameters: &str,
) -> Result<Option<Result<String, PaymentError>>, StoreError> {
    let stored = tx
        .query_row(
            "SELECT endpoint, parameters, response FROM sim_idempotency_keys WHERE idempotency_key = ?1",
            [key],
            |row| {
                Ok((
                    row.get::<_, String>(0)?,
                    row.get::<_, String>(1)?,
                    row.get::<_, String>(2)?,
                ))
            },
        )
        .optional()?;
    Ok(stored.map(|(stored_endpoint, stored_parameters, response)| {
        if stored_endpoint != endpoint {
            Err(PaymentError::Rejected(SAME_ENDPOINT_REQUIRED.into()))
        } else if stored_parameters != parameters {
            Err(PaymentError::Rejected(SAME_PARAMETERS_REQUIRED.into()))
        } else {
            Ok(response)
        }
    }))
}

fn remember(
    tx: &Connection,
    key: &str,
    endpoint: &str,
    parameters: &str,
    response: &str,
) -> Result<(), StoreError> {
    tx.execute(
        "INSERT INTO sim_idempotency_keys (idempotency_key, endpoint, parameters, response, created_at)
         VALUES (?1, ?2, ?3, ?4, ?5)",
        params![key, endpoint, parameters, response, now_rfc3339()],
    )?;
    Ok(())
}

const PAYMENT_COLUMNS: &str = "payment_id, idempotency_key, status, amount, currency, captured, refunded, payment_method,
     customer_id, order_id, execution_name, client_secret, failure_code, failure_message, created_at, updated_at";

fn row_from_sql(row: &Row<'_>) -> rusqlite::Result<Result<PaymentRow, StoreError>> {
    let payment_id: String = row.get(0)?;
    let status: String = row.get(2)?;
    let Some(status) = PaymentStatus::parse(&status) else {
        return Ok(Err(StoreError::corrupt(
            format!("sim_payment_intents[{payment_id}].status"),
            status,
        )));
    };
    Ok(Ok(PaymentRow {
        idempotency_key: row.get(1)?,
        status,
        amount: row.get(3)?,
        currency: row.get(4)?,
        captured: row.get(5)?,
        refunded: row.get(6)?,
        payment_method: row.get(7)?,
        customer_id: row.get(8)?,
        order_id: row.get(9)?,
        execution_name: row.get(10)?,
        client_secret: row.get(11)?,
        failure_code: row.get(12)?,
        failure_message: row.get(13)?,
        created_at: row.get(14)?,
        updated_at: row.get(15)?,
        payment_id,
    }))
}

fn load_row(conn: &Connection, column: &str, value: &str) -> Result<Option<PaymentRow>, StoreError> {
    conn.query_row(
        &format!("SELECT {PAYMENT_COLUMNS} FROM sim_payment_intents WHERE {column} = ?1"),
        [value],
        row_from_sql,
    )
    .optional()?
    .transpose()
}

impl PaymentRow {
    fn to_payment(&self) -> Result<Payment, StoreError> {
        let currency = parse_currency(
            &format!("sim_payment_intents[{}].currency", self.payment_id),
            &self.currency,
        )?;
        Ok(Payment {
            payment_id: self.payment_id.clone(),
            status: self.status,
            amount: Money::new(self.amount, currency),
            client_secret: self.client_secret.clone(),
            failure_message: self.failure_message.clone(),
        })
    }
}

fn create_tx(
    conn: &mut Connection,
    request: &PaymentRequest,
) -> Result<Result<Payment, PaymentError>, StoreError> {
    let parameters = to_json(&CreateParameters {
        amount: request.amount.amount,
        currency: request.amount.currency.as_str(),
        payment_method: &request.payment_method,
        customer: &request.customer_id,
        order_id: &request.order_id,
        execution_name: &request.execution_name,
    })?;
    let key = request.idempotency_key.as_str();
    let tx = conn.savepoint()?;
    match replay(&tx, key, CREATE_ENDPOINT, &parameters)? {
        Some(Ok(response)) => {
            let response: CreateResponse = serde_json::from_str(&response)
                .map_err(|e| StoreError::corrupt(format!("sim_idempotency_keys[{key}]"), e))?;
            return Ok(response.into_result());
        }
        Some(Err(refused)) => return Ok(Err(refused)),
        None => {}
    }
    // Like Stripe, a request that fails validation before anything is created is not saved under the key.
    if request.amount.amount <= 0 {
        return Ok(Err(PaymentError::Rejected(
            "This value must be greater than or equal to 1.".into(),
        )));
    }
    let payment_id = new_id("pi");
    let amount = request.amount.amount;
    let (status, captured, client_secret, failure) = match behaviour(&request.payment_method) {
        Behaviour::NoSuchMethod => {
            return Ok(Err(PaymentError::Rejected(format!(
                "No such PaymentMethod: '{}'",
                request.payment_method
            ))));
        }
        Behaviour::Succeed => (PaymentStatus::Succeeded, amount, None, None),
        Behaviour::RequireAction => (
            PaymentStatus::RequiresAction,
            0,
            Some(format!("{payment_id}_secret_{}", random_alphanumeric(25))),
            None,
        ),
        // Stripe keeps a declined PaymentIntent (with its last error); so does the simulator.
        Behaviour::Decline { code, message } => (PaymentStatus::Failed, 0, None, Some((code, message))),
    };
    let now = now_rfc3339();
    tx.execute(
        "INSERT INTO sim_payment_intents (payment_id, idempotency_key, amount, currency, payment_method, customer_id,
             order_id, execution_name, status, client_secret, failure_code, failure_message, captured,
             created_at, updated_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?14)",
        params![
            payment_id,
            key,
            amount,
            request.amount.currency.as_str(),
            request.payment_method,
            request.customer_id,
            request.order_id,
            request.execution_name,
            status.as_str(),
            client_secret,
            failure.map(|(code, _)| code),
            failure.map(|(_, message)| message),
            captured,
            now,
        ],
    )?;
    let response = match failure {
        Some((code, message)) => CreateResponse::Declined {
            code: code.to_owned(),
            message: message.to_owned(),
        },
        None => CreateResponse::Payment {
            payment: Payment {
                payment_id,
                status,
                amount: request.amount,
                client_secret,
                failure_message: None,
            },
        },
    };
    remember(&tx, key, CREATE_ENDPOINT, &parameters, &to_json(&response)?)?;
    tx.commit()?;
    Ok(response.into_result())
}

fn refund_tx(
    conn: &mut Connection,
    payment_id: &str,
    key: &str,
) -> Result<Result<RefundOutcome, PaymentError>, StoreError> {
    let parameters = to_json(&serde_json::json!({ "payment_intent": payment_id }))?;
    let tx = conn.savepoint()?;
    match replay(&tx, key, REFUND_ENDPOINT, &parameters)? {
        Some(Ok(response)) => {
            let outcome: RefundOutcome = serde_json::from_str(&response)
                .map_err(|e| StoreError::corrupt(format!("sim_idempotency_keys[{key}]"), e))?;
            return Ok(Ok(outcome));
        }
        Some(Err(refused)) => return Ok(Err(refused)),
        None => {}
    }
    let Some(payment) = load_row(&tx, "payment_id", payment_id)? else {
        // Nothing to undo: the compensation of a payment that never happened succeeds.
        return Ok(Ok(RefundOutcome::NotFound));
    };
    let now = now_rfc3339();
    let outcome = match payment.status {
        PaymentStatus::Succeeded if payment.refunded == 0 && payment.captured > 0 => {
            tx.execute(
                "INSERT INTO sim_refunds (refund_id, payment_id, amount, idempotency_key, created_at)
                 VALUES (?1, ?2, ?3, ?4, ?5)",
                params![new_id("re"), payment_id, payment.captured, key, now],
            )?;
            tx.execute(
                "UPDATE sim_payment_intents SET refunded = captured, updated_at = ?2 WHERE payment_id = ?1",
                params![payment_id, now],
            )?;
            RefundOutcome::Refunded
        }
        PaymentStatus::RequiresAction | PaymentStatus::Processing => {
            tx.execute(
                "UPDATE sim_payment_intents SET status = 'canceled', updated_at = ?2
                 WHERE payment_id = ?1",
                params![payment_id, now],
            )?;
            RefundOutcome::Canceled
        }
        PaymentStatus::Succeeded | PaymentStatus::Failed | PaymentStatus::Canceled => {
            RefundOutcome::NothingToRefund
        }
    };
    remember(&tx, key, REFUND_ENDPOINT, &parameters, &to_json(&outcome)?)?;
    tx.commit()?;
    Ok(Ok(outcome))
}

fn authenticate_tx(
    conn: &mut Connection,
    payment_id: &str,
    success: bool,
) -> Result<Result<Payment, PaymentError>, StoreError> {
    let tx = conn.savepoint()?;
    let Some(payment) = load_row(&tx, "payment_id", payment_id)? else {
        return Ok(Err(PaymentError::NotFound(payment_id.to_owned())));
    };
    if payment.status != PaymentStatus::RequiresAction {
        return Ok(Err(PaymentError::Rejected(format!(
            "payment {payment_id} is {}; only a payment in requires_action can be authenticated",
            payment.status.as_str()
        ))));
    }
    let now = now_rfc3339();
    if success {
        tx.execute(
            "UPDATE sim_payment_intents SET status = 'succeeded', captured = amount, updated_at = ?2
             WHERE payment_id = ?1",
            params![payment_id, now],
        )?;
    } else {
        tx.execute(
            "UPDATE sim_payment_intents SET status = 'failed', failure_code = 'payment_intent_authentication_failure',
                 failure_message = ?2, updated_at = ?3
             WHERE payment_id = ?1",
            params![payment_id, AUTHENTICATION_FAILED, now],
        )?;
    }
    let updated = load_row(&tx, "payment_id", payment_id)?
        .ok_or_else(|| StoreError::NotFound(format!("payment {payment_id}")))?
        .to_payment()?;
    tx.commit()?;
    Ok(Ok(updated))
}

impl SimulatedPayments {
    /// A provider whose payments live in `store`'s database.
    pub fn new(store: &Store) -> Self {
        Self { store: store.clone() }
    }

    /// Completes a pending 3-D Secure authentication, as the customer would in the browser: the payment
    /// succeeds (and is captured) or fails. Any status but `requires_action` is `Rejected`, naming it.
    pub async fn authenticate(&self, payment_id: &str, success: bool) -> Result<Payment, PaymentError> {
        let payment_id = payment_id.to_owned();
        self.store
            .run(move |conn| authenticate_tx(conn, &payment_id, success))
            .await?
    }

    /// Every payment, newest first.
    pub async fn payments(&self) -> Result<Vec<PaymentRow>, StoreError> {
        self.store.payments().await
    }
}

impl Store {
    /// Every payment of the simulated provider, newest first.
    pub async fn payments(&self) -> Result<Vec<PaymentRow>, StoreError> {
        self.run(|conn| {
            let mut stmt = conn.prepare(&format!(
                "SELECT {PAYMENT_COLUMNS} FROM sim_payment_intents ORDER BY created_at DESC, rowid DESC"
            ))?;
            let rows = stmt.query_map([], row_from_sql)?;
            rows.map(|row| row?).collect()
        })
        .await
    }
}

#[async_trait]
impl PaymentGateway for SimulatedPayments {
    async fn create_and_confirm(&self, request: &PaymentRequest) -> Result<Payment, PaymentError> {
        check_key(&request.idempotency_key)?;
        let request = request.clone();
        self.store.run(move |conn| create_tx(conn, &request)).await?
    }

    /// The payment's current state (not the replayed first response).
    async fn find_by_key(&self, idempotency_key: &str) -> Result<Option<Payment>, PaymentError> {
        let key = idempotency_key.to_owned();
        let found = self
            .store
            .run(move |conn| {
                load_row(conn, "idempotency_key", &key)?
                    .map(|row| row.to_payment())
                    .transpose()
            })
            .await?;
        Ok(found)
    }

    async fn retrieve(&self, payment_id: &str) -> Result<Payment, PaymentError> {
        let id = payment_id.to_owned();
        let found = self
            .store
            .run(move |conn| {
                load_row(conn, "payment_id", &id)?
                    .map(|row| row.to_payment())
                    .transpose()
            })
            .await?;
        found.ok_or_else(|| PaymentError::NotFound(payment_id.to_owned()))
    }

    /// Refunds a captured payment in full (once, whatever the key), cancels one awaiting authentication,
    /// and answers `NothingToRefund` otherwise. An unknown payment id is `NotFound`, not an error, so a
    /// compensation can always complete.
    async fn refund(&self, payment_id: &str, idempotency_key: &str) -> Result<RefundOutcome, PaymentError> {
        check_key(idempotency_key)?;
        let (id, key) = (payment_id.to_owned(), idempotency_key.to_owned());
        self.store.run(move |conn| refund_tx(conn, &id, &key)).await?
    }
}
