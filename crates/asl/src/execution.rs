//! The sans-IO execution core.
//!
//! An [`Execution`] is a serialisable snapshot of everything needed to continue a run. It never performs
//! I/O: [`Execution::start`] and [`Execution::apply`] consume events and return [`Command`]s (invoke a
//! task, start a timer) for a driver to carry out, so the snapshot can be persisted after every
//! transition and resumed by another process. The only non-determinism is randomness for task tokens and
//! retry jitter.

use std::borrow::Cow;
use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::sync::Arc;

use crate::id_map::IdMap;
use crate::json;
use crate::value::Value;
use rand::Rng;
use serde::{Deserialize, Serialize};
use time::{Duration, OffsetDateTime};

use crate::definition::{
    Assign, BatchInput, ContextReads, FailPath, Name, ResultPath, ScopeStep, Seconds, State, StateKind,
    StateMachine, Tolerance, Transition, WaitSpec, parse_wait_timestamp,
};
use crate::error::{
    STATES_DATA_LIMIT_EXCEEDED, STATES_RESULT_PATH_MATCH_FAILURE, STATES_RUNTIME, STATES_TIMEOUT,
    StatesError, any_matches,
};
use crate::history::{
    DetailValue, Details, EventType, HistoryEvent, details, document, json, name, not_truncated,
};
use crate::jsonata::{Env, JTemplate};
use crate::jsonpath::JsonPath;
use crate::jsonpath::{ENV_CONTEXT, ENV_VARIABLES};
use crate::payload::Template;

/// Step Functions' payload quota: state input/output and task results above it fail the execution.
pub const MAX_PAYLOAD_BYTES: usize = 262_144;
/// Step Functions' execution history quota; also stops runaway Pass/Choice loops.
pub const MAX_HISTORY_EVENTS: u64 = 25_000;
/// Step Functions' quota for the values one `Assign` field sets (and so for one variable).
pub const MAX_ASSIGN_BYTES: usize = 262_144;
/// Step Functions' quota for all the variables an execution stores at once.
pub const MAX_VARIABLES_BYTES: usize = 10 * 1024 * 1024;
pub(crate) const STATES_EXCEED_TOLERATED_FAILURE_THRESHOLD: &str = "States.ExceedToleratedFailureThreshold";

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct TaskId(pub u64);

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct TimerId(pub u64);

impl std::fmt::Display for TaskId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "task-{}", self.0)
    }
}

impl std::fmt::Display for TimerId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "timer-{}", self.0)
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExecutionContext {
    pub execution_arn: Arc<str>,
    pub name: Arc<str>,
    pub state_machine_arn: Arc<str>,
    pub state_machine_name: Arc<str>,
    pub role_arn: Option<String>,
    #[serde(with = "time::serde::rfc3339")]
    pub start_time: OffsetDateTime,
    pub redrive_count: u32,
}

impl ExecutionContext {
    /// Derives the execution ARN and machine name the way Step Functions does from a state machine ARN
    /// (`arn:aws:states:REGION:ACCOUNT:stateMachine:NAME`); other strings are used as the name as-is.
    pub fn new(state_machine_arn: &str, execution_name: &str, start_time: OffsetDateTime) -> Self {
        // arn:PARTITION:states:REGION:ACCOUNT:stateMachine:NAME[:...]
        let machine = state_machine_arn
            .bytes()
            .enumerate()
            .filter(|&(_, b)| b == b':')
            .nth(4)
            .and_then(|(at, _)| {
                let (prefix, rest) = state_machine_arn.split_at(at);
                let name = rest.strip_prefix(":stateMachine:")?;
                Some((prefix, name.split_once(':').map_or(name, |(n, _)| n)))
            });
        let (execution_arn, sm_name) = if let Some((prefix, machine_name)) = machine {
            let mut arn = String::with_capacity(
                prefix.len() + ":execution:".len() + machine_name.len() + 1 + execution_name.len(),
            );
            for part in [prefix, ":execution:", machine_name, ":", execution_name] {
                arn.push_str(part);
            }
            (arn, machine_name)
        } else {
            (format!("{state_machine_arn}:{execution_name}"), state_machine_arn)
        };
        ExecutionContext {
            execution_arn: execution_arn.into(),
            name: Arc::from(execution_name),
            state_machine_arn: Arc::from(state_machine_arn),
            state_machine_name: Arc::from(sm_name),
            role_arn: None,
            start_time,
            redrive_count: 0,
        }
    }

    /// The context of another execution of the same state machine (same role), sharing the
    /// machine's ARN and name with this one.
    pub fn next(&self, execution_name: &str, start_time: OffsetDateTime) -> Self {
        // Both shapes of execution ARN `new` derives end in `:NAME`.
        let Some(base) = self
            .execution_arn
            .strip_suffix(&*self.name)
            .filter(|base| base.ends_with(':'))
        else {
            return ExecutionContext {
                role_arn: self.role_arn.clone(),
                ..ExecutionContext::new(&self.state_machine_arn, execution_name, start_time)
            };
        };
        let mut execution_arn = String::with_capacity(base.len() + execution_name.len());
        execution_arn.push_str(base);
        execution_arn.push_str(execution_name);
        ExecutionContext {
            execution_arn: execution_arn.into(),
            name: Arc::from(execution_name),
            state_machine_arn: Arc::clone(&self.state_machine_arn),
            state_machine_name: Arc::clone(&self.state_machine_name),
            role_arn: self.role_arn.clone(),
            start_time,
            redrive_count: 0,
        }
    }

    /// The region named in the state machine ARN, for history events.
    pub fn region(&self) -> &str {
        self.state_machine_arn
            .split(':')
            .nth(3)
            .filter(|r| !r.is_empty())
            .unwrap_or("local")
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "status")]
pub enum ExecutionStatus {
    Running,
    Succeeded {
        output: Value,
    },
    Failed {
        error: String,
        cause: Option<String>,
    },
    TimedOut {
        error: Option<String>,
        cause: Option<String>,
    },
    Aborted {
        error: Option<String>,
        cause: Option<String>,
    },
}

impl ExecutionStatus {
    pub fn is_running(&self) -> bool {
        matches!(self, ExecutionStatus::Running)
    }

    /// The `DescribeExecution` status string.
    pub fn aws_status(&self) -> &'static str {
        match self {
            ExecutionStatus::Running => "RUNNING",
            ExecutionStatus::Succeeded { .. } => "SUCCEEDED",
            ExecutionStatus::Failed { .. } => "FAILED",
            ExecutionStatus::TimedOut { .. } => "TIMED_OUT",
            ExecutionStatus::Aborted { .. } => "ABORTED",
        }
    }
}

/// What a task invocation knows about where it runs.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TaskContext {
    pub execution_arn: Arc<str>,
    pub execution_name: Arc<str>,
    pub state_machine_arn: Arc<str>,
    pub state_name: Arc<str>,
    /// 0 for the first attempt, then the number of retries so far (`$$.State.RetryCount`).
    pub attempt: u32,
    #[serde(with = "time::serde::rfc3339")]
    pub state_entered_time: OffsetDateTime,
}

// Commands live only between a transition and their dispatch, a few at a time: boxing the large variant
// would cost an allocation per task to save bytes nobody holds for long.
#[allow(clippy::large_enum_variant)]
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum Command {
    InvokeTask {
        task_id: TaskId,
        resource: Arc<str>,
        /// Shared with the task's history event rather than copied.
        parameters: Value,
        task_token: Option<String>,
        context: TaskContext,
    },
    StartTimer {
        timer_id: TimerId,
        #[serde(with = "time::serde::rfc3339")]
        fire_at: OffsetDateTime,
    },
}

/// See [`Execution::token_status`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum TokenStatus {
    /// The execution waits on this token: a callback will be accepted.
    Waiting,
    /// The token belonged to a task that is over (Step Functions answers `TaskTimedOut`).
    Closed,
    /// Never issued by this execution (`InvalidToken`).
    Unknown,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum ExternalEvent {
    TaskSucceeded {
        task_id: TaskId,
        output: Value,
    },
    TaskFailed {
        task_id: TaskId,
        error: String,
        cause: Option<String>,
    },
    TaskTokenSucceeded {
        token: String,
        output: Value,
    },
    TaskTokenFailed {
        token: String,
        error: String,
        cause: Option<String>,
    },
    TaskTokenHeartbeat {
        token: String,
    },
    TimerFired {
        timer_id: TimerId,
    },
}

#[derive(Clone, Debug, Serialize, Deserialize)]
struct ParentLink {
    frame: u64,
    index: usize,
}

/// One thread of control: the top-level machine, a Parallel branch or a Map iteration.
#[derive(Clone, Debug, Serialize, Deserialize)]
struct Frame {
    scope: Vec<ScopeStep>,
    parent: Option<ParentLink>,
    state: Name,
    /// Shared with the history events that show it, and with the state's output when a state passes
    /// its input through unchanged.
    input: Value,
    /// The input's JSON size, so an output that is the input unchanged is not measured again.
    #[serde(default)]
    input_size: usize,
    #[serde(with = "time::serde::rfc3339")]
    entered_time: OffsetDateTime,
    entered_event_id: u64,
    last_event_id: u64,
    retry_counts: Vec<u32>,
    retry_total: u32,
    activity: Activity,
    /// Workflow variables assigned in this frame's scope; inner frames also see their ancestors'.
    #[serde(default, skip_serializing_if = "crate::value::Map::is_empty")]
    vars: crate::value::Map,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
enum Activity {
    Idle,
    Task {
        task_id: TaskId,
    },
    Wait {
        timer_id: TimerId,
        output: Value,
    },
    Backoff {
        timer_id: TimerId,
    },
    Parallel {
        children: Vec<Option<u64>>,
        results: Vec<Option<Value>>,
    },
    Map {
        inputs: Vec<Value>,
        next: usize,
        running: BTreeMap<usize, u64>,
        results: Vec<Option<Value>>,
        max_concurrency: usize,
        /// Failed iterations so far, and how many may fail (`ToleratedFailure*`) without failing the
        /// state; `None`: the first failure fails the state.
        #[serde(default)]
        failed: usize,
        #[serde(default)]
        tolerated: Option<usize>,
    },
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
enum TaskPhase {
    /// The resource is being invoked.
    Invoking,
    /// The invocation returned; a callback with the task token is awaited.
    AwaitingCallback,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
struct TaskEntry {
    frame: u64,
    resource: Arc<str>,
    resource_type: Arc<str>,
    resource_name: Arc<str>,
    /// Direct Lambda ARNs are reported with the LambdaFunction* events, as AWS does.
    lambda_events: bool,
    parameters: Value,
    token: Option<String>,
    context: TaskContext,
    phase: TaskPhase,
    timeout_timer: Option<TimerId>,
    heartbeat_timer: Option<TimerId>,
    heartbeat_seconds: Option<u64>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
enum TimerKind {
    Wait,
    Backoff,
    TaskTimeout(TaskId),
    Heartbeat(TaskId),
    ExecutionTimeout,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
struct TimerEntry {
    #[serde(with = "time::serde::rfc3339")]
    fire_at: OffsetDateTime,
    frame: u64,
    kind: TimerKind,
}

#[derive(Clone, Debug)]
enum Work {
    /// `size`: the input's JSON size when the previous state has measured it already.
    Enter {
        frame: u64,
        state: Name,
        input: Value,
        size: Option<usize>,
    },
}

enum Step {
    Pending,
    /// The state finished with this output and follows its own `Next`/`End`; with an upper bound on the
    /// output's JSON size when one is known without measuring it.
    Done(Value, Option<usize>),
    /// The state finished and goes to an explicit state (Choice, Catch).
    Goto(Name, Value),
    Fail(StatesError),
}

const ROOT: u64 = 0;

/// The document a state's paths are evaluated against for `$$` and variables.
enum PathEnv {
    /// The empty environment, shared by every state that reads no context (borrowed, so no count is
    /// touched across executions).
    Static(&'static Value),
    Owned(Value),
}

impl std::ops::Deref for PathEnv {
    type Target = Value;

