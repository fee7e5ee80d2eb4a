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

use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Serialize};

/// An amount of money: hundredths (cents) of a currency. Amounts come from the cloud as
/// decimal strings with at most two decimals; [`Money::parse`] refuses anything else
/// rather than rounding (money fails closed).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
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

impl Money {
    /// The amount with an explicit sign, for a change: `+USD 800.00`, `-USD 100.00`,
    /// `USD 0.00`.
    #[must_use]
    pub fn signed(&self) -> String {
        let sign = match self.cents {
            c if c > 0 => "+",
            c if c < 0 => "-",
            _ => "",
        };
        format!(
            "{sign}{} {}",
            self.currency,
            format_cents(i64::try_from(self.cents.unsigned_abs()).unwrap_or(i64::MAX))
        )
    }

    /// Just the decimal amount (`800.00`, `-0.05`), as JSON documents carry it.
    #[must_use]
    pub fn amount(&self) -> String {
        format_cents(self.cents)
    }
}

impl fmt::Display for Money {
    /// `USD 100.00`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.currency, format_cents(self.cents))
    }
}

/// What an order or a spec change costs, as the cloud quoted it before anything is
/// ordered (foasconsole `QueryCreateInstancePrice`). Read by `Provider::quote`, kept in the
/// plan next to the action it prices, shown by every plan rendering.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Price {
    /// What is charged after discounts (`TradeAmount`): the whole term of a subscription,
    /// one hour of a pay-as-you-go reservation, or one month of a quota change.
    pub amount: Money,
    /// The list price before discounts (`OriginalAmount`).
    pub list: Money,
    /// What `amount` pays for.
    pub term: PriceTerm,
    /// How much the monthly bill changes: a subscription's term amount divided by its
    /// months (rounded to the cent, half away from zero); a quota change's monthly price of
    /// the CU added (positive) or released (negative); `None` for pay-as-you-go, which is
    /// billed by the CU-hours used.
    pub monthly: Option<Money>,
}

/// What a [`Price`]'s amount pays for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PriceTerm {
    /// A subscription term of this many months (a year is twelve).
    Months(u32),
    /// One hour of pay-as-you-go (usage billed on top).
    Hour,
    /// One month of a quota change of a running subscription (what the rest of the current
    /// term costs at the change is not quoted).
    QuotaChangePerMonth,
}

impl PriceTerm {
    /// In words: `for 1 month`, `for 12 months`, `per hour (pay-as-you-go, usage billed on
    /// top)`, `per month (quota change)`.
    #[must_use]
    pub fn describe(self) -> String {
        match self {
            Self::Months(1) => "for 1 month".to_owned(),
            Self::Months(n) => format!("for {n} months"),
            Self::Hour => "per hour (pay-as-you-go, usage billed on top)".to_owned(),
            Self::QuotaChangePerMonth => "per month (quota change)".to_owned(),
        }
    }
}

impl Price {
    /// `amount` for a subscription of `months` months, with its monthly share.
    #[must_use]
    pub fn subscription(amount: Money, list: Money, months: u32) -> Self {
        let monthly = Money {
            cents: div_round(amount.cents, i64::from(months.max(1))),
            currency: amount.currency.clone(),
        };
        Self {
            amount,
            list,
            term: PriceTerm::Months(months),
            monthly: Some(monthly),
        }
    }

    /// In words: `USD 800.00 for 1 month` (with the list price when a discount applies).
    #[must_use]
    pub fn describe(&self) -> String {
        let mut s = format!("{} {}", self.amount, self.term.describe());
        if self.list.cents != self.amount.cents && self.list.currency == self.amount.currency {
            s.push_str(&format!(" (list price {})", self.list));
        }
        s
    }
}

/// `a / b` rounded half away from zero (`b` > 0).
fn div_round(a: i64, b: i64) -> i64 {
    let q = a / b;
    let r = a % b;
    if 2 * r.abs() >= b { q + a.signum() } else { q }
}

/// The sum of `prices`' monthly changes, one amount per currency (sorted by currency);
/// empty when none has one.
#[must_use]
pub fn monthly_total<'a>(prices: impl IntoIterator<Item = &'a Price>) -> Vec<Money> {
    let mut sums: BTreeMap<&str, i64> = BTreeMap::new();
    for m in prices.into_iter().filter_map(|p| p.monthly.as_ref()) {
        let e = sums.entry(m.currency.as_str()).or_default();
        *e = e.saturating_add(m.cents);
    }
    sums.into_iter()
        .map(|(currency, cents)| Money {
            cents,
            currency: currency.to_owned(),
        })
        .collect()
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
    fn prices_describe_themselves_and_sum_per_currency() {
        let usd = |c: i64| Money {
            cents: c,
            currency: "USD".into(),
        };
        let year = Price::subscription(usd(816_000), usd(960_000), 12);
        assert_eq!(year.monthly, Some(usd(68_000)));
        assert_eq!(
            year.describe(),
            "USD 8160.00 for 12 months (list price USD 9600.00)"
        );
        // Rounded half away from zero, never truncated.
        assert_eq!(
            Price::subscription(usd(100), usd(100), 3).monthly,
            Some(usd(33))
        );
        assert_eq!(
            Price::subscription(usd(200), usd(200), 3).monthly,
            Some(usd(67))
        );
        let payg = Price {
            amount: usd(0),
            list: usd(0),
            term: PriceTerm::Hour,
            monthly: None,
        };
        let cny = Price::subscription(
            Money::parse("700", "CNY").unwrap(),
            Money::parse("700", "CNY").unwrap(),
            1,
        );
        let total = monthly_total([&year, &payg, &cny, &year]);
        assert_eq!(
            total,
            vec![Money::parse("700", "CNY").unwrap(), usd(136_000)]
        );
        assert_eq!(total[1].signed(), "+USD 1360.00");
        assert_eq!(usd(-5).signed(), "-USD 0.05");
        assert_eq!(usd(0).signed(), "USD 0.00");
        assert!(monthly_total([&payg]).is_empty());
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
