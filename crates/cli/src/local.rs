//! The local runtime: the checkout state machine in stepcart's engine, its tasks in-process as Lambda
//! functions, the embedded SQLite store and the simulated payment provider. No AWS account needed.

use std::collections::{BTreeMap, HashMap};
use std::path::Path;
use std::sync::{Arc, Mutex, OnceLock, Weak};
use std::time::Duration;

use async_trait::async_trait;
use serde_json::Value;
use sha2::{Digest, Sha256};
use stepcart_asl::{
    CallbackError, DriveMode, Execution, ExecutionContext, ExecutionSink, ExternalEvent, FunctionError,
    HistoryEvent, LambdaFunction, LambdaRegistry, Runner, SinkError, StateMachine, SystemClock, TokenStatus,
};
use stepcart_domain::PortError;
use stepcart_domain::catalog::CatalogFile;
use stepcart_domain::ports::TaskCallbacks;
use stepcart_store_sqlite::{
    CreateOutcome, ExecutionRecord, MachineOutcome, SimulatedPayments, StateMachineRecord, Store, StoredEvent,
};
use stepcart_tasks::{Ports, Task};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;
use tokio::sync::{OwnedMutexGuard, oneshot};

use crate::faults::{FaultKind, FaultPlan, PERMANENT_FAULT};
use crate::output::Progress;

/// The one checkout definition, compiled in from the file Terraform also deploys.
pub const CHECKOUT_DEFINITION: &str = include_str!("../../../workflows/checkout.asl.json");
/// The demo catalog a new store is seeded with.
pub const DEMO_CATALOG: &str = include_str!("../../../examples/catalog.json");

pub const REGION: &str = "us-east-1";
pub const ACCOUNT: &str = "000000000000";
pub const CHECKOUT_MACHINE_NAME: &str = "stepcart-local-checkout";

pub fn function_arn(task: Task) -> String {
    format!(
        "arn:aws:lambda:{REGION}:{ACCOUNT}:function:stepcart-local-{}",
        task.function_name()
    )
}

pub fn state_machine_arn(name: &str) -> String {
    format!("arn:aws:states:{REGION}:{ACCOUNT}:stateMachine:{name}")
}

pub fn execution_arn(machine_name: &str, execution_name: &str) -> String {
    format!("arn:aws:states:{REGION}:{ACCOUNT}:execution:{machine_name}:{execution_name}")
}

/// The checkout definition with its placeholders filled with the local function ARNs.
pub fn checkout_definition() -> Result<String, LocalError> {
    let vars: BTreeMap<String, String> = Task::ALL
        .iter()
        .map(|t| (t.arn_placeholder(), function_arn(*t)))
        .collect();
    stepcart_asl::render_template(CHECKOUT_DEFINITION, &vars)
        .map_err(|e| LocalError::Definition(format!("workflows/checkout.asl.json: {e}")))
}

/// A definition's id: its content hash, so that equal texts share one stored copy.
pub fn definition_id(text: &str) -> String {
    hex::encode(Sha256::digest(text.as_bytes()))
}

/// The role recorded for state machines created without one (the local engine assumes no role).
pub const LOCAL_ROLE_ARN: &str = "arn:aws:iam::000000000000:role/stepcart-local";

#[derive(Debug, thiserror::Error)]
pub enum LocalError {
    #[error("the store at {path}: {message}")]
    Store { path: String, message: String },
    #[error("{0}")]
    Definition(String),
    #[error("{0}")]
    Engine(String),
    #[error("{0}")]
    NotFound(String),
    /// A task token no execution waits on (`InvalidToken`), or one whose task is over (`TaskTimedOut`).
    #[error("{message}")]
    Token { closed: bool, message: String },
}

pub struct Local {
    inner: Arc<Inner>,
}

/// Where the checkout's domain data (catalog, stock, reservations, orders, notifications, 3-D Secure
/// waits) lives. Executions are always kept in the embedded store, which is the local engine's own.
pub enum Backend {
    Embedded,
    #[cfg(feature = "aws")]
    Aws(Box<crate::aws::AwsDomain>),
}

