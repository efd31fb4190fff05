//! Execution history events in the shape of Step Functions' `GetExecutionHistory`.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
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
    pub details: Option<Value>,
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
            "timestamp".into(),
            serde_json::Number::from_f64(ts).map_or(Value::Null, Value::Number),
        );
        m.insert("type".into(), Value::String(self.event_type.as_str().to_owned()));
        m.insert("id".into(), Value::from(self.id));
        m.insert("previousEventId".into(), Value::from(self.previous_event_id));
        if let (Some(key), Some(details)) = (self.event_type.details_key(), &self.details) {
            m.insert(key.into(), details.clone());
        }
        Value::Object(m)
    }

    /// A detail field, e.g. `event.detail("name")`.
    pub fn detail(&self, field: &str) -> Option<&Value> {
        self.details.as_ref().and_then(|d| d.get(field))
    }
}

/// Builds a details object, skipping `None` values.
pub(crate) fn details(fields: &[(&str, Option<Value>)]) -> Option<Value> {
    let mut m = Map::new();
    for (k, v) in fields {
        if let Some(v) = v {
            m.insert((*k).to_owned(), v.clone());
        }
    }
    Some(Value::Object(m))
}

pub(crate) fn not_truncated() -> Option<Value> {
    Some(serde_json::json!({"truncated": false}))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn aws_shape() {
        let e = HistoryEvent {
            id: 2,
            previous_event_id: 1,
            timestamp: time::macros::datetime!(2024-01-01 0:00:01.5 UTC),
            event_type: EventType::TaskStateEntered,
            details: Some(json!({"name": "A", "input": "{}"})),
        };
        assert_eq!(
            e.to_aws_json(),
            json!({"id": 2, "previousEventId": 1, "timestamp": 1704067201.5, "type": "TaskStateEntered",
                   "stateEnteredEventDetails": {"name": "A", "input": "{}"}})
        );
        let back: HistoryEvent = serde_json::from_value(serde_json::to_value(&e).expect("ser")).expect("de");
        assert_eq!(back, e);
        assert_eq!(
            EventType::from_name("MapIterationStarted"),
            Some(EventType::MapIterationStarted)
        );
    }
}
