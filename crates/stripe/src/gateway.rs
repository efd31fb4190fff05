//! [`StripeGateway`]: the domain's `PaymentGateway` on Stripe's PaymentIntents API.

use std::collections::HashMap;
use std::fmt;
use std::sync::Arc;

use async_trait::async_trait;
use serde::Serialize;
use stepcart_domain::payment::{
    LedgerEntry, Payment, PaymentError, PaymentRequest, PaymentStatus, RefundOutcome,
};
use stepcart_domain::ports::{PaymentGateway, PaymentLedger};
use stepcart_domain::{Currency, Money};
use stripe::{Client, ClientBuilder, IdempotencyKey, RequestStrategy, StripeRequest};
use stripe_client_core::{RequestBuilder, StripeMethod};
use stripe_core::payment_intent::{
    CancelPaymentIntent, ConfirmPaymentIntent, CreatePaymentIntent,
    CreatePaymentIntentAutomaticPaymentMethods, CreatePaymentIntentAutomaticPaymentMethodsAllowRedirects,
    RetrievePaymentIntent, UpdatePaymentIntent,
};
use stripe_core::refund::{CreateRefund, ListRefund};

use crate::error::{CallError, StripeConfigError, ledger_error};
use crate::wire::{self, Intent, List, Object, Refund};

/// Stripe's API, the default base URL.
pub const DEFAULT_API_BASE: &str = "https://api.stripe.com/";

/// Stripe's limit on an `Idempotency-Key`.
const MAX_IDEMPOTENCY_KEY_LENGTH: usize = 255;
/// The confirm of a PaymentIntent is sent under the payment's key with this suffix.
const CONFIRM_SUFFIX: &str = "-confirm";
/// The cancel of a PaymentIntent is sent under the refund's key with this suffix.
const CANCEL_SUFFIX: &str = "-cancel";
/// Ledger status until Stripe has answered the confirm.
const PENDING: &str = "pending";

/// PaymentIntent metadata written by stepcart.
const META_EXECUTION: &str = "execution_name";
const META_ORDER: &str = "order_id";
const META_CUSTOMER: &str = "customer_id";
const META_KEY: &str = "idempotency_key";
/// The refund key that cancelled a PaymentIntent (so a repeat of the same refund answers `Canceled`).
const META_CANCEL_KEY: &str = "stepcart_cancel_key";
/// Refund metadata: the refund key that created it (so a repeat answers `Refunded`).
const META_REFUND_KEY: &str = "stepcart_refund_key";

/// How often `refund` re-reads a PaymentIntent whose state changed under it (a cancel refused because
/// the customer authenticated at that moment, for example) before asking the caller to retry.
const REFUND_ROUNDS: usize = 3;

/// Same wording as Stripe (and the simulated provider) for a key reused with other parameters.
pub(crate) const SAME_PARAMETERS_REQUIRED: &str =
    "Keys for idempotent requests can only be used with the same parameters they were first used with.";

/// Payments through Stripe's PaymentIntents (create, then confirm; automatic capture), with a
/// write-ahead [`PaymentLedger`].
///
/// # Never charging twice
///
/// Stripe replays the first answer to an `Idempotency-Key` for 24 hours, but stepcart does not rely
/// on that alone (localstripe ignores the header, and Stripe prunes keys): **a key whose ledger entry
/// already holds a PaymentIntent id is never created again.** `create_and_confirm`
///
/// 1. reads the ledger; if the key has a payment id, it retrieves that PaymentIntent and continues
///    from its current state (confirming it only if it was never confirmed);
/// 2. otherwise `begin`s the entry (`pending`) *before* calling Stripe, creates the PaymentIntent
///    unconfirmed with `Idempotency-Key: <key>`, and `record`s its id;
/// 3. only then confirms it (`Idempotency-Key: <key>-confirm`) and records the resulting status.
///
/// Money can only move at step 3, and step 3 only runs on an id that is already in the ledger. So an
/// entry still `pending` without a payment id means no confirmed PaymentIntent exists for the key (at
/// most an unconfirmed one, which can never charge), and [`find_by_key`](PaymentGateway::find_by_key)
/// answers `None` for it.
///
/// The client is built once and reused; the secret key is never logged, never part of an error and
/// never shown by `Debug`.
pub struct StripeGateway {
    client: Client,
    api_base: String,
    ledger: Arc<dyn PaymentLedger>,
    automatic_payment_methods: bool,
}

