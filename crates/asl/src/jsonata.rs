//! The JSONata query language: `{% %}` expressions inside `Arguments`, `Output`, `Assign`, `Items`,
//! `Condition` and the other fields of JSONata states.
//!
//! Expressions are parsed once at definition load (the parsed tree is `Send + Sync`, so it is shared
//! through an `Arc`). `jsonata-core`'s evaluator and values are `Rc`-based, so each evaluation builds
//! its own evaluator synchronously and never lives across an `.await`.

use std::sync::Arc;

use crate::value::{Map, Value};
use jsonata_core::ast::AstNode;
use jsonata_core::evaluator::{Context, Evaluator, EvaluatorError, EvaluatorOptions};
use jsonata_core::value::JValue;

use crate::error::StatesError;

pub const STATES_QUERY_EVALUATION_ERROR: &str = "States.QueryEvaluationError";

/// Wall-clock budget of one expression; AWS does not publish one, this only stops runaway recursion.
const TIMEOUT_MS: u64 = 2_000;
const MAX_STACK_DEPTH: usize = 2_000;
const MAX_SEQUENCE_LENGTH: usize = 1_000_000;
/// Caps on the arguments of the Step Functions functions, so `$range(0, 1e12, 1)` cannot exhaust memory.
const MAX_RANGE_ITEMS: usize = 1_000;
const MAX_STRING_ARGUMENT: usize = 262_144;

/// One parsed `{% expression %}`.
#[derive(Clone)]
pub(crate) struct Expr {
    text: String,
    /// Where the expression sits in its state, as AWS names it in causes: `Output/a/b`, `Items[0]`.
    field: String,
    ast: Arc<AstNode>,
}

impl std::fmt::Debug for Expr {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{{% {} %}}", self.text)
    }
}

/// If `s` is a `{% ... %}` string, the expression inside it.
pub(crate) fn expression_text(s: &str) -> Option<&str> {
    let t = s.strip_prefix("{%")?.strip_suffix("%}")?;
    Some(t.trim())
}

impl Expr {
    pub(crate) fn parse(text: &str) -> Result<Expr, String> {
        if text.trim().is_empty() {
            return Err("the JSONata expression is empty".into());
        }
        // The parser recurses on nesting; a pathological definition must not overflow the stack.
        if text.len() > 65_536 {
            return Err("the JSONata expression is longer than 65536 characters".into());
        }
        match std::panic::catch_unwind(|| jsonata_core::parser::parse(text)) {
            Ok(Ok(ast)) => Ok(Expr {
                text: text.to_owned(),
                field: String::new(),
                ast: Arc::new(ast),
            }),
            Ok(Err(e)) => Err(format!("invalid JSONata expression '{text}': {e}")),
            Err(_) => Err(format!("invalid JSONata expression '{text}'")),
        }
    }

    pub(crate) fn text(&self) -> &str {
        &self.text
    }

    /// Evaluates with `$states` and the workflow variables bound. `undefined` comes back as `None`.
    pub(crate) fn eval(&self, env: &Env<'_>) -> Result<Value, StatesError> {
        self.eval_opt(env)?.ok_or_else(|| {
            // Source: real AWS causes recorded in floci-io/floci issue #2665 (the execution adds the
            // "An error occurred while executing the state" prefix, as for States.Runtime).
            StatesError::new(
                STATES_QUERY_EVALUATION_ERROR,
                format!(
                    "The JSONata expression '{}' specified for the field '{}' returned nothing (undefined).",
                    self.text, self.field
                ),
            )
        })
    }

    fn eval_opt(&self, env: &Env<'_>) -> Result<Option<Value>, StatesError> {
        let fail = |msg: String| {
            StatesError::new(
                STATES_QUERY_EVALUATION_ERROR,
                format!(
                    "An error occurred while evaluating the JSONata expression '{}' specified for the field '{}': {msg}",
                    self.text, self.field
                ),
            )
        };
        let mut ctx = Context::new();
        ctx.bind("states".into(), to_jvalue(env.states).map_err(&fail)?);
        for (k, v) in env.vars {
            ctx.bind(k.to_string(), to_jvalue(v).map_err(&fail)?);
        }
        let options = EvaluatorOptions {
            timeout_ms: Some(TIMEOUT_MS),
            max_stack_depth: Some(MAX_STACK_DEPTH),
            max_sequence_length: Some(MAX_SEQUENCE_LENGTH),
            ..EvaluatorOptions::default()
        };
        let mut ev = Evaluator::with_options(ctx, options);
        register_functions(&mut ev, env.seed);
        // `$states.input` is the documented way to reach the input; `$` is bound to it as well.
        let data = to_jvalue(env.states.get("input").unwrap_or(&Value::Null)).map_err(&fail)?;
        let out =
            match std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| ev.evaluate(&self.ast, &data))) {
                Ok(Ok(v)) => v,
                Ok(Err(e)) => return Err(fail(e.message().to_owned())),
                Err(_) => return Err(fail("the evaluation failed".into())),
            };
        from_jvalue(&out).map_err(fail)
    }
}

