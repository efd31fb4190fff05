//! Parsing and validation of state machine definitions into an executable model.
//!
//! The definition is read through its own order-preserving JSON tree, which keeps every key as written:
//! a JSON value (ours or serde_json's) keeps one of each duplicate key silently, and AWS rejects them.

use std::collections::{BTreeSet, HashMap, VecDeque};
use std::fmt;

use crate::value::Value;
use serde::de::{Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use crate::choice::{ChoiceRule, Comparison, Operand};
use crate::error::STATES_ALL;
use crate::jsonata::{JTemplate, expression_text};
use crate::jsonpath::JsonPath;
use crate::payload::Template;

/// One validation problem: a JSON pointer into the definition and what is wrong there.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    pub location: String,
    pub message: String,
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let loc = if self.location.is_empty() {
            "/"
        } else {
            &self.location
        };
        write!(f, "{loc}: {}", self.message)
    }
}

/// Why a definition was rejected; `Display` lists every problem found, one a line.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct DefinitionError {
    pub problems: Vec<Problem>,
}

impl DefinitionError {
    /// Location of the first problem.
    pub fn location(&self) -> &str {
        self.problems.first().map_or("", |p| p.location.as_str())
    }

    /// Message of the first problem.
    pub fn message(&self) -> &str {
        self.problems.first().map_or("", |p| p.message.as_str())
    }
}

impl fmt::Display for DefinitionError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, p) in self.problems.iter().enumerate() {
            if i > 0 {
                writeln!(f)?;
            }
            write!(f, "{p}")?;
        }
        Ok(())
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum QueryLanguage {
    #[serde(rename = "JSONPath")]
    JsonPath,
    #[serde(rename = "JSONata")]
    Jsonata,
}

/// A parsed and validated state machine.
#[derive(Debug, Clone)]
pub struct StateMachine {
    definition: Value,
    text: String,
    comment: Option<String>,
    pub(crate) query_language: QueryLanguage,
    pub(crate) timeout_seconds: Option<u64>,
    pub(crate) root: Scope,
}

impl StateMachine {
    pub fn from_json(text: &str) -> Result<StateMachine, DefinitionError> {
        let tree: OJson = serde_json::from_str(text).map_err(|e| DefinitionError {
            problems: vec![Problem {
                location: String::new(),
                message: format!("invalid JSON: {e}"),
            }],
        })?;
        let mut v = Validator {
            problems: Vec::new(),
            jsonata: false,
            seen_names: Vec::new(),
        };
        let parsed = v.machine(&tree);
        match parsed {
            Some(mut m) if v.problems.is_empty() => {
                m.text = text.to_owned();
                Ok(m)
            }
            _ => {
                if v.problems.is_empty() {
                    v.problem("", "invalid state machine definition");
                }
                Err(DefinitionError { problems: v.problems })
            }
        }
    }

    pub fn definition(&self) -> &Value {
        &self.definition
    }

    /// The definition exactly as given (`definition()` is parsed, so its keys are sorted).
    pub fn definition_text(&self) -> &str {
        &self.text
    }

    pub fn comment(&self) -> Option<&str> {
        self.comment.as_deref()
    }

    /// Top-level state names in definition order.
    pub fn state_names(&self) -> Vec<String> {
        self.root.states.iter().map(|s| s.name.to_string()).collect()
    }

    pub fn query_language(&self) -> QueryLanguage {
        self.query_language
    }

    pub fn timeout_seconds(&self) -> Option<u64> {
        self.timeout_seconds
    }

    /// Resolves the scope a frame runs in.
    pub(crate) fn scope(&self, path: &[ScopeStep]) -> Option<&Scope> {
        let mut scope = &self.root;
        for step in path {
            let state = scope.get(&step.state)?;
            scope = match (&state.kind, step.branch) {
                (StateKind::Parallel { branches, .. }, Some(i)) => branches.get(i)?,
                (StateKind::Map { processor, .. }, None) => processor,
                _ => return None,
            };
        }
        Some(scope)
    }
}

/// One step from a scope into a nested one: a Parallel branch (`branch = Some(i)`) or a Map processor.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub(crate) struct ScopeStep {
    pub state: Name,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub branch: Option<usize>,
}

#[derive(Debug, Clone)]
pub(crate) struct Scope {
    pub start_at: Name,
    pub states: Vec<State>,
    index: HashMap<String, usize, foldhash::fast::RandomState>,
}

impl Scope {
    pub(crate) fn get(&self, name: &str) -> Option<&State> {
        self.index.get(name).map(|&i| &self.states[i])
    }
}

/// A state's name, shared by the definition, the running frames and history without copying it.
pub(crate) type Name = std::sync::Arc<str>;

#[derive(Debug, Clone)]
pub(crate) struct State {
    pub name: Name,
    pub kind: StateKind,
    /// `None` means `"InputPath": null` (the state sees `{}`); absent defaults to `$`.
    pub input_path: Option<JsonPath>,
    pub output_path: Option<JsonPath>,
    pub next: Transition,
    pub retry: Vec<Retrier>,
    pub catch: Vec<Catcher>,
    /// The state's query language is JSONata (its own `QueryLanguage` or the machine's).
    pub jsonata: bool,
    pub assign: Option<Assign>,
    /// JSONata `Output`.
    pub output: Option<JTemplate>,
    /// JSONata `Arguments` (Task, Parallel).
    pub arguments: Option<JTemplate>,
    /// Whether anything in the state can read the context object, variables or `$states`. When not,
    /// the engine skips building them: that object holds a copy of the execution input and was the
    /// largest per-state cost in profiles.
    pub needs_context: bool,
    /// Which context object fields the state can read; only those are built (a copy of the execution
    /// input and two formatted timestamps per state were a third of a checkout's engine time).
    pub context_reads: ContextReads,
}

/// A set of context object fields (`$$.Execution.Name`, ...), found by scanning a state's strings.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct ContextReads(u16);

impl ContextReads {
    pub(crate) const ALL: ContextReads = ContextReads(u16::MAX);
    pub(crate) const EXECUTION_ID: u16 = 1 << 0;
    pub(crate) const EXECUTION_INPUT: u16 = 1 << 1;
    pub(crate) const EXECUTION_NAME: u16 = 1 << 2;
    pub(crate) const EXECUTION_ROLE_ARN: u16 = 1 << 3;
    pub(crate) const EXECUTION_START_TIME: u16 = 1 << 4;
    pub(crate) const EXECUTION_REDRIVE_COUNT: u16 = 1 << 5;
    pub(crate) const STATE_ENTERED_TIME: u16 = 1 << 6;
    pub(crate) const STATE_NAME: u16 = 1 << 7;
    pub(crate) const STATE_RETRY_COUNT: u16 = 1 << 8;
    pub(crate) const STATE_MACHINE_ID: u16 = 1 << 9;
    pub(crate) const STATE_MACHINE_NAME: u16 = 1 << 10;

    pub(crate) const STATE_FIELDS: u16 =
        Self::STATE_ENTERED_TIME | Self::STATE_NAME | Self::STATE_RETRY_COUNT;

    pub(crate) fn bits(self) -> u16 {
        self.0
    }

    pub(crate) fn has(self, field: u16) -> bool {
        self.0 & field != 0
    }

    /// Conservative: a JSONata expression, or a `$$` not followed by `.Object.Field` naming a known
    /// field (`$$`, `$$.Execution`, `$$['State']`, ...), reads everything. `Task` and `Map` are built
    /// whenever the state has a token or an item, so reading them adds nothing here.
    pub(crate) fn scan(v: &Value) -> ContextReads {
        let mut reads = ContextReads(0);
        visit_text(v, &mut |s| {
            if s.contains("{%") {
                reads = ContextReads::ALL;
                return;
            }
            for (i, _) in s.match_indices("$$") {
                reads.0 |= Self::field_at(&s[i + 2..]);
            }
        });
        reads
    }

    fn field_at(rest: &str) -> u16 {
        fn ident(s: &str) -> Option<(&str, &str)> {
            let s = s.strip_prefix('.')?;
            let end = s
                .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                .unwrap_or(s.len());
            (end > 0).then(|| s.split_at(end))
        }
        let Some((object, rest)) = ident(rest) else {
            return u16::MAX;
        };
        if object == "Task" || object == "Map" {
            return 0;
        }
        let Some((field, _)) = ident(rest) else {
            return u16::MAX;
        };
        match (object, field) {
            ("Execution", "Id") => Self::EXECUTION_ID,
            ("Execution", "Input") => Self::EXECUTION_INPUT,
            ("Execution", "Name") => Self::EXECUTION_NAME,
            ("Execution", "RoleArn") => Self::EXECUTION_ROLE_ARN,
            ("Execution", "StartTime") => Self::EXECUTION_START_TIME,
            ("Execution", "RedriveCount") => Self::EXECUTION_REDRIVE_COUNT,
            ("State", "EnteredTime") => Self::STATE_ENTERED_TIME,
            ("State", "Name") => Self::STATE_NAME,
            ("State", "RetryCount") => Self::STATE_RETRY_COUNT,
            ("StateMachine", "Id") => Self::STATE_MACHINE_ID,
            ("StateMachine", "Name") => Self::STATE_MACHINE_NAME,
            _ => u16::MAX,
        }
    }
}

