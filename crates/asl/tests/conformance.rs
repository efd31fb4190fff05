//! Data-driven conformance suite: runs every case under `tests/conformance/<area>/<case>.json`.
//!
//! Each case holds a definition, an input, scripted Lambda answers (`tasks`), optional task-token
//! outcomes (`callbacks`) and the expected outcome (`expect`). The files are engine-neutral: the same
//! files run on aws-local-stepfunctions through `scripts/conformance/peer.mjs`.
//!
//! `KNOWN_FAILURES.txt` lists cases expected to fail today. A listed case that passes is reported so the
//! list can shrink; an unlisted failing case fails the test. Set `CONFORMANCE_RESULTS=<file>` to dump
//! per-case results as JSON, and `CONFORMANCE_FILTER=<substring>` to run a subset.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use serde_json::{Value, json};
use stepcart_asl::{
    Clock, DriveMode, Execution, ExecutionContext, ExecutionStatus, ExternalEvent, FunctionError,
    LambdaFunction, LambdaRegistry, NullSink, Runner, StateMachine, VirtualClock,
};
use time::OffsetDateTime;
use time::macros::datetime;

const START: OffsetDateTime = datetime!(2024-05-01 12:00:00 UTC);
const STATE_MACHINE_ARN: &str = "arn:aws:states:us-east-1:123456789012:stateMachine:Conformance";
const FUNCTION_ARN_PREFIX: &str = "arn:aws:lambda:us-east-1:123456789012:function:";
const DEFAULT_EXECUTION_NAME: &str = "conformance-run";
/// Real-time guard per case, so a stuck execution cannot hang the suite.
const CASE_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(20);

fn cases_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/conformance")
}

fn collect_cases(dir: &Path, out: &mut Vec<PathBuf>) {
    let entries = std::fs::read_dir(dir).expect("read conformance dir");
    for entry in entries {
        let path = entry.expect("dir entry").path();
        if path.is_dir() {
            collect_cases(&path, out);
        } else if path.extension().is_some_and(|e| e == "json") {
            out.push(path);
        }
    }
}

fn case_id(path: &Path) -> String {
    let rel = path
        .strip_prefix(cases_dir())
        .expect("case under conformance dir");
    rel.with_extension("").to_string_lossy().replace('\\', "/")
}

fn known_failures() -> BTreeSet<String> {
    let path = cases_dir().join("KNOWN_FAILURES.txt");
    let text = std::fs::read_to_string(path).unwrap_or_default();
    text.lines()
        .map(|l| l.split('#').next().unwrap_or_default().trim())
        .filter(|l| !l.is_empty())
        .map(|l| l.trim_end_matches(".json").to_owned())
        .collect()
}

/// A Lambda function that plays back scripted answers in order; the last answer repeats.
struct Scripted {
    answers: Vec<Value>,
    calls: Mutex<usize>,
    clock: VirtualClock,
}

#[async_trait]
impl LambdaFunction for Scripted {
    async fn invoke(&self, payload: stepcart_asl::Value) -> Result<stepcart_asl::Value, FunctionError> {
        let n = {
            let mut calls = self.calls.lock().expect("lock");
            *calls += 1;
            *calls - 1
        };
        let answer = self
            .answers
            .get(n)
            .or_else(|| self.answers.last())
            .cloned()
            .unwrap_or_else(|| json!({"echo": true}));
        if let Some(secs) = answer.get("delaySeconds").and_then(Value::as_f64) {
            let at = self.clock.now() + time::Duration::seconds_f64(secs);
            self.clock.sleep_until(at).await;
        }
        if let Some(error) = answer.get("error").and_then(Value::as_str) {
            let cause = answer.get("cause").and_then(Value::as_str).unwrap_or_default();
            return Err(FunctionError::new(error, cause));
        }
        if answer.get("echo").and_then(Value::as_bool) == Some(true) {
            return Ok(payload);
        }
        Ok(answer
            .get("output")
            .map_or(stepcart_asl::Value::Null, stepcart_asl::Value::from))
    }
}

/// JSON equality where numbers compare by value (5 == 5.0).
fn json_eq(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => x.as_f64() == y.as_f64(),
        (Value::Array(x), Value::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(p, q)| json_eq(p, q))
        }
        (Value::Object(x), Value::Object(y)) => {
            x.len() == y.len() && x.iter().all(|(k, v)| y.get(k).is_some_and(|w| json_eq(v, w)))
        }
        _ => a == b,
    }
}

