//! Payload templates (`Parameters`, `ResultSelector`, `ItemSelector`): fields ending in `.$` are
//! replaced by a path into the input, a path into the context object (`$$`) or an intrinsic call.

use crate::value::{Map, Str, Value, string_len};

use crate::error::{STATES_RUNTIME, StatesError};
use crate::intrinsics::{self, Call};
use crate::jsonpath::JsonPath;

#[derive(Debug, Clone)]
pub(crate) enum Template {
    Literal(Value),
    /// Fields in order; `distinct` when no two fields give the same output name (`"a"` beside
    /// `"a.$"`), so the output is built without looking each name up. `names_len`: the JSON text of
    /// the output's braces, names, colons and commas.
    Object {
        fields: Vec<(Str, Field)>,
        distinct: bool,
        names_len: usize,
    },
    Array(Vec<Template>),
}

#[derive(Debug, Clone)]
pub(crate) enum Field {
    Static(Template),
    /// `key` is the original field name, ending in `.$`, kept for error messages.
    Path {
        key: Str,
        path: JsonPath,
    },
    Intrinsic {
        key: Str,
        call: Call,
    },
}

impl Template {
    /// Compiles a template; problems come back as `(relative pointer, message)`.
    pub(crate) fn compile(v: &Value, at: &str, problems: &mut Vec<(String, String)>) -> Template {
        match v {
            Value::Object(m) => {
                let mut fields = Vec::with_capacity(m.len());
                for (k, val) in m {
                    let here = format!("{at}/{}", crate::definition::escape_pointer(k));
                    if let Some(name) = k.strip_suffix(".$") {
                        let Some(s) = val.as_str() else {
                            problems.push((
                                here,
                                format!(
                                    "the value of \"{k}\" must be a string (a path or an intrinsic function)"
                                ),
                            ));
                            continue;
                        };
                        let field = if intrinsics::looks_like_call(s) {
                            match intrinsics::parse(s) {
                                Ok(call) => Field::Intrinsic { key: k.clone(), call },
                                Err(e) => {
                                    problems.push((here, e.to_string()));
                                    continue;
                                }
                            }
                        } else {
                            match JsonPath::parse(s) {
                                Ok(path) => Field::Path { key: k.clone(), path },
                                Err(e) => {
                                    problems.push((here, e.to_string()));
                                    continue;
                                }
                            }
                        };
                        fields.push((name.into(), field));
                    } else {
                        fields.push((k.clone(), Field::Static(Template::compile(val, &here, problems))));
                    }
                }
                let distinct = fields
                    .iter()
                    .enumerate()
                    .all(|(i, (name, _))| fields[..i].iter().all(|(other, _)| other != name));
                let names_len = 2
                    + fields.len().saturating_sub(1)
                    + fields.iter().map(|(name, _)| string_len(name) + 1).sum::<usize>();
                Template::Object {
                    fields,
                    distinct,
                    names_len,
                }
            }
            Value::Array(items) => Template::Array(
                items
                    .iter()
                    .enumerate()
                    .map(|(i, item)| Template::compile(item, &format!("{at}/{i}"), problems))
                    .collect(),
            ),
            other => Template::Literal(other.clone()),
        }
    }

    /// An upper bound on `out.json_len()`, where `out` is this template's output for an input whose
    /// JSON text is at most `input_len` bytes: a definite path into the input selects one part of it,
    /// which is no longer than the whole. Only what came from elsewhere (context, intrinsics,
    /// literals) is measured, so a template that hands on a large input costs a walk of its fields.
    pub(crate) fn output_len_bound(&self, out: &Value, input_len: usize) -> usize {
        match (self, out) {
            (
                Template::Object {
                    fields,
                    distinct: true,
                    names_len,
                },
                Value::Object(m),
            ) if m.len() == fields.len() => {
                let mut len = *names_len;
                for ((_, field), (_, v)) in fields.iter().zip(m.iter()) {
                    len += match field {
                        Field::Static(t) => t.output_len_bound(v, input_len),
                        Field::Path { path, .. } if path.is_definite() && !path.is_context() => input_len,
                        _ => v.json_len(),
                    };
                }
                len
            }
            (Template::Array(items), Value::Array(a)) if a.len() == items.len() => {
                2 + items.len().saturating_sub(1)
                    + items
                        .iter()
                        .zip(a.iter())
                        .map(|(t, v)| t.output_len_bound(v, input_len))
                        .sum::<usize>()
            }
            _ => out.json_len(),
        }
    }

    pub(crate) fn evaluate(&self, input: &Value, context: &Value) -> Result<Value, StatesError> {
        match self {
            Template::Literal(v) => Ok(v.clone()),
            Template::Array(items) => items
                .iter()
                .map(|t| t.evaluate(input, context))
                .collect::<Result<Vec<_>, _>>()
                .map(Value::from),
            Template::Object { fields, distinct, .. } => {
                let mut out = Vec::with_capacity(fields.len());
                for (name, field) in fields {
                    let v = match field {
                        Field::Static(t) => t.evaluate(input, context)?,
                        Field::Path { key, path } => {
                            let doc = if path.is_context() { context } else { input };
                            path.select(doc).map_err(|_| {
                                // AWS reports unresolvable `.$` paths as a terminal States.Runtime error; the cause is AWS's
                                // as quoted in cumulus-orca PR #346 and floci-io/floci issue #2521.
                                StatesError::new(
                                    STATES_RUNTIME,
                                    format!(
                                        "The JSONPath '{path}' specified for the field '{key}' could not be found in the input '{doc}'"
                                    ),
                                )
                            })?
                        }
                        // AWS reports intrinsic failures as States.Runtime; States.IntrinsicFailure is
                        // "Reserved for future use" (concepts-error-handling). The wording is ours.
                        Field::Intrinsic { key, call } => call.eval(input, context).map_err(|e| {
                            StatesError::new(
                                STATES_RUNTIME,
                                format!("The intrinsic function for the field '{key}' failed: {}", e.0),
                            )
                        })?,
                    };
                    out.push((name.clone(), v));
                }
                Ok(Value::Object(if *distinct {
                    Map::from_distinct(out)
                } else {
                    out.into_iter().collect()
                }))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::json;

    #[test]
    fn template_fields() {
        let mut problems = Vec::new();
        let t = Template::compile(
            &json!({
                "static": {"deep": [1, {"x.$": "$.a"}]},
                "a.$": "$.a",
                "exec.$": "$$.Execution.Id",
                "msg.$": "States.Format('n={}', $.a)"
            }),
            "/Parameters",
            &mut problems,
        );
        assert!(problems.is_empty(), "{problems:?}");
        let out = t
            .evaluate(&json!({"a": 7}), &json!({"Execution": {"Id": "arn:x"}}))
            .expect("evaluates");
        assert_eq!(
            out,
            json!({"static": {"deep": [1, {"x": 7}]}, "a": 7, "exec": "arn:x", "msg": "n=7"})
        );
        let err = t.evaluate(&json!({}), &json!({})).expect_err("missing path");
        assert_eq!(err.error, "States.Runtime");
    }

    #[test]
    fn compile_problems_carry_pointers() {
        let mut problems = Vec::new();
        Template::compile(
            &json!({"a": {"b.$": 3, "c.$": "nope"}}),
            "/States/S/Parameters",
            &mut problems,
        );
        assert_eq!(problems.len(), 2);
        assert_eq!(problems[0].0, "/States/S/Parameters/a/b.$");
    }
}
