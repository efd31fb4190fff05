//! The checkout definition's Retry and Catch paths, driven through the engine with scripted functions on a
//! virtual clock: transient errors are retried with back-off, business errors never are, and every failure
//! after a side effect runs its compensations before the execution fails with the documented error.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use stepcart_asl::{
    DriveMode, Execution, ExecutionContext, ExecutionStatus, FunctionError, HistoryEvent, LambdaFunction,
    LambdaRegistry, MemorySink, Runner, StateMachine, VirtualClock,
};
use stepcart_asl::{Value, json};
use time::OffsetDateTime;

const TASKS: [&str; 9] = [
    "validate-cart",
    "reserve-stock",
    "price-order",
    "authorize-payment",
    "await-payment-authentication",
    "create-order",
    "notify-customer",
    "release-stock",
    "refund-payment",
];

fn arn(task: &str) -> String {
    format!("arn:aws:lambda:us-east-1:000000000000:function:test-{task}")
}

type Reply = Result<Value, FunctionError>;

/// Answers each call from its script; when the script is empty, with the task's normal success.
#[derive(Default)]
struct Functions {
    scripts: Mutex<HashMap<String, VecDeque<Reply>>>,
    calls: Mutex<Vec<(String, Value)>>,
}

impl Functions {
    fn script(&self, task: &str, replies: Vec<Reply>) {
        self.scripts
            .lock()
            .expect("lock")
            .insert(task.to_owned(), replies.into());
    }

    fn calls(&self, task: &str) -> usize {
        self.calls
            .lock()
            .expect("lock")
            .iter()
            .filter(|(t, _)| t == task)
            .count()
    }

    fn order(&self) -> Vec<String> {
        self.calls
            .lock()
            .expect("lock")
            .iter()
            .map(|(t, _)| t.clone())
            .collect()
    }

    fn payload(&self, task: &str) -> Value {
        self.calls
            .lock()
            .expect("lock")
            .iter()
            .find(|(t, _)| t == task)
            .map(|(_, p)| p.clone())
            .expect("called")
    }
}

fn normal_success(task: &str, payment_status: &str) -> Value {
    match task {
        "validate-cart" => json!({"customer": {"id": "cus_1", "email": "a@example.com"}, "currency": "EUR",
                                  "items": [{"sku": "A", "quantity": 1}], "paymentMethod": "pm_card_visa"}),
        "reserve-stock" => json!({"reservationId": "res_1", "items": [{"sku": "A", "quantity": 1}]}),
        "price-order" => json!({"items": [{"sku": "A", "quantity": 1, "unitPrice": 500, "lineTotal": 500}],
                                "subtotal": 500, "discount": 0, "total": 500, "currency": "EUR"}),
        "authorize-payment" => {
            json!({"paymentId": "pi_1", "status": payment_status, "amount": 500, "currency": "EUR"})
        }
        "create-order" => json!({"orderId": "ord_1", "status": "CONFIRMED", "total": 500, "currency": "EUR",
                                 "paymentId": "pi_1", "reservationId": "res_1"}),
        _ => json!({}),
    }
}

struct Scripted {
    task: &'static str,
    functions: Arc<Functions>,
    payment_status: &'static str,
}

#[async_trait]
impl LambdaFunction for Scripted {
    async fn invoke(&self, payload: Value) -> Result<Value, FunctionError> {
        self.functions
            .calls
            .lock()
            .expect("lock")
            .push((self.task.to_owned(), payload));
        let scripted = self
            .functions
            .scripts
            .lock()
            .expect("lock")
            .get_mut(self.task)
            .and_then(VecDeque::pop_front);
        scripted.unwrap_or_else(|| Ok(normal_success(self.task, self.payment_status)))
    }
}

fn fail(error_type: &str, message: &str) -> Reply {
    Err(FunctionError::new(error_type, message))
}

struct Outcome {
    execution: Execution,
    events: Vec<HistoryEvent>,
}

async fn run_checkout(functions: Arc<Functions>, payment_status: &'static str) -> Outcome {
    let vars: BTreeMap<String, String> = TASKS
        .iter()
        .map(|t| (format!("{}_function_arn", t.replace('-', "_")), arn(t)))
        .collect();
    let text = stepcart_asl::render_template(include_str!("../../../workflows/checkout.asl.json"), &vars)
        .expect("placeholders filled");
    let machine = Arc::new(StateMachine::from_json(&text).expect("valid definition"));
    let mut registry = LambdaRegistry::new();
    for task in TASKS {
        registry.register(
            &arn(task),
            Arc::new(Scripted {
                task,
                functions: functions.clone(),
                payment_status,
            }),
        );
    }
    let start = OffsetDateTime::now_utc();
    let sink = Arc::new(MemorySink::new());
    let runner = Runner::new(
        Arc::new(registry),
        sink.clone(),
        Arc::new(VirtualClock::new(start)),
    );
    let machine_arn = "arn:aws:states:us-east-1:000000000000:stateMachine:checkout";
    let context = ExecutionContext::new(machine_arn, "exec-1", start);
    let arn = context.execution_arn.clone();
    let execution = runner
        .start(
            machine,
            context,
            json!({"any": "request"}),
            DriveMode::UntilComplete,
        )
        .await
        .expect("the runner finishes");
    Outcome {
        execution,
        events: sink.events(&arn),
    }
}