fn status_json(status: &ExecutionStatus) -> Value {
    match status {
        ExecutionStatus::Running => json!({"status": "RUNNING"}),
        ExecutionStatus::Succeeded { output } => json!({"status": "SUCCEEDED", "output": output}),
        ExecutionStatus::Failed { error, cause } => {
            json!({"status": "FAILED", "error": error, "cause": cause})
        }
        ExecutionStatus::TimedOut { error, cause } => {
            json!({"status": "TIMED_OUT", "error": error, "cause": cause})
        }
        ExecutionStatus::Aborted { error, cause } => {
            json!({"status": "ABORTED", "error": error, "cause": cause})
        }
    }
}

/// Compares an actual outcome (`status_json` shape) with a case's `expect`.
fn check(expect: &Value, actual: &Value) -> Result<(), String> {
    let want = expect["status"].as_str().unwrap_or_default();
    let got = actual["status"].as_str().unwrap_or_default();
    if want != got {
        return Err(format!("expected {want}, got {actual}"));
    }
    if let Some(out) = expect.get("output")
        && !json_eq(out, &actual["output"])
    {
        return Err(format!(
            "output differs: expected {out}, got {}",
            actual["output"]
        ));
    }
    if let Some(error) = expect.get("error")
        && error != &actual["error"]
    {
        return Err(format!("error differs: expected {error}, got {actual}"));
    }
    if let Some(cause) = expect.get("cause")
        && cause != &actual["cause"]
    {
        return Err(format!(
            "cause differs: expected {cause}, got {}",
            actual["cause"]
        ));
    }
    Ok(())
}

async fn run_case(case: Value) -> (Result<(), String>, Value) {
    let definition = case["definition"].to_string();
    let expect = &case["expect"];
    let parsed = StateMachine::from_json(&definition);
    if let Some(subs) = expect.get("validation").and_then(Value::as_array) {
        return match parsed {
            Ok(_) => (
                Err("definition was accepted, expected a validation error".to_owned()),
                json!({"validation": null}),
            ),
            Err(e) => {
                let text = e.to_string();
                let lower = text.to_lowercase();
                let missing: Vec<&str> = subs
                    .iter()
                    .filter_map(Value::as_str)
                    .filter(|s| !lower.contains(&s.to_lowercase()))
                    .collect();
                let actual = json!({"validation": text});
                if missing.is_empty() {
                    (Ok(()), actual)
                } else {
                    (Err(format!("validation error lacks {missing:?}: {text}")), actual)
                }
            }
        };
    }
    let machine = match parsed {
        Ok(m) => Arc::new(m),
        Err(e) => {
            return (
                Err(format!("definition rejected: {e}")),
                json!({"validation": e.to_string()}),
            );
        }
    };

    let clock = VirtualClock::new(START);
    let mut registry = LambdaRegistry::new();
    if let Some(tasks) = case.get("tasks").and_then(Value::as_object) {
        for (name, answers) in tasks {
            let answers = answers.as_array().cloned().unwrap_or_default();
            let f = Scripted {
                answers,
                calls: Mutex::new(0),
                clock: clock.clone(),
            };
            registry.register(&format!("{FUNCTION_ARN_PREFIX}{name}"), Arc::new(f));
        }
    }
    let runner = Runner::new(Arc::new(registry), Arc::new(NullSink), Arc::new(clock.clone()));
    let name = case
        .pointer("/context/executionName")
        .and_then(Value::as_str)
        .unwrap_or(DEFAULT_EXECUTION_NAME);
    let ctx = ExecutionContext::new(STATE_MACHINE_ARN, name, START);
    let callbacks = case
        .get("callbacks")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    let mode = if callbacks.is_empty() {
        DriveMode::UntilComplete
    } else {
        DriveMode::UntilIdle
    };
    let mut exec: Execution = match runner
        .start(machine.clone(), ctx, case["input"].clone().into(), mode)
        .await
    {
        Ok(e) => e,
        Err(e) => return (Err(format!("runner error: {e}")), Value::Null),
    };
    for (i, cb) in callbacks.iter().enumerate() {
        let last = i + 1 == callbacks.len();
        let Some(token) = exec.waiting_task_tokens().first().cloned() else {
            return (
                Err(format!("callback #{i}: no task token is waiting")),
                status_json(exec.status()),
            );
        };
        let event = match (cb.get("success"), cb.get("failure")) {
            (Some(output), _) => Some(ExternalEvent::TaskTokenSucceeded {
                token,
                output: output.into(),
            }),
            (None, Some(f)) => Some(ExternalEvent::TaskTokenFailed {
                token,
                error: f["error"].as_str().unwrap_or_default().to_owned(),
                cause: f["cause"].as_str().map(str::to_owned),
            }),
            (None, None) => None,
        };
        let mode = if last || event.is_none() {
            DriveMode::UntilComplete
        } else {
            DriveMode::UntilIdle
        };
        exec = match runner.resume(machine.clone(), exec, event, mode).await {
            Ok(e) => e,
            Err(e) => return (Err(format!("runner error: {e}")), Value::Null),
        };
    }
    let actual = status_json(exec.status());
    (check(expect, &actual), actual)
}