impl fmt::Debug for StripeGateway {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StripeGateway")
            .field("api_base", &self.api_base)
            .field("automatic_payment_methods", &self.automatic_payment_methods)
            .finish_non_exhaustive()
    }
}

fn normalise_base(base_url: &str) -> Result<String, StripeConfigError> {
    let base = base_url.trim();
    if !(base.starts_with("http://") || base.starts_with("https://")) || base.contains(char::is_whitespace) {
        return Err(StripeConfigError::BadBaseUrl(base_url.to_owned()));
    }
    // async-stripe appends `v1/...` to the base as it is.
    Ok(if base.ends_with('/') {
        base.to_owned()
    } else {
        format!("{base}/")
    })
}

fn check_key(key: &str, suffix: &str) -> Result<IdempotencyKey, PaymentError> {
    if key.is_empty() {
        return Err(PaymentError::Rejected(
            "An idempotency key must not be empty.".into(),
        ));
    }
    let longest = MAX_IDEMPOTENCY_KEY_LENGTH - suffix.len();
    if key.len() > longest {
        return Err(PaymentError::Rejected(format!(
            "Idempotency keys can be at most {longest} characters long here (Stripe allows \
             {MAX_IDEMPOTENCY_KEY_LENGTH}, and stepcart derives `{suffix}` keys from them)."
        )));
    }
    idempotent(key)
}

fn idempotent(key: &str) -> Result<IdempotencyKey, PaymentError> {
    IdempotencyKey::new(key).map_err(|e| PaymentError::Rejected(e.to_string()))
}

fn strategy(key: &str) -> Result<RequestStrategy, PaymentError> {
    Ok(RequestStrategy::Idempotent(idempotent(key)?))
}

/// Stripe ids are `prefix_alphanumerics`; anything else cannot name an object and is not put in a URL.
fn is_stripe_id(id: &str) -> bool {
    !id.is_empty() && id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
}

/// The domain's status for a Stripe PaymentIntent status.
fn domain_status(status: &str) -> PaymentStatus {
    match status {
        "succeeded" => PaymentStatus::Succeeded,
        "requires_action" => PaymentStatus::RequiresAction,
        "canceled" => PaymentStatus::Canceled,
        // Declined, or 3-D Secure failed: Stripe waits for another payment method; no money was taken.
        "requires_payment_method" => PaymentStatus::Failed,
        // Not confirmed yet, authorised but not captured, or still at the bank: not final.
        _ => PaymentStatus::Processing,
    }
}

fn to_payment(intent: &Intent) -> Result<Payment, PaymentError> {
    let status = domain_status(&intent.status);
    let currency = Currency::parse(&intent.currency.to_ascii_uppercase()).map_err(|_| {
        PaymentError::Rejected(format!(
            "PaymentIntent {} has an unknown currency {:?}",
            intent.id, intent.currency
        ))
    })?;
    Ok(Payment {
        payment_id: intent.id.clone(),
        status,
        amount: Money::new(intent.amount, currency),
        // Like the simulated provider: only a payment awaiting 3-D Secure carries it.
        client_secret: if status == PaymentStatus::RequiresAction {
            intent.client_secret.clone()
        } else {
            None
        },
        failure_message: if status == PaymentStatus::Failed {
            intent.last_payment_error.as_ref().and_then(|e| e.message.clone())
        } else {
            None
        },
    })
}

/// The decline a failed PaymentIntent stands for (its `last_payment_error`).
fn decline_of(intent: &Intent) -> PaymentError {
    let error = intent.last_payment_error.as_ref();
    PaymentError::Declined {
        code: error
            .and_then(|e| e.decline_code.clone().or_else(|| e.code.clone()))
            .unwrap_or_else(|| "card_declined".to_owned()),
        message: error
            .and_then(|e| e.message.clone())
            .unwrap_or_else(|| format!("payment {} was declined", intent.id)),
    }
}

