//! The local runtime: the checkout state machine in stepcart's engine, its tasks in-process as Lambda
//! functions, the embedded SQLite store and the simulated payment provider. No AWS account needed.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::{Arc, OnceLock, Weak};

use async_trait::async_trait;
use serde_json::Value;
use stepcart_asl::{
    DriveMode, Execution, ExecutionContext, ExecutionSink, ExternalEvent, FunctionError, HistoryEvent,
    LambdaFunction, LambdaRegistry, Runner, SinkError, StateMachine, SystemClock,
};
use stepcart_domain::PortError;
use stepcart_domain::catalog::CatalogFile;
use stepcart_domain::ports::TaskCallbacks;
use stepcart_store_sqlite::{CreateOutcome, ExecutionRecord, SimulatedPayments, Store, StoredEvent};
use stepcart_tasks::{Ports, Task};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

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
pub fn checkout_state_machine() -> Result<StateMachine, LocalError> {
    let vars: BTreeMap<String, String> = Task::ALL
        .iter()
        .map(|t| (t.arn_placeholder(), function_arn(*t)))
        .collect();
    let text = stepcart_asl::render_template(CHECKOUT_DEFINITION, &vars)
        .map_err(|e| LocalError::Definition(format!("workflows/checkout.asl.json: {e}")))?;
    StateMachine::from_json(&text)
        .map_err(|e| LocalError::Definition(format!("workflows/checkout.asl.json: {e}")))
}

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

struct Inner {
    db: String,
    store: Store,
    payments: SimulatedPayments,
    checkout: Arc<StateMachine>,
    runner: Runner,
    ports: Ports,
    sink: Arc<StoreSink>,
}

impl Local {
    /// Opens (creating if needed) the store at `db` and wires the engine to it.
    pub async fn open(db: &Path) -> Result<Local, LocalError> {
        Local::open_with(db, Backend::Embedded).await
    }

