//! An async driver for the sans-IO core: carries out [`Command`]s with a [`TaskInvoker`] and a
//! [`Clock`], records every batch of transitions through an [`ExecutionSink`] before acting on it, and
//! routes task-token callbacks to the executions it drives.

use std::collections::{BTreeMap, BTreeSet, HashMap, VecDeque};
use std::sync::{Arc, Mutex, MutexGuard};

use crate::value::Value;
use async_trait::async_trait;
use futures::future::BoxFuture;
use futures::stream::FuturesUnordered;
use futures::{FutureExt, StreamExt};
use time::OffsetDateTime;
use tokio::sync::{mpsc, oneshot};

use crate::definition::StateMachine;
use crate::execution::{Command, Execution, ExecutionContext, ExternalEvent, TaskContext, TaskId, TimerId};
use crate::history::HistoryEvent;

/// One task invocation.
#[derive(Debug, Clone, PartialEq)]
pub struct TaskRequest {
    pub resource: Arc<str>,
    /// The task's input; shared with the execution's history, so a handler that needs to own it clones
    /// only what it keeps.
    pub parameters: Value,
    pub task_token: Option<String>,
    pub context: TaskContext,
}

/// How a task failed: becomes the state's `{"Error", "Cause"}`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{error}: {}", cause.as_deref().unwrap_or(""))]
pub struct TaskFailure {
    pub error: String,
    pub cause: Option<String>,
}

impl TaskFailure {
    pub fn new(error: impl Into<String>, cause: impl Into<String>) -> Self {
        TaskFailure {
            error: error.into(),
            cause: Some(cause.into()),
        }
    }
}

#[async_trait]
pub trait TaskInvoker: Send + Sync {
    async fn invoke(&self, request: TaskRequest) -> Result<Value, TaskFailure>;
}

#[derive(Debug, thiserror::Error)]
#[error("execution sink failed: {message}")]
pub struct SinkError {
    pub message: String,
    #[source]
    pub source: Option<Box<dyn std::error::Error + Send + Sync>>,
}

impl SinkError {
    pub fn new(message: impl Into<String>) -> Self {
        SinkError {
            message: message.into(),
            source: None,
        }
    }
}

#[async_trait]
pub trait ExecutionSink: Send + Sync {
    /// Called after each batch of transitions, before the batch's commands are carried out
    /// (write-ahead): a crash after this call can resume from the recorded snapshot.
    async fn record(&self, execution: &Execution, new_events: &[HistoryEvent]) -> Result<(), SinkError>;
}

/// A sink that keeps nothing.
pub struct NullSink;

#[async_trait]
impl ExecutionSink for NullSink {
    async fn record(&self, _: &Execution, _: &[HistoryEvent]) -> Result<(), SinkError> {
        Ok(())
    }
}

/// A sink that keeps every event and the latest snapshot per execution in memory (tests, tools).
#[derive(Default)]
pub struct MemorySink {
    events: Mutex<BTreeMap<String, Vec<HistoryEvent>>>,
    snapshots: Mutex<BTreeMap<String, Execution>>,
}

impl MemorySink {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn events(&self, execution_arn: &str) -> Vec<HistoryEvent> {
        lock(&self.events).get(execution_arn).cloned().unwrap_or_default()
    }

    pub fn snapshot(&self, execution_arn: &str) -> Option<Execution> {
        lock(&self.snapshots).get(execution_arn).cloned()
    }
}

#[async_trait]
impl ExecutionSink for MemorySink {
    async fn record(&self, execution: &Execution, new_events: &[HistoryEvent]) -> Result<(), SinkError> {
        let arn = execution.context().execution_arn.clone();
        lock(&self.events)
            .entry(arn.to_string())
            .or_default()
            .extend_from_slice(new_events);
        lock(&self.snapshots).insert(arn.to_string(), execution.clone());
        Ok(())
    }
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // A panic while holding one of these short critical sections cannot leave the maps inconsistent.
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

pub trait Clock: Send + Sync {
    fn now(&self) -> OffsetDateTime;
    fn sleep_until(&self, at: OffsetDateTime) -> BoxFuture<'static, ()>;
    /// Resolves when the runner may consider itself stuck waiting on time. A virtual clock then jumps
    /// to its earliest sleeper; a real clock never resolves.
    fn on_idle(&self) -> BoxFuture<'static, ()> {
        futures::future::pending().boxed()
    }
}

pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> OffsetDateTime {
        OffsetDateTime::now_utc()
    }

    fn sleep_until(&self, at: OffsetDateTime) -> BoxFuture<'static, ()> {
        let wait = at - OffsetDateTime::now_utc();
        let wait = std::time::Duration::try_from(wait).unwrap_or_default();
        tokio::time::sleep(wait).boxed()
    }
}

/// A manual clock for fast, deterministic tests: when nothing but sleepers is left to make progress,
/// time jumps to the earliest sleeper. Futures that do real I/O may look idle to it, so use it with
/// in-memory task handlers only.
#[derive(Clone)]
pub struct VirtualClock {
    inner: Arc<Mutex<VirtualInner>>,
}

struct VirtualInner {
    now: OffsetDateTime,
    sleepers: Vec<(OffsetDateTime, oneshot::Sender<()>)>,
}

impl VirtualClock {
    pub fn new(start: OffsetDateTime) -> Self {
        VirtualClock {
            inner: Arc::new(Mutex::new(VirtualInner {
                now: start,
                sleepers: Vec::new(),
            })),
        }
    }

    /// Moves time forward (never backwards) and wakes the sleepers that are due.
    pub fn advance_to(&self, at: OffsetDateTime) {
        let mut inner = lock(&self.inner);
        if at > inner.now {
            inner.now = at;
        }
        let now = inner.now;
        let (due, rest): (Vec<_>, Vec<_>) = inner.sleepers.drain(..).partition(|(t, _)| *t <= now);
        inner.sleepers = rest;
        drop(inner);
        for (_, tx) in due {
            let _ = tx.send(());
        }
    }

    pub fn advance(&self, by: time::Duration) {
        let now = self.now();
        self.advance_to(now + by);
    }

    fn wake_earliest(&self) -> bool {
        let next = {
            let mut inner = lock(&self.inner);
            inner.sleepers.retain(|(_, tx)| !tx.is_closed());
            inner.sleepers.iter().map(|(t, _)| *t).min()
        };
        match next {
            Some(t) => {
                self.advance_to(t);
                true
            }
            None => false,
        }
    }
}

impl Clock for VirtualClock {
    fn now(&self) -> OffsetDateTime {
        lock(&self.inner).now
    }

    fn sleep_until(&self, at: OffsetDateTime) -> BoxFuture<'static, ()> {
        let mut inner = lock(&self.inner);
        if at <= inner.now {
            return futures::future::ready(()).boxed();
        }
        let (tx, rx) = oneshot::channel();
        inner.sleepers.push((at, tx));
        async move {
            let _ = rx.await;
        }
        .boxed()
    }

    fn on_idle(&self) -> BoxFuture<'static, ()> {
        let clock = self.clone();
        async move {
            // Give in-flight work plenty of polls to finish before declaring the world idle.
            for _ in 0..64 {
                tokio::task::yield_now().await;
            }
            if !clock.wake_earliest() {
                futures::future::pending::<()>().await;
            }
        }
        .boxed()
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DriveMode {
    /// Drive until the execution ends, waiting for task-token callbacks through this runner.
    UntilComplete,
    /// Return once only task-token callbacks are outstanding (no invocation in flight, no timer other
    /// than time-outs guarding those callbacks); the caller persists the snapshot and resumes later.
    UntilIdle,
}

