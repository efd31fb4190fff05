//! Choice rules (JSONPath flavour): data-test expressions and the And/Or/Not combinators.

use crate::value::Value;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use crate::error::{STATES_RUNTIME, StatesError};
use crate::jsonpath::JsonPath;

#[derive(Debug, Clone)]
pub(crate) enum ChoiceRule {
    And(Vec<ChoiceRule>),
    Or(Vec<ChoiceRule>),
    Not(Box<ChoiceRule>),
    Compare {
        variable: JsonPath,
        comparison: Comparison,
        operand: Operand,
    },
    /// A JSONata `Condition`; evaluated by the execution, which binds `$states` and the variables.
    Condition(crate::jsonata::JTemplate),
}

#[derive(Debug, Clone)]
pub(crate) enum Operand {
    Literal(Value),
    Path(JsonPath),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    String,
    Numeric,
    Boolean,
    Timestamp,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Relation {
    Eq,
    Lt,
    Gt,
    Le,
    Ge,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Comparison {
    Compare(Kind, Relation),
    StringMatches,
    IsNull,
    IsPresent,
    IsNumeric,
    IsString,
    IsBoolean,
    IsTimestamp,
}

impl Comparison {
    pub(crate) fn from_name(name: &str) -> Option<Comparison> {
        let base = name.strip_suffix("Path").unwrap_or(name);
        let simple = match base {
            "StringMatches" if !name.ends_with("Path") => Some(Comparison::StringMatches),
            "IsNull" => Some(Comparison::IsNull),
            "IsPresent" => Some(Comparison::IsPresent),
            "IsNumeric" => Some(Comparison::IsNumeric),
            "IsString" => Some(Comparison::IsString),
            "IsBoolean" => Some(Comparison::IsBoolean),
            "IsTimestamp" => Some(Comparison::IsTimestamp),
            _ => None,
        };
        if simple.is_some() {
            // Type tests have no Path variant.
            return if name.ends_with("Path") { None } else { simple };
        }
        let (kind, rest) = [
            ("String", Kind::String),
            ("Numeric", Kind::Numeric),
            ("Boolean", Kind::Boolean),
            ("Timestamp", Kind::Timestamp),
        ]
        .into_iter()
        .find_map(|(p, k)| base.strip_prefix(p).map(|r| (k, r)))?;
        let rel = match rest {
            "Equals" => Relation::Eq,
            "LessThan" => Relation::Lt,
            "GreaterThan" => Relation::Gt,
            "LessThanEquals" => Relation::Le,
            "GreaterThanEquals" => Relation::Ge,
            _ => return None,
        };
        if kind == Kind::Boolean && rel != Relation::Eq {
            return None;
        }
        Some(Comparison::Compare(kind, rel))
    }

    /// What literal operand the operator takes, for validation messages.
    pub(crate) fn operand_kind(&self) -> &'static str {
        match self {
            Comparison::Compare(Kind::String, _) | Comparison::StringMatches => "string",
            Comparison::Compare(Kind::Numeric, _) => "number",
            Comparison::Compare(Kind::Timestamp, _) => "timestamp",
            _ => "boolean",
        }
    }
}

impl ChoiceRule {
    pub(crate) fn evaluate(&self, input: &Value, context: &Value) -> Result<bool, StatesError> {
        match self {
            ChoiceRule::Condition(_) => Err(StatesError::new(
                STATES_RUNTIME,
                "a JSONata Condition cannot be evaluated as a JSONPath rule",
            )),
            ChoiceRule::And(rules) => {
                for r in rules {
                    if !r.evaluate(input, context)? {
                        return Ok(false);
                    }
                }
                Ok(true)
            }
            ChoiceRule::Or(rules) => {
                for r in rules {
                    if r.evaluate(input, context)? {
                        return Ok(true);
                    }
                }
                Ok(false)
            }
            ChoiceRule::Not(r) => Ok(!r.evaluate(input, context)?),
            ChoiceRule::Compare {
                variable,
                comparison,
                operand,
            } => {
                let doc = |p: &JsonPath| if p.is_context() { context } else { input };
                if *comparison == Comparison::IsPresent {
                    let expected = matches!(operand, Operand::Literal(Value::Bool(true)));
                    return Ok(variable.exists(doc(variable)) == expected);
                }
                let value = variable
                    .select(doc(variable))
                    .map_err(|e| runtime(variable, e.to_string()))?;
                let rhs = match operand {
                    Operand::Literal(v) => v.clone(),
                    Operand::Path(p) => p.select(doc(p)).map_err(|e| runtime(p, e.to_string()))?,
                };
                Ok(compare(*comparison, &value, &rhs))
            }
        }
    }
}

fn runtime(path: &JsonPath, detail: String) -> StatesError {
    StatesError::new(
        STATES_RUNTIME,
        format!(
            "Invalid path '{path}': The choice state's condition path references an invalid value. {detail}"
        ),
    )
}

fn timestamp(v: &Value) -> Option<OffsetDateTime> {
    v.as_str().and_then(|s| OffsetDateTime::parse(s, &Rfc3339).ok())
}

fn compare(c: Comparison, lhs: &Value, rhs: &Value) -> bool {
    let type_test = |b: bool| rhs.as_bool().is_some_and(|want| want == b);
    match c {
        Comparison::IsNull => type_test(lhs.is_null()),
        Comparison::IsNumeric => type_test(lhs.is_number()),
        Comparison::IsString => type_test(lhs.is_string()),
        Comparison::IsBoolean => type_test(lhs.is_boolean()),
        Comparison::IsTimestamp => type_test(timestamp(lhs).is_some()),
        Comparison::IsPresent => type_test(true),
        Comparison::StringMatches => match (lhs.as_str(), rhs.as_str()) {
            (Some(s), Some(p)) => wildcard_match(s, p),
            _ => false,
        },
        Comparison::Compare(kind, rel) => {
            let ord = match kind {
                Kind::String => match (lhs.as_str(), rhs.as_str()) {
                    (Some(a), Some(b)) => a.cmp(b),
                    _ => return false,
                },
                Kind::Numeric => match (lhs.as_f64(), rhs.as_f64()) {
                    (Some(a), Some(b)) => match a.partial_cmp(&b) {
                        Some(o) => o,
                        None => return false,
                    },
                    _ => return false,
                },
                Kind::Boolean => match (lhs.as_bool(), rhs.as_bool()) {
                    (Some(a), Some(b)) => a.cmp(&b),
                    _ => return false,
                },
                Kind::Timestamp => match (timestamp(lhs), timestamp(rhs)) {
                    (Some(a), Some(b)) => a.cmp(&b),
                    _ => return false,
                },
            };
            match rel {
                Relation::Eq => ord.is_eq(),
                Relation::Lt => ord.is_lt(),
                Relation::Gt => ord.is_gt(),
                Relation::Le => ord.is_le(),
                Relation::Ge => ord.is_ge(),
            }
        }
    }
}

/// `StringMatches`: `*` matches any run of characters; `\*` and `\\` are literal.
fn wildcard_match(s: &str, pattern: &str) -> bool {
    #[derive(Clone, Copy, PartialEq)]
    enum Tok {
        Star,
        Lit(char),
    }
    let mut toks = Vec::new();
    let mut it = pattern.chars();
    while let Some(c) = it.next() {
        match c {
            '\\' => toks.push(Tok::Lit(it.next().unwrap_or('\\'))),
            '*' => toks.push(Tok::Star),
            c => toks.push(Tok::Lit(c)),
        }
    }
    let s: Vec<char> = s.chars().collect();
    let (mut si, mut ti) = (0, 0);
    let mut backtrack: Option<(usize, usize)> = None;
    while si < s.len() {
        if ti < toks.len() && toks[ti] == Tok::Lit(s[si]) {
            si += 1;
            ti += 1;
        } else if ti < toks.len() && toks[ti] == Tok::Star {
            backtrack = Some((ti, si));
            ti += 1;
        } else if let Some((bt, bs)) = backtrack {
            ti = bt + 1;
            si = bs + 1;
            backtrack = Some((bt, bs + 1));
        } else {
            return false;
        }
    }
    toks[ti..].iter().all(|t| *t == Tok::Star)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::json;

    fn rule(op: &str, var: &str, operand: Value) -> ChoiceRule {
        let comparison = Comparison::from_name(op).expect("known operator");
        let operand = if op.ends_with("Path") {
            Operand::Path(JsonPath::parse(operand.as_str().expect("path")).expect("valid"))
        } else {
            Operand::Literal(operand)
        };
        ChoiceRule::Compare {
            variable: JsonPath::parse(var).expect("valid"),
            comparison,
            operand,
        }
    }

    #[test]
    fn comparisons() {
        let input = json!({"s": "abc", "n": 5, "b": true, "z": null, "t": "2024-01-01T00:00:00Z", "m": 5.0});
        let ctx = json!({});
        let ok = |r: ChoiceRule| r.evaluate(&input, &ctx).expect("evaluates");
        assert!(ok(rule("StringEquals", "$.s", json!("abc"))));
        assert!(!ok(rule("StringEquals", "$.n", json!("5"))));
        assert!(ok(rule("StringLessThan", "$.s", json!("abd"))));
        assert!(ok(rule("NumericEquals", "$.n", json!(5))));
        assert!(ok(rule("NumericEqualsPath", "$.n", json!("$.m"))));
        assert!(ok(rule("NumericGreaterThanEquals", "$.n", json!(5))));
        assert!(!ok(rule("NumericLessThan", "$.n", json!(5))));
        assert!(ok(rule("BooleanEquals", "$.b", json!(true))));
        assert!(ok(rule("IsNull", "$.z", json!(true))));
        assert!(ok(rule("IsPresent", "$.nope", json!(false))));
        assert!(ok(rule("IsNumeric", "$.n", json!(true))));
        assert!(ok(rule("IsString", "$.n", json!(false))));
        assert!(ok(rule("IsBoolean", "$.b", json!(true))));
        assert!(ok(rule("IsTimestamp", "$.t", json!(true))));
        assert!(ok(rule(
            "TimestampLessThan",
            "$.t",
            json!("2024-06-01T00:00:00+02:00")
        )));
        assert!(ok(rule("StringMatches", "$.s", json!("a*c"))));
        assert!(!ok(rule("StringMatches", "$.s", json!("a\\*c"))));
        let and = ChoiceRule::And(vec![
            rule("IsPresent", "$.s", json!(true)),
            rule("NumericEquals", "$.n", json!(5)),
        ]);
        assert!(ok(and));
        let not = ChoiceRule::Not(Box::new(rule("StringEquals", "$.s", json!("x"))));
        assert!(ok(not));
        let or = ChoiceRule::Or(vec![
            rule("StringEquals", "$.s", json!("x")),
            rule("IsNull", "$.z", json!(false)),
        ]);
        assert!(!ok(or));
        let err = rule("StringEquals", "$.missing", json!("x"))
            .evaluate(&input, &ctx)
            .expect_err("missing");
        assert_eq!(err.error, "States.Runtime");
        assert!(Comparison::from_name("BooleanLessThan").is_none());
        assert!(Comparison::from_name("IsNullPath").is_none());
    }

    #[test]
    fn wildcards() {
        assert!(wildcard_match("log-2024.txt", "log-*.txt"));
        assert!(wildcard_match("anything", "*"));
        assert!(!wildcard_match("log.csv", "log-*.txt"));
        assert!(wildcard_match("a*b", "a\\*b"));
    }
}
