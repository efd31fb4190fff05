//! Intrinsic functions (`States.Format(...)` and friends) for the JSONPath query language: a parser that
//! runs at definition load, and an evaluator that runs per state.

use crate::value::{Map, Number, Value};
use rand::Rng;

use crate::jsonpath::JsonPath;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct IntrinsicError(pub String);

const FUNCTIONS: &[&str] = &[
    "States.Format",
    "States.StringToJson",
    "States.JsonToString",
    "States.Array",
    "States.ArrayPartition",
    "States.ArrayContains",
    "States.ArrayRange",
    "States.ArrayGetItem",
    "States.ArrayLength",
    "States.ArrayUnique",
    "States.Base64Encode",
    "States.Base64Decode",
    "States.Hash",
    "States.JsonMerge",
    "States.MathRandom",
    "States.MathAdd",
    "States.StringSplit",
    "States.UUID",
];

#[derive(Debug, Clone, PartialEq)]
pub enum Arg {
    /// `raw` keeps the escapes because `States.Format` must tell `\{` from a placeholder.
    Str {
        value: String,
        raw: String,
    },
    Number(Number),
    Bool(bool),
    Null,
    Path(JsonPath),
    Call(Call),
}

#[derive(Debug, Clone, PartialEq)]
pub struct Call {
    pub name: String,
    pub args: Vec<Arg>,
}

/// True when a `.$` value should be parsed as an intrinsic call rather than a path.
pub fn looks_like_call(s: &str) -> bool {
    s.starts_with("States.")
}

pub fn parse(text: &str) -> Result<Call, IntrinsicError> {
    let chars: Vec<char> = text.chars().collect();
    let mut p = Parser {
        chars: &chars,
        pos: 0,
        text,
    };
    let call = p.call()?;
    p.skip_ws();
    if p.pos != chars.len() {
        return Err(p.err("unexpected text after the closing parenthesis"));
    }
    Ok(call)
}

struct Parser<'a> {
    chars: &'a [char],
    pos: usize,
    text: &'a str,
}

