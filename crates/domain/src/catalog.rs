//! Products and discount codes as the shop defines them.

use serde::{Deserialize, Serialize};

use crate::error::CheckoutError;
use crate::money::{Currency, Money};

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Product {
    pub sku: String,
    pub name: String,
    pub price: Money,
    pub active: bool,
}

impl Product {
    pub fn new(sku: &str, name: &str, price: Money, active: bool) -> Self {
        Self {
            sku: sku.to_owned(),
            name: name.to_owned(),
            price,
            active,
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum DiscountKind {
    /// A whole percentage from 1 to 100 of the subtotal.
    PercentOff(u8),
    /// A fixed amount, never more than the subtotal.
    AmountOff(Money),
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Discount {
    /// Upper-case; codes match case-insensitively.
    pub code: String,
    pub kind: DiscountKind,
    /// The least subtotal the code applies to, in that amount's currency.
    pub min_subtotal: Option<Money>,
}

impl Discount {
    pub fn percent_off(code: &str, percent: u8, min_subtotal: Option<Money>) -> Self {
        Self {
            code: crate::cart::normalise_discount_code(code),
            kind: DiscountKind::PercentOff(percent),
            min_subtotal,
        }
    }

    pub fn amount_off(code: &str, amount: Money, min_subtotal: Option<Money>) -> Self {
        Self {
            code: crate::cart::normalise_discount_code(code),
            kind: DiscountKind::AmountOff(amount),
            min_subtotal,
        }
    }

    /// A fixed amount or a minimum subtotal is tied to a currency; the code is only usable in it.
    pub fn check_currency(&self, currency: Currency) -> Result<(), CheckoutError> {
        let tied = match (self.kind, self.min_subtotal) {
            (DiscountKind::AmountOff(amount), _) => Some(amount.currency),
            (_, Some(minimum)) => Some(minimum.currency),
            _ => None,
        };
        match tied {
            Some(required) if required != currency => Err(CheckoutError::invalid_cart(format!(
                "discount code {} is only valid for carts in {required}, not {currency}",
                self.code
            ))),
            _ => Ok(()),
        }
    }
}

/// The catalog file of `stepcart seed --catalog FILE` (see interfaces: products and discounts).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CatalogFile {
    pub products: Vec<CatalogProduct>,
    #[serde(default)]
    pub discounts: Vec<CatalogDiscount>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CatalogProduct {
    pub sku: String,
    pub name: String,
    pub price: i64,
    pub currency: String,
    pub stock: i64,
    #[serde(default = "active_by_default")]
    pub active: bool,
}

fn active_by_default() -> bool {
    true
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CatalogDiscount {
    pub code: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub percent_off: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub amount_off: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub currency: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_subtotal: Option<i64>,
}

/// A catalog entry ready to load: the product and its initial stock.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StockedProduct {
    pub product: Product,
    pub stock: u32,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("{location}: {message}")]
pub struct CatalogError {
    pub location: String,
    pub message: String,
}

impl CatalogFile {
    /// Checks every entry and converts it to domain values; the first problem is reported with its location.
    pub fn into_domain(self) -> Result<(Vec<StockedProduct>, Vec<Discount>), CatalogError> {
        let error = |location: String, message: String| CatalogError { location, message };
        let mut products = Vec::with_capacity(self.products.len());
        let mut skus = std::collections::HashSet::new();
        for (i, p) in self.products.into_iter().enumerate() {
            let at = format!("products[{i}]");
            crate::cart::check_sku(&p.sku).map_err(|why| error(format!("{at}.sku"), format!("SKU {why}")))?;
            if !skus.insert(p.sku.clone()) {
                return Err(error(
                    format!("{at}.sku"),
                    format!("SKU {} is listed twice", p.sku),
                ));
            }
            let currency =
                Currency::parse(&p.currency).map_err(|e| error(format!("{at}.currency"), e.to_string()))?;
            if p.price < 0 {
                return Err(error(format!("{at}.price"), "a price cannot be negative".into()));
            }
            let stock = u32::try_from(p.stock).map_err(|_| {
                error(
                    format!("{at}.stock"),
                    format!("stock {} is not 0 to 4294967295", p.stock),
                )
            })?;
            if p.name.trim().is_empty() {
                return Err(error(format!("{at}.name"), "a product needs a name".into()));
            }
            products.push(StockedProduct {
                product: Product {
                    sku: p.sku,
                    name: p.name,
                    price: Money::new(p.price, currency),
                    active: p.active,
                },
                stock,
            });
        }
        let mut discounts = Vec::with_capacity(self.discounts.len());
        for (i, d) in self.discounts.into_iter().enumerate() {
            let at = format!("discounts[{i}]");
            let currency = d
                .currency
                .as_deref()
                .map(Currency::parse)
                .transpose()
                .map_err(|e| error(format!("{at}.currency"), e.to_string()))?;
            let in_currency = |amount: i64, field: &str| {
                currency
                    .map(|c| Money::new(amount, c))
                    .ok_or_else(|| error(format!("{at}.currency"), format!("{field} needs a currency")))
            };
            let min_subtotal = match d.min_subtotal {
                Some(m) if m < 0 => {
                    return Err(error(format!("{at}.minSubtotal"), "cannot be negative".into()));
                }
                Some(m) => Some(in_currency(m, "minSubtotal")?),
                None => None,
            };
            let discount = match (d.percent_off, d.amount_off) {
                (Some(p), None) => {
                    let percent = u8::try_from(p)
                        .ok()
                        .filter(|p| (1..=100).contains(p))
                        .ok_or_else(|| error(format!("{at}.percentOff"), "must be 1 to 100".into()))?;
                    Discount::percent_off(&d.code, percent, min_subtotal)
                }
                (None, Some(a)) if a > 0 => {
                    Discount::amount_off(&d.code, in_currency(a, "amountOff")?, min_subtotal)
                }
                (None, Some(_)) => {
                    return Err(error(format!("{at}.amountOff"), "must be greater than 0".into()));
                }
                _ => {
                    return Err(error(at, "give exactly one of percentOff and amountOff".into()));
                }
            };
            discounts.push(discount);
        }
        Ok((products, discounts))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn load(value: serde_json::Value) -> Result<(Vec<StockedProduct>, Vec<Discount>), CatalogError> {
        serde_json::from_value::<CatalogFile>(value)
            .expect("shape")
            .into_domain()
    }

    #[test]
    fn the_documented_catalog_loads() {
        let (products, discounts) = load(json!({
            "products": [{"sku": "TSHIRT-RED-M", "name": "T-shirt red M", "price": 1999, "currency": "EUR",
                          "stock": 25, "active": true}],
            "discounts": [{"code": "welcome10", "percentOff": 10},
                          {"code": "FIVEOFF", "amountOff": 500, "currency": "EUR", "minSubtotal": 3000}]
        }))
        .expect("valid");
        assert_eq!(products[0].stock, 25);
        assert_eq!(products[0].product.price.amount, 1999);
        assert_eq!(discounts[0].code, "WELCOME10");
        assert_eq!(discounts[1].min_subtotal.map(|m| m.amount), Some(3000));
    }

    #[test]
    fn bad_entries_are_located() {
        let cases = [
            (
                json!({"products": [{"sku": "A", "name": "a", "price": -1, "currency": "EUR", "stock": 1}]}),
                "products[0].price",
            ),
            (
                json!({"products": [{"sku": "A", "name": "a", "price": 1, "currency": "EUR", "stock": -5}]}),
                "products[0].stock",
            ),
            (
                json!({"products": [{"sku": "A B", "name": "a", "price": 1, "currency": "EUR", "stock": 1}]}),
                "products[0].sku",
            ),
            (
                json!({"products": [], "discounts": [{"code": "X", "percentOff": 0}]}),
                "discounts[0].percentOff",
            ),
            (
                json!({"products": [], "discounts": [{"code": "X", "amountOff": 5}]}),
                "discounts[0].currency",
            ),
            (
                json!({"products": [], "discounts": [{"code": "X", "percentOff": 5, "amountOff": 5, "currency": "EUR"}]}),
                "discounts[0]",
            ),
        ];
        for (value, location) in cases {
            let error = load(value).expect_err("must be rejected");
            assert_eq!(error.location, location, "{error}");
        }
    }

    #[test]
    fn a_percentage_with_a_minimum_is_tied_to_its_currency() {
        let eur = Currency::parse("EUR").expect("ok");
        let usd = Currency::parse("USD").expect("ok");
        let d = Discount::percent_off("X", 10, Some(Money::new(100, eur)));
        assert!(d.check_currency(eur).is_ok());
        assert!(d.check_currency(usd).is_err());
        assert!(Discount::percent_off("Y", 10, None).check_currency(usd).is_ok());
    }
}
