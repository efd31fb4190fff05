//! The checkout request and the rules a cart must meet before anything is reserved or charged.

use std::collections::{BTreeMap, HashSet};

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::catalog::{Discount, Product};
use crate::error::CheckoutError;
use crate::money::Currency;

pub const MAX_LINES: usize = 50;
pub const MIN_QUANTITY: i64 = 1;
pub const MAX_QUANTITY: i64 = 99;
pub const MAX_SKU_LENGTH: usize = 64;

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Customer {
    pub id: String,
    pub email: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Address {
    pub name: String,
    pub line1: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub line2: Option<String>,
    pub city: String,
    pub postal_code: String,
    pub country: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub state: Option<String>,
}

/// One line as the customer sent it. The quantity is signed so that a negative one gets a rule's message
/// rather than a parser's.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct LineRequest {
    pub sku: String,
    pub quantity: i64,
}

/// The execution input: what `POST /checkouts` accepts.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CheckoutRequest {
    pub customer: Customer,
    pub currency: String,
    pub items: Vec<LineRequest>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub discount_code: Option<String>,
    pub payment_method: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shipping_address: Option<Address>,
}

impl CheckoutRequest {
    /// Reads a request from JSON, turning a shape error into an `InvalidCart` that names the problem.
    pub fn from_value(value: &Value) -> Result<Self, CheckoutError> {
        if !value.is_object() {
            return Err(CheckoutError::invalid_cart(
                "the checkout request must be a JSON object",
            ));
        }
        serde_json::from_value(value.clone())
            .map_err(|e| CheckoutError::invalid_cart(format!("the checkout request is malformed: {e}")))
    }
}

/// A line that passed the request rules: SKU well-formed, quantity in range.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CartLine {
    pub sku: String,
    pub quantity: u32,
}

/// A cart that meets every rule, checked against the catalog. This is what the later steps work on.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ValidCart {
    pub customer: Customer,
    pub currency: Currency,
    pub items: Vec<CartLine>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub discount_code: Option<String>,
    pub payment_method: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shipping_address: Option<Address>,
}

/// The rules that need no catalog: shape, ranges, formats. Returns the normalised lines and currency.
pub fn check_request(request: &CheckoutRequest) -> Result<(Currency, Vec<CartLine>), CheckoutError> {
    check_customer(&request.customer)?;
    let currency = Currency::parse(&request.currency)?;
    if request.items.is_empty() {
        return Err(CheckoutError::invalid_cart("the cart has no items"));
    }
    if request.items.len() > MAX_LINES {
        return Err(CheckoutError::invalid_cart(format!(
            "the cart has {} lines; at most {MAX_LINES} are allowed",
            request.items.len()
        )));
    }
    let mut seen = HashSet::with_capacity(request.items.len());
    let mut lines = Vec::with_capacity(request.items.len());
    for (index, line) in request.items.iter().enumerate() {
        check_sku(&line.sku).map_err(|why| {
            CheckoutError::invalid_cart(format!("items[{index}].sku {}: {why}", quoted(&line.sku)))
        })?;
        if !(MIN_QUANTITY..=MAX_QUANTITY).contains(&line.quantity) {
            return Err(CheckoutError::invalid_cart(format!(
                "items[{index}] ({}) has quantity {}; quantities are whole numbers from {MIN_QUANTITY} to {MAX_QUANTITY}",
                line.sku, line.quantity
            )));
        }
        if !seen.insert(line.sku.as_str()) {
            return Err(CheckoutError::invalid_cart(format!(
                "SKU {} appears more than once; put the total quantity on one line",
                line.sku
            )));
        }
        let quantity = u32::try_from(line.quantity).map_err(|_| {
            CheckoutError::invalid_cart(format!("items[{index}] has an out-of-range quantity"))
        })?;
        lines.push(CartLine {
            sku: line.sku.clone(),
            quantity,
        });
    }
    check_payment_method(&request.payment_method)?;
    if let Some(code) = &request.discount_code {
        check_discount_code(code)?;
    }
    if let Some(address) = &request.shipping_address {
        check_address(address)?;
    }
    Ok((currency, lines))
}

