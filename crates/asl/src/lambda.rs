//! AWS Lambda semantics for Task resources, so a definition written for Step Functions runs unchanged:
//! direct function ARNs and the optimised `arn:aws:states:::lambda:invoke[.waitForTaskToken]`
//! integration, with AWS's result wrapping and error mapping.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};

use crate::json;
use crate::value::Value;
use async_trait::async_trait;
use futures::future::BoxFuture;
use time::OffsetDateTime;

use crate::intrinsics::uuid_v4;
use crate::runner::{TaskFailure, TaskInvoker, TaskRequest};

#[async_trait]
pub trait LambdaFunction: Send + Sync {
    async fn invoke(&self, payload: Value) -> Result<Value, FunctionError>;
}

/// A function error as the Lambda runtime reports it (`errorType`, `errorMessage`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{error_type}: {error_message}")]
pub struct FunctionError {
    pub error_type: String,
    pub error_message: String,
}

impl FunctionError {
    pub fn new(error_type: impl Into<String>, error_message: impl Into<String>) -> Self {
        FunctionError {
            error_type: error_type.into(),
            error_message: error_message.into(),
        }
    }
}

/// Functions by name; implements [`TaskInvoker`] for Lambda resources.
#[derive(Default)]
pub struct LambdaRegistry {
    functions: HashMap<String, Arc<dyn LambdaFunction>>,
    /// Resources already resolved, as tasks name them (a definition names few, every task resolves
    /// one): parsing an ARN costs far more than finding it here.
    resolved: RwLock<HashMap<Box<str>, Resolved, foldhash::fast::RandomState>>,
}

#[derive(Clone)]
struct Resolved {
    function: Arc<dyn LambdaFunction>,
    /// The name was a Lambda function ARN, which a Task's `Resource` may be.
    is_function_arn: bool,
}

/// Resources are remembered up to this many, so a stream of distinct names cannot grow the map.
const MAX_RESOLVED: usize = 1024;

impl Clone for LambdaRegistry {
    fn clone(&self) -> Self {
        LambdaRegistry {
            functions: self.functions.clone(),
            resolved: RwLock::default(),
        }
    }
}

/// The first `N - 1` `:`-separated fields of `s` and the rest as the last, with how many there are.
/// A byte loop: resources are resolved on every task invocation, and `str::split` costs more.
fn fields<const N: usize>(s: &str) -> ([&str; N], usize) {
    let mut out = [""; N];
    let mut count = 0;
    let mut start = 0;
    for (i, b) in s.bytes().enumerate() {
        if b == b':' && count + 1 < N {
            out[count] = &s[start..i];
            count += 1;
            start = i + 1;
        }
    }
    out[count] = &s[start..];
    (out, count + 1)
}

/// `(name, qualifier)` from a function name (`f`, `f:q`), partial ARN (`ACCOUNT:function:f[:q]`) or
/// full ARN (`arn:PARTITION:lambda:REGION:ACCOUNT:function:f[:q]`): what follows the first
/// `:function:`, or the whole string, split at its first `:`.
fn parse_function_ref(s: &str) -> (&str, Option<&str>) {
    const N: usize = 9;
    let (parts, n) = fields::<N>(s);
    let found = (1..n.saturating_sub(1)).find(|&i| parts[i] == "function");
    let tail = match found {
        Some(i) => &s[parts[..=i].iter().map(|p| p.len() + 1).sum::<usize>()..],
        // The fields did not reach the end of a very long string: look the slow way.
        None if n == N => s.split_once(":function:").map_or(s, |(_, tail)| tail),
        None => s,
    };
    match tail.split_once(':') {
        Some((name, q)) => (name, Some(q)),
        None => (tail, None),
    }
}

fn is_function_arn(resource: &str) -> bool {
    let (p, n) = fields::<7>(resource);
    n == 7 && p[0] == "arn" && p[2] == "lambda" && p[5] == "function"
}

fn lambda_invoke_integration(resource: &str) -> bool {
    let (p, n) = fields::<6>(resource);
    n == 6
        && p[0] == "arn"
        && p[2] == "states"
        && p[3].is_empty()
        && p[4].is_empty()
        && (p[5] == "lambda:invoke" || p[5] == "lambda:invoke.waitForTaskToken")
}

impl LambdaRegistry {
    pub fn new() -> Self {
        Self::default()
    }

