//! `stepcart executions list|describe|history`: executions through the Step Functions API (aws-sdk-sfn),
//! against the local server (`--endpoint-url`) or AWS (the standard AWS configuration).
//!
//! With an endpoint (`--endpoint-url`, or `AWS_ENDPOINT_URL` in the environment) and no credentials or
//! region configured, the client falls back to dummy credentials (`test`/`test`) in `us-east-1`, so
//! `stepcart executions list --endpoint-url http://127.0.0.1:8080` works on a fresh machine.

use clap::{Args, Subcommand};

use crate::{GlobalArgs, Outcome, UsageError};

#[derive(Args)]
#[cfg_attr(not(feature = "aws"), allow(dead_code))]
pub struct ExecutionsArgs {
    /// The Step Functions endpoint, e.g. the local server `http://127.0.0.1:8080` (default: the standard
    /// AWS configuration, `AWS_ENDPOINT_URL` included).
    #[arg(long, global = true, value_name = "URL")]
    pub endpoint_url: Option<String>,
    #[command(subcommand)]
    pub command: ExecutionsCommand,
}

#[derive(Subcommand)]
#[cfg_attr(not(feature = "aws"), allow(dead_code))]
pub enum ExecutionsCommand {
    /// The executions of a state machine, newest first (every page).
    List {
        /// Default: the local checkout machine
        /// (arn:aws:states:us-east-1:000000000000:stateMachine:stepcart-local-checkout).
        #[arg(long, value_name = "ARN")]
        state_machine_arn: Option<String>,
        /// Only executions with this status.
        #[arg(long, value_parser = ["RUNNING", "SUCCEEDED", "FAILED", "TIMED_OUT", "ABORTED", "PENDING_REDRIVE"])]
        status: Option<String>,
        /// Stop after this many executions.
        #[arg(long, value_name = "N")]
        max_items: Option<usize>,
    },
    /// One execution (DescribeExecution).
    Describe {
        /// The execution ARN (or the name of an execution of the local checkout machine).
        execution: String,
        /// Wait until the execution ends, then print it; exit code 1 if it ended FAILED, TIMED_OUT or
        /// ABORTED.
        #[arg(long)]
        watch: bool,
    },
    /// An execution's history events, one line each: id, type, state, short detail.
    History {
        /// The execution ARN (or the name of an execution of the local checkout machine).
        execution: String,
        /// Newest event first.
        #[arg(long, conflicts_with = "watch")]
        reverse: bool,
        /// Follow a running execution, printing new events as they come, until it ends; exit code 1 if it
        /// ended FAILED, TIMED_OUT or ABORTED. With --json, one event per line.
        #[arg(long)]
        watch: bool,
    },
}

#[cfg(feature = "aws")]
pub async fn run(global: &GlobalArgs, args: ExecutionsArgs) -> Result<Outcome, UsageError> {
    sdk::run(global, args).await
}

#[cfg(not(feature = "aws"))]
pub async fn run(_global: &GlobalArgs, _args: ExecutionsArgs) -> Result<Outcome, UsageError> {
    Err(UsageError::Usage(
        "`stepcart executions` needs a stepcart built with the AWS adapters: cargo build --features aws"
            .into(),
    ))
}

#[cfg(feature = "aws")]
mod sdk {
    use std::collections::HashMap;
    use std::time::Duration;

    use aws_config::{BehaviorVersion, Region};
    use aws_sdk_sfn::Client;
    use aws_sdk_sfn::config::Credentials;
    use aws_sdk_sfn::error::ProvideErrorMetadata;
    use aws_sdk_sfn::operation::describe_execution::DescribeExecutionOutput;
    use aws_sdk_sfn::primitives::{DateTime, DateTimeFormat};
    use aws_sdk_sfn::types::{
        ExecutionListItem, ExecutionStatus, HistoryEvent, HistoryEventExecutionDataDetails,
    };
    use serde_json::{Map, Value, json};
    use stepcart_store_sqlite::ExecutionRecord;

    use super::{ExecutionsArgs, ExecutionsCommand};
    use crate::local::{CHECKOUT_MACHINE_NAME, REGION, execution_arn, state_machine_arn};
    use crate::{GlobalArgs, Outcome, UsageError};