struct Outcome {
    id: String,
    passed: bool,
    detail: String,
    actual: Value,
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn conformance() {
    let mut paths = Vec::new();
    collect_cases(&cases_dir(), &mut paths);
    paths.sort();
    let filter = std::env::var("CONFORMANCE_FILTER").unwrap_or_default();
    let known = known_failures();
    let mut outcomes = Vec::new();
    for path in &paths {
        let id = case_id(path);
        if !id.contains(&filter) {
            continue;
        }
        let text = std::fs::read_to_string(path).expect("read case");
        let case: Value = match serde_json::from_str(&text) {
            Ok(v) => v,
            Err(e) => panic!("{id}: invalid case JSON: {e}"),
        };
        let handle = tokio::spawn(tokio::time::timeout(CASE_TIMEOUT, run_case(case)));
        let (result, actual) = match handle.await {
            Ok(Ok(r)) => r,
            Ok(Err(_)) => (
                Err("timed out (real time): the execution never finished".to_owned()),
                Value::Null,
            ),
            Err(e) => (Err(format!("panicked: {e}")), Value::Null),
        };
        outcomes.push(Outcome {
            id,
            passed: result.is_ok(),
            detail: result.err().unwrap_or_default(),
            actual,
        });
    }

    // Per-area table.
    let mut areas: BTreeMap<String, (usize, usize, usize, usize)> = BTreeMap::new();
    let mut unexpected = Vec::new();
    let mut fixed = Vec::new();
    for o in &outcomes {
        let area = o.id.split('/').next().unwrap_or_default().to_owned();
        let row = areas.entry(area).or_default();
        row.0 += 1;
        let is_known = known.contains(&o.id);
        match (o.passed, is_known) {
            (true, false) => row.1 += 1,
            (true, true) => {
                row.1 += 1;
                fixed.push(o.id.clone());
            }
            (false, true) => row.2 += 1,
            (false, false) => {
                row.3 += 1;
                unexpected.push(format!("{}: {}", o.id, o.detail));
            }
        }
    }
    println!(
        "\n{:<20} {:>6} {:>6} {:>7} {:>7}",
        "area", "cases", "pass", "known", "FAIL"
    );
    let mut totals = (0, 0, 0, 0);
    for (area, (n, p, k, f)) in &areas {
        println!("{area:<20} {n:>6} {p:>6} {k:>7} {f:>7}");
        totals = (totals.0 + n, totals.1 + p, totals.2 + k, totals.3 + f);
    }
    println!(
        "{:<20} {:>6} {:>6} {:>7} {:>7}\n",
        "TOTAL", totals.0, totals.1, totals.2, totals.3
    );
    for o in outcomes.iter().filter(|o| !o.passed && known.contains(&o.id)) {
        println!("known failure  {}: {}", o.id, o.detail);
    }
    let ids: BTreeSet<&str> = outcomes.iter().map(|o| o.id.as_str()).collect();
    if filter.is_empty() {
        for k in known.iter().filter(|k| !ids.contains(k.as_str())) {
            println!("KNOWN_FAILURES.txt lists a case that does not exist: {k}");
        }
    }
    for f in &fixed {
        println!("now passing, remove from KNOWN_FAILURES.txt: {f}");
    }

    if let Ok(out) = std::env::var("CONFORMANCE_RESULTS") {
        let results: serde_json::Map<String, Value> = outcomes
            .iter()
            .map(|o| {
                (
                    o.id.clone(),
                    json!({"pass": o.passed, "known_failure": known.contains(&o.id), "detail": o.detail, "actual": o.actual}),
                )
            })
            .collect();
        let doc = json!({"engine": "stepcart-asl", "results": results});
        std::fs::write(&out, serde_json::to_string_pretty(&doc).expect("serialise")).expect("write results");
    }

    assert!(
        unexpected.is_empty(),
        "{} conformance case(s) failed (not in KNOWN_FAILURES.txt):\n{}",
        unexpected.len(),
        unexpected.join("\n")
    );
}