/// Every rule: the request's own, then the catalog's (known, active SKUs in the cart's currency, a known
/// discount code usable in that currency).
pub fn validate(
    request: &CheckoutRequest,
    products: &[Product],
    discount: Option<&Discount>,
) -> Result<ValidCart, CheckoutError> {
    let (currency, items) = check_request(request)?;
    let by_sku: BTreeMap<&str, &Product> = products.iter().map(|p| (p.sku.as_str(), p)).collect();
    for line in &items {
        let product = by_sku
            .get(line.sku.as_str())
            .ok_or_else(|| CheckoutError::invalid_cart(format!("SKU {} is not in the catalog", line.sku)))?;
        if !product.active {
            return Err(CheckoutError::invalid_cart(format!(
                "SKU {} is no longer sold",
                line.sku
            )));
        }
        if product.price.currency != currency {
            return Err(CheckoutError::invalid_cart(format!(
                "SKU {} is priced in {}, but the cart is in {currency}",
                line.sku, product.price.currency
            )));
        }
    }
    let discount_code = match (&request.discount_code, discount) {
        (None, _) => None,
        (Some(code), None) => {
            return Err(CheckoutError::invalid_cart(format!(
                "discount code {} does not exist",
                quoted(code)
            )));
        }
        (Some(_), Some(discount)) => {
            discount.check_currency(currency)?;
            Some(discount.code.clone())
        }
    };
    Ok(ValidCart {
        customer: request.customer.clone(),
        currency,
        items,
        discount_code,
        payment_method: request.payment_method.clone(),
        shipping_address: request.shipping_address.clone(),
    })
}

/// SKUs are printable ASCII from a small alphabet, so that look-alike Unicode cannot name another product.
pub fn check_sku(sku: &str) -> Result<(), &'static str> {
    if sku.is_empty() {
        return Err("is empty");
    }
    if sku.len() > MAX_SKU_LENGTH {
        return Err("is longer than 64 characters");
    }
    if !sku
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
    {
        return Err("may only contain ASCII letters, digits, '-', '_' and '.'");
    }
    Ok(())
}

/// Discount codes are matched case-insensitively; this is the stored form.
pub fn normalise_discount_code(code: &str) -> String {
    code.trim().to_ascii_uppercase()
}

fn check_discount_code(code: &str) -> Result<(), CheckoutError> {
    let trimmed = code.trim();
    if trimmed.is_empty()
        || trimmed.len() > 32
        || !trimmed
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_'))
    {
        return Err(CheckoutError::invalid_cart(format!(
            "discountCode {} is not a valid code (1 to 32 letters, digits, '-' or '_')",
            quoted(code)
        )));
    }
    Ok(())
}

fn check_customer(customer: &Customer) -> Result<(), CheckoutError> {
    if customer.id.trim().is_empty() || customer.id.len() > 64 {
        return Err(CheckoutError::invalid_cart(
            "customer.id must be 1 to 64 characters",
        ));
    }
    if !is_plausible_email(&customer.email) {
        return Err(CheckoutError::invalid_cart(format!(
            "customer.email {} is not an email address",
            quoted(&customer.email)
        )));
    }
    Ok(())
}

fn is_plausible_email(email: &str) -> bool {
    let Some((local, domain)) = email.split_once('@') else {
        return false;
    };
    email.len() <= 254
        && !local.is_empty()
        && domain.contains('.')
        && !domain.starts_with('.')
        && !domain.ends_with('.')
        && !domain.contains('@')
        && !email.chars().any(|c| c.is_whitespace() || c.is_control())
}