/// What an expression sees.
pub(crate) struct Env<'a> {
    /// `{input, result?, errorOutput?, context}`.
    pub states: &'a Value,
    pub vars: &'a Map,
    /// Seed for `$random()` without an argument (`None`: random).
    pub seed: Option<u64>,
}

fn to_jvalue(v: &Value) -> Result<JValue, String> {
    Ok(match v {
        Value::Null => JValue::Null,
        Value::Bool(b) => JValue::Bool(*b),
        Value::Number(n) => JValue::Number(
            n.as_f64()
                .ok_or_else(|| format!("the number {n} is out of range"))?,
        ),
        Value::String(s) => JValue::string(s.as_str()),
        Value::Array(a) => JValue::array(a.iter().map(to_jvalue).collect::<Result<_, _>>()?),
        Value::Object(m) => JValue::object(
            m.iter()
                .map(|(k, v)| Ok((k.to_string(), to_jvalue(v)?)))
                .collect::<Result<_, String>>()?,
        ),
    })
}

fn from_jvalue(v: &JValue) -> Result<Option<Value>, String> {
    if v.is_undefined() {
        return Ok(None);
    }
    check_finite(v)?;
    if v.is_function() || v.is_regex() {
        return Err("the expression returned a function, which is not JSON".into());
    }
    serde_json::to_value(v)
        .map(|j| Some(Value::from(j)))
        .map_err(|e| e.to_string())
}

fn check_finite(v: &JValue) -> Result<(), String> {
    match v {
        JValue::Number(n) if !n.is_finite() => Err("the expression returned a non-finite number".into()),
        JValue::Array(_) => v.as_array().into_iter().flatten().try_for_each(check_finite),
        JValue::Object(_) => v
            .as_object()
            .into_iter()
            .flat_map(|m| m.values())
            .try_for_each(check_finite),
        _ => Ok(()),
    }
}

fn eval_err(msg: impl Into<String>) -> EvaluatorError {
    EvaluatorError::EvaluationError(msg.into())
}

fn json_arg(args: &[JValue], i: usize) -> Option<Value> {
    args.get(i).and_then(|a| from_jvalue(a).ok().flatten())
}

fn back(v: &Value) -> Result<JValue, EvaluatorError> {
    to_jvalue(v).map_err(eval_err)
}

type HostClosure = dyn Fn(&[JValue]) -> Result<JValue, EvaluatorError>;

