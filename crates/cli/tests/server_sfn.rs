//! `stepcart serve` through the real Step Functions client: the binary is started on a free port with a
//! fresh store, and driven with aws-sdk-sfn (dummy credentials, `endpoint_url`), with raw HTTP for the
//! checkout and Stripe webhook routes, and with `stepcart executions` as a subprocess. Built with
//! `--features aws` (scripts/test.sh builds the workspace with all features).
#![cfg(feature = "aws")]
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "common/server.rs"]
mod server;

use std::collections::BTreeSet;
use std::io::Read;
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use aws_sdk_sfn::Client;
use aws_sdk_sfn::config::interceptors::BeforeTransmitInterceptorContextMut;
use aws_sdk_sfn::config::{BehaviorVersion, ConfigBag, Credentials, Intercept, Region, RuntimeComponents};
use aws_sdk_sfn::error::{BoxError, ProvideErrorMetadata, SdkError};
use aws_sdk_sfn::operation::describe_execution::DescribeExecutionOutput;
use aws_sdk_sfn::types::{
    ExecutionStatus, HistoryEvent, StateMachineType, SyncExecutionStatus,
    ValidateStateMachineDefinitionResultCode,
};
use serde_json::{Value, json};
use server::{Server, WEBHOOK_SECRET_ARGS, example_cart, now_unix, sign};

const CHECKOUT_MACHINE: &str = "arn:aws:states:us-east-1:000000000000:stateMachine:stepcart-local-checkout";
const ROLE: &str = "arn:aws:iam::000000000000:role/x";
const WAIT: Duration = Duration::from_secs(30);

/// `{"ok": true, "who": W}` succeeds with `{"greeting": "hello W"}`; anything else fails with NotOk.
const GREETER: &str = r#"{
  "Comment": "stepcart server test",
  "StartAt": "Check",
  "States": {
    "Check": {"Type": "Choice", "Choices": [{"Variable": "$.ok", "BooleanEquals": true, "Next": "Greet"}],
              "Default": "Refuse"},
    "Greet": {"Type": "Pass", "Parameters": {"greeting.$": "States.Format('hello {}', $.who)"}, "End": true},
    "Refuse": {"Type": "Fail", "Error": "NotOk", "Cause": "ok was not true"}
  }
}"#;

fn greeter_v2() -> String {
    GREETER.replace("hello {}", "hi {}")
}

// ------------------------------------------------------------------------------------------- server

/// The clients this file drives the shared server with.
trait Clients {
    fn sfn(&self) -> Client;
    fn executions(&self, args: &[&str]) -> Output;
    fn executions_command(&self, args: &[&str]) -> Command;
}

impl Clients for Server {
    fn sfn(&self) -> Client {
        let config = aws_sdk_sfn::Config::builder()
            .behavior_version(BehaviorVersion::latest())
            .endpoint_url(&self.url)
            .region(Region::new("us-east-1"))
            .credentials_provider(Credentials::new("test", "test", None, None, "test"))
            .interceptor(StripHostPrefix)
            .build();
        Client::from_conf(config)
    }

    /// `stepcart executions ...` against this server, as a subprocess.
    fn executions(&self, args: &[&str]) -> Output {
        self.executions_command(args)
            .output()
            .expect("run stepcart executions")
    }

    fn executions_command(&self, args: &[&str]) -> Command {
        let mut command = Command::new(env!("CARGO_BIN_EXE_stepcart"));
        command
            .arg("executions")
            .args(args)
            .args(["--endpoint-url", &self.url])
            .current_dir(self.dir())
            .env("AWS_ACCESS_KEY_ID", "test")
            .env("AWS_SECRET_ACCESS_KEY", "test")
            .env("AWS_REGION", "us-east-1")
            .env_remove("AWS_ENDPOINT_URL")
            .env_remove("AWS_PROFILE")
            .env_remove("STEPCART_DB");
        command
    }
}

/// The SDK puts StartSyncExecution's `sync-` host prefix in front of any endpoint, even 127.0.0.1 (as
/// every AWS SDK does: aws/aws-sdk-js-v3#7146); a local server is reached without it.
#[derive(Debug)]
struct StripHostPrefix;

impl Intercept for StripHostPrefix {
    fn name(&self) -> &'static str {
        "StripHostPrefix"
    }

    fn modify_before_transmit(
        &self,
        context: &mut BeforeTransmitInterceptorContextMut<'_>,
        _runtime_components: &RuntimeComponents,
        _cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let uri = context.request().uri().replacen("://sync-", "://", 1);
        context.request_mut().set_uri(uri)?;
        Ok(())
    }
}

// ------------------------------------------------------------------------------------------ helpers

/// The error code of a call that must fail (`__type` of the AWS JSON error).
fn code<T: std::fmt::Debug, E: ProvideErrorMetadata + std::fmt::Debug, R: std::fmt::Debug>(
    result: Result<T, SdkError<E, R>>,
) -> String {
    match result {
        Ok(value) => panic!("expected an error, got {value:?}"),
        Err(error) => error
            .code()
            .map(str::to_owned)
            .unwrap_or_else(|| panic!("an error without a code: {error:?}")),
    }
}

fn parse(text: Option<&str>) -> Value {
    serde_json::from_str(text.expect("a JSON document")).expect("JSON text")
}

async fn create_greeter(sfn: &Client, name: &str) -> String {
    sfn.create_state_machine()
        .name(name)
        .definition(GREETER)
        .role_arn(ROLE)
        .send()
        .await
        .expect("CreateStateMachine")
        .state_machine_arn()
        .to_owned()
}

async fn start(sfn: &Client, machine: &str, name: &str, input: &Value) -> String {
    sfn.start_execution()
        .state_machine_arn(machine)
        .name(name)
        .input(input.to_string())
        .send()
        .await
        .unwrap_or_else(|e| panic!("StartExecution {name}: {e:?}"))
        .execution_arn()
        .to_owned()
}