/// How executions are driven once started or resumed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Driving {
    /// In the caller's task, until only task-token callbacks are outstanding (the CLI: a later command
    /// resumes the execution from the store).
    Inline,
    /// Each execution in its own tokio task until it ends, timers and callbacks included (the server).
    Spawned,
}

struct Inner {
    db: String,
    store: Store,
    payments: SimulatedPayments,
    checkout: Arc<StateMachine>,
    checkout_definition_id: String,
    runner: Runner,
    ports: Ports,
    sink: Arc<StoreSink>,
    driving: Driving,
    /// Parsed definitions by id.
    machines: Mutex<HashMap<String, Arc<StateMachine>>>,
    /// One lock per execution: whoever drives an execution holds it, so two never do at once.
    locks: Mutex<HashMap<String, Arc<tokio::sync::Mutex<()>>>>,
    /// The tasks driving executions (`Driving::Spawned`), for StopExecution.
    drivers: Mutex<HashMap<String, tokio::task::AbortHandle>>,
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

impl Local {
    /// Opens (creating if needed) the store at `db` and wires the engine to it.
    pub async fn open(db: &Path) -> Result<Local, LocalError> {
        Local::open_with(db, Backend::Embedded).await
    }

    /// Like [`Local::open`], with the domain data where `backend` says.
    pub async fn open_with(db: &Path, backend: Backend) -> Result<Local, LocalError> {
        Local::open_driving(db, backend, Driving::Inline).await
    }

    /// Like [`Local::open_with`], driving executions as `driving` says.
    pub async fn open_driving(db: &Path, backend: Backend, driving: Driving) -> Result<Local, LocalError> {
        let store_error = |message: String| LocalError::Store {
            path: db.display().to_string(),
            message,
        };
        let store = Store::open(db).map_err(|e| store_error(e.to_string()))?;
        let payments = SimulatedPayments::new(&store);
        let checkout_text = checkout_definition()?;
        let checkout = Arc::new(
            StateMachine::from_json(&checkout_text)
                .map_err(|e| LocalError::Definition(format!("workflows/checkout.asl.json: {e}")))?,
        );
        let checkout_definition_id = definition_id(&checkout_text);
        register_checkout(&store, &checkout_text, &checkout_definition_id)
            .await
            .map_err(|e| store_error(e.to_string()))?;
        let owner = Arc::new(OnceLock::<Weak<Inner>>::new());
        let callbacks = Arc::new(LocalCallbacks { owner: owner.clone() });
        #[allow(unused_mut)]
        let mut ports = Ports::from_store(store.clone(), payments.clone(), callbacks);
        match backend {
            Backend::Embedded => {}
            #[cfg(feature = "aws")]
            Backend::Aws(domain) => {
                let crate::aws::AwsDomain {
                    store,
                    notifier,
                    payments,
                } = *domain;
                if let Some(payments) = payments {
                    ports.payments = payments;
                }
                ports.catalog = Arc::new(store.clone());
                ports.inventory = Arc::new(store.clone());
                ports.orders = Arc::new(store.clone());
                ports.authentication_waits = Arc::new(store);
                ports.notifier = Arc::new(notifier);
            }
        }
        let faults = FaultPlan::from_env()
            .map_err(LocalError::Definition)?
            .map(Arc::new);
        let mut functions = LambdaRegistry::new();
        for task in Task::ALL {
            functions.register(
                &function_arn(task),
                Arc::new(TaskFunction {
                    task,
                    ports: ports.clone(),
                    faults: faults.clone(),
                }),
            );
        }
        let sink = Arc::new(StoreSink {
            store: store.clone(),
            progress: Progress::default(),
            waiters: Mutex::default(),
        });
        let runner = Runner::new(Arc::new(functions), sink.clone(), Arc::new(SystemClock));
        let inner = Arc::new(Inner {
            db: db.display().to_string(),
            store,
            payments,
            machines: Mutex::new(HashMap::from([(
                checkout_definition_id.clone(),
                checkout.clone(),
            )])),
            checkout,
            checkout_definition_id,
            runner,
            ports,
            sink,
            driving,
            locks: Mutex::default(),
            drivers: Mutex::default(),
        });
        // The callbacks need the runtime they belong to; set once, right after it exists.
        let _ = owner.set(Arc::downgrade(&inner));
        Ok(Local { inner })
    }