/// A PaymentIntent found under a key must be the one this request would have created.
fn check_same_request(intent: &Intent, request: &PaymentRequest) -> Result<(), PaymentError> {
    let same_key = intent
        .metadata
        .get(META_KEY)
        .is_none_or(|k| *k == request.idempotency_key);
    if intent.amount != request.amount.amount
        || !intent
            .currency
            .eq_ignore_ascii_case(request.amount.currency.as_str())
        || !same_key
    {
        return Err(PaymentError::Rejected(SAME_PARAMETERS_REQUIRED.into()));
    }
    Ok(())
}

#[derive(Serialize)]
struct AuthenticateForm<'a> {
    client_secret: &'a str,
    success: bool,
}

#[derive(Serialize)]
struct CardForm<'a> {
    number: &'a str,
    exp_month: u32,
    exp_year: u32,
    cvc: &'a str,
}

#[derive(Serialize)]
struct PaymentMethodForm<'a> {
    #[serde(rename = "type")]
    kind: &'a str,
    card: CardForm<'a>,
}

impl StripeGateway {
    /// A gateway on the Stripe API at `base_url` (`DEFAULT_API_BASE`, or a local server such as
    /// `http://127.0.0.1:PORT/`), authenticated with `secret_key`, recording every attempt in `ledger`.
    pub fn new(
        secret_key: &str,
        base_url: &str,
        ledger: Arc<dyn PaymentLedger>,
    ) -> Result<Self, StripeConfigError> {
        if secret_key.is_empty() {
            return Err(StripeConfigError::EmptySecretKey);
        }
        if !secret_key.bytes().all(|b| b.is_ascii_graphic()) {
            return Err(StripeConfigError::MalformedSecretKey);
        }
        let api_base = normalise_base(base_url)?;
        let client = ClientBuilder::new(secret_key)
            .url(api_base.clone())
            .app_info("stepcart", Some(env!("CARGO_PKG_VERSION").to_owned()), None)
            .build()
            // async-stripe's configuration errors name the setting, never its value.
            .map_err(|e| StripeConfigError::Client(e.to_string()))?;
        Ok(Self {
            client,
            api_base,
            ledger,
            automatic_payment_methods: true,
        })
    }

    /// Leaves out `automatic_payment_methods[enabled]=true&automatic_payment_methods[allow_redirects]=never`
    /// when creating PaymentIntents. Stripe needs them for a server-side confirm without a
    /// `return_url`; localstripe refuses them (`Unexpected automatic_payment_methods`).
    pub fn without_automatic_payment_methods(mut self) -> Self {
        self.automatic_payment_methods = false;
        self
    }

    /// The API base URL requests go to (never the key).
    pub fn api_base(&self) -> &str {
        &self.api_base
    }

    fn create_request(&self, request: &PaymentRequest) -> CreatePaymentIntent {
        let metadata = HashMap::from([
            (META_EXECUTION.to_owned(), request.execution_name.clone()),
            (META_ORDER.to_owned(), request.order_id.clone()),
            (META_CUSTOMER.to_owned(), request.customer_id.clone()),
            (META_KEY.to_owned(), request.idempotency_key.clone()),
        ]);
        let currency: stripe_types::Currency = request
            .amount
            .currency
            .as_str()
            .to_ascii_lowercase()
            .parse()
            .unwrap_or_else(|never| match never {});
        let create = CreatePaymentIntent::new(request.amount.amount, currency)
            .payment_method(request.payment_method.clone())
            .metadata(metadata);
        if self.automatic_payment_methods {
            let mut automatic = CreatePaymentIntentAutomaticPaymentMethods::new(true);
            automatic.allow_redirects = Some(CreatePaymentIntentAutomaticPaymentMethodsAllowRedirects::Never);
            create.automatic_payment_methods(automatic)
        } else {
            create
        }
    }

    async fn fetch(&self, payment_id: &str) -> Result<Intent, CallError> {
        if !is_stripe_id(payment_id) {
            return Err(CallError::Api(crate::error::ApiFailure {
                status: 404,
                kind: "invalid_request_error".into(),
                code: Some("resource_missing".into()),
                decline_code: None,
                message: format!("No such payment_intent: {payment_id:?}"),
                payment_intent: None,
            }));
        }
        wire::send(
            &self.client,
            "retrieve PaymentIntent",
            RetrievePaymentIntent::new(payment_id).build(),
            RequestStrategy::Once,
        )
        .await
    }