#[derive(Debug, thiserror::Error)]
pub enum RunnerError {
    #[error(transparent)]
    Sink(#[from] SinkError),
    #[error("execution {execution_arn} is running but has nothing outstanding")]
    Stalled { execution_arn: String },
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CallbackError {
    #[error("Invalid token: no execution driven by this runner waits on it")]
    UnknownToken,
}

type CallbackMap = HashMap<String, mpsc::UnboundedSender<ExternalEvent>>;

/// Drives executions. Cheap to clone; clones share invoker, sink, clock and callback routing.
#[derive(Clone)]
pub struct Runner {
    invoker: Arc<dyn TaskInvoker>,
    sink: Arc<dyn ExecutionSink>,
    clock: Arc<dyn Clock>,
    callbacks: Arc<Mutex<CallbackMap>>,
}

impl Runner {
    pub fn new(invoker: Arc<dyn TaskInvoker>, sink: Arc<dyn ExecutionSink>, clock: Arc<dyn Clock>) -> Self {
        Runner {
            invoker,
            sink,
            clock,
            callbacks: Arc::new(Mutex::new(HashMap::new())),
        }
    }

    pub fn clock(&self) -> &Arc<dyn Clock> {
        &self.clock
    }

    pub async fn start(
        &self,
        machine: Arc<StateMachine>,
        ctx: ExecutionContext,
        input: Value,
        mode: DriveMode,
    ) -> Result<Execution, RunnerError> {
        let (exec, cmds) = Execution::start(&machine, ctx, input, self.clock.now());
        self.drive(machine, exec, cmds, mode).await
    }

    /// Continues a persisted execution: applies `event` (if any), then re-issues everything outstanding.
    pub async fn resume(
        &self,
        machine: Arc<StateMachine>,
        execution: Execution,
        event: Option<ExternalEvent>,
        mode: DriveMode,
    ) -> Result<Execution, RunnerError> {
        let mut exec = execution;
        if let Some(ev) = event {
            exec.apply(&machine, ev, self.clock.now());
        }
        let cmds = exec.pending_commands();
        self.drive(machine, exec, cmds, mode).await
    }

    pub fn send_task_success(&self, token: &str, output: Value) -> Result<(), CallbackError> {
        self.route(
            token,
            ExternalEvent::TaskTokenSucceeded {
                token: token.to_owned(),
                output,
            },
        )
    }

    pub fn send_task_failure(
        &self,
        token: &str,
        error: String,
        cause: Option<String>,
    ) -> Result<(), CallbackError> {
        self.route(
            token,
            ExternalEvent::TaskTokenFailed {
                token: token.to_owned(),
                error,
                cause,
            },
        )
    }

    pub fn send_task_heartbeat(&self, token: &str) -> Result<(), CallbackError> {
        self.route(
            token,
            ExternalEvent::TaskTokenHeartbeat {
                token: token.to_owned(),
            },
        )
    }

    fn route(&self, token: &str, event: ExternalEvent) -> Result<(), CallbackError> {
        let map = lock(&self.callbacks);
        let tx = map.get(token).ok_or(CallbackError::UnknownToken)?;
        tx.send(event).map_err(|_| CallbackError::UnknownToken)
    }

    fn sync_tokens(
        &self,
        exec: &Execution,
        tx: &mpsc::UnboundedSender<ExternalEvent>,
        mine: &mut Vec<String>,
    ) {
        // Most steps neither wait on a token nor waited on one before: nothing to register.
        if mine.is_empty() && !(exec.status().is_running() && exec.has_waiting_task_tokens()) {
            return;
        }
        let now_waiting = if exec.status().is_running() {
            exec.waiting_task_tokens()
        } else {
            Vec::new()
        };
        let mut map = lock(&self.callbacks);
        for t in mine.iter() {
            if !now_waiting.contains(t) {
                map.remove(t);
            }
        }
        for t in &now_waiting {
            map.insert(t.clone(), tx.clone());
        }
        *mine = now_waiting;
    }

    async fn drive(
        &self,
        machine: Arc<StateMachine>,
        mut exec: Execution,
        mut cmds: Vec<Command>,
        mode: DriveMode,
    ) -> Result<Execution, RunnerError> {
        let (tx, mut rx) = mpsc::unbounded_channel::<ExternalEvent>();
        let mut tokens: Vec<String> = Vec::new();
        let mut inflight: FuturesUnordered<BoxFuture<'static, ExternalEvent>> = FuturesUnordered::new();
        // Outcomes of invocations that finished on their first poll (in-process handlers usually do),
        // applied in order without a trip through `inflight`.
        let mut ready: VecDeque<ExternalEvent> = VecDeque::new();
        // Timers wait here, earliest first, and only the earliest one the execution still has is
        // slept on, once nothing else is ready: most task time-outs are moot before their task's
        // first poll ends, and arming each in the clock cost a timer-wheel update and a driver wake-up.
        let mut timers: BTreeSet<(OffsetDateTime, TimerId)> = BTreeSet::new();
        let result = loop {
            // The batch is dropped once recorded: held across the wait below, it would keep every
            // document the batch's events share alive for as long as the execution is parked.
            let events = exec.take_new_events();
            let recorded = self.sink.record(&exec, &events).await;
            drop(events);
            if let Err(e) = recorded {
                break Err(RunnerError::Sink(e));
            }
            self.sync_tokens(&exec, &tx, &mut tokens);
            if !exec.status().is_running() {
                break Ok(());
            }
            for cmd in cmds.drain(..) {
                match cmd {
                    Command::StartTimer { timer_id, fire_at } => {
                        timers.insert((fire_at, timer_id));
                    }
                    Command::InvokeTask {
                        task_id,
                        resource,
                        parameters,
                        task_token,
                        context,
                    } => {
                        let mut invocation = self.invoke_task(
                            task_id,
                            TaskRequest {
                                resource,
                                parameters,
                                task_token,
                                context,
                            },
                        );
                        // A pending invocation is polled again by `inflight` (new futures always
                        // are), which registers the real waker; the no-op one is never relied on.
                        let mut first = std::task::Context::from_waker(futures::task::noop_waker_ref());
                        match invocation.as_mut().poll(&mut first) {
                            std::task::Poll::Ready(ev) => ready.push_back(ev),
                            std::task::Poll::Pending => inflight.push(invocation),
                        }
                    }
                }
            }
            while let Some(&(_, id)) = timers.first() {
                if exec.timer_fire_at(id).is_some() {
                    break;
                }
                timers.pop_first();
            }
            if mode == DriveMode::UntilIdle && exec.is_idle_at(self.clock.now()) {
                // A callback may already have arrived (a handler can answer before its invocation
                // returns). Unregister first: `route` sends under the map lock, so once the tokens are
                // gone every accepted callback is already in `rx`, and none can be lost.
                self.unregister(&tokens);
                tokens.clear();
                match rx.try_recv() {
                    Ok(ev) => {
                        cmds = exec.apply(&machine, ev, self.clock.now());
                        continue;
                    }
                    Err(_) => break Ok(()),
                }
            }
            if let Some(ev) = ready.pop_front() {
                cmds = exec.apply(&machine, ev, self.clock.now());
                continue;
            }
            if inflight.is_empty() && tokens.is_empty() && timers.is_empty() {
                break Err(RunnerError::Stalled {
                    execution_arn: exec.context().execution_arn.to_string(),
                });
            }
            let next_timer = timers.first().copied();
            let event = loop {
                let due = async {
                    match next_timer {
                        Some((at, timer_id)) => {
                            self.clock.sleep_until(at).await;
                            timer_id
                        }
                        None => std::future::pending().await,
                    }
                };
                tokio::select! {
                    biased;
                    Some(ev) = inflight.next() => break ev,
                    Some(ev) = rx.recv() => break ev,
                    timer_id = due => {
                        timers.pop_first();
                        break ExternalEvent::TimerFired { timer_id };
                    }
                    _ = self.clock.on_idle() => {}
                }
            };
            cmds = exec.apply(&machine, event, self.clock.now());
        };
        self.unregister(&tokens);
        result.map(|()| exec)
    }

    fn unregister(&self, tokens: &[String]) {
        let mut map = lock(&self.callbacks);
        for t in tokens {
            map.remove(t);
        }
    }

    fn invoke_task(&self, task_id: TaskId, request: TaskRequest) -> BoxFuture<'static, ExternalEvent> {
        let invoker = self.invoker.clone();
        async move {
            match invoker.invoke(request).await {
                Ok(output) => ExternalEvent::TaskSucceeded { task_id, output },
                Err(f) => ExternalEvent::TaskFailed {
                    task_id,
                    error: f.error,
                    cause: f.cause,
                },
            }
        }
        .boxed()
    }
}