fn failed(outcome: &Outcome) -> (String, String) {
    match outcome.execution.status() {
        ExecutionStatus::Failed { error, cause } => (error.clone(), cause.clone().unwrap_or_default()),
        other => panic!("expected FAILED, got {other:?}"),
    }
}

fn entered_states(outcome: &Outcome) -> Vec<String> {
    outcome
        .events
        .iter()
        .filter(|e| e.event_type.as_str().ends_with("StateEntered"))
        .filter_map(|e| {
            e.to_aws_json()["stateEnteredEventDetails"]["name"]
                .as_str()
                .map(str::to_owned)
        })
        .collect()
}

#[tokio::test]
async fn the_happy_path_outputs_the_order() {
    let functions = Arc::new(Functions::default());
    let outcome = run_checkout(functions.clone(), "succeeded").await;
    match outcome.execution.status() {
        ExecutionStatus::Succeeded { output } => assert_eq!(output["orderId"], "ord_1"),
        other => panic!("{other:?}"),
    }
    assert_eq!(
        functions.order(),
        [
            "validate-cart",
            "reserve-stock",
            "price-order",
            "authorize-payment",
            "create-order",
            "notify-customer"
        ]
    );
    // Each task receives exactly the execution name its ids derive from.
    assert_eq!(functions.payload("reserve-stock")["executionName"], "exec-1");
    assert_eq!(functions.payload("authorize-payment")["amount"], 500);
    assert_eq!(
        functions.payload("validate-cart")["request"],
        json!({"any": "request"})
    );
}

#[tokio::test]
async fn transient_errors_are_retried_with_jittered_exponential_back_off() {
    let functions = Arc::new(Functions::default());
    functions.script(
        "create-order",
        vec![
            fail("Lambda.TooManyRequestsException", "Rate exceeded"),
            fail("Stepcart.TransientError", "database busy"),
            fail("Lambda.ServiceException", "boom"),
        ],
    );
    let outcome = run_checkout(functions.clone(), "succeeded").await;
    assert!(matches!(
        outcome.execution.status(),
        ExecutionStatus::Succeeded { .. }
    ));
    assert_eq!(functions.calls("create-order"), 4, "three retries, then success");
    assert_eq!(functions.calls("refund-payment"), 0);
    // Full jitter: retry n waits a random time in [0, min(1 s * 2^n, 10 s)].
    let failed_at: Vec<OffsetDateTime> = outcome
        .events
        .iter()
        .filter(|e| e.event_type.as_str() == "LambdaFunctionFailed")
        .map(|e| e.timestamp)
        .collect();
    let scheduled_at: Vec<OffsetDateTime> = outcome
        .events
        .iter()
        .filter(|e| e.event_type.as_str() == "LambdaFunctionScheduled")
        .map(|e| e.timestamp)
        .collect();
    assert_eq!(
        failed_at.len(),
        3,
        "direct Lambda ARNs log LambdaFunction* events, as on AWS"
    );
    let create_order_attempts = &scheduled_at[scheduled_at.len() - 5..scheduled_at.len() - 1];
    for (retry, (failed, next)) in failed_at.iter().zip(&create_order_attempts[1..]).enumerate() {
        let delay = (*next - *failed).as_seconds_f64();
        let cap = f64::from(1u32 << retry).min(10.0);
        assert!(
            (0.0..=cap).contains(&delay),
            "retry {retry} waited {delay} s, cap {cap} s"
        );
    }
}

#[tokio::test]
async fn business_errors_are_never_retried() {
    for (task, error, payment_status) in [
        ("validate-cart", "InvalidCart", "succeeded"),
        ("reserve-stock", "OutOfStock", "succeeded"),
        ("authorize-payment", "PaymentDeclined", "succeeded"),
        ("create-order", "OrderFailed", "succeeded"),
    ] {
        let functions = Arc::new(Functions::default());
        functions.script(task, vec![fail(error, &format!("{task} said no"))]);
        let outcome = run_checkout(functions.clone(), payment_status).await;
        let (name, cause) = failed(&outcome);
        assert_eq!(name, error);
        assert_eq!(
            cause,
            format!("{task} said no"),
            "the cause is the task's message"
        );
        assert_eq!(functions.calls(task), 1, "{error} must not be retried");
    }
}