    fn deref(&self) -> &Value {
        match self {
            PathEnv::Static(v) => v,
            PathEnv::Owned(v) => v,
        }
    }
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Execution {
    context: ExecutionContext,
    input: Value,
    status: ExecutionStatus,
    // Boxed: a vector reserves room for four entries at its first push, and frames and tasks are
    // large (a B-tree leaf, used before, reserved eleven: about 7.5 KiB per execution unboxed).
    frames: IdMap<u64, Box<Frame>>,
    tasks: IdMap<TaskId, Box<TaskEntry>>,
    timers: IdMap<TimerId, TimerEntry>,
    tokens: BTreeMap<String, TaskId>,
    /// Tokens whose task is over (completed, failed, timed out or abandoned), so callers can answer
    /// `TaskTimedOut` rather than `InvalidToken` for them, as Step Functions does.
    #[serde(default)]
    closed_tokens: BTreeSet<String>,
    next_id: u64,
    event_count: u64,
    #[serde(default)]
    new_events: Vec<HistoryEvent>,
    #[serde(skip)]
    commands: Vec<Command>,
    #[serde(skip)]
    work: VecDeque<Work>,
    #[serde(skip, default = "epoch")]
    now: OffsetDateTime,
    /// Context objects that depend only on the execution, by the fields they hold.
    #[serde(skip)]
    shared_contexts: Vec<(u16, Value)>,
}

/// Room for the events of a short execution's first drive step (a ten-state workflow records 18), and
/// of a later one, which usually completes a task and runs to the next.
const EVENTS_PER_BATCH: usize = 24;
const EVENTS_PER_TASK: usize = 8;

fn epoch() -> OffsetDateTime {
    OffsetDateTime::UNIX_EPOCH
}

impl Execution {
    pub fn start(
        machine: &StateMachine,
        ctx: ExecutionContext,
        input: Value,
        now: OffsetDateTime,
    ) -> (Execution, Vec<Command>) {
        let mut exec = Execution {
            context: ctx,
            input: input.clone(),
            status: ExecutionStatus::Running,
            frames: IdMap::default(),
            tasks: IdMap::default(),
            timers: IdMap::default(),
            tokens: BTreeMap::new(),
            closed_tokens: BTreeSet::new(),
            next_id: ROOT + 1,
            event_count: 0,
            new_events: Vec::with_capacity(EVENTS_PER_BATCH),
            commands: Vec::new(),
            work: VecDeque::with_capacity(4),
            now,
            shared_contexts: Vec::new(),
        };
        let started = exec.emit(
            None,
            EventType::ExecutionStarted,
            details([
                ("input", document(&input)),
                ("inputDetails", not_truncated()),
                (
                    "roleArn",
                    exec.context
                        .role_arn
                        .clone()
                        .map(Value::from)
                        .map(DetailValue::Json),
                ),
            ]),
        );
        exec.frames.insert(
            ROOT,
            Box::new(Frame {
                scope: Vec::new(),
                parent: None,
                state: Name::from(""),
                input: Value::Null,
                input_size: 0,
                entered_time: now,
                entered_event_id: started,
                last_event_id: started,
                retry_counts: Vec::new(),
                retry_total: 0,
                activity: Activity::Idle,
                vars: crate::value::Map::new(),
            }),
        );
        if let Some(secs) = machine.timeout_seconds {
            exec.start_timer(ROOT, TimerKind::ExecutionTimeout, after_seconds(now, secs));
        }
        let size = input.json_len();
        if size > MAX_PAYLOAD_BYTES {
            exec.fail_execution(StatesError::new(
                STATES_DATA_LIMIT_EXCEEDED,
                "The execution input exceeds the maximum number of bytes service limit.",
            ));
        } else {
            exec.work.push_back(Work::Enter {
                frame: ROOT,
                state: machine.root.start_at.clone(),
                input,
                size: Some(size),
            });
            exec.pump(machine);
        }
        exec.retain_live_commands();
        let cmds = std::mem::take(&mut exec.commands);
        (exec, cmds)
    }

    /// Feeds one external event. Events for tasks, timers or tokens that are no longer outstanding are
    /// ignored (they are normal after time-outs, retries and abandoned branches).
    pub fn apply(
        &mut self,
        machine: &StateMachine,
        event: ExternalEvent,
        now: OffsetDateTime,
    ) -> Vec<Command> {
        let mut commands = Vec::new();
        self.apply_into(machine, event, now, &mut commands);
        commands
    }

    /// [`apply`](Self::apply), writing the commands into `commands` (emptied first), so a driver
    /// reuses one buffer for every event.
    pub fn apply_into(
        &mut self,
        machine: &StateMachine,
        event: ExternalEvent,
        now: OffsetDateTime,
        commands: &mut Vec<Command>,
    ) {
        commands.clear();
        self.now = now;
        if !self.status.is_running() {
            return;
        }
        // Commands collect in `self.commands`, which borrows the caller's buffer for this event.
        std::mem::swap(&mut self.commands, commands);
        self.handle(machine, event);
        self.pump(machine);
        self.retain_live_commands();
        std::mem::swap(&mut self.commands, commands);
    }

    fn handle(&mut self, machine: &StateMachine, event: ExternalEvent) {
        match event {
            ExternalEvent::TaskSucceeded { task_id, output } => {
                self.on_task_returned(machine, task_id, output)
            }
            ExternalEvent::TaskFailed {
                task_id,
                error,
                cause,
            } => {
                if self.tasks.contains_key(&task_id) {
                    self.on_task_failed(machine, task_id, StatesError::reported(error, cause));
                }
            }
            ExternalEvent::TaskTokenSucceeded { token, output } => {
                if let Some(&task_id) = self.tokens.get(&token) {
                    self.complete_task(machine, task_id, output);
                }
            }
            ExternalEvent::TaskTokenFailed { token, error, cause } => {
                if let Some(&task_id) = self.tokens.get(&token) {
                    self.on_task_failed(machine, task_id, StatesError::reported(error, cause));
                }
            }
            ExternalEvent::TaskTokenHeartbeat { token } => {
                if let Some(&task_id) = self.tokens.get(&token) {
                    self.restart_heartbeat(task_id);
                }
            }
            ExternalEvent::TimerFired { timer_id } => self.on_timer(machine, timer_id),
        }
    }

    /// `StopExecution`: aborts whatever runs and ends the execution as `Aborted`.
    pub fn stop(&mut self, error: Option<String>, cause: Option<String>, now: OffsetDateTime) {
        self.now = now;
        if !self.status.is_running() {
            return;
        }
        self.abort_frame_contents(ROOT);
        self.emit(
            Some(ROOT),
            EventType::ExecutionAborted,
            details([
                ("error", error.clone().map(Value::from).map(DetailValue::Json)),
                ("cause", cause.clone().map(Value::from).map(DetailValue::Json)),
            ]),
        );
        self.status = ExecutionStatus::Aborted { error, cause };
        self.clear_all();
    }

    pub fn status(&self) -> &ExecutionStatus {
        &self.status
    }

    pub fn context(&self) -> &ExecutionContext {
        &self.context
    }

    pub fn input(&self) -> &Value {
        &self.input
    }

    /// Number of history events produced so far (the id of the last one).
    pub fn event_count(&self) -> u64 {
        self.event_count
    }

    /// Everything outstanding: invocations not yet answered and timers not yet fired. A driver that
    /// restarts from a snapshot carries these out again (task invocations are therefore at-least-once).
    pub fn pending_commands(&self) -> Vec<Command> {
        let mut out = Vec::new();
        for (id, t) in self.tasks.iter() {
            if t.phase == TaskPhase::Invoking {
                out.push(self.invoke_command(*id, t));
            }
        }
        for (id, t) in self.timers.iter() {
            out.push(Command::StartTimer {
                timer_id: *id,
                fire_at: t.fire_at,
            });
        }
        out
    }

    /// True when the execution runs but only waits for task-token callbacks: no invocation in flight,
    /// and no timer other than the time-outs guarding those callbacks (or the execution time-out) that
    /// are not yet due at `now`. A due guard timer is work to do: it must fire when a persisted execution
    /// is resumed after its deadline.
    pub fn is_idle_at(&self, now: OffsetDateTime) -> bool {
        self.status.is_running()
            && self
                .tasks
                .values()
                .all(|t| t.phase == TaskPhase::AwaitingCallback)
            && self.timers.values().all(|t| {
                let guard = match t.kind {
                    TimerKind::ExecutionTimeout => true,
                    TimerKind::TaskTimeout(id) | TimerKind::Heartbeat(id) => self
                        .tasks
                        .get(&id)
                        .is_some_and(|t| t.phase == TaskPhase::AwaitingCallback),
                    TimerKind::Wait | TimerKind::Backoff => false,
                };
                guard && t.fire_at > now
            })
    }

    pub fn waiting_task_tokens(&self) -> Vec<String> {
        self.tokens.keys().cloned().collect()
    }

    pub fn has_waiting_task_tokens(&self) -> bool {
        !self.tokens.is_empty()
    }

    /// Names of the states currently running, top level first (branch and iteration states follow).
    pub fn active_states(&self) -> Vec<String> {
        self.frames
            .values()
            .filter(|f| !f.state.is_empty())
            .map(|f| f.state.to_string())
            .collect()
    }

    /// What this execution knows about a task token.
    pub fn token_status(&self, token: &str) -> TokenStatus {
        if self.tokens.contains_key(token) {
            TokenStatus::Waiting
        } else if self.closed_tokens.contains(token) {
            TokenStatus::Closed
        } else {
            TokenStatus::Unknown
        }
    }

    pub fn owns_token(&self, token: &str) -> bool {
        self.tokens.contains_key(token)
    }

    /// When the given timer is due, if it is still outstanding.
    pub fn timer_fire_at(&self, timer_id: TimerId) -> Option<OffsetDateTime> {
        self.timers.get(&timer_id).map(|t| t.fire_at)
    }

    pub fn take_new_events(&mut self) -> Vec<HistoryEvent> {
        std::mem::replace(&mut self.new_events, Vec::with_capacity(EVENTS_PER_TASK))
    }

    /// Frees the room kept for new events, for an execution about to be kept a while (parked on a
    /// callback, or finished); the next event allocates it again.
    pub fn release_event_buffer(&mut self) {
        if self.new_events.is_empty() {
            self.new_events = Vec::new();
        }
    }

    /// The events recorded since the last call, moved into `events` (emptied first); the
    /// execution keeps the buffer `events` had, so a driver passes the same two back and forth.
    pub fn take_new_events_into(&mut self, events: &mut Vec<HistoryEvent>) {
        events.clear();
        std::mem::swap(&mut self.new_events, events);
    }

    // -----------------------------------------------------------------------------------------------
    // Plumbing

    fn next_id(&mut self) -> u64 {
        let id = self.next_id;
        self.next_id += 1;
        id
    }

    fn retain_live_commands(&mut self) {
        // Commands issued earlier in the batch may already be moot (a sibling branch failed).
        let (tasks, timers) = (&self.tasks, &self.timers);
        self.commands.retain(|c| match c {
            Command::InvokeTask { task_id, .. } => tasks.contains_key(task_id),
            Command::StartTimer { timer_id, .. } => timers.contains_key(timer_id),
        });
    }

