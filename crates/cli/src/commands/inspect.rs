use serde_json::json;
use stepcart_domain::{Currency, Money};

use crate::local::Local;
use crate::{GlobalArgs, Outcome, UsageError};

/// Stock levels where `--backend` keeps them (the embedded store, or DynamoDB with its shards summed).
pub async fn stock(global: &GlobalArgs, skus: &[String]) -> Result<Outcome, UsageError> {
    let local = super::run::open_local(global).await?;
    let levels = local
        .ports()
        .inventory
        .stock(skus)
        .await
        .map_err(|e| UsageError::Usage(format!("cannot read stock: {e}")))?;
    if let Some(missing) = skus.iter().find(|sku| !levels.iter().any(|l| &l.sku == *sku)) {
        return Err(UsageError::Usage(format!("SKU {missing} is not in the store")));
    }
    if global.json {
        let rows: Vec<_> = levels
            .iter()
            .map(|l| json!({"sku": l.sku, "available": l.available, "reserved": l.reserved, "sold": l.sold}))
            .collect();
        println!("{}", serde_json::Value::Array(rows));
    } else {
        println!("{:<24} {:>9} {:>9} {:>9}", "SKU", "AVAILABLE", "RESERVED", "SOLD");
        for l in &levels {
            println!("{:<24} {:>9} {:>9} {:>9}", l.sku, l.available, l.reserved, l.sold);
        }
    }
    Ok(Outcome::Success)
}

/// Orders where `--backend` keeps them (the embedded store, or DynamoDB's orders table), newest first.
pub async fn orders(global: &GlobalArgs) -> Result<Outcome, UsageError> {
    let local = Local::open(&global.db).await?;
    let orders = match global.backend {
        super::run::BackendArg::Embedded => local
            .store()
            .orders()
            .await
            .map_err(|e| UsageError::Usage(format!("cannot read orders: {e}")))?,
        #[cfg(feature = "aws")]
        super::run::BackendArg::Aws => crate::aws::orders().await?,
        #[cfg(not(feature = "aws"))]
        super::run::BackendArg::Aws => return Err(super::run::aws_build_needed()),
    };
    let machine = local.checkout_machine_arn();
    if global.json {
        let rows: Vec<_> = orders
            .iter()
            .map(|o| {
                json!({"orderId": o.order_id, "status": o.status, "total": o.total, "currency": o.currency,
                       "paymentId": o.payment_id, "executionArn": crate::local::execution_arn(
                           machine.rsplit(':').next().unwrap_or_default(), &o.execution_name),
                       "createdAt": o.created_at})
            })
            .collect();
        println!("{}", serde_json::Value::Array(rows));
    } else {
        println!(
            "{:<28} {:<10} {:>14} {:<32} EXECUTION",
            "ORDER", "STATUS", "TOTAL", "PAYMENT"
        );
        for o in &orders {
            let total = Currency::parse(&o.currency)
                .map(|c| Money::new(o.total, c).to_string())
                .unwrap_or_else(|_| format!("{} {}", o.total, o.currency));
            println!(
                "{:<28} {:<10} {:>14} {:<32} {}",
                o.order_id, o.status, total, o.payment_id, o.execution_name
            );
        }
    }
    Ok(Outcome::Success)
}

/// `stepcart check`: the embedded store's invariants, or with `--backend aws` DynamoDB's (payments from the
/// simulated provider in `--db`, or the ledger with `--payment stripe`).
pub async fn check(global: &GlobalArgs) -> Result<Outcome, UsageError> {
    let local = Local::open(&global.db).await?;
    let (violations, checked) = match global.backend {
        super::run::BackendArg::Embedded => (
            local
                .store()
                .check_invariants()
                .await
                .map_err(|e| UsageError::Usage(format!("cannot read the store: {e}")))?,
            global.db.display().to_string(),
        ),
        #[cfg(feature = "aws")]
        super::run::BackendArg::Aws => (
            crate::aws::check_invariants(local.store(), global.payment == super::run::PaymentArg::Stripe)
                .await?,
            format!("DynamoDB (environment {})", crate::aws::environment_name()),
        ),
        #[cfg(not(feature = "aws"))]
        super::run::BackendArg::Aws => return Err(super::run::aws_build_needed()),
    };
    if global.json {
        println!("{}", json!({"violations": violations}));
    } else if violations.is_empty() {
        println!("{checked}: every invariant holds");
    } else {
        for violation in &violations {
            println!("{violation}");
        }
    }
    Ok(if violations.is_empty() {
        Outcome::Success
    } else {
        Outcome::Failed
    })
}
