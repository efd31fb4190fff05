pub mod aws;
pub mod bench;
pub mod exec;
pub mod executions;
pub mod inspect;
pub mod payments;
pub mod run;
pub mod seed;
pub mod serve;
pub mod validate;

use std::path::Path;

use serde_json::Value;

use crate::UsageError;

/// Reads a JSON file the user named; a missing file or bad JSON is a usage error naming the file.
pub fn read_json(path: &Path) -> Result<Value, UsageError> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| UsageError::Usage(format!("cannot read {}: {e}", path.display())))?;
    serde_json::from_str(&text)
        .map_err(|e| UsageError::Usage(format!("{} is not valid JSON: {e}", path.display())))
}