    pub fn store(&self) -> &Store {
        &self.inner.store
    }

    pub fn payments(&self) -> &SimulatedPayments {
        &self.inner.payments
    }

    pub fn ports(&self) -> &Ports {
        &self.inner.ports
    }

    pub fn checkout_machine_arn(&self) -> String {
        state_machine_arn(CHECKOUT_MACHINE_NAME)
    }

    /// Prints each state as it is entered and left on stderr.
    pub fn show_progress(&self, on: bool) {
        self.inner.sink.progress.enable(on);
    }

    /// Seeds the demo catalog into a store that has none yet.
    pub async fn ensure_seeded(&self) -> Result<bool, LocalError> {
        let seeded = self.store().is_seeded().await.map_err(|e| self.store_error(e))?;
        if seeded {
            return Ok(false);
        }
        let catalog: CatalogFile = serde_json::from_str(DEMO_CATALOG)
            .map_err(|e| LocalError::Definition(format!("examples/catalog.json: {e}")))?;
        let (products, discounts) = catalog
            .into_domain()
            .map_err(|e| LocalError::Definition(format!("examples/catalog.json: {e}")))?;
        self.store()
            .seed(&products, &discounts)
            .await
            .map_err(|e| self.store_error(e))?;
        Ok(true)
    }

    /// Starts a checkout named `name`, or returns the existing execution of that name (the name is the
    /// idempotency key). Drives it until it ends or waits for a callback, unless `wait` is false.
    pub async fn start_checkout(&self, name: &str, input: Value, wait: bool) -> Result<Started, LocalError> {
        let machine = Machine {
            arn: self.checkout_machine_arn(),
            name: CHECKOUT_MACHINE_NAME.to_owned(),
            definition_id: self.inner.checkout_definition_id.clone(),
            parsed: self.inner.checkout.clone(),
        };
        self.start_execution(&machine, name, input, wait).await
    }

    /// Starts an execution of `machine` named `name`, or returns the existing execution of that name.
    /// With `Driving::Inline` and `drive`, drives it until it ends or waits for a callback; with
    /// `Driving::Spawned` it is driven in its own task and this returns at once.
    pub async fn start_execution(
        &self,
        machine: &Machine,
        name: &str,
        input: Value,
        drive: bool,
    ) -> Result<Started, LocalError> {
        let arn = execution_arn(&machine.name, name);
        let now = OffsetDateTime::now_utc();
        let record = ExecutionRecord {
            execution_arn: arn.clone(),
            name: name.to_owned(),
            state_machine_arn: machine.arn.clone(),
            status: "RUNNING".into(),
            input: input.to_string(),
            output: None,
            error: None,
            cause: None,
            start_date: rfc3339(now),
            stop_date: None,
        };
        let context = ExecutionContext {
            execution_arn: arn.clone().into(),
            name: name.to_owned().into(),
            state_machine_arn: machine.arn.clone().into(),
            state_machine_name: machine.name.clone().into(),
            role_arn: None,
            start_time: now,
            redrive_count: 0,
        };
        let (mut execution, _commands) = Execution::start(&machine.parsed, context, input.into(), now);
        // The row is created first so that a second start with the same name finds it (idempotency);
        // the snapshot recorded right after carries the commands a later `resume` would re-issue.
        match self
            .store()
            .create_execution_on(&record, "null", &machine.definition_id)
            .await
            .map_err(|e| self.store_error(e))?
        {
            CreateOutcome::Existing(existing) => return Ok(Started::Existing(existing)),
            CreateOutcome::Created => {}
        }
        let guard = self.inner.lock_for(&arn).lock_owned().await;
        let events = execution.take_new_events();
        self.inner
            .sink
            .record(&execution, &events)
            .await
            .map_err(|e| LocalError::Engine(e.to_string()))?;
        if drive || self.inner.driving == Driving::Spawned {
            self.inner
                .drive(guard, machine.parsed.clone(), execution, None)
                .await?;
        }
        Ok(Started::New(self.execution(&arn).await?))
    }