/// Step Functions' own JSONata functions.
fn register_functions(ev: &mut Evaluator, seed: Option<u64>) {
    // `register_fn_override` also registers names that are not built-ins; `$random` does shadow one,
    // deliberately, as AWS's does.
    let reg = |ev: &mut Evaluator, name: &str, f: Box<HostClosure>| {
        let _ = ev.register_fn_override(name, move |a: &[JValue]| f(a));
    };
    reg(
        ev,
        "partition",
        Box::new(|a| {
            let (Some(Value::Array(items)), Some(size)) = (json_arg(a, 0), json_arg(a, 1)) else {
                return Err(eval_err("$partition expects an array and a chunk size"));
            };
            let size = size
                .as_u64()
                .filter(|s| *s > 0)
                .ok_or_else(|| eval_err("$partition: the chunk size must be a positive integer"))?;
            let size = usize::try_from(size).unwrap_or(usize::MAX);
            back(&Value::Array(
                items.chunks(size).map(|c| Value::from(c.to_vec())).collect(),
            ))
        }),
    );
    reg(
        ev,
        "range",
        Box::new(|a| {
            let nums: Vec<i64> = (0..3)
                .map(|i| json_arg(a, i).and_then(|v| v.as_i64()))
                .collect::<Option<_>>()
                .ok_or_else(|| eval_err("$range expects three integers: start, end and step"))?;
            let (first, last, step) = (nums[0], nums[1], nums[2]);
            if step == 0 {
                return Err(eval_err("$range: step must not be 0"));
            }
            let mut out = Vec::new();
            let mut i = first;
            while (step > 0 && i <= last) || (step < 0 && i >= last) {
                if out.len() >= MAX_RANGE_ITEMS {
                    return Err(eval_err(format!("$range: more than {MAX_RANGE_ITEMS} items")));
                }
                out.push(Value::from(i));
                let Some(n) = i.checked_add(step) else { break };
                i = n;
            }
            back(&Value::from(out))
        }),
    );
    reg(
        ev,
        "hash",
        Box::new(|a| {
            let (Some(Value::String(data)), Some(Value::String(alg))) = (json_arg(a, 0), json_arg(a, 1))
            else {
                return Err(eval_err("$hash expects a string and an algorithm name"));
            };
            if data.len() > MAX_STRING_ARGUMENT {
                return Err(eval_err("$hash: the input string is too long"));
            }
            crate::hash::hex_digest(&alg, data.as_bytes())
                .map(|h| JValue::string(h.as_str()))
                .ok_or_else(|| {
                    eval_err(format!(
                        "$hash: unsupported algorithm '{alg}' (MD5, SHA-1, SHA-256, SHA-384, SHA-512)"
                    ))
                })
        }),
    );
    reg(
        ev,
        "uuid",
        Box::new(|_| Ok(JValue::string(crate::intrinsics::uuid_v4().as_str()))),
    );
    reg(
        ev,
        "parse",
        Box::new(|a| {
            let Some(Value::String(s)) = json_arg(a, 0) else {
                return Err(eval_err("$parse expects a JSON string"));
            };
            let v: Value = serde_json::from_str(&s).map_err(|e| eval_err(format!("$parse: {e}")))?;
            back(&v)
        }),
    );
    // The built-in `$pad("x", 2e9)` allocates the whole string before any time-out can stop it, so it
    // is replaced by an equivalent that refuses widths beyond the payload quota.
    let _ = ev.register_fn_override("pad", |a: &[JValue]| -> Result<JValue, EvaluatorError> {
        let Some(text) = a.first().and_then(JValue::as_str) else {
            return Ok(JValue::Undefined);
        };
        let width = a
            .get(1)
            .and_then(JValue::as_f64)
            .filter(|w| w.is_finite())
            .ok_or_else(|| {
                eval_err("T0410: Argument 2 of function \"pad\" does not match function signature")
            })?;
        if width.abs() > MAX_STRING_ARGUMENT as f64 {
            return Err(eval_err(format!(
                "$pad: the width must be at most {MAX_STRING_ARGUMENT}"
            )));
        }
        let fill: Vec<char> = match a.get(2).and_then(JValue::as_str) {
            Some(c) if !c.is_empty() => c.chars().collect(),
            _ => vec![' '],
        };
        let len = text.chars().count();
        let target = width.abs().trunc() as usize;
        if target <= len {
            return Ok(JValue::string(text));
        }
        let padding: String = fill.iter().cycle().take(target - len).collect();
        let out = if width > 0.0 {
            format!("{text}{padding}")
        } else {
            format!("{padding}{text}")
        };
        Ok(JValue::string(out.as_str()))
    });
    let random = move |a: &[JValue]| -> Result<JValue, EvaluatorError> {
        let s = match json_arg(a, 0) {
            Some(v) => Some(
                v.as_i64()
                    .ok_or_else(|| eval_err("$random: the seed must be an integer"))?
                    .cast_unsigned(),
            ),
            None => seed,
        };
        let x = match s {
            Some(s) => splitmix(s),
            None => rand::random::<u64>(),
        };
        // 53 random bits make a uniformly distributed double in [0, 1).
        Ok(JValue::from_f64((x >> 11) as f64 / (1u64 << 53) as f64))
    };
    let _ = ev.register_fn_override("random", random);
}

