use std::collections::HashSet;

use async_trait::async_trait;
use rusqlite::{Connection, OptionalExtension, Row, params};
use serde::Serialize;
use stepcart_domain::catalog::{Discount, DiscountKind, Product, StockedProduct};
use stepcart_domain::ports::Catalog;
use stepcart_domain::{Currency, Money, PortError};

use crate::error::StoreError;
use crate::store::{Store, now_rfc3339};

/// What `seed` did. SKUs are in the order the catalog listed them.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SeedReport {
    /// New SKUs, stocked with the catalog's `stock`.
    pub added: Vec<String>,
    /// Existing SKUs whose name, price or active flag changed.
    pub updated: Vec<String>,
    /// Existing SKUs (changed or not): their stock levels were left as they were, whatever the catalog
    /// says, because reseeding must not create or destroy units that carts may hold.
    pub stock_kept: Vec<String>,
    pub discounts_added: Vec<String>,
    pub discounts_updated: Vec<String>,
}

impl Store {
    /// Upserts products and discounts. A new SKU gets `available = stock`; an existing SKU keeps its
    /// stock levels. All in one transaction: a failing entry leaves the store as it was.
    pub async fn seed(
        &self,
        products: &[StockedProduct],
        discounts: &[Discount],
    ) -> Result<SeedReport, StoreError> {
        let products = products.to_vec();
        let discounts = discounts.to_vec();
        self.run(move |conn| seed_tx(conn, &products, &discounts)).await
    }

    /// Whether `seed` ever ran on this database.
    pub async fn is_seeded(&self) -> Result<bool, StoreError> {
        self.run(|conn| {
            Ok(conn
                .query_row("SELECT 1 FROM meta WHERE key = 'seeded_at'", [], |_| Ok(()))
                .optional()?
                .is_some())
        })
        .await
    }
}

fn seed_tx(
    conn: &mut Connection,
    products: &[StockedProduct],
    discounts: &[Discount],
) -> Result<SeedReport, StoreError> {
    let mut seen = HashSet::new();
    if let Some(twice) = products.iter().find(|p| !seen.insert(p.product.sku.as_str())) {
        return Err(StoreError::Invalid(format!(
            "SKU {} is listed twice in the catalog",
            twice.product.sku
        )));
    }
    let mut seen = HashSet::new();
    if let Some(twice) = discounts.iter().find(|d| !seen.insert(d.code.as_str())) {
        return Err(StoreError::Invalid(format!(
            "discount code {} is listed twice in the catalog",
            twice.code
        )));
    }

    let tx = conn.savepoint()?;
    let mut report = SeedReport::default();
    for stocked in products {
        let p = &stocked.product;
        let existing = tx
            .query_row(
                "SELECT sku, name, price, currency, active FROM products WHERE sku = ?1",
                [&p.sku],
                product_from_row,
            )
            .optional()?
            .transpose()?;
        tx.execute(
            "INSERT INTO products (sku, name, price, currency, active) VALUES (?1, ?2, ?3, ?4, ?5)
             ON CONFLICT (sku) DO UPDATE SET name = excluded.name, price = excluded.price,
                 currency = excluded.currency, active = excluded.active",
            params![p.sku, p.name, p.price.amount, p.price.currency.as_str(), p.active],
        )?;
        match existing {
            None => {
                let stock = i64::from(stocked.stock);
                tx.execute(
                    "INSERT INTO stock (sku, stocked, available) VALUES (?1, ?2, ?2)",
                    params![p.sku, stock],
                )?;
                report.added.push(p.sku.clone());
            }
            Some(before) => {
                if before != *p {
                    report.updated.push(p.sku.clone());
                }
                report.stock_kept.push(p.sku.clone());
            }
        }
    }
    for d in discounts {
        let existing = tx
            .query_row(
                &format!("SELECT {DISCOUNT_COLUMNS} FROM discounts WHERE code = ?1"),
                [&d.code],
                discount_from_row,
            )
            .optional()?
            .transpose()?;
        let (percent, amount, amount_currency) = match d.kind {
            DiscountKind::PercentOff(p) => (Some(i64::from(p)), None, None),
            DiscountKind::AmountOff(m) => (None, Some(m.amount), Some(m.currency.as_str().to_owned())),
        };
        tx.execute(
            "INSERT INTO discounts (code, percent_off, amount_off, amount_currency, min_subtotal, min_currency)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6)
             ON CONFLICT (code) DO UPDATE SET percent_off = excluded.percent_off,
                 amount_off = excluded.amount_off, amount_currency = excluded.amount_currency,
                 min_subtotal = excluded.min_subtotal, min_currency = excluded.min_currency",
            params![
                d.code,
                percent,
                amount,
                amount_currency,
                d.min_subtotal.map(|m| m.amount),
                d.min_subtotal.map(|m| m.currency.as_str().to_owned()),
            ],
        )?;
        match existing {
            None => report.discounts_added.push(d.code.clone()),
            Some(before) if before != *d => report.discounts_updated.push(d.code.clone()),
            Some(_) => {}
        }
    }
    tx.execute(
        "INSERT INTO meta (key, value) VALUES ('seeded_at', ?1)
         ON CONFLICT (key) DO UPDATE SET value = excluded.value",
        [now_rfc3339()],
    )?;
    tx.commit()?;
    Ok(report)
}

