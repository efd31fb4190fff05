//! Shared helpers for the integration tests.
#![allow(dead_code)]

use std::sync::{Arc, Mutex};

use futures::future::BoxFuture;
use stepcart_asl::Value;
use stepcart_asl::{
    Clock, DriveMode, Execution, ExecutionContext, ExecutionStatus, HistoryEvent, MemorySink, Runner,
    StateMachine, TaskFailure, TaskInvoker, TaskRequest, VirtualClock,
};
use time::OffsetDateTime;
use time::macros::datetime;

pub const T0: OffsetDateTime = datetime!(2024-05-01 12:00:00 UTC);
pub const SM_ARN: &str = "arn:aws:states:eu-west-1:123456789012:stateMachine:Demo";

pub fn machine(def: Value) -> Arc<StateMachine> {
    match StateMachine::from_json(&def.to_string()) {
        Ok(m) => Arc::new(m),
        Err(e) => panic!("definition rejected:\n{e}"),
    }
}

pub fn ctx(name: &str) -> ExecutionContext {
    ExecutionContext::new(SM_ARN, name, T0)
}

type Handler = dyn Fn(&TaskRequest, u32) -> Result<Value, TaskFailure> + Send + Sync;

/// A task invoker driven by a closure; records every call with the virtual time it happened at.
pub struct ScriptInvoker {
    handler: Arc<Handler>,
    pub calls: Mutex<Vec<(TaskRequest, OffsetDateTime)>>,
    clock: VirtualClock,
    /// Optional virtual delay before answering, per call.
    delay: Mutex<Option<time::Duration>>,
}

impl ScriptInvoker {
    pub fn new(
        clock: &VirtualClock,
        handler: impl Fn(&TaskRequest, u32) -> Result<Value, TaskFailure> + Send + Sync + 'static,
    ) -> Arc<Self> {
        Arc::new(ScriptInvoker {
            handler: Arc::new(handler),
            calls: Mutex::new(Vec::new()),
            clock: clock.clone(),
            delay: Mutex::new(None),
        })
    }

    pub fn with_delay(self: Arc<Self>, d: time::Duration) -> Arc<Self> {
        *self.delay.lock().expect("lock") = Some(d);
        self
    }

    pub fn call_times(&self) -> Vec<OffsetDateTime> {
        self.calls.lock().expect("lock").iter().map(|(_, t)| *t).collect()
    }

    pub fn requests(&self) -> Vec<TaskRequest> {
        self.calls
            .lock()
            .expect("lock")
            .iter()
            .map(|(r, _)| r.clone())
            .collect()
    }
}

impl TaskInvoker for ScriptInvoker {
    fn invoke(&self, request: TaskRequest) -> BoxFuture<'static, Result<Value, TaskFailure>> {
        let n = {
            let mut calls = self.calls.lock().expect("lock");
            calls.push((request.clone(), self.clock.now()));
            u32::try_from(calls.len()).expect("few calls")
        };
        let delay = *self.delay.lock().expect("lock");
        let sleep = delay.map(|d| self.clock.sleep_until(self.clock.now() + d));
        let handler = Arc::clone(&self.handler);
        Box::pin(async move {
            if let Some(sleep) = sleep {
                sleep.await;
            }
            handler(&request, n)
        })
    }
}

pub struct Harness {
    pub clock: VirtualClock,
    pub sink: Arc<MemorySink>,
    pub runner: Runner,
}

impl Harness {
    pub fn new(invoker: Arc<dyn TaskInvoker>, clock: VirtualClock) -> Self {
        let sink = Arc::new(MemorySink::new());
        let runner = Runner::new(invoker, sink.clone(), Arc::new(clock.clone()));
        Harness { clock, sink, runner }
    }

    pub async fn run(&self, m: &Arc<StateMachine>, name: &str, input: Value) -> Execution {
        self.runner
            .start(m.clone(), ctx(name), input, DriveMode::UntilComplete)
            .await
            .expect("runner")
    }

    pub fn events(&self, name: &str) -> Vec<HistoryEvent> {
        self.sink.events(&ctx(name).execution_arn)
    }

    pub fn types(&self, name: &str) -> Vec<String> {
        self.events(name)
            .iter()
            .map(|e| e.event_type.to_string())
            .collect()
    }
}

pub fn clock() -> VirtualClock {
    VirtualClock::new(T0)
}

pub fn output(exec: &Execution) -> Value {
    match exec.status() {
        ExecutionStatus::Succeeded { output } => output.clone(),
        other => panic!("expected success, got {other:?}"),
    }
}

pub fn failure(exec: &Execution) -> (String, Option<String>) {
    match exec.status() {
        ExecutionStatus::Failed { error, cause } => (error.clone(), cause.clone()),
        other => panic!("expected failure, got {other:?}"),
    }
}

/// An invoker that echoes parameters back.
pub fn echo(clock: &VirtualClock) -> Arc<ScriptInvoker> {
    ScriptInvoker::new(clock, |r, _| Ok(r.parameters.clone()))
}