/// Calls `f` on every string in `v`, object keys included.
fn visit_text(v: &Value, f: &mut dyn FnMut(&str)) {
    match v {
        Value::String(s) => f(s),
        Value::Array(items) => items.iter().for_each(|item| visit_text(item, f)),
        Value::Object(m) => m.iter().for_each(|(k, v)| {
            f(k);
            visit_text(v, f)
        }),
        _ => {}
    }
}

/// Whether any string in `v`, object keys included, satisfies `test`.
fn any_text(v: &Value, test: &dyn Fn(&str) -> bool) -> bool {
    match v {
        Value::String(s) => test(s),
        Value::Array(items) => items.iter().any(|item| any_text(item, test)),
        Value::Object(m) => m.iter().any(|(k, v)| test(k) || any_text(v, test)),
        _ => false,
    }
}

/// Conservatively: any string (key or value) with `$` followed by `$`, a letter or `_` (a context path,
/// a variable, `$states`), or a JSONata `{%` expression.
pub(crate) fn may_read_context(v: &Value) -> bool {
    any_text(v, &|s| {
        s.contains("{%")
            || s.as_bytes()
                .windows(2)
                .any(|w| w[0] == b'$' && (w[1] == b'$' || w[1] == b'_' || w[1].is_ascii_alphabetic()))
    })
}

/// `Assign`: a payload template in JSONPath states, `{% %}` expressions in JSONata states.
#[derive(Debug, Clone)]
pub(crate) enum Assign {
    Path(Template),
    Jsonata(JTemplate),
}

/// Reserved variable name: `$states` is bound by Step Functions itself.
const RESERVED_VARIABLES: &[&str] = &["states"];

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Transition {
    Next(Name),
    End,
}

/// `None` is `"ResultPath": null`: the result is discarded and the input passes through.
pub(crate) type ResultPath = Option<JsonPath>;

#[derive(Debug, Clone)]
pub(crate) enum Seconds {
    Fixed(u64),
    Path(JsonPath),
    Expr(JTemplate),
}

/// A Fail state's `ErrorPath` / `CausePath`: a reference path or an intrinsic function call.
#[derive(Debug, Clone)]
pub(crate) enum FailPath {
    Path(JsonPath),
    Call(crate::intrinsics::Call),
}

/// Parses a Wait timestamp. The States Language spec ("Timestamps") and AWS's Wait state docs require
/// RFC 3339 "with the further restrictions that an uppercase T must separate the date and time
/// portions, and an uppercase Z must denote that a numeric time zone offset is not present"
/// (https://states-language.net/spec.html#timestamps,
/// https://docs.aws.amazon.com/step-functions/latest/dg/state-wait.html). The `time` crate's RFC 3339
/// parser is laxer (lowercase `t`/`z`), so the separator and zone letter are checked first.
pub(crate) fn parse_wait_timestamp(s: &str) -> Option<OffsetDateTime> {
    let strict = s.as_bytes().get(10) == Some(&b'T') && !s.contains(['t', 'z']);
    if !strict {
        return None;
    }
    OffsetDateTime::parse(s, &Rfc3339).ok()
}

#[derive(Debug, Clone)]
pub(crate) enum WaitSpec {
    Seconds(Seconds),
    Timestamp(OffsetDateTime),
    TimestampPath(JsonPath),
    TimestampExpr(JTemplate),
}

/// Map state options beyond the items themselves.
#[derive(Debug, Clone, Default)]
pub(crate) struct MapOptions {
    /// JSONata `Items`.
    pub items: Option<JTemplate>,
    /// JSONata `ItemSelector`.
    pub item_selector_jsonata: Option<JTemplate>,
    pub batcher: Option<ItemBatcher>,
    pub tolerated_percentage: Option<Tolerance>,
    pub tolerated_count: Option<Tolerance>,
}

#[derive(Debug, Clone)]
pub(crate) struct ItemBatcher {
    pub max_items: Option<Seconds>,
    pub max_bytes: Option<Seconds>,
    pub batch_input: Option<BatchInput>,
}

#[derive(Debug, Clone)]
pub(crate) enum BatchInput {
    Path(Template),
    Jsonata(JTemplate),
}

#[derive(Debug, Clone)]
pub(crate) enum Tolerance {
    Fixed(f64),
    Path(JsonPath),
    Expr(JTemplate),
}

#[derive(Debug, Clone)]
pub(crate) enum StateKind {
    Pass {
        parameters: Option<Template>,
        result: Option<Value>,
        result_path: ResultPath,
    },
    Task {
        resource: crate::execution::TaskResource,
        parameters: Option<Template>,
        result_selector: Option<Template>,
        result_path: ResultPath,
        timeout: Option<Seconds>,
        heartbeat: Option<Seconds>,
    },
    Choice {
        choices: Vec<(ChoiceRule, Name)>,
        /// Per rule: its own `Assign` and (JSONata) `Output`.
        rule_io: Vec<(Option<Assign>, Option<JTemplate>)>,
        default: Option<Name>,
    },
    Wait {
        wait: WaitSpec,
    },
    Succeed,
    Fail {
        error: Option<String>,
        error_path: Option<FailPath>,
        cause: Option<String>,
        cause_path: Option<FailPath>,
        /// JSONata `Error` / `Cause` expressions.
        error_expr: Option<JTemplate>,
        cause_expr: Option<JTemplate>,
    },
    Parallel {
        branches: Vec<Scope>,
        parameters: Option<Template>,
        result_selector: Option<Template>,
        result_path: ResultPath,
    },
    Map {
        processor: Box<Scope>,
        items_path: JsonPath,
        item_selector: Option<Template>,
        max_concurrency: Option<Seconds>,
        result_selector: Option<Template>,
        result_path: ResultPath,
        options: Box<MapOptions>,
    },
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Retrier {
    pub error_equals: Vec<String>,
    pub interval_seconds: f64,
    pub max_attempts: u32,
    pub backoff_rate: f64,
    pub max_delay_seconds: Option<f64>,
    pub jitter_full: bool,
}

impl Retrier {
    /// Delay before retry number `attempt + 1` (0-based `attempt`), before jitter.
    pub(crate) fn delay_seconds(&self, attempt: u32) -> f64 {
        let exp = i32::try_from(attempt).unwrap_or(i32::MAX);
        let d = self.interval_seconds * self.backoff_rate.powi(exp);
        match self.max_delay_seconds {
            Some(cap) => d.min(cap),
            None => d,
        }
    }
}

#[derive(Debug, Clone)]
pub(crate) struct Catcher {
    pub error_equals: Vec<String>,
    pub next: Name,
    pub result_path: ResultPath,
    pub assign: Option<Assign>,
    pub output: Option<JTemplate>,
}

// ---------------------------------------------------------------------------------------------------
// Order-preserving JSON

#[derive(Debug, Clone, PartialEq)]
enum OJson {
    Null,
    Bool(bool),
    Number(serde_json::Number),
    String(String),
    Array(Vec<OJson>),
    Object(Vec<(String, OJson)>),
}

impl OJson {
    fn to_value(&self) -> Value {
        match self {
            OJson::Null => Value::Null,
            OJson::Bool(b) => Value::Bool(*b),
            OJson::Number(n) => Value::Number(n.clone()),
            OJson::String(s) => Value::from(s.clone()),
            OJson::Array(a) => Value::Array(a.iter().map(OJson::to_value).collect()),
            OJson::Object(m) => Value::Object(m.iter().map(|(k, v)| (k.clone(), v.to_value())).collect()),
        }
    }

    fn kind(&self) -> &'static str {
        match self {
            OJson::Null => "null",
            OJson::Bool(_) => "a boolean",
            OJson::Number(_) => "a number",
            OJson::String(_) => "a string",
            OJson::Array(_) => "an array",
            OJson::Object(_) => "an object",
        }
    }
}

impl<'de> Deserialize<'de> for OJson {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = OJson;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("any JSON value")
            }
            fn visit_bool<E>(self, v: bool) -> Result<OJson, E> {
                Ok(OJson::Bool(v))
            }
            fn visit_i64<E>(self, v: i64) -> Result<OJson, E> {
                Ok(OJson::Number(v.into()))
            }
            fn visit_u64<E>(self, v: u64) -> Result<OJson, E> {
                Ok(OJson::Number(v.into()))
            }
            fn visit_f64<E>(self, v: f64) -> Result<OJson, E> {
                Ok(serde_json::Number::from_f64(v).map_or(OJson::Null, OJson::Number))
            }
            fn visit_str<E>(self, v: &str) -> Result<OJson, E> {
                Ok(OJson::String(v.to_owned()))
            }
            fn visit_string<E>(self, v: String) -> Result<OJson, E> {
                Ok(OJson::String(v))
            }
            fn visit_unit<E>(self) -> Result<OJson, E> {
                Ok(OJson::Null)
            }
            fn visit_none<E>(self) -> Result<OJson, E> {
                Ok(OJson::Null)
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<OJson, A::Error> {
                let mut out = Vec::new();
                while let Some(v) = seq.next_element()? {
                    out.push(v);
                }
                Ok(OJson::Array(out))
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<OJson, A::Error> {
                let mut out: Vec<(String, OJson)> = Vec::new();
                while let Some((k, v)) = map.next_entry::<String, OJson>()? {
                    if out.iter().any(|(e, _)| *e == k) {
                        return Err(serde::de::Error::custom(format!("duplicate key \"{k}\"")));
                    }
                    out.push((k, v));
                }
                Ok(OJson::Object(out))
            }
        }
        d.deserialize_any(V)
    }
}

pub(crate) fn escape_pointer(s: &str) -> String {
    s.replace('~', "~0").replace('/', "~1")
}

