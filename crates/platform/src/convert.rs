//! Conversions between the wire types every service's contracts share and
//! the domain's, with the validation that goes with them: money, ids,
//! timestamps, dates in Korea and page tokens. Violations name the request field.

use base64::Engine;
use chrono::{DateTime, Datelike, FixedOffset, NaiveDate, Utc};
use staymesh_proto::common;
use uuid::Uuid;

use crate::error::FieldViolations;

/// Prices are in Korean won; other currencies are refused rather than mixed.
pub const CURRENCY: &str = "KRW";
/// Page size when a list call gives 0.
pub const DEFAULT_PAGE_SIZE: i64 = 20;
/// Largest page a list call may ask for.
pub const MAX_PAGE_SIZE: i64 = 100;

/// A `google.protobuf.Timestamp` of a UTC instant.
pub fn timestamp(at: DateTime<Utc>) -> prost_types::Timestamp {
    prost_types::Timestamp {
        seconds: at.timestamp(),
        nanos: at.timestamp_subsec_nanos() as i32,
    }
}

/// Reads an amount of won, recording a violation for another currency or a negative amount.
pub fn won(
    value: Option<&common::Money>,
    field: &str,
    violations: &mut FieldViolations,
) -> Option<i64> {
    let Some(m) = value else {
        violations.add(field, "is required");
        return None;
    };
    if !m.currency.is_empty() && m.currency != CURRENCY {
        violations.add(format!("{field}.currency"), "only KRW is supported");
        return None;
    }
    if m.amount < 0 {
        violations.add(format!("{field}.amount"), "must not be negative");
        return None;
    }
    Some(m.amount)
}

/// Today in Korea (UTC+9), which is when a night starts for a guest.
#[allow(
    clippy::expect_used,
    reason = "9 hours is within a day, so the offset exists"
)]
pub fn today() -> NaiveDate {
    let kst = FixedOffset::east_opt(9 * 3600).expect("UTC+9 is a valid offset");
    Utc::now().with_timezone(&kst).date_naive()
}

/// Reads a required date field, recording a violation when missing or impossible.
pub fn date(
    value: Option<&common::Date>,
    field: &str,
    violations: &mut FieldViolations,
) -> Option<NaiveDate> {
    let Some(d) = value else {
        violations.add(field, "is required (year, month, day)");
        return None;
    };
    let parsed = u32::try_from(d.month)
        .ok()
        .zip(u32::try_from(d.day).ok())
        .and_then(|(m, day)| NaiveDate::from_ymd_opt(d.year, m, day));
    if parsed.is_none() {
        violations.add(
            field,
            format!("{:04}-{:02}-{:02} is not a date", d.year, d.month, d.day),
        );
    }
    parsed
}

pub fn to_proto_date(d: NaiveDate) -> common::Date {
    common::Date {
        year: d.year(),
        month: d.month() as i32,
        day: d.day() as i32,
    }
}

/// An amount of won on the wire.
pub fn money(amount: i64) -> common::Money {
    common::Money {
        amount,
        currency: CURRENCY.to_owned(),
    }
}

/// Parses an id field, recording a violation when it is not a UUID.
pub fn id(value: &str, field: &str, violations: &mut FieldViolations) -> Option<Uuid> {
    if value.is_empty() {
        violations.add(field, "is required");
        return None;
    }
    match Uuid::parse_str(value) {
        Ok(id) => Some(id),
        Err(_) => {
            violations.add(field, "is not a valid id (UUID)");
            None
        }
    }
}

/// Parses one required id field: a missing or malformed id is INVALID_ARGUMENT
/// naming the field.
pub fn require_id(value: &str, field: &str) -> Result<Uuid, FieldViolations> {
    let mut violations = FieldViolations::new();
    match id(value, field, &mut violations) {
        Some(parsed) => Ok(parsed),
        None => Err(violations),
    }
}

/// One page of a list call: how many rows and from where, read from the
/// request's `page_size` and opaque `page_token`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Page {
    pub limit: i64,
    pub offset: i64,
}

impl Page {
    /// Reads `page_size` (0: the default, else 1 to 100) and `page_token`,
    /// recording violations of either.
    pub fn parse(page_size_value: i32, token: &str, violations: &mut FieldViolations) -> Self {
        Self {
            limit: page_size(page_size_value, violations),
            offset: page_offset(token, violations),
        }
    }

