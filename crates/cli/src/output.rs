//! How executions are shown: DescribeExecution-shaped JSON, a short text summary, and live progress.

use std::collections::HashMap;
use std::io::Write;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};

use serde_json::{Value, json};
use stepcart_asl::{Execution, ExecutionStatus};
use stepcart_domain::{Currency, Money};
use stepcart_store_sqlite::ExecutionRecord;
use time::OffsetDateTime;

use crate::local::rfc3339;

/// The store row of an execution as the engine sees it now.
pub fn record_of(execution: &Execution) -> ExecutionRecord {
    let context = execution.context();
    let (status, output, error, cause) = match execution.status() {
        ExecutionStatus::Running => ("RUNNING", None, None, None),
        ExecutionStatus::Succeeded { output } => ("SUCCEEDED", Some(output.to_string()), None, None),
        ExecutionStatus::Failed { error, cause } => ("FAILED", None, Some(error.clone()), cause.clone()),
        ExecutionStatus::TimedOut { .. } => ("TIMED_OUT", None, Some("States.Timeout".to_owned()), None),
        ExecutionStatus::Aborted { error, cause } => ("ABORTED", None, error.clone(), cause.clone()),
    };
    let stop_date = (status != "RUNNING").then(|| rfc3339(OffsetDateTime::now_utc()));
    ExecutionRecord {
        execution_arn: context.execution_arn.to_string(),
        name: context.name.to_string(),
        state_machine_arn: context.state_machine_arn.to_string(),
        status: status.to_owned(),
        input: execution.input().to_string(),
        output,
        error,
        cause,
        start_date: rfc3339(context.start_time),
        stop_date,
    }
}

/// The fields of Step Functions' DescribeExecution (input and output as JSON text, as AWS returns them).
pub fn describe_json(record: &ExecutionRecord) -> Value {
    let mut value = json!({
        "executionArn": record.execution_arn,
        "stateMachineArn": record.state_machine_arn,
        "name": record.name,
        "status": record.status,
        "input": record.input,
        "startDate": record.start_date,
    });
    let extra = [
        ("output", &record.output),
        ("error", &record.error),
        ("cause", &record.cause),
        ("stopDate", &record.stop_date),
    ];
    for (key, field) in extra {
        if let (Some(text), Some(object)) = (field, value.as_object_mut()) {
            object.insert(key.to_owned(), Value::String(text.clone()));
        }
    }
    value
}

/// Prints an execution on stdout: JSON, or a few aligned lines of text.
pub fn print_execution(json_output: bool, record: &ExecutionRecord, note: Option<&str>) {
    if json_output {
        println!("{}", describe_json(record));
        return;
    }
    println!("execution  {}", record.name);
    println!("status     {}", record.status);
    if let Some(output) = record
        .output
        .as_deref()
        .and_then(|o| serde_json::from_str::<Value>(o).ok())
    {
        print_order_summary(&output);
    }
    if let Some(error) = &record.error {
        println!("error      {error}");
    }
    if let Some(cause) = &record.cause {
        println!("cause      {cause}");
    }
    if let Some(note) = note {
        println!("{note}");
    }
}

fn print_order_summary(output: &Value) {
    let Some(order_id) = output.get("orderId").and_then(Value::as_str) else {
        println!("output     {output}");
        return;
    };
    let currency = output
        .get("currency")
        .and_then(Value::as_str)
        .and_then(|c| Currency::parse(c).ok());
    let money = |field: &str| match (output.get(field).and_then(Value::as_i64), currency) {
        (Some(amount), Some(currency)) => Money::new(amount, currency).to_string(),
        (Some(amount), None) => amount.to_string(),
        _ => "?".to_owned(),
    };
    let status = output.get("status").and_then(Value::as_str).unwrap_or("?");
    println!("order      {order_id} {status}");
    println!(
        "total      {} (subtotal {}, discount {})",
        money("total"),
        money("subtotal"),
        money("discount")
    );
    if let Some(payment) = output.get("paymentId").and_then(Value::as_str) {
        println!("payment    {payment}");
    }
}

/// Live progress on stderr: each state as it is entered and left, with how long it took.
#[derive(Default)]
pub struct Progress {
    enabled: AtomicBool,
    entered_at: Mutex<HashMap<String, f64>>,
}

impl Progress {
    pub fn enable(&self, on: bool) {
        self.enabled.store(on, Ordering::Relaxed);
    }

    pub fn show(&self, events: &[stepcart_asl::Value]) {
        if !self.enabled.load(Ordering::Relaxed) || events.is_empty() {
            return;
        }
        let mut stderr = std::io::stderr().lock();
        let Ok(mut entered_at) = self.entered_at.lock() else {
            return;
        };
        for event in events {
            let kind = event
                .get("type")
                .and_then(stepcart_asl::Value::as_str)
                .unwrap_or("");
            let at = event_seconds(event);
            let detail = |key: &str, field: &str| {
                event
                    .get(key)
                    .and_then(|d| d.get(field))
                    .and_then(stepcart_asl::Value::as_str)
                    .unwrap_or("")
                    .to_owned()
            };
            let line = if kind.ends_with("StateEntered") {
                let name = detail("stateEnteredEventDetails", "name");
                entered_at.insert(name.clone(), at);
                format!("  \u{25b8} {name}")
            } else if kind.ends_with("StateExited") {
                let name = detail("stateExitedEventDetails", "name");
                let took = entered_at
                    .remove(&name)
                    .map(|start| (at - start) * 1000.0)
                    .unwrap_or(0.0);
                format!("  \u{2713} {name:<28} {took:>8.1} ms")
            } else if kind == "TaskFailed" || kind == "LambdaFunctionFailed" {
                let key = if kind == "TaskFailed" {
                    "taskFailedEventDetails"
                } else {
                    "lambdaFunctionFailedEventDetails"
                };
                format!("  \u{2717} {}", detail(key, "error"))
            } else if kind == "TaskTimedOut" || kind == "LambdaFunctionTimedOut" {
                "  \u{2717} task timed out".to_owned()
            } else if kind == "TaskSubmitted" {
                "  \u{2026} waiting for a task token callback".to_owned()
            } else if kind == "ExecutionFailed" {
                let error = detail("executionFailedEventDetails", "error");
                format!("  = FAILED ({error})")
            } else if kind == "ExecutionSucceeded" {
                "  = SUCCEEDED".to_owned()
            } else {
                continue;
            };
            let _ = writeln!(stderr, "{line}");
        }
    }
}

/// An event's time in seconds since the epoch, whether the engine wrote a number or RFC 3339 text.
fn event_seconds(event: &stepcart_asl::Value) -> f64 {
    match event.get("timestamp") {
        Some(stepcart_asl::Value::Number(n)) => n.as_f64().unwrap_or(0.0),
        Some(stepcart_asl::Value::String(s)) => {
            OffsetDateTime::parse(s, &time::format_description::well_known::Rfc3339)
                .map(|t| t.unix_timestamp_nanos() as f64 / 1e9)
                .unwrap_or(0.0)
        }
        _ => 0.0,
    }
}
