//! `stepcart aws ...`: AWS resources for `--backend aws`.

use std::path::PathBuf;

use clap::Subcommand;

use crate::{GlobalArgs, Outcome, UsageError};

#[derive(Subcommand)]
pub enum AwsCommand {
    /// Create the tables, the notifications topic and the Stripe parameters (named as the environment
    /// `STEPCART_ENV`, default dev, names them) on the configured endpoint, and load a catalog (default:
    /// the demo catalog). Idempotent: what exists is kept.
    Bootstrap {
        #[arg(long)]
        catalog: Option<PathBuf>,
    },
}

#[cfg(feature = "aws")]
pub async fn run(global: &GlobalArgs, command: AwsCommand) -> Result<Outcome, UsageError> {
    match command {
        AwsCommand::Bootstrap { catalog } => {
            let (source, products, discounts) = super::seed::load_catalog(catalog.as_deref())?;
            let (env, report) = crate::aws::run_bootstrap(&products, &discounts).await?;
            if global.json {
                println!("{}", serde_json::to_string(&report).unwrap_or_default());
            } else {
                println!(
                    "environment {}: {} tables created, {} already there; topic {}; parameters {}; loaded {} products and {} discounts from {source}",
                    env.name,
                    report.tables_created.len(),
                    report.tables_existing.len(),
                    report.topic_arn,
                    report.parameters.join(", "),
                    report.products,
                    report.discounts,
                );
            }
            Ok(Outcome::Success)
        }
    }
}

#[cfg(not(feature = "aws"))]
pub async fn run(_global: &GlobalArgs, _command: AwsCommand) -> Result<Outcome, UsageError> {
    Err(UsageError::Usage(
        "this stepcart was built without the AWS adapters: cargo build --features aws".into(),
    ))
}