    const POLL: Duration = Duration::from_millis(500);

    pub async fn run(global: &GlobalArgs, args: ExecutionsArgs) -> Result<Outcome, UsageError> {
        let client = client(args.endpoint_url.as_deref()).await;
        match args.command {
            ExecutionsCommand::List {
                state_machine_arn: machine,
                status,
                max_items,
            } => {
                let machine = machine.unwrap_or_else(|| state_machine_arn(CHECKOUT_MACHINE_NAME));
                list(&client, global.json, &machine, status.as_deref(), max_items).await
            }
            ExecutionsCommand::Describe { execution, watch } => {
                describe(&client, global.json, &arn_of(&execution), watch).await
            }
            ExecutionsCommand::History {
                execution,
                reverse,
                watch,
            } => {
                let arn = arn_of(&execution);
                if watch {
                    watch_history(&client, global.json, &arn).await
                } else {
                    history(&client, global.json, &arn, reverse).await
                }
            }
        }
    }

    /// An ARN as given; a bare name is an execution of the local checkout machine.
    fn arn_of(execution: &str) -> String {
        if execution.starts_with("arn:") {
            execution.to_owned()
        } else {
            execution_arn(CHECKOUT_MACHINE_NAME, execution)
        }
    }

    /// The standard AWS configuration; with an endpoint (flag or environment) and nothing configured,
    /// dummy credentials and us-east-1, as local emulators expect.
    async fn client(endpoint_url: Option<&str>) -> Client {
        let env = |name: &str| std::env::var_os(name).is_some_and(|v| !v.is_empty());
        let local_endpoint = endpoint_url.is_some() || env("AWS_ENDPOINT_URL") || env("AWS_ENDPOINT_URL_SFN");
        let profile_files = || {
            let home = std::env::var_os("HOME").map(std::path::PathBuf::from);
            let file = |var: &str, default: &str| {
                std::env::var_os(var)
                    .map(std::path::PathBuf::from)
                    .or_else(|| home.as_ref().map(|h| h.join(".aws").join(default)))
                    .is_some_and(|p| p.is_file())
            };
            file("AWS_CONFIG_FILE", "config") || file("AWS_SHARED_CREDENTIALS_FILE", "credentials")
        };
        let mut loader = aws_config::defaults(BehaviorVersion::latest());
        if let Some(url) = endpoint_url {
            loader = loader.endpoint_url(url);
        }
        if local_endpoint {
            let credentials_configured = env("AWS_ACCESS_KEY_ID")
                || env("AWS_PROFILE")
                || env("AWS_WEB_IDENTITY_TOKEN_FILE")
                || env("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI")
                || env("AWS_CONTAINER_CREDENTIALS_FULL_URI")
                || profile_files();
            if !credentials_configured {
                loader = loader.credentials_provider(Credentials::new(
                    "test",
                    "test",
                    None,
                    None,
                    "stepcart-dummy",
                ));
            }
            let region_configured =
                env("AWS_REGION") || env("AWS_DEFAULT_REGION") || env("AWS_PROFILE") || profile_files();
            if !region_configured {
                loader = loader.region(Region::new(REGION));
            }
        }
        let config = loader.load().await;
        let mut builder = aws_sdk_sfn::config::Builder::from(&config);
        if config.region().is_none() && local_endpoint {
            builder = builder.region(Region::new(REGION));
        }
        Client::from_conf(builder.build())
    }

    /// A service error as `Code: message` (exit code 2), or the transport problem in a sentence.
    fn service_error<E>(what: &str, error: aws_sdk_sfn::error::SdkError<E>) -> UsageError
    where
        E: ProvideErrorMetadata + std::error::Error + 'static,
    {
        match error.code() {
            Some(code) => UsageError::Usage(format!(
                "{what}: {code}: {}",
                error.message().unwrap_or("(no message)")
            )),
            None => UsageError::Usage(format!("{what}: {}", stepcart_aws::error_chain(&error))),
        }
    }

