//! The Step Functions JSON 1.0 API on `POST /`: `X-Amz-Target: AWSStepFunctions.<Operation>`, errors in
//! AWS's shape (`__type`, `message`) with AWS's codes, timestamps as epoch seconds.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Map, Value, json};
use stepcart_asl::{ExternalEvent, StateMachine};
use stepcart_domain::ids::is_valid_execution_name;
use stepcart_store_sqlite::{ExecutionFilter, ExecutionRecord, MachineOutcome, StateMachineRecord};
use time::OffsetDateTime;

use super::{App, epoch_seconds, generated_execution_name, same_input};
use crate::local::{
    self, LOCAL_ROLE_ARN, LocalError, Machine, Started, definition_id, execution_arn, rfc3339,
    state_machine_arn,
};

/// Step Functions' limit on an execution's input and a task's output.
const MAX_PAYLOAD_BYTES: usize = 256 * 1024;

/// An error answer: HTTP status, AWS error code and message.
#[derive(Debug)]
pub struct ApiError {
    status: StatusCode,
    code: &'static str,
    message: String,
}

impl ApiError {
    pub fn new(code: &'static str, message: impl Into<String>) -> Self {
        ApiError {
            status: StatusCode::BAD_REQUEST,
            code,
            message: message.into(),
        }
    }

    fn internal(message: impl Into<String>) -> Self {
        ApiError {
            status: StatusCode::INTERNAL_SERVER_ERROR,
            code: "InternalFailure",
            message: message.into(),
        }
    }
}

impl From<LocalError> for ApiError {
    fn from(error: LocalError) -> Self {
        match error {
            LocalError::NotFound(message) => ApiError::new("ExecutionDoesNotExist", message),
            LocalError::Token {
                closed: true,
                message,
            } => ApiError::new("TaskTimedOut", message),
            LocalError::Token {
                closed: false,
                message,
            } => ApiError::new("InvalidToken", message),
            other => ApiError::internal(other.to_string()),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = json!({"__type": self.code, "message": self.message});
        (
            self.status,
            [
                (header::CONTENT_TYPE, "application/x-amz-json-1.0"),
                (header::HeaderName::from_static("x-amzn-errortype"), self.code),
            ],
            body.to_string(),
        )
            .into_response()
    }
}

fn store_error(error: impl std::fmt::Display) -> ApiError {
    ApiError::internal(error.to_string())
}

pub async fn handle(State(app): State<Arc<App>>, headers: HeaderMap, body: Bytes) -> Response {
    let target = headers
        .get("x-amz-target")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    let Some(operation) = target.strip_prefix("AWSStepFunctions.") else {
        return ApiError::new(
            "UnknownOperationException",
            format!("X-Amz-Target {target:?} is not a Step Functions operation"),
        )
        .into_response();
    };
    let input: Map<String, Value> = if body.is_empty() {
        Map::new()
    } else {
        match serde_json::from_slice(&body) {
            Ok(Value::Object(map)) => map,
            Ok(_) => {
                return ApiError::new("SerializationException", "the request body must be a JSON object")
                    .into_response();
            }
            Err(e) => {
                return ApiError::new(
                    "SerializationException",
                    format!("the request body is not JSON: {e}"),
                )
                .into_response();
            }
        }
    };
    let request = Request { input };
    let result = match operation {
        "CreateStateMachine" => create_state_machine(&app, &request).await,
        "DescribeStateMachine" => describe_state_machine(&app, &request).await,
        "ListStateMachines" => list_state_machines(&app, &request).await,
        "UpdateStateMachine" => update_state_machine(&app, &request).await,
        "DeleteStateMachine" => delete_state_machine(&app, &request).await,
        "ValidateStateMachineDefinition" => validate_definition(&request),
        "StartExecution" => start_execution(&app, &request).await,
        "StartSyncExecution" => start_sync_execution(&app, &request).await,
        "DescribeExecution" => describe_execution(&app, &request).await,
        "DescribeStateMachineForExecution" => describe_machine_for_execution(&app, &request).await,
        "ListExecutions" => list_executions(&app, &request).await,
        "GetExecutionHistory" => get_execution_history(&app, &request).await,
        "StopExecution" => stop_execution(&app, &request).await,
        "SendTaskSuccess" => send_task_success(&app, &request).await,
        "SendTaskFailure" => send_task_failure(&app, &request).await,
        "SendTaskHeartbeat" => send_task_heartbeat(&app, &request).await,
        other => Err(ApiError::new(
            "UnknownOperationException",
            format!("the local Step Functions API has no operation {other}"),
        )),
    };
    match result {
        Ok(value) => (
            StatusCode::OK,
            [(header::CONTENT_TYPE, "application/x-amz-json-1.0")],
            value.to_string(),
        )
            .into_response(),
        Err(error) => error.into_response(),
    }
}

struct Request {
    input: Map<String, Value>,
}

impl Request {
    fn string(&self, field: &str) -> Result<Option<&str>, ApiError> {
        match self.input.get(field) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) => Ok(Some(s)),
            Some(_) => Err(ApiError::new(
                "ValidationException",
                format!("{field} must be a string"),
            )),
        }
    }

    fn required(&self, field: &str) -> Result<&str, ApiError> {
        self.string(field)?.ok_or_else(|| {
            ApiError::new(
                "ValidationException",
                format!("1 validation error detected: Value null at '{field}' failed to satisfy constraint: Member must not be null"),
            )
        })
    }

    fn number(&self, field: &str) -> Result<Option<i64>, ApiError> {
        match self.input.get(field) {
            None | Some(Value::Null) => Ok(None),
            Some(v) => v
                .as_i64()
                .map(Some)
                .ok_or_else(|| ApiError::new("ValidationException", format!("{field} must be an integer"))),
        }
    }

    fn flag(&self, field: &str) -> Result<Option<bool>, ApiError> {
        match self.input.get(field) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::Bool(b)) => Ok(Some(*b)),
            Some(_) => Err(ApiError::new(
                "ValidationException",
                format!("{field} must be a boolean"),
            )),
        }
    }

    /// `maxResults`: 0 or absent means the default; AWS allows at most 1000.
    fn max_results(&self, default: usize) -> Result<usize, ApiError> {
        match self.number("maxResults")? {
            None | Some(0) => Ok(default),
            Some(n @ 1..=1000) => Ok(usize::try_from(n).unwrap_or(default)),
            Some(n) => Err(ApiError::new(
                "ValidationException",
                format!(
                    "1 validation error detected: Value '{n}' at 'maxResults' failed to satisfy constraint: Member must have value less than or equal to 1000"
                ),
            )),
        }
    }
}

