//! Conversions between the wire types every service's contracts share and
//! the domain's, with the validation that goes with them: money, ids,
//! timestamps and page tokens. Violations name the request field.

use base64::Engine;
use chrono::{DateTime, Utc};
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