    /// Resolves once `arn` has ended or waits only for task-token callbacks, or after `timeout`.
    /// Register before starting the execution, so that no moment is missed.
    pub fn settled(&self, arn: &str) -> oneshot::Receiver<()> {
        let (tx, rx) = oneshot::channel();
        lock(&self.inner.sink.waiters)
            .entry(arn.to_owned())
            .or_default()
            .push(tx);
        rx
    }

    /// Stops a running execution (StopExecution): its driver is cancelled and the execution ends
    /// ABORTED with `error` and `cause`. An execution that has ended already is returned unchanged.
    pub async fn stop_execution(
        &self,
        arn: &str,
        error: Option<String>,
        cause: Option<String>,
    ) -> Result<ExecutionRecord, LocalError> {
        if let Some(driver) = lock(&self.inner.drivers).remove(arn) {
            driver.abort();
        }
        let _guard = self.inner.lock_for(arn).lock_owned().await;
        let mut execution = self.load(arn).await?;
        if execution.status().is_running() {
            execution.stop(error, cause, self.inner.runner.clock().now());
            let events = execution.take_new_events();
            self.inner
                .sink
                .record(&execution, &events)
                .await
                .map_err(|e| LocalError::Engine(e.to_string()))?;
        }
        self.execution(arn).await
    }

    /// Delivers SendTaskSuccess / SendTaskFailure / SendTaskHeartbeat to the execution waiting on the
    /// token.
    pub async fn send_task_event(&self, token: &str, event: ExternalEvent) -> Result<(), LocalError> {
        self.inner.deliver(token, event).await
    }

    /// A parsed definition by id, cached.
    pub async fn machine_by_definition(&self, definition_id: &str) -> Result<Arc<StateMachine>, LocalError> {
        self.inner.machine_by_definition(definition_id).await
    }

    /// Caches a definition parsed by the caller under its id.
    pub fn remember_definition(&self, definition_id: &str, machine: Arc<StateMachine>) {
        lock(&self.inner.machines).insert(definition_id.to_owned(), machine);
    }

    /// Drives every execution left RUNNING with work it can do now.
    pub async fn resume_all(&self) -> Result<Vec<ExecutionRecord>, LocalError> {
        let arns = self
            .store()
            .running_executions()
            .await
            .map_err(|e| self.store_error(e))?;
        let mut resumed = Vec::new();
        for arn in arns {
            let Ok(guard) = self.inner.lock_for(&arn).try_lock_owned() else {
                continue; // driven already
            };
            let execution = self.load(&arn).await?;
            let (_, machine) = self.inner.machine_of_execution(&arn).await?;
            self.inner.drive(guard, machine, execution, None).await?;
            resumed.push(self.execution(&arn).await?);
        }
        Ok(resumed)
    }

    pub async fn execution(&self, arn: &str) -> Result<ExecutionRecord, LocalError> {
        self.store()
            .execution(arn)
            .await
            .map_err(|e| self.store_error(e))?
            .ok_or_else(|| LocalError::NotFound(format!("no execution {arn}")))
    }

    pub async fn execution_for_token(&self, token: &str) -> Result<Option<String>, LocalError> {
        self.store()
            .execution_for_task_token(token)
            .await
            .map_err(|e| self.store_error(e))
    }

    async fn load(&self, arn: &str) -> Result<Execution, LocalError> {
        self.inner.load(arn).await
    }

    fn store_error(&self, error: impl std::fmt::Display) -> LocalError {
        LocalError::Store {
            path: self.inner.db.clone(),
            message: error.to_string(),
        }
    }
}

impl Inner {
    fn lock_for(&self, arn: &str) -> Arc<tokio::sync::Mutex<()>> {
        lock(&self.locks).entry(arn.to_owned()).or_default().clone()
    }

    fn store_error(&self, error: impl std::fmt::Display) -> LocalError {
        LocalError::Store {
            path: self.db.clone(),
            message: error.to_string(),
        }
    }