    fn emit(&mut self, frame: Option<u64>, ty: EventType, details: Option<Details>) -> u64 {
        self.event_count += 1;
        let id = self.event_count;
        let prev = match frame.and_then(|f| self.frames.get(&f)) {
            Some(f) => f.last_event_id,
            None => id - 1,
        };
        self.new_events.push(HistoryEvent {
            id,
            previous_event_id: prev,
            timestamp: self.now,
            event_type: ty,
            details,
        });
        if let Some(f) = frame.and_then(|f| self.frames.get_mut(&f)) {
            f.last_event_id = id;
        }
        id
    }

    fn start_timer(&mut self, frame: u64, kind: TimerKind, fire_at: OffsetDateTime) -> TimerId {
        let timer_id = TimerId(self.next_id());
        self.timers.insert(timer_id, TimerEntry { fire_at, frame, kind });
        self.commands.push(Command::StartTimer { timer_id, fire_at });
        timer_id
    }

    fn invoke_command(&self, task_id: TaskId, t: &TaskEntry) -> Command {
        Command::InvokeTask {
            task_id,
            resource: t.resource.clone(),
            parameters: t.parameters.clone(),
            task_token: t.token.clone(),
            context: t.context.clone(),
        }
    }

    fn pump(&mut self, machine: &StateMachine) {
        while let Some(work) = self.work.pop_front() {
            if !self.status.is_running() {
                self.work.clear();
                break;
            }
            if self.event_count >= MAX_HISTORY_EVENTS {
                self.fail_execution(StatesError::new(
                    STATES_RUNTIME,
                    format!(
                        "The execution reached the maximum number of history events ({MAX_HISTORY_EVENTS})."
                    ),
                ));
                continue;
            }
            match work {
                Work::Enter {
                    frame,
                    state,
                    input,
                    size,
                } => self.enter(machine, frame, state, input, size),
            }
        }
    }

    fn state_of<'m>(&self, machine: &'m StateMachine, fid: u64) -> Option<&'m State> {
        let f = self.frames.get(&fid)?;
        machine.scope(&f.scope)?.get(&f.state)
    }

    fn clear_all(&mut self) {
        let open = std::mem::take(&mut self.tokens);
        self.closed_tokens.extend(open.into_keys());
        self.frames.clear();
        self.tasks.clear();
        self.timers.clear();
        self.tokens.clear();
        self.work.clear();
    }

    fn fail_execution(&mut self, err: StatesError) {
        self.abort_frame_contents(ROOT);
        self.emit(
            Some(ROOT),
            EventType::ExecutionFailed,
            details([
                (
                    "error",
                    Some(err.error.clone())
                        .filter(|e| !e.is_empty())
                        .map(Value::from)
                        .map(DetailValue::Json),
                ),
                ("cause", err.cause.clone().map(Value::from).map(DetailValue::Json)),
            ]),
        );
        self.status = ExecutionStatus::Failed {
            error: err.error,
            cause: err.cause,
        };
        self.clear_all();
    }

    /// Context object (`$$`) as seen by the frame's current state.
    fn context_object(
        &mut self,
        state: &State,
        fid: u64,
        token: Option<&str>,
        item: Option<(usize, &Value)>,
    ) -> PathEnv {
        if !state.needs_context {
            static EMPTY: std::sync::LazyLock<Value> = std::sync::LazyLock::new(|| {
                let mut env = crate::value::Map::new();
                env.insert(ENV_CONTEXT, Value::Null);
                env.insert(ENV_VARIABLES, Value::Object(crate::value::Map::new()));
                Value::Object(env)
            });
            return PathEnv::Static(&EMPTY);
        }
        // What only depends on the execution (`$$.Execution.*`, `$$.StateMachine.*`, no variables in
        // scope) is the same for every state that reads the same fields: built once, then shared.
        let per_execution = token.is_none()
            && item.is_none()
            && !state.context_reads.has(ContextReads::STATE_FIELDS)
            && !self.has_visible_vars(fid);
        let key = state.context_reads.bits();
        if per_execution && let Some((_, env)) = self.shared_contexts.iter().find(|(k, _)| *k == key) {
            return PathEnv::Owned(env.clone());
        }
        let env = self.build_context(state, fid, token, item);
        if per_execution {
            self.shared_contexts.push((key, env.clone()));
        }
        PathEnv::Owned(env)
    }

    fn has_visible_vars(&self, fid: u64) -> bool {
        let mut cur = Some(fid);
        while let Some(id) = cur {
            let Some(f) = self.frames.get(&id) else { break };
            if !f.vars.is_empty() {
                return true;
            }
            cur = f.parent.as_ref().map(|p| p.frame);
        }
        false
    }

    fn build_context(
        &self,
        state: &State,
        fid: u64,
        token: Option<&str>,
        item: Option<(usize, &Value)>,
    ) -> Value {
        let c = &self.context;
        let reads = state.context_reads;
        let (state, entered, retries) = match self.frames.get(&fid) {
            Some(f) => (&*f.state, f.entered_time, f.retry_total),
            None => ("", self.now, 0),
        };
        // Only the fields the state can read are built; the others are absent, which no path can tell.
        let mut ctx = crate::value::Map::with_capacity(3);
        let mut part = |name: &str, fields: &[(u16, &str, &dyn Fn() -> Value)]| {
            let read = fields.iter().filter(|(bit, _, _)| reads.has(*bit)).count();
            if read == 0 {
                return;
            }
            let mut object = crate::value::Map::with_capacity(read);
            for (bit, key, value) in fields {
                if reads.has(*bit) {
                    object.insert(*key, value());
                }
            }
            ctx.insert(name, Value::Object(object));
        };
        let text = |s: &Arc<str>| Value::from(Arc::clone(s));
        part(
            "Execution",
            &[
                (ContextReads::EXECUTION_ID, "Id", &|| text(&c.execution_arn)),
                (ContextReads::EXECUTION_INPUT, "Input", &|| self.input.clone()),
                (ContextReads::EXECUTION_NAME, "Name", &|| text(&c.name)),
                (ContextReads::EXECUTION_ROLE_ARN, "RoleArn", &|| json!(c.role_arn)),
                (ContextReads::EXECUTION_START_TIME, "StartTime", &|| {
                    Value::from(iso_millis(c.start_time))
                }),
                (ContextReads::EXECUTION_REDRIVE_COUNT, "RedriveCount", &|| {
                    json!(c.redrive_count)
                }),
            ],
        );
        part(
            "State",
            &[
                (ContextReads::STATE_ENTERED_TIME, "EnteredTime", &|| {
                    Value::from(iso_millis(entered))
                }),
                (ContextReads::STATE_NAME, "Name", &|| Value::from(state)),
                (ContextReads::STATE_RETRY_COUNT, "RetryCount", &|| {
                    Value::from(retries)
                }),
            ],
        );
        part(
            "StateMachine",
            &[
                (ContextReads::STATE_MACHINE_ID, "Id", &|| {
                    text(&c.state_machine_arn)
                }),
                (ContextReads::STATE_MACHINE_NAME, "Name", &|| {
                    text(&c.state_machine_name)
                }),
            ],
        );
        if let Some(t) = token {
            ctx.insert(
                "Task",
                Value::Object([("Token", Value::from(t))].into_iter().collect()),
            );
        }
        if let Some((i, v)) = item {
            let item: crate::value::Map = [("Index", Value::from(i)), ("Value", v.clone())]
                .into_iter()
                .collect();
            ctx.insert(
                "Map",
                Value::Object([("Item", Value::Object(item))].into_iter().collect()),
            );
        }
        let ctx = Value::Object(ctx);
        let mut env = crate::value::Map::with_capacity(2);
        env.insert(ENV_CONTEXT, ctx);
        env.insert(ENV_VARIABLES, Value::Object(self.visible_vars(fid)));
        Value::Object(env)
    }

    /// The variables a frame sees: its own over its ancestors'.
    fn visible_vars(&self, fid: u64) -> crate::value::Map {
        if !self.has_visible_vars(fid) {
            return crate::value::Map::new();
        }
        let mut chain = Vec::new();
        let mut cur = Some(fid);
        while let Some(id) = cur {
            let Some(f) = self.frames.get(&id) else { break };
            chain.push(id);
            cur = f.parent.as_ref().map(|p| p.frame);
        }
        let mut out = crate::value::Map::new();
        for id in chain.into_iter().rev() {
            if let Some(f) = self.frames.get(&id) {
                for (k, v) in &f.vars {
                    out.insert(k.clone(), v.clone());
                }
            }
        }
        out
    }

    /// Evaluates an `Assign` field with the values from state entry and then stores all of it at once:
    /// AWS evaluates assignments simultaneously and a new value is visible from the next state on.
    /// `doc` is what `$` means in a JSONPath Assign; `extra` adds `$states.result`/`errorOutput` in
    /// JSONata.
    fn assign(
        &mut self,
        fid: u64,
        assign: &Option<Assign>,
        input: &Value,
        doc: &Value,
        env: &Value,
        extra: &[(&str, &Value)],
    ) -> Result<(), StatesError> {
        let Some(assign) = assign else { return Ok(()) };
        let values = match assign {
            Assign::Path(t) => t.evaluate(doc, env)?,
            Assign::Jsonata(t) => jeval(t, input, env, extra)?,
        };
        let Value::Object(values) = values else {
            return Ok(());
        };
        let size = Value::Object(values.clone()).json_len();
        if size > MAX_ASSIGN_BYTES {
            return Err(StatesError::new(
                STATES_DATA_LIMIT_EXCEEDED,
                format!(
                    "The variables assigned by the state exceed the maximum number of bytes service limit ({size} > {MAX_ASSIGN_BYTES})."
                ),
            ));
        }
        let mut total: usize = self
            .frames
            .iter()
            .filter(|(id, _)| **id != fid)
            .flat_map(|(_, f)| f.vars.values())
            .map(Value::json_len)
            .sum();
        if let Some(f) = self.frames.get(&fid) {
            total += f
                .vars
                .iter()
                .filter(|(k, _)| !values.contains_key(k))
                .map(|(_, v)| v.json_len())
                .sum::<usize>();
        }
        if total + size > MAX_VARIABLES_BYTES {
            return Err(StatesError::new(
                STATES_DATA_LIMIT_EXCEEDED,
                "The variables of the execution exceed the maximum number of bytes service limit.",
            ));
        }
        if let Some(f) = self.frames.get_mut(&fid) {
            f.vars.extend(values);
        }
        Ok(())
    }

    // -----------------------------------------------------------------------------------------------
    // State lifecycle

    fn enter(&mut self, machine: &StateMachine, fid: u64, name: Name, input: Value, size: Option<usize>) {
        let Some(scope) = self.frames.get(&fid).and_then(|f| machine.scope(&f.scope)) else {
            return;
        };
        let Some(state) = scope.get(&name) else {
            self.fail_execution(StatesError::new(
                STATES_RUNTIME,
                format!("state '{name}' does not exist"),
            ));
            return;
        };
        let now = self.now;
        let size = size.unwrap_or_else(|| input.json_len());
        let shown = Details::state(&state.name, &input, false);
        if let Some(f) = self.frames.get_mut(&fid) {
            f.state = Arc::clone(&state.name);
            f.input = input;
            f.input_size = size;
            f.entered_time = now;
            f.retry_counts.clear();
            f.retry_counts.resize(state.retry.len(), 0);
            f.retry_total = 0;
            f.activity = Activity::Idle;
        }
        let ty = entered_type(state);
        let id = self.emit(Some(fid), ty, Some(shown));
        if let Some(f) = self.frames.get_mut(&fid) {
            f.entered_event_id = id;
        }
        if size > MAX_PAYLOAD_BYTES {
            let err = StatesError::new(
                STATES_DATA_LIMIT_EXCEEDED,
                format!(
                    "The state/task '{}' input exceeds the maximum number of bytes service limit.",
                    state.name
                ),
            );
            self.handle_error(machine, fid, state, err);
            return;
        }
        self.run_state(machine, fid, state);
    }

