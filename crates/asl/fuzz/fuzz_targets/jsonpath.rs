//! JSONPath: parse the first line as a path, then select / exists / set on the document given by the
//! rest of the input (or a fixed one when the rest is not JSON).
#![no_main]

use libfuzzer_sys::fuzz_target;
use stepcart_asl::{Value, json};
use stepcart_asl::jsonpath::JsonPath;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let (path, doc) = text.split_once('\n').unwrap_or((text, ""));
    let doc: Value = serde_json::from_str(doc).unwrap_or_else(|_| {
        json!({
            "store": {"book": [
                {"category": "fiction", "price": 8.95, "title": "A", "tags": ["x", "y"]},
                {"category": "tech", "price": 22.5, "title": "B", "isbn": "0-1"}
            ], "bicycle": {"color": "red", "price": 19.95}},
            "a": [0, 1, 2, 3, 4, 5, -1, null, true, "s"],
            "n": 1e300, "": {"": 1}
        })
    });
    let Ok(path) = JsonPath::parse(path) else {
        return;
    };
    let _ = path.as_str();
    let _ = path.is_definite();
    let _ = path.select(&doc);
    let _ = path.exists(&doc);
    let mut target = doc.clone();
    let _ = path.set(&mut target, json!({"set": true}));
    let mut scalar = json!(7);
    let _ = path.set(&mut scalar, json!(1));
});