    /// Rows to fetch: one more than the page holds, to learn whether another follows.
    pub fn fetch(&self) -> i64 {
        self.limit + 1
    }

    /// The page's rows out of the `fetch()` fetched, and the next page's
    /// token (empty on the last page).
    pub fn finish<T>(&self, mut rows: Vec<T>) -> (Vec<T>, String) {
        let limit = usize::try_from(self.limit).unwrap_or(usize::MAX);
        if rows.len() > limit {
            rows.truncate(limit);
            (rows, page_token(self.offset + self.limit))
        } else {
            (rows, String::new())
        }
    }
}

/// Page size: 0 means the default; otherwise 1 to 100.
pub fn page_size(value: i32, violations: &mut FieldViolations) -> i64 {
    match i64::from(value) {
        0 => DEFAULT_PAGE_SIZE,
        n if (1..=MAX_PAGE_SIZE).contains(&n) => n,
        _ => {
            violations.add(
                "page_size",
                format!("must be between 1 and {MAX_PAGE_SIZE}"),
            );
            DEFAULT_PAGE_SIZE
        }
    }
}

/// Page tokens are opaque to callers: an offset, base64url-encoded.
pub fn page_offset(token: &str, violations: &mut FieldViolations) -> i64 {
    if token.is_empty() {
        return 0;
    }
    let offset = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(token)
        .ok()
        .and_then(|bytes| String::from_utf8(bytes).ok())
        .and_then(|text| text.strip_prefix("o:").and_then(|n| n.parse::<i64>().ok()))
        .filter(|n| *n >= 0);
    offset.unwrap_or_else(|| {
        violations.add("page_token", "is not a token this service issued");
        0
    })
}

/// The token of the page that starts at `offset`.
pub fn page_token(offset: i64) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(format!("o:{offset}"))
}

/// The instant of a timestamp, or `None` when it is out of range.
pub fn datetime(t: &prost_types::Timestamp) -> Option<DateTime<Utc>> {
    DateTime::from_timestamp(t.seconds, u32::try_from(t.nanos).ok()?)
}

/// Reads a required timestamp field, recording a violation when missing or impossible.
pub fn from_timestamp(
    value: Option<&prost_types::Timestamp>,
    field: &str,
    violations: &mut FieldViolations,
) -> Option<DateTime<Utc>> {
    let Some(t) = value else {
        violations.add(field, "is required");
        return None;
    };
    let parsed = datetime(t);
    if parsed.is_none() {
        violations.add(field, "is not a valid timestamp");
    }
    parsed
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn page_tokens_round_trip_and_reject_garbage() {
        let mut v = FieldViolations::new();
        assert_eq!(page_offset(&page_token(40), &mut v), 40);
        assert!(v.is_empty());
        page_offset("garbage!", &mut v);
        assert_eq!(
            v.iter().next().map(|f| f.field.as_str()),
            Some("page_token")
        );
    }

    #[test]
    fn page_sizes_are_bounded() {
        let mut v = FieldViolations::new();
        assert_eq!(page_size(0, &mut v), DEFAULT_PAGE_SIZE);
        assert_eq!(page_size(100, &mut v), 100);
        assert!(v.is_empty());
        page_size(101, &mut v);
        page_size(-1, &mut v);
        assert_eq!(v.iter().count(), 2);
    }

    #[test]
    fn a_page_trims_the_extra_row_and_points_past_itself() {
        let mut v = FieldViolations::new();
        let page = Page::parse(2, &page_token(4), &mut v);
        assert_eq!(page.fetch(), 3);
        let (rows, next) = page.finish(vec![1, 2, 3]);
        assert_eq!(rows, [1, 2]);
        assert_eq!(page_offset(&next, &mut v), 6);
        assert_eq!(page.finish(vec![1, 2]), (vec![1, 2], String::new()));
        assert!(v.is_empty());
    }

    #[test]
    fn ids_name_their_field_and_never_default() {
        let error = require_id("not-a-uuid", "event_id").expect_err("refused");
        assert_eq!(
            error.iter().next().map(|f| f.field.as_str()),
            Some("event_id")
        );
        assert!(require_id("", "event_id").is_err());
    }
}
