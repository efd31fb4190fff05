use clap::Subcommand;
use serde_json::json;
use stepcart_tasks::{AuthenticationDelivery, deliver_authentication_outcome};

use crate::local::Local;
use crate::{GlobalArgs, Outcome, UsageError};

#[derive(Subcommand)]
pub enum PaymentsCommand {
    /// Complete (or, with --fail, fail) a pending 3-D Secure authentication of the simulated provider,
    /// which resumes the waiting checkout.
    Authenticate {
        payment_id: String,
        #[arg(long)]
        fail: bool,
    },
    /// Payments recorded by the simulated provider.
    List,
}

pub async fn run(global: &GlobalArgs, command: PaymentsCommand) -> Result<Outcome, UsageError> {
    let local = super::run::open_local(global).await?;
    match command {
        PaymentsCommand::Authenticate { payment_id, fail } => {
            authenticate(global, &local, &payment_id, !fail).await
        }
        PaymentsCommand::List => list(global, &local).await,
    }
}

async fn authenticate(
    global: &GlobalArgs,
    local: &Local,
    payment_id: &str,
    success: bool,
) -> Result<Outcome, UsageError> {
    let payment = local
        .payments()
        .authenticate(payment_id, success)
        .await
        .map_err(|e| UsageError::Usage(format!("cannot authenticate {payment_id}: {e}")))?;
    local.show_progress(!global.json);
    // Found before delivery: once resumed, the execution no longer waits on the token.
    let waiting_token = local
        .ports()
        .authentication_waits
        .task_token(payment_id)
        .await
        .map_err(|e| UsageError::Usage(e.to_string()))?;
    let execution_arn = match &waiting_token {
        Some(token) => local.execution_for_token(token).await?,
        None => None,
    };
    let delivery = deliver_authentication_outcome(
        local.ports(),
        payment_id,
        success,
        payment.failure_message.as_deref(),
    )
    .await
    .map_err(|e| UsageError::Usage(format!("cannot resume the waiting checkout: {e}")))?;
    match (delivery, execution_arn) {
        (AuthenticationDelivery::Delivered { .. }, Some(arn)) => {
            let record = local.execution(&arn).await?;
            super::run::report(global, local, &record, None).await
        }
        _ => {
            if global.json {
                println!(
                    "{}",
                    json!({"paymentId": payment.payment_id, "status": payment.status.as_str()})
                );
            } else {
                println!(
                    "payment {} is {}; no checkout was waiting for it",
                    payment.payment_id,
                    payment.status.as_str()
                );
            }
            Ok(Outcome::Success)
        }
    }
}

async fn list(global: &GlobalArgs, local: &Local) -> Result<Outcome, UsageError> {
    let payments = local
        .store()
        .payments()
        .await
        .map_err(|e| UsageError::Usage(e.to_string()))?;
    if global.json {
        println!("{}", serde_json::to_value(&payments).unwrap_or_default());
    } else {
        for p in &payments {
            println!("{p:?}");
        }
    }
    Ok(Outcome::Success)
}
