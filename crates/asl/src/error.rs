//! Runtime error names of the States Language and the matching rules of `ErrorEquals`.

use serde::{Deserialize, Serialize};

pub const STATES_ALL: &str = "States.ALL";
pub const STATES_TIMEOUT: &str = "States.Timeout";
pub const STATES_HEARTBEAT_TIMEOUT: &str = "States.HeartbeatTimeout";
pub const STATES_TASK_FAILED: &str = "States.TaskFailed";
pub const STATES_RUNTIME: &str = "States.Runtime";
pub const STATES_DATA_LIMIT_EXCEEDED: &str = "States.DataLimitExceeded";
// The next three names are never raised. AWS's "Handling errors in Step Functions workflows" page
// (https://docs.aws.amazon.com/step-functions/latest/dg/concepts-error-handling.html) lists each as
// "Reserved for future use": a Choice without a match, a failing intrinsic function and a failing
// `.$` parameter are all reported as `States.Runtime`. They stay valid in `ErrorEquals`, where they
// simply never match.
pub const STATES_NO_CHOICE_MATCHED: &str = "States.NoChoiceMatched";
pub const STATES_INTRINSIC_FAILURE: &str = "States.IntrinsicFailure";
pub const STATES_PARAMETER_PATH_FAILURE: &str = "States.ParameterPathFailure";
pub const STATES_RESULT_PATH_MATCH_FAILURE: &str = "States.ResultPathMatchFailure";
pub const STATES_BRANCH_FAILED: &str = "States.BranchFailed";

/// An error raised inside an execution, as it appears in `{"Error", "Cause"}` and history events.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StatesError {
    pub error: String,
    pub cause: Option<String>,
    /// A heartbeat time-out: AWS reports it as `States.Timeout` (no cause), yet a retrier or catcher
    /// naming `States.HeartbeatTimeout` handles it too.
    #[serde(skip)]
    pub(crate) from_heartbeat: bool,
}

impl StatesError {
    pub fn new(error: impl Into<String>, cause: impl Into<String>) -> Self {
        StatesError {
            error: error.into(),
            cause: Some(cause.into()),
            from_heartbeat: false,
        }
    }

    /// An error as a task, a callback or a Fail state reports it.
    pub fn reported(error: String, cause: Option<String>) -> Self {
        StatesError {
            error,
            cause,
            from_heartbeat: false,
        }
    }

    /// An error with no cause (`cause` absent from the history event, not empty).
    pub fn without_cause(error: impl Into<String>) -> Self {
        StatesError::reported(error.into(), None)
    }

    /// A task that sent no heartbeat within `HeartbeatSeconds`. Recorded AWS histories show
    /// `States.Timeout` with no cause in `TaskTimedOut` and `ExecutionFailed` (localstack's
    /// `test_heartbeats` snapshot; floci-io/floci PR #2782, checked on us-east-1), and a catcher on
    /// either `States.Timeout` or `States.HeartbeatTimeout` catches it, passing on `States.Timeout`.
    pub fn heartbeat_timeout() -> Self {
        StatesError {
            from_heartbeat: true,
            ..StatesError::without_cause(STATES_TIMEOUT)
        }
    }

    /// Whether one `ErrorEquals` entry handles this error.
    pub fn matched_by(&self, pattern: &str) -> bool {
        (pattern == STATES_HEARTBEAT_TIMEOUT && self.from_heartbeat) || error_matches(pattern, &self.error)
    }

    /// AWS documents `States.Runtime` and `States.DataLimitExceeded` as terminal: neither `States.ALL`
    /// nor any retrier or catcher can handle them, they always fail the execution.
    pub fn is_terminal(&self) -> bool {
        self.error == STATES_RUNTIME || self.error == STATES_DATA_LIMIT_EXCEEDED
    }

    /// The `{"Error", "Cause"}` object a catcher passes on.
    pub fn to_output(&self) -> crate::value::Value {
        let mut m = crate::value::Map::new();
        m.insert("Error", self.error.clone().into());
        if let Some(c) = &self.cause {
            m.insert("Cause", c.clone().into());
        }
        crate::value::Value::Object(m)
    }
}

impl std::fmt::Display for StatesError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.cause {
            Some(c) => write!(f, "{}: {}", self.error, c),
            None => f.write_str(&self.error),
        }
    }
}

/// Whether one `ErrorEquals` entry matches a raised error name.
pub fn error_matches(pattern: &str, error: &str) -> bool {
    if error == STATES_RUNTIME || error == STATES_DATA_LIMIT_EXCEEDED {
        return false;
    }
    match pattern {
        STATES_ALL => true,
        // The docs: "States.TaskFailed acts as a wildcard that matches any known error name except for
        // States.Timeout"; heartbeat time-outs are a flavour of time-out, so they are excluded too.
        STATES_TASK_FAILED => error != STATES_TIMEOUT && error != STATES_HEARTBEAT_TIMEOUT,
        // States.Timeout is documented as covering heartbeat failures as well.
        STATES_TIMEOUT => error == STATES_TIMEOUT || error == STATES_HEARTBEAT_TIMEOUT,
        p => p == error,
    }
}

pub fn any_matches(patterns: &[String], error: &StatesError) -> bool {
    patterns.iter().any(|p| error.matched_by(p))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matching_rules() {
        assert!(error_matches("States.ALL", "Custom.Error"));
        assert!(error_matches("States.ALL", "States.Timeout"));
        assert!(!error_matches("States.ALL", "States.Runtime"));
        assert!(!error_matches("States.ALL", "States.DataLimitExceeded"));
        assert!(error_matches("States.TaskFailed", "Lambda.ServiceException"));
        assert!(!error_matches("States.TaskFailed", "States.Timeout"));
        assert!(error_matches("States.Timeout", "States.HeartbeatTimeout"));
        assert!(!error_matches("Custom.A", "Custom.B"));
    }

    #[test]
    fn a_heartbeat_time_out_is_a_time_out_that_heartbeat_catchers_also_handle() {
        let heartbeat = StatesError::heartbeat_timeout();
        assert_eq!(heartbeat.error, STATES_TIMEOUT);
        assert_eq!(heartbeat.cause, None);
        for pattern in [STATES_TIMEOUT, STATES_HEARTBEAT_TIMEOUT, STATES_ALL] {
            assert!(heartbeat.matched_by(pattern), "{pattern}");
        }
        assert!(!heartbeat.matched_by(STATES_TASK_FAILED));
        let timeout = StatesError::without_cause(STATES_TIMEOUT);
        assert!(!timeout.matched_by(STATES_HEARTBEAT_TIMEOUT));
        assert!(timeout.matched_by(STATES_TIMEOUT));
    }
}