    /// Like [`Local::open`], with the domain data where `backend` says.
    pub async fn open_with(db: &Path, backend: Backend) -> Result<Local, LocalError> {
        let store_error = |message: String| LocalError::Store {
            path: db.display().to_string(),
            message,
        };
        let store = Store::open(db).map_err(|e| store_error(e.to_string()))?;
        let payments = SimulatedPayments::new(&store);
        let checkout = Arc::new(checkout_state_machine()?);
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
        let mut functions = LambdaRegistry::new();
        for task in Task::ALL {
            functions.register(
                &function_arn(task),
                Arc::new(TaskFunction {
                    task,
                    ports: ports.clone(),
                }),
            );
        }
        let sink = Arc::new(StoreSink {
            store: store.clone(),
            progress: Progress::default(),
        });
        let runner = Runner::new(Arc::new(functions), sink.clone(), Arc::new(SystemClock));
        let inner = Arc::new(Inner {
            db: db.display().to_string(),
            store,
            payments,
            checkout,
            runner,
            ports,
            sink,
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
        let machine_arn = self.checkout_machine_arn();
        let arn = execution_arn(CHECKOUT_MACHINE_NAME, name);
        let now = OffsetDateTime::now_utc();
        let record = ExecutionRecord {
            execution_arn: arn.clone(),
            name: name.to_owned(),
            state_machine_arn: machine_arn.clone(),
            status: "RUNNING".into(),
            input: input.to_string(),
            output: None,
            error: None,
            cause: None,
            start_date: rfc3339(now),
            stop_date: None,
        };
        let context = ExecutionContext {
            execution_arn: arn.clone(),
            name: name.to_owned(),
            state_machine_arn: machine_arn,
            state_machine_name: CHECKOUT_MACHINE_NAME.to_owned(),
            role_arn: None,
            start_time: now,
            redrive_count: 0,
        };
        let (mut execution, _commands) = Execution::start(&self.inner.checkout, context, input, now);
        // The row is created first so that a second start with the same name finds it (idempotency);
        // the snapshot recorded right after carries the commands a later `resume` would re-issue.
        match self
            .store()
            .create_execution(&record, "null")
            .await
            .map_err(|e| self.store_error(e))?
        {
            CreateOutcome::Existing(existing) => return Ok(Started::Existing(existing)),
            CreateOutcome::Created => {}
        }
        let events = execution.take_new_events();
        self.inner
            .sink
            .record(&execution, &events)
            .await
            .map_err(|e| LocalError::Engine(e.to_string()))?;
        if wait {
            self.inner
                .runner
                .resume(self.inner.checkout.clone(), execution, None, DriveMode::UntilIdle)
                .await
                .map_err(|e| LocalError::Engine(e.to_string()))?;
        }
        Ok(Started::New(self.execution(&arn).await?))
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
            let execution = self.load(&arn).await?;
            self.inner
                .runner
                .resume(self.inner.checkout.clone(), execution, None, DriveMode::UntilIdle)
                .await
                .map_err(|e| LocalError::Engine(e.to_string()))?;
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
        let snapshot = self
            .store()
            .snapshot(arn)
            .await
            .map_err(|e| self.store_error(e))?
            .ok_or_else(|| LocalError::NotFound(format!("no execution {arn}")))?;
        serde_json::from_str(&snapshot)
            .map_err(|e| LocalError::Engine(format!("the saved state of {arn} cannot be read: {e}")))
    }

    fn store_error(&self, error: impl std::fmt::Display) -> LocalError {
        LocalError::Store {
            path: self.inner.db.clone(),
            message: error.to_string(),
        }
    }
}

impl Inner {
    /// Delivers a task-token outcome: to the live execution if this process is driving it, otherwise by
    /// loading it from the store and driving it until it ends or waits again.
    async fn deliver(&self, token: &str, event: ExternalEvent) -> Result<(), PortError> {
        let live = match &event {
            ExternalEvent::TaskTokenSucceeded { output, .. } => {
                self.runner.send_task_success(token, output.clone())
            }
            ExternalEvent::TaskTokenFailed { error, cause, .. } => {
                self.runner.send_task_failure(token, error.clone(), cause.clone())
            }
            _ => {
                return Err(PortError::Failed(
                    "only task-token outcomes can be delivered".into(),
                ));
            }
        };
        if live.is_ok() {
            return Ok(());
        }
        let arn = self
            .store
            .execution_for_task_token(token)
            .await
            .map_err(|e| PortError::Failed(e.to_string()))?
            .ok_or_else(|| PortError::Failed("no execution waits for this task token".into()))?;
        let snapshot = self
            .store
            .snapshot(&arn)
            .await
            .map_err(|e| PortError::Failed(e.to_string()))?
            .ok_or_else(|| PortError::Failed(format!("no saved state for {arn}")))?;
        let execution: Execution = serde_json::from_str(&snapshot)
            .map_err(|e| PortError::Failed(format!("saved state of {arn}: {e}")))?;
        self.runner
            .resume(
                self.checkout.clone(),
                execution,
                Some(event),
                DriveMode::UntilIdle,
            )
            .await
            .map_err(|e| PortError::Failed(e.to_string()))?;
        Ok(())
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
}

#[async_trait]
impl LambdaFunction for TaskFunction {
    async fn invoke(&self, payload: Value) -> Result<Value, FunctionError> {
        self.task
            .handle(&self.ports, payload)
            .await
            .map_err(|error| FunctionError {
                error_type: error.name().to_owned(),
                error_message: error.message().to_owned(),
            })
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
            output,
        };
        self.inner()?.deliver(task_token, event).await
    }

    async fn fail(&self, task_token: &str, error: &str, cause: &str) -> Result<(), PortError> {
        let event = ExternalEvent::TaskTokenFailed {
            token: task_token.to_owned(),
            error: error.to_owned(),
            cause: Some(cause.to_owned()),
        };
        self.inner()?.deliver(task_token, event).await
    }
}

/// Persists every transition (snapshot, new history events, waiting tokens) in one store transaction,
/// before the engine acts on it, and shows progress.
struct StoreSink {
    store: Store,
    progress: Progress,
}

#[async_trait]
impl ExecutionSink for StoreSink {
    async fn record(&self, execution: &Execution, new_events: &[HistoryEvent]) -> Result<(), SinkError> {
        let events: Vec<Value> = new_events.iter().map(HistoryEvent::to_aws_json).collect();
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
        Ok(())
    }
}

pub fn rfc3339(at: OffsetDateTime) -> String {
    at.format(&Rfc3339)
        .unwrap_or_else(|_| at.unix_timestamp().to_string())
}
