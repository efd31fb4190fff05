//! Execution history events in the shape of Step Functions' `GetExecutionHistory`.

use std::borrow::Cow;
use std::sync::Arc;

use crate::value::{Map, Value};
use serde::ser::SerializeMap;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use time::OffsetDateTime;

/// One history event. `details` holds the AWS details object (camelCase keys, inputs and outputs as JSON
/// strings); `to_aws_json` nests it under the AWS key for the event type.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HistoryEvent {
    pub id: u64,
    pub previous_event_id: u64,
    #[serde(with = "time::serde::rfc3339")]
    pub timestamp: OffsetDateTime,
    #[serde(rename = "type")]
    pub event_type: EventType,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub details: Option<Details>,
}

/// An event's details object. State inputs and outputs are kept as the documents themselves, shared with
/// the execution, and written as JSON text only when the event is serialised or read: most events of a
/// fast execution are never looked at, and serialising every document was a fifth of the engine's time.
/// The details every state and task writes (name and document, a result) are held inline; building
/// them as a list of fields cost an allocation per event.
#[derive(Debug, Clone)]
pub struct Details(Repr);

#[derive(Debug, Clone)]
enum Repr {
    /// `{name, input, inputDetails}` of a state entered, or `{name, output, outputDetails}` of one
    /// exited.
    State {
        name: Arc<str>,
        document: Value,
        exited: bool,
    },
    /// `{[resourceType, resource,] output, outputDetails}`: a task's result, or the execution's output.
    Output {
        resource: Option<(Arc<str>, Arc<str>)>,
        output: Value,
    },
    Fields(Vec<(Cow<'static, str>, DetailValue)>),
}

impl Default for Details {
    fn default() -> Details {
        Details(Repr::Fields(Vec::new()))
    }
}

#[derive(Debug, Clone)]
pub enum DetailValue {
    Json(Value),
    /// A JSON document that history shows as its JSON text (`"input": "{\"a\":1}"`).
    Document(Value),
    /// A state's name, shared with the definition.
    Name(Arc<str>),
    /// `{"truncated": false}`.
    NotTruncated,
}

/// A field of a details object, borrowed from whichever form holds it.
#[derive(Clone, Copy)]
enum Field<'a> {
    Json(&'a Value),
    Document(&'a Value),
    Name(&'a str),
    NotTruncated,
}

impl<'a> From<&'a DetailValue> for Field<'a> {
    fn from(v: &'a DetailValue) -> Field<'a> {
        match v {
            DetailValue::Json(v) => Field::Json(v),
            DetailValue::Document(d) => Field::Document(d),
            DetailValue::Name(n) => Field::Name(n),
            DetailValue::NotTruncated => Field::NotTruncated,
        }
    }
}

impl Field<'_> {
    fn to_json(self) -> Value {
        match self {
            Field::Json(v) => v.clone(),
            Field::Document(d) => Value::from(document_text(d)),
            Field::Name(n) => Value::from(n),
            Field::NotTruncated => not_truncated_object(),
        }
    }
}

/// `{"truncated": false}`, built once: task and state events carry it in every `*Details` field.
fn not_truncated_object() -> Value {
    static OBJECT: std::sync::LazyLock<Value> =
        std::sync::LazyLock::new(|| crate::json!({"truncated": false}));
    OBJECT.clone()
}

fn document_text(d: &Value) -> String {
    serde_json::to_string(d).unwrap_or_default()
}

impl Details {
    /// Builds a details object, skipping `None` values.
    pub fn from_fields<const N: usize>(fields: [(&'static str, Option<DetailValue>); N]) -> Details {
        let mut all = Vec::with_capacity(N);
        for (k, v) in fields {
            if let Some(v) = v {
                all.push((Cow::Borrowed(k), v));
            }
        }
        Details(Repr::Fields(all))
    }

    pub fn with_capacity(fields: usize) -> Details {
        Details(Repr::Fields(Vec::with_capacity(fields)))
    }

    /// Appends a field (if `value` is `Some`) to details built from fields.
    pub fn push(&mut self, key: &'static str, value: Option<DetailValue>) {
        if let (Repr::Fields(fields), Some(v)) = (&mut self.0, value) {
            fields.push((Cow::Borrowed(key), v));
        }
    }

    /// A state entered (`{name, input, inputDetails}`) or exited (`{name, output, outputDetails}`).
    pub fn state(name: &Arc<str>, document: &Value, exited: bool) -> Details {
        Details(Repr::State {
            name: Arc::clone(name),
            document: document.clone(),
            exited,
        })
    }

    /// A result: `{[resourceType, resource,] output, outputDetails}`.
    pub fn output(resource: Option<(&Arc<str>, &Arc<str>)>, output: &Value) -> Details {
        Details(Repr::Output {
            resource: resource.map(|(ty, name)| (Arc::clone(ty), Arc::clone(name))),
            output: output.clone(),
        })
    }

    /// Calls `f` with each field in order.
    fn each(&self, mut f: impl FnMut(&str, Field<'_>)) {
        match &self.0 {
            Repr::State {
                name,
                document,
                exited,
            } => {
                f("name", Field::Name(name));
                if *exited {
                    f("output", Field::Document(document));
                    f("outputDetails", Field::NotTruncated);
                } else {
                    f("input", Field::Document(document));
                    f("inputDetails", Field::NotTruncated);
                }
            }
            Repr::Output { resource, output } => {
                if let Some((ty, name)) = resource {
                    f("resourceType", Field::Name(ty));
                    f("resource", Field::Name(name));
                }
                f("output", Field::Document(output));
                f("outputDetails", Field::NotTruncated);
            }
            Repr::Fields(fields) => {
                for (k, v) in fields {
                    f(k, Field::from(v));
                }
            }
        }
    }

    fn len(&self) -> usize {
        let mut n = 0;
        self.each(|_, _| n += 1);
        n
    }

    /// One field as JSON (documents as their text).
    pub fn get(&self, field: &str) -> Option<Value> {
        let mut found = None;
        self.each(|k, v| {
            if found.is_none() && k == field {
                found = Some(v.to_json());
            }
        });
        found
    }

    /// The details object as `GetExecutionHistory` shows it.
    pub fn to_json(&self) -> Value {
        let mut m = Map::with_capacity(self.len());
        self.each(|k, v| {
            m.insert(k, v.to_json());
        });
        Value::Object(m)
    }
}

impl PartialEq for Details {
    fn eq(&self, other: &Details) -> bool {
        self.to_json() == other.to_json()
    }
}

impl Serialize for Details {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut m = serializer.serialize_map(Some(self.len()))?;
        let mut result = Ok(());
        self.each(|k, v| {
            if result.is_err() {
                return;
            }
            result = match v {
                Field::Json(v) => m.serialize_entry(k, v),
                Field::Document(d) => m.serialize_entry(k, &document_text(d)),
                Field::Name(n) => m.serialize_entry(k, n),
                Field::NotTruncated => m.serialize_entry(k, &not_truncated_object()),
            };
        });
        result?;
        m.end()
    }
}

impl<'de> Deserialize<'de> for Details {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Details, D::Error> {
        Map::deserialize(deserializer).map(Details::from_map)
    }
}

impl Details {
    fn from_map(m: Map) -> Details {
        Details(Repr::Fields(
            m.into_iter()
                .map(|(k, v)| (Cow::Owned(k.into()), DetailValue::Json(v)))
                .collect(),
        ))
    }
}

impl From<Value> for Details {
    fn from(v: Value) -> Details {
        match v {
            Value::Object(m) => Details::from_map(m),
            _ => Details::default(),
        }
    }
}

macro_rules! event_types {
    ($($name:ident => $key:expr),* $(,)?) => {
        /// AWS history event types.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
        pub enum EventType { $($name),* }

        impl EventType {
            pub fn as_str(&self) -> &'static str {
                match self { $(EventType::$name => stringify!($name)),* }
            }

            /// The key AWS nests this event's details under, if the type carries details.
            pub fn details_key(&self) -> Option<&'static str> {
                match self { $(EventType::$name => $key),* }
            }

            pub fn from_name(name: &str) -> Option<EventType> {
                match name { $(stringify!($name) => Some(EventType::$name),)* _ => None }
            }
        }
    };
}

const ENTERED: Option<&str> = Some("stateEnteredEventDetails");
const EXITED: Option<&str> = Some("stateExitedEventDetails");

event_types! {
    ExecutionStarted => Some("executionStartedEventDetails"),
    ExecutionSucceeded => Some("executionSucceededEventDetails"),
    ExecutionFailed => Some("executionFailedEventDetails"),
    ExecutionAborted => Some("executionAbortedEventDetails"),
    ExecutionTimedOut => Some("executionTimedOutEventDetails"),
    TaskStateEntered => ENTERED,
    TaskStateExited => EXITED,
    TaskStateAborted => None,
    PassStateEntered => ENTERED,
    PassStateExited => EXITED,
    ChoiceStateEntered => ENTERED,
    ChoiceStateExited => EXITED,
    WaitStateEntered => ENTERED,
    WaitStateExited => EXITED,
    WaitStateAborted => None,
    SucceedStateEntered => ENTERED,
    SucceedStateExited => EXITED,
    FailStateEntered => ENTERED,
    ParallelStateEntered => ENTERED,
    ParallelStateExited => EXITED,
    ParallelStateStarted => None,
    ParallelStateSucceeded => None,
    ParallelStateFailed => None,
    ParallelStateAborted => None,
    MapStateEntered => ENTERED,
    MapStateExited => EXITED,
    MapStateStarted => Some("mapStateStartedEventDetails"),
    MapStateSucceeded => None,
    MapStateFailed => None,
    MapStateAborted => None,
    MapIterationStarted => Some("mapIterationStartedEventDetails"),
    MapIterationSucceeded => Some("mapIterationSucceededEventDetails"),
    MapIterationFailed => Some("mapIterationFailedEventDetails"),
    MapIterationAborted => Some("mapIterationAbortedEventDetails"),
    TaskScheduled => Some("taskScheduledEventDetails"),
    TaskStarted => Some("taskStartedEventDetails"),
    TaskSubmitted => Some("taskSubmittedEventDetails"),
    TaskSucceeded => Some("taskSucceededEventDetails"),
    TaskFailed => Some("taskFailedEventDetails"),
    TaskTimedOut => Some("taskTimedOutEventDetails"),
    LambdaFunctionScheduled => Some("lambdaFunctionScheduledEventDetails"),
    LambdaFunctionStarted => None,
    LambdaFunctionSucceeded => Some("lambdaFunctionSucceededEventDetails"),
    LambdaFunctionFailed => Some("lambdaFunctionFailedEventDetails"),
    LambdaFunctionTimedOut => Some("lambdaFunctionTimedOutEventDetails"),
}

impl std::fmt::Display for EventType {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl HistoryEvent {
    /// The event as `GetExecutionHistory` returns it: `timestamp` in epoch seconds (a float, as the
    /// AWS JSON protocol encodes it) and details under their AWS key.
    pub fn to_aws_json(&self) -> Value {
        let mut m = Map::new();
        let ts = self.timestamp.unix_timestamp_nanos() as f64 / 1e9;
        m.insert(
            "timestamp",
            serde_json::Number::from_f64(ts).map_or(Value::Null, Value::Number),
        );
        m.insert("type", Value::from(self.event_type.as_str().to_owned()));
        m.insert("id", Value::from(self.id));
        m.insert("previousEventId", Value::from(self.previous_event_id));
        if let (Some(key), Some(details)) = (self.event_type.details_key(), &self.details) {
            m.insert(key, details.to_json());
        }
        Value::Object(m)
    }

    /// A detail field, e.g. `event.detail("name")`; inputs and outputs come back as their JSON text.
    pub fn detail(&self, field: &str) -> Option<Value> {
        self.details.as_ref().and_then(|d| d.get(field))
    }
}

pub(crate) fn details<const N: usize>(fields: [(&'static str, Option<DetailValue>); N]) -> Option<Details> {
    Some(Details::from_fields(fields))
}

pub(crate) fn json(v: Value) -> Option<DetailValue> {
    Some(DetailValue::Json(v))
}

pub(crate) fn document(d: &Value) -> Option<DetailValue> {
    Some(DetailValue::Document(d.clone()))
}

pub(crate) fn name(n: &Arc<str>) -> Option<DetailValue> {
    Some(DetailValue::Name(Arc::clone(n)))
}

pub(crate) fn not_truncated() -> Option<DetailValue> {
    Some(DetailValue::NotTruncated)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::json;

    #[test]
    fn aws_shape() {
        let e = HistoryEvent {
            id: 2,
            previous_event_id: 1,
            timestamp: time::macros::datetime!(2024-01-01 0:00:01.5 UTC),
            event_type: EventType::TaskStateEntered,
            details: Some(Details::from(json!({"name": "A", "input": "{}"}))),
        };
        assert_eq!(
            e.to_aws_json(),
            json!({"id": 2, "previousEventId": 1, "timestamp": 1704067201.5, "type": "TaskStateEntered",
                   "stateEnteredEventDetails": {"name": "A", "input": "{}"}})
        );
        let back: HistoryEvent = serde_json::from_value(serde_json::to_value(&e).expect("ser")).expect("de");
        assert_eq!(back, e);

        let doc = Arc::new(json!({"a": [1, "x\"y"]}));
        let lazy = HistoryEvent {
            details: details([
                ("name", json(json!("A"))),
                ("input", document(&doc)),
                ("inputDetails", not_truncated()),
            ]),
            ..e
        };
        let expected =
            json!({"name": "A", "input": "{\"a\":[1,\"x\\\"y\"]}", "inputDetails": {"truncated": false}});
        assert_eq!(
            lazy.details.as_ref().map(Details::to_json),
            Some(expected.clone())
        );
        assert_eq!(lazy.detail("input"), Some(expected["input"].clone()));
        let stored = serde_json::to_value(&lazy).expect("ser");
        assert_eq!(stored["details"], expected);
        let back: HistoryEvent = serde_json::from_value(stored).expect("de");
        assert_eq!(back, lazy);
        assert_eq!(
            EventType::from_name("MapIterationStarted"),
            Some(EventType::MapIterationStarted)
        );
    }
}
