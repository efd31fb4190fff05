//! Definition parsing and validation: `StateMachine::from_json` on arbitrary bytes must return
//! `Ok` or a `DefinitionError`, never panic. A definition that validates is also started in the
//! pure core (no tasks run: Task states just emit commands), which walks Pass/Choice/Wait logic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use stepcart_asl::json;
use stepcart_asl::{Execution, ExecutionContext, StateMachine};

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    match StateMachine::from_json(&text) {
        Ok(machine) => {
            let _ = machine.state_names();
            let now = time::OffsetDateTime::UNIX_EPOCH;
            let ctx = ExecutionContext::new("arn:aws:states:us-east-1:000000000000:stateMachine:fuzz", "fuzz", now);
            let (mut exec, _commands) = Execution::start(&machine, ctx, json!({"a": [1, 2, {"b": "c"}], "n": 5}), now);
            let _ = exec.take_new_events();
        }
        Err(error) => {
            // Every problem must render.
            let _ = error.to_string();
        }
    }
});