// ---------------------------------------------------------------------------------------------------
// Validation

struct Validator {
    problems: Vec<Problem>,
    /// The machine's query language, which states inherit.
    jsonata: bool,
    /// Every state name with its pointer: names must be unique across the whole machine, branches and
    /// iterators included.
    seen_names: Vec<(String, String)>,
}

struct Obj<'a> {
    fields: &'a [(String, OJson)],
    at: String,
}

impl<'a> Obj<'a> {
    fn get(&self, k: &str) -> Option<&'a OJson> {
        self.fields.iter().find(|(n, _)| n == k).map(|(_, v)| v)
    }
    fn ptr(&self, k: &str) -> String {
        format!("{}/{}", self.at, escape_pointer(k))
    }
    fn has(&self, k: &str) -> bool {
        self.get(k).is_some()
    }
}

const NOT_YET: &[&str] = &["Credentials"];

/// Distributed Map fields that read items from or write results to Amazon S3. A Distributed Map
/// whose items come from the state input runs in-process like an inline Map; these two cannot.
const NEEDS_S3: &[&str] = &["ItemReader", "ResultWriter"];

/// Fields that only JSONPath states may use.
const JSONPATH_ONLY: &[&str] = &[
    "InputPath",
    "OutputPath",
    "Parameters",
    "ResultSelector",
    "ResultPath",
    "ItemsPath",
    "TimeoutSecondsPath",
    "HeartbeatSecondsPath",
    "SecondsPath",
    "TimestampPath",
    "ErrorPath",
    "CausePath",
    "MaxConcurrencyPath",
    "ToleratedFailurePercentagePath",
    "ToleratedFailureCountPath",
    "Iterator",
];

/// Fields that only JSONata states may use.
const JSONATA_ONLY: &[&str] = &["Arguments", "Output", "Items"];

/// Fields that take a `{% %}` expression in place of their literal value in JSONata states.
const EXPRESSION_FIELDS: &[&str] = &[
    "TimeoutSeconds",
    "HeartbeatSeconds",
    "Seconds",
    "Timestamp",
    "MaxConcurrency",
    "Error",
    "Cause",
    "ToleratedFailurePercentage",
    "ToleratedFailureCount",
];

impl Validator {
    fn problem(&mut self, at: &str, msg: impl Into<String>) {
        self.problems.push(Problem {
            location: at.to_owned(),
            message: msg.into(),
        });
    }