fn check_state_machine_arn(arn: &str) -> Result<(), ApiError> {
    if arn.starts_with("arn:aws:states:") && arn.split(':').nth(5) == Some("stateMachine") {
        Ok(())
    } else {
        Err(ApiError::new(
            "InvalidArn",
            format!("Invalid Arn: 'Resource type not valid in this context: {arn}'"),
        ))
    }
}

fn check_execution_arn(arn: &str) -> Result<(), ApiError> {
    if arn.starts_with("arn:aws:states:") && arn.split(':').nth(5) == Some("execution") {
        Ok(())
    } else {
        Err(ApiError::new(
            "InvalidArn",
            format!("Invalid Arn: 'Resource type not valid in this context: {arn}'"),
        ))
    }
}

/// Parses a definition, or answers InvalidDefinition with every problem located.
fn parse_definition(text: &str) -> Result<StateMachine, ApiError> {
    StateMachine::from_json(text).map_err(|error| {
        let problems: Vec<String> = error.problems.iter().map(ToString::to_string).collect();
        ApiError::new(
            "InvalidDefinition",
            format!("Invalid State Machine Definition: '{}'", problems.join("; ")),
        )
    })
}

fn machine_json(record: &StateMachineRecord) -> Value {
    let mut value = json!({
        "stateMachineArn": record.state_machine_arn,
        "name": record.name,
        "status": "ACTIVE",
        "definition": record.definition,
        "roleArn": record.role_arn,
        "type": record.machine_type,
        "creationDate": epoch_seconds(&record.creation_date),
        "revisionId": record.definition_id,
        "loggingConfiguration": {"level": "OFF", "includeExecutionData": false},
        "tracingConfiguration": {"enabled": false},
    });
    if let Some(updated) = &record.update_date {
        value["updateDate"] = epoch_seconds(updated);
    }
    value
}