    /// Writes lines on stdout; false once stdout is closed (`| head`), so the caller stops quietly.
    fn emit(lines: impl IntoIterator<Item = String>) -> bool {
        use std::io::Write;
        let mut stdout = std::io::stdout().lock();
        for line in lines {
            if writeln!(stdout, "{line}").is_err() {
                return false;
            }
        }
        stdout.flush().is_ok()
    }

    fn date(value: &DateTime) -> String {
        value.fmt(DateTimeFormat::DateTime).unwrap_or_default()
    }

    fn ended_badly(status: &ExecutionStatus) -> bool {
        matches!(
            status,
            ExecutionStatus::Failed | ExecutionStatus::TimedOut | ExecutionStatus::Aborted
        )
    }

    // ------------------------------------------------------------------------------------------ list

    async fn list(
        client: &Client,
        json_output: bool,
        machine: &str,
        status: Option<&str>,
        max_items: Option<usize>,
    ) -> Result<Outcome, UsageError> {
        let mut request = client.list_executions().state_machine_arn(machine);
        if let Some(status) = status {
            request = request.status_filter(ExecutionStatus::from(status));
        }
        let mut pages = request.into_paginator();
        if let Some(max) = max_items {
            pages = pages.page_size(max.clamp(1, 1000) as i32);
        }
        let mut items = pages.items().send();
        let mut executions: Vec<ExecutionListItem> = Vec::new();
        while max_items.is_none_or(|max| executions.len() < max) {
            match items.next().await {
                Some(Ok(item)) => executions.push(item),
                Some(Err(error)) => return Err(service_error("ListExecutions", error)),
                None => break,
            }
        }
        if json_output {
            let rows: Vec<Value> = executions.iter().map(list_item_json).collect();
            emit([json!({ "executions": rows }).to_string()]);
            return Ok(Outcome::Success);
        }
        if executions.is_empty() {
            emit([format!("no executions of {machine}")]);
            return Ok(Outcome::Success);
        }
        let rows: Vec<[String; 4]> = executions
            .iter()
            .map(|e| {
                [
                    e.name().to_owned(),
                    e.status().as_str().to_owned(),
                    date(e.start_date()),
                    e.stop_date().map(date).unwrap_or_else(|| "-".to_owned()),
                ]
            })
            .collect();
        let header = ["NAME", "STATUS", "STARTED", "STOPPED"];
        let mut widths = header.map(str::len);
        for row in &rows {
            for (width, cell) in widths.iter_mut().zip(row) {
                *width = (*width).max(cell.chars().count());
            }
        }
        let line = |cells: [&str; 4]| {
            format!(
                "{:<w0$}  {:<w1$}  {:<w2$}  {}",
                cells[0],
                cells[1],
                cells[2],
                cells[3],
                w0 = widths[0],
                w1 = widths[1],
                w2 = widths[2],
            )
        };
        let body = rows.iter().map(|row| line([&row[0], &row[1], &row[2], &row[3]]));
        emit(std::iter::once(line(header)).chain(body));
        Ok(Outcome::Success)
    }

    fn list_item_json(item: &ExecutionListItem) -> Value {
        let mut value = Map::new();
        value.insert("executionArn".into(), item.execution_arn().into());
        value.insert("stateMachineArn".into(), item.state_machine_arn().into());
        value.insert("name".into(), item.name().into());
        value.insert("status".into(), item.status().as_str().into());
        value.insert("startDate".into(), date(item.start_date()).into());
        if let Some(stop) = item.stop_date() {
            value.insert("stopDate".into(), date(stop).into());
        }
        Value::Object(value)
    }

    // -------------------------------------------------------------------------------------- describe

    async fn describe_once(client: &Client, arn: &str) -> Result<DescribeExecutionOutput, UsageError> {
        client
            .describe_execution()
            .execution_arn(arn)
            .send()
            .await
            .map_err(|e| service_error("DescribeExecution", e))
    }