fn check_payment_method(payment_method: &str) -> Result<(), CheckoutError> {
    let well_formed = payment_method.starts_with("pm_")
        && (4..=255).contains(&payment_method.len())
        && payment_method
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_');
    if !well_formed {
        return Err(CheckoutError::invalid_cart(format!(
            "paymentMethod {} is not a Stripe PaymentMethod id (pm_...); card numbers are never accepted",
            quoted(payment_method)
        )));
    }
    Ok(())
}

fn check_address(address: &Address) -> Result<(), CheckoutError> {
    let required = [
        ("name", &address.name),
        ("line1", &address.line1),
        ("city", &address.city),
        ("postalCode", &address.postal_code),
    ];
    for (field, value) in required {
        if value.trim().is_empty() || value.len() > 200 {
            return Err(CheckoutError::invalid_cart(format!(
                "shippingAddress.{field} must be 1 to 200 characters"
            )));
        }
    }
    let country = address.country.as_bytes();
    if country.len() != 2 || !country.iter().all(u8::is_ascii_uppercase) {
        return Err(CheckoutError::invalid_cart(format!(
            "shippingAddress.country {} is not a two-letter ISO 3166 code",
            quoted(&address.country)
        )));
    }
    Ok(())
}

/// Quotes user text for a message, escaping control and look-alike characters so logs stay readable.
fn quoted(text: &str) -> String {
    let shown: String = text.chars().take(80).collect();
    format!("{:?}", shown)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::money::Money;
    use serde_json::json;

    fn eur() -> Currency {
        Currency::parse("EUR").expect("valid")
    }

    fn request() -> CheckoutRequest {
        CheckoutRequest::from_value(&json!({
            "customer": {"id": "cus_1", "email": "ada@example.com"},
            "currency": "EUR",
            "items": [{"sku": "TSHIRT-RED-M", "quantity": 2}, {"sku": "MUG-BLACK", "quantity": 1}],
            "paymentMethod": "pm_card_visa"
        }))
        .expect("valid request")
    }

    fn products() -> Vec<Product> {
        vec![
            Product::new("TSHIRT-RED-M", "T-shirt", Money::new(1999, eur()), true),
            Product::new("MUG-BLACK", "Mug", Money::new(999, eur()), true),
            Product::new("OLD", "Old", Money::new(100, eur()), false),
            Product::new(
                "USD-ONLY",
                "Dollar thing",
                Money::new(100, Currency::parse("USD").expect("ok")),
                true,
            ),
        ]
    }

    fn invalid(result: Result<ValidCart, CheckoutError>) -> String {
        match result {
            Err(CheckoutError::InvalidCart(message)) => message,
            other => panic!("expected InvalidCart, got {other:?}"),
        }
    }

    #[test]
    fn a_good_cart_is_valid() {
        let cart = validate(&request(), &products(), None).expect("valid");
        assert_eq!(cart.items.len(), 2);
        assert_eq!(
            cart.items[0],
            CartLine {
                sku: "TSHIRT-RED-M".into(),
                quantity: 2
            }
        );
        assert_eq!(cart.currency, eur());
    }

    #[test]
    fn quantities_must_be_between_1_and_99() {
        for quantity in [0, -1, 100, i64::MAX] {
            let mut r = request();
            r.items[0].quantity = quantity;
            let message = invalid(validate(&r, &products(), None));
            assert!(message.contains("quantity"), "{message}");
        }
        for quantity in [1, 99] {
            let mut r = request();
            r.items[0].quantity = quantity;
            assert!(validate(&r, &products(), None).is_ok());
        }
    }

    #[test]
    fn the_cart_needs_between_1_and_50_lines() {
        let mut r = request();
        r.items.clear();
        assert!(invalid(validate(&r, &products(), None)).contains("no items"));
        r.items = (0..51)
            .map(|i| LineRequest {
                sku: format!("SKU-{i}"),
                quantity: 1,
            })
            .collect();
        assert!(invalid(validate(&r, &products(), None)).contains("at most 50"));
    }

    #[test]
    fn a_sku_appears_once() {
        let mut r = request();
        r.items[1].sku = "TSHIRT-RED-M".into();
        assert!(invalid(validate(&r, &products(), None)).contains("more than once"));
    }

    #[test]
    fn skus_must_be_known_active_and_in_the_cart_currency() {
        for (sku, expected) in [
            ("NOPE", "not in the catalog"),
            ("OLD", "no longer sold"),
            ("USD-ONLY", "priced in USD"),
        ] {
            let mut r = request();
            r.items[0].sku = sku.into();
            let message = invalid(validate(&r, &products(), None));
            assert!(message.contains(expected), "{sku}: {message}");
            assert!(message.contains(sku), "the message names the SKU: {message}");
        }
    }

    #[test]
    fn unicode_look_alikes_and_control_characters_are_not_skus() {
        for sku in [
            "TSHIRT-RЕD-M",
            "MUG\u{200B}BLACK",
            "",
            "A B",
            "x\ny",
            &"A".repeat(65),
        ] {
            let mut r = request();
            r.items[0].sku = sku.to_string();
            let message = invalid(validate(&r, &products(), None));
            assert!(message.contains("items[0].sku"), "{message}");
        }
    }

    #[test]
    fn payment_method_must_be_a_payment_method_id() {
        for method in ["4242424242424242", "card_123", "pm_", "pm_a b"] {
            let mut r = request();
            r.payment_method = method.into();
            assert!(invalid(validate(&r, &products(), None)).contains("paymentMethod"));
        }
    }

    #[test]
    fn email_and_customer_id_are_checked() {
        for email in [
            "",
            "ada",
            "ada@",
            "@example.com",
            "ada@example",
            "a da@example.com",
        ] {
            let mut r = request();
            r.customer.email = email.into();
            assert!(
                invalid(validate(&r, &products(), None)).contains("customer.email"),
                "{email}"
            );
        }
        let mut r = request();
        r.customer.id = " ".into();
        assert!(invalid(validate(&r, &products(), None)).contains("customer.id"));
    }

    #[test]
    fn unknown_discount_codes_are_rejected() {
        let mut r = request();
        r.discount_code = Some("NOPE".into());
        assert!(invalid(validate(&r, &products(), None)).contains("does not exist"));
    }

    #[test]
    fn a_fixed_discount_must_be_in_the_cart_currency() {
        let mut r = request();
        r.discount_code = Some("TENUSD".into());
        let usd = Currency::parse("USD").expect("ok");
        let discount = Discount::amount_off("TENUSD", Money::new(1000, usd), None);
        assert!(invalid(validate(&r, &products(), Some(&discount))).contains("USD"));
    }

    #[test]
    fn malformed_requests_name_the_problem() {
        for (value, expected) in [
            (json!([]), "JSON object"),
            (
                json!({"customer": {"id": "c", "email": "a@b.c"}}),
                "missing field",
            ),
            (
                json!({"customer": {"id": "c", "email": "a@b.c"}, "currency": "EUR", "items": [],
                       "paymentMethod": "pm_card_visa", "coupon": "X"}),
                "unknown field `coupon`",
            ),
            (
                json!({"customer": {"id": "c", "email": "a@b.c"}, "currency": "EUR",
                       "items": [{"sku": "A", "quantity": "2"}], "paymentMethod": "pm_card_visa"}),
                "invalid type",
            ),
        ] {
            match CheckoutRequest::from_value(&value) {
                Err(CheckoutError::InvalidCart(message)) => assert!(message.contains(expected), "{message}"),
                other => panic!("expected InvalidCart for {value}, got {other:?}"),
            }
        }
    }

    #[test]
    fn shipping_country_is_two_letters() {
        let mut r = request();
        r.shipping_address = Some(Address {
            name: "Ada".into(),
            line1: "1 Rue".into(),
            line2: None,
            city: "Paris".into(),
            postal_code: "75001".into(),
            country: "France".into(),
            state: None,
        });
        assert!(invalid(validate(&r, &products(), None)).contains("country"));
    }
}