async fn machine(app: &App, arn: &str) -> Result<StateMachineRecord, ApiError> {
    check_state_machine_arn(arn)?;
    app.local
        .store()
        .state_machine(arn)
        .await
        .map_err(store_error)?
        .ok_or_else(|| {
            ApiError::new(
                "StateMachineDoesNotExist",
                format!("State Machine Does Not Exist: '{arn}'"),
            )
        })
}

async fn create_state_machine(app: &App, request: &Request) -> Result<Value, ApiError> {
    let name = request.required("name")?;
    if !is_valid_execution_name(name) {
        return Err(ApiError::new("InvalidName", format!("Invalid Name: '{name}'")));
    }
    let definition = request.required("definition")?;
    let parsed = parse_definition(definition)?;
    let role_arn = request.string("roleArn")?.unwrap_or(LOCAL_ROLE_ARN);
    let machine_type = request.string("type")?.unwrap_or("STANDARD");
    if !matches!(machine_type, "STANDARD" | "EXPRESS") {
        return Err(ApiError::new(
            "ValidationException",
            format!("type must be STANDARD or EXPRESS, not {machine_type:?}"),
        ));
    }
    let id = definition_id(definition);
    let record = StateMachineRecord {
        state_machine_arn: state_machine_arn(name),
        name: name.to_owned(),
        machine_type: machine_type.to_owned(),
        role_arn: role_arn.to_owned(),
        definition_id: id.clone(),
        definition: definition.to_owned(),
        creation_date: rfc3339(OffsetDateTime::now_utc()),
        update_date: None,
    };
    let created = match app
        .local
        .store()
        .create_state_machine(&record)
        .await
        .map_err(store_error)?
    {
        MachineOutcome::Created => record,
        // The same request again is idempotent; a different one under the same name is refused.
        MachineOutcome::Existing(existing)
            if existing.definition_id == id
                && existing.role_arn == record.role_arn
                && existing.machine_type == record.machine_type =>
        {
            existing
        }
        MachineOutcome::Existing(existing) => {
            return Err(ApiError::new(
                "StateMachineAlreadyExists",
                format!("State Machine Already Exists: '{}'", existing.state_machine_arn),
            ));
        }
    };
    app.local.remember_definition(&id, Arc::new(parsed));
    Ok(json!({
        "stateMachineArn": created.state_machine_arn,
        "creationDate": epoch_seconds(&created.creation_date),
        "stateMachineVersionArn": Value::Null,
    }))
}

async fn describe_state_machine(app: &App, request: &Request) -> Result<Value, ApiError> {
    let record = machine(app, request.required("stateMachineArn")?).await?;
    Ok(machine_json(&record))
}

/// Pages by position; the token is the index of the next item.
fn page<T>(items: Vec<T>, request: &Request, default: usize) -> Result<(Vec<T>, Option<String>), ApiError> {
    let limit = request.max_results(default)?;
    let start = match request.string("nextToken")? {
        None => 0,
        Some(token) => token
            .parse::<usize>()
            .map_err(|_| ApiError::new("InvalidToken", format!("Invalid Token: '{token}'")))?,
    };
    let total = items.len();
    let items: Vec<T> = items.into_iter().skip(start).take(limit).collect();
    let next = (start + items.len() < total).then(|| (start + items.len()).to_string());
    Ok((items, next))
}

async fn list_state_machines(app: &App, request: &Request) -> Result<Value, ApiError> {
    let machines = app.local.store().state_machines().await.map_err(store_error)?;
    let (machines, next) = page(machines, request, 100)?;
    let listed: Vec<Value> = machines
        .iter()
        .map(|m| {
            json!({"stateMachineArn": m.state_machine_arn, "name": m.name, "type": m.machine_type,
                   "creationDate": epoch_seconds(&m.creation_date)})
        })
        .collect();
    let mut answer = json!({"stateMachines": listed});
    if let Some(next) = next {
        answer["nextToken"] = json!(next);
    }
    Ok(answer)
}