    async fn load(&self, arn: &str) -> Result<Execution, LocalError> {
        let snapshot = self
            .store
            .snapshot(arn)
            .await
            .map_err(|e| self.store_error(e))?
            .ok_or_else(|| LocalError::NotFound(format!("no execution {arn}")))?;
        serde_json::from_str(&snapshot)
            .map_err(|e| LocalError::Engine(format!("the saved state of {arn} cannot be read: {e}")))
    }

    async fn machine_by_definition(&self, definition_id: &str) -> Result<Arc<StateMachine>, LocalError> {
        if let Some(machine) = lock(&self.machines).get(definition_id) {
            return Ok(machine.clone());
        }
        let text = self
            .store
            .definition(definition_id)
            .await
            .map_err(|e| self.store_error(e))?
            .ok_or_else(|| LocalError::NotFound(format!("no stored definition {definition_id}")))?;
        let machine = Arc::new(
            StateMachine::from_json(&text)
                .map_err(|e| LocalError::Definition(format!("stored definition {definition_id}: {e}")))?,
        );
        lock(&self.machines).insert(definition_id.to_owned(), machine.clone());
        Ok(machine)
    }

    /// The definition id and parsed definition an execution runs on (the checkout's, for executions
    /// recorded before definitions were stored).
    async fn machine_of_execution(&self, arn: &str) -> Result<(String, Arc<StateMachine>), LocalError> {
        match self
            .store
            .execution_definition_id(arn)
            .await
            .map_err(|e| self.store_error(e))?
        {
            Some(id) => {
                let machine = self.machine_by_definition(&id).await?;
                Ok((id, machine))
            }
            None => Ok((self.checkout_definition_id.clone(), self.checkout.clone())),
        }
    }

    /// Drives `execution` (after applying `event`) while `guard`, its lock, is held: inline until
    /// idle, or in a task of its own until it ends.
    async fn drive(
        self: &Arc<Self>,
        guard: OwnedMutexGuard<()>,
        machine: Arc<StateMachine>,
        execution: Execution,
        event: Option<ExternalEvent>,
    ) -> Result<(), LocalError> {
        match self.driving {
            Driving::Inline => {
                let result = self
                    .runner
                    .resume(machine, execution, event, DriveMode::UntilIdle)
                    .await;
                drop(guard);
                result.map(drop).map_err(|e| LocalError::Engine(e.to_string()))
            }
            Driving::Spawned => {
                let arn = execution.context().execution_arn.clone();
                let inner = self.clone();
                // Held while spawning, so the task's own removal cannot come before this insert.
                let mut drivers = lock(&self.drivers);
                let key = arn.clone();
                let task = tokio::spawn(async move {
                    let result = inner
                        .runner
                        .resume(machine, execution, event, DriveMode::UntilComplete)
                        .await;
                    if let Err(error) = result {
                        // The execution stays RUNNING in the store; a restart resumes it.
                        tracing::error!(execution = %key, %error, "execution driver stopped");
                    }
                    lock(&inner.drivers).remove(&*key);
                    lock(&inner.locks).remove(&*key);
                    drop(guard);
                });
                drivers.insert(arn.to_string(), task.abort_handle());
                Ok(())
            }
        }
    }

