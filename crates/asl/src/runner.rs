//! An async driver for the sans-IO core: carries out [`Command`]s with a [`TaskInvoker`] and a
//! [`Clock`], records every batch of transitions through an [`ExecutionSink`] before acting on it, and
//! routes task-token callbacks to the executions it drives.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::Poll;

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

pub trait TaskInvoker: Send + Sync {
    /// Starts one invocation. The future owns what it needs, so the runner holds it as it is.
    fn invoke(&self, request: TaskRequest) -> BoxFuture<'static, Result<Value, TaskFailure>>;
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

/// A task invocation in flight, answering with the event its outcome is.
struct Invocation {
    task_id: TaskId,
    future: BoxFuture<'static, Result<Value, TaskFailure>>,
}

impl Future for Invocation {
    type Output = ExternalEvent;

    fn poll(mut self: Pin<&mut Self>, cx: &mut std::task::Context<'_>) -> Poll<ExternalEvent> {
        let task_id = self.task_id;
        self.future.as_mut().poll(cx).map(|outcome| match outcome {
            Ok(output) => ExternalEvent::TaskSucceeded { task_id, output },
            Err(f) => ExternalEvent::TaskFailed {
                task_id,
                error: f.error,
                cause: f.cause,
            },
        })
    }
}

/// The channel task-token callbacks reach one driven execution through.
type Callbacks = Option<(
    mpsc::UnboundedSender<ExternalEvent>,
    mpsc::UnboundedReceiver<ExternalEvent>,
)>;

/// The next invocation to finish, or never when none is running.
async fn next_outcome(inflight: &mut Option<FuturesUnordered<Invocation>>) -> Option<ExternalEvent> {
    match inflight {
        Some(set) => set.next().await,
        None => std::future::pending().await,
    }
}

/// The next callback, or never when the execution has not waited on a token.
async fn callback(callbacks: &mut Callbacks) -> Option<ExternalEvent> {
    match callbacks {
        Some((_, rx)) => rx.recv().await,
        None => std::future::pending().await,
    }
}

/// Timers an execution has asked for, earliest first. An execution holds few at a time (a task's
/// time-out, a wait), so a sorted vector.
#[derive(Default)]
struct TimerQueue(Vec<(OffsetDateTime, TimerId)>);

impl TimerQueue {
    fn insert(&mut self, at: OffsetDateTime, id: TimerId) {
        let i = self.0.partition_point(|&t| t < (at, id));
        self.0.insert(i, (at, id));
    }

    fn first(&self) -> Option<(OffsetDateTime, TimerId)> {
        self.0.first().copied()
    }

    fn pop_first(&mut self) {
        if !self.0.is_empty() {
            self.0.remove(0);
        }
    }

    fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

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

    fn sync_tokens(&self, exec: &Execution, callbacks: &mut Callbacks, mine: &mut Vec<String>) {
        // Most steps neither wait on a token nor waited on one before: nothing to register.
        if mine.is_empty() && !(exec.status().is_running() && exec.has_waiting_task_tokens()) {
            return;
        }
        let tx = &callbacks.get_or_insert_with(mpsc::unbounded_channel).0;
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
        // Made when the execution first waits on a task token; most never do.
        let mut callbacks: Callbacks = None;
        let mut tokens: Vec<String> = Vec::new();
        // Invocations still running after their first poll; made for the first such one (an
        // in-process handler usually finishes at once, and an empty set costs two allocations).
        let mut inflight: Option<FuturesUnordered<Invocation>> = None;
        // One buffer carries every batch of events to the sink.
        let mut events = Vec::new();
        // Outcomes of invocations that finished on their first poll (in-process handlers usually do),
        // applied in order without a trip through `inflight`.
        let mut ready: VecDeque<ExternalEvent> = VecDeque::new();
        // Timers wait here, earliest first, and only the earliest one the execution still has is
        // slept on, once nothing else is ready: most task time-outs are moot before their task's
        // first poll ends, and arming each in the clock cost a timer-wheel update and a driver wake-up.
        let mut timers = TimerQueue::default();
        let result = loop {
            // The batch is dropped once recorded: held across the wait below, it would keep every
            // document the batch's events share alive for as long as the execution is parked.
            exec.take_new_events_into(&mut events);
            let recorded = self.sink.record(&exec, &events).await;
            events.clear();
            if let Err(e) = recorded {
                break Err(RunnerError::Sink(e));
            }
            self.sync_tokens(&exec, &mut callbacks, &mut tokens);
            if !exec.status().is_running() {
                break Ok(());
            }
            for cmd in cmds.drain(..) {
                match cmd {
                    Command::StartTimer { timer_id, fire_at } => timers.insert(fire_at, timer_id),
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
                        match Pin::new(&mut invocation).poll(&mut first) {
                            Poll::Ready(ev) => ready.push_back(ev),
                            Poll::Pending => inflight
                                .get_or_insert_with(FuturesUnordered::new)
                                .push(invocation),
                        }
                    }
                }
            }
            while let Some((_, id)) = timers.first() {
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
                match callbacks.as_mut().map(|(_, rx)| rx.try_recv()) {
                    Some(Ok(ev)) => {
                        exec.apply_into(&machine, ev, self.clock.now(), &mut cmds);
                        continue;
                    }
                    _ => break Ok(()),
                }
            }
            if let Some(ev) = ready.pop_front() {
                exec.apply_into(&machine, ev, self.clock.now(), &mut cmds);
                continue;
            }
            if inflight.as_ref().is_none_or(FuturesUnordered::is_empty)
                && tokens.is_empty()
                && timers.is_empty()
            {
                break Err(RunnerError::Stalled {
                    execution_arn: exec.context().execution_arn.to_string(),
                });
            }
            // About to wait (a callback, a timer, a slow task), maybe long: the batch buffers are
            // empty, so give their room back rather than hold it while parked.
            events = Vec::new();
            cmds = Vec::new();
            exec.release_event_buffer();
            let next_timer = timers.first();
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
                    Some(ev) = next_outcome(&mut inflight) => break ev,
                    Some(ev) = callback(&mut callbacks) => break ev,
                    timer_id = due => {
                        timers.pop_first();
                        break ExternalEvent::TimerFired { timer_id };
                    }
                    _ = self.clock.on_idle() => {}
                }
            };
            exec.apply_into(&machine, event, self.clock.now(), &mut cmds);
        };
        self.unregister(&tokens);
        exec.release_event_buffer();
        result.map(|()| exec)
    }

    fn unregister(&self, tokens: &[String]) {
        let mut map = lock(&self.callbacks);
        for t in tokens {
            map.remove(t);
        }
    }

    fn invoke_task(&self, task_id: TaskId, request: TaskRequest) -> Invocation {
        Invocation {
            task_id,
            future: self.invoker.invoke(request),
        }
    }
}
