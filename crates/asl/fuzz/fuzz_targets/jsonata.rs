//! JSONata, through the public API (the evaluator module is crate-private): the first line of the
//! input becomes the `{% %}` expression of a JSONata Pass state's `Output`; the definition is
//! validated (which compiles the expression) and, if valid, started in the pure core, which evaluates
//! it against the document given by the rest of the input (or a fixed one).
#![no_main]

use libfuzzer_sys::fuzz_target;
use stepcart_asl::{Value, json};
use stepcart_asl::{Execution, ExecutionContext, StateMachine};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let (expr, doc) = text.split_once('\n').unwrap_or((text, ""));
    let input: Value = serde_json::from_str(doc).unwrap_or_else(|_| {
        json!({
            "items": [{"sku": "A", "quantity": 2, "price": 19.99}, {"sku": "B", "quantity": 1, "price": 5}],
            "customer": {"name": "Ada", "tags": ["x", "y"]}, "n": 42, "s": "hello", "t": true, "z": null
        })
    });
    let definition = json!({
        "QueryLanguage": "JSONata",
        "StartAt": "Eval",
        "States": {"Eval": {"Type": "Pass", "Output": format!("{{% {expr} %}}"), "End": true}}
    });
    let Ok(machine) = StateMachine::from_json(&definition.to_string()) else {
        return;
    };
    let now = time::OffsetDateTime::UNIX_EPOCH;
    let ctx = ExecutionContext::new("arn:aws:states:us-east-1:000000000000:stateMachine:fuzz", "fuzz", now);
    let (exec, _commands) = Execution::start(&machine, ctx, input, now);
    let _ = exec.status();
});
