//! Intrinsic functions: parse the first line as a call (`States.Format('{}', $.a)`, ...) and evaluate
//! it against the document given by the rest of the input (or a fixed one) and a fixed context object.
#![no_main]

use libfuzzer_sys::fuzz_target;
use stepcart_asl::{Value, json};
use stepcart_asl::intrinsics;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let (call, doc) = text.split_once('\n').unwrap_or((text, ""));
    let input: Value = serde_json::from_str(doc).unwrap_or_else(|_| {
        json!({
            "a": [1, 2, 3, "x", null, {"k": "v"}],
            "s": "hello,world,again",
            "n": 42, "f": -3.5, "big": 1e308, "neg": -9007199254740993i64,
            "b64": "aGVsbG8=", "obj": {"x": {"y": [1, 2]}}, "t": true
        })
    });
    let context = json!({
        "Execution": {"Id": "arn:aws:states:us-east-1:000000000000:execution:m:e", "Name": "e",
                      "Input": {"a": 1}, "StartTime": "2026-01-01T00:00:00Z"},
        "State": {"Name": "S", "EnteredTime": "2026-01-01T00:00:00Z"},
        "Task": {"Token": "tok"}
    });
    let _ = intrinsics::looks_like_call(call);
    if let Ok(parsed) = intrinsics::parse(call) {
        let _ = parsed.eval(&input, &context);
    }
});