    /// Returns once the execution has committed the transition that consumed `token`, so that whoever
    /// delivered the outcome (a webhook answering 200) can rely on it surviving a crash.
    async fn until_recorded(&self, token: &str, event: &ExternalEvent) -> Result<(), LocalError> {
        if matches!(event, ExternalEvent::TaskTokenHeartbeat { .. }) {
            return Ok(());
        }
        for _ in 0..2500 {
            let waiting = self
                .store
                .execution_for_task_token(token)
                .await
                .map_err(|e| self.store_error(e))?;
            if waiting.is_none() {
                return Ok(());
            }
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
        Err(LocalError::Engine(
            "the outcome was handed to the execution but not recorded within 5 s".into(),
        ))
    }

    /// Delivers a task-token outcome: to the live execution if one is being driven, otherwise by
    /// loading it from the store and driving it with the outcome applied.
    async fn deliver(self: &Arc<Self>, token: &str, event: ExternalEvent) -> Result<(), LocalError> {
        // A driver between two transitions does not listen for a moment; a few retries cover that.
        for _ in 0..500 {
            let live = match &event {
                ExternalEvent::TaskTokenSucceeded { output, .. } => {
                    self.runner.send_task_success(token, output.clone())
                }
                ExternalEvent::TaskTokenFailed { error, cause, .. } => {
                    self.runner.send_task_failure(token, error.clone(), cause.clone())
                }
                ExternalEvent::TaskTokenHeartbeat { .. } => self.runner.send_task_heartbeat(token),
                _ => {
                    return Err(LocalError::Engine(
                        "only task-token outcomes can be delivered".into(),
                    ));
                }
            };
            match live {
                Ok(()) => return self.until_recorded(token, &event).await,
                Err(CallbackError::UnknownToken) => {}
            }
            let Some(arn) = self
                .store
                .execution_for_task_token(token)
                .await
                .map_err(|e| self.store_error(e))?
            else {
                let closed = self
                    .store
                    .execution_for_closed_task_token(token)
                    .await
                    .map_err(|e| self.store_error(e))?;
                return Err(token_error(closed.is_some()));
            };
            let Ok(guard) = self.lock_for(&arn).try_lock_owned() else {
                tokio::time::sleep(Duration::from_millis(4)).await;
                continue;
            };
            let execution = self.load(&arn).await?;
            match execution.token_status(token) {
                TokenStatus::Waiting => {}
                TokenStatus::Closed => return Err(token_error(true)),
                TokenStatus::Unknown => return Err(token_error(false)),
            }
            let (_, machine) = self.machine_of_execution(&arn).await?;
            return self.drive(guard, machine, execution, Some(event)).await;
        }
        Err(LocalError::Engine(
            "the execution waiting on this task token is busy; try again".into(),
        ))
    }
}

/// A state machine as executions start on it: its ARN, name and current definition.
#[derive(Clone)]
pub struct Machine {
    pub arn: String,
    pub name: String,
    pub definition_id: String,
    pub parsed: Arc<StateMachine>,
}

/// Records the built-in checkout state machine, or points it at this build's definition.
async fn register_checkout(
    store: &Store,
    text: &str,
    definition_id: &str,
) -> Result<(), stepcart_store_sqlite::StoreError> {
    let now = rfc3339(OffsetDateTime::now_utc());
    let record = StateMachineRecord {
        state_machine_arn: state_machine_arn(CHECKOUT_MACHINE_NAME),
        name: CHECKOUT_MACHINE_NAME.to_owned(),
        machine_type: "STANDARD".to_owned(),
        role_arn: LOCAL_ROLE_ARN.to_owned(),
        definition_id: definition_id.to_owned(),
        definition: text.to_owned(),
        creation_date: now.clone(),
        update_date: None,
    };
    if let MachineOutcome::Existing(existing) = store.create_state_machine(&record).await?
        && existing.definition_id != definition_id
    {
        store
            .update_state_machine(
                &existing.state_machine_arn,
                Some((definition_id, text)),
                None,
                &now,
            )
            .await?;
    }
    Ok(())
}

fn token_error(closed: bool) -> LocalError {
    let message = if closed {
        "Task Timed Out: the task of this token is over"
    } else {
        "Invalid Token: no execution waits on this task token"
    };
    LocalError::Token {
        closed,
        message: message.to_owned(),
    }
}

pub enum Started {
    New(ExecutionRecord),
    Existing(ExecutionRecord),
}

/// A task served in-process with Lambda semantics: errors carry the ASL error name as `errorType`.
struct TaskFunction {
    task: Task,
    ports: Ports,
    faults: Option<Arc<FaultPlan>>,
}

fn injected(error_type: &str, message: &str) -> FunctionError {
    FunctionError {
        error_type: error_type.to_owned(),
        error_message: message.to_owned(),
    }
}

#[async_trait]
impl LambdaFunction for TaskFunction {
    async fn invoke(&self, payload: stepcart_asl::Value) -> Result<stepcart_asl::Value, FunctionError> {
        let faults = self
            .faults
            .as_ref()
            .map(|plan| plan.pick(self.task))
            .unwrap_or_default();
        let mut after_effect = None;
        for fault in faults {
            match fault.kind {
                FaultKind::Delay => tokio::time::sleep(fault.delay).await,
                FaultKind::Transient => {
                    return Err(injected("Lambda.ServiceException", "injected fault: transient"));
                }
                FaultKind::Permanent => return Err(injected(PERMANENT_FAULT, "injected fault: permanent")),
                FaultKind::Timeout => {
                    after_effect = Some(injected(
                        "States.Timeout",
                        "injected fault: the answer came too late",
                    ));
                }
                FaultKind::AfterEffect => {
                    after_effect = Some(injected(
                        "Lambda.ServiceException",
                        "injected fault: the answer was lost after the task's effect",
                    ));
                }
            }
        }
        let result = self
            .task
            .handle(&self.ports, payload.into())
            .await
            .map(stepcart_asl::Value::from)
            .map_err(|error| FunctionError {
                error_type: error.name().to_owned(),
                error_message: error.message().to_owned(),
            });
        match after_effect {
            Some(lost) => Err(lost),
            None => result,
        }
    }
}

/// `SendTaskSuccess` / `SendTaskFailure` for the local engine.
struct LocalCallbacks {
    owner: Arc<OnceLock<Weak<Inner>>>,
}

impl LocalCallbacks {
    fn inner(&self) -> Result<Arc<Inner>, PortError> {
        self.owner
            .get()
            .and_then(Weak::upgrade)
            .ok_or_else(|| PortError::Failed("the local runtime is shutting down".into()))
    }
}

#[async_trait]
impl TaskCallbacks for LocalCallbacks {
    async fn succeed(&self, task_token: &str, output: Value) -> Result<(), PortError> {
        let event = ExternalEvent::TaskTokenSucceeded {
            token: task_token.to_owned(),
            output: output.into(),
        };
        self.inner()?
            .deliver(task_token, event)
            .await
            .map_err(callback_error)
    }