impl Parser<'_> {
    fn err(&self, msg: &str) -> IntrinsicError {
        IntrinsicError(format!(
            "invalid intrinsic function '{}' at character {}: {msg}",
            self.text, self.pos
        ))
    }

    fn peek(&self) -> Option<char> {
        self.chars.get(self.pos).copied()
    }

    fn skip_ws(&mut self) {
        while self.peek().is_some_and(char::is_whitespace) {
            self.pos += 1;
        }
    }

    fn call(&mut self) -> Result<Call, IntrinsicError> {
        self.skip_ws();
        let start = self.pos;
        while self.peek().is_some_and(|c| c.is_ascii_alphanumeric() || c == '.') {
            self.pos += 1;
        }
        let name: String = self.chars[start..self.pos].iter().collect();
        if !FUNCTIONS.contains(&name.as_str()) {
            return Err(IntrinsicError(format!(
                "unknown intrinsic function '{name}' in '{}'",
                self.text
            )));
        }
        self.skip_ws();
        if self.peek() != Some('(') {
            return Err(self.err("expected '('"));
        }
        self.pos += 1;
        let mut args = Vec::new();
        self.skip_ws();
        if self.peek() == Some(')') {
            self.pos += 1;
            return Ok(Call { name, args });
        }
        loop {
            args.push(self.arg()?);
            self.skip_ws();
            match self.peek() {
                Some(',') => self.pos += 1,
                Some(')') => {
                    self.pos += 1;
                    return Ok(Call { name, args });
                }
                _ => return Err(self.err("expected ',' or ')'")),
            }
        }
    }

    fn arg(&mut self) -> Result<Arg, IntrinsicError> {
        self.skip_ws();
        match self.peek() {
            Some('\'') => self.string(),
            Some('$') => {
                let start = self.pos;
                let mut depth = 0i32;
                let mut quote: Option<char> = None;
                while let Some(c) = self.peek() {
                    match (quote, c) {
                        (Some(q), c) if c == q => quote = None,
                        (Some(_), _) => {}
                        (None, '\'' | '"') if depth > 0 => quote = Some(c),
                        (None, '[') => depth += 1,
                        (None, ']') => depth -= 1,
                        (None, ',' | ')') if depth == 0 => break,
                        (None, c) if c.is_whitespace() && depth == 0 => break,
                        _ => {}
                    }
                    self.pos += 1;
                }
                let text: String = self.chars[start..self.pos].iter().collect();
                JsonPath::parse(&text)
                    .map(Arg::Path)
                    .map_err(|e| IntrinsicError(e.to_string()))
            }
            Some(c) if c == '-' || c.is_ascii_digit() => {
                let start = self.pos;
                while self
                    .peek()
                    .is_some_and(|c| c.is_ascii_digit() || "-+.eE".contains(c))
                {
                    self.pos += 1;
                }
                let text: String = self.chars[start..self.pos].iter().collect();
                serde_json::from_str::<Number>(&text)
                    .map(Arg::Number)
                    .map_err(|_| self.err(&format!("'{text}' is not a number")))
            }
            Some(c) if c.is_ascii_alphabetic() => {
                let start = self.pos;
                while self.peek().is_some_and(|c| c.is_ascii_alphanumeric()) {
                    self.pos += 1;
                }
                let word: String = self.chars[start..self.pos].iter().collect();
                match word.as_str() {
                    "true" => Ok(Arg::Bool(true)),
                    "false" => Ok(Arg::Bool(false)),
                    "null" => Ok(Arg::Null),
                    _ => {
                        self.pos = start;
                        self.call().map(Arg::Call)
                    }
                }
            }
            _ => Err(self.err("expected an argument")),
        }
    }

    fn string(&mut self) -> Result<Arg, IntrinsicError> {
        self.pos += 1;
        let mut value = String::new();
        let mut raw = String::new();
        loop {
            match self.peek() {
                None => return Err(self.err("unterminated string")),
                Some('\\') => {
                    let Some(next) = self.chars.get(self.pos + 1).copied() else {
                        return Err(self.err("dangling backslash"));
                    };
                    if !"'{}\\".contains(next) {
                        return Err(self.err(&format!("unsupported escape '\\{next}'")));
                    }
                    value.push(next);
                    raw.push('\\');
                    raw.push(next);
                    self.pos += 2;
                }
                Some('\'') => {
                    self.pos += 1;
                    return Ok(Arg::Str { value, raw });
                }
                Some(c) => {
                    value.push(c);
                    raw.push(c);
                    self.pos += 1;
                }
            }
        }
    }
}

fn fail<T>(msg: impl Into<String>) -> Result<T, IntrinsicError> {
    Err(IntrinsicError(msg.into()))
}

