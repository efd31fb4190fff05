use std::path::{Path, PathBuf};

use stepcart_asl::StateMachine;

use crate::local::CHECKOUT_DEFINITION;
use crate::{GlobalArgs, Outcome, UsageError};

/// Checks definitions; with none named, the checkout workflow this binary runs.
pub fn run(global: &GlobalArgs, definitions: &[PathBuf]) -> Result<Outcome, UsageError> {
    let mut sources: Vec<(String, String)> = Vec::new();
    if definitions.is_empty() {
        sources.push((
            "workflows/checkout.asl.json".to_owned(),
            CHECKOUT_DEFINITION.to_owned(),
        ));
    }
    for path in definitions {
        sources.push((path.display().to_string(), read(path)?));
    }
    let mut outcome = Outcome::Success;
    let mut report = Vec::new();
    for (name, text) in &sources {
        match StateMachine::from_json(text) {
            Ok(machine) => {
                if !global.json {
                    println!("{name}: valid ({} states)", machine.state_names().len());
                }
                report.push(serde_json::json!({"definition": name, "valid": true}));
            }
            Err(error) => {
                outcome = Outcome::Failed;
                let problems: Vec<String> = error.to_string().lines().map(str::to_owned).collect();
                if !global.json {
                    for problem in &problems {
                        println!("{name}: {problem}");
                    }
                }
                report.push(serde_json::json!({"definition": name, "valid": false, "problems": problems}));
            }
        }
    }
    if global.json {
        println!("{}", serde_json::Value::Array(report));
    }
    Ok(outcome)
}

fn read(path: &Path) -> Result<String, UsageError> {
    std::fs::read_to_string(path)
        .map_err(|e| UsageError::Usage(format!("cannot read {}: {e}", path.display())))
}
