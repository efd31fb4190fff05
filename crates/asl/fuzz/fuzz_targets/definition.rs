//! Definition parsing and validation, then execution: `StateMachine::from_json` on arbitrary bytes
//! must return `Ok` or a `DefinitionError`, never panic. A definition that validates is started in
//! the pure core on an input taken from the same bytes (after a NUL byte; a fixed document without
//! one) and driven for a while: every task answers with its own parameters (every third one fails
//! instead), every timer fires, and the snapshot and history are serialised. Waits, time-outs and
//! back-offs taken from the input, `ResultPath`, `Catch` and `Retry` all run on fuzzed values.
#![no_main]

use std::collections::VecDeque;

use libfuzzer_sys::fuzz_target;
use stepcart_asl::json;
use stepcart_asl::{Command, Execution, ExecutionContext, ExternalEvent, StateMachine, Value};

/// Events applied per input: enough for loops and retries to go round, little enough to stay fast.
const STEPS: usize = 64;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let (definition, input) = match text.split_once('\0') {
        Some((definition, input)) => (definition, serde_json::from_str::<serde_json::Value>(input).ok()),
        None => (&*text, None),
    };
    let input = input
        .map(Value::from)
        .unwrap_or_else(|| json!({"a": [1, 2, {"b": "c"}], "n": 5}));
    let machine = match StateMachine::from_json(definition) {
        Ok(machine) => machine,
        Err(error) => {
            // Every problem must render.
            let _ = error.to_string();
            return;
        }
    };
    let _ = machine.state_names();
    let mut now = time::OffsetDateTime::UNIX_EPOCH;
    let ctx = ExecutionContext::new("arn:aws:states:us-east-1:000000000000:stateMachine:fuzz", "fuzz", now);
    let (mut exec, commands) = Execution::start(&machine, ctx, input, now);
    let mut queue: VecDeque<Command> = commands.into();
    for step in 0..STEPS {
        for event in exec.take_new_events() {
            let _ = event.to_aws_json();
        }
        let Some(command) = queue.pop_front() else { break };
        let event = match command {
            Command::InvokeTask { task_id, parameters, .. } if step % 3 == 2 => ExternalEvent::TaskFailed {
                task_id,
                error: "States.TaskFailed".to_owned(),
                cause: Some(parameters.to_json_string()),
            },
            Command::InvokeTask { task_id, parameters, .. } => ExternalEvent::TaskSucceeded {
                task_id,
                output: parameters,
            },
            Command::StartTimer { timer_id, fire_at } => {
                now = now.max(fire_at);
                ExternalEvent::TimerFired { timer_id }
            }
        };
        queue.extend(exec.apply(&machine, event, now));
    }
    if let Ok(snapshot) = serde_json::to_string(&exec) {
        let _ = serde_json::from_str::<Execution>(&snapshot);
    }
});