#[tokio::test]
async fn each_failure_runs_exactly_the_compensations_its_side_effects_need() {
    // (failing task, error, refund expected, release expected)
    let cases = [
        ("validate-cart", "InvalidCart", false, false),
        ("reserve-stock", "OutOfStock", false, false),
        ("price-order", "InvalidCart", false, true),
        ("authorize-payment", "PaymentDeclined", false, true),
        ("create-order", "OrderFailed", true, true),
    ];
    for (task, error, refund, release) in cases {
        let functions = Arc::new(Functions::default());
        functions.script(task, vec![fail(error, "no")]);
        let outcome = run_checkout(functions.clone(), "succeeded").await;
        assert_eq!(failed(&outcome).0, error);
        assert_eq!(
            functions.calls("refund-payment"),
            usize::from(refund),
            "{task}: refund"
        );
        assert_eq!(
            functions.calls("release-stock"),
            usize::from(release),
            "{task}: release"
        );
        if refund {
            let order = functions.order();
            let refund_at = order.iter().position(|t| t == "refund-payment");
            let release_at = order.iter().position(|t| t == "release-stock");
            assert!(refund_at < release_at, "money goes back before stock: {order:?}");
        }
        let notified_failure = functions.calls("notify-customer") == 1;
        assert_eq!(
            notified_failure,
            error == "PaymentDeclined",
            "{task}: payment-failed notice"
        );
    }
}

#[tokio::test]
async fn an_unexpected_error_after_payment_becomes_order_failed_and_is_compensated() {
    let functions = Arc::new(Functions::default());
    functions.script(
        "create-order",
        vec![fail("Stepcart.InternalError", "disk on fire")],
    );
    let outcome = run_checkout(functions.clone(), "succeeded").await;
    let (error, cause) = failed(&outcome);
    assert_eq!(error, "OrderFailed");
    assert!(cause.contains("refunded"), "{cause}");
    assert_eq!(
        (
            functions.calls("refund-payment"),
            functions.calls("release-stock")
        ),
        (1, 1)
    );
}

#[tokio::test]
async fn retries_are_exhausted_then_compensated() {
    let functions = Arc::new(Functions::default());
    functions.script(
        "create-order",
        (0..10).map(|_| fail("Lambda.ServiceException", "down")).collect(),
    );
    let outcome = run_checkout(functions.clone(), "succeeded").await;
    assert_eq!(failed(&outcome).0, "OrderFailed");
    assert_eq!(functions.calls("create-order"), 5, "one attempt and four retries");
    assert_eq!(
        (
            functions.calls("refund-payment"),
            functions.calls("release-stock")
        ),
        (1, 1)
    );
}

#[tokio::test]
async fn a_compensation_that_keeps_failing_fails_loudly() {
    let functions = Arc::new(Functions::default());
    functions.script("authorize-payment", vec![fail("PaymentDeclined", "no")]);
    functions.script(
        "release-stock",
        (0..20).map(|_| fail("Stepcart.TransientError", "busy")).collect(),
    );
    let outcome = run_checkout(functions.clone(), "succeeded").await;
    assert_eq!(failed(&outcome).0, "Stepcart.CompensationFailed");
    assert_eq!(
        functions.calls("release-stock"),
        9,
        "one attempt and eight retries"
    );
}

#[tokio::test]
async fn a_failed_notification_does_not_fail_a_paid_order() {
    let functions = Arc::new(Functions::default());
    functions.script(
        "notify-customer",
        (0..10)
            .map(|_| fail("Stepcart.InternalError", "smtp down"))
            .collect(),
    );
    let outcome = run_checkout(functions.clone(), "succeeded").await;
    assert!(matches!(
        outcome.execution.status(),
        ExecutionStatus::Succeeded { .. }
    ));
    assert_eq!(functions.calls("refund-payment"), 0);
}

#[tokio::test]
async fn three_d_secure_that_never_completes_times_out_cancels_and_releases() {
    let functions = Arc::new(Functions::default());
    let outcome = run_checkout(functions.clone(), "requires_action").await;
    let (error, cause) = failed(&outcome);
    assert_eq!(error, "PaymentAuthenticationFailed");
    assert!(cause.contains("15 minutes"), "{cause}");
    assert_eq!(functions.calls("await-payment-authentication"), 1);
    let await_payload = functions.payload("await-payment-authentication");
    assert!(
        await_payload["taskToken"].as_str().is_some_and(|t| t.len() >= 32),
        "{await_payload}"
    );
    assert_eq!(await_payload["paymentId"], "pi_1");
    assert_eq!(
        (
            functions.calls("refund-payment"),
            functions.calls("release-stock")
        ),
        (1, 1)
    );
    assert_eq!(functions.calls("create-order"), 0);
    assert!(entered_states(&outcome).contains(&"AuthenticationTimedOut".to_owned()));
}