async fn update_state_machine(app: &App, request: &Request) -> Result<Value, ApiError> {
    let arn = request.required("stateMachineArn")?;
    machine(app, arn).await?;
    let definition = request.string("definition")?;
    let role_arn = request.string("roleArn")?;
    if definition.is_none() && role_arn.is_none() {
        return Err(ApiError::new(
            "MissingRequiredParameter",
            "Either the definition or the roleArn must be specified",
        ));
    }
    let parsed = definition.map(parse_definition).transpose()?;
    let ids = definition.map(|text| (definition_id(text), text));
    let now = rfc3339(OffsetDateTime::now_utc());
    let updated = app
        .local
        .store()
        .update_state_machine(
            arn,
            ids.as_ref().map(|(id, text)| (id.as_str(), *text)),
            role_arn,
            &now,
        )
        .await
        .map_err(store_error)?
        .ok_or_else(|| {
            ApiError::new(
                "StateMachineDoesNotExist",
                format!("State Machine Does Not Exist: '{arn}'"),
            )
        })?;
    if let (Some((id, _)), Some(parsed)) = (&ids, parsed) {
        app.local.remember_definition(id, Arc::new(parsed));
    }
    Ok(json!({"updateDate": epoch_seconds(&now), "revisionId": updated.definition_id}))
}

async fn delete_state_machine(app: &App, request: &Request) -> Result<Value, ApiError> {
    let arn = request.required("stateMachineArn")?;
    check_state_machine_arn(arn)?;
    app.local
        .store()
        .delete_state_machine(arn)
        .await
        .map_err(store_error)?;
    Ok(json!({}))
}

fn validate_definition(request: &Request) -> Result<Value, ApiError> {
    let definition = request.required("definition")?;
    Ok(match StateMachine::from_json(definition) {
        Ok(_) => json!({"result": "OK", "diagnostics": []}),
        Err(error) => {
            let diagnostics: Vec<Value> = error
                .problems
                .iter()
                .map(|p| {
                    json!({"severity": "ERROR", "code": "SCHEMA_VALIDATION_FAILED",
                           "message": p.message, "location": p.location})
                })
                .collect();
            json!({"result": "FAIL", "diagnostics": diagnostics})
        }
    })
}

/// Starts (or finds) an execution: the common part of StartExecution and StartSyncExecution.
async fn start(app: &App, request: &Request) -> Result<(Started, Value, StateMachineRecord), ApiError> {
    let record = machine(app, request.required("stateMachineArn")?).await?;
    let name = match request.string("name")? {
        Some(name) => {
            if !is_valid_execution_name(name) {
                return Err(ApiError::new("InvalidName", format!("Invalid Name: '{name}'")));
            }
            name.to_owned()
        }
        None => generated_execution_name(),
    };
    let text = request.string("input")?.unwrap_or("{}");
    if text.len() > MAX_PAYLOAD_BYTES {
        return Err(ApiError::new(
            "InvalidExecutionInput",
            format!(
                "Invalid Execution Input: the input is {} bytes, over the 262144-byte limit",
                text.len()
            ),
        ));
    }
    let input: Value = serde_json::from_str(text)
        .map_err(|e| ApiError::new("InvalidExecutionInput", format!("Invalid Execution Input: {e}")))?;
    let parsed = app.local.machine_by_definition(&record.definition_id).await?;
    let machine = Machine {
        arn: record.state_machine_arn.clone(),
        name: record.name.clone(),
        definition_id: record.definition_id.clone(),
        parsed,
    };
    let started = app
        .local
        .start_execution(&machine, &name, input.clone(), true)
        .await?;
    Ok((started, input, record))
}

async fn start_execution(app: &App, request: &Request) -> Result<Value, ApiError> {
    let (started, input, _) = start(app, request).await?;
    let execution = match started {
        Started::New(execution) => execution,
        // The same name and input while it runs is the same request again; anything else is refused.
        Started::Existing(existing)
            if existing.status == "RUNNING" && same_input(&existing.input, &input) =>
        {
            existing
        }
        Started::Existing(existing) => {
            return Err(ApiError::new(
                "ExecutionAlreadyExists",
                format!("Execution Already Exists: '{}'", existing.execution_arn),
            ));
        }
    };
    Ok(json!({"executionArn": execution.execution_arn, "startDate": epoch_seconds(&execution.start_date)}))
}