    fn object<'a>(&mut self, v: &'a OJson, at: &str, what: &str) -> Option<Obj<'a>> {
        match v {
            OJson::Object(fields) => Some(Obj {
                fields,
                at: at.to_owned(),
            }),
            other => {
                self.problem(at, format!("{what} must be an object, not {}", other.kind()));
                None
            }
        }
    }

    fn string(&mut self, o: &Obj<'_>, k: &str) -> Option<String> {
        match o.get(k)? {
            OJson::String(s) => Some(s.clone()),
            other => {
                self.problem(&o.ptr(k), format!("must be a string, not {}", other.kind()));
                None
            }
        }
    }

    fn uint(&mut self, o: &Obj<'_>, k: &str, min: u64) -> Option<u64> {
        match o.get(k)? {
            OJson::Number(n) if n.as_u64().is_some_and(|x| x >= min) => n.as_u64(),
            _ => {
                self.problem(&o.ptr(k), format!("must be an integer >= {min}"));
                None
            }
        }
    }

    fn number(&mut self, o: &Obj<'_>, k: &str, min: f64) -> Option<f64> {
        match o.get(k)? {
            OJson::Number(n) if n.as_f64().is_some_and(|x| x >= min) => n.as_f64(),
            _ => {
                self.problem(&o.ptr(k), format!("must be a number >= {min}"));
                None
            }
        }
    }

    /// A path field: absent gives `default`, `null` gives `None` where `nullable`.
    fn path(&mut self, o: &Obj<'_>, k: &str, nullable: bool, reference: bool) -> Option<Option<JsonPath>> {
        match o.get(k) {
            None => Some(Some(JsonPath::parse("$").expect("'$' is a valid path"))),
            Some(OJson::Null) if nullable => Some(None),
            Some(OJson::String(s)) => match JsonPath::parse(s) {
                Ok(p) if reference && !p.is_reference() => {
                    self.problem(
                        &o.ptr(k),
                        format!("'{s}' must be a reference path (names and indexes only)"),
                    );
                    None
                }
                Ok(p) if reference && p.is_context() => {
                    self.problem(&o.ptr(k), format!("'{s}' must not refer to the context object"));
                    None
                }
                Ok(p) => Some(Some(p)),
                Err(e) => {
                    self.problem(&o.ptr(k), e.to_string());
                    None
                }
            },
            Some(other) => {
                let allowed = if nullable { "a string or null" } else { "a string" };
                self.problem(&o.ptr(k), format!("must be {allowed}, not {}", other.kind()));
                None
            }
        }
    }

    /// `ItemProcessor.ProcessorConfig`. A DISTRIBUTED processor whose items come from the state input
    /// runs in-process exactly like an INLINE one (iterations, ItemBatcher, tolerated failures,
    /// MaxConcurrency, results in item order); AWS would start child workflow executions instead.
    /// Values per AWS's Map docs: `Mode` is INLINE or DISTRIBUTED; `ExecutionType` is STANDARD or
    /// EXPRESS and "you must provide this field if you specified DISTRIBUTED for the Mode sub-field"
    /// (https://docs.aws.amazon.com/step-functions/latest/dg/state-map-distributed.html, echoed by the
    /// CDK's ProcessorConfig docs).
    fn processor_config(&mut self, co: &Obj<'_>) {
        self.only_fields(co, &["Mode", "ExecutionType"]);
        let mode = self.string(co, "Mode");
        if let Some(m) = &mode
            && m != "INLINE"
            && m != "DISTRIBUTED"
        {
            self.problem(
                &co.ptr("Mode"),
                format!("must be \"INLINE\" or \"DISTRIBUTED\", not \"{m}\""),
            );
        }
        match self.string(co, "ExecutionType") {
            Some(t) if t != "STANDARD" && t != "EXPRESS" => self.problem(
                &co.ptr("ExecutionType"),
                format!("must be \"STANDARD\" or \"EXPRESS\", not \"{t}\""),
            ),
            None if mode.as_deref() == Some("DISTRIBUTED") && !co.has("ExecutionType") => self.problem(
                &co.at,
                "a DISTRIBUTED processor needs \"ExecutionType\": \"STANDARD\" or \"EXPRESS\"",
            ),
            _ => {}
        }
    }

    /// Map `Label` (it names the child executions of a Distributed Map). AWS's Distributed Map docs:
    /// "up to 40 characters", and it "can't contain any of the following characters: whitespace,
    /// brackets < > { } [ ], wildcard characters ? *, special characters " # % \ ^ | ~ ` $ & , ; : /,
    /// control characters (\\u0000 - \\u001f or \\u007f - \\u009f)"
    /// (https://docs.aws.amazon.com/step-functions/latest/dg/state-map-distributed.html).
    fn map_label(&mut self, at: &str, label: &str) {
        const RESERVED: &str = "<>{}[]?*\"#%\\^|~`$&,;:/";
        if label.chars().count() > 40 {
            self.problem(at, "must be at most 40 characters");
        }
        if let Some(c) = label
            .chars()
            .find(|&c| c.is_whitespace() || c.is_control() || RESERVED.contains(c))
        {
            self.problem(at, format!("must not contain {c:?}"));
        }
    }

    /// Fail `ErrorPath` / `CausePath`: a reference path, or one of the intrinsic functions AWS's Fail
    /// state docs list: "You can also specify ErrorPath using an intrinsic function that returns a
    /// string. These intrinsics are: States.Format, States.JsonToString, States.ArrayGetItem,
    /// States.Base64Encode, States.Base64Decode, States.Hash, and States.UUID"
    /// (https://docs.aws.amazon.com/step-functions/latest/dg/state-fail.html).
    fn fail_path(&mut self, o: &Obj<'_>, k: &str) -> Option<FailPath> {
        const ALLOWED: &[&str] = &[
            "States.Format",
            "States.JsonToString",
            "States.ArrayGetItem",
            "States.Base64Encode",
            "States.Base64Decode",
            "States.Hash",
            "States.UUID",
        ];
        match o.get(k) {
            Some(OJson::String(s)) if crate::intrinsics::looks_like_call(s) => {
                match crate::intrinsics::parse(s) {
                    Ok(call) if ALLOWED.contains(&call.name.as_str()) => Some(FailPath::Call(call)),
                    Ok(call) => {
                        self.problem(
                            &o.ptr(k),
                            format!(
                                "{} is not allowed here; {k} accepts a reference path or one of {}",
                                call.name,
                                ALLOWED.join(", ")
                            ),
                        );
                        None
                    }
                    Err(e) => {
                        self.problem(&o.ptr(k), e.to_string());
                        None
                    }
                }
            }
            Some(_) => self.path(o, k, false, false).flatten().map(FailPath::Path),
            None => None,
        }
    }

    fn optional_path(&mut self, o: &Obj<'_>, k: &str) -> Option<JsonPath> {
        if o.has(k) {
            self.path(o, k, false, false).flatten()
        } else {
            None
        }
    }

    fn template(&mut self, o: &Obj<'_>, k: &str) -> Option<Template> {
        let v = o.get(k)?;
        let value = v.to_value();
        let mut problems = Vec::new();
        let t = Template::compile(&value, &o.ptr(k), &mut problems);
        for (at, msg) in problems {
            self.problem(&at, msg);
        }
        Some(t)
    }

    fn machine(&mut self, tree: &OJson) -> Option<StateMachine> {
        let o = self.object(tree, "", "a state machine definition")?;
        for (k, _) in o.fields {
            if ![
                "StartAt",
                "States",
                "Comment",
                "Version",
                "TimeoutSeconds",
                "QueryLanguage",
            ]
            .contains(&k.as_str())
            {
                self.problem(&o.ptr(k), format!("unknown field \"{k}\""));
            }
        }
        let comment = self.string(&o, "Comment");
        let _ = self.string(&o, "Version");
        let timeout_seconds = if o.has("TimeoutSeconds") {
            self.uint(&o, "TimeoutSeconds", 1)
        } else {
            None
        };
        let query_language = match self.string(&o, "QueryLanguage").as_deref() {
            None | Some("JSONPath") => QueryLanguage::JsonPath,
            Some("JSONata") => {
                self.jsonata = true;
                QueryLanguage::Jsonata
            }
            Some(other) => {
                self.problem(
                    &o.ptr("QueryLanguage"),
                    format!("must be \"JSONPath\" or \"JSONata\", not \"{other}\""),
                );
                QueryLanguage::JsonPath
            }
        };
        let root = self.scope(&o, &[])?;
        Some(StateMachine {
            definition: tree.to_value(),
            text: String::new(),
            comment,
            query_language,
            timeout_seconds,
            root,
        })
    }

    fn scope(&mut self, o: &Obj<'_>, _outer: &[ScopeStep]) -> Option<Scope> {
        let start_at = match o.get("StartAt") {
            None => {
                self.problem(&o.at, "missing required field \"StartAt\"");
                None
            }
            Some(_) => self.string(o, "StartAt"),
        };
        let Some(states_json) = o.get("States") else {
            self.problem(&o.at, "missing required field \"States\"");
            return None;
        };
        let states_obj = self.object(states_json, &o.ptr("States"), "\"States\"")?;
        if states_obj.fields.is_empty() {
            self.problem(&states_obj.at, "must define at least one state");
            return None;
        }
        let mut states = Vec::new();
        for (name, sv) in states_obj.fields {
            let at = states_obj.ptr(name);
            if let Some((_, first)) = self.seen_names.iter().find(|(n, _)| n == name) {
                let msg = format!(
                    "state name \"{name}\" is already used at {first}; names must be unique in the whole state machine"
                );
                self.problem(&at, msg);
            } else {
                self.seen_names.push((name.clone(), at.clone()));
            }
            if name.is_empty() || name.chars().count() > 80 {
                self.problem(&at, "state names must be 1 to 80 characters long");
            }
            if let Some(state) = self.state(name, sv, &at) {
                states.push(state);
            }
        }
        let index: HashMap<String, usize, foldhash::fast::RandomState> = states
            .iter()
            .enumerate()
            .map(|(i, s)| (s.name.to_string(), i))
            .collect();
        let names: BTreeSet<&str> = states_obj.fields.iter().map(|(n, _)| n.as_str()).collect();
        let start_at = start_at?;
        if !names.contains(start_at.as_str()) {
            self.problem(&o.ptr("StartAt"), format!("state \"{start_at}\" does not exist"));
        }
        // Targets are checked against every declared name, so a state that failed to parse does not also
        // produce "does not exist" noise for its referrers.
        for s in &states {
            let at = states_obj.ptr(&s.name);
            let check = |this: &mut Validator, target: &str, rel: String| {
                if !names.contains(target) {
                    this.problem(
                        &format!("{at}{rel}"),
                        format!("state \"{target}\" does not exist"),
                    );
                }
            };
            if let Transition::Next(n) = &s.next {
                check(self, n, "/Next".into());
            }
            for (i, c) in s.catch.iter().enumerate() {
                check(self, &c.next, format!("/Catch/{i}/Next"));
            }
            if let StateKind::Choice { choices, default, .. } = &s.kind {
                for (i, (_, n)) in choices.iter().enumerate() {
                    check(self, n, format!("/Choices/{i}/Next"));
                }
                if let Some(d) = default {
                    check(self, d, "/Default".into());
                }
            }
        }
        if self.problems.is_empty() {
            let mut seen: BTreeSet<&str> = BTreeSet::new();
            let mut queue: VecDeque<&str> = VecDeque::from([start_at.as_str()]);
            while let Some(n) = queue.pop_front() {
                if !seen.insert(n) {
                    continue;
                }
                let Some(s) = index.get(n).map(|&i| &states[i]) else {
                    continue;
                };
                if let Transition::Next(t) = &s.next {
                    queue.push_back(t);
                }
                queue.extend(s.catch.iter().map(|c| &*c.next));
                if let StateKind::Choice { choices, default, .. } = &s.kind {
                    queue.extend(choices.iter().map(|(_, n)| &**n));
                    queue.extend(default.iter().map(|d| &**d));
                }
            }
            for s in &states {
                if !seen.contains(&*s.name) {
                    self.problem(
                        &states_obj.ptr(&s.name),
                        format!("state \"{}\" is not reachable from StartAt", s.name),
                    );
                }
            }
            // Choice states carry no End; every other kind ends the scope through End (Succeed and Fail
            // are End by nature).
            let terminal = states
                .iter()
                .any(|s| !matches!(s.kind, StateKind::Choice { .. }) && matches!(s.next, Transition::End));
            if !terminal && !states.is_empty() {
                self.problem(
                    &states_obj.at,
                    "the workflow has no terminal state: no state has \"End\": true and none is a Succeed or Fail state",
                );
            }
        }
        Some(Scope {
            start_at: start_at.into(),
            states,
            index,
        })
    }

    fn state(&mut self, name: &str, v: &OJson, at: &str) -> Option<State> {
        let o = self.object(v, at, "a state")?;
        let Some(ty) = o.get("Type") else {
            self.problem(at, "missing required field \"Type\"");
            return None;
        };
        let OJson::String(ty) = ty else {
            self.problem(&o.ptr("Type"), "must be a string");
            return None;
        };
        let common: &[&str] = &["Type", "Comment", "QueryLanguage"];
        let io: &[&str] = &["InputPath", "OutputPath"];
        let flow: &[&str] = &["Next", "End"];
        let specific: &[&str] = match ty.as_str() {
            "Pass" => &["ResultPath", "Parameters", "Result", "Assign", "Output"],
            "Task" => &[
                "Assign",
                "Output",
                "Arguments",
                "ResultPath",
                "Parameters",
                "ResultSelector",
                "Resource",
                "TimeoutSeconds",
                "TimeoutSecondsPath",
                "HeartbeatSeconds",
                "HeartbeatSecondsPath",
                "Retry",
                "Catch",
            ],
            "Choice" => &["Choices", "Default", "Assign", "Output"],
            "Wait" => &[
                "Seconds",
                "SecondsPath",
                "Timestamp",
                "TimestampPath",
                "Assign",
                "Output",
            ],
            "Succeed" => &["Output"],
            "Fail" => &["Error", "ErrorPath", "Cause", "CausePath"],
            "Parallel" => &[
                "Assign",
                "Output",
                "Arguments",
                "ResultPath",
                "Parameters",
                "ResultSelector",
                "Branches",
                "Retry",
                "Catch",
            ],
            "Map" => &[
                "Label",
                "Assign",
                "Output",
                "Items",
                "ItemBatcher",
                "ToleratedFailurePercentage",
                "ToleratedFailurePercentagePath",
                "ToleratedFailureCount",
                "ToleratedFailureCountPath",
                "ResultPath",
                "Parameters",
                "ResultSelector",
                "ItemsPath",
                "ItemSelector",
                "ItemProcessor",
                "Iterator",
                "MaxConcurrency",
                "MaxConcurrencyPath",
                "Retry",
                "Catch",
            ],
            other => {
                self.problem(&o.ptr("Type"), format!("unknown state type \"{other}\""));
                return None;
            }
        };
        let has_io = ty != "Fail";
        let has_flow = !matches!(ty.as_str(), "Choice" | "Succeed" | "Fail");
        for (k, _) in o.fields {
            let k = k.as_str();
            let known = common.contains(&k)
                || specific.contains(&k)
                || (has_io && io.contains(&k))
                || (has_flow && flow.contains(&k));
            if known {
                continue;
            }
            if ty == "Map" && NEEDS_S3.contains(&k) {
                self.problem(
                    &o.ptr(k),
                    format!(
                        "field \"{k}\" makes a Distributed Map read or write Amazon S3: needs S3, not run locally"
                    ),
                );
            } else if NOT_YET.contains(&k) {
                self.problem(
                    &o.ptr(k),
                    format!("field \"{k}\" is not supported by this interpreter yet"),
                );
            } else {
                self.problem(&o.ptr(k), format!("field \"{k}\" is not valid in a {ty} state"));
            }
        }
        let _ = self.string(&o, "Comment");
        let jsonata = match self.string(&o, "QueryLanguage").as_deref() {
            None => self.jsonata,
            Some("JSONata") => true,
            Some("JSONPath") => {
                // As we read the AWS docs, a state may opt into JSONata but not back out of a JSONata
                // machine (not confirmed against the service).
                if self.jsonata {
                    self.problem(
                        &o.ptr("QueryLanguage"),
                        "a state cannot use JSONPath when the state machine's QueryLanguage is JSONata",
                    );
                }
                false
            }
            Some(other) => {
                self.problem(
                    &o.ptr("QueryLanguage"),
                    format!("must be \"JSONPath\" or \"JSONata\", not \"{other}\""),
                );
                false
            }
        };
        for (k, _) in o.fields {
            let k = k.as_str();
            if jsonata && JSONPATH_ONLY.contains(&k) {
                self.problem(
                    &o.ptr(k),
                    format!("field \"{k}\" is not allowed in a JSONata state"),
                );
            }
            if !jsonata && JSONATA_ONLY.contains(&k) {
                self.problem(
                    &o.ptr(k),
                    format!("field \"{k}\" is only allowed in JSONata states"),
                );
            }
        }
        // Expression-valued fields are taken out here; the rest of the parsing sees literal values only.
        let mut exprs: HashMap<&str, JTemplate> = HashMap::new();
        let mut literal_fields: Vec<(String, OJson)> = Vec::new();
        for (k, v) in o.fields {
            if jsonata
                && EXPRESSION_FIELDS.contains(&k.as_str())
                && let OJson::String(text) = v
                && expression_text(text).is_some()
            {
                if let Some(t) = self.jtemplate_value(&v.to_value(), &o.ptr(k)) {
                    exprs.insert(
                        EXPRESSION_FIELDS.iter().find(|f| **f == k).copied().unwrap_or(""),
                        t,
                    );
                }
                continue;
            }
            literal_fields.push((k.clone(), v.clone()));
        }
        let full = o;
        let o = Obj {
            fields: &literal_fields,
            at: full.at.clone(),
        };
        let assign = self.assign(&o, jsonata);
        let output = if jsonata {
            self.jtemplate(&o, "Output")
        } else {
            None
        };
        let arguments = if jsonata {
            self.jtemplate(&o, "Arguments")
        } else {
            None
        };

        let next = if has_flow {
            match (o.get("Next"), o.get("End")) {
                (Some(_), Some(_)) => {
                    self.problem(at, "a state must not have both \"Next\" and \"End\"");
                    Transition::End
                }
                (Some(_), None) => Transition::Next(self.string(&o, "Next").unwrap_or_default().into()),
                (None, Some(OJson::Bool(true))) => Transition::End,
                (None, Some(_)) => {
                    self.problem(&o.ptr("End"), "must be true");
                    Transition::End
                }
                (None, None) => {
                    self.problem(at, "a non-terminal state must have \"Next\" or \"End\": true");
                    Transition::End
                }
            }
        } else {
            Transition::End
        };
        let (input_path, output_path) = if has_io {
            (
                self.path(&o, "InputPath", true, false).flatten(),
                self.path(&o, "OutputPath", true, false).flatten(),
            )
        } else {
            (None, None)
        };
        let result_path =
            |this: &mut Validator| -> ResultPath { this.path(&o, "ResultPath", true, true).flatten() };
        let retry = if o.has("Retry") {
            self.retriers(&o)
        } else {
            Vec::new()
        };
        let catch = if o.has("Catch") {
            self.catchers(&o, jsonata)
        } else {
            Vec::new()
        };

        let kind = match ty.as_str() {
            "Pass" => StateKind::Pass {
                parameters: self.template(&o, "Parameters"),
                result: o.get("Result").map(OJson::to_value),
                result_path: result_path(self),
            },
            "Task" => {
                let resource = match o.get("Resource") {
                    None => {
                        self.problem(at, "missing required field \"Resource\"");
                        String::new()
                    }
                    Some(_) => self.string(&o, "Resource").unwrap_or_default(),
                };
                let timeout = match exprs.remove("TimeoutSeconds") {
                    Some(e) => Some(Seconds::Expr(e)),
                    None => self.seconds_pair(&o, "TimeoutSeconds", "TimeoutSecondsPath"),
                };
                let heartbeat = match exprs.remove("HeartbeatSeconds") {
                    Some(e) => Some(Seconds::Expr(e)),
                    None => self.seconds_pair(&o, "HeartbeatSeconds", "HeartbeatSecondsPath"),
                };
                if let (Some(Seconds::Fixed(t)), Some(Seconds::Fixed(h))) = (&timeout, &heartbeat)
                    && h >= t
                {
                    self.problem(&o.ptr("HeartbeatSeconds"), "must be smaller than TimeoutSeconds");
                }
                StateKind::Task {
                    resource: crate::execution::TaskResource::describe(&resource),
                    parameters: self.template(&o, "Parameters"),
                    result_selector: self.template(&o, "ResultSelector"),
                    result_path: result_path(self),
                    timeout,
                    heartbeat,
                }
            }
            "Choice" => {
                let mut choices = Vec::new();
                let mut rule_io = Vec::new();
                match o.get("Choices") {
                    Some(OJson::Array(items)) if !items.is_empty() => {
                        for (i, item) in items.iter().enumerate() {
                            let at = format!("{}/{i}", o.ptr("Choices"));
                            let Some(co) = self.object(item, &at, "a choice rule") else {
                                continue;
                            };
                            let next = match co.get("Next") {
                                Some(_) => self.string(&co, "Next"),
                                None => {
                                    self.problem(&at, "a choice rule must have \"Next\"");
                                    None
                                }
                            };
                            let rule = if jsonata {
                                self.condition_rule(&co)
                            } else {
                                self.choice_rule(&co, true)
                            };
                            let io = (
                                self.assign(&co, jsonata),
                                if jsonata {
                                    self.jtemplate(&co, "Output")
                                } else {
                                    None
                                },
                            );
                            if let (Some(rule), Some(next)) = (rule, next) {
                                choices.push((rule, next.into()));
                                rule_io.push(io);
                            }
                        }
                    }
                    Some(_) => self.problem(&o.ptr("Choices"), "must be a non-empty array"),
                    None => self.problem(at, "missing required field \"Choices\""),
                }
                StateKind::Choice {
                    choices,
                    rule_io,
                    default: self.string(&o, "Default").map(Into::into),
                }
            }
            "Wait" => {
                let present: Vec<&str> = ["Seconds", "SecondsPath", "Timestamp", "TimestampPath"]
                    .into_iter()
                    .filter(|k| o.has(k) || exprs.contains_key(k))
                    .collect();
                if present.len() != 1 {
                    self.problem(
                        at,
                        "a Wait state needs exactly one of Seconds, SecondsPath, Timestamp, TimestampPath",
                    );
                }
                let wait = match present.first().copied() {
                    Some("Seconds") if exprs.contains_key("Seconds") => {
                        WaitSpec::Seconds(exprs.remove("Seconds").map_or(Seconds::Fixed(0), Seconds::Expr))
                    }
                    Some("Timestamp") if exprs.contains_key("Timestamp") => exprs
                        .remove("Timestamp")
                        .map_or(WaitSpec::Seconds(Seconds::Fixed(0)), WaitSpec::TimestampExpr),
                    Some("Timestamp") => match self.string(&o, "Timestamp") {
                        Some(s) => match parse_wait_timestamp(&s) {
                            Some(t) => WaitSpec::Timestamp(t),
                            None => {
                                self.problem(
                                    &o.ptr("Timestamp"),
                                    format!(
                                        "'{s}' is not an RFC3339 timestamp with an uppercase 'T' and a 'Z' or numeric offset"
                                    ),
                                );
                                WaitSpec::Seconds(Seconds::Fixed(0))
                            }
                        },
                        None => WaitSpec::Seconds(Seconds::Fixed(0)),
                    },
                    Some("TimestampPath") => match self.optional_path(&o, "TimestampPath") {
                        Some(p) => WaitSpec::TimestampPath(p),
                        None => WaitSpec::Seconds(Seconds::Fixed(0)),
                    },
                    _ => WaitSpec::Seconds(
                        self.seconds_pair_min(&o, "Seconds", "SecondsPath", 0)
                            .unwrap_or(Seconds::Fixed(0)),
                    ),
                };
                StateKind::Wait { wait }
            }
            "Succeed" => StateKind::Succeed,
            "Fail" => {
                if o.has("Error") && o.has("ErrorPath") {
                    self.problem(at, "a Fail state must not have both \"Error\" and \"ErrorPath\"");
                }
                if o.has("Cause") && o.has("CausePath") {
                    self.problem(at, "a Fail state must not have both \"Cause\" and \"CausePath\"");
                }
                StateKind::Fail {
                    error: self.string(&o, "Error"),
                    error_path: self.fail_path(&o, "ErrorPath"),
                    cause: self.string(&o, "Cause"),
                    cause_path: self.fail_path(&o, "CausePath"),
                    error_expr: exprs.remove("Error"),
                    cause_expr: exprs.remove("Cause"),
                }
            }
            "Parallel" => {
                let mut branches = Vec::new();
                match o.get("Branches") {
                    Some(OJson::Array(items)) if !items.is_empty() => {
                        for (i, b) in items.iter().enumerate() {
                            let bat = format!("{}/{i}", o.ptr("Branches"));
                            let Some(bo) = self.object(b, &bat, "a branch") else {
                                continue;
                            };
                            self.only_fields(&bo, &["StartAt", "States", "Comment", "QueryLanguage"]);
                            if let Some(scope) = self.scope(&bo, &[]) {
                                branches.push(scope);
                            }
                        }
                    }
                    Some(_) => self.problem(&o.ptr("Branches"), "must be a non-empty array"),
                    None => self.problem(at, "missing required field \"Branches\""),
                }
                StateKind::Parallel {
                    branches,
                    parameters: self.template(&o, "Parameters"),
                    result_selector: self.template(&o, "ResultSelector"),
                    result_path: result_path(self),
                }
            }
            "Map" => {
                let key = match (o.has("ItemProcessor"), o.has("Iterator")) {
                    (true, true) => {
                        self.problem(
                            at,
                            "a Map state must not have both \"ItemProcessor\" and \"Iterator\"",
                        );
                        "ItemProcessor"
                    }
                    (true, false) => "ItemProcessor",
                    (false, true) => "Iterator",
                    (false, false) => {
                        self.problem(at, "missing required field \"ItemProcessor\"");
                        return None;
                    }
                };
                if o.has("ItemSelector") && o.has("Parameters") {
                    self.problem(
                        at,
                        "a Map state must not have both \"ItemSelector\" and \"Parameters\"",
                    );
                }
                let pv = o.get(key)?;
                let po = self.object(pv, &o.ptr(key), &format!("\"{key}\""))?;
                self.only_fields(
                    &po,
                    &["StartAt", "States", "Comment", "ProcessorConfig", "QueryLanguage"],
                );
                if let Some(cfg) = po.get("ProcessorConfig")
                    && let Some(co) = self.object(cfg, &po.ptr("ProcessorConfig"), "\"ProcessorConfig\"")
                {
                    self.processor_config(&co);
                }
                if let Some(label) = self.string(&o, "Label") {
                    self.map_label(&o.ptr("Label"), &label);
                }
                let processor = self.scope(&po, &[])?;
                let items_path = self.path(&o, "ItemsPath", false, false).flatten();
                let item_selector = if jsonata {
                    None
                } else if o.has("ItemSelector") {
                    self.template(&o, "ItemSelector")
                } else {
                    self.template(&o, "Parameters")
                };
                let options = MapOptions {
                    items: if jsonata {
                        self.jtemplate(&o, "Items")
                    } else {
                        None
                    },
                    item_selector_jsonata: if jsonata {
                        self.jtemplate(&o, "ItemSelector")
                    } else {
                        None
                    },
                    batcher: self.item_batcher(&o, jsonata),
                    tolerated_percentage: self.tolerance(
                        &o,
                        exprs.remove("ToleratedFailurePercentage"),
                        "ToleratedFailurePercentage",
                        100.0,
                    ),
                    tolerated_count: self.tolerance(
                        &o,
                        exprs.remove("ToleratedFailureCount"),
                        "ToleratedFailureCount",
                        f64::MAX,
                    ),
                };
                let max_concurrency = match exprs.remove("MaxConcurrency") {
                    Some(e) => Some(Seconds::Expr(e)),
                    None => self.seconds_pair_min(&o, "MaxConcurrency", "MaxConcurrencyPath", 0),
                };
                StateKind::Map {
                    processor: Box::new(processor),
                    items_path: items_path
                        .unwrap_or_else(|| JsonPath::parse("$").expect("'$' is a valid path")),
                    item_selector,
                    max_concurrency,
                    result_selector: self.template(&o, "ResultSelector"),
                    result_path: result_path(self),
                    options: Box::new(options),
                }
            }
            _ => return None,
        };
        let raw = v.to_value();
        let needs_context = jsonata || assign.is_some() || may_read_context(&raw);
        let context_reads = if jsonata || assign.is_some() {
            ContextReads::ALL
        } else {
            ContextReads::scan(&raw)
        };
        Some(State {
            name: name.into(),
            kind,
            input_path,
            output_path,
            next,
            retry,
            catch,
            jsonata,
            assign,
            output,
            arguments,
            needs_context,
            context_reads,
        })
    }

    fn jtemplate_value(&mut self, v: &Value, at: &str) -> Option<JTemplate> {
        let mut problems = Vec::new();
        let t = JTemplate::compile(v, at, &mut problems);
        let ok = problems.is_empty();
        for (at, msg) in problems {
            self.problem(&at, msg);
        }
        ok.then_some(t)
    }

    fn jtemplate(&mut self, o: &Obj<'_>, k: &str) -> Option<JTemplate> {
        let v = o.get(k)?.to_value();
        self.jtemplate_value(&v, &o.ptr(k))
    }

    fn assign(&mut self, o: &Obj<'_>, jsonata: bool) -> Option<Assign> {
        let v = o.get("Assign")?;
        let at = o.ptr("Assign");
        let OJson::Object(fields) = v else {
            self.problem(&at, format!("must be an object, not {}", v.kind()));
            return None;
        };
        for (k, _) in fields {
            let name = if jsonata {
                k.as_str()
            } else {
                k.strip_suffix(".$").unwrap_or(k)
            };
            let valid = name.chars().next().is_some_and(|c| c.is_alphabetic() || c == '_')
                && name.chars().all(|c| c.is_alphanumeric() || c == '_')
                && name.chars().count() <= 80;
            if !valid {
                self.problem(
                    &format!("{at}/{}", escape_pointer(k)),
                    format!(
                        "\"{name}\" is not a valid variable name (a letter or '_', then letters, digits or '_', at most 80 characters)"
                    ),
                );
            } else if RESERVED_VARIABLES.contains(&name) {
                self.problem(
                    &format!("{at}/{}", escape_pointer(k)),
                    format!("\"{name}\" is a reserved variable name"),
                );
            }
        }
        if jsonata {
            self.jtemplate(o, "Assign").map(Assign::Jsonata)
        } else {
            self.template(o, "Assign").map(Assign::Path)
        }
    }

    /// A JSONata choice rule: `Condition` plus `Next`, `Assign`, `Output`, `Comment`.
    fn condition_rule(&mut self, o: &Obj<'_>) -> Option<ChoiceRule> {
        self.only_fields(o, &["Condition", "Next", "Assign", "Output", "Comment"]);
        match o.get("Condition") {
            None => {
                self.problem(&o.at, "a JSONata choice rule needs \"Condition\"");
                None
            }
            Some(OJson::Bool(b)) => Some(ChoiceRule::Condition(JTemplate::Literal(Value::Bool(*b)))),
            Some(OJson::String(s)) if expression_text(s).is_some() => {
                self.jtemplate(o, "Condition").map(ChoiceRule::Condition)
            }
            Some(_) => {
                self.problem(&o.ptr("Condition"), "must be a {% %} expression or a boolean");
                None
            }
        }
    }

    fn item_batcher(&mut self, o: &Obj<'_>, jsonata: bool) -> Option<ItemBatcher> {
        let v = o.get("ItemBatcher")?;
        let b = self.object(v, &o.ptr("ItemBatcher"), "\"ItemBatcher\"")?;
        self.only_fields(
            &b,
            &[
                "MaxItemsPerBatch",
                "MaxItemsPerBatchPath",
                "MaxInputBytesPerBatch",
                "MaxInputBytesPerBatchPath",
                "BatchInput",
            ],
        );
        let seconds = |this: &mut Validator, k: &str, kp: &str| -> Option<Seconds> {
            match b.get(k) {
                Some(OJson::String(s)) if jsonata && expression_text(s).is_some() => {
                    this.jtemplate(&b, k).map(Seconds::Expr)
                }
                _ => this.seconds_pair_min(&b, k, kp, 1),
            }
        };
        let max_items = seconds(self, "MaxItemsPerBatch", "MaxItemsPerBatchPath");
        let max_bytes = seconds(self, "MaxInputBytesPerBatch", "MaxInputBytesPerBatchPath");
        if max_items.is_none() && max_bytes.is_none() {
            self.problem(
                &b.at,
                "an ItemBatcher needs MaxItemsPerBatch[Path] or MaxInputBytesPerBatch[Path]",
            );
        }
        let batch_input = if !b.has("BatchInput") {
            None
        } else if jsonata {
            self.jtemplate(&b, "BatchInput").map(BatchInput::Jsonata)
        } else {
            self.template(&b, "BatchInput").map(BatchInput::Path)
        };
        Some(ItemBatcher {
            max_items,
            max_bytes,
            batch_input,
        })
    }

    fn tolerance(&mut self, o: &Obj<'_>, expr: Option<JTemplate>, k: &str, max: f64) -> Option<Tolerance> {
        if let Some(e) = expr {
            return Some(Tolerance::Expr(e));
        }
        let kp = format!("{k}Path");
        if o.has(k) && o.has(&kp) {
            self.problem(&o.at, format!("\"{k}\" and \"{kp}\" are mutually exclusive"));
        }
        if o.has(k) {
            return match self.number(o, k, 0.0) {
                Some(n) if n <= max => Some(Tolerance::Fixed(n)),
                Some(_) => {
                    self.problem(&o.ptr(k), format!("must be a number between 0 and {max}"));
                    None
                }
                None => None,
            };
        }
        if o.has(&kp) {
            return self.path(o, &kp, false, true).flatten().map(Tolerance::Path);
        }
        None
    }

    fn only_fields(&mut self, o: &Obj<'_>, allowed: &[&str]) {
        for (k, _) in o.fields {
            if !allowed.contains(&k.as_str()) {
                self.problem(&o.ptr(k), format!("unknown field \"{k}\""));
            }
        }
    }

    fn seconds_pair(&mut self, o: &Obj<'_>, fixed: &str, path: &str) -> Option<Seconds> {
        self.seconds_pair_min(o, fixed, path, 1)
    }

    fn seconds_pair_min(&mut self, o: &Obj<'_>, fixed: &str, path: &str, min: u64) -> Option<Seconds> {
        if o.has(fixed) && o.has(path) {
            self.problem(
                &o.at,
                format!("\"{fixed}\" and \"{path}\" are mutually exclusive"),
            );
        }
        if o.has(fixed) {
            return self.uint(o, fixed, min).map(Seconds::Fixed);
        }
        if o.has(path) {
            return self.path(o, path, false, true).flatten().map(Seconds::Path);
        }
        None
    }

    fn error_equals(&mut self, o: &Obj<'_>, last: bool) -> Vec<String> {
        let at = o.ptr("ErrorEquals");
        let mut out = Vec::new();
        match o.get("ErrorEquals") {
            Some(OJson::Array(items)) if !items.is_empty() => {
                for (i, item) in items.iter().enumerate() {
                    match item {
                        OJson::String(s) => out.push(s.clone()),
                        _ => self.problem(&format!("{at}/{i}"), "must be a string"),
                    }
                }
            }
            Some(_) => self.problem(&at, "must be a non-empty array of error names"),
            None => self.problem(&o.at, "missing required field \"ErrorEquals\""),
        }
        if out.iter().any(|e| e == STATES_ALL) {
            if out.len() > 1 {
                self.problem(&at, "\"States.ALL\" must appear alone in ErrorEquals");
            }
            if !last {
                self.problem(
                    &at,
                    "a retrier or catcher with \"States.ALL\" must be the last one",
                );
            }
        }
        out
    }

    fn retriers(&mut self, o: &Obj<'_>) -> Vec<Retrier> {
        let Some(OJson::Array(items)) = o.get("Retry") else {
            self.problem(&o.ptr("Retry"), "must be an array");
            return Vec::new();
        };
        let mut out = Vec::new();
        for (i, item) in items.iter().enumerate() {
            let at = format!("{}/{i}", o.ptr("Retry"));
            let Some(r) = self.object(item, &at, "a retrier") else {
                continue;
            };
            self.only_fields(
                &r,
                &[
                    "ErrorEquals",
                    "IntervalSeconds",
                    "MaxAttempts",
                    "BackoffRate",
                    "MaxDelaySeconds",
                    "JitterStrategy",
                    "Comment",
                ],
            );
            let error_equals = self.error_equals(&r, i + 1 == items.len());
            let jitter_full = match self.string(&r, "JitterStrategy").as_deref() {
                None | Some("NONE") => false,
                Some("FULL") => true,
                Some(other) => {
                    self.problem(
                        &r.ptr("JitterStrategy"),
                        format!("must be \"FULL\" or \"NONE\", not \"{other}\""),
                    );
                    false
                }
            };
            let backoff_rate = if r.has("BackoffRate") {
                self.number(&r, "BackoffRate", 1.0)
            } else {
                None
            };
            out.push(Retrier {
                error_equals,
                interval_seconds: if r.has("IntervalSeconds") {
                    self.uint(&r, "IntervalSeconds", 1)
                } else {
                    None
                }
                .map_or(1.0, |x| x as f64),
                max_attempts: if r.has("MaxAttempts") {
                    self.uint(&r, "MaxAttempts", 0)
                } else {
                    None
                }
                .map_or(3, |x| u32::try_from(x).unwrap_or(u32::MAX)),
                backoff_rate: backoff_rate.unwrap_or(2.0),
                max_delay_seconds: if r.has("MaxDelaySeconds") {
                    self.uint(&r, "MaxDelaySeconds", 1)
                } else {
                    None
                }
                .map(|x| x as f64),
                jitter_full,
            });
        }
        out
    }

    fn catchers(&mut self, o: &Obj<'_>, jsonata: bool) -> Vec<Catcher> {
        let Some(OJson::Array(items)) = o.get("Catch") else {
            self.problem(&o.ptr("Catch"), "must be an array");
            return Vec::new();
        };
        let mut out = Vec::new();
        for (i, item) in items.iter().enumerate() {
            let at = format!("{}/{i}", o.ptr("Catch"));
            let Some(c) = self.object(item, &at, "a catcher") else {
                continue;
            };
            if jsonata {
                self.only_fields(&c, &["ErrorEquals", "Next", "Assign", "Output", "Comment"]);
            } else {
                self.only_fields(&c, &["ErrorEquals", "Next", "ResultPath", "Assign", "Comment"]);
            }
            let error_equals = self.error_equals(&c, i + 1 == items.len());
            let next = match c.get("Next") {
                Some(_) => self.string(&c, "Next").unwrap_or_default(),
                None => {
                    self.problem(&at, "missing required field \"Next\"");
                    String::new()
                }
            };
            let result_path = self.path(&c, "ResultPath", true, true).flatten();
            out.push(Catcher {
                error_equals,
                next: next.into(),
                result_path,
                assign: self.assign(&c, jsonata),
                output: if jsonata {
                    self.jtemplate(&c, "Output")
                } else {
                    None
                },
            });
        }
        out
    }

    fn choice_rule(&mut self, o: &Obj<'_>, top: bool) -> Option<ChoiceRule> {
        let allowed_extra: &[&str] = if top {
            &["Next", "Comment", "Assign"]
        } else {
            &["Next", "Comment"]
        };
        let combinators = ["And", "Or", "Not"];
        let ops: Vec<&String> = o
            .fields
            .iter()
            .map(|(k, _)| k)
            .filter(|k| k.as_str() != "Variable" && !allowed_extra.contains(&k.as_str()))
            .collect();
        if ops.len() != 1 {
            self.problem(
                &o.at,
                "a choice rule needs exactly one comparison operator or And/Or/Not",
            );
            return None;
        }
        if !top && o.has("Next") {
            self.problem(
                &o.ptr("Next"),
                "\"Next\" is only allowed in top-level choice rules",
            );
            return None;
        }
        let op = ops[0].as_str();
        if combinators.contains(&op) {
            if o.has("Variable") {
                self.problem(
                    &o.ptr("Variable"),
                    format!("\"Variable\" is not allowed next to \"{op}\""),
                );
            }
            let v = o.get(op)?;
            return match op {
                "Not" => {
                    let inner = self.object(v, &o.ptr(op), "\"Not\"")?;
                    self.choice_rule(&inner, false)
                        .map(|r| ChoiceRule::Not(Box::new(r)))
                }
                _ => {
                    let OJson::Array(items) = v else {
                        self.problem(&o.ptr(op), "must be a non-empty array of choice rules");
                        return None;
                    };
                    if items.is_empty() {
                        self.problem(&o.ptr(op), "must be a non-empty array of choice rules");
                    }
                    let mut rules = Vec::new();
                    for (i, item) in items.iter().enumerate() {
                        let inner = self.object(item, &format!("{}/{i}", o.ptr(op)), "a choice rule")?;
                        rules.push(self.choice_rule(&inner, false)?);
                    }
                    Some(if op == "And" {
                        ChoiceRule::And(rules)
                    } else {
                        ChoiceRule::Or(rules)
                    })
                }
            };
        }
        let Some(comparison) = Comparison::from_name(op) else {
            self.problem(&o.ptr(op), format!("unknown comparison operator \"{op}\""));
            return None;
        };
        let variable = match o.get("Variable") {
            None => {
                self.problem(&o.at, "a comparison needs \"Variable\"");
                return None;
            }
            Some(_) => self.path(o, "Variable", false, false).flatten()?,
        };
        let raw = o.get(op)?;
        let operand = if op.ends_with("Path") {
            Operand::Path(self.path(o, op, false, false).flatten()?)
        } else {
            let ok = match comparison.operand_kind() {
                "string" => matches!(raw, OJson::String(_)),
                "number" => matches!(raw, OJson::Number(_)),
                "boolean" => matches!(raw, OJson::Bool(_)),
                "timestamp" => match raw {
                    OJson::String(s) => OffsetDateTime::parse(s, &Rfc3339).is_ok(),
                    _ => false,
                },
                _ => true,
            };
            if !ok {
                self.problem(&o.ptr(op), format!("must be {} value", comparison.operand_kind()));
                return None;
            }
            Operand::Literal(raw.to_value())
        };
        Some(ChoiceRule::Compare {
            variable,
            comparison,
            operand,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn problems(def: &str) -> Vec<String> {
        match StateMachine::from_json(def) {
            Ok(_) => Vec::new(),
            Err(e) => e.problems.iter().map(ToString::to_string).collect(),
        }
    }

    #[test]
    fn valid_machine_keeps_order() {
        let m = StateMachine::from_json(
            r#"{"Comment":"c","StartAt":"Z","States":{"Z":{"Type":"Pass","Next":"A"},"A":{"Type":"Succeed"}}}"#,
        )
        .expect("valid");
        assert_eq!(m.state_names(), vec!["Z", "A"]);
        assert_eq!(m.comment(), Some("c"));
    }

    #[test]
    fn context_reads_are_detected_conservatively() {
        use crate::json;
        for reads in [
            json!("$$.Execution.Input.x"),
            json!("$$"),
            json!({"a.$": "$$.Execution"}),
            json!("States.Format('{}', $$['Execution'])"),
            json!("{% $states.context %}"),
        ] {
            let found = ContextReads::scan(&reads);
            assert!(found.has(ContextReads::EXECUTION_INPUT), "{reads}");
            let whole = reads != json!("$$.Execution.Input.x");
            assert_eq!(found.has(ContextReads::STATE_ENTERED_TIME), whole, "{reads}");
            assert!(may_read_context(&reads), "{reads}");
        }
        for safe in [
            json!("$$.Execution.Name"),
            json!({"t.$": "$$.Task.Token"}),
            json!("$.Execution"),
        ] {
            assert!(
                !ContextReads::scan(&safe).has(ContextReads::EXECUTION_INPUT),
                "{safe}"
            );
        }
        let name_only =
            ContextReads::scan(&json!({"n.$": "$$.Execution.Name", "k": "x-$$.State.RetryCount"}));
        assert!(name_only.has(ContextReads::EXECUTION_NAME));
        assert!(name_only.has(ContextReads::STATE_RETRY_COUNT));
        assert!(!name_only.has(ContextReads::EXECUTION_START_TIME));
        assert!(!name_only.has(ContextReads::STATE_MACHINE_ID));
        assert!(ContextReads::scan(&json!("$$.Execution.Unknown")).has(ContextReads::EXECUTION_ID));
        assert!(may_read_context(&json!("$myVariable")));
        assert!(!may_read_context(&json!({"a.$": "$.x", "b": "plain $ 5"})));
    }

    #[test]
    fn missing_target_names_location() {
        let err = StateMachine::from_json(
            r#"{"StartAt":"ReserveStock","States":{"ReserveStock":{"Type":"Pass","Next":"Nope"}}}"#,
        )
        .expect_err("invalid");
        assert_eq!(err.location(), "/States/ReserveStock/Next");
        assert_eq!(
            err.to_string(),
            "/States/ReserveStock/Next: state \"Nope\" does not exist"
        );
    }

    #[test]
    fn collects_several_problems() {
        let p = problems(
            r#"{"StartAt":"X","States":{
                "A":{"Type":"Pass"},
                "B":{"Type":"Task","Resource":"r","End":true,"Retry":[{"ErrorEquals":["States.ALL"]},{"ErrorEquals":["E"]}]},
                "C":{"Type":"Wait","End":true},
                "D":{"Type":"Pass","End":true,"Bogus":1},
                "E":{"Type":"Choice","Choices":[{"Variable":"$.x","NumericEquals":"1","Next":"A"}]}
            }}"#,
        );
        let joined = p.join("\n");
        for expected in [
            "/StartAt: state \"X\" does not exist",
            "/States/A: a non-terminal state must have \"Next\" or \"End\": true",
            "/States/B/Retry/0/ErrorEquals: a retrier or catcher with \"States.ALL\" must be the last one",
            "/States/C: a Wait state needs exactly one of",
            "/States/D/Bogus: field \"Bogus\" is not valid in a Pass state",
            "/States/E/Choices/0/NumericEquals: must be number value",
        ] {
            assert!(joined.contains(expected), "missing {expected:?} in:\n{joined}");
        }
    }

    #[test]
    fn a_workflow_without_a_terminal_state_is_refused() {
        let p = problems(
            r#"{"StartAt":"A","States":{"A":{"Type":"Pass","Next":"B"},"B":{"Type":"Pass","Next":"A"}}}"#,
        );
        assert_eq!(
            p,
            vec![
                "/States: the workflow has no terminal state: no state has \"End\": true and none is a Succeed or Fail state"
            ]
        );
        let leavable = problems(
            r#"{"StartAt":"A","States":{"A":{"Type":"Pass","Next":"C"},
                "C":{"Type":"Choice","Choices":[{"Variable":"$.x","IsPresent":true,"Next":"A"}],"Default":"D"},
                "D":{"Type":"Succeed"}}}"#,
        );
        assert!(leavable.is_empty(), "{leavable:?}");
    }

    #[test]
    fn unreachable_and_nested_scopes() {
        let p = problems(r#"{"StartAt":"A","States":{"A":{"Type":"Succeed"},"Orphan":{"Type":"Succeed"}}}"#);
        assert_eq!(
            p,
            vec!["/States/Orphan: state \"Orphan\" is not reachable from StartAt"]
        );
        let p = problems(
            r#"{"StartAt":"P","States":{"P":{"Type":"Parallel","End":true,"Branches":[
                {"StartAt":"B1","States":{"B1":{"Type":"Pass","Next":"Outside"}}}]}}}"#,
        );
        assert_eq!(
            p,
            vec!["/States/P/Branches/0/States/B1/Next: state \"Outside\" does not exist"]
        );
        let p = problems(
            r#"{"StartAt":"M","States":{"M":{"Type":"Map","End":true,"ItemProcessor":
                {"StartAt":"I","States":{"I":{"Type":"Pass","End":true,"ResultPath":"$.a[*]"}}}}}}"#,
        );
        assert_eq!(p.len(), 1, "{p:?}");
        assert!(p[0].starts_with("/States/M/ItemProcessor/States/I/ResultPath"));
    }

    #[test]
    fn duplicate_names_across_scopes_and_nested_next() {
        let p = problems(
            r#"{"StartAt":"A","States":{"A":{"Type":"Parallel","End":true,"Branches":[
                {"StartAt":"A","States":{"A":{"Type":"Succeed"}}}]}}}"#,
        );
        assert_eq!(
            p,
            vec![
                "/States/A/Branches/0/States/A: state name \"A\" is already used at /States/A; names must be unique in the whole state machine"
            ]
        );
        let p = problems(
            r#"{"StartAt":"C","States":{"C":{"Type":"Choice","Choices":[
                {"Not":{"Variable":"$.x","IsNull":true,"Next":"D"},"Next":"D"}]},"D":{"Type":"Succeed"}}}"#,
        );
        assert_eq!(
            p,
            vec!["/States/C/Choices/0/Not/Next: \"Next\" is only allowed in top-level choice rules"]
        );
    }

    #[test]
    fn catch_all_alone_and_bad_json() {
        let p = problems(
            r#"{"StartAt":"T","States":{"T":{"Type":"Task","Resource":"r","End":true,
               "Catch":[{"ErrorEquals":["States.ALL","X"],"Next":"T"}]}}}"#,
        );
        assert_eq!(
            p,
            vec!["/States/T/Catch/0/ErrorEquals: \"States.ALL\" must appear alone in ErrorEquals"]
        );
        assert!(problems("{").first().is_some_and(|p| p.contains("invalid JSON")));
        assert!(problems(r#"{"StartAt":"A","StartAt":"A","States":{}}"#)[0].contains("duplicate key"));
        let p = problems(
            r#"{"StartAt":"A","QueryLanguage":"JSONata","States":{"A":{"Type":"Succeed","OutputPath":"$"}}}"#,
        );
        assert!(p[0].contains("not allowed in a JSONata state"), "{p:?}");
    }

    #[test]
    fn wait_timestamp_needs_uppercase_t_and_z() {
        assert!(parse_wait_timestamp("2016-03-14T01:59:00Z").is_some());
        assert!(parse_wait_timestamp("2016-03-14T01:59:00.5+02:00").is_some());
        assert!(parse_wait_timestamp("2016-03-14 01:59:00Z").is_none());
        assert!(parse_wait_timestamp("2016-03-14t01:59:00Z").is_none());
        assert!(parse_wait_timestamp("2016-03-14T01:59:00z").is_none());
        assert!(parse_wait_timestamp("2016-03-14T01:59:00").is_none());
    }

    fn map_with(extra: &str, config: &str) -> String {
        format!(
            r#"{{"StartAt":"M","States":{{"M":{{"Type":"Map",{extra}"ItemProcessor":{{"ProcessorConfig":{config},"StartAt":"P","States":{{"P":{{"Type":"Pass","End":true}}}}}},"End":true}}}}}}"#
        )
    }

    #[test]
    fn distributed_map_from_input_is_accepted() {
        let ok = r#"{"Mode":"DISTRIBUTED","ExecutionType":"STANDARD"}"#;
        assert!(problems(&map_with(r#""Label":"Orders_2024-05","#, ok)).is_empty());
        assert!(problems(&map_with("", r#"{"Mode":"INLINE"}"#)).is_empty());
    }

    #[test]
    fn distributed_map_fields_are_validated() {
        let ok = r#"{"Mode":"DISTRIBUTED","ExecutionType":"EXPRESS"}"#;
        for label in ["a b", "a/b", "a:b", "a\\u0001b", &"x".repeat(41)] {
            let p = problems(&map_with(&format!(r#""Label":"{label}","#), ok));
            assert!(p.iter().any(|p| p.contains("/States/M/Label")), "{label}: {p:?}");
        }
        let p = problems(&map_with("", r#"{"Mode":"DISTRIBUTED"}"#));
        assert!(p.iter().any(|p| p.contains("ExecutionType")), "{p:?}");
        let p = problems(&map_with("", r#"{"Mode":"DISTRIBUTED","ExecutionType":"FAST"}"#));
        assert!(p.iter().any(|p| p.contains("ExecutionType")), "{p:?}");
        let p = problems(&map_with(
            r#""ItemReader":{"Resource":"arn:aws:states:::s3:getObject"},"#,
            ok,
        ));
        assert!(p.iter().any(|p| p.contains("needs S3, not run locally")), "{p:?}");
    }

    #[test]
    fn fail_paths_accept_string_intrinsics_only() {
        let fail = |field: &str| {
            problems(&format!(
                r#"{{"StartAt":"F","States":{{"F":{{"Type":"Fail","CausePath":"{field}"}}}}}}"#
            ))
        };
        assert!(fail("States.Format('x {}', $.a)").is_empty());
        assert!(fail("$.cause").is_empty());
        assert!(!fail("States.MathAdd($.a, 1)").is_empty());
        assert!(!fail("States.Format('x {}'").is_empty());
    }
}