    fn run_state(&mut self, machine: &StateMachine, fid: u64, state: &State) {
        let step = match self.state_body(machine, fid, state) {
            Ok(step) => step,
            Err(e) => Step::Fail(self.runtime_context(fid, state, e)),
        };
        self.finish_step(machine, fid, state, step);
    }

    /// AWS prefixes States.Runtime causes with where the failure happened.
    fn runtime_context(&self, fid: u64, state: &State, mut e: StatesError) -> StatesError {
        // Real AWS prefixes JSONata evaluation errors the same way (floci-io/floci issue #2665).
        if e.error == STATES_RUNTIME || e.error == crate::jsonata::STATES_QUERY_EVALUATION_ERROR {
            let entered = self.frames.get(&fid).map_or(0, |f| f.entered_event_id);
            e.cause = Some(format!(
                "An error occurred while executing the state '{}' (entered at the event id #{entered}). {}",
                state.name,
                e.cause.unwrap_or_default()
            ));
        }
        e
    }

    fn state_body(&mut self, machine: &StateMachine, fid: u64, state: &State) -> Result<Step, StatesError> {
        let shared = self.frames.get(&fid).map(|f| f.input.clone()).unwrap_or_default();
        let input: &Value = &shared;
        let ctx = self.context_object(state, fid, None, None);
        let j = state.jsonata;
        match &state.kind {
            StateKind::Pass {
                parameters,
                result,
                result_path,
            } => {
                if j {
                    let out = self.jsonata_output(fid, state, input, &ctx, &[])?;
                    return Ok(Step::Done(out, None));
                }
                let effective = select_input(&state.input_path, input, &ctx)?;
                let result = match (result, parameters) {
                    (Some(r), _) => r.clone(),
                    (None, Some(p)) => p.evaluate(&effective, &ctx)?,
                    (None, None) => effective.into_owned(),
                };
                self.finish_output(fid, state, input.clone(), result, &None, result_path, &ctx)
            }
            StateKind::Succeed => {
                if j {
                    return Ok(Step::Done(
                        self.jsonata_output(fid, state, input, &ctx, &[])?,
                        None,
                    ));
                }
                if passes_through(state) {
                    return Ok(Step::Done(shared, None));
                }
                let effective = select_input(&state.input_path, input, &ctx)?;
                Ok(Step::Done(
                    select_input(&state.output_path, &effective, &ctx)?.into_owned(),
                    None,
                ))
            }
            StateKind::Fail {
                error,
                error_path,
                cause,
                cause_path,
                error_expr,
                cause_expr,
            } => {
                let pick = |fixed: &Option<String>,
                            path: &Option<FailPath>,
                            expr: &Option<JTemplate>|
                 -> Result<Option<String>, StatesError> {
                    if let Some(e) = expr {
                        return match jeval(e, input, &ctx, &[])? {
                            Value::String(s) => Ok(Some(s.into())),
                            other => Err(StatesError::new(
                                crate::jsonata::STATES_QUERY_EVALUATION_ERROR,
                                format!("The expression must return a string, not {other}"),
                            )),
                        };
                    }
                    if let Some(p) = path {
                        let (v, what) = match p {
                            FailPath::Path(p) => (select(p, input, &ctx)?, p.to_string()),
                            // AWS reports intrinsic failures as States.Runtime (concepts-error-handling:
                            // States.IntrinsicFailure is "Reserved for future use").
                            FailPath::Call(c) => (
                                c.eval(input, &ctx).map_err(|e| {
                                    StatesError::new(
                                        STATES_RUNTIME,
                                        format!("The intrinsic function {} failed: {}", c.name, e.0),
                                    )
                                })?,
                                c.name.clone(),
                            ),
                        };
                        // The Fail docs: the path "must select a field that contains a string value"
                        // and the intrinsic must be one "that returns a string".
                        return match v {
                            Value::String(s) => Ok(Some(s.into())),
                            other => Err(StatesError::new(
                                STATES_RUNTIME,
                                format!("The value of '{what}' must be a string, not {other}"),
                            )),
                        };
                    }
                    Ok(fixed.clone())
                };
                let error = pick(error, error_path, error_expr)?.unwrap_or_default();
                let cause = pick(cause, cause_path, cause_expr)?;
                Ok(Step::Fail(StatesError::reported(error, cause)))
            }
            StateKind::Choice {
                choices,
                rule_io,
                default,
            } => {
                let effective = if j {
                    Cow::Borrowed(input)
                } else {
                    select_input(&state.input_path, input, &ctx)?
                };
                let mut chosen = None;
                for (i, (rule, next)) in choices.iter().enumerate() {
                    let matched = match rule {
                        crate::choice::ChoiceRule::Condition(t) => match jeval(t, input, &ctx, &[])? {
                            Value::Bool(b) => b,
                            other => {
                                return Err(StatesError::new(
                                    crate::jsonata::STATES_QUERY_EVALUATION_ERROR,
                                    format!("The Condition must evaluate to a boolean, not {other}"),
                                ));
                            }
                        },
                        r => r.evaluate(&effective, &ctx)?,
                    };
                    if matched {
                        chosen = Some((next.clone(), rule_io.get(i)));
                        break;
                    }
                }
                let (target, assign, output) = match chosen {
                    Some((next, io)) => {
                        let (a, o) = io.map_or((&None, &None), |(a, o)| (a, o));
                        (next, a, o)
                    }
                    None => match default {
                        Some(d) => (d.clone(), &state.assign, &state.output),
                        None => {
                            // AWS: States.NoChoiceMatched is "Reserved for future use. If no choices
                            // are matched, the error is reported with the States.Runtime error name"
                            // (concepts-error-handling). Returning Err adds AWS's "An error occurred
                            // while executing the state ..." prefix; the sentence after it is ours, as
                            // AWS's exact cause for this case was not found in any public source.
                            return Err(StatesError::new(
                                STATES_RUNTIME,
                                "No Choice rule matched the input and the state has no Default.",
                            ));
                        }
                    },
                };
                let out = if j {
                    match output {
                        Some(t) => jeval(t, input, &ctx, &[])?,
                        None => shared.clone(),
                    }
                } else if passes_through(state) {
                    shared.clone()
                } else {
                    select_input(&state.output_path, &effective, &ctx)?.into_owned()
                };
                self.assign(fid, assign, input, &effective, &ctx, &[])?;
                Ok(Step::Goto(target, out))
            }
            StateKind::Wait { wait } => {
                let effective = if j {
                    Cow::Borrowed(input)
                } else {
                    select_input(&state.input_path, input, &ctx)?
                };
                let fire_at = match wait {
                    WaitSpec::Seconds(s) => {
                        after_seconds(self.now, resolve_seconds(s, &effective, &ctx)?.unwrap_or(0))
                    }
                    WaitSpec::Timestamp(t) => *t,
                    WaitSpec::TimestampPath(p) => {
                        let v = select(p, &effective, &ctx)?;
                        // Same strict RFC 3339 rule as a literal Timestamp (uppercase T and Z). AWS
                        // fails the state with States.Runtime; the cause wording below has no public
                        // source we could find.
                        v.as_str().and_then(parse_wait_timestamp).ok_or_else(|| {
                            StatesError::new(STATES_RUNTIME, format!("The TimestampPath parameter does not reference a valid ISO-8601 extended offset date-time format string: {p} == {v}"))
                        })?
                    }
                    WaitSpec::TimestampExpr(t) => {
                        let v = jeval(t, input, &ctx, &[])?;
                        v.as_str().and_then(parse_wait_timestamp).ok_or_else(|| {
                            StatesError::new(
                                crate::jsonata::STATES_QUERY_EVALUATION_ERROR,
                                format!("The Timestamp expression must return an RFC3339 timestamp, not {v}"),
                            )
                        })?
                    }
                };
                let output = if j {
                    self.jsonata_output(fid, state, input, &ctx, &[])?
                } else {
                    let out = select_input(&state.output_path, &effective, &ctx)?.into_owned();
                    self.assign(fid, &state.assign, input, &effective, &ctx, &[])?;
                    out
                };
                let timer_id = self.start_timer(fid, TimerKind::Wait, fire_at);
                self.set_activity(fid, Activity::Wait { timer_id, output });
                Ok(Step::Pending)
            }
            StateKind::Task {
                resource,
                parameters,
                timeout,
                heartbeat,
                ..
            } => self.start_task(fid, state, resource, parameters, timeout, heartbeat, input),
            StateKind::Parallel {
                branches, parameters, ..
            } => {
                let branch_input = if j {
                    match &state.arguments {
                        Some(a) => jeval(a, input, &ctx, &[])?,
                        None => input.clone(),
                    }
                } else {
                    let effective = select_input(&state.input_path, input, &ctx)?;
                    match parameters {
                        Some(p) => p.evaluate(&effective, &ctx)?,
                        None => effective.into_owned(),
                    }
                };
                let started = self.emit(Some(fid), EventType::ParallelStateStarted, None);
                let scope = self.frames.get(&fid).map(|f| f.scope.clone()).unwrap_or_default();
                let mut children = Vec::with_capacity(branches.len());

                for (i, b) in branches.iter().enumerate() {
                    let mut child_scope = scope.clone();
                    child_scope.push(ScopeStep {
                        state: state.name.clone(),
                        branch: Some(i),
                    });
                    let child = self.new_frame(child_scope, fid, i, started);
                    self.work.push_back(Work::Enter {
                        frame: child,
                        state: b.start_at.clone(),
                        input: branch_input.clone(),
                        size: None,
                    });
                    children.push(Some(child));
                }
                let results = vec![None; branches.len()];
                self.set_activity(fid, Activity::Parallel { children, results });
                Ok(Step::Pending)
            }
            StateKind::Map {
                items_path,
                item_selector,
                max_concurrency,
                options,
                ..
            } => {
                let effective = if j {
                    Cow::Borrowed(input)
                } else {
                    select_input(&state.input_path, input, &ctx)?
                };
                let items = match &options.items {
                    Some(t) => jeval(t, input, &ctx, &[])?,
                    None if j => input.clone(),
                    None => select(items_path, &effective, &ctx)?,
                };
                let items = match items {
                    Value::Array(a) => a,
                    other => {
                        // Source: AWS docs, "Map state input must be an array" runtime error text is not
                        // published verbatim; the wording below is our own.
                        let what = if j {
                            "Items".to_owned()
                        } else {
                            format!("ItemsPath '{items_path}'")
                        };
                        return Err(StatesError::new(
                            STATES_RUNTIME,
                            format!("Map state input must be an array but was: {other} ({what})"),
                        ));
                    }
                };
                let mut inputs = Vec::with_capacity(items.len());
                for (i, item) in items.iter().enumerate() {
                    let item_ctx = self.context_object(state, fid, None, Some((i, item)));
                    inputs.push(match (item_selector, &options.item_selector_jsonata) {
                        (_, Some(t)) => jeval(t, input, &item_ctx, &[])?,
                        (Some(sel), None) => sel.evaluate(&effective, &item_ctx)?,
                        (None, None) => item.clone(),
                    });
                }
                if let Some(b) = &options.batcher {
                    inputs = self.batch(b, inputs, input, &effective, &ctx)?;
                }
                let max = match max_concurrency {
                    Some(s) => resolve_seconds(s, &effective, &ctx)?.unwrap_or(0),
                    None => 0,
                };
                let tolerated = self.tolerated(options, inputs.len(), input, &effective, &ctx)?;
                self.emit(
                    Some(fid),
                    EventType::MapStateStarted,
                    details([("length", json(Value::from(inputs.len())))]),
                );
                if inputs.is_empty() {
                    self.emit(Some(fid), EventType::MapStateSucceeded, None);
                    return self.aggregate_output(fid, state, Value::from(Vec::new()), &ctx);
                }
                let n = inputs.len();
                self.set_activity(
                    fid,
                    Activity::Map {
                        inputs,
                        next: 0,
                        running: BTreeMap::new(),
                        results: vec![None; n],
                        max_concurrency: usize::try_from(max).unwrap_or(usize::MAX),
                        failed: 0,
                        tolerated,
                    },
                );
                self.launch_iterations(machine, fid, state);
                Ok(Step::Pending)
            }
        }
    }