async fn start_sync_execution(app: &App, request: &Request) -> Result<Value, ApiError> {
    let arn = request.required("stateMachineArn")?;
    let record = machine(app, arn).await?;
    if record.machine_type != "EXPRESS" {
        return Err(ApiError::new(
            "StateMachineTypeNotSupported",
            "This operation is not supported by this type of state machine",
        ));
    }
    // Named here so that the wait can be registered before the execution starts.
    let name = match request.string("name")? {
        Some(name) => name.to_owned(),
        None => generated_execution_name(),
    };
    let mut named = Request {
        input: request.input.clone(),
    };
    named.input.insert("name".into(), json!(name));
    let execution_arn = execution_arn(&record.name, &name);
    loop {
        let settled = app.local.settled(&execution_arn);
        let current = app
            .local
            .store()
            .execution(&execution_arn)
            .await
            .map_err(store_error)?;
        match current {
            None => {
                start(app, &named).await?;
            }
            Some(execution) if execution.status != "RUNNING" => {
                let mut answer = describe(&execution);
                answer["billingDetails"] =
                    json!({"billedMemoryUsedInMB": 64, "billedDurationInMilliseconds": 100});
                return Ok(answer);
            }
            Some(_) => {}
        }
        let _ = tokio::time::timeout(std::time::Duration::from_secs(300), settled).await;
    }
}

/// DescribeExecution as the JSON protocol answers it: the CLI's fields with dates as epoch seconds.
fn describe(record: &ExecutionRecord) -> Value {
    let mut value = crate::output::describe_json(record);
    value["startDate"] = epoch_seconds(&record.start_date);
    value["inputDetails"] = json!({"included": true});
    if let Some(stop) = &record.stop_date {
        value["stopDate"] = epoch_seconds(stop);
    }
    if record.output.is_some() {
        value["outputDetails"] = json!({"included": true});
    }
    value
}

async fn execution(app: &App, arn: &str) -> Result<ExecutionRecord, ApiError> {
    check_execution_arn(arn)?;
    app.local
        .store()
        .execution(arn)
        .await
        .map_err(store_error)?
        .ok_or_else(|| {
            ApiError::new(
                "ExecutionDoesNotExist",
                format!("Execution Does Not Exist: '{arn}'"),
            )
        })
}

async fn describe_execution(app: &App, request: &Request) -> Result<Value, ApiError> {
    let record = execution(app, request.required("executionArn")?).await?;
    Ok(describe(&record))
}

async fn describe_machine_for_execution(app: &App, request: &Request) -> Result<Value, ApiError> {
    let record = execution(app, request.required("executionArn")?).await?;
    let store = app.local.store();
    let definition = match store
        .execution_definition_id(&record.execution_arn)
        .await
        .map_err(store_error)?
    {
        Some(id) => store.definition(&id).await.map_err(store_error)?,
        None => local::checkout_definition().ok(),
    }
    .unwrap_or_default();
    let name = record.state_machine_arn.rsplit(':').next().unwrap_or_default();
    let machine = store
        .state_machine(&record.state_machine_arn)
        .await
        .map_err(store_error)?;
    Ok(json!({
        "stateMachineArn": record.state_machine_arn,
        "name": name,
        "definition": definition,
        "roleArn": machine.as_ref().map_or(LOCAL_ROLE_ARN, |m| m.role_arn.as_str()),
        "updateDate": epoch_seconds(&record.start_date),
    }))
}

async fn list_executions(app: &App, request: &Request) -> Result<Value, ApiError> {
    let machine_arn = request.string("stateMachineArn")?;
    if let Some(arn) = machine_arn {
        machine(app, arn).await?;
    }
    let status = request.string("statusFilter")?;
    if let Some(status) = status
        && !stepcart_store_sqlite::EXECUTION_STATUSES.contains(&status)
        && status != "PENDING_REDRIVE"
    {
        return Err(ApiError::new(
            "ValidationException",
            format!("statusFilter {status:?} is not a status"),
        ));
    }
    let filter = ExecutionFilter {
        state_machine_arn: machine_arn.map(str::to_owned),
        status: status.map(str::to_owned),
        name_contains: request
            .string("nameContains")?
            .filter(|s| !s.is_empty())
            .map(str::to_owned),
    };
    let limit = request.max_results(100)?;
    let page = app
        .local
        .store()
        .list_executions_page(filter, request.string("nextToken")?, limit)
        .await
        .map_err(|e| match e {
            stepcart_store_sqlite::StoreError::Invalid(message) => ApiError::new("InvalidToken", message),
            other => store_error(other),
        })?;
    let listed: Vec<Value> = page
        .executions
        .iter()
        .map(|e| {
            let mut item = json!({"executionArn": e.execution_arn, "stateMachineArn": e.state_machine_arn,
                                  "name": e.name, "status": e.status, "startDate": epoch_seconds(&e.start_date)});
            if let Some(stop) = &e.stop_date {
                item["stopDate"] = epoch_seconds(stop);
            }
            item
        })
        .collect();
    let mut answer = json!({"executions": listed});
    if let Some(next) = page.next {
        answer["nextToken"] = json!(next);
    }
    Ok(answer)
}

