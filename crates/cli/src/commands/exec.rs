use std::path::PathBuf;
use std::sync::Arc;

use async_trait::async_trait;
use clap::Args;
use serde_json::json;
use stepcart_asl::{
    Clock, DriveMode, Execution, ExecutionContext, ExecutionSink, ExecutionStatus, HistoryEvent,
    LambdaRegistry, Runner, SinkError, StateMachine, SystemClock, VirtualClock,
};

use crate::local::{ACCOUNT, REGION};
use crate::{GlobalArgs, Outcome, UsageError};

#[derive(Args)]
pub struct ExecArgs {
    /// An ASL definition (JSON).
    pub definition: PathBuf,
    /// The execution input (JSON file); default `{}`.
    #[arg(long)]
    pub input: Option<PathBuf>,
    /// Let Wait states and retry back-off take no real time.
    #[arg(long)]
    pub virtual_time: bool,
}

/// Runs any definition in the engine, in memory. Task states reach no functions here.
pub async fn run(_global: &GlobalArgs, args: ExecArgs) -> Result<Outcome, UsageError> {
    let text = std::fs::read_to_string(&args.definition)
        .map_err(|e| UsageError::Usage(format!("cannot read {}: {e}", args.definition.display())))?;
    let machine = StateMachine::from_json(&text).map_err(|error| {
        let name = args.definition.display().to_string();
        let problems: Vec<String> = super::validate::located(&name, &text, &error)
            .into_iter()
            .map(|p| p.text)
            .collect();
        UsageError::Usage(format!(
            "{name} is not a valid definition:\n{}",
            problems.join("\n")
        ))
    })?;
    let input = match &args.input {
        Some(path) => super::read_json(path)?,
        None => json!({}),
    };
    let clock: Arc<dyn Clock> = if args.virtual_time {
        Arc::new(VirtualClock::new(time::OffsetDateTime::now_utc()))
    } else {
        Arc::new(SystemClock)
    };
    let runner = Runner::new(
        Arc::new(LambdaRegistry::new()),
        Arc::new(DiscardSink),
        clock.clone(),
    );
    let name = "exec";
    let machine_name = args
        .definition
        .file_stem()
        .and_then(|s| s.to_str())
        .unwrap_or("definition")
        .replace(char::is_whitespace, "-");
    let context = ExecutionContext {
        execution_arn: format!("arn:aws:states:{REGION}:{ACCOUNT}:execution:{machine_name}:{name}").into(),
        name: name.to_owned().into(),
        state_machine_arn: format!("arn:aws:states:{REGION}:{ACCOUNT}:stateMachine:{machine_name}").into(),
        state_machine_name: machine_name.clone().into(),
        role_arn: None,
        start_time: clock.now(),
        redrive_count: 0,
    };
    let execution = runner
        .start(Arc::new(machine), context, input.into(), DriveMode::UntilIdle)
        .await
        .map_err(|e| UsageError::Usage(e.to_string()))?;
    let (result, outcome) = match execution.status() {
        ExecutionStatus::Succeeded { output } => {
            (json!({"status": "SUCCEEDED", "output": output}), Outcome::Success)
        }
        ExecutionStatus::Failed { error, cause } => (
            json!({"status": "FAILED", "error": error, "cause": cause}),
            Outcome::Failed,
        ),
        ExecutionStatus::TimedOut { .. } => (json!({"status": "TIMED_OUT"}), Outcome::Failed),
        ExecutionStatus::Aborted { error, cause } => (
            json!({"status": "ABORTED", "error": error, "cause": cause}),
            Outcome::Failed,
        ),
        ExecutionStatus::Running => (
            json!({"status": "RUNNING", "waitingTaskTokens": execution.waiting_task_tokens()}),
            Outcome::Success,
        ),
    };
    println!("{result}");
    Ok(outcome)
}

struct DiscardSink;

#[async_trait]
impl ExecutionSink for DiscardSink {
    async fn record(&self, _execution: &Execution, _events: &[HistoryEvent]) -> Result<(), SinkError> {
        Ok(())
    }
}