    async fn retrieve_intent(&self, payment_id: &str) -> Result<Intent, PaymentError> {
        self.fetch(payment_id).await.map_err(|e| match e.api() {
            Some(f) if f.is_not_found() => PaymentError::NotFound(payment_id.to_owned()),
            _ => e.into_payment_error(),
        })
    }

    async fn record(&self, key: &str, intent: &Intent) -> Result<(), PaymentError> {
        let status = domain_status(&intent.status);
        self.ledger
            .record(key, &intent.id, status.as_str())
            .await
            .map_err(ledger_error)
    }

    /// Confirms an unconfirmed PaymentIntent, records the outcome, and answers as the domain expects.
    async fn confirm_and_settle(&self, key: &str, intent: Intent) -> Result<Payment, PaymentError> {
        let intent = if intent.status == "requires_confirmation" {
            let confirm_key = format!("{key}{CONFIRM_SUFFIX}");
            let confirmed = wire::send::<Intent>(
                &self.client,
                "confirm PaymentIntent",
                ConfirmPaymentIntent::new(intent.id.as_str()).build(),
                strategy(&confirm_key)?,
            )
            .await;
            match confirmed {
                Ok(confirmed) => confirmed,
                Err(CallError::Api(failure)) if failure.is_decline() => {
                    self.ledger
                        .record(key, &intent.id, PaymentStatus::Failed.as_str())
                        .await
                        .map_err(ledger_error)?;
                    tracing::info!(payment = %intent.id, code = ?failure.code, "payment declined");
                    return Err(CallError::Api(failure).into_payment_error());
                }
                Err(e) => return Err(e.into_payment_error()),
            }
        } else {
            intent
        };
        self.record(key, &intent).await?;
        tracing::info!(payment = %intent.id, status = %intent.status, "payment confirmed");
        let status = domain_status(&intent.status);
        if status == PaymentStatus::Failed
            || (status == PaymentStatus::Canceled && intent.last_payment_error.is_some())
        {
            // A repeat of a declined request answers the decline again (as Stripe replays it), also
            // after the compensation cancelled the failed PaymentIntent.
            return Err(decline_of(&intent));
        }
        to_payment(&intent)
    }

    /// Cancels `intent`; with `key`, first marks it as cancelled by that refund key.
    async fn cancel(&self, intent: &Intent, key: Option<&str>) -> Result<Intent, CallError> {
        let cancel_key = match key {
            Some(key) => {
                let mark = UpdatePaymentIntent::new(intent.id.as_str())
                    .metadata(HashMap::from([(META_CANCEL_KEY.to_owned(), key.to_owned())]));
                wire::send::<Object>(
                    &self.client,
                    "mark PaymentIntent",
                    mark.build(),
                    RequestStrategy::Once,
                )
                .await?;
                format!("{key}{CANCEL_SUFFIX}")
            }
            None => format!("stepcart-cancel-{}", intent.id),
        };
        let strategy = IdempotencyKey::new(&cancel_key)
            .map(RequestStrategy::Idempotent)
            .map_err(|e| CallError::Config(e.to_string()))?;
        wire::send(
            &self.client,
            "cancel PaymentIntent",
            CancelPaymentIntent::new(intent.id.as_str()).build(),
            strategy,
        )
        .await
    }

    /// Refunds what is left of a captured PaymentIntent, once per refund key.
    async fn refund_captured(&self, intent: &Intent, key: &str) -> Result<RefundOutcome, PaymentError> {
        let refunds: List<Refund> = wire::send(
            &self.client,
            "list refunds",
            ListRefund::new()
                .payment_intent(intent.id.clone())
                .limit(100)
                .build(),
            RequestStrategy::Once,
        )
        .await
        .map_err(CallError::into_payment_error)?;
        let live: Vec<&Refund> = refunds
            .data
            .iter()
            .filter(|r| !matches!(r.status.as_deref(), Some("failed" | "canceled")))
            .collect();
        if live
            .iter()
            .any(|r| r.metadata.get(META_REFUND_KEY).is_some_and(|k| k == key))
        {
            // The same refund again: its first answer.
            return Ok(RefundOutcome::Refunded);
        }
        let refunded: i64 = live.iter().map(|r| r.amount).sum();
        if refunded >= intent.amount {
            return Ok(RefundOutcome::NothingToRefund);
        }
        let create = CreateRefund::new()
            .payment_intent(intent.id.clone())
            .amount(intent.amount - refunded)
            .metadata(HashMap::from([(META_REFUND_KEY.to_owned(), key.to_owned())]));
        match wire::send::<Refund>(&self.client, "create refund", create.build(), strategy(key)?).await {
            Ok(refund) => {
                tracing::info!(payment = %intent.id, refund = %refund.id, amount = refund.amount, "refunded");
                if let Some(payment_key) = intent.metadata.get(META_KEY) {
                    self.ledger
                        .record_refund(payment_key, refunded + refund.amount)
                        .await
                        .map_err(ledger_error)?;
                }
                Ok(RefundOutcome::Refunded)
            }
            Err(CallError::Api(f)) if f.code.as_deref() == Some("charge_already_refunded") => {
                Ok(RefundOutcome::NothingToRefund)
            }
            Err(e) => Err(e.into_payment_error()),
        }
    }