    async fn describe(
        client: &Client,
        json_output: bool,
        arn: &str,
        watch: bool,
    ) -> Result<Outcome, UsageError> {
        let mut execution = describe_once(client, arn).await?;
        if watch {
            let mut announced = false;
            while *execution.status() == ExecutionStatus::Running {
                if !announced && !json_output {
                    eprintln!("waiting for {arn} to end...");
                    announced = true;
                }
                tokio::time::sleep(POLL).await;
                execution = describe_once(client, arn).await?;
            }
        }
        let record = record_of(&execution);
        let note = format!(
            "arn        {}\nstarted    {}{}",
            record.execution_arn,
            record.start_date,
            record
                .stop_date
                .as_deref()
                .map(|s| format!("\nstopped    {s}"))
                .unwrap_or_default()
        );
        crate::output::print_execution(json_output, &record, Some(&note));
        Ok(if watch && ended_badly(execution.status()) {
            Outcome::Failed
        } else {
            Outcome::Success
        })
    }

    fn record_of(execution: &DescribeExecutionOutput) -> ExecutionRecord {
        ExecutionRecord {
            execution_arn: execution.execution_arn().to_owned(),
            name: execution.name().unwrap_or_default().to_owned(),
            state_machine_arn: execution.state_machine_arn().to_owned(),
            status: execution.status().as_str().to_owned(),
            input: execution.input().unwrap_or_default().to_owned(),
            output: execution.output().map(str::to_owned),
            error: execution.error().map(str::to_owned),
            cause: execution.cause().map(str::to_owned),
            start_date: date(execution.start_date()),
            stop_date: execution.stop_date().map(date),
        }
    }

    // --------------------------------------------------------------------------------------- history

    async fn all_events(client: &Client, arn: &str, reverse: bool) -> Result<Vec<HistoryEvent>, UsageError> {
        let mut items = client
            .get_execution_history()
            .execution_arn(arn)
            .reverse_order(reverse)
            .into_paginator()
            .items()
            .send();
        let mut events = Vec::new();
        while let Some(item) = items.next().await {
            events.push(item.map_err(|e| service_error("GetExecutionHistory", e))?);
        }
        Ok(events)
    }

    /// The events after id `after`, oldest first: read newest first and only as far back as needed,
    /// so that following a long execution does not re-read its whole history at every poll.
    async fn events_after(client: &Client, arn: &str, after: i64) -> Result<Vec<HistoryEvent>, UsageError> {
        let mut items = client
            .get_execution_history()
            .execution_arn(arn)
            .reverse_order(true)
            .into_paginator()
            .items()
            .send();
        let mut newer = Vec::new();
        while let Some(item) = items.next().await {
            let event = item.map_err(|e| service_error("GetExecutionHistory", e))?;
            if event.id() <= after {
                break;
            }
            newer.push(event);
        }
        newer.reverse();
        Ok(newer)
    }

    async fn history(
        client: &Client,
        json_output: bool,
        arn: &str,
        reverse: bool,
    ) -> Result<Outcome, UsageError> {
        let events = all_events(client, arn, reverse).await?;
        if json_output {
            let rows: Vec<Value> = events.iter().map(event_json).collect();
            emit([json!({ "events": rows }).to_string()]);
            return Ok(Outcome::Success);
        }
        // The state an event belongs to, from the last StateEntered before it (in id order).
        let mut ordered: Vec<&HistoryEvent> = events.iter().collect();
        ordered.sort_by_key(|e| e.id());
        let mut states = StateTracker::default();
        let names: HashMap<i64, String> = ordered.iter().map(|e| (e.id(), states.state_of(e))).collect();
        let width = names.values().map(|n| n.chars().count()).max().unwrap_or(0);
        emit(events.iter().map(|event| {
            let state = names.get(&event.id()).map(String::as_str).unwrap_or("");
            event_line(event, state, width)
        }));
        Ok(Outcome::Success)
    }

