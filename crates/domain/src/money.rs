//! Money as integer minor units with a currency. Never a float.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::error::CheckoutError;

/// An ISO 4217 currency code: three upper-case ASCII letters.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Currency([u8; 3]);

impl Currency {
    pub fn parse(code: &str) -> Result<Self, CheckoutError> {
        let bytes = code.as_bytes();
        if bytes.len() != 3 || !bytes.iter().all(u8::is_ascii_uppercase) {
            return Err(CheckoutError::InvalidCart(format!(
                "currency {code:?} is not a three-letter upper-case ISO 4217 code"
            )));
        }
        Ok(Self([bytes[0], bytes[1], bytes[2]]))
    }

    pub fn as_str(&self) -> &str {
        // Only ASCII upper-case letters are ever stored, so this cannot fail.
        std::str::from_utf8(&self.0).unwrap_or("???")
    }

    /// Digits after the decimal point in the currency's minor unit (ISO 4217), for display only.
    pub fn exponent(&self) -> u32 {
        match self.as_str() {
            "BIF" | "CLP" | "DJF" | "GNF" | "ISK" | "JPY" | "KMF" | "KRW" | "PYG" | "RWF" | "UGX" | "VND"
            | "VUV" | "XAF" | "XOF" | "XPF" => 0,
            "BHD" | "JOD" | "KWD" | "OMR" | "TND" => 3,
            _ => 2,
        }
    }
}

impl TryFrom<String> for Currency {
    type Error = CheckoutError;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::parse(&value)
    }
}

impl From<Currency> for String {
    fn from(value: Currency) -> Self {
        value.as_str().to_owned()
    }
}

impl fmt::Display for Currency {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl fmt::Debug for Currency {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Currency({})", self.as_str())
    }
}

/// An amount in a currency's minor unit (cents for EUR). Non-negative wherever the domain creates one.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Money {
    pub amount: i64,
    pub currency: Currency,
}

impl Money {
    pub fn new(amount: i64, currency: Currency) -> Self {
        Self { amount, currency }
    }
}

impl fmt::Display for Money {
    /// `49.97 EUR`, `1200 JPY`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let exponent = self.currency.exponent();
        if exponent == 0 {
            return write!(f, "{} {}", self.amount, self.currency);
        }
        let scale = 10_i64.pow(exponent);
        let sign = if self.amount < 0 { "-" } else { "" };
        let abs = self.amount.unsigned_abs();
        let scale_u = scale.unsigned_abs();
        write!(
            f,
            "{sign}{}.{:0width$} {}",
            abs / scale_u,
            abs % scale_u,
            self.currency,
            width = exponent as usize
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn currency_must_be_three_upper_case_letters() {
        assert!(Currency::parse("EUR").is_ok());
        for bad in ["eur", "EU", "EURO", "", "E1R", "ÉUR"] {
            assert!(Currency::parse(bad).is_err(), "{bad:?} accepted");
        }
    }

    #[test]
    fn money_displays_in_major_units_by_exponent() {
        let eur = Currency::parse("EUR").expect("valid");
        let jpy = Currency::parse("JPY").expect("valid");
        let kwd = Currency::parse("KWD").expect("valid");
        assert_eq!(Money::new(4997, eur).to_string(), "49.97 EUR");
        assert_eq!(Money::new(5, eur).to_string(), "0.05 EUR");
        assert_eq!(Money::new(-150, eur).to_string(), "-1.50 EUR");
        assert_eq!(Money::new(1200, jpy).to_string(), "1200 JPY");
        assert_eq!(Money::new(1234, kwd).to_string(), "1.234 KWD");
    }

    #[test]
    fn currency_round_trips_through_json() {
        let eur: Currency = serde_json::from_str("\"EUR\"").expect("valid");
        assert_eq!(serde_json::to_string(&eur).expect("serialises"), "\"EUR\"");
        assert!(serde_json::from_str::<Currency>("\"euro\"").is_err());
    }
}
