//! Fault injection for the in-process task functions, by configuration rather than code edits:
//! `STEPCART_FAULTS` holds a plan as JSON (or `@FILE`), e.g.
//! `{"seed": 7, "rules": [{"task": "create-order", "kind": "afterEffect", "rate": 0.3}]}`.
//!
//! Kinds: `transient` (a Lambda service error, which the workflow retries), `permanent` (an error no
//! Retry matches), `timeout` (the task does its work, then reports `States.Timeout` as if its answer
//! came too late), `afterEffect` (the task does its work, then the answer is lost as a Lambda service
//! error: the retry must find the first effect), `delay` (`delayMs` of latency before the task runs).
//! `task` is a function name (`reserve-stock`) or `*`; `rate` is the fraction of calls hit (default 1).

use std::sync::Mutex;
use std::time::Duration;

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde::Deserialize;
use stepcart_tasks::Task;

/// The error name a permanent fault fails with.
pub const PERMANENT_FAULT: &str = "Stepcart.InjectedFault";

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum FaultKind {
    Transient,
    Permanent,
    Timeout,
    AfterEffect,
    Delay,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct Rule {
    task: String,
    kind: FaultKind,
    #[serde(default = "always")]
    rate: f64,
    #[serde(default)]
    delay_ms: u64,
}

fn always() -> f64 {
    1.0
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct PlanFile {
    #[serde(default)]
    seed: Option<u64>,
    rules: Vec<Rule>,
}

/// What to do to one call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Fault {
    pub kind: FaultKind,
    pub delay: Duration,
}

pub struct FaultPlan {
    rules: Vec<Rule>,
    rng: Mutex<StdRng>,
}

impl FaultPlan {
    /// The plan in `STEPCART_FAULTS`, if any.
    pub fn from_env() -> Result<Option<FaultPlan>, String> {
        match std::env::var("STEPCART_FAULTS") {
            Ok(text) if !text.trim().is_empty() => FaultPlan::parse(&text).map(Some),
            _ => Ok(None),
        }
    }

    /// Parses a plan: JSON text, or `@FILE`.
    pub fn parse(text: &str) -> Result<FaultPlan, String> {
        let text = match text.trim().strip_prefix('@') {
            Some(path) => std::fs::read_to_string(path)
                .map_err(|e| format!("STEPCART_FAULTS: cannot read {path}: {e}"))?,
            None => text.to_owned(),
        };
        let plan: PlanFile = serde_json::from_str(&text).map_err(|e| format!("STEPCART_FAULTS: {e}"))?;
        for (i, rule) in plan.rules.iter().enumerate() {
            if rule.task != "*" && Task::from_function_name(&rule.task).is_none() {
                let known: Vec<&str> = Task::ALL.iter().map(|t| t.function_name()).collect();
                return Err(format!(
                    "STEPCART_FAULTS: rules[{i}].task {:?} is not one of *, {}",
                    rule.task,
                    known.join(", ")
                ));
            }
            if !(0.0..=1.0).contains(&rule.rate) {
                return Err(format!("STEPCART_FAULTS: rules[{i}].rate must be from 0 to 1"));
            }
        }
        let rng = match plan.seed {
            Some(seed) => StdRng::seed_from_u64(seed),
            None => StdRng::from_os_rng(),
        };
        Ok(FaultPlan {
            rules: plan.rules,
            rng: Mutex::new(rng),
        })
    }

    /// The faults for one call of `task`, in rule order (a delay can precede another fault).
    pub fn pick(&self, task: Task) -> Vec<Fault> {
        let mut rng = self.rng.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        self.rules
            .iter()
            .filter(|r| r.task == "*" || r.task == task.function_name())
            .filter(|r| rng.random_bool(r.rate))
            .map(|r| Fault {
                kind: r.kind,
                delay: Duration::from_millis(r.delay_ms),
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_plan_names_known_tasks_and_hits_the_configured_fraction() {
        let plan = FaultPlan::parse(
            r#"{"seed": 1, "rules": [{"task": "reserve-stock", "kind": "afterEffect", "rate": 0.25},
                                     {"task": "*", "kind": "delay", "delayMs": 5}]}"#,
        )
        .expect("plan");
        let hits = (0..4000)
            .filter(|_| {
                plan.pick(Task::ReserveStock)
                    .iter()
                    .any(|f| f.kind == FaultKind::AfterEffect)
            })
            .count();
        assert!((800..1200).contains(&hits), "{hits} of 4000");
        assert_eq!(
            plan.pick(Task::CreateOrder),
            vec![Fault {
                kind: FaultKind::Delay,
                delay: Duration::from_millis(5)
            }]
        );
        let unknown = FaultPlan::parse(r#"{"rules": [{"task": "reserve", "kind": "transient"}]}"#);
        assert!(
            unknown
                .err()
                .is_some_and(|e| e.contains("\"reserve\" is not one of"))
        );
        assert!(FaultPlan::parse(r#"{"rules": [{"task": "*", "kind": "melt"}]}"#).is_err());
        assert!(FaultPlan::parse(r#"{"rules": [{"task": "*", "kind": "delay", "rate": 2}]}"#).is_err());
    }
}
