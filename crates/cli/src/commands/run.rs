use std::path::PathBuf;

use clap::Args;
use serde_json::Value;
use stepcart_domain::ids::CheckoutIds;
use stepcart_domain::payment::PaymentStatus;
use stepcart_store_sqlite::ExecutionRecord;

use crate::local::{Backend, Driving, Local, Started};
use crate::output::print_execution;
use crate::{GlobalArgs, Outcome, UsageError};

#[derive(Args)]
pub struct RunArgs {
    /// The checkout request, a JSON file (see examples/carts/).
    pub cart: PathBuf,
    /// The execution name: the checkout's idempotency key. The same name and input again returns the
    /// existing execution instead of starting a second checkout. Default: a new unique name.
    #[arg(long)]
    pub name: Option<String>,
    /// Record the execution and return at once; `stepcart resume` continues it.
    #[arg(long)]
    pub no_wait: bool,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum BackendArg {
    Embedded,
    Aws,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum PaymentArg {
    Simulated,
    Stripe,
}

/// Opens the local runtime with the domain data where `--backend` says, driving executions inline.
pub async fn open_local(global: &GlobalArgs) -> Result<Local, UsageError> {
    open_local_driving(global, Driving::Inline).await
}

/// [`open_local`], driving executions as `driving` says (`stepcart serve`: each in its own task).
pub async fn open_local_driving(global: &GlobalArgs, driving: Driving) -> Result<Local, UsageError> {
    match global.backend {
        BackendArg::Embedded if global.payment == PaymentArg::Stripe => Err(UsageError::Usage(
            "--payment stripe keeps its payments ledger on DynamoDB: use it with --backend aws".into(),
        )),
        BackendArg::Embedded => Ok(Local::open_driving(&global.db, Backend::Embedded, driving).await?),
        #[cfg(feature = "aws")]
        BackendArg::Aws => {
            let domain = crate::aws::AwsDomain::connect(global.payment == PaymentArg::Stripe).await?;
            Ok(Local::open_driving(&global.db, Backend::Aws(Box::new(domain)), driving).await?)
        }
        #[cfg(not(feature = "aws"))]
        BackendArg::Aws => Err(aws_build_needed()),
    }
}

/// What `--backend aws` answers in a build without the AWS adapters.
#[cfg(not(feature = "aws"))]
pub fn aws_build_needed() -> UsageError {
    UsageError::Usage(
        "--backend aws needs a stepcart built with the AWS adapters: cargo build --features aws".into(),
    )
}

pub async fn run(global: &GlobalArgs, args: RunArgs) -> Result<Outcome, UsageError> {
    let input = super::read_json(&args.cart)?;
    let name = match args.name {
        Some(name) => {
            check_execution_name(&name)?;
            name
        }
        None => new_execution_name(),
    };
    let local = open_local(global).await?;
    // The AWS backend's catalog is loaded by `stepcart aws bootstrap`.
    if global.backend == BackendArg::Embedded && local.ensure_seeded().await? {
        eprintln!("seeded {} with the demo catalog", global.db.display());
    }
    local.show_progress(!args.no_wait && !global.json);
    if !args.no_wait && !global.json {
        eprintln!("checkout {name}");
    }
    match local.start_checkout(&name, input.clone(), !args.no_wait).await? {
        Started::New(record) => report(global, &local, &record, None).await,
        Started::Existing(record) => {
            let same_input =
                serde_json::from_str::<Value>(&record.input).is_ok_and(|existing| existing == input);
            if !same_input {
                return Err(UsageError::Usage(format!(
                    "ExecutionAlreadyExists: execution {name} already exists with different input; \
                     use another --name for another checkout"
                )));
            }
            report(
                global,
                &local,
                &record,
                Some("(an execution with this name and input exists: nothing was started)"),
            )
            .await
        }
    }
}

/// Continues executions left RUNNING.
pub async fn resume(global: &GlobalArgs) -> Result<Outcome, UsageError> {
    let local = open_local(global).await?;
    local.show_progress(!global.json);
    let resumed = local.resume_all().await?;
    if resumed.is_empty() && !global.json {
        eprintln!("no execution is running");
    }
    let mut outcome = Outcome::Success;
    for record in &resumed {
        if let Outcome::Failed = report(global, &local, record, None).await? {
            outcome = Outcome::Failed;
        }
    }
    Ok(outcome)
}

pub async fn report(
    global: &GlobalArgs,
    local: &Local,
    record: &ExecutionRecord,
    note: Option<&str>,
) -> Result<Outcome, UsageError> {
    let waiting = if record.status == "RUNNING" {
        authentication_hint(local, record).await
    } else {
        None
    };
    let note = match (note, waiting.as_deref()) {
        (Some(a), Some(b)) => Some(format!("{a}\n{b}")),
        (Some(a), None) => Some(a.to_owned()),
        (None, b) => b.map(str::to_owned),
    };
    print_execution(global.json, record, note.as_deref());
    Ok(match record.status.as_str() {
        "FAILED" | "TIMED_OUT" | "ABORTED" => Outcome::Failed,
        _ => Outcome::Success,
    })
}

/// When a checkout waits for 3-D Secure, says how to finish it locally.
async fn authentication_hint(local: &Local, record: &ExecutionRecord) -> Option<String> {
    let key = CheckoutIds::for_execution(&record.name).payment_key;
    let payment = local.ports().payments.find_by_key(&key).await.ok().flatten()?;
    (payment.status == PaymentStatus::RequiresAction).then(|| {
        format!(
            "waiting    for 3-D Secure on payment {id}\n           finish it: stepcart payments authenticate {id}   (or add --fail)",
            id = payment.payment_id
        )
    })
}

/// Step Functions' rules for execution names: 1 to 80 characters, no whitespace, no reserved characters.
pub fn check_execution_name(name: &str) -> Result<(), UsageError> {
    use stepcart_domain::ids::{EXECUTION_NAME_RESERVED as RESERVED, first_forbidden_char};
    let length = name.chars().count();
    if !(1..=80).contains(&length) {
        return Err(UsageError::Usage(format!(
            "--name must be 1 to 80 characters, not {length}"
        )));
    }
    if let Some(bad) = first_forbidden_char(name) {
        return Err(UsageError::Usage(format!(
            "--name {name:?} contains {bad:?}; execution names cannot contain whitespace, control characters or any of {RESERVED}"
        )));
    }
    Ok(())
}

fn new_execution_name() -> String {
    let now = time::OffsetDateTime::now_utc();
    let suffix: u32 = rand::random();
    format!(
        "checkout-{:04}{:02}{:02}-{:02}{:02}{:02}-{suffix:08x}",
        now.year(),
        u8::from(now.month()),
        now.day(),
        now.hour(),
        now.minute(),
        now.second()
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn execution_names_follow_step_functions_rules() {
        assert!(check_execution_name("order-42_retry.1").is_ok());
        for bad in ["", "has space", "a/b", "a:b", "x$y", &"n".repeat(81), "tab\there"] {
            assert!(check_execution_name(bad).is_err(), "{bad:?} accepted");
        }
        assert!(check_execution_name(&new_execution_name()).is_ok());
    }
}
