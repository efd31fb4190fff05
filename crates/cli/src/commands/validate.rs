use std::path::{Path, PathBuf};

use stepcart_asl::{DefinitionError, StateMachine, locate};

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
                let problems = located(name, text, &error);
                if !global.json {
                    for problem in &problems {
                        println!("{}", problem.text);
                    }
                }
                let problems: Vec<_> = problems
                    .iter()
                    .map(|p| {
                        serde_json::json!({"location": p.location, "line": p.line, "column": p.column,
                                           "message": p.message})
                    })
                    .collect();
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

pub struct LocatedProblem {
    pub location: String,
    pub line: Option<usize>,
    pub column: Option<usize>,
    pub message: String,
    /// `FILE:LINE:COLUMN: LOCATION: message`, as compilers print it, so editors can jump to it.
    pub text: String,
}

/// Each problem with the line and column its JSON pointer lands on in `text`.
pub fn located(name: &str, text: &str, error: &DefinitionError) -> Vec<LocatedProblem> {
    error
        .problems
        .iter()
        .map(|problem| {
            let position = locate::locate(text, &problem.location);
            let prefix = match position {
                Some(p) => format!("{name}:{}:{}", p.line, p.column),
                None => name.to_owned(),
            };
            let location = if problem.location.is_empty() {
                "/"
            } else {
                problem.location.as_str()
            };
            LocatedProblem {
                location: problem.location.clone(),
                line: position.map(|p| p.line),
                column: position.map(|p| p.column),
                message: problem.message.clone(),
                text: format!("{prefix}: {location}: {}", problem.message),
            }
        })
        .collect()
}
