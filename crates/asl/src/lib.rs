//! `stepcart-asl`: an Amazon States Language interpreter with AWS Step Functions semantics.
//!
//! * [`StateMachine::from_json`] parses and validates a definition.
//! * [`Execution`] is the sans-IO core: a serialisable snapshot that consumes [`ExternalEvent`]s and
//!   emits [`Command`]s and [`HistoryEvent`]s, so it can be persisted after every transition and
//!   resumed in another process.
//! * [`Runner`] drives executions with tokio, a [`TaskInvoker`] (e.g. [`LambdaRegistry`]) and a
//!   [`Clock`] ([`SystemClock`] or the test-friendly [`VirtualClock`]).
//!
//! The crate knows nothing about any particular application: it is a general ASL engine.

mod choice;
pub mod definition;
pub mod error;
pub mod execution;
mod hash;
pub mod history;
mod id_map;
pub mod intrinsics;
pub(crate) mod jsonata;
pub mod jsonpath;
pub mod lambda;
pub mod locate;
mod payload;
pub mod runner;
pub mod template;
pub mod value;

pub use definition::{DefinitionError, Problem, QueryLanguage, StateMachine};
pub use error::StatesError;
pub use execution::{
    Command, Execution, ExecutionContext, ExecutionStatus, ExternalEvent, MAX_PAYLOAD_BYTES, TaskContext,
    TaskId, TimerId, TokenStatus,
};
pub use history::{DetailValue, Details, EventType, HistoryEvent};
pub use lambda::{FunctionError, LambdaFunction, LambdaRegistry};
pub use runner::{
    CallbackError, Clock, DriveMode, ExecutionSink, MemorySink, NullSink, Runner, RunnerError, SinkError,
    SystemClock, TaskFailure, TaskInvoker, TaskRequest, VirtualClock,
};
pub use template::{TemplateError, render_template};
pub use value::{Map, Value};