    async fn watch_history(client: &Client, json_output: bool, arn: &str) -> Result<Outcome, UsageError> {
        let mut last_id = 0_i64;
        let mut states = StateTracker::default();
        loop {
            // Status first: once it has ended, the history read after it is complete.
            let status = describe_once(client, arn).await?.status().clone();
            let events = events_after(client, arn, last_id).await?;
            for event in &events {
                let state = states.state_of(event);
                let line = if json_output {
                    event_json(event).to_string()
                } else {
                    event_line(event, &state, WATCH_STATE_WIDTH)
                };
                if !emit([line]) {
                    return Ok(Outcome::Success);
                }
                last_id = last_id.max(event.id());
            }
            if status != ExecutionStatus::Running {
                if !json_output {
                    eprintln!("execution ended {}", status.as_str());
                }
                return Ok(if ended_badly(&status) {
                    Outcome::Failed
                } else {
                    Outcome::Success
                });
            }
            tokio::time::sleep(POLL).await;
        }
    }

    /// Which state an event belongs to, read in id order.
    #[derive(Default)]
    struct StateTracker {
        current: String,
    }

    impl StateTracker {
        fn state_of(&mut self, event: &HistoryEvent) -> String {
            if let Some(entered) = event.state_entered_event_details() {
                self.current = entered.name().to_owned();
                return self.current.clone();
            }
            if let Some(exited) = event.state_exited_event_details() {
                let name = exited.name().to_owned();
                self.current.clear();
                return name;
            }
            let kind = event.r#type().as_str();
            if kind.starts_with("Execution") {
                // The execution's own events belong to no state.
                return String::new();
            }
            let state = self.current.clone();
            if kind.ends_with("StateAborted") {
                self.current.clear();
            }
            state
        }
    }

    /// The state column's width while watching (names are not known in advance).
    const WATCH_STATE_WIDTH: usize = 28;

    fn event_line(event: &HistoryEvent, state: &str, state_width: usize) -> String {
        let line = format!(
            "{:>4}  {:<32} {:<state_width$}  {}",
            event.id(),
            event.r#type().as_str(),
            state,
            short_detail(event)
        );
        line.trim_end().to_owned()
    }

    fn clip(text: &str, max: usize) -> String {
        let text = text.replace('\n', " ");
        if text.chars().count() <= max {
            text
        } else {
            let mut clipped: String = text.chars().take(max.saturating_sub(1)).collect();
            clipped.push('\u{2026}');
            clipped
        }
    }

    fn failure(error: Option<&str>, cause: Option<&str>) -> String {
        match (error, cause) {
            (Some(error), Some(cause)) => clip(&format!("{error}: {cause}"), 100),
            (Some(error), None) => error.to_owned(),
            (None, Some(cause)) => clip(cause, 100),
            (None, None) => String::new(),
        }
    }

    fn short_detail(event: &HistoryEvent) -> String {
        const DOC: usize = 70;
        let doc = |text: Option<&str>| text.map(|t| clip(t, DOC)).unwrap_or_default();
        if let Some(d) = event.execution_started_event_details() {
            return format!("input {}", doc(d.input()));
        }
        if let Some(d) = event.execution_succeeded_event_details() {
            return format!("output {}", doc(d.output()));
        }
        if let Some(d) = event.execution_failed_event_details() {
            return failure(d.error(), d.cause());
        }
        if let Some(d) = event.execution_aborted_event_details() {
            return failure(d.error(), d.cause());
        }
        if let Some(d) = event.execution_timed_out_event_details() {
            return failure(d.error(), d.cause());
        }
        if let Some(d) = event.state_exited_event_details() {
            return format!("output {}", doc(d.output()));
        }
        if let Some(d) = event.task_scheduled_event_details() {
            return format!("{}:{}", d.resource_type(), d.resource());
        }
        if let Some(d) = event.task_started_event_details() {
            return format!("{}:{}", d.resource_type(), d.resource());
        }
        if let Some(d) = event.task_submitted_event_details() {
            return format!("{}:{} submitted", d.resource_type(), d.resource());
        }
        if let Some(d) = event.task_succeeded_event_details() {
            return format!("output {}", doc(d.output()));
        }
        if let Some(d) = event.task_failed_event_details() {
            return failure(d.error(), d.cause());
        }
        if let Some(d) = event.task_timed_out_event_details() {
            return failure(d.error(), d.cause());
        }
        if let Some(d) = event.lambda_function_scheduled_event_details() {
            let function = d.resource().rsplit(':').next().unwrap_or_default();
            return function.to_owned();
        }
        if let Some(d) = event.lambda_function_succeeded_event_details() {
            return format!("output {}", doc(d.output()));
        }
        if let Some(d) = event.lambda_function_failed_event_details() {
            return failure(d.error(), d.cause());
        }
        if let Some(d) = event.lambda_function_timed_out_event_details() {
            return failure(d.error(), d.cause());
        }
        if let Some(d) = event.map_state_started_event_details() {
            return format!("{} items", d.length());
        }
        [
            event.map_iteration_started_event_details(),
            event.map_iteration_succeeded_event_details(),
            event.map_iteration_failed_event_details(),
            event.map_iteration_aborted_event_details(),
        ]
        .into_iter()
        .flatten()
        .next()
        .map(|d| format!("iteration {}", d.index()))
        .unwrap_or_default()
    }