    /// localstripe only (`POST /v1/payment_intents/{id}/_authenticate`; Stripe has no such endpoint):
    /// completes or fails a pending 3-D Secure authentication as the customer's browser would.
    pub async fn localstripe_authenticate(
        &self,
        payment_id: &str,
        success: bool,
    ) -> Result<Payment, PaymentError> {
        let intent = self.retrieve_intent(payment_id).await?;
        let client_secret = intent.client_secret.as_deref().ok_or_else(|| {
            PaymentError::Rejected(format!("PaymentIntent {payment_id} has no client secret"))
        })?;
        let request = RequestBuilder::new(
            StripeMethod::Post,
            format!("/payment_intents/{}/_authenticate", intent.id),
        )
        .form(&AuthenticateForm {
            client_secret,
            success,
        });
        let intent: Intent = wire::send(
            &self.client,
            "authenticate PaymentIntent",
            request,
            RequestStrategy::Once,
        )
        .await
        .map_err(CallError::into_payment_error)?;
        to_payment(&intent)
    }

    /// localstripe only (Stripe refuses raw card numbers from servers): a card PaymentMethod for a
    /// test card number, such as 4000002500003155 (3-D Secure) or 4000000000000341 (declined).
    pub async fn localstripe_card_payment_method(&self, number: &str) -> Result<String, PaymentError> {
        let request = RequestBuilder::new(StripeMethod::Post, "/payment_methods").form(&PaymentMethodForm {
            kind: "card",
            card: CardForm {
                number,
                exp_month: 12,
                exp_year: 2034,
                cvc: "123",
            },
        });
        let method: Object = wire::send(
            &self.client,
            "create PaymentMethod",
            request,
            RequestStrategy::Once,
        )
        .await
        .map_err(CallError::into_payment_error)?;
        Ok(method.id)
    }
}

#[async_trait]
impl PaymentGateway for StripeGateway {
    /// See the type's documentation: a key already in the ledger with a payment id is never created
    /// again; a PaymentIntent is confirmed only after its id is in the ledger.
    async fn create_and_confirm(&self, request: &PaymentRequest) -> Result<Payment, PaymentError> {
        let key = request.idempotency_key.as_str();
        let create_strategy = RequestStrategy::Idempotent(check_key(key, CONFIRM_SUFFIX)?);
        // Like Stripe, a request that fails validation creates nothing and is not saved under the key.
        if request.amount.amount <= 0 {
            return Err(PaymentError::Rejected(
                "This value must be greater than or equal to 1.".into(),
            ));
        }
        let known = self
            .ledger
            .entry(key)
            .await
            .map_err(ledger_error)?
            .and_then(|entry| entry.payment_id);
        let intent = match known {
            Some(payment_id) => {
                let intent = self.retrieve_intent(&payment_id).await?;
                check_same_request(&intent, request)?;
                tracing::info!(payment = %payment_id, status = %intent.status, "payment key seen before; not created again");
                intent
            }
            None => {
                self.ledger
                    .begin(&LedgerEntry {
                        idempotency_key: key.to_owned(),
                        execution_name: request.execution_name.clone(),
                        order_id: request.order_id.clone(),
                        amount: request.amount,
                        payment_id: None,
                        status: PENDING.to_owned(),
                    })
                    .await
                    .map_err(ledger_error)?;
                let intent: Intent = wire::send(
                    &self.client,
                    "create PaymentIntent",
                    self.create_request(request).build(),
                    create_strategy,
                )
                .await
                .map_err(CallError::into_payment_error)?;
                check_same_request(&intent, request)?;
                self.ledger
                    .record(key, &intent.id, PENDING)
                    .await
                    .map_err(ledger_error)?;
                intent
            }
        };
        self.confirm_and_settle(key, intent).await
    }