async fn describe(sfn: &Client, arn: &str) -> DescribeExecutionOutput {
    sfn.describe_execution()
        .execution_arn(arn)
        .send()
        .await
        .unwrap_or_else(|e| panic!("DescribeExecution {arn}: {e:?}"))
}

async fn wait_until_done(sfn: &Client, arn: &str) -> DescribeExecutionOutput {
    let deadline = Instant::now() + WAIT;
    loop {
        let execution = describe(sfn, arn).await;
        if *execution.status() != ExecutionStatus::Running {
            return execution;
        }
        assert!(Instant::now() < deadline, "{arn} still RUNNING after {WAIT:?}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn history(sfn: &Client, arn: &str, reverse: bool) -> Vec<HistoryEvent> {
    sfn.get_execution_history()
        .execution_arn(arn)
        .reverse_order(reverse)
        .into_paginator()
        .items()
        .send()
        .try_collect()
        .await
        .expect("GetExecutionHistory")
}

fn types(events: &[HistoryEvent]) -> Vec<&str> {
    events.iter().map(|e| e.r#type().as_str()).collect()
}

fn ids(events: &[HistoryEvent]) -> Vec<i64> {
    events.iter().map(HistoryEvent::id).collect()
}

/// POST /checkouts with a cart from examples/carts under the execution name `name`: the execution ARN.
fn post_checkout(server: &Server, cart: &str, name: &str) -> String {
    let body = example_cart(cart);
    let response = server.http(
        "POST",
        "/checkouts",
        &[("Content-Type", "application/json"), ("Idempotency-Key", name)],
        &body,
    );
    assert_eq!(response.status, 202, "POST /checkouts: {}", response.body);
    let answer = response.json();
    // AWS's JSON protocol sends dates as epoch seconds; RFC 3339 text is fine too.
    assert!(
        answer["startDate"].is_number() || answer["startDate"].is_string(),
        "{answer}"
    );
    let arn = answer["executionArn"].as_str().expect("executionArn").to_owned();
    assert_eq!(
        arn,
        format!("arn:aws:states:us-east-1:000000000000:execution:stepcart-local-checkout:{name}")
    );
    arn
}

/// GET /checkouts/{name} until it shows `nextAction.paymentId` (the checkout waits for 3-D Secure).
fn wait_for_next_action(server: &Server, name: &str) -> Value {
    let deadline = Instant::now() + WAIT;
    loop {
        let response = server.http("GET", &format!("/checkouts/{name}"), &[], "");
        assert_eq!(response.status, 200, "GET /checkouts/{name}: {}", response.body);
        let status = response.json();
        if status["nextAction"]["paymentId"].is_string() {
            assert_eq!(status["status"], "RUNNING", "{status}");
            assert_eq!(status["nextAction"]["type"], "authenticate_payment", "{status}");
            return status;
        }
        assert!(
            status["status"] == "RUNNING" && Instant::now() < deadline,
            "no nextAction for {name}: {status}\nlog:\n{}",
            server.log()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn payment_succeeded_event(payment_id: &str) -> String {
    server::stripe_event(
        "evt_1",
        "payment_intent.succeeded",
        json!({"id": payment_id, "object": "payment_intent"}),
    )
}

/// The task token the checkout's WaitForAuthentication state handed to its function.
fn task_token(events: &[HistoryEvent]) -> String {
    events
        .iter()
        .filter_map(HistoryEvent::task_scheduled_event_details)
        .filter_map(|d| serde_json::from_str::<Value>(d.parameters()).ok())
        .find_map(|p| p["Payload"]["taskToken"].as_str().map(str::to_owned))
        .expect("a TaskScheduled event whose parameters carry Payload.taskToken")
}

fn wait_child(child: &mut Child, what: &str) -> (i32, String, String) {
    let deadline = Instant::now() + WAIT;
    loop {
        if let Some(status) = child.try_wait().expect("try_wait") {
            let mut stdout = String::new();
            let mut stderr = String::new();
            if let Some(mut out) = child.stdout.take() {
                let _ = out.read_to_string(&mut stdout);
            }
            if let Some(mut err) = child.stderr.take() {
                let _ = err.read_to_string(&mut stderr);
            }
            return (status.code().unwrap_or(-1), stdout, stderr);
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("{what} did not end within {WAIT:?}");
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn stdout_json(output: &Output) -> Value {
    let stdout = String::from_utf8_lossy(&output.stdout);
    serde_json::from_str(stdout.trim()).unwrap_or_else(|e| {
        panic!(
            "stdout is not JSON ({e}):\n{stdout}\nstderr:\n{}",
            String::from_utf8_lossy(&output.stderr)
        )
    })
}

// -------------------------------------------------------------------------------------------- tests

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn state_machines_are_created_described_updated_listed_and_validated() {
    let server = Server::fresh("machines", &WEBHOOK_SECRET_ARGS, &[]);
    let sfn = server.sfn();

    // The checkout machine is registered when the server starts.
    let listed = sfn.list_state_machines().send().await.expect("ListStateMachines");
    let checkout = listed
        .state_machines()
        .iter()
        .find(|m| m.state_machine_arn() == CHECKOUT_MACHINE)
        .unwrap_or_else(|| panic!("no checkout machine in {listed:?}"));
    assert_eq!(checkout.name(), "stepcart-local-checkout");
    assert_eq!(*checkout.r#type(), StateMachineType::Standard);
    let described = sfn
        .describe_state_machine()
        .state_machine_arn(CHECKOUT_MACHINE)
        .send()
        .await
        .expect("DescribeStateMachine checkout");
    let definition: Value = serde_json::from_str(described.definition()).expect("definition JSON");
    assert!(
        definition["States"]["WaitForAuthentication"].is_object(),
        "{definition}"
    );
    assert!(
        !described.definition().contains("${"),
        "placeholders left in the checkout definition"
    );

    // Create, describe.
    let created = sfn
        .create_state_machine()
        .name("greeter")
        .definition(GREETER)
        .role_arn(ROLE)
        .send()
        .await
        .expect("CreateStateMachine");
    let arn = created.state_machine_arn().to_owned();
    assert_eq!(arn, "arn:aws:states:us-east-1:000000000000:stateMachine:greeter");
    let described = sfn
        .describe_state_machine()
        .state_machine_arn(&arn)
        .send()
        .await
        .expect("DescribeStateMachine");
    assert_eq!(described.name(), "greeter");
    assert_eq!(described.role_arn(), ROLE);
    assert_eq!(*described.r#type(), StateMachineType::Standard);
    assert_eq!(
        serde_json::from_str::<Value>(described.definition()).expect("JSON"),
        serde_json::from_str::<Value>(GREETER).expect("JSON")
    );

    // The same name again: the same definition is idempotent (AWS), another one is refused.
    let again = sfn
        .create_state_machine()
        .name("greeter")
        .definition(GREETER)
        .role_arn(ROLE)
        .send()
        .await
        .expect("CreateStateMachine with the same name and definition");
    assert_eq!(again.state_machine_arn(), arn);
    assert_eq!(
        code(
            sfn.create_state_machine()
                .name("greeter")
                .definition(greeter_v2())
                .role_arn(ROLE)
                .send()
                .await
        ),
        "StateMachineAlreadyExists"
    );

    // Update: the new definition is described and used by new executions.
    sfn.update_state_machine()
        .state_machine_arn(&arn)
        .definition(greeter_v2())
        .send()
        .await
        .expect("UpdateStateMachine");
    let described = sfn
        .describe_state_machine()
        .state_machine_arn(&arn)
        .send()
        .await
        .expect("DescribeStateMachine after update");
    assert!(
        described.definition().contains("hi {}"),
        "{}",
        described.definition()
    );
    let execution = start(&sfn, &arn, "after-update", &json!({"ok": true, "who": "ada"})).await;
    let done = wait_until_done(&sfn, &execution).await;
    assert_eq!(*done.status(), ExecutionStatus::Succeeded);
    assert_eq!(parse(done.output()), json!({"greeting": "hi ada"}));
    assert_eq!(
        code(
            sfn.update_state_machine()
                .state_machine_arn("arn:aws:states:us-east-1:000000000000:stateMachine:nobody")
                .definition(GREETER)
                .send()
                .await
        ),
        "StateMachineDoesNotExist"
    );

    // Listed, with the checkout machine.
    let listed = sfn.list_state_machines().send().await.expect("ListStateMachines");
    let names: BTreeSet<&str> = listed.state_machines().iter().map(|m| m.name()).collect();
    assert!(
        names.contains("greeter") && names.contains("stepcart-local-checkout"),
        "{names:?}"
    );
    let paged: Vec<_> = sfn
        .list_state_machines()
        .into_paginator()
        .page_size(1)
        .items()
        .send()
        .try_collect()
        .await
        .expect("ListStateMachines pages");
    assert_eq!(paged.len(), listed.state_machines().len(), "{paged:?}");

    // Refused definitions and names.
    for bad in [
        "not json",
        r#"{"StartAt": "Nowhere", "States": {}}"#,
        r#"{"StartAt": "A", "States": {"A": {"Type": "Pass", "Next": "Missing"}}}"#,
    ] {
        assert_eq!(
            code(
                sfn.create_state_machine()
                    .name("broken")
                    .definition(bad)
                    .role_arn(ROLE)
                    .send()
                    .await
            ),
            "InvalidDefinition",
            "definition {bad}"
        );
    }
    assert_eq!(
        code(
            sfn.create_state_machine()
                .name("bad name!")
                .definition(GREETER)
                .role_arn(ROLE)
                .send()
                .await
        ),
        "InvalidName"
    );

    // ValidateStateMachineDefinition.
    let valid = sfn
        .validate_state_machine_definition()
        .definition(GREETER)
        .send()
        .await
        .expect("ValidateStateMachineDefinition");
    assert_eq!(*valid.result(), ValidateStateMachineDefinitionResultCode::Ok);
    assert!(valid.diagnostics().is_empty(), "{valid:?}");
    let invalid = sfn
        .validate_state_machine_definition()
        .definition(r#"{"StartAt": "A", "States": {"A": {"Type": "Pass", "Next": "Missing"}}}"#)
        .send()
        .await
        .expect("ValidateStateMachineDefinition");
    assert_eq!(*invalid.result(), ValidateStateMachineDefinitionResultCode::Fail);
    assert!(!invalid.diagnostics().is_empty(), "{invalid:?}");

    // Delete.
    let doomed = create_greeter(&sfn, "doomed").await;
    sfn.delete_state_machine()
        .state_machine_arn(&doomed)
        .send()
        .await
        .expect("DeleteStateMachine");
    assert_eq!(
        code(
            sfn.describe_state_machine()
                .state_machine_arn(&doomed)
                .send()
                .await
        ),
        "StateMachineDoesNotExist"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn executions_run_to_the_end_and_are_idempotent_by_name() {
    let server = Server::fresh("executions", &WEBHOOK_SECRET_ARGS, &[]);
    let sfn = server.sfn();
    let machine = create_greeter(&sfn, "greeter").await;
    let input = json!({"ok": true, "who": "ada"});

    let started = sfn
        .start_execution()
        .state_machine_arn(&machine)
        .name("run-1")
        .input(input.to_string())
        .send()
        .await
        .expect("StartExecution");
    let arn = started.execution_arn().to_owned();
    assert_eq!(
        arn,
        "arn:aws:states:us-east-1:000000000000:execution:greeter:run-1"
    );
    let done = wait_until_done(&sfn, &arn).await;
    assert_eq!(*done.status(), ExecutionStatus::Succeeded, "{done:?}");
    assert_eq!(done.name(), Some("run-1"));
    assert_eq!(done.state_machine_arn(), machine);
    assert_eq!(parse(done.input()), input);
    assert_eq!(parse(done.output()), json!({"greeting": "hello ada"}));
    assert!(done.stop_date().is_some());
    assert!(done.start_date() <= done.stop_date().expect("stopDate"));

    // As on AWS: the same name again is refused once the execution has ended, whatever the input (the
    // same name and input while it runs is the same execution: see the 3-D Secure test).
    for other in [input.clone(), json!({"ok": true, "who": "bob"})] {
        assert_eq!(
            code(
                sfn.start_execution()
                    .state_machine_arn(&machine)
                    .name("run-1")
                    .input(other.to_string())
                    .send()
                    .await
            ),
            "ExecutionAlreadyExists",
            "StartExecution run-1 again with {other}"
        );
    }

    // Without a name: one is generated.
    let unnamed = sfn
        .start_execution()
        .state_machine_arn(&machine)
        .input(input.to_string())
        .send()
        .await
        .expect("StartExecution without a name");
    assert!(
        unnamed
            .execution_arn()
            .starts_with("arn:aws:states:us-east-1:000000000000:execution:greeter:")
    );
    assert_ne!(unnamed.execution_arn(), arn);
    assert_eq!(
        *wait_until_done(&sfn, unnamed.execution_arn()).await.status(),
        ExecutionStatus::Succeeded
    );

    // A failing one.
    let failing = start(&sfn, &machine, "run-2", &json!({"ok": false})).await;
    let failed = wait_until_done(&sfn, &failing).await;
    assert_eq!(*failed.status(), ExecutionStatus::Failed);
    assert_eq!(failed.error(), Some("NotOk"));
    assert_eq!(failed.cause(), Some("ok was not true"));
    assert_eq!(failed.output(), None);

    // DescribeStateMachineForExecution.
    let for_execution = sfn
        .describe_state_machine_for_execution()
        .execution_arn(&arn)
        .send()
        .await
        .expect("DescribeStateMachineForExecution");
    assert_eq!(for_execution.state_machine_arn(), machine);
    assert_eq!(for_execution.name(), "greeter");

    // StartSyncExecution (an EXPRESS machine, as AWS requires).
    let express = sfn
        .create_state_machine()
        .name("greeter-express")
        .r#type(StateMachineType::Express)
        .definition(GREETER)
        .role_arn(ROLE)
        .send()
        .await
        .expect("CreateStateMachine EXPRESS")
        .state_machine_arn()
        .to_owned();
    let sync = sfn
        .start_sync_execution()
        .state_machine_arn(&express)
        .name("sync-1")
        .input(json!({"ok": true, "who": "grace"}).to_string())
        .send()
        .await
        .expect("StartSyncExecution");
    assert_eq!(*sync.status(), SyncExecutionStatus::Succeeded, "{sync:?}");
    assert_eq!(parse(sync.output()), json!({"greeting": "hello grace"}));
    assert!(sync.stop_date() >= sync.start_date());
    let sync_failed = sfn
        .start_sync_execution()
        .state_machine_arn(&express)
        .input(json!({"ok": false}).to_string())
        .send()
        .await
        .expect("StartSyncExecution failing");
    assert_eq!(
        *sync_failed.status(),
        SyncExecutionStatus::Failed,
        "{sync_failed:?}"
    );
    assert_eq!(sync_failed.error(), Some("NotOk"));

    // Errors in AWS's shape.
    let unknown = sfn
        .describe_execution()
        .execution_arn("arn:aws:states:us-east-1:000000000000:execution:greeter:nobody")
        .send()
        .await
        .expect_err("DescribeExecution of an unknown execution");
    assert_eq!(unknown.code(), Some("ExecutionDoesNotExist"), "{unknown:?}");
    assert_eq!(unknown.raw_response().map(|r| r.status().as_u16()), Some(400));
    assert!(unknown.into_service_error().is_execution_does_not_exist());
    assert_eq!(
        code(sfn.describe_execution().execution_arn("not-an-arn").send().await),
        "InvalidArn"
    );
    assert_eq!(
        code(
            sfn.start_execution()
                .state_machine_arn("arn:aws:states:us-east-1:000000000000:stateMachine:nobody")
                .name("x")
                .input("{}")
                .send()
                .await
        ),
        "StateMachineDoesNotExist"
    );
    assert_eq!(
        code(
            sfn.start_execution()
                .state_machine_arn(&machine)
                .name("bad-input")
                .input("{not json")
                .send()
                .await
        ),
        "InvalidExecutionInput"
    );
    assert_eq!(
        code(
            sfn.send_task_success()
                .task_token("garbage")
                .output("{}")
                .send()
                .await
        ),
        "InvalidToken"
    );
    assert_eq!(
        code(sfn.send_task_failure().task_token("garbage").send().await),
        "InvalidToken"
    );
    assert_eq!(
        code(sfn.send_task_heartbeat().task_token("garbage").send().await),
        "InvalidToken"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn executions_and_history_are_listed_by_pages() {
    let server = Server::fresh("pages", &WEBHOOK_SECRET_ARGS, &[]);
    let sfn = server.sfn();
    let machine = create_greeter(&sfn, "greeter").await;
    let mut arns = Vec::new();
    for i in 0..5 {
        let name = format!("ok-{i}");
        arns.push(start(&sfn, &machine, &name, &json!({"ok": true, "who": name})).await);
    }
    let failing = start(&sfn, &machine, "ko-0", &json!({"ok": false})).await;
    arns.push(failing.clone());
    for arn in &arns {
        wait_until_done(&sfn, arn).await;
    }

    // maxResults 2, walking nextToken: every execution once, newest first.
    let mut seen = Vec::new();
    let mut token: Option<String> = None;
    let mut pages = 0;
    loop {
        let page = sfn
            .list_executions()
            .state_machine_arn(&machine)
            .max_results(2)
            .set_next_token(token.clone())
            .send()
            .await
            .expect("ListExecutions page");
        pages += 1;
        assert!(page.executions().len() <= 2, "{page:?}");
        seen.extend(page.executions().iter().cloned());
        token = page.next_token().map(str::to_owned);
        if token.is_none() {
            break;
        }
        assert!(pages < 10, "ListExecutions does not end");
    }
    assert!((3..=4).contains(&pages), "{pages} pages");
    let names: Vec<&str> = seen.iter().map(|e| e.name()).collect();
    let unique: BTreeSet<&str> = names.iter().copied().collect();
    assert_eq!(unique.len(), names.len(), "duplicates in {names:?}");
    assert_eq!(
        unique,
        BTreeSet::from(["ok-0", "ok-1", "ok-2", "ok-3", "ok-4", "ko-0"])
    );
    for pair in seen.windows(2) {
        assert!(
            pair[0].start_date() >= pair[1].start_date(),
            "not newest first: {names:?}"
        );
    }
    let item = seen.iter().find(|e| e.name() == "ko-0").expect("ko-0");
    assert_eq!(item.execution_arn(), failing);
    assert_eq!(item.state_machine_arn(), machine);
    assert_eq!(*item.status(), ExecutionStatus::Failed);
    assert!(item.stop_date().is_some());

    // The SDK paginator sees the same, and statusFilter filters.
    let all: Vec<_> = sfn
        .list_executions()
        .state_machine_arn(&machine)
        .into_paginator()
        .page_size(2)
        .items()
        .send()
        .try_collect()
        .await
        .expect("ListExecutions paginator");
    assert_eq!(all.len(), 6);
    let count = |status: ExecutionStatus| {
        let sfn = sfn.clone();
        let machine = machine.clone();
        async move {
            sfn.list_executions()
                .state_machine_arn(machine)
                .status_filter(status)
                .into_paginator()
                .items()
                .send()
                .try_collect()
                .await
                .expect("ListExecutions statusFilter")
        }
    };
    let succeeded = count(ExecutionStatus::Succeeded).await;
    assert_eq!(succeeded.len(), 5);
    assert!(
        succeeded
            .iter()
            .all(|e| *e.status() == ExecutionStatus::Succeeded)
    );
    let failed = count(ExecutionStatus::Failed).await;
    assert_eq!(failed.iter().map(|e| e.name()).collect::<Vec<_>>(), ["ko-0"]);
    assert!(count(ExecutionStatus::Running).await.is_empty());
    assert_eq!(
        code(
            sfn.list_executions()
                .state_machine_arn("arn:aws:states:us-east-1:000000000000:stateMachine:nobody")
                .send()
                .await
        ),
        "StateMachineDoesNotExist"
    );

    // History: event types, ids and links; pages of 2; reverse order.
    let events = history(&sfn, &arns[0], false).await;
    assert_eq!(
        types(&events),
        [
            "ExecutionStarted",
            "ChoiceStateEntered",
            "ChoiceStateExited",
            "PassStateEntered",
            "PassStateExited",
            "ExecutionSucceeded"
        ]
    );
    assert_eq!(ids(&events), [1, 2, 3, 4, 5, 6]);
    assert_eq!(events[0].previous_event_id(), 0);
    for pair in events.windows(2) {
        assert!(pair[1].previous_event_id() >= 1 && pair[1].previous_event_id() < pair[1].id());
        assert!(pair[0].timestamp() <= pair[1].timestamp());
    }
    let started = events[0].execution_started_event_details().expect("details");
    assert_eq!(parse(started.input()), json!({"ok": true, "who": "ok-0"}));
    assert_eq!(
        events[1].state_entered_event_details().expect("details").name(),
        "Check"
    );
    let exited = events[4].state_exited_event_details().expect("details");
    assert_eq!(exited.name(), "Greet");
    assert_eq!(parse(exited.output()), json!({"greeting": "hello ok-0"}));
    let succeeded = events[5].execution_succeeded_event_details().expect("details");
    assert_eq!(parse(succeeded.output()), json!({"greeting": "hello ok-0"}));

    let mut paged = Vec::new();
    let mut token: Option<String> = None;
    for _ in 0..10 {
        let page = sfn
            .get_execution_history()
            .execution_arn(&arns[0])
            .max_results(2)
            .set_next_token(token.clone())
            .send()
            .await
            .expect("GetExecutionHistory page");
        assert!(page.events().len() <= 2);
        paged.extend(page.events().iter().cloned());
        token = page.next_token().map(str::to_owned);
        if token.is_none() {
            break;
        }
    }
    assert_eq!(token, None, "GetExecutionHistory does not end");
    assert_eq!(ids(&paged), [1, 2, 3, 4, 5, 6]);

    let reversed = history(&sfn, &arns[0], true).await;
    assert_eq!(ids(&reversed), [6, 5, 4, 3, 2, 1]);
    let mut reversed_paged = Vec::new();
    let mut token: Option<String> = None;
    for _ in 0..10 {
        let page = sfn
            .get_execution_history()
            .execution_arn(&arns[0])
            .reverse_order(true)
            .max_results(4)
            .set_next_token(token.clone())
            .send()
            .await
            .expect("GetExecutionHistory reverse page");
        reversed_paged.extend(page.events().iter().cloned());
        token = page.next_token().map(str::to_owned);
        if token.is_none() {
            break;
        }
    }
    assert_eq!(ids(&reversed_paged), [6, 5, 4, 3, 2, 1]);

    let failed_events = history(&sfn, &failing, false).await;
    assert_eq!(
        types(&failed_events),
        [
            "ExecutionStarted",
            "ChoiceStateEntered",
            "ChoiceStateExited",
            "FailStateEntered",
            "ExecutionFailed"
        ]
    );
    let details = failed_events[4]
        .execution_failed_event_details()
        .expect("details");
    assert_eq!(details.error(), Some("NotOk"));
    assert_eq!(details.cause(), Some("ok was not true"));
    assert_eq!(
        code(
            sfn.get_execution_history()
                .execution_arn("arn:aws:states:us-east-1:000000000000:execution:greeter:nobody")
                .send()
                .await
        ),
        "ExecutionDoesNotExist"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_three_d_secure_checkout_is_resumed_by_the_stripe_webhook() {
    let server = Server::fresh("webhook", &WEBHOOK_SECRET_ARGS, &[]);
    let sfn = server.sfn();
    let arn = post_checkout(&server, "three-d-secure", "tds-1");
    let status = wait_for_next_action(&server, "tds-1");
    let payment_id = status["nextAction"]["paymentId"]
        .as_str()
        .expect("paymentId")
        .to_owned();
    assert!(payment_id.starts_with("pi_"), "{status}");
    assert_eq!(status["executionArn"], arn.as_str());

    // Waiting: RUNNING, and the history shows the task token handed out.
    let waiting = describe(&sfn, &arn).await;
    assert_eq!(*waiting.status(), ExecutionStatus::Running);
    assert_eq!(waiting.state_machine_arn(), CHECKOUT_MACHINE);
    let events = history(&sfn, &arn, false).await;
    let token = task_token(&events);
    assert!(types(&events).contains(&"TaskScheduled"), "{:?}", types(&events));
    assert_eq!(
        types(&events).last(),
        Some(&"TaskSubmitted"),
        "{:?}",
        types(&events)
    );
    sfn.send_task_heartbeat()
        .task_token(&token)
        .send()
        .await
        .expect("SendTaskHeartbeat with the waiting token");

    // The same Idempotency-Key again: the same execution; StartExecution with the same name and input
    // while it runs: the same execution too; with another input: refused.
    assert_eq!(post_checkout(&server, "three-d-secure", "tds-1"), arn);
    let again = sfn
        .start_execution()
        .state_machine_arn(CHECKOUT_MACHINE)
        .name("tds-1")
        .input(waiting.input().expect("input"))
        .send()
        .await
        .expect("StartExecution with the same name and input while it runs");
    assert_eq!(again.execution_arn(), arn);
    assert_eq!(again.start_date(), waiting.start_date());
    assert_eq!(
        code(
            sfn.start_execution()
                .state_machine_arn(CHECKOUT_MACHINE)
                .name("tds-1")
                .input("{}")
                .send()
                .await
        ),
        "ExecutionAlreadyExists"
    );

    // `stepcart executions history --watch` follows it to the end.
    let mut watcher = server
        .executions_command(&["--json", "history", &arn, "--watch"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("stepcart executions history --watch");
    tokio::time::sleep(Duration::from_millis(1500)).await;

    // Bad signatures are refused and change nothing.
    let body = payment_succeeded_event(&payment_id);
    let forged = format!("t={},v1={}", now_unix(), "0".repeat(64));
    assert_eq!(server.webhook(&body, Some(&forged)).status, 400);
    let wrong_secret = stepcart_stripe_webhook::signature_header(body.as_bytes(), "whsec_other", now_unix());
    assert_eq!(server.webhook(&body, Some(&wrong_secret)).status, 400);
    let missing = server.http(
        "POST",
        "/webhooks/stripe",
        &[("Content-Type", "application/json")],
        &body,
    );
    assert_eq!(missing.status, 400, "{}", missing.body);
    assert_eq!(*describe(&sfn, &arn).await.status(), ExecutionStatus::Running);

    // The signed event resumes it.
    let response = server.webhook(&body, Some(&sign(&body)));
    assert_eq!(response.status, 200, "{}", response.body);
    let done = wait_until_done(&sfn, &arn).await;
    assert_eq!(
        *done.status(),
        ExecutionStatus::Succeeded,
        "{done:?}\n{}",
        server.log()
    );
    let output = parse(done.output());
    assert_eq!(output["status"], "CONFIRMED", "{output}");
    assert_eq!(output["paymentId"], payment_id.as_str(), "{output}");
    assert!(
        output["orderId"].as_str().is_some_and(|o| o.starts_with("ord_")),
        "{output}"
    );
    let events = history(&sfn, &arn, false).await;
    assert_eq!(types(&events).last(), Some(&"ExecutionSucceeded"));
    assert!(types(&events).contains(&"TaskSucceeded"), "{:?}", types(&events));

    // The watcher printed every event once, in order, and exited 0.
    let (code_, stdout, stderr) = wait_child(&mut watcher, "history --watch");
    assert_eq!(code_, 0, "stdout:\n{stdout}\nstderr:\n{stderr}");
    let watched: Vec<Value> = stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}")))
        .collect();
    let watched_ids: Vec<i64> = watched.iter().map(|e| e["id"].as_i64().expect("id")).collect();
    assert_eq!(watched_ids, ids(&events), "{stdout}");
    assert_eq!(watched.last().expect("events")["type"], "ExecutionSucceeded");

    // A replayed event is accepted and changes nothing.
    let response = server.webhook(&body, Some(&sign(&body)));
    assert_eq!(response.status, 200, "{}", response.body);
    tokio::time::sleep(Duration::from_millis(500)).await;
    let after = describe(&sfn, &arn).await;
    assert_eq!(*after.status(), ExecutionStatus::Succeeded);
    assert_eq!(after.output(), done.output());
    assert_eq!(after.stop_date(), done.stop_date());
    assert_eq!(ids(&history(&sfn, &arn, false).await), ids(&events));

    // The token is spent (checked last, below).
    let spent = code(
        sfn.send_task_success()
            .task_token(&token)
            .output("{}")
            .send()
            .await,
    );

    // GET /checkouts shows the result, without a nextAction.
    let status = server.http("GET", "/checkouts/tds-1", &[], "").json();
    assert_eq!(status["status"], "SUCCEEDED", "{status}");
    assert!(status.get("nextAction").is_none_or(Value::is_null), "{status}");
    assert_eq!(parse(status["output"].as_str()), output);
    assert_eq!(server.http("GET", "/checkouts/nobody", &[], "").status, 404);
    // As on AWS, a token whose task is over is TaskTimedOut (not InvalidToken, which is for tokens
    // that never were).
    assert!(
        ["TaskTimedOut", "TaskDoesNotExist"].contains(&spent.as_str()),
        "SendTaskSuccess with a spent token: {spent}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn waiting_checkouts_can_be_stopped_or_failed_through_the_api() {
    let server = Server::fresh("stop", &WEBHOOK_SECRET_ARGS, &[]);
    let sfn = server.sfn();

    // StopExecution of a checkout waiting for 3-D Secure: ABORTED, and `describe --watch` exits 1.
    let arn = post_checkout(&server, "three-d-secure", "tds-stop");
    wait_for_next_action(&server, "tds-stop");
    let mut watcher = server
        .executions_command(&["--json", "describe", &arn, "--watch"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("stepcart executions describe --watch");
    tokio::time::sleep(Duration::from_millis(1000)).await;
    let stopped = sfn
        .stop_execution()
        .execution_arn(&arn)
        .error("UserCancelled")
        .cause("the shopper left")
        .send()
        .await
        .expect("StopExecution");
    let aborted = wait_until_done(&sfn, &arn).await;
    assert_eq!(*aborted.status(), ExecutionStatus::Aborted);
    assert_eq!(aborted.error(), Some("UserCancelled"));
    assert_eq!(aborted.cause(), Some("the shopper left"));
    assert_eq!(aborted.stop_date(), Some(stopped.stop_date()));
    let events = history(&sfn, &arn, false).await;
    assert_eq!(types(&events).last(), Some(&"ExecutionAborted"));
    let (code_, stdout, stderr) = wait_child(&mut watcher, "describe --watch");
    assert_eq!(code_, 1, "stdout:\n{stdout}\nstderr:\n{stderr}");
    let watched: Value = serde_json::from_str(stdout.trim()).expect("describe --watch JSON");
    assert_eq!(watched["status"], "ABORTED");
    assert_eq!(watched["executionArn"], arn.as_str());
    let status = server.http("GET", "/checkouts/tds-stop", &[], "").json();
    assert_eq!(status["status"], "ABORTED", "{status}");

    // SendTaskFailure with the real token: the checkout compensates and fails.
    let arn = post_checkout(&server, "three-d-secure", "tds-fail");
    wait_for_next_action(&server, "tds-fail");
    let token = task_token(&history(&sfn, &arn, false).await);
    sfn.send_task_failure()
        .task_token(&token)
        .error("PaymentAuthenticationFailed")
        .cause("3-D Secure failed")
        .send()
        .await
        .expect("SendTaskFailure");
    let failed = wait_until_done(&sfn, &arn).await;
    assert_eq!(*failed.status(), ExecutionStatus::Failed, "{failed:?}");
    let events = history(&sfn, &arn, false).await;
    assert!(types(&events).contains(&"TaskFailed"), "{:?}", types(&events));
    let spent = code(
        sfn.send_task_success()
            .task_token(&token)
            .output("{}")
            .send()
            .await,
    );

    // SendTaskSuccess with the real token resumes a third one.
    let arn = post_checkout(&server, "three-d-secure", "tds-token");
    let status = wait_for_next_action(&server, "tds-token");
    let token = task_token(&history(&sfn, &arn, false).await);
    sfn.send_task_success()
        .task_token(&token)
        .output(json!({"paymentId": status["nextAction"]["paymentId"], "status": "succeeded"}).to_string())
        .send()
        .await
        .expect("SendTaskSuccess");
    // The simulated provider never saw the authentication, so the order is refused and the payment
    // refunded: what matters here is that the token reached the waiting state.
    let done = wait_until_done(&sfn, &arn).await;
    assert_ne!(*done.status(), ExecutionStatus::Running);
    let events = history(&sfn, &arn, false).await;
    let submitted = events
        .iter()
        .position(|e| e.r#type().as_str() == "TaskSubmitted")
        .expect("TaskSubmitted");
    assert_eq!(
        events[submitted + 1..].first().map(|e| e.r#type().as_str()),
        Some("TaskSucceeded"),
        "{:?}",
        types(&events)
    );
    // As on AWS, a token whose task is over is TaskTimedOut (not InvalidToken, which is for tokens
    // that never were).
    assert!(
        ["TaskTimedOut", "TaskDoesNotExist"].contains(&spent.as_str()),
        "SendTaskSuccess with a spent token: {spent}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stepcart_executions_reads_the_server() {
    let server = Server::fresh("cli", &WEBHOOK_SECRET_ARGS, &[]);
    let sfn = server.sfn();
    let machine = create_greeter(&sfn, "greeter").await;
    let mut arns = Vec::new();
    for i in 0..3 {
        let name = format!("ok-{i}");
        arns.push(start(&sfn, &machine, &name, &json!({"ok": true, "who": name})).await);
    }
    let failing = start(&sfn, &machine, "ko-0", &json!({"ok": false})).await;
    arns.push(failing.clone());
    for arn in &arns {
        wait_until_done(&sfn, arn).await;
    }

    // list --json: AWS-shaped, every page.
    let out = server.executions(&["--json", "list", "--state-machine-arn", &machine]);
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    let listed = stdout_json(&out);
    let rows = listed["executions"].as_array().expect("executions");
    assert_eq!(rows.len(), 4, "{listed}");
    for row in rows {
        for key in [
            "executionArn",
            "stateMachineArn",
            "name",
            "status",
            "startDate",
            "stopDate",
        ] {
            assert!(row[key].is_string(), "{key} in {row}");
        }
        let date = row["startDate"].as_str().expect("startDate");
        assert!(
            time::OffsetDateTime::parse(date, &time::format_description::well_known::Rfc3339).is_ok(),
            "not RFC 3339: {date}"
        );
    }
    let out = server.executions(&[
        "--json",
        "list",
        "--state-machine-arn",
        &machine,
        "--status",
        "FAILED",
    ]);
    let listed = stdout_json(&out);
    assert_eq!(listed["executions"].as_array().map(Vec::len), Some(1), "{listed}");
    assert_eq!(listed["executions"][0]["name"], "ko-0");
    let out = server.executions(&[
        "--json",
        "list",
        "--state-machine-arn",
        &machine,
        "--max-items",
        "3",
    ]);
    assert_eq!(stdout_json(&out)["executions"].as_array().map(Vec::len), Some(3));

    // list as text: a table.
    let out = server.executions(&["list", "--state-machine-arn", &machine]);
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    let text = String::from_utf8_lossy(&out.stdout);
    let lines: Vec<&str> = text.lines().collect();
    assert!(
        lines[0].starts_with("NAME") && lines[0].contains("STATUS"),
        "{text}"
    );
    assert_eq!(lines.len(), 5, "{text}");
    assert!(text.contains("ko-0") && text.contains("FAILED"), "{text}");

    // The default machine is the checkout's.
    let out = server.executions(&["--json", "list"]);
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    assert_eq!(stdout_json(&out)["executions"], json!([]));
    let checkout = post_checkout(&server, "happy-path", "cli-happy");
    wait_until_done(&sfn, &checkout).await;
    let listed = stdout_json(&server.executions(&["--json", "list"]));
    assert_eq!(
        listed["executions"][0]["executionArn"],
        checkout.as_str(),
        "{listed}"
    );
    assert_eq!(listed["executions"][0]["status"], "SUCCEEDED", "{listed}");

    // describe: DescribeExecution's fields; a bare name is a checkout execution.
    let described = stdout_json(&server.executions(&["--json", "describe", &arns[0]]));
    assert_eq!(described["status"], "SUCCEEDED");
    assert_eq!(described["name"], "ok-0");
    assert_eq!(described["stateMachineArn"], machine.as_str());
    assert_eq!(
        parse(described["output"].as_str()),
        json!({"greeting": "hello ok-0"})
    );
    assert_eq!(
        parse(described["input"].as_str()),
        json!({"ok": true, "who": "ok-0"})
    );
    let described = stdout_json(&server.executions(&["--json", "describe", "cli-happy"]));
    assert_eq!(described["executionArn"], checkout.as_str());
    let out = server.executions(&["describe", &failing]);
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("FAILED") && text.contains("NotOk"), "{text}");

    // history: AWS-shaped events, ascending or reversed; text one line per event.
    let events = stdout_json(&server.executions(&["--json", "history", &arns[0]]));
    let events = events["events"].as_array().expect("events").clone();
    let kinds: Vec<&str> = events.iter().map(|e| e["type"].as_str().expect("type")).collect();
    assert_eq!(
        kinds,
        [
            "ExecutionStarted",
            "ChoiceStateEntered",
            "ChoiceStateExited",
            "PassStateEntered",
            "PassStateExited",
            "ExecutionSucceeded"
        ]
    );
    assert_eq!(events[0]["id"], 1);
    assert_eq!(events[0]["previousEventId"], 0);
    assert!(events[0]["timestamp"].is_string());
    assert_eq!(
        parse(events[0]["executionStartedEventDetails"]["input"].as_str()),
        json!({"ok": true, "who": "ok-0"})
    );
    assert_eq!(events[1]["stateEnteredEventDetails"]["name"], "Check");
    assert_eq!(
        parse(events[5]["executionSucceededEventDetails"]["output"].as_str()),
        json!({"greeting": "hello ok-0"})
    );
    let reversed = stdout_json(&server.executions(&["--json", "history", &arns[0], "--reverse"]));
    let reversed_ids: Vec<i64> = reversed["events"]
        .as_array()
        .expect("events")
        .iter()
        .map(|e| e["id"].as_i64().expect("id"))
        .collect();
    assert_eq!(reversed_ids, [6, 5, 4, 3, 2, 1]);
    let out = server.executions(&["history", &failing]);
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    let text = String::from_utf8_lossy(&out.stdout);
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 5, "{text}");
    assert!(
        lines[1].contains("ChoiceStateEntered") && lines[1].contains("Check"),
        "{text}"
    );
    assert!(
        lines[4].contains("ExecutionFailed") && lines[4].contains("NotOk"),
        "{text}"
    );
    let out = server.executions(&["history", &checkout]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("ReserveStock")
            || text.contains("LambdaFunctionScheduled")
            || text.contains("TaskScheduled"),
        "{text}"
    );

    // Service errors: exit 2 naming the error code.
    let unknown_execution = "arn:aws:states:us-east-1:000000000000:execution:greeter:nobody";
    let unknown_machine = "arn:aws:states:us-east-1:000000000000:stateMachine:nobody";
    for (args, code) in [
        (vec!["describe", unknown_execution], "ExecutionDoesNotExist"),
        (vec!["history", unknown_execution], "ExecutionDoesNotExist"),
        (
            vec!["list", "--state-machine-arn", unknown_machine],
            "StateMachineDoesNotExist",
        ),
    ] {
        let out = server.executions(&args);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {out:?}");
        assert!(
            String::from_utf8_lossy(&out.stderr).contains(code),
            "{args:?}: {out:?}"
        );
    }

    // A fresh machine: no credentials, no region, no AWS files; --endpoint-url is enough.
    let home = server.dir().join("home");
    std::fs::create_dir_all(&home).expect("home");
    let mut command = server.executions_command(&["--json", "list", "--state-machine-arn", &machine]);
    for (key, _) in std::env::vars_os() {
        if key.to_string_lossy().starts_with("AWS_") {
            command.env_remove(&key);
        }
    }
    command
        .env_remove("AWS_ACCESS_KEY_ID")
        .env_remove("AWS_SECRET_ACCESS_KEY")
        .env_remove("AWS_REGION")
        .env("HOME", &home)
        .env("AWS_EC2_METADATA_DISABLED", "true");
    let started = Instant::now();
    let out = command.output().expect("stepcart executions list");
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    assert_eq!(stdout_json(&out)["executions"].as_array().map(Vec::len), Some(4));
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "took {:?}",
        started.elapsed()
    );
}