    /// Registers a function under its ARN (`arn:aws:lambda:REGION:ACCOUNT:function:NAME[:QUALIFIER]`)
    /// or bare name. Lookups match by name (and qualifier, when one was registered).
    pub fn register(&mut self, function_arn: &str, f: Arc<dyn LambdaFunction>) {
        let (name, qualifier) = parse_function_ref(function_arn);
        let key = match qualifier {
            Some(q) => format!("{name}:{q}"),
            None => name.to_owned(),
        };
        self.functions.insert(key, f);
        self.resolved
            .get_mut()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clear();
    }

    pub fn contains(&self, function: &str) -> bool {
        self.lookup(function).is_some()
    }

    fn remembered(&self, function: &str) -> Option<Resolved> {
        self.resolved
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .get(function)
            .cloned()
    }

    fn lookup(&self, function: &str) -> Option<Arc<dyn LambdaFunction>> {
        if let Some(r) = self.remembered(function) {
            return Some(r.function);
        }
        let found = self.resolve(function)?;
        let mut resolved = self
            .resolved
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if resolved.len() < MAX_RESOLVED {
            let r = Resolved {
                function: Arc::clone(&found),
                is_function_arn: is_function_arn(function),
            };
            resolved.insert(function.into(), r);
        }
        Some(found)
    }

    fn resolve(&self, function: &str) -> Option<Arc<dyn LambdaFunction>> {
        let (name, qualifier) = parse_function_ref(function);
        if let Some(q) = qualifier
            && let Some(f) = self.functions.get(&format!("{name}:{q}"))
        {
            return Some(f.clone());
        }
        self.functions.get(name).cloned()
    }

    /// The function a task names, or Lambda's `ResourceNotFoundException`.
    fn function(&self, function: &str, req: &TaskRequest) -> Result<Arc<dyn LambdaFunction>, TaskFailure> {
        let Some(f) = self.lookup(function) else {
            let arn = if function.starts_with("arn:") {
                function.to_owned()
            } else {
                let (name, qualifier) = parse_function_ref(function);
                let parts: Vec<&str> = req.context.state_machine_arn.split(':').collect();
                let (partition, region, account) = if parts.len() >= 5 {
                    (parts[1], parts[3], parts[4])
                } else {
                    ("aws", "us-east-1", "000000000000")
                };
                let q = qualifier.map(|q| format!(":{q}")).unwrap_or_default();
                format!("arn:{partition}:lambda:{region}:{account}:function:{name}{q}")
            };
            return Err(TaskFailure::new(
                "Lambda.ResourceNotFoundException",
                format!(
                    "Function not found: {arn} (Service: AWSLambda; Status Code: 404; Error Code: ResourceNotFoundException; Request ID: {}; Proxy: null)",
                    uuid_v4()
                ),
            ));
        };
        Ok(f)
    }
}

/// Runs a resolved function; its error becomes a task failure whose cause is Lambda's error document.
async fn invoke_function(f: Arc<dyn LambdaFunction>, payload: Value) -> Result<Value, TaskFailure> {
    f.invoke(payload).await.map_err(|e| {
        let cause = json!({"errorMessage": e.error_message, "errorType": e.error_type, "trace": []});
        TaskFailure {
            error: e.error_type,
            cause: Some(cause.to_string()),
        }
    })
}

impl TaskInvoker for LambdaRegistry {
    fn invoke(&self, req: TaskRequest) -> BoxFuture<'static, Result<Value, TaskFailure>> {
        match self.prepare(req) {
            Ok((function, payload, envelope)) => Box::pin(async move {
                let output = invoke_function(function, payload).await?;
                Ok(if envelope {
                    wrap_invoke_result(output)
                } else {
                    output
                })
            }),
            Err(failure) => Box::pin(std::future::ready(Err(failure))),
        }
    }
}

impl LambdaRegistry {
    /// What an invocation calls, with which payload, and whether its result comes back in the
    /// `lambda:invoke` envelope; resolved before the invocation starts, so its future owns them.
    fn prepare(&self, req: TaskRequest) -> Result<(Arc<dyn LambdaFunction>, Value, bool), TaskFailure> {
        if let Some(r) = self.remembered(&req.resource)
            && r.is_function_arn
        {
            return Ok((r.function, req.parameters, false));
        }
        if is_function_arn(&req.resource) {
            return Ok((self.function(&req.resource, &req)?, req.parameters, false));
        }
        if lambda_invoke_integration(&req.resource) {
            let Some(function) = req.parameters.get("FunctionName").and_then(Value::as_str) else {
                return Err(TaskFailure::new(
                    "States.Runtime",
                    format!(
                        "The resource '{}' needs a string FunctionName parameter",
                        req.resource
                    ),
                ));
            };
            let function = match req.parameters.get("Qualifier").and_then(Value::as_str) {
                Some(q) if parse_function_ref(function).1.is_none() => format!("{function}:{q}"),
                _ => function.to_owned(),
            };
            let payload = req
                .parameters
                .get("Payload")
                .cloned()
                .unwrap_or_else(|| json!({}));
            return Ok((self.function(&function, &req)?, payload, true));
        }
        Err(TaskFailure::new(
            "States.TaskFailed",
            format!("no task handler is registered for resource '{}'", req.resource),
        ))
    }
}

