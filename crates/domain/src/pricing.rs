//! Prices an order from catalog prices and a discount code.
//!
//! Rounding: a percentage discount is `subtotal * percent / 100` rounded to the nearest minor unit, half
//! up (in the customer's favour). A fixed discount never exceeds the subtotal, so a total is never negative.

use serde::{Deserialize, Serialize};

use crate::cart::CartLine;
use crate::catalog::{Discount, DiscountKind, Product};
use crate::error::CheckoutError;
use crate::money::{Currency, Money};

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PricedLine {
    pub sku: String,
    pub quantity: u32,
    pub unit_price: i64,
    pub line_total: i64,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Pricing {
    pub items: Vec<PricedLine>,
    pub subtotal: i64,
    pub discount: i64,
    pub total: i64,
    pub currency: Currency,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub discount_code: Option<String>,
}

impl Pricing {
    pub fn total_money(&self) -> Money {
        Money::new(self.total, self.currency)
    }
}

/// Prices each line at its catalog price, then applies the discount.
pub fn price(
    lines: &[CartLine],
    products: &[Product],
    currency: Currency,
    discount: Option<&Discount>,
) -> Result<Pricing, CheckoutError> {
    let overflow = || CheckoutError::invalid_cart("the order total is too large to charge");
    let mut items = Vec::with_capacity(lines.len());
    let mut subtotal: i64 = 0;
    for line in lines {
        let product = products
            .iter()
            .find(|p| p.sku == line.sku)
            .ok_or_else(|| CheckoutError::invalid_cart(format!("SKU {} is not in the catalog", line.sku)))?;
        if product.price.currency != currency {
            return Err(CheckoutError::invalid_cart(format!(
                "SKU {} is priced in {}, but the cart is in {currency}",
                line.sku, product.price.currency
            )));
        }
        let line_total = product
            .price
            .amount
            .checked_mul(i64::from(line.quantity))
            .ok_or_else(overflow)?;
        subtotal = subtotal.checked_add(line_total).ok_or_else(overflow)?;
        items.push(PricedLine {
            sku: line.sku.clone(),
            quantity: line.quantity,
            unit_price: product.price.amount,
            line_total,
        });
    }
    let discount_amount = match discount {
        None => 0,
        Some(discount) => discount_amount(subtotal, currency, discount)?,
    };
    Ok(Pricing {
        items,
        subtotal,
        discount: discount_amount,
        total: subtotal - discount_amount,
        currency,
        discount_code: discount.map(|d| d.code.clone()),
    })
}

fn discount_amount(subtotal: i64, currency: Currency, discount: &Discount) -> Result<i64, CheckoutError> {
    discount.check_currency(currency)?;
    if let Some(minimum) = discount.min_subtotal
        && subtotal < minimum.amount
    {
        return Err(CheckoutError::invalid_cart(format!(
            "discount code {} needs a subtotal of at least {minimum}; this cart's is {}",
            discount.code,
            Money::new(subtotal, currency)
        )));
    }
    Ok(match discount.kind {
        DiscountKind::PercentOff(percent) => percent_of(subtotal, percent),
        DiscountKind::AmountOff(amount) => amount.amount.min(subtotal),
    })
}

/// `amount * percent / 100`, rounded half up, computed in i128 so no subtotal can overflow it.
pub fn percent_of(amount: i64, percent: u8) -> i64 {
    let scaled = i128::from(amount) * i128::from(percent);
    let rounded = (scaled + 50).div_euclid(100);
    // percent <= 100, so the result is at most `amount` and fits.
    i64::try_from(rounded).unwrap_or(amount)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn eur() -> Currency {
        Currency::parse("EUR").expect("ok")
    }

    fn catalog() -> Vec<Product> {
        vec![
            Product::new("TSHIRT-RED-M", "T-shirt", Money::new(1999, eur()), true),
            Product::new("MUG-BLACK", "Mug", Money::new(999, eur()), true),
            Product::new("PENNY", "Sticker", Money::new(5, eur()), true),
        ]
    }

    fn line(sku: &str, quantity: u32) -> CartLine {
        CartLine {
            sku: sku.into(),
            quantity,
        }
    }

    #[test]
    fn the_documented_example_prices_as_in_the_interface() {
        let lines = [line("TSHIRT-RED-M", 2), line("MUG-BLACK", 1)];
        let five_off = Discount::amount_off("FIVEOFF", Money::new(500, eur()), Some(Money::new(3000, eur())));
        let p = price(&lines, &catalog(), eur(), Some(&five_off)).expect("priced");
        assert_eq!(p.items[0].line_total, 3998);
        assert_eq!((p.subtotal, p.discount, p.total), (4997, 500, 4497));
    }

    #[test]
    fn percentage_discounts_round_half_up() {
        assert_eq!(percent_of(4997, 10), 500); // 499.7 -> 500
        assert_eq!(percent_of(4995, 10), 500); // 499.5 -> 500 (half up)
        assert_eq!(percent_of(4994, 10), 499); // 499.4 -> 499
        assert_eq!(percent_of(5, 10), 1); // 0.5 -> 1
        assert_eq!(percent_of(4, 10), 0); // 0.4 -> 0
        assert_eq!(percent_of(1999, 100), 1999);
        assert_eq!(percent_of(i64::MAX, 100), i64::MAX);
    }

    #[test]
    fn a_percentage_code_prices_the_subtotal() {
        let lines = [line("TSHIRT-RED-M", 2), line("MUG-BLACK", 1)];
        let welcome = Discount::percent_off("WELCOME10", 10, None);
        let p = price(&lines, &catalog(), eur(), Some(&welcome)).expect("priced");
        assert_eq!((p.subtotal, p.discount, p.total), (4997, 500, 4497));
        assert_eq!(p.discount_code.as_deref(), Some("WELCOME10"));
    }

    #[test]
    fn a_fixed_discount_never_makes_a_total_negative() {
        let big = Discount::amount_off("BIG", Money::new(100_000, eur()), None);
        let p = price(&[line("PENNY", 1)], &catalog(), eur(), Some(&big)).expect("priced");
        assert_eq!((p.subtotal, p.discount, p.total), (5, 5, 0));
    }

    #[test]
    fn a_minimum_subtotal_is_enforced_with_a_clear_message() {
        let five_off = Discount::amount_off("FIVEOFF", Money::new(500, eur()), Some(Money::new(3000, eur())));
        let error =
            price(&[line("MUG-BLACK", 1)], &catalog(), eur(), Some(&five_off)).expect_err("below minimum");
        assert_eq!(error.name(), "InvalidCart");
        assert!(error.message().contains("30.00 EUR"), "{}", error.message());
        assert!(error.message().contains("9.99 EUR"), "{}", error.message());
    }

    #[test]
    fn overflowing_totals_are_refused() {
        let huge = vec![Product::new(
            "GOLD",
            "Gold",
            Money::new(i64::MAX / 2, eur()),
            true,
        )];
        let error = price(&[line("GOLD", 3)], &huge, eur(), None).expect_err("overflow");
        assert!(error.message().contains("too large"));
    }

    #[test]
    fn no_discount_means_total_is_subtotal() {
        let p = price(&[line("MUG-BLACK", 3)], &catalog(), eur(), None).expect("priced");
        assert_eq!((p.subtotal, p.discount, p.total), (2997, 0, 2997));
    }
}