fn splitmix(seed: u64) -> u64 {
    let mut z = seed.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// A JSON value whose strings may be `{% %}` expressions (`Arguments`, `Output`, `Assign`, ...).
#[derive(Debug, Clone)]
pub(crate) enum JTemplate {
    Literal(Value),
    Expr(Expr),
    Object(Vec<(crate::value::Str, JTemplate)>),
    Array(Vec<JTemplate>),
}

impl JTemplate {
    /// Compiles a value; problems come back as `(pointer, message)`.
    pub(crate) fn compile(v: &Value, at: &str, problems: &mut Vec<(String, String)>) -> JTemplate {
        let field = at
            .rsplit('/')
            .next()
            .unwrap_or("")
            .replace("~1", "/")
            .replace("~0", "~");
        Self::compile_in(v, at, &field, problems)
    }

    fn compile_in(v: &Value, at: &str, field: &str, problems: &mut Vec<(String, String)>) -> JTemplate {
        match v {
            Value::String(s) => match expression_text(s) {
                Some(e) => match Expr::parse(e) {
                    Ok(mut x) => {
                        x.field = field.to_owned();
                        JTemplate::Expr(x)
                    }
                    Err(msg) => {
                        problems.push((at.to_owned(), msg));
                        JTemplate::Literal(Value::Null)
                    }
                },
                None => JTemplate::Literal(v.clone()),
            },
            Value::Object(m) => {
                let mut has_expr = false;
                let fields: Vec<(crate::value::Str, JTemplate)> = m
                    .iter()
                    .map(|(k, val)| {
                        let here = format!("{at}/{}", crate::definition::escape_pointer(k));
                        let t = JTemplate::compile_in(val, &here, &format!("{field}/{k}"), problems);
                        has_expr |= !matches!(t, JTemplate::Literal(_));
                        (k.clone(), t)
                    })
                    .collect();
                if has_expr {
                    JTemplate::Object(fields)
                } else {
                    JTemplate::Literal(v.clone())
                }
            }
            Value::Array(items) => {
                let ts: Vec<JTemplate> = items
                    .iter()
                    .enumerate()
                    .map(|(i, item)| {
                        JTemplate::compile_in(item, &format!("{at}/{i}"), &format!("{field}[{i}]"), problems)
                    })
                    .collect();
                if ts.iter().all(|t| matches!(t, JTemplate::Literal(_))) {
                    JTemplate::Literal(v.clone())
                } else {
                    JTemplate::Array(ts)
                }
            }
            other => JTemplate::Literal(other.clone()),
        }
    }

    /// Evaluates; an `undefined` object field is left out, an `undefined` array item or top-level
    /// result is `null`.
    /// Evaluates; an expression anywhere that returns `undefined` fails, as on AWS.
    pub(crate) fn eval(&self, env: &Env<'_>) -> Result<Value, StatesError> {
        match self {
            JTemplate::Literal(v) => Ok(v.clone()),
            JTemplate::Expr(e) => e.eval(env),
            JTemplate::Object(fields) => {
                let mut out = Map::with_capacity(fields.len());
                for (k, t) in fields {
                    out.insert(k.clone(), t.eval(env)?);
                }
                Ok(Value::Object(out))
            }
            JTemplate::Array(items) => items
                .iter()
                .map(|t| t.eval(env))
                .collect::<Result<Vec<_>, _>>()
                .map(Value::from),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::json;

    fn eval(expr: &str, states: Value) -> Result<Option<Value>, StatesError> {
        let e = Expr::parse(expr).expect("parses");
        e.eval_opt(&Env {
            states: &states,
            vars: &Map::new(),
            seed: Some(1),
        })
    }

    #[test]
    fn integers_stay_integers_and_states_is_bound() {
        let out = eval("$states.input.a + 1", json!({"input": {"a": 3}})).expect("ok");
        assert_eq!(out, Some(json!(4)));
        assert_eq!(
            eval("$partition([1,2,3], 2)", json!({})).expect("ok"),
            Some(json!([[1, 2], [3]]))
        );
        assert_eq!(
            eval("$range(1, 5, 2)", json!({})).expect("ok"),
            Some(json!([1, 3, 5]))
        );
        assert_eq!(
            eval("$parse('{\"x\":1}').x", json!({})).expect("ok"),
            Some(json!(1))
        );
        assert_eq!(eval("nothing", json!({"input": {}})).expect("ok"), None);
    }

    #[test]
    fn errors_and_non_finite_numbers() {
        let e = eval("1/0", json!({})).expect_err("infinite");
        assert_eq!(e.error, STATES_QUERY_EVALUATION_ERROR);
        assert!(eval("$range(0, 100000, 1)", json!({})).is_err());
        assert!(eval("$pad('x', 2e9)", json!({})).is_err());
        assert_eq!(
            eval("$pad('ab', -5, '#')", json!({})).expect("ok"),
            Some(json!("###ab"))
        );
        assert_eq!(eval("$pad('ab', 4)", json!({})).expect("ok"), Some(json!("ab  ")));
        assert!(Expr::parse("1 +").is_err());
    }

    #[test]
    fn random_is_seedable() {
        let a = eval("$random(7)", json!({})).expect("ok");
        let b = eval("$random(7)", json!({})).expect("ok");
        assert_eq!(a, b);
        let x = a.and_then(|v| v.as_f64()).expect("number");
        assert!((0.0..1.0).contains(&x));
    }
}
