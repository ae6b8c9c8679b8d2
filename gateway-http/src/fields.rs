//! Setting request fields from URL strings (path variables and query parameters).
//!
//! Each string is turned into the JSON a proto3 JSON client would have sent for that
//! field and handed to prost-reflect's JSON decoder, so URL values accept exactly
//! what JSON bodies accept (enum names or numbers, RFC 3339 timestamps, base64
//! bytes, 64-bit integers), plus two conveniences of the URL: `true`/`false`/`1`/`0`
//! for booleans and `YYYY-MM-DD` for date messages.

use prost_reflect::{DynamicMessage, FieldDescriptor, Kind, MessageDescriptor};
use serde_json::{Value as Json, json};

/// Messages shaped like `google.type.Date` that accept `YYYY-MM-DD`.
const DATE_MESSAGES: [&str; 2] = ["staymesh.common.v1.Date", "google.type.Date"];

/// Well-known types whose JSON form is a single string (or number).
const STRING_SHAPED_WKT: [&str; 11] = [
    "google.protobuf.Timestamp",
    "google.protobuf.Duration",
    "google.protobuf.FieldMask",
    "google.protobuf.StringValue",
    "google.protobuf.BytesValue",
    "google.protobuf.Int32Value",
    "google.protobuf.Int64Value",
    "google.protobuf.UInt32Value",
    "google.protobuf.UInt64Value",
    "google.protobuf.FloatValue",
    "google.protobuf.DoubleValue",
];

/// Whether a message type is set from one URL string rather than field by field.
pub(crate) fn is_scalar_like(message: &MessageDescriptor) -> bool {
    let name = message.full_name();
    DATE_MESSAGES.contains(&name)
        || STRING_SHAPED_WKT.contains(&name)
        || name == "google.protobuf.BoolValue"
}

/// Whether a message type is a date that accepts `YYYY-MM-DD`.
pub(crate) fn is_date(message: &MessageDescriptor) -> bool {
    DATE_MESSAGES.contains(&message.full_name())
}

/// Resolves `a.b.c` (proto or JSON names) to fields; every step but the last must
/// be a singular message field.
pub(crate) fn resolve_path(
    message: &MessageDescriptor,
    dotted: &str,
) -> Result<Vec<FieldDescriptor>, String> {
    let mut current = message.clone();
    let mut path = Vec::new();
    let mut parts = dotted.split('.').peekable();
    while let Some(part) = parts.next() {
        let field = current
            .get_field_by_name(part)
            .or_else(|| current.get_field_by_json_name(part))
            .ok_or_else(|| format!("no field `{part}` in {}", current.full_name()))?;
        if parts.peek().is_some() {
            match field.kind() {
                Kind::Message(m) if !field.is_list() && !field.is_map() => current = m,
                _ => return Err(format!("`{part}` is not a singular message field")),
            }
        }
        path.push(field);
    }
    Ok(path)
}

/// Sets the field at `path` from one string, or several for a repeated field;
/// intermediate messages are created as needed. A path value replaces any value
/// the body gave the same field.
pub(crate) fn set_from_strings(
    message: &mut DynamicMessage,
    path: &[FieldDescriptor],
    raw: &[String],
) -> Result<(), String> {
    let Some((leaf, parents)) = path.split_last() else {
        return Err("empty field path".to_owned());
    };
    if leaf.is_map() {
        return Err("map fields cannot be set from the URL".to_owned());
    }
    let json = if leaf.is_list() {
        let items: Result<Vec<Json>, String> =
            raw.iter().map(|r| scalar_json(&leaf.kind(), r)).collect();
        Json::Array(items?)
    } else {
        match raw {
            [one] => scalar_json(&leaf.kind(), one)?,
            _ => return Err("given more than once but is not repeated".to_owned()),
        }
    };
    // Decode `{leaf: json}` as the leaf's own message, then move the value over.
    let holder =
        DynamicMessage::deserialize(leaf.parent_message().clone(), json!({ leaf.name(): json }))
            .map_err(|e| format!("invalid value {}: {e}", raw.join(", ")))?;
    let mut target = message;
    for parent in parents {
        target = target
            .get_field_mut(parent)
            .as_message_mut()
            .ok_or_else(|| format!("`{}` is not a message field", parent.name()))?;
    }
    let mut holder = holder;
    let value = holder
        .take_field(leaf)
        .unwrap_or_else(|| leaf.default_value());
    target.set_field(leaf, value);
    Ok(())
}

/// The proto3 JSON value a client would have sent for one element of `kind`.
fn scalar_json(kind: &Kind, raw: &str) -> Result<Json, String> {
    Ok(match kind {
        Kind::Bool => Json::Bool(parse_bool(raw)?),
        Kind::Enum(_) => raw
            .parse::<i32>()
            .map_or_else(|_| Json::String(raw.to_owned()), Json::from),
        Kind::Message(m) if is_date(m) => {
            let (year, month, day) = parse_date(raw)?;
            json!({ "year": year, "month": month, "day": day })
        }
        Kind::Message(m) if m.full_name() == "google.protobuf.BoolValue" => {
            Json::Bool(parse_bool(raw)?)
        }
        Kind::Message(m) if STRING_SHAPED_WKT.contains(&m.full_name()) => {
            Json::String(raw.to_owned())
        }
        Kind::Message(m) => {
            return Err(format!(
                "{} cannot be given as one URL value; set its fields with dotted names",
                m.full_name()
            ));
        }
        // proto3 JSON accepts every number as a string too, and bytes as base64.
        _ => Json::String(raw.to_owned()),
    })
}

fn parse_bool(raw: &str) -> Result<bool, String> {
    match raw {
        "true" | "1" => Ok(true),
        "false" | "0" => Ok(false),
        _ => Err(format!("expected true or false, got `{raw}`")),
    }
}

/// Parses a valid calendar date `YYYY-MM-DD`.
pub(crate) fn parse_date(raw: &str) -> Result<(i32, u32, u32), String> {
    let bad = || format!("expected a date YYYY-MM-DD, got `{raw}`");
    let mut parts = raw.split('-');
    let (Some(y), Some(m), Some(d), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(bad());
    };
    let digits = |s: &str, n: usize| s.len() == n && s.bytes().all(|b| b.is_ascii_digit());
    if !(digits(y, 4) && digits(m, 2) && digits(d, 2)) {
        return Err(bad());
    }
    let (year, month, day): (i32, u32, u32) = (
        y.parse().map_err(|_| bad())?,
        m.parse().map_err(|_| bad())?,
        d.parse().map_err(|_| bad())?,
    );
    let leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
    let days_in_month = match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if leap => 29,
        2 => 28,
        _ => return Err(format!("month {month} out of range in `{raw}`")),
    };
    if day == 0 || day > days_in_month {
        return Err(format!("day {day} out of range in `{raw}`"));
    }
    Ok((year, month, day))
}

#[cfg(test)]
mod tests {
    use super::parse_date;

    #[test]
    fn dates() {
        assert_eq!(parse_date("2026-12-24"), Ok((2026, 12, 24)));
        assert_eq!(parse_date("2028-02-29"), Ok((2028, 2, 29)));
        for bad in [
            "2026-13-40",
            "2026-02-29",
            "2026-1-01",
            "20261224",
            "2026-12-24-1",
            "x",
        ] {
            assert!(parse_date(bad).is_err(), "{bad}");
        }
    }
}
