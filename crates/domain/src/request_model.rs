//! The shape of a checkout request as the API accepts it: the request model of
//! `modules/api/schemas/checkout-request.schema.json`, checked the way API Gateway checks it, before a
//! checkout starts. Shape only: the catalog rules (known and active SKUs, currency, discount codes, each
//! SKU once) stay with the cart validation of the saga.

use serde_json::{Map, Value};

/// Checks `body` against the request model; the message names the field (as a JSON pointer).
pub fn check_request(body: &Value) -> Result<(), String> {
    let root = object(body, "")?;
    only(
        root,
        "",
        &[
            "customer",
            "currency",
            "items",
            "discountCode",
            "paymentMethod",
            "shippingAddress",
        ],
    )?;
    let customer = object(required(root, "", "customer")?, "/customer")?;
    only(customer, "/customer", &["id", "email"])?;
    string(required(customer, "/customer", "id")?, "/customer/id", 1, 64)?;
    let email = string(
        required(customer, "/customer", "email")?,
        "/customer/email",
        3,
        254,
    )?;
    if !valid_email(email) {
        return Err("/customer/email: is not an email address".into());
    }
    let currency = string(required(root, "", "currency")?, "/currency", 3, 3)?;
    if !currency.bytes().all(|b| b.is_ascii_uppercase()) {
        return Err("/currency: must be three capital letters (ISO 4217)".into());
    }
    let items = required(root, "", "items")?
        .as_array()
        .ok_or("/items: must be an array")?;
    if items.is_empty() || items.len() > 50 {
        return Err(format!("/items: must have 1 to 50 lines, has {}", items.len()));
    }
    for (i, item) in items.iter().enumerate() {
        let at = format!("/items/{i}");
        let line = object(item, &at)?;
        only(line, &at, &["sku", "quantity"])?;
        let sku = string(required(line, &at, "sku")?, &format!("{at}/sku"), 1, 64)?;
        if !sku
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
        {
            return Err(format!(
                "{at}/sku: only letters, digits, '.', '_' and '-' are allowed"
            ));
        }
        let quantity = required(line, &at, "quantity")?;
        match quantity.as_i64() {
            Some(1..=99) if quantity.is_i64() || quantity.is_u64() => {}
            _ => return Err(format!("{at}/quantity: must be a whole number from 1 to 99")),
        }
    }
    if let Some(code) = root.get("discountCode") {
        let code = string(code, "/discountCode", 1, 64)?.trim();
        if code.is_empty()
            || code.len() > 32
            || !code
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-'))
        {
            return Err("/discountCode: 1 to 32 letters, digits, '_' or '-'".into());
        }
    }
    let method = string(required(root, "", "paymentMethod")?, "/paymentMethod", 4, 255)?;
    let valid_method = method
        .strip_prefix("pm_")
        .is_some_and(|rest| !rest.is_empty() && rest.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_'));
    if !valid_method {
        return Err("/paymentMethod: must be a Stripe PaymentMethod id (pm_...)".into());
    }
    if let Some(address) = root.get("shippingAddress") {
        let at = "/shippingAddress";
        let address = object(address, at)?;
        only(
            address,
            at,
            &["name", "line1", "line2", "city", "postalCode", "country", "state"],
        )?;
        for field in ["name", "line1", "city", "postalCode"] {
            string(required(address, at, field)?, &format!("{at}/{field}"), 1, 200)?;
        }
        for field in ["line2", "state"] {
            if let Some(v) = address.get(field) {
                string(v, &format!("{at}/{field}"), 0, 200)?;
            }
        }
        let country = string(required(address, at, "country")?, &format!("{at}/country"), 2, 2)?;
        if !country.bytes().all(|b| b.is_ascii_uppercase()) {
            return Err(format!("{at}/country: must be two capital letters (ISO 3166)"));
        }
    }
    Ok(())
}

fn object<'a>(value: &'a Value, at: &str) -> Result<&'a Map<String, Value>, String> {
    value
        .as_object()
        .ok_or_else(|| format!("{}: must be an object", pointer(at)))
}

fn pointer(at: &str) -> &str {
    if at.is_empty() { "/" } else { at }
}

fn required<'a>(object: &'a Map<String, Value>, at: &str, field: &str) -> Result<&'a Value, String> {
    object
        .get(field)
        .ok_or_else(|| format!("{at}/{field}: is required"))
}

fn only(object: &Map<String, Value>, at: &str, allowed: &[&str]) -> Result<(), String> {
    match object.keys().find(|k| !allowed.contains(&k.as_str())) {
        Some(unknown) => Err(format!("{}: unknown field {unknown:?}", pointer(at))),
        None => Ok(()),
    }
}

fn string<'a>(value: &'a Value, at: &str, min: usize, max: usize) -> Result<&'a str, String> {
    let s = value.as_str().ok_or_else(|| format!("{at}: must be a string"))?;
    let length = s.chars().count();
    if length < min || length > max {
        return Err(format!("{at}: must be {min} to {max} characters long"));
    }
    Ok(s)
}

/// `^[^@\s]+@[^@\s.][^@\s]*\.[^@\s]*[^@\s.]$`, the model's pattern.
fn valid_email(email: &str) -> bool {
    if email.chars().any(char::is_whitespace) {
        return false;
    }
    let Some((local, domain)) = email.split_once('@') else {
        return false;
    };
    !local.is_empty()
        && !domain.contains('@')
        && domain.contains('.')
        && !domain.starts_with('.')
        && !domain.ends_with('.')
        && domain.rfind('.').is_some_and(|i| i > 0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn valid() -> Value {
        serde_json::from_str(include_str!("../../../examples/carts/happy-path.json")).expect("example")
    }

    #[test]
    fn the_example_carts_pass_and_each_broken_field_is_named() {
        assert_eq!(check_request(&valid()), Ok(()));
        let cases: [(&str, Value, &str); 9] = [
            ("/items", json!([]), "/items: must have 1 to 50"),
            ("/items/0/quantity", json!(0), "/items/0/quantity"),
            ("/items/0/quantity", json!(1.5), "/items/0/quantity"),
            ("/items/0/sku", json!("A B"), "/items/0/sku"),
            ("/currency", json!("eur"), "/currency"),
            ("/customer/email", json!("nobody"), "/customer/email"),
            ("/paymentMethod", json!("4242424242424242"), "/paymentMethod"),
            ("/extra", json!(1), "unknown field \"extra\""),
            ("/customer", json!("x"), "/customer: must be an object"),
        ];
        for (pointer, value, expected) in cases {
            let mut body = valid();
            let (parent, field) = pointer.rsplit_once('/').expect("pointer");
            let target = if parent.is_empty() {
                &mut body
            } else {
                body.pointer_mut(parent).expect("parent")
            };
            match target {
                Value::Object(map) => {
                    map.insert(field.to_owned(), value);
                }
                Value::Array(items) => items[field.parse::<usize>().expect("index")] = value,
                _ => unreachable!(),
            }
            let problem = check_request(&body).expect_err(pointer);
            assert!(problem.contains(expected), "{pointer}: {problem}");
        }
        let mut missing = valid();
        missing.as_object_mut().expect("object").remove("paymentMethod");
        assert_eq!(check_request(&missing), Err("/paymentMethod: is required".into()));
    }
}