    /// JSONata `Output` (default: the input, or `$states.result` when there is one) followed by
    /// `Assign`, both evaluated with the values from state entry.
    fn jsonata_output(
        &mut self,
        fid: u64,
        state: &State,
        input: &Value,
        ctx: &Value,
        extra: &[(&str, &Value)],
    ) -> Result<Value, StatesError> {
        let out = match &state.output {
            Some(t) => jeval(t, input, ctx, extra)?,
            None => extra
                .iter()
                .find(|(k, _)| *k == "result")
                .map_or_else(|| input.clone(), |(_, v)| (*v).clone()),
        };
        self.assign(fid, &state.assign, input, input, ctx, extra)?;
        Ok(out)
    }

    /// `ItemBatcher`: groups the items into `{"Items": [...], "BatchInput": ...}` objects.
    fn batch(
        &self,
        b: &crate::definition::ItemBatcher,
        items: Vec<Value>,
        input: &Value,
        effective: &Value,
        ctx: &Value,
    ) -> Result<Vec<Value>, StatesError> {
        let max_items = match &b.max_items {
            Some(s) => resolve_seconds(s, effective, ctx)?.map(|n| usize::try_from(n).unwrap_or(usize::MAX)),
            None => None,
        }
        .filter(|n| *n > 0)
        .unwrap_or(usize::MAX);
        let max_bytes = match &b.max_bytes {
            Some(s) => resolve_seconds(s, effective, ctx)?.map(|n| usize::try_from(n).unwrap_or(usize::MAX)),
            None => None,
        }
        .filter(|n| *n > 0)
        .unwrap_or(MAX_PAYLOAD_BYTES);
        let batch_input = match &b.batch_input {
            Some(BatchInput::Path(t)) => Some(t.evaluate(effective, ctx)?),
            Some(BatchInput::Jsonata(t)) => Some(jeval(t, input, ctx, &[])?),
            None => None,
        };
        let wrap = |items: Vec<Value>| {
            let mut m = crate::value::Map::new();
            if let Some(bi) = &batch_input {
                m.insert("BatchInput", bi.clone());
            }
            m.insert("Items", Value::from(items));
            Value::Object(m)
        };
        let mut out = Vec::new();
        let mut current: Vec<Value> = Vec::new();
        for item in items {
            let mut candidate = current.clone();
            candidate.push(item.clone());
            let too_big = wrap(candidate).json_len() > max_bytes;
            if !current.is_empty() && (current.len() >= max_items || too_big) {
                out.push(wrap(std::mem::take(&mut current)));
            }
            current.push(item);
        }
        if !current.is_empty() {
            out.push(wrap(current));
        }
        Ok(out)
    }

    /// How many iterations may fail: the stricter of `ToleratedFailureCount` and
    /// `ToleratedFailurePercentage` (of all iterations).
    fn tolerated(
        &self,
        options: &crate::definition::MapOptions,
        n: usize,
        input: &Value,
        effective: &Value,
        ctx: &Value,
    ) -> Result<Option<usize>, StatesError> {
        let resolve = |t: &Tolerance| -> Result<f64, StatesError> {
            let v = match t {
                Tolerance::Fixed(x) => return Ok(*x),
                Tolerance::Path(p) => select(p, effective, ctx)?,
                Tolerance::Expr(e) => jeval(e, input, ctx, &[])?,
            };
            v.as_f64().filter(|x| *x >= 0.0).ok_or_else(|| {
                StatesError::new(
                    STATES_RUNTIME,
                    format!("The tolerated failure threshold must be a non-negative number, not {v}"),
                )
            })
        };
        let mut limit: Option<usize> = None;
        if let Some(t) = &options.tolerated_count {
            let c = resolve(t)?.floor();
            limit = Some(if c >= n as f64 { n } else { c as usize });
        }
        if let Some(t) = &options.tolerated_percentage {
            let pct = resolve(t)?.min(100.0);
            let c = ((pct / 100.0) * n as f64).floor() as usize;
            limit = Some(limit.map_or(c, |l| l.min(c)));
        }
        Ok(limit)
    }

    fn set_activity(&mut self, fid: u64, activity: Activity) {
        if let Some(f) = self.frames.get_mut(&fid) {
            f.activity = activity;
        }
    }

    fn new_frame(&mut self, scope: Vec<ScopeStep>, parent: u64, index: usize, last_event_id: u64) -> u64 {
        let id = self.next_id();
        self.frames.insert(
            id,
            Box::new(Frame {
                scope,
                parent: Some(ParentLink { frame: parent, index }),
                state: Name::from(""),
                input: Value::Null,
                input_size: 0,
                entered_time: self.now,
                entered_event_id: last_event_id,
                last_event_id,
                retry_counts: Vec::new(),
                retry_total: 0,
                activity: Activity::Idle,
                vars: crate::value::Map::new(),
            }),
        );
        id
    }

    fn launch_iterations(&mut self, machine: &StateMachine, fid: u64, state: &State) {
        let StateKind::Map { processor, .. } = &state.kind else {
            return;
        };
        loop {
            let Some(f) = self.frames.get_mut(&fid) else {
                return;
            };
            let scope = f.scope.clone();
            let Activity::Map {
                inputs,
                next,
                running,
                max_concurrency,
                ..
            } = &mut f.activity
            else {
                return;
            };
            if *next >= inputs.len() || (*max_concurrency > 0 && running.len() >= *max_concurrency) {
                return;
            }
            let index = *next;
            *next += 1;
            let input = inputs[index].clone();
            let started = self.emit(
                Some(fid),
                EventType::MapIterationStarted,
                details([("name", name(&state.name)), ("index", json(Value::from(index)))]),
            );
            let mut child_scope = scope;
            child_scope.push(ScopeStep {
                state: state.name.clone(),
                branch: None,
            });
            let child = self.new_frame(child_scope, fid, index, started);
            if let Some(Frame {
                activity: Activity::Map { running, .. },
                ..
            }) = self.frames.get_mut(&fid).map(|f| &mut **f)
            {
                running.insert(index, child);
            }
            self.work.push_back(Work::Enter {
                frame: child,
                state: processor.start_at.clone(),
                input,
                size: None,
            });
            let _ = machine;
        }
    }

    /// ResultSelector -> ResultPath -> OutputPath for Parallel and Map results.
    fn aggregate_output(
        &mut self,
        fid: u64,
        state: &State,
        result: Value,
        ctx: &Value,
    ) -> Result<Step, StatesError> {
        let (selector, result_path) = match &state.kind {
            StateKind::Parallel {
                result_selector,
                result_path,
                ..
            }
            | StateKind::Map {
                result_selector,
                result_path,
                ..
            } => (result_selector, result_path),
            _ => return Ok(Step::Done(result, None)),
        };
        let input = self.frames.get(&fid).map(|f| f.input.clone()).unwrap_or_default();
        if state.jsonata {
            return Ok(Step::Done(
                self.jsonata_output(fid, state, &input, ctx, &[("result", &result)])?,
                None,
            ));
        }
        self.finish_output(fid, state, input, result, selector, result_path, ctx)
    }

    /// ResultSelector -> Assign (whose `$` is the selected result) -> ResultPath -> OutputPath. The
    /// variables are stored only once the output is known, so a failing ResultPath assigns nothing.
    #[allow(clippy::too_many_arguments)]
    fn finish_output(
        &mut self,
        fid: u64,
        state: &State,
        raw_input: Value,
        result: Value,
        selector: &Option<Template>,
        result_path: &ResultPath,
        ctx: &Value,
    ) -> Result<Step, StatesError> {
        let selected = match selector {
            Some(s) => s.evaluate(&result, ctx)?,
            None => result,
        };
        let assign_doc = if state.assign.is_some() {
            Some(selected.clone())
        } else {
            None
        };
        // An upper bound on the output's size from the input's (known) and the result's, so the large
        // document a workflow carries along is not measured again after every state.
        let input_size = self.frames.get(&fid).map(|f| f.input_size);
        let bound = match (result_path, input_size) {
            (None, Some(input)) => Some(input),
            (Some(p), _) if p.is_root() => Some(selected.json_len()),
            (Some(p), Some(input)) => Some(input + selected.json_len() + result_path_growth(p)),
            (_, None) => None,
        }
        .filter(|_| is_root_path(&state.output_path));
        let one_name = result_path.as_ref().filter(|p| p.is_one_name());
        if let Some(p) = one_name
            && assign_doc.is_none()
            && raw_input.is_object()
            && bound.is_some_and(|b| b <= MAX_PAYLOAD_BYTES)
        {
            // Nothing after this write can fail or read the state's input again (no Assign, OutputPath
            // `$`, the output within the size limit, so no Catch needs the input), so the frame lets go
            // of it, and when no one else holds the document (its history event is recorded) the result
            // is written into it in place instead of into a copy.
            if let Some(f) = self.frames.get_mut(&fid) {
                f.input = Value::Null;
            }
            let mut doc = raw_input;
            p.set(&mut doc, selected)
                .map_err(|e| StatesError::new(STATES_RESULT_PATH_MATCH_FAILURE, e.to_string()))?;
            return Ok(Step::Done(doc, bound));
        }
        let combined = apply_result_path(&raw_input, selected, result_path)?;
        let out = select_output(&state.output_path, combined, ctx)?;
        if let Some(doc) = assign_doc {
            self.assign(fid, &state.assign, &raw_input, &doc, ctx, &[])?;
        }
        Ok(Step::Done(out, bound))
    }

    fn finish_step(&mut self, machine: &StateMachine, fid: u64, state: &State, step: Step) {
        let (next, output, bound) = match step {
            Step::Pending => return,
            Step::Fail(err) => return self.handle_error(machine, fid, state, err),
            Step::Done(output, bound) => (state.next.clone(), output, bound),
            Step::Goto(target, output) => (Transition::Next(target), output, None),
        };
        let size = match (self.frames.get(&fid), bound) {
            (Some(f), _) if f.input.is_same(&output) => f.input_size,
            (_, Some(bound)) if bound <= MAX_PAYLOAD_BYTES => bound,
            _ => output.json_len(),
        };
        if size > MAX_PAYLOAD_BYTES {
            let err = StatesError::new(
                STATES_DATA_LIMIT_EXCEEDED,
                format!(
                    "The state/task '{}' returned a result with a size exceeding the maximum number of bytes service limit.",
                    state.name
                ),
            );
            return self.handle_error(machine, fid, state, err);
        }
        self.set_activity(fid, Activity::Idle);
        self.emit(
            Some(fid),
            exited_type(state),
            Some(Details::state(&state.name, &output, true)),
        );
        match next {
            Transition::Next(n) => self.work.push_back(Work::Enter {
                frame: fid,
                state: n,
                input: output,
                size: Some(size),
            }),
            Transition::End => self.complete_frame(machine, fid, output),
        }
    }