    /// The current state of the PaymentIntent the ledger holds for this key. `None` when the key was
    /// never used, or its entry has no payment id yet: then no PaymentIntent under it was confirmed.
    async fn find_by_key(&self, idempotency_key: &str) -> Result<Option<Payment>, PaymentError> {
        let entry = self.ledger.entry(idempotency_key).await.map_err(ledger_error)?;
        let Some(payment_id) = entry.and_then(|e| e.payment_id) else {
            return Ok(None);
        };
        let intent = self.retrieve_intent(&payment_id).await?;
        to_payment(&intent).map(Some)
    }

    async fn retrieve(&self, payment_id: &str) -> Result<Payment, PaymentError> {
        to_payment(&self.retrieve_intent(payment_id).await?)
    }

    /// As the simulated provider: a captured payment is refunded in full (once, whatever the key; the
    /// same key again answers `Refunded`, another `NothingToRefund`); one awaiting 3-D Secure, still
    /// processing or not captured is cancelled (`Canceled`; the same key again `Canceled`, another
    /// `NothingToRefund`); a failed or cancelled one has `NothingToRefund`; an unknown id is `NotFound`.
    ///
    /// A failed PaymentIntent (`requires_payment_method`) took no money, but Stripe would let the
    /// browser confirm it again with another card, so it is cancelled too (answering `NothingToRefund`).
    async fn refund(&self, payment_id: &str, idempotency_key: &str) -> Result<RefundOutcome, PaymentError> {
        let key = idempotency_key;
        check_key(key, CANCEL_SUFFIX)?;
        for _ in 0..REFUND_ROUNDS {
            let intent = match self.fetch(payment_id).await {
                Ok(intent) => intent,
                Err(e) if e.api().is_some_and(|f| f.is_not_found()) => {
                    return Ok(RefundOutcome::NotFound);
                }
                Err(e) => return Err(e.into_payment_error()),
            };
            let cancelled = match intent.status.as_str() {
                "succeeded" => return self.refund_captured(&intent, key).await,
                "canceled" => {
                    let by_this_key = intent.metadata.get(META_CANCEL_KEY).is_some_and(|k| k == key);
                    return Ok(if by_this_key {
                        RefundOutcome::Canceled
                    } else {
                        RefundOutcome::NothingToRefund
                    });
                }
                "requires_payment_method" => self
                    .cancel(&intent, None)
                    .await
                    .map(|_| RefundOutcome::NothingToRefund),
                "requires_action" | "processing" | "requires_confirmation" | "requires_capture" => self
                    .cancel(&intent, Some(key))
                    .await
                    .map(|_| RefundOutcome::Canceled),
                other => {
                    return Err(PaymentError::Rejected(format!(
                        "PaymentIntent {payment_id} is {other}; stepcart cannot refund it"
                    )));
                }
            };
            match cancelled {
                Ok(outcome) => {
                    tracing::info!(payment = %payment_id, ?outcome, "payment cancelled");
                    return Ok(outcome);
                }
                // Refused because the state moved on (authenticated, or still processing at the bank):
                // read it again and act on the new state.
                Err(CallError::Api(f)) if f.status == 400 => {
                    tracing::info!(payment = %payment_id, reason = %f.message, "cancel refused; re-reading");
                }
                Err(e) => return Err(e.into_payment_error()),
            }
        }
        Err(PaymentError::Unavailable(format!(
            "PaymentIntent {payment_id} could not be cancelled or refunded yet; retry"
        )))
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use super::*;
    use stepcart_domain::PortError;

    struct NoLedger;

    #[async_trait]
    impl PaymentLedger for NoLedger {
        async fn begin(&self, _: &LedgerEntry) -> Result<(), PortError> {
            Ok(())
        }
        async fn record(&self, _: &str, _: &str, _: &str) -> Result<(), PortError> {
            Ok(())
        }
        async fn record_refund(&self, _: &str, _: i64) -> Result<(), PortError> {
            Ok(())
        }
        async fn entry(&self, _: &str) -> Result<Option<LedgerEntry>, PortError> {
            Ok(None)
        }
    }

    const SECRET: &str = "sk_test_doNotLeakThisKey123";

    fn request() -> PaymentRequest {
        PaymentRequest {
            idempotency_key: "stepcart-pay-abc".into(),
            amount: Money::new(4497, Currency::parse("EUR").expect("EUR")),
            payment_method: "pm_card_visa".into(),
            customer_id: "cust-1".into(),
            order_id: "ord_1".into(),
            execution_name: "checkout-1".into(),
        }
    }

    #[test]
    fn debug_and_errors_never_show_the_secret_key() {
        let gateway = StripeGateway::new(SECRET, "http://127.0.0.1:1", Arc::new(NoLedger)).expect("built");
        let shown = format!("{gateway:?}");
        assert!(!shown.contains(SECRET), "{shown}");
        assert!(shown.contains("http://127.0.0.1:1/"), "{shown}");
        let error =
            StripeGateway::new("sk_test_bad key", DEFAULT_API_BASE, Arc::new(NoLedger)).expect_err("space");
        assert!(!format!("{error} {error:?}").contains("bad key"));
        let error = StripeGateway::new(SECRET, "ftp://x", Arc::new(NoLedger)).expect_err("url");
        assert!(!format!("{error} {error:?}").contains(SECRET));
    }

    #[tokio::test]
    async fn a_network_failure_is_unavailable_and_names_no_secret() {
        // Port 1 on the loopback refuses connections.
        let gateway = StripeGateway::new(SECRET, "http://127.0.0.1:1/", Arc::new(NoLedger)).expect("built");
        let error = gateway.create_and_confirm(&request()).await.expect_err("refused");
        assert!(matches!(error, PaymentError::Unavailable(_)), "{error:?}");
        assert!(!format!("{error} {error:?}").contains(SECRET));
    }

    #[test]
    fn the_create_request_is_form_encoded_with_metadata_and_redirect_free_card_payments() {
        let gateway = StripeGateway::new(SECRET, DEFAULT_API_BASE, Arc::new(NoLedger)).expect("built");
        let built = gateway.create_request(&request()).build();
        let body = built.body.expect("a form");
        for part in [
            "amount=4497",
            "currency=eur",
            "payment_method=pm_card_visa",
            "metadata[execution_name]=checkout-1",
            "metadata[order_id]=ord_1",
            "metadata[idempotency_key]=stepcart-pay-abc",
            "automatic_payment_methods[enabled]=true",
            "automatic_payment_methods[allow_redirects]=never",
        ] {
            let encoded = part.replace('[', "%5B").replace(']', "%5D");
            assert!(body.contains(part) || body.contains(&encoded), "{part} in {body}");
        }
        assert!(!body.contains("confirm"), "{body}");
        let local = gateway.without_automatic_payment_methods();
        let body = local.create_request(&request()).build().body.expect("a form");
        assert!(!body.contains("automatic_payment_methods"), "{body}");
    }

    #[test]
    fn stripe_statuses_in_domain_terms() {
        assert_eq!(domain_status("succeeded"), PaymentStatus::Succeeded);
        assert_eq!(domain_status("requires_action"), PaymentStatus::RequiresAction);
        assert_eq!(domain_status("requires_payment_method"), PaymentStatus::Failed);
        assert_eq!(domain_status("canceled"), PaymentStatus::Canceled);
        assert_eq!(domain_status("requires_capture"), PaymentStatus::Processing);
        assert_eq!(domain_status("processing"), PaymentStatus::Processing);
    }

    #[test]
    fn keys_and_ids_are_checked_before_any_request() {
        assert!(check_key("", CONFIRM_SUFFIX).is_err());
        assert!(check_key(&"k".repeat(248), CONFIRM_SUFFIX).is_err());
        assert!(check_key(&"k".repeat(247), CONFIRM_SUFFIX).is_ok());
        assert!(is_stripe_id("pi_123abc"));
        assert!(!is_stripe_id("pi_1/../refunds"));
        assert!(!is_stripe_id(""));
    }
}