impl Call {
    /// Evaluates the call; `input` is the document `$` refers to, `context` the one `$$` refers to.
    pub fn eval(&self, input: &Value, context: &Value) -> Result<Value, IntrinsicError> {
        let mut vals = Vec::with_capacity(self.args.len());
        for a in &self.args {
            vals.push(match a {
                Arg::Str { value, .. } => Value::from(value.clone()),
                Arg::Number(n) => Value::Number(n.clone()),
                Arg::Bool(b) => Value::Bool(*b),
                Arg::Null => Value::Null,
                Arg::Path(p) => {
                    let doc = if p.is_context() { context } else { input };
                    p.select(doc).map_err(|e| IntrinsicError(e.to_string()))?
                }
                Arg::Call(c) => c.eval(input, context)?,
            });
        }
        let name = self.name.as_str();
        let arity = |n: usize| -> Result<(), IntrinsicError> {
            if vals.len() == n {
                Ok(())
            } else {
                fail(format!(
                    "{name} expects {n} argument(s) but received {}",
                    vals.len()
                ))
            }
        };
        match name {
            "States.Format" => {
                let Some(Arg::Str { raw, .. }) = self.args.first() else {
                    return fail("States.Format needs a string literal as its first argument");
                };
                format(raw, &vals[1..])
            }
            "States.StringToJson" => {
                arity(1)?;
                let s = want_str(name, &vals[0])?;
                serde_json::from_str(s).or_else(|e| fail(format!("{name}: invalid JSON string: {e}")))
            }
            "States.JsonToString" => {
                arity(1)?;
                Ok(Value::from(vals[0].to_string()))
            }
            "States.Array" => Ok(Value::from(vals)),
            "States.ArrayPartition" => {
                arity(2)?;
                let arr = want_array(name, &vals[0])?;
                let size = want_int(name, &vals[1])?;
                if size <= 0 {
                    return fail(format!("{name}: chunk size must be positive"));
                }
                let size = usize::try_from(size).unwrap_or(usize::MAX);
                Ok(Value::Array(
                    arr.chunks(size).map(|c| Value::from(c.to_vec())).collect(),
                ))
            }
            "States.ArrayContains" => {
                arity(2)?;
                Ok(Value::Bool(
                    want_array(name, &vals[0])?.iter().any(|v| json_eq(v, &vals[1])),
                ))
            }
            "States.ArrayRange" => {
                arity(3)?;
                let (first, last, step) = (
                    want_int(name, &vals[0])?,
                    want_int(name, &vals[1])?,
                    want_int(name, &vals[2])?,
                );
                if step == 0 {
                    return fail(format!("{name}: step must not be 0"));
                }
                let mut out = Vec::new();
                let mut i = first;
                while (step > 0 && i <= last) || (step < 0 && i >= last) {
                    if out.len() >= 1000 {
                        return fail(format!("{name}: the range has more than 1000 items"));
                    }
                    out.push(Value::from(i));
                    i += step;
                }
                Ok(Value::from(out))
            }
            "States.ArrayGetItem" => {
                arity(2)?;
                let arr = want_array(name, &vals[0])?;
                let idx = want_int(name, &vals[1])?;
                usize::try_from(idx)
                    .ok()
                    .and_then(|i| arr.get(i))
                    .cloned()
                    .map_or_else(|| fail(format!("{name}: index {idx} is out of bounds")), Ok)
            }
            "States.ArrayLength" => {
                arity(1)?;
                Ok(Value::from(want_array(name, &vals[0])?.len()))
            }
            "States.ArrayUnique" => {
                arity(1)?;
                let mut out: Vec<Value> = Vec::new();
                for v in want_array(name, &vals[0])? {
                    if !out.iter().any(|o| json_eq(o, v)) {
                        out.push(v.clone());
                    }
                }
                Ok(Value::from(out))
            }
            "States.Base64Encode" => {
                arity(1)?;
                Ok(Value::from(base64_encode(want_str(name, &vals[0])?.as_bytes())))
            }
            "States.Base64Decode" => {
                arity(1)?;
                let bytes = base64_decode(want_str(name, &vals[0])?)
                    .ok_or_else(|| IntrinsicError(format!("{name}: invalid base64 input")))?;
                String::from_utf8(bytes)
                    .map(Value::from)
                    .or_else(|_| fail(format!("{name}: decoded data is not UTF-8")))
            }
            "States.Hash" => {
                arity(2)?;
                let data = match &vals[0] {
                    Value::String(s) => s.to_string(),
                    other => other.to_string(),
                };
                let algorithm = want_str(name, &vals[1])?;
                crate::hash::hex_digest(algorithm, data.as_bytes()).map(Value::from).map_or_else(
                    || fail(format!("{name}: unsupported algorithm '{algorithm}' (MD5, SHA-1, SHA-256, SHA-384, SHA-512)")),
                    Ok,
                )
            }
            "States.JsonMerge" => {
                arity(3)?;
                let (Value::Object(a), Value::Object(b)) = (&vals[0], &vals[1]) else {
                    return fail(format!("{name}: both inputs must be objects"));
                };
                if vals[2] != Value::Bool(false) {
                    return fail(format!("{name}: only shallow merging (false) is supported"));
                }
                let mut out: Map = a.clone();
                out.extend(b.iter().map(|(k, v)| (k.clone(), v.clone())));
                Ok(Value::Object(out))
            }
            "States.MathRandom" => {
                if vals.len() != 2 && vals.len() != 3 {
                    return fail(format!("{name} expects 2 or 3 arguments"));
                }
                let (start, end) = (want_int(name, &vals[0])?, want_int(name, &vals[1])?);
                if start >= end {
                    return fail(format!("{name}: start must be below end"));
                }
                Ok(Value::from(rand::rng().random_range(start..end)))
            }
            "States.MathAdd" => {
                arity(2)?;
                want_int(name, &vals[0])?
                    .checked_add(want_int(name, &vals[1])?)
                    .map(Value::from)
                    .ok_or_else(|| IntrinsicError(format!("{name}: integer overflow")))
            }
            "States.StringSplit" => {
                arity(2)?;
                let s = want_str(name, &vals[0])?;
                let delims = want_str(name, &vals[1])?;
                // Each character of the splitter is a delimiter and empty pieces are dropped, as the
                // AWS example "This.is+a,test=string" split on ".+,=" shows.
                Ok(Value::Array(
                    s.split(|c| delims.contains(c))
                        .filter(|p| !p.is_empty())
                        .map(|p| Value::from(p.to_owned()))
                        .collect(),
                ))
            }
            "States.UUID" => {
                arity(0)?;
                Ok(Value::from(uuid_v4()))
            }
            other => fail(format!("unknown intrinsic function '{other}'")),
        }
    }
}