    fn complete_frame(&mut self, machine: &StateMachine, fid: u64, output: Value) {
        let Some(frame) = self.frames.get(&fid) else {
            return;
        };
        let Some(link) = frame.parent.clone() else {
            self.emit(
                Some(ROOT),
                EventType::ExecutionSucceeded,
                Some(Details::output(None, &output)),
            );
            self.status = ExecutionStatus::Succeeded { output };
            self.clear_all();
            return;
        };
        let Some(parent_state) = self.state_of(machine, link.frame) else {
            return;
        };
        let is_map = matches!(parent_state.kind, StateKind::Map { .. });
        let last = self.close_iteration(
            fid,
            parent_state,
            link.index,
            EventType::MapIterationSucceeded,
            frame.last_event_id,
        );
        self.frames.remove(&fid);
        let Some(parent) = self.frames.get_mut(&link.frame) else {
            return;
        };
        parent.last_event_id = parent.last_event_id.max(last);
        let all_done = match &mut parent.activity {
            Activity::Parallel { children, results } => {
                children[link.index] = None;
                results[link.index] = Some(output);
                results.iter().all(Option::is_some)
            }
            Activity::Map {
                running,
                results,
                next,
                inputs,
                ..
            } => {
                running.remove(&link.index);
                results[link.index] = Some(output);
                *next >= inputs.len() && running.is_empty()
            }
            _ => return,
        };
        if !all_done {
            if is_map {
                self.launch_iterations(machine, link.frame, parent_state);
            }
            return;
        }
        self.finish_children(machine, link.frame, parent_state, is_map);
    }

    /// Every branch or iteration is over: the Parallel or Map state goes on with the array of results.
    fn finish_children(&mut self, machine: &StateMachine, pfid: u64, parent_state: &State, is_map: bool) {
        let Some(parent) = self.frames.get_mut(&pfid) else {
            return;
        };
        let results = match std::mem::replace(&mut parent.activity, Activity::Idle) {
            Activity::Parallel { results, .. } | Activity::Map { results, .. } => results
                .into_iter()
                .map(|r| r.unwrap_or(Value::Null))
                .collect::<Vec<_>>(),
            _ => Vec::new(),
        };
        let ty = if is_map {
            EventType::MapStateSucceeded
        } else {
            EventType::ParallelStateSucceeded
        };
        self.emit(Some(pfid), ty, None);
        let ctx = self.context_object(parent_state, pfid, None, None);
        let step = match self.aggregate_output(pfid, parent_state, Value::from(results), &ctx) {
            Ok(s) => s,
            Err(e) => Step::Fail(self.runtime_context(pfid, parent_state, e)),
        };
        self.finish_step(machine, pfid, parent_state, step);
    }

    fn handle_error(&mut self, machine: &StateMachine, fid: u64, state: &State, err: StatesError) {
        // Whatever the state was doing has ended with this error; nothing is left to abort.
        self.set_activity(fid, Activity::Idle);
        if !err.is_terminal() {
            for (i, r) in state.retry.iter().enumerate() {
                if !any_matches(&r.error_equals, &err) {
                    continue;
                }
                let Some(f) = self.frames.get_mut(&fid) else {
                    return;
                };
                let attempt = f.retry_counts.get(i).copied().unwrap_or(0);
                if attempt < r.max_attempts {
                    if let Some(c) = f.retry_counts.get_mut(i) {
                        *c += 1;
                    }
                    f.retry_total += 1;
                    let mut delay = r.delay_seconds(attempt);
                    if r.jitter_full && delay > 0.0 {
                        delay = rand::rng().random_range(0.0..=delay);
                    }
                    let timer_id =
                        self.start_timer(fid, TimerKind::Backoff, after_seconds_f64(self.now, delay));
                    self.set_activity(fid, Activity::Backoff { timer_id });
                    return;
                }
                // Only the first matching retrier applies; once it is exhausted, catchers take over.
                break;
            }
            for c in &state.catch {
                if !any_matches(&c.error_equals, &err) {
                    continue;
                }
                let input = self.frames.get(&fid).map(|f| f.input.clone()).unwrap_or_default();
                let error_output = err.to_output();
                let ctx = self.context_object(state, fid, None, None);
                let res = if state.jsonata {
                    let extra = [("errorOutput", &error_output)];
                    match &c.output {
                        Some(t) => jeval(t, &input, &ctx, &extra),
                        None => Ok(error_output.clone()),
                    }
                    .and_then(|out| {
                        self.assign(fid, &c.assign, &input, &input, &ctx, &extra)?;
                        Ok(out)
                    })
                } else {
                    apply_result_path(&input, error_output.clone(), &c.result_path).and_then(|out| {
                        self.assign(fid, &c.assign, &input, &error_output, &ctx, &[])?;
                        Ok(out)
                    })
                };
                return match res {
                    Ok(output) => self.finish_step(machine, fid, state, Step::Goto(c.next.clone(), output)),
                    Err(e) => self.fail_frame(machine, fid, e),
                };
            }
        }
        self.fail_frame(machine, fid, err);
    }

    /// Emits a Map iteration's closing event (Parallel branches have none) and returns the event id the
    /// parent state continues from.
    fn close_iteration(
        &mut self,
        fid: u64,
        parent_state: &State,
        index: usize,
        event: EventType,
        branch_last: u64,
    ) -> u64 {
        if !matches!(parent_state.kind, StateKind::Map { .. }) {
            return branch_last;
        }
        self.emit(
            Some(fid),
            event,
            details([
                ("name", name(&parent_state.name)),
                ("index", json(Value::from(index))),
            ]),
        )
    }

    /// An unhandled error ends the frame: the execution for the top level, otherwise the enclosing
    /// Parallel or Map state fails with the same error (and may retry or catch it).
    fn fail_frame(&mut self, machine: &StateMachine, fid: u64, mut err: StatesError) {
        let Some(link) = self.frames.get(&fid).and_then(|f| f.parent.clone()) else {
            return self.fail_execution(err);
        };
        let Some(parent_state) = self.state_of(machine, link.frame) else {
            return;
        };
        let is_map = matches!(parent_state.kind, StateKind::Map { .. });
        let branch_last = self.frames.get(&fid).map_or(0, |f| f.last_event_id);
        let last = self.close_iteration(
            fid,
            parent_state,
            link.index,
            EventType::MapIterationFailed,
            branch_last,
        );
        self.drop_frame(fid);
        if let Some(p) = self.frames.get_mut(&link.frame) {
            p.last_event_id = p.last_event_id.max(last);
        }
        // ToleratedFailureCount/Percentage: a tolerated failure leaves the other iterations running and
        // puts the error output in the iteration's place.
        let tolerance = match self.frames.get_mut(&link.frame).map(|f| &mut f.activity) {
            Some(Activity::Map {
                failed,
                tolerated: Some(t),
                running,
                results,
                next,
                inputs,
                ..
            }) => {
                *failed += 1;
                if *failed <= *t {
                    running.remove(&link.index);
                    results[link.index] = Some(err.to_output());
                    Some(Some(*next >= inputs.len() && running.is_empty()))
                } else {
                    Some(None)
                }
            }
            _ => None,
        };
        match tolerance {
            Some(Some(all_done)) => {
                if all_done {
                    self.finish_children(machine, link.frame, parent_state, true);
                } else {
                    self.launch_iterations(machine, link.frame, parent_state);
                }
                return;
            }
            Some(None) => {
                // The cause text is our own: AWS documents the error name, not its cause.
                err = StatesError::new(
                    STATES_EXCEED_TOLERATED_FAILURE_THRESHOLD,
                    "The specified tolerated failure threshold was exceeded",
                );
            }
            None => {}
        }
        let siblings: Vec<(usize, u64)> = match self.frames.get(&link.frame).map(|f| &f.activity) {
            Some(Activity::Parallel { children, .. }) => children
                .iter()
                .enumerate()
                .filter_map(|(i, c)| c.filter(|c| *c != fid).map(|c| (i, c)))
                .collect(),
            Some(Activity::Map { running, .. }) => running
                .iter()
                .filter(|(_, c)| **c != fid)
                .map(|(i, c)| (*i, *c))
                .collect(),
            _ => Vec::new(),
        };
        for (index, child) in siblings {
            self.abort_frame_contents(child);
            if is_map {
                self.emit(
                    Some(child),
                    EventType::MapIterationAborted,
                    details([
                        ("name", name(&parent_state.name)),
                        ("index", json(Value::from(index))),
                    ]),
                );
            }
            self.drop_frame(child);
        }
        self.set_activity(link.frame, Activity::Idle);
        let ty = if is_map {
            EventType::MapStateFailed
        } else {
            EventType::ParallelStateFailed
        };
        self.emit(Some(link.frame), ty, None);
        self.handle_error(machine, link.frame, parent_state, err);
    }

    /// Emits the `*Aborted` events for whatever runs in the frame (recursively) and drops its children,
    /// tasks and timers. The frame itself stays.
    fn abort_frame_contents(&mut self, fid: u64) {
        let Some(f) = self.frames.get(&fid) else { return };
        let activity = f.activity.clone();
        let ty = match &activity {
            Activity::Idle => None,
            Activity::Task { .. } => Some(EventType::TaskStateAborted),
            Activity::Wait { .. } => Some(EventType::WaitStateAborted),
            Activity::Backoff { .. } => Some(EventType::TaskStateAborted),
            Activity::Parallel { .. } => Some(EventType::ParallelStateAborted),
            Activity::Map { .. } => Some(EventType::MapStateAborted),
        };
        match activity {
            Activity::Parallel { children, .. } => {
                for c in children.into_iter().flatten() {
                    self.abort_frame_contents(c);
                    self.drop_frame(c);
                }
            }
            Activity::Map { running, .. } => {
                for c in running.into_values() {
                    self.abort_frame_contents(c);
                    self.drop_frame(c);
                }
            }
            _ => {}
        }
        self.drop_resources(fid);
        self.set_activity(fid, Activity::Idle);
        if let Some(ty) = ty {
            self.emit(Some(fid), ty, None);
        }
    }

    fn drop_resources(&mut self, fid: u64) {
        let tasks: Vec<TaskId> = self
            .tasks
            .iter()
            .filter(|(_, t)| t.frame == fid)
            .map(|(id, _)| *id)
            .collect();
        for id in tasks {
            self.remove_task(id);
        }
        // The execution time-out belongs to the root frame but outlives its states.
        self.timers
            .retain(|_, t| t.frame != fid || t.kind == TimerKind::ExecutionTimeout);
    }

    fn drop_frame(&mut self, fid: u64) {
        self.drop_resources(fid);
        self.frames.remove(&fid);
    }

    fn remove_task(&mut self, task_id: TaskId) -> Option<TaskEntry> {
        let t = self.tasks.remove(&task_id)?;
        if let Some(tok) = &t.token {
            self.tokens.remove(tok);
            self.closed_tokens.insert(tok.clone());
        }
        for timer in [t.timeout_timer, t.heartbeat_timer].into_iter().flatten() {
            self.timers.remove(&timer);
        }
        Some(*t)
    }

    // -----------------------------------------------------------------------------------------------
    // Tasks

