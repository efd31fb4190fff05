use std::path::Path;

use serde_json::json;
use stepcart_domain::catalog::CatalogFile;

use crate::local::{DEMO_CATALOG, Local};
use crate::{GlobalArgs, Outcome, UsageError};

/// A catalog file (or the demo catalog) as products and discounts.
pub fn load_catalog(
    catalog: Option<&Path>,
) -> Result<
    (
        String,
        Vec<stepcart_domain::catalog::StockedProduct>,
        Vec<stepcart_domain::catalog::Discount>,
    ),
    UsageError,
> {
    let (source, text) = match catalog {
        Some(path) => (
            path.display().to_string(),
            std::fs::read_to_string(path)
                .map_err(|e| UsageError::Usage(format!("cannot read {}: {e}", path.display())))?,
        ),
        None => ("the demo catalog".to_owned(), DEMO_CATALOG.to_owned()),
    };
    let file: CatalogFile = serde_json::from_str(&text)
        .map_err(|e| UsageError::Usage(format!("{source} is not a catalog: {e}")))?;
    let (products, discounts) = file
        .into_domain()
        .map_err(|e| UsageError::Usage(format!("{source}: {e}")))?;
    Ok((source, products, discounts))
}

pub async fn run(global: &GlobalArgs, catalog: Option<&Path>) -> Result<Outcome, UsageError> {
    let (source, products, discounts) = load_catalog(catalog)?;
    let local = Local::open(&global.db).await?;
    let report = local
        .store()
        .seed(&products, &discounts)
        .await
        .map_err(|e| UsageError::Usage(format!("cannot seed {}: {e}", global.db.display())))?;
    if global.json {
        println!(
            "{}",
            json!({"added": report.added, "updated": report.updated, "stockKept": report.stock_kept,
                   "discounts": discounts.len()})
        );
    } else {
        println!(
            "seeded {} from {source}: {} products added, {} updated ({} kept their stock), {} discount codes",
            global.db.display(),
            report.added.len(),
            report.updated.len(),
            report.stock_kept.len(),
            discounts.len()
        );
    }
    Ok(Outcome::Success)
}