async fn get_execution_history(app: &App, request: &Request) -> Result<Value, ApiError> {
    let record = execution(app, request.required("executionArn")?).await?;
    let limit = request.max_results(100)?;
    let reverse = request.flag("reverseOrder")?.unwrap_or(false);
    let include_data = request.flag("includeExecutionData")?.unwrap_or(true);
    let after = match request.string("nextToken")? {
        None => None,
        Some(token) => Some(
            token
                .parse::<i64>()
                .map_err(|_| ApiError::new("InvalidToken", format!("Invalid Token: '{token}'")))?,
        ),
    };
    let mut events = app
        .local
        .store()
        .history_page(&record.execution_arn, after, limit + 1, reverse)
        .await
        .map_err(store_error)?;
    let next = if events.len() > limit {
        events.truncate(limit);
        events.last().map(|e| e.id.to_string())
    } else {
        None
    };
    let mut listed = Vec::with_capacity(events.len());
    for event in &events {
        let mut value: Value = serde_json::from_str(&event.json)
            .map_err(|e| ApiError::internal(format!("stored event {} is not JSON: {e}", event.id)))?;
        if !include_data {
            strip_data(&mut value);
        }
        listed.push(value);
    }
    let mut answer = json!({"events": listed});
    if let Some(next) = next {
        answer["nextToken"] = json!(next);
    }
    Ok(answer)
}

/// `includeExecutionData: false`: the events without inputs, outputs, parameters and causes.
fn strip_data(event: &mut Value) {
    if let Some(object) = event.as_object_mut() {
        for (key, details) in object.iter_mut() {
            if key.ends_with("EventDetails")
                && let Some(details) = details.as_object_mut()
            {
                details.retain(|field, _| {
                    !matches!(field.as_str(), "input" | "output" | "parameters" | "cause")
                });
            }
        }
    }
}

async fn stop_execution(app: &App, request: &Request) -> Result<Value, ApiError> {
    let arn = request.required("executionArn")?;
    execution(app, arn).await?;
    let error = request.string("error")?.map(str::to_owned);
    let cause = request.string("cause")?.map(str::to_owned);
    let stopped = app.local.stop_execution(arn, error, cause).await?;
    let stop = stopped
        .stop_date
        .unwrap_or_else(|| rfc3339(OffsetDateTime::now_utc()));
    Ok(json!({"stopDate": epoch_seconds(&stop)}))
}

async fn send_task_success(app: &App, request: &Request) -> Result<Value, ApiError> {
    let token = request.required("taskToken")?;
    let text = request.required("output")?;
    if text.len() > MAX_PAYLOAD_BYTES {
        return Err(ApiError::new(
            "InvalidOutput",
            "Invalid Output: over the 262144-byte limit",
        ));
    }
    let output: stepcart_asl::Value = serde_json::from_str(text)
        .map_err(|e| ApiError::new("InvalidOutput", format!("Invalid Output: {e}")))?;
    let event = ExternalEvent::TaskTokenSucceeded {
        token: token.to_owned(),
        output,
    };
    app.local.send_task_event(token, event).await?;
    Ok(json!({}))
}

async fn send_task_failure(app: &App, request: &Request) -> Result<Value, ApiError> {
    let token = request.required("taskToken")?;
    let event = ExternalEvent::TaskTokenFailed {
        token: token.to_owned(),
        error: request.string("error")?.unwrap_or_default().to_owned(),
        cause: request.string("cause")?.map(str::to_owned),
    };
    app.local.send_task_event(token, event).await?;
    Ok(json!({}))
}

async fn send_task_heartbeat(app: &App, request: &Request) -> Result<Value, ApiError> {
    let token = request.required("taskToken")?;
    let event = ExternalEvent::TaskTokenHeartbeat {
        token: token.to_owned(),
    };
    app.local.send_task_event(token, event).await?;
    Ok(json!({}))
}