pub(crate) fn parse_currency(what: &str, text: &str) -> Result<Currency, StoreError> {
    Currency::parse(text).map_err(|e| StoreError::corrupt(what, e))
}

/// Reads a row of `sku, name, price, currency, active`. The outer result is SQLite's, the inner one
/// says whether the stored values still make a valid product.
fn product_from_row(row: &Row<'_>) -> rusqlite::Result<Result<Product, StoreError>> {
    let sku: String = row.get(0)?;
    let name: String = row.get(1)?;
    let price: i64 = row.get(2)?;
    let currency: String = row.get(3)?;
    let active: bool = row.get(4)?;
    Ok(
        parse_currency(&format!("products[{sku}].currency"), &currency).map(|currency| Product {
            sku,
            name,
            price: Money::new(price, currency),
            active,
        }),
    )
}

const DISCOUNT_COLUMNS: &str = "code, percent_off, amount_off, amount_currency, min_subtotal, min_currency";

fn discount_from_row(row: &Row<'_>) -> rusqlite::Result<Result<Discount, StoreError>> {
    let code: String = row.get(0)?;
    let percent: Option<i64> = row.get(1)?;
    let amount: Option<i64> = row.get(2)?;
    let amount_currency: Option<String> = row.get(3)?;
    let min_subtotal: Option<i64> = row.get(4)?;
    let min_currency: Option<String> = row.get(5)?;
    let what = format!("discounts[{code}]");
    let money = |amount: Option<i64>, currency: Option<String>| -> Result<Option<Money>, StoreError> {
        match (amount, currency) {
            (Some(a), Some(c)) => Ok(Some(Money::new(a, parse_currency(&what, &c)?))),
            (None, None) => Ok(None),
            _ => Err(StoreError::corrupt(&what, "an amount without its currency")),
        }
    };
    let build = || -> Result<Discount, StoreError> {
        let kind = match (percent, money(amount, amount_currency.clone())?) {
            (Some(p), None) => DiscountKind::PercentOff(
                u8::try_from(p).map_err(|_| StoreError::corrupt(&what, format!("percent_off {p}")))?,
            ),
            (None, Some(m)) => DiscountKind::AmountOff(m),
            _ => {
                return Err(StoreError::corrupt(
                    &what,
                    "needs exactly one of percent_off and amount_off",
                ));
            }
        };
        Ok(Discount {
            code: code.clone(),
            kind,
            min_subtotal: money(min_subtotal, min_currency.clone())?,
        })
    };
    Ok(build())
}

#[async_trait]
impl Catalog for Store {
    async fn products(&self, skus: &[String]) -> Result<Vec<Product>, PortError> {
        let skus = skus.to_vec();
        let found = self
            .run(move |conn| {
                let mut stmt = conn.prepare_cached(
                    "SELECT sku, name, price, currency, active FROM products WHERE sku = ?1",
                )?;
                let mut seen = HashSet::new();
                let mut found = Vec::new();
                for sku in skus.iter().filter(|s| seen.insert(s.as_str())) {
                    if let Some(product) = stmt.query_row([sku], product_from_row).optional()? {
                        found.push(product?);
                    }
                }
                Ok(found)
            })
            .await?;
        Ok(found)
    }

    async fn discount(&self, code: &str) -> Result<Option<Discount>, PortError> {
        let code = code.to_owned();
        let found = self
            .run(move |conn| {
                conn.query_row(
                    &format!("SELECT {DISCOUNT_COLUMNS} FROM discounts WHERE code = ?1"),
                    [&code],
                    discount_from_row,
                )
                .optional()?
                .transpose()
            })
            .await?;
        Ok(found)
    }
}
