//! Money: the pay-as-you-go balance rule and amounts in hundredths (cents).
//!
//! [`payg_minimum_cents`] is the one rule of how much available balance a pay-as-you-go
//! workspace order needs. The planner (the plan-time precondition and the reason it shows)
//! and the executor (the re-check right before the order) both call it with the currency
//! the account reports, so plan and apply cannot disagree; expansion does not know the
//! account's currency (only a read tells it) and so states no amount of its own.
//!
//! Where the amounts come from: USD 100 is what the international activation guide states
//! ("a balance of at least USD 100 or the equivalent value in vouchers or coupons", seed 000).
//! The China-site guide (seed 001, 开通流程) states no balance requirement at all; CNY 700 is
//! flinkform's own figure, USD 100 at roughly 7 CNY per USD, and the emulator refuses a
//! pay-as-you-go order below it (`specs/cloud-api.md`). It is not a published number.

use std::fmt;

/// An amount of money: hundredths (cents) of a currency. Amounts come from the cloud as
/// decimal strings with at most two decimals; [`Money::parse`] refuses anything else
/// rather than rounding (money fails closed).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Money {
    /// Hundredths of `currency` (may be negative: a balance can be overdrawn).
    pub cents: i64,
    /// `USD`, `CNY`, ….
    pub currency: String,
}

impl Money {
    /// `amount` (`"100.00"`, `"-11.19"`) of `currency`; `None` when the amount is not a
    /// decimal with at most two decimals.
    #[must_use]
    pub fn parse(amount: &str, currency: &str) -> Option<Self> {
        Some(Self {
            cents: parse_cents(amount)?,
            currency: currency.to_owned(),
        })
    }

    /// The least balance a pay-as-you-go order needs in this money's currency
    /// ([`payg_minimum_cents`]), as money.
    #[must_use]
    pub fn payg_minimum(&self) -> Option<Self> {
        payg_minimum_cents(&self.currency).map(|cents| Self {
            cents,
            currency: self.currency.clone(),
        })
    }
}

impl fmt::Display for Money {
    /// `USD 100.00`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.currency, format_cents(self.cents))
    }
}

/// Least available balance for a pay-as-you-go workspace order, in cents of `currency`
/// (`USD` 100.00, `CNY` 700.00); `None` for a currency flinkform has no rule for.
#[must_use]
pub fn payg_minimum_cents(currency: &str) -> Option<i64> {
    match currency {
        "USD" => Some(10_000),
        "CNY" => Some(70_000),
        _ => None,
    }
}

/// `4210` → `"42.10"`, `-5` → `"-0.05"`.
#[must_use]
pub fn format_cents(cents: i64) -> String {
    let sign = if cents < 0 { "-" } else { "" };
    let a = cents.unsigned_abs();
    format!("{sign}{}.{:02}", a / 100, a % 100)
}

/// A decimal amount with at most two decimals and an optional sign (`"100"`, `"100.5"`,
/// `"-11.19"`) → cents; `None` for anything else: a third decimal is refused, never
/// rounded or truncated.
#[must_use]
pub fn parse_cents(s: &str) -> Option<i64> {
    let s = s.trim();
    let (negative, s) = match s.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, s),
    };
    let (whole, frac) = s.split_once('.').unwrap_or((s, ""));
    if whole.is_empty() || !whole.chars().all(|c| c.is_ascii_digit()) {
        return None;
    }
    if frac.len() > 2 || !frac.chars().all(|c| c.is_ascii_digit()) {
        return None;
    }
    let whole: i64 = whole.parse().ok()?;
    let frac: i64 = if frac.is_empty() {
        0
    } else {
        format!("{frac:0<2}").parse().ok()?
    };
    let cents = whole.checked_mul(100)?.checked_add(frac)?;
    Some(if negative { -cents } else { cents })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn money_parses_displays_and_knows_its_minimum() {
        let m = Money::parse("99.50", "USD").unwrap();
        assert_eq!(m.to_string(), "USD 99.50");
        assert_eq!(m.payg_minimum().unwrap().to_string(), "USD 100.00");
        assert!(m < m.payg_minimum().unwrap());
        assert_eq!(Money::parse("0.999", "USD"), None);
        assert_eq!(Money::parse("5", "EUR").unwrap().payg_minimum(), None);
    }

    #[test]
    fn the_payg_minimum_per_currency() {
        assert_eq!(payg_minimum_cents("USD"), Some(10_000));
        assert_eq!(payg_minimum_cents("CNY"), Some(70_000));
        assert_eq!(payg_minimum_cents("EUR"), None);
        assert_eq!(payg_minimum_cents(""), None);
    }

    #[test]
    fn amounts_round_trip() {
        assert_eq!(format_cents(10_050), "100.50");
        assert_eq!(format_cents(-5), "-0.05");
        assert_eq!(format_cents(0), "0.00");
        assert_eq!(parse_cents("100.00"), Some(10_000));
        assert_eq!(parse_cents("100"), Some(10_000));
        assert_eq!(parse_cents("100.5"), Some(10_050));
        assert_eq!(parse_cents("-11.19"), Some(-1119));
        assert_eq!(parse_cents("-3"), Some(-300));
        // A third decimal is refused, never truncated (0.999 is not 99 cents).
        for bad in ["", ".5", "1.234", "0.999", "--3", "1e3", "abc", "1,000.00"] {
            assert_eq!(parse_cents(bad), None, "{bad}");
        }
    }
}
