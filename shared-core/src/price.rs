//! `Price`: an exact, non-negative decimal with at most 12 digits before the point and 2 after (the
//! tutorial's `DecimalField(max_digits=14, decimal_places=2)`), held as integer cents and always written
//! as a string with two decimals, as Django REST Framework does (`"12.50"`).

use std::fmt;
use std::str::FromStr;

use serde::{de, Deserialize, Deserializer, Serialize, Serializer};

const MAX_WHOLE_DIGITS: usize = 12;
const DECIMAL_PLACES: usize = 2;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Price {
    cents: i64,
}

/// Why a value is not a price; `Display` gives DRF's message for the field.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum PriceError {
    #[error("A valid number is required.")]
    NotANumber,
    #[error("Ensure this value is greater than or equal to 0.")]
    Negative,
    #[error("Ensure that there are no more than 12 digits before the decimal point.")]
    TooManyWholeDigits,
    #[error("Ensure that there are no more than 2 decimal places.")]
    TooManyDecimalPlaces,
}

impl Price {
    pub const MAX_CENTS: i64 = 99_999_999_999_999;
    pub const ZERO: Price = Price { cents: 0 };

    pub fn from_cents(cents: i64) -> Option<Self> {
        (0..=Self::MAX_CENTS).contains(&cents).then_some(Self { cents })
    }

    pub fn cents(self) -> i64 {
        self.cents
    }

    /// A price from a JSON value: a string (`"12.5"`) or a number (`12.5`). A JSON number arrives as an
    /// f64; its shortest round-trip form is exactly the literal the client wrote for every value of at most
    /// 15 significant digits, which covers every valid price (14 digits), so nothing is rounded silently.
    pub fn from_json(value: &serde_json::Value) -> Result<Self, PriceError> {
        match value {
            serde_json::Value::String(text) => text.trim().parse(),
            serde_json::Value::Number(number) => {
                if let Some(i) = number.as_i64() {
                    return i.to_string().parse();
                }
                if let Some(u) = number.as_u64() {
                    return u.to_string().parse();
                }
                match number.as_f64() {
                    Some(f) if f.is_finite() => format!("{f}").parse(),
                    _ => Err(PriceError::NotANumber),
                }
            }
            _ => Err(PriceError::NotANumber),
        }
    }
}

impl FromStr for Price {
    type Err = PriceError;

    /// Accepts `[+-]digits[.digits]` and `.digits`; no exponents, no spaces inside, no `NaN`.
    fn from_str(text: &str) -> Result<Self, PriceError> {
        let (negative, unsigned) = match text.as_bytes().first() {
            Some(b'-') => (true, &text[1..]),
            Some(b'+') => (false, &text[1..]),
            _ => (false, text),
        };
        let (whole, fraction) = unsigned.split_once('.').unwrap_or((unsigned, ""));
        let all_digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
        if (whole.is_empty() && fraction.is_empty()) || !all_digits(whole) || !all_digits(fraction) {
            return Err(PriceError::NotANumber);
        }
        let whole = whole.trim_start_matches('0');
        let fraction_significant = fraction.trim_end_matches('0');
        let is_zero = whole.is_empty() && fraction_significant.is_empty();
        if negative && !is_zero {
            return Err(PriceError::Negative);
        }
        if whole.len() > MAX_WHOLE_DIGITS {
            return Err(PriceError::TooManyWholeDigits);
        }
        if fraction_significant.len() > DECIMAL_PLACES {
            return Err(PriceError::TooManyDecimalPlaces);
        }
        let whole_value: i64 = if whole.is_empty() { 0 } else { whole.parse().map_err(|_| PriceError::NotANumber)? };
        let mut cents_text = fraction_significant.to_owned();
        while cents_text.len() < DECIMAL_PLACES {
            cents_text.push('0');
        }
        let cents_value: i64 = cents_text.parse().map_err(|_| PriceError::NotANumber)?;
        Ok(Self { cents: whole_value * 100 + cents_value })
    }
}

impl fmt::Display for Price {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{:02}", self.cents / 100, self.cents % 100)
    }
}

impl Serialize for Price {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Price {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let value = serde_json::Value::deserialize(deserializer)?;
        Price::from_json(&value).map_err(de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn parse(text: &str) -> Result<String, PriceError> {
        text.parse::<Price>().map(|p| p.to_string())
    }

    #[test]
    fn formats_with_two_decimals() {
        assert_eq!(parse("12.5").unwrap(), "12.50");
        assert_eq!(parse("12").unwrap(), "12.00");
        assert_eq!(parse("0.05").unwrap(), "0.05");
        assert_eq!(parse(".5").unwrap(), "0.50");
        assert_eq!(parse("7.").unwrap(), "7.00");
        assert_eq!(parse("007.10").unwrap(), "7.10");
        assert_eq!(parse("+3").unwrap(), "3.00");
    }

    #[test]
    fn accepts_the_largest_value_and_zero() {
        assert_eq!(parse("999999999999.99").unwrap(), "999999999999.99");
        assert_eq!(parse("0").unwrap(), "0.00");
        assert_eq!(parse("-0.00").unwrap(), "0.00");
        assert_eq!(parse("1.2300").unwrap(), "1.23");
    }

    #[test]
    fn rejects_what_django_rejects() {
        assert_eq!(parse("1000000000000"), Err(PriceError::TooManyWholeDigits));
        assert_eq!(parse("1.234"), Err(PriceError::TooManyDecimalPlaces));
        assert_eq!(parse("-1"), Err(PriceError::Negative));
        for bad in ["", ".", "abc", "1e3", "NaN", "inf", "1,5", "1.2.3", "--1", " 1"] {
            assert_eq!(parse(bad), Err(PriceError::NotANumber), "{bad:?}");
        }
    }

    #[test]
    fn json_numbers_and_strings_are_exact() {
        assert_eq!(Price::from_json(&json!(12.5)).unwrap().to_string(), "12.50");
        assert_eq!(Price::from_json(&json!(0.1)).unwrap().cents(), 10);
        assert_eq!(Price::from_json(&json!(19.99)).unwrap().cents(), 1999);
        assert_eq!(Price::from_json(&json!(999999999999.99)).unwrap().cents(), Price::MAX_CENTS);
        assert_eq!(Price::from_json(&json!(42)).unwrap().to_string(), "42.00");
        assert_eq!(Price::from_json(&json!("3.10")).unwrap().to_string(), "3.10");
        assert_eq!(Price::from_json(&json!(0.125)), Err(PriceError::TooManyDecimalPlaces));
        assert_eq!(Price::from_json(&json!(1e20)), Err(PriceError::TooManyWholeDigits));
        assert_eq!(Price::from_json(&json!(-2)), Err(PriceError::Negative));
        assert_eq!(Price::from_json(&json!(null)), Err(PriceError::NotANumber));
        assert_eq!(Price::from_json(&json!(true)), Err(PriceError::NotANumber));
    }

    #[test]
    fn serde_round_trip_writes_a_string() {
        let price: Price = serde_json::from_str("12.5").unwrap();
        assert_eq!(serde_json::to_string(&price).unwrap(), "\"12.50\"");
        let back: Price = serde_json::from_str("\"12.50\"").unwrap();
        assert_eq!(back, price);
    }

    #[test]
    fn from_cents_bounds() {
        assert!(Price::from_cents(-1).is_none());
        assert!(Price::from_cents(Price::MAX_CENTS + 1).is_none());
        assert_eq!(Price::from_cents(1250).unwrap().to_string(), "12.50");
    }
}