    /// One history event in the shape of the Step Functions API (`GetExecutionHistory`'s `events`).
    fn event_json(event: &HistoryEvent) -> Value {
        let mut value = Map::new();
        value.insert("timestamp".into(), date(event.timestamp()).into());
        value.insert("type".into(), event.r#type().as_str().into());
        value.insert("id".into(), event.id().into());
        value.insert("previousEventId".into(), event.previous_event_id().into());
        if let Some((key, details)) = details_json(event) {
            value.insert(key.into(), details);
        }
        Value::Object(value)
    }

    /// An object of the fields that are present.
    fn object(fields: Vec<(&str, Option<Value>)>) -> Value {
        Value::Object(
            fields
                .into_iter()
                .filter_map(|(k, v)| v.map(|v| (k.to_owned(), v)))
                .collect(),
        )
    }

    fn s(text: &str) -> Option<Value> {
        Some(Value::String(text.to_owned()))
    }

    fn opt(text: Option<&str>) -> Option<Value> {
        text.map(|t| Value::String(t.to_owned()))
    }

    fn data(details: Option<&HistoryEventExecutionDataDetails>) -> Option<Value> {
        details.map(|d| json!({ "truncated": d.truncated() }))
    }

    fn error_cause(error: Option<&str>, cause: Option<&str>) -> Value {
        object(vec![("error", opt(error)), ("cause", opt(cause))])
    }

    fn details_json(event: &HistoryEvent) -> Option<(&'static str, Value)> {
        if let Some(d) = event.execution_started_event_details() {
            let v = object(vec![
                ("input", opt(d.input())),
                ("inputDetails", data(d.input_details())),
                ("roleArn", opt(d.role_arn())),
                ("stateMachineAliasArn", opt(d.state_machine_alias_arn())),
                ("stateMachineVersionArn", opt(d.state_machine_version_arn())),
            ]);
            return Some(("executionStartedEventDetails", v));
        }
        if let Some(d) = event.execution_succeeded_event_details() {
            let v = object(vec![
                ("output", opt(d.output())),
                ("outputDetails", data(d.output_details())),
            ]);
            return Some(("executionSucceededEventDetails", v));
        }
        if let Some(d) = event.execution_failed_event_details() {
            return Some(("executionFailedEventDetails", error_cause(d.error(), d.cause())));
        }
        if let Some(d) = event.execution_aborted_event_details() {
            return Some(("executionAbortedEventDetails", error_cause(d.error(), d.cause())));
        }
        if let Some(d) = event.execution_timed_out_event_details() {
            return Some(("executionTimedOutEventDetails", error_cause(d.error(), d.cause())));
        }
        if let Some(d) = event.state_entered_event_details() {
            let v = object(vec![
                ("name", s(d.name())),
                ("input", opt(d.input())),
                ("inputDetails", data(d.input_details())),
            ]);
            return Some(("stateEnteredEventDetails", v));
        }
        if let Some(d) = event.state_exited_event_details() {
            let assigned = d.assigned_variables().map(|vars| {
                let mut sorted: Vec<_> = vars.iter().collect();
                sorted.sort();
                Value::Object(
                    sorted
                        .into_iter()
                        .map(|(k, v)| (k.clone(), Value::String(v.clone())))
                        .collect(),
                )
            });
            let v = object(vec![
                ("name", s(d.name())),
                ("output", opt(d.output())),
                ("outputDetails", data(d.output_details())),
                ("assignedVariables", assigned),
            ]);
            return Some(("stateExitedEventDetails", v));
        }
        if let Some(d) = event.task_scheduled_event_details() {
            let v = object(vec![
                ("resourceType", s(d.resource_type())),
                ("resource", s(d.resource())),
                ("region", s(d.region())),
                ("parameters", s(d.parameters())),
                ("timeoutInSeconds", d.timeout_in_seconds().map(Value::from)),
                ("heartbeatInSeconds", d.heartbeat_in_seconds().map(Value::from)),
            ]);
            return Some(("taskScheduledEventDetails", v));
        }
        if let Some(d) = event.task_started_event_details() {
            let v = object(vec![
                ("resourceType", s(d.resource_type())),
                ("resource", s(d.resource())),
            ]);
            return Some(("taskStartedEventDetails", v));
        }
        if let Some(d) = event.task_submitted_event_details() {
            let v = object(vec![
                ("resourceType", s(d.resource_type())),
                ("resource", s(d.resource())),
                ("output", opt(d.output())),
                ("outputDetails", data(d.output_details())),
            ]);
            return Some(("taskSubmittedEventDetails", v));
        }
        if let Some(d) = event.task_succeeded_event_details() {
            let v = object(vec![
                ("resourceType", s(d.resource_type())),
                ("resource", s(d.resource())),
                ("output", opt(d.output())),
                ("outputDetails", data(d.output_details())),
            ]);
            return Some(("taskSucceededEventDetails", v));
        }
        if let Some(d) = event.task_failed_event_details() {
            let v = object(vec![
                ("resourceType", s(d.resource_type())),
                ("resource", s(d.resource())),
                ("error", opt(d.error())),
                ("cause", opt(d.cause())),
            ]);
            return Some(("taskFailedEventDetails", v));
        }
        if let Some(d) = event.task_timed_out_event_details() {
            let v = object(vec![
                ("resourceType", s(d.resource_type())),
                ("resource", s(d.resource())),
                ("error", opt(d.error())),
                ("cause", opt(d.cause())),
            ]);
            return Some(("taskTimedOutEventDetails", v));
        }
        if let Some(d) = event.lambda_function_scheduled_event_details() {
            let v = object(vec![
                ("resource", s(d.resource())),
                ("input", opt(d.input())),
                ("inputDetails", data(d.input_details())),
                ("timeoutInSeconds", d.timeout_in_seconds().map(Value::from)),
            ]);
            return Some(("lambdaFunctionScheduledEventDetails", v));
        }
        if let Some(d) = event.lambda_function_succeeded_event_details() {
            let v = object(vec![
                ("output", opt(d.output())),
                ("outputDetails", data(d.output_details())),
            ]);
            return Some(("lambdaFunctionSucceededEventDetails", v));
        }
        if let Some(d) = event.lambda_function_failed_event_details() {
            return Some((
                "lambdaFunctionFailedEventDetails",
                error_cause(d.error(), d.cause()),
            ));
        }
        if let Some(d) = event.lambda_function_timed_out_event_details() {
            return Some((
                "lambdaFunctionTimedOutEventDetails",
                error_cause(d.error(), d.cause()),
            ));
        }
        if let Some(d) = event.map_state_started_event_details() {
            return Some(("mapStateStartedEventDetails", json!({ "length": d.length() })));
        }
        let iterations = [
            (
                "mapIterationStartedEventDetails",
                event.map_iteration_started_event_details(),
            ),
            (
                "mapIterationSucceededEventDetails",
                event.map_iteration_succeeded_event_details(),
            ),
            (
                "mapIterationFailedEventDetails",
                event.map_iteration_failed_event_details(),
            ),
            (
                "mapIterationAbortedEventDetails",
                event.map_iteration_aborted_event_details(),
            ),
        ];
        for (key, details) in iterations {
            if let Some(d) = details {
                let v = object(vec![("name", opt(d.name())), ("index", Some(d.index().into()))]);
                return Some((key, v));
            }
        }
        None
    }
}