    async fn fail(&self, task_token: &str, error: &str, cause: &str) -> Result<(), PortError> {
        let event = ExternalEvent::TaskTokenFailed {
            token: task_token.to_owned(),
            error: error.to_owned(),
            cause: Some(cause.to_owned()),
        };
        self.inner()?
            .deliver(task_token, event)
            .await
            .map_err(callback_error)
    }
}

fn callback_error(error: LocalError) -> PortError {
    match error {
        LocalError::Token { message, .. } => PortError::Closed(message),
        other => PortError::Failed(other.to_string()),
    }
}

/// Persists every transition (snapshot, new history events, waiting tokens) in one store transaction,
/// before the engine acts on it, and shows progress.
struct StoreSink {
    store: Store,
    progress: Progress,
    /// Who waits for an execution to settle (end, or wait only for callbacks): see [`Local::settled`].
    waiters: Mutex<HashMap<String, Vec<oneshot::Sender<()>>>>,
}

#[async_trait]
impl ExecutionSink for StoreSink {
    async fn record(&self, execution: &Execution, new_events: &[HistoryEvent]) -> Result<(), SinkError> {
        let events: Vec<stepcart_asl::Value> = new_events.iter().map(HistoryEvent::to_aws_json).collect();
        let stored: Vec<StoredEvent> = new_events
            .iter()
            .zip(&events)
            .map(|(event, json)| StoredEvent {
                id: i64::try_from(event.id).unwrap_or(i64::MAX),
                json: json.to_string(),
            })
            .collect();
        let snapshot = serde_json::to_string(execution).map_err(|e| SinkError::new(e.to_string()))?;
        let record = crate::output::record_of(execution);
        self.store
            .save_execution(&record, &snapshot, &stored, &execution.waiting_task_tokens())
            .await
            .map_err(|e| SinkError::new(e.to_string()))?;
        self.progress.show(&events);
        let settled = !execution.status().is_running() || execution.is_idle_at(OffsetDateTime::now_utc());
        if settled {
            let waiting = lock(&self.waiters).remove(&record.execution_arn);
            for waiter in waiting.into_iter().flatten() {
                let _ = waiter.send(());
            }
        }
        Ok(())
    }
}

pub fn rfc3339(at: OffsetDateTime) -> String {
    at.format(&Rfc3339)
        .unwrap_or_else(|_| at.unix_timestamp().to_string())
}
