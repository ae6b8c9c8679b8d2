//! The point service's own settings, from `STAYMESH_*` variables.

use std::time::Duration;

use staymesh_platform::config::parse_duration;

/// How points are earned, expired and cached.
#[derive(Debug, Clone, clap::Args)]
pub struct PointArgs {
    /// Share of the paid amount a completed stay earns, in percent (up to two
    /// decimals, e.g. 1 or 1.5); rounded down to whole points.
    #[arg(long, env = "STAYMESH_POINT_EARN_PERCENT", default_value = "1", value_parser = parse_percent)]
    pub point_earn_percent: BasisPoints,

    /// How often the expiry job looks for lots whose expiry has passed.
    #[arg(long, env = "STAYMESH_POINT_EXPIRE_EVERY", default_value = "1m", value_parser = parse_duration)]
    pub point_expire_every: Duration,

    /// How long a cached first page of history may live in Redis (every
    /// write to the user invalidates it at once; this only bounds memory).
    #[arg(long, env = "STAYMESH_POINT_HISTORY_CACHE_TTL", default_value = "5m", value_parser = parse_duration)]
    pub point_history_cache_ttl: Duration,
}

/// A share in hundredths of a percent (100 = 1%).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BasisPoints(pub u32);

impl BasisPoints {
    /// The share of `amount`, rounded down.
    pub fn of(self, amount: i64) -> i64 {
        // i128: no overflow for any amount of won.
        let share = i128::from(amount) * i128::from(self.0) / 10_000;
        i64::try_from(share).unwrap_or(i64::MAX)
    }
}

/// Reads "1", "1.5" or "0.25" (percent, 0 to 100, at most two decimals).
fn parse_percent(text: &str) -> Result<BasisPoints, String> {
    let bad = || format!("{text:?} is not a percentage from 0 to 100 with at most two decimals");
    let (whole, fraction) = text.trim().split_once('.').unwrap_or((text.trim(), ""));
    if whole.is_empty() || fraction.len() > 2 || !fraction.chars().all(|c| c.is_ascii_digit()) {
        return Err(bad());
    }
    let whole: u32 = whole.parse().map_err(|_| bad())?;
    let fraction: u32 = format!("{fraction:0<2}").parse().map_err(|_| bad())?;
    let basis = whole
        .checked_mul(100)
        .and_then(|w| w.checked_add(fraction))
        .ok_or_else(bad)?;
    if basis > 10_000 {
        return Err(bad());
    }
    Ok(BasisPoints(basis))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentages_read_to_basis_points_and_round_down() {
        assert_eq!(parse_percent("1"), Ok(BasisPoints(100)));
        assert_eq!(parse_percent("1.5"), Ok(BasisPoints(150)));
        assert_eq!(parse_percent("0.25"), Ok(BasisPoints(25)));
        assert_eq!(parse_percent("100"), Ok(BasisPoints(10_000)));
        for bad in ["", "-1", "1.234", "101", "abc", "1.x"] {
            assert!(parse_percent(bad).is_err(), "{bad}");
        }
        assert_eq!(BasisPoints(100).of(123_456), 1_234);
        assert_eq!(BasisPoints(150).of(99), 1);
        assert_eq!(BasisPoints(100).of(99), 0);
    }
}
