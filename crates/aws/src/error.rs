//! AWS SDK errors as the domain's `PortError`: throttling, server-side failures and network trouble are
//! `Unavailable` (the task is retried); anything else is `Failed`.

use aws_sdk_dynamodb::error::{ProvideErrorMetadata, SdkError};
use stepcart_domain::PortError;

/// Error codes that mean "try again later" across DynamoDB, SSM, SNS and Step Functions.
const RETRYABLE_CODES: &[&str] = &[
    "ThrottlingException",
    "Throttling",
    "ThrottledException",
    "ProvisionedThroughputExceededException",
    "RequestLimitExceeded",
    "TooManyRequestsException",
    "InternalServerError",
    "InternalFailure",
    "InternalError",
    "ServiceUnavailable",
    "TransactionConflictException",
    "TransactionInProgressException",
];

pub(crate) fn port_error<E, R>(operation: &str, error: SdkError<E, R>) -> PortError
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
    R: std::fmt::Debug,
{
    let code = error.code().map(str::to_owned);
    let message = error.message().map(str::to_owned);
    let transport = matches!(
        error,
        SdkError::TimeoutError(_) | SdkError::DispatchFailure(_) | SdkError::ResponseError(_)
    );
    let text = match (&code, &message) {
        (Some(c), Some(m)) => format!("{operation}: {c}: {m}"),
        (Some(c), None) => format!("{operation}: {c}"),
        _ => format!("{operation}: {}", error_chain(&error)),
    };
    if transport || code.as_deref().is_some_and(|c| RETRYABLE_CODES.contains(&c)) {
        PortError::Unavailable(text)
    } else {
        PortError::Failed(text)
    }
}

/// An error with its sources, as one line, each said once (the AWS SDK's own `Display` says only
/// "service error", and transport errors often repeat their source's text):
/// `dispatch failure: io error: ...: Connection refused`.
pub fn error_chain(error: &dyn std::error::Error) -> String {
    let mut parts: Vec<String> = Vec::new();
    let mut next = Some(error);
    while let Some(current) = next {
        let text = current.to_string();
        if !parts.iter().any(|p| p.contains(&text)) {
            parts.push(text);
        }
        next = current.source();
    }
    parts.join(": ")
}