fn format(raw: &str, args: &[Value]) -> Result<Value, IntrinsicError> {
    let mut out = String::new();
    let mut chars = raw.chars().peekable();
    let mut next_arg = 0;
    while let Some(c) = chars.next() {
        match c {
            '\\' => {
                if let Some(n) = chars.next() {
                    out.push(n);
                }
            }
            '{' if chars.peek() == Some(&'}') => {
                chars.next();
                let Some(v) = args.get(next_arg) else {
                    return fail("States.Format: more placeholders than arguments");
                };
                next_arg += 1;
                match v {
                    Value::String(s) => out.push_str(s),
                    Value::Number(_) | Value::Bool(_) | Value::Null => out.push_str(&v.to_string()),
                    _ => return fail("States.Format: arguments must be strings, numbers, booleans or null"),
                }
            }
            c => out.push(c),
        }
    }
    if next_arg != args.len() {
        return fail("States.Format: the number of arguments does not match the number of placeholders");
    }
    Ok(Value::from(out))
}

fn json_eq(a: &Value, b: &Value) -> bool {
    match (a.as_f64(), b.as_f64()) {
        (Some(x), Some(y)) => x == y,
        _ => a == b,
    }
}

fn want_str<'v>(f: &str, v: &'v Value) -> Result<&'v str, IntrinsicError> {
    v.as_str()
        .map_or_else(|| fail(format!("{f}: expected a string but got {v}")), Ok)
}

fn want_array<'v>(f: &str, v: &'v Value) -> Result<&'v Vec<Value>, IntrinsicError> {
    v.as_array()
        .map_or_else(|| fail(format!("{f}: expected an array but got {v}")), Ok)
}

fn want_int(f: &str, v: &Value) -> Result<i64, IntrinsicError> {
    if let Some(i) = v.as_i64() {
        return Ok(i);
    }
    match v.as_f64() {
        Some(x) if x.fract() == 0.0 && x.abs() < 9.0e15 => Ok(x as i64),
        _ => fail(format!("{f}: expected an integer but got {v}")),
    }
}

pub(crate) fn uuid_v4() -> String {
    let mut b: [u8; 16] = rand::rng().random();
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    let h: String = b.iter().map(|x| format!("{x:02x}")).collect();
    format!(
        "{}-{}-{}-{}-{}",
        &h[0..8],
        &h[8..12],
        &h[12..16],
        &h[16..20],
        &h[20..32]
    )
}

const B64: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

fn base64_encode(data: &[u8]) -> String {
    let mut out = String::with_capacity(data.len().div_ceil(3) * 4);
    for chunk in data.chunks(3) {
        let n = (u32::from(chunk[0]) << 16)
            | (u32::from(*chunk.get(1).unwrap_or(&0)) << 8)
            | u32::from(*chunk.get(2).unwrap_or(&0));
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(char::from(B64[((n >> (18 - 6 * i)) & 63) as usize]));
            } else {
                out.push('=');
            }
        }
    }
    out
}