/// The `lambda:invoke` result envelope, as the optimised integration returns it.
pub fn wrap_invoke_result(payload: Value) -> Value {
    let request_id = uuid_v4();
    let now = OffsetDateTime::now_utc();
    let date = format!(
        "{}, {:02} {} {} {:02}:{:02}:{:02} GMT",
        &now.weekday().to_string()[..3],
        now.day(),
        &now.month().to_string()[..3],
        now.year(),
        now.hour(),
        now.minute(),
        now.second()
    );
    let length = payload.json_len().to_string();
    let trace = format!(
        "root=1-{:08x}-{};sampled=0",
        now.unix_timestamp(),
        &uuid_v4().replace('-', "")[..24]
    );
    json!({
        "ExecutedVersion": "$LATEST",
        "Payload": payload,
        "SdkHttpMetadata": {
            "AllHttpHeaders": {
                "X-Amz-Executed-Version": ["$LATEST"],
                "x-amzn-Remapped-Content-Length": ["0"],
                "Connection": ["keep-alive"],
                "x-amzn-RequestId": [request_id],
                "Content-Length": [length],
                "Date": [date],
                "X-Amzn-Trace-Id": [trace],
                "Content-Type": ["application/json"]
            },
            "HttpHeaders": {
                "Connection": "keep-alive",
                "Content-Length": length,
                "Content-Type": "application/json",
                "Date": date,
                "X-Amz-Executed-Version": "$LATEST",
                "x-amzn-Remapped-Content-Length": "0",
                "x-amzn-RequestId": request_id,
                "X-Amzn-Trace-Id": trace
            },
            "HttpStatusCode": 200
        },
        "SdkResponseMetadata": {"RequestId": request_id},
        "StatusCode": 200
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Answer(i64);

    #[async_trait]
    impl LambdaFunction for Answer {
        async fn invoke(&self, _payload: Value) -> Result<Value, FunctionError> {
            Ok(Value::from(self.0))
        }
    }

    #[tokio::test]
    async fn a_registration_replaces_what_was_resolved_before() {
        let arn = "arn:aws:lambda:eu-west-1:1:function:f";
        let mut registry = LambdaRegistry::new();
        registry.register("f", Arc::new(Answer(1)));
        let first = registry.lookup(arn).expect("registered");
        assert_eq!(first.invoke(Value::Null).await, Ok(Value::from(1)));
        assert!(registry.remembered(arn).is_some_and(|r| r.is_function_arn));
        registry.register(arn, Arc::new(Answer(2)));
        let second = registry.lookup(arn).expect("registered");
        assert_eq!(second.invoke(Value::Null).await, Ok(Value::from(2)));
        assert!(registry.lookup("g").is_none());
    }

    #[test]
    fn function_refs() {
        assert_eq!(parse_function_ref("f"), ("f", None));
        assert_eq!(parse_function_ref("f:prod"), ("f", Some("prod")));
        assert_eq!(
            parse_function_ref("arn:aws:lambda:eu-west-1:1:function:f"),
            ("f", None)
        );
        assert_eq!(
            parse_function_ref("arn:aws:lambda:eu-west-1:1:function:f:3"),
            ("f", Some("3"))
        );
        assert_eq!(parse_function_ref("1:function:f"), ("f", None));
        assert_eq!(parse_function_ref("function:f"), ("function", Some("f")));
        assert_eq!(parse_function_ref("1:function:f:3:x"), ("f", Some("3:x")));
        assert_eq!(parse_function_ref("a:b:c:d:e:f:g:h:i:function:f"), ("f", None));
        assert!(is_function_arn("arn:aws:lambda:eu-west-1:1:function:f"));
        assert!(!is_function_arn("arn:aws:states:::lambda:invoke"));
        assert!(lambda_invoke_integration(
            "arn:aws:states:::lambda:invoke.waitForTaskToken"
        ));
        assert!(!lambda_invoke_integration("arn:aws:states:::sqs:sendMessage"));
    }
}