    #[allow(clippy::too_many_arguments)]
    fn start_task(
        &mut self,
        fid: u64,
        state: &State,
        resource: &TaskResource,
        parameters: &Option<Template>,
        timeout: &Option<Seconds>,
        heartbeat: &Option<Seconds>,
        input: &Value,
    ) -> Result<Step, StatesError> {
        let token = resource.ends_with(".waitForTaskToken").then(new_task_token);
        let ctx = self.context_object(state, fid, token.as_deref(), None);
        let effective = if state.jsonata {
            Cow::Borrowed(input)
        } else {
            select_input(&state.input_path, input, &ctx)?
        };
        let params = match (parameters, &state.arguments) {
            (_, Some(a)) => jeval(a, input, &ctx, &[])?,
            (Some(p), None) => p.evaluate(&effective, &ctx)?,
            (None, None) => effective.clone().into_owned(),
        };

        // The input's size is known (measured when the state was entered), and bounds what a path
        // into it selects, so the parameters are measured only when that bound is over the limit.
        let input_len = match self.frames.get(&fid) {
            Some(f) if f.input_size > 0 && is_root_path(&state.input_path) => Some(f.input_size),
            _ => None,
        };
        let params_bound = match (parameters, &state.arguments, input_len) {
            (Some(p), None, Some(n)) => p.output_len_bound(&params, n),
            (None, None, Some(n)) => n,
            _ => params.json_len(),
        };
        if params_bound > MAX_PAYLOAD_BYTES && params.json_len() > MAX_PAYLOAD_BYTES {
            return Err(StatesError::new(
                STATES_DATA_LIMIT_EXCEEDED,
                format!(
                    "The state/task '{}' input exceeds the maximum number of bytes service limit.",
                    state.name
                ),
            ));
        }
        let timeout_s = match timeout {
            Some(s) => resolve_seconds(s, &effective, &ctx)?,
            None => None,
        };
        let heartbeat_s = match heartbeat {
            Some(s) => resolve_seconds(s, &effective, &ctx)?,
            None => None,
        };
        let lambda_events = resource.lambda_events;
        let frame = self.frames.get(&fid);
        let context = TaskContext {
            execution_arn: Arc::clone(&self.context.execution_arn),
            execution_name: Arc::clone(&self.context.name),
            state_machine_arn: Arc::clone(&self.context.state_machine_arn),
            state_name: Arc::clone(&state.name),
            attempt: frame.map_or(0, |f| f.retry_total),
            state_entered_time: frame.map_or(self.now, |f| f.entered_time),
        };
        let task_id = TaskId(self.next_id());
        if lambda_events {
            self.emit(
                Some(fid),
                EventType::LambdaFunctionScheduled,
                details([
                    ("resource", json(Value::from(Arc::clone(&resource.arn)))),
                    ("input", document(&params)),
                    ("inputDetails", not_truncated()),
                    (
                        "timeoutInSeconds",
                        timeout_s.map(Value::from).map(DetailValue::Json),
                    ),
                ]),
            );
            self.emit(Some(fid), EventType::LambdaFunctionStarted, None);
        } else {
            self.emit(
                Some(fid),
                EventType::TaskScheduled,
                details([
                    (
                        "resourceType",
                        json(Value::from(Arc::clone(&resource.resource_type))),
                    ),
                    ("resource", json(Value::from(Arc::clone(&resource.resource_name)))),
                    ("region", json(Value::from(self.context.region()))),
                    ("parameters", document(&params)),
                    (
                        "timeoutInSeconds",
                        timeout_s.map(Value::from).map(DetailValue::Json),
                    ),
                    (
                        "heartbeatInSeconds",
                        heartbeat_s.map(Value::from).map(DetailValue::Json),
                    ),
                ]),
            );
            self.emit(
                Some(fid),
                EventType::TaskStarted,
                details([
                    (
                        "resourceType",
                        json(Value::from(Arc::clone(&resource.resource_type))),
                    ),
                    ("resource", json(Value::from(Arc::clone(&resource.resource_name)))),
                ]),
            );
        }
        let timeout_timer = timeout_s
            .map(|s| self.start_timer(fid, TimerKind::TaskTimeout(task_id), after_seconds(self.now, s)));
        let heartbeat_timer = heartbeat_s
            .map(|s| self.start_timer(fid, TimerKind::Heartbeat(task_id), after_seconds(self.now, s)));
        let entry = TaskEntry {
            frame: fid,
            resource: Arc::clone(&resource.arn),
            resource_type: Arc::clone(&resource.resource_type),
            resource_name: Arc::clone(&resource.resource_name),
            lambda_events,
            parameters: params,
            token: token.clone(),
            context,
            phase: TaskPhase::Invoking,
            timeout_timer,
            heartbeat_timer,
            heartbeat_seconds: heartbeat_s,
        };
        // Timers were pushed before the invocation; keeping the invocation first reads better in logs.
        let invoke = self.invoke_command(task_id, &entry);
        let at = self.commands.len()
            - usize::from(timeout_timer.is_some())
            - usize::from(heartbeat_timer.is_some());
        self.commands.insert(at, invoke);
        if let Some(t) = token {
            self.tokens.insert(t, task_id);
        }
        self.tasks.insert(task_id, Box::new(entry));
        self.set_activity(fid, Activity::Task { task_id });
        Ok(Step::Pending)
    }