fn base64_decode(s: &str) -> Option<Vec<u8>> {
    let s = s.trim_end_matches('=');
    let mut out = Vec::new();
    let mut buf = 0u32;
    let mut bits = 0;
    for c in s.bytes() {
        let v = u32::try_from(B64.iter().position(|&b| b == c)?).ok()?;
        buf = (buf << 6) | v;
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push(u8::try_from((buf >> bits) & 0xff).ok()?);
        }
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::json;

    fn ev(expr: &str, input: Value) -> Result<Value, IntrinsicError> {
        parse(expr)?.eval(&input, &json!({"Execution": {"Name": "exec-1"}}))
    }

    #[test]
    fn format_with_escapes_and_paths() {
        let input = json!({"name": "Ada", "n": 3});
        assert_eq!(
            ev(
                r"States.Format('Hello {}, you have {} \{items\} it\'s \\ ok', $.name, $.n)",
                input.clone()
            )
            .expect("format"),
            json!(r"Hello Ada, you have 3 {items} it's \ ok")
        );
        assert_eq!(
            ev("States.Format('run {}', $$.Execution.Name)", input.clone()).expect("ctx"),
            json!("run exec-1")
        );
        assert!(ev("States.Format('{} {}', $.name)", input).is_err());
    }

    #[test]
    fn nested_calls_and_literals() {
        let input = json!({"s": "{\"a\":[1,2]}", "arr": [1, 2, 3, 2]});
        assert!(ev("States.ArrayLength(States.StringToJson($.s).a)", input.clone()).is_err());
        assert_eq!(
            ev("States.JsonToString(States.StringToJson($.s))", input.clone()).expect("roundtrip"),
            json!("{\"a\":[1,2]}")
        );
        assert_eq!(
            ev("States.Array('a', 1, true, null, $.arr[0])", input.clone()).expect("array"),
            json!(["a", 1, true, null, 1])
        );
        assert_eq!(
            ev("States.ArrayLength($.arr)", input.clone()).expect("len"),
            json!(4)
        );
        assert_eq!(
            ev("States.ArrayContains($.arr, 3)", input.clone()).expect("contains"),
            json!(true)
        );
        assert_eq!(
            ev("States.ArrayGetItem($.arr, 2)", input.clone()).expect("get"),
            json!(3)
        );
        assert!(ev("States.ArrayGetItem($.arr, 9)", input.clone()).is_err());
        assert_eq!(
            ev("States.ArrayUnique($.arr)", input.clone()).expect("uniq"),
            json!([1, 2, 3])
        );
        assert_eq!(
            ev("States.ArrayPartition($.arr, 3)", input.clone()).expect("part"),
            json!([[1, 2, 3], [2]])
        );
        assert_eq!(
            ev("States.ArrayRange(1, 9, 3)", input.clone()).expect("range"),
            json!([1, 4, 7])
        );
        assert_eq!(
            ev("States.MathAdd($.arr[2], -5)", input.clone()).expect("add"),
            json!(-2)
        );
        assert_eq!(
            ev(
                "States.StringSplit('This.is+a,test=string', '.+,=')",
                input.clone()
            )
            .expect("split"),
            json!(["This", "is", "a", "test", "string"])
        );
        assert_eq!(
            ev("States.Base64Encode('Data to encode')", input.clone()).expect("b64"),
            json!("RGF0YSB0byBlbmNvZGU=")
        );
        assert_eq!(
            ev("States.Base64Decode('RGF0YSB0byBlbmNvZGU=')", input.clone()).expect("b64d"),
            json!("Data to encode")
        );
        assert_eq!(
            ev(
                "States.JsonMerge(States.StringToJson('{\"a\":1}'), States.StringToJson('{\"b\":2}'), false)",
                input
            )
            .expect("merge"),
            json!({"a": 1, "b": 2})
        );
        let r = ev("States.MathRandom(1, 3)", json!({})).expect("random");
        assert!(r == json!(1) || r == json!(2));
    }

    #[test]
    fn hash() {
        assert_eq!(
            ev("States.Hash($.s, 'SHA-256')", json!({"s": "abc"})).expect("hash"),
            json!("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        );
        assert!(ev("States.Hash('x', 'CRC32')", json!({})).is_err());
    }

    #[test]
    fn uuid_shape() {
        let u = ev("States.UUID()", json!({})).expect("uuid");
        let s = u.as_str().expect("string");
        assert_eq!(s.len(), 36);
        assert_eq!(&s[14..15], "4");
    }

    #[test]
    fn parse_errors() {
        for bad in [
            "States.Nope(1)",
            "States.Array(",
            "States.Array('x)",
            "States.Array(1) x",
            "States.Array('\\n')",
        ] {
            assert!(parse(bad).is_err(), "{bad}");
        }
    }
}
