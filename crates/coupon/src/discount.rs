//! What a coupon takes off a booking's price. Pure arithmetic on won (minor
//! units), so it is tested exhaustively here and shared by quotes and
//! reservations.

use chrono::{DateTime, Utc};

/// How a coupon discounts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Rule {
    /// `percent` of the price (rounded down), at most `cap` when set.
    Percent { percent: i64, cap: Option<i64> },
    /// A fixed amount, never more than the price.
    Amount(i64),
}

/// The terms a coupon applies under.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Terms {
    pub(crate) rule: Rule,
    pub(crate) min_price: Option<i64>,
    pub(crate) max_price: Option<i64>,
    pub(crate) valid_from: DateTime<Utc>,
    pub(crate) valid_until: DateTime<Utc>,
    /// Only this host's properties; `None` means any.
    pub(crate) host_id: Option<String>,
}

/// Why a coupon does not apply.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(crate) enum NotApplicable {
    #[error("below the minimum booking price of {0}")]
    BelowMinimum(i64),
    #[error("above the maximum booking price of {0}")]
    AboveMaximum(i64),
    #[error("not valid before {0}")]
    NotYetValid(DateTime<Utc>),
    #[error("expired at {0}")]
    Expired(DateTime<Utc>),
    #[error("only for another host's properties")]
    OtherHost,
}

impl Terms {
    /// The discount on `price` for a booking of `host_id`'s property at `now`.
    pub(crate) fn discount(
        &self,
        price: i64,
        host_id: &str,
        now: DateTime<Utc>,
    ) -> Result<i64, NotApplicable> {
        if now < self.valid_from {
            return Err(NotApplicable::NotYetValid(self.valid_from));
        }
        if now >= self.valid_until {
            return Err(NotApplicable::Expired(self.valid_until));
        }
        if let Some(owner) = &self.host_id
            && owner != host_id
        {
            return Err(NotApplicable::OtherHost);
        }
        if let Some(min) = self.min_price
            && price < min
        {
            return Err(NotApplicable::BelowMinimum(min));
        }
        if let Some(max) = self.max_price
            && price > max
        {
            return Err(NotApplicable::AboveMaximum(max));
        }
        let discount = match self.rule {
            // i128: a price near i64::MAX times 100 must not overflow.
            Rule::Percent { percent, cap } => {
                // At most the price (percent <= 100), so it fits back in an i64.
                let raw =
                    i64::try_from(i128::from(price) * i128::from(percent) / 100).unwrap_or(price);
                cap.map_or(raw, |cap| raw.min(cap))
            }
            Rule::Amount(amount) => amount,
        };
        Ok(discount.clamp(0, price.max(0)))
    }
}

#[cfg(test)]
mod tests {
    use chrono::Duration;

    use super::*;

    fn terms(rule: Rule) -> Terms {
        let now = Utc::now();
        Terms {
            rule,
            min_price: None,
            max_price: None,
            valid_from: now - Duration::days(1),
            valid_until: now + Duration::days(1),
            host_id: None,
        }
    }

    #[test]
    fn percent_rounds_down_and_respects_the_cap() {
        let ten = terms(Rule::Percent {
            percent: 10,
            cap: None,
        });
        assert_eq!(ten.discount(123_456, "h", Utc::now()), Ok(12_345));
        assert_eq!(ten.discount(9, "h", Utc::now()), Ok(0));
        let capped = terms(Rule::Percent {
            percent: 10,
            cap: Some(5_000),
        });
        assert_eq!(capped.discount(40_000, "h", Utc::now()), Ok(4_000));
        assert_eq!(capped.discount(50_000, "h", Utc::now()), Ok(5_000));
        assert_eq!(capped.discount(900_000, "h", Utc::now()), Ok(5_000));
        let all = terms(Rule::Percent {
            percent: 100,
            cap: None,
        });
        assert_eq!(all.discount(77_000, "h", Utc::now()), Ok(77_000));
        assert_eq!(
            all.discount(i64::MAX, "h", Utc::now()),
            Ok(i64::MAX),
            "no overflow"
        );
    }

    #[test]
    fn amounts_never_exceed_the_price() {
        let off = terms(Rule::Amount(10_000));
        assert_eq!(off.discount(50_000, "h", Utc::now()), Ok(10_000));
        assert_eq!(off.discount(10_000, "h", Utc::now()), Ok(10_000));
        assert_eq!(off.discount(7_000, "h", Utc::now()), Ok(7_000));
        assert_eq!(off.discount(0, "h", Utc::now()), Ok(0));
    }

    #[test]
    fn price_bounds_are_inclusive() {
        let mut bounded = terms(Rule::Amount(1_000));
        bounded.min_price = Some(50_000);
        bounded.max_price = Some(300_000);
        assert_eq!(
            bounded.discount(49_999, "h", Utc::now()),
            Err(NotApplicable::BelowMinimum(50_000))
        );
        assert_eq!(bounded.discount(50_000, "h", Utc::now()), Ok(1_000));
        assert_eq!(bounded.discount(300_000, "h", Utc::now()), Ok(1_000));
        assert_eq!(
            bounded.discount(300_001, "h", Utc::now()),
            Err(NotApplicable::AboveMaximum(300_000))
        );
    }

    #[test]
    fn validity_window_and_host() {
        let mut t = terms(Rule::Amount(1_000));
        let now = Utc::now();
        assert_eq!(
            t.discount(10_000, "h", t.valid_until),
            Err(NotApplicable::Expired(t.valid_until))
        );
        assert_eq!(
            t.discount(10_000, "h", t.valid_from - Duration::seconds(1)),
            Err(NotApplicable::NotYetValid(t.valid_from))
        );
        assert_eq!(t.discount(10_000, "h", t.valid_from), Ok(1_000));
        t.host_id = Some("host-a".into());
        assert_eq!(t.discount(10_000, "host-a", now), Ok(1_000));
        assert_eq!(
            t.discount(10_000, "host-b", now),
            Err(NotApplicable::OtherHost)
        );
    }
}