    fn task_details<const N: usize>(
        &self,
        t: &TaskEntry,
        fields: [(&'static str, Option<DetailValue>); N],
    ) -> Option<Details> {
        let mut all = Details::with_capacity(N + 2);
        if !t.lambda_events {
            all.push("resourceType", json(Value::from(Arc::clone(&t.resource_type))));
            all.push("resource", json(Value::from(Arc::clone(&t.resource_name))));
        }
        for (k, v) in fields {
            all.push(k, v);
        }
        Some(all)
    }

    fn on_task_returned(&mut self, machine: &StateMachine, task_id: TaskId, output: Value) {
        let Some(t) = self.tasks.get(&task_id) else { return };
        if t.phase == TaskPhase::Invoking && t.token.is_some() {
            let d = task_output_details(t, &output);
            let fid = t.frame;
            self.emit(Some(fid), EventType::TaskSubmitted, d);
            if let Some(t) = self.tasks.get_mut(&task_id) {
                t.phase = TaskPhase::AwaitingCallback;
            }
            // The heartbeat clock of a callback task starts when the invocation has returned.
            self.restart_heartbeat(task_id);
            return;
        }
        if t.phase == TaskPhase::AwaitingCallback {
            return;
        }
        self.complete_task(machine, task_id, output);
    }

    fn restart_heartbeat(&mut self, task_id: TaskId) {
        let Some(t) = self.tasks.get(&task_id) else { return };
        let (Some(secs), fid, old) = (t.heartbeat_seconds, t.frame, t.heartbeat_timer) else {
            return;
        };
        if let Some(old) = old {
            self.timers.remove(&old);
        }
        let timer = self.start_timer(fid, TimerKind::Heartbeat(task_id), after_seconds(self.now, secs));
        if let Some(t) = self.tasks.get_mut(&task_id) {
            t.heartbeat_timer = Some(timer);
        }
    }

    fn complete_task(&mut self, machine: &StateMachine, task_id: TaskId, output: Value) {
        let Some(t) = self.remove_task(task_id) else {
            return;
        };
        let fid = t.frame;
        let Some(state) = self.state_of(machine, fid) else {
            return;
        };
        let size = output.json_len();
        let ty = if t.lambda_events {
            EventType::LambdaFunctionSucceeded
        } else {
            EventType::TaskSucceeded
        };
        let d = task_output_details(&t, &output);
        self.emit(Some(fid), ty, d);
        // The rest of the entry goes now: its parameters may hold the state's input, which is then
        // written in place rather than copied (see `finish_output`).
        let TaskEntry { token, .. } = t;
        if size > MAX_PAYLOAD_BYTES {
            let err = StatesError::new(
                STATES_DATA_LIMIT_EXCEEDED,
                format!(
                    "The state/task '{}' returned a result with a size exceeding the maximum number of bytes service limit.",
                    state.name
                ),
            );
            return self.handle_error(machine, fid, state, err);
        }
        let StateKind::Task {
            result_selector,
            result_path,
            ..
        } = &state.kind
        else {
            return;
        };
        let input = self.frames.get(&fid).map(|f| f.input.clone()).unwrap_or_default();
        let ctx = self.context_object(state, fid, token.as_deref(), None);
        let res = if state.jsonata {
            self.jsonata_output(fid, state, &input, &ctx, &[("result", &output)])
                .map(|out| Step::Done(out, None))
        } else {
            self.finish_output(fid, state, input, output, result_selector, result_path, &ctx)
        };
        let step = match res {
            Ok(step) => step,
            Err(e) => Step::Fail(self.runtime_context(fid, state, e)),
        };
        self.finish_step(machine, fid, state, step);
    }

    fn on_task_failed(&mut self, machine: &StateMachine, task_id: TaskId, err: StatesError) {
        let Some(t) = self.remove_task(task_id) else {
            return;
        };
        let ty = if t.lambda_events {
            EventType::LambdaFunctionFailed
        } else {
            EventType::TaskFailed
        };
        let d = self.task_details(
            &t,
            [
                ("error", json(Value::from(err.error.clone()))),
                ("cause", err.cause.clone().map(Value::from).map(DetailValue::Json)),
            ],
        );
        self.emit(Some(t.frame), ty, d);
        let Some(state) = self.state_of(machine, t.frame) else {
            return;
        };
        self.handle_error(machine, t.frame, state, err);
    }

    fn on_timer(&mut self, machine: &StateMachine, timer_id: TimerId) {
        let Some(timer) = self.timers.remove(&timer_id) else {
            return;
        };
        let fid = timer.frame;
        match timer.kind {
            TimerKind::ExecutionTimeout => {
                self.abort_frame_contents(ROOT);
                let cause = "The execution exceeded its TimeoutSeconds.".to_owned();
                self.emit(
                    Some(ROOT),
                    EventType::ExecutionTimedOut,
                    details([
                        ("error", json(Value::String(STATES_TIMEOUT.into()))),
                        ("cause", json(Value::from(cause.clone()))),
                    ]),
                );
                self.status = ExecutionStatus::TimedOut {
                    error: Some(STATES_TIMEOUT.into()),
                    cause: Some(cause),
                };
                self.clear_all();
            }
            TimerKind::Wait => {
                let Some(state) = self.state_of(machine, fid) else {
                    return;
                };
                let output = match self
                    .frames
                    .get_mut(&fid)
                    .map(|f| std::mem::replace(&mut f.activity, Activity::Idle))
                {
                    Some(Activity::Wait { output, .. }) => output,
                    _ => return,
                };
                self.finish_step(machine, fid, state, Step::Done(output, None));
            }
            TimerKind::Backoff => {
                let Some(state) = self.state_of(machine, fid) else {
                    return;
                };
                self.set_activity(fid, Activity::Idle);
                self.run_state(machine, fid, state);
            }
            TimerKind::TaskTimeout(task_id) | TimerKind::Heartbeat(task_id) => {
                let Some(t) = self.remove_task(task_id) else {
                    return;
                };
                let err = if matches!(timer.kind, TimerKind::Heartbeat(_)) {
                    StatesError::heartbeat_timeout()
                } else {
                    StatesError::new(STATES_TIMEOUT, "The task did not complete within TimeoutSeconds.")
                };
                let ty = if t.lambda_events {
                    EventType::LambdaFunctionTimedOut
                } else {
                    EventType::TaskTimedOut
                };
                let d = self.task_details(
                    &t,
                    [
                        ("error", json(Value::from(err.error.clone()))),
                        ("cause", err.cause.clone().and_then(|c| json(Value::from(c)))),
                    ],
                );
                self.emit(Some(fid), ty, d);
                let Some(state) = self.state_of(machine, fid) else {
                    return;
                };
                self.handle_error(machine, fid, state, err);
            }
        }
    }
}

// ---------------------------------------------------------------------------------------------------
// Helpers

/// A task's result event: Lambda events name no resource.
fn task_output_details(t: &TaskEntry, output: &Value) -> Option<Details> {
    let resource = (!t.lambda_events).then_some((&t.resource_type, &t.resource_name));
    Some(Details::output(resource, output))
}

fn entered_type(state: &State) -> EventType {
    match state.kind {
        StateKind::Pass { .. } => EventType::PassStateEntered,
        StateKind::Task { .. } => EventType::TaskStateEntered,
        StateKind::Choice { .. } => EventType::ChoiceStateEntered,
        StateKind::Wait { .. } => EventType::WaitStateEntered,
        StateKind::Succeed => EventType::SucceedStateEntered,
        StateKind::Fail { .. } => EventType::FailStateEntered,
        StateKind::Parallel { .. } => EventType::ParallelStateEntered,
        StateKind::Map { .. } => EventType::MapStateEntered,
    }
}

fn exited_type(state: &State) -> EventType {
    match state.kind {
        StateKind::Pass { .. } => EventType::PassStateExited,
        StateKind::Task { .. } => EventType::TaskStateExited,
        StateKind::Choice { .. } => EventType::ChoiceStateExited,
        StateKind::Wait { .. } => EventType::WaitStateExited,
        StateKind::Succeed | StateKind::Fail { .. } => EventType::SucceedStateExited,
        StateKind::Parallel { .. } => EventType::ParallelStateExited,
        StateKind::Map { .. } => EventType::MapStateExited,
    }
}

/// `(resourceType, resource, use LambdaFunction* events)` for history events.
/// A Task state's `Resource`, with what its history events say about it, worked out once at load.
#[derive(Debug, Clone)]
pub struct TaskResource {
    pub arn: Arc<str>,
    /// `resourceType` and `resource` of `TaskScheduled` and the other task events.
    pub resource_type: Arc<str>,
    pub resource_name: Arc<str>,
    /// A Lambda function ARN: AWS records `LambdaFunction*` events instead of `Task*` ones.
    pub lambda_events: bool,
}

impl std::ops::Deref for TaskResource {
    type Target = str;

    fn deref(&self) -> &str {
        &self.arn
    }
}

impl TaskResource {
    pub fn describe(resource: &str) -> TaskResource {
        let arn: Arc<str> = Arc::from(resource);
        let (resource_type, resource_name, lambda_events): (Arc<str>, Arc<str>, bool) =
            match resource.strip_prefix("arn:") {
                Some(rest) => {
                    let parts: Vec<&str> = rest.splitn(5, ':').collect();
                    // arn:PARTITION:states:::SERVICE:ACTION[.PATTERN]
                    if parts.len() == 5
                        && parts[1] == "states"
                        && parts[2].is_empty()
                        && parts[3].is_empty()
                        && let Some((service, action)) = parts[4].split_once(':')
                    {
                        (service.into(), action.into(), false)
                    } else if parts.len() == 5 && parts[1] == "lambda" && parts[4].starts_with("function:") {
                        ("lambda".into(), Arc::clone(&arn), true)
                    } else if parts.len() == 5 && parts[1] == "states" && parts[4].starts_with("activity:") {
                        ("activity".into(), Arc::clone(&arn), false)
                    } else {
                        ("unknown".into(), Arc::clone(&arn), false)
                    }
                }
                None => ("unknown".into(), Arc::clone(&arn), false),
            };
        TaskResource {
            arn,
            resource_type,
            resource_name,
            lambda_events,
        }
    }
}

/// The latest time the clock holds. A wait or back-off read from the input may be any length, so
/// adding it saturates here instead of overflowing; the execution's own time-out ends it first.
const LATEST: OffsetDateTime = time::macros::datetime!(9999-12-31 23:59:59 UTC);

/// `now` plus `s` seconds (a back-off, which may be fractional; a negative or NaN delay is none).
fn after_seconds_f64(now: OffsetDateTime, s: f64) -> OffsetDateTime {
    if s.is_nan() || s <= 0.0 {
        return now;
    }
    saturating_after(now, Duration::checked_seconds_f64(s))
}

/// `now` plus whole seconds (a wait or time-out).
fn after_seconds(now: OffsetDateTime, s: u64) -> OffsetDateTime {
    saturating_after(now, i64::try_from(s).ok().map(Duration::seconds))
}

/// `now` plus `d`, or [`LATEST`] when `d` is too long to represent or to add.
fn saturating_after(now: OffsetDateTime, d: Option<Duration>) -> OffsetDateTime {
    d.and_then(|d| now.checked_add(d))
        .map_or(LATEST, |t| t.min(LATEST))
}

/// A JSONPath state whose `InputPath` and `OutputPath` are both `$`: its output is its input, shared.
fn passes_through(state: &State) -> bool {
    !state.jsonata && is_root_path(&state.input_path) && is_root_path(&state.output_path)
}

fn is_root_path(p: &Option<JsonPath>) -> bool {
    p.as_ref().is_some_and(|p| p.is_root() && !p.is_context())
}

/// How much a `ResultPath` can add to a document besides the result itself: at most, one new object
/// per path segment, each with its key. A segment's key is at most its text in the path, and escaping
/// a character takes at most six bytes; `"key":{}` and a comma add five more per segment.
fn result_path_growth(p: &JsonPath) -> usize {
    let text = p.text_len();
    6 * text + 5 * text + 2
}

fn select(path: &JsonPath, input: &Value, ctx: &Value) -> Result<Value, StatesError> {
    let doc = if path.is_context() { ctx } else { input };
    path.select(doc)
        .map_err(|e| StatesError::new(STATES_RUNTIME, e.to_string()))
}

/// InputPath/OutputPath: `None` (JSON null) yields `{}`.
/// `InputPath`/`OutputPath` selection, borrowing the document for the common `$` so no copy is made.
fn select_input<'a>(
    path: &Option<JsonPath>,
    input: &'a Value,
    ctx: &Value,
) -> Result<Cow<'a, Value>, StatesError> {
    match path {
        None => Ok(Cow::Owned(json!({}))),
        Some(p) if p.is_root() && !p.is_context() => Ok(Cow::Borrowed(input)),
        Some(p) => select(p, input, ctx).map(Cow::Owned),
    }
}

/// `OutputPath` over a document the state owns: `$` hands it on without a copy.
fn select_output(path: &Option<JsonPath>, doc: Value, ctx: &Value) -> Result<Value, StatesError> {
    match path {
        Some(p) if p.is_root() && !p.is_context() => Ok(doc),
        _ => select_input(path, &doc, ctx).map(Cow::into_owned),
    }
}

fn apply_result_path(raw_input: &Value, result: Value, rp: &ResultPath) -> Result<Value, StatesError> {
    match rp {
        None => Ok(raw_input.clone()),
        Some(p) if p.is_root() => Ok(result),
        Some(p) => {
            let mut out = raw_input.clone();
            p.set(&mut out, result)
                .map_err(|e| StatesError::new(STATES_RESULT_PATH_MATCH_FAILURE, e.to_string()))?;
            Ok(out)
        }
    }
}

/// Evaluates a JSONata template with `$states` = `{input, context, ...extra}` and the variables that
/// `env` (an environment document from `context_object`) carries.
fn jeval(t: &JTemplate, input: &Value, env: &Value, extra: &[(&str, &Value)]) -> Result<Value, StatesError> {
    let mut states = crate::value::Map::new();
    states.insert("input", input.clone());
    states.insert("context", env.get(ENV_CONTEXT).cloned().unwrap_or(Value::Null));
    for (k, v) in extra {
        states.insert((*k).to_owned(), (*v).clone());
    }
    let states = Value::Object(states);
    let empty = crate::value::Map::new();
    let vars = env
        .get(ENV_VARIABLES)
        .and_then(Value::as_object)
        .unwrap_or(&empty);
    t.eval(&Env {
        states: &states,
        vars,
        seed: None,
    })
}

fn resolve_seconds(s: &Seconds, input: &Value, ctx: &Value) -> Result<Option<u64>, StatesError> {
    match s {
        Seconds::Fixed(n) => Ok(Some(*n)),
        Seconds::Expr(t) => {
            let v = jeval(t, input, ctx, &[])?;
            v.as_u64().map(Some).ok_or_else(|| {
                StatesError::new(
                    crate::jsonata::STATES_QUERY_EVALUATION_ERROR,
                    format!(
                        "The expression '{}' must return a non-negative integer, not {v}",
                        describe(t)
                    ),
                )
            })
        }
        Seconds::Path(p) => {
            let v = select(p, input, ctx)?;
            v.as_u64().map(Some).ok_or_else(|| {
                StatesError::new(
                    STATES_RUNTIME,
                    format!("The value at '{p}' must be a non-negative integer, not {v}"),
                )
            })
        }
    }
}

/// A 96-hex-character random token: unique and unguessable, and easy to pass around in URLs.
fn new_task_token() -> String {
    let bytes: [u8; 48] = {
        let mut b = [0u8; 48];
        rand::rng().fill(&mut b[..]);
        b
    };
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Timestamps in the context object use millisecond precision and a `Z` suffix, like AWS.
pub(crate) fn iso_millis(t: OffsetDateTime) -> String {
    let t = t.to_offset(time::UtcOffset::UTC);
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z",
        t.year(),
        u8::from(t.month()),
        t.day(),
        t.hour(),
        t.minute(),
        t.second(),
        t.millisecond()
    )
}

fn describe(t: &JTemplate) -> String {
    match t {
        JTemplate::Expr(e) => e.text().to_owned(),
        _ => "value".to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::ExecutionContext;

    #[test]
    fn the_next_execution_shares_the_machine_and_derives_its_arn_the_same_way() {
        let t = time::macros::datetime!(2024-01-01 0:00 UTC);
        for machine in [
            "arn:aws:states:eu-west-1:123456789012:stateMachine:Checkout",
            "arn:aws:states:eu-west-1:123456789012:stateMachine:Checkout:v2",
            "not-an-arn",
        ] {
            let first = ExecutionContext::new(machine, "a", t);
            let next = first.next("second-run", t);
            assert_eq!(next, ExecutionContext::new(machine, "second-run", t));
            assert!(std::sync::Arc::ptr_eq(
                &next.state_machine_arn,
                &first.state_machine_arn
            ));
        }
    }

    #[test]
    fn execution_arns_derive_from_the_state_machine_arn() {
        let t = time::OffsetDateTime::UNIX_EPOCH;
        let c = ExecutionContext::new(
            "arn:aws:states:eu-west-1:123456789012:stateMachine:Checkout",
            "run-1",
            t,
        );
        assert_eq!(
            &*c.execution_arn,
            "arn:aws:states:eu-west-1:123456789012:execution:Checkout:run-1"
        );
        assert_eq!(&*c.state_machine_name, "Checkout");
        assert_eq!(c.region(), "eu-west-1");
        let versioned = ExecutionContext::new("arn:aws:states:eu-west-1:1:stateMachine:M:7", "n", t);
        assert_eq!(
            &*versioned.execution_arn,
            "arn:aws:states:eu-west-1:1:execution:M:n"
        );
        let plain = ExecutionContext::new("my-machine", "n", t);
        assert_eq!(&*plain.execution_arn, "my-machine:n");
        assert_eq!(&*plain.state_machine_name, "my-machine");
        let other = ExecutionContext::new("arn:aws:states:r:1:activity:A", "n", t);
        assert_eq!(&*other.execution_arn, "arn:aws:states:r:1:activity:A:n");
    }
}
