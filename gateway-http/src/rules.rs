//! A field's contract rules (`staymesh_proto::rules`, the same reading the services
//! check requests with) as JSON Schema keywords, so `/openapi.json` states what
//! every service enforces before its handler runs.

use prost_reflect::{FieldDescriptor, Kind as ProtoKind};
use serde_json::{Map, Value, json};
use staymesh_proto::rules::{
    EnumRules, Kind, NumberRules, RepeatedRules, Rules, StringRules, UUID_PATTERN,
};

/// Whether a request must carry the field: it is `required`, or its rules refuse
/// the zero value (what an absent proto3 field decodes to).
pub(crate) fn required(rules: &Rules, field: &FieldDescriptor) -> bool {
    let Some(rules) = rules.of(field) else {
        return false;
    };
    if rules.required {
        return true;
    }
    if rules.ignore_if_zero {
        return false;
    }
    match &rules.kind {
        Some(Kind::String(s)) => {
            s.min_len.is_some_and(|n| n > 0)
                || s.uuid
                || (!s.allowed.is_empty() && !s.allowed.iter().any(String::is_empty))
                || s.pattern.as_ref().is_some_and(|p| !p.is_match(""))
        }
        Some(Kind::Number(n)) => !admits(n, 0.0),
        Some(Kind::Enum(e)) => !e.allows(0),
        Some(Kind::Bool(expected)) => *expected,
        Some(Kind::Repeated(r)) => r.min_items.is_some_and(|n| n > 0),
        None => false,
    }
}

/// Adds the rules of `field` to `schema`, its JSON shape (of the list when repeated).
pub(crate) fn apply(rules: &Rules, field: &FieldDescriptor, schema: &mut Value) {
    let Some(rules) = rules.of(field) else { return };
    let Some(object) = schema.as_object_mut() else {
        return;
    };
    match &rules.kind {
        Some(Kind::Repeated(repeated)) => list_keywords(&field.kind(), repeated, object),
        Some(kind) => {
            let mut keywords = Map::new();
            value_keywords(&field.kind(), kind, object, &mut keywords);
            if rules.ignore_if_zero {
                // The zero value passes; any other value meets the rules.
                let zero = zero_value(object);
                object.insert("anyOf".into(), json!([{ "const": zero }, keywords]));
            } else {
                object.extend(keywords);
            }
        }
        None => {}
    }
}

fn list_keywords(kind: &ProtoKind, rules: &RepeatedRules, object: &mut Map<String, Value>) {
    if let Some(n) = rules.min_items {
        object.insert("minItems".into(), json!(n));
    }
    if let Some(n) = rules.max_items {
        object.insert("maxItems".into(), json!(n));
    }
    if rules.unique {
        object.insert("uniqueItems".into(), json!(true));
    }
    let item_kind = rules.items.as_ref().and_then(|items| items.kind.as_ref());
    if let (Some(item_kind), Some(Value::Object(items))) = (item_kind, object.get_mut("items")) {
        let mut keywords = Map::new();
        value_keywords(kind, item_kind, items, &mut keywords);
        items.extend(keywords);
    }
}

/// The keywords of a single value's rules; `shape` is the value's schema as
/// generated from its type (read, not changed).
fn value_keywords(
    kind: &ProtoKind,
    rules: &Kind,
    shape: &Map<String, Value>,
    out: &mut Map<String, Value>,
) {
    match rules {
        Kind::String(s) => string_keywords(s, out),
        Kind::Number(n) => number_keywords(n, shape, out),
        Kind::Enum(e) => {
            if let ProtoKind::Enum(descriptor) = kind {
                enum_keywords(descriptor, e, out);
            }
        }
        Kind::Bool(expected) => {
            out.insert("const".into(), json!(expected));
        }
        Kind::Repeated(_) => {}
    }
}

fn string_keywords(rules: &StringRules, out: &mut Map<String, Value>) {
    if let Some(n) = rules.min_len {
        out.insert("minLength".into(), json!(n));
    }
    if let Some(n) = rules.max_len {
        out.insert("maxLength".into(), json!(n));
    }
    if let Some(pattern) = &rules.pattern {
        out.insert("pattern".into(), json!(pattern.as_str()));
    }
    if rules.uuid {
        out.insert("format".into(), json!("uuid"));
        // `format` alone is an annotation; the pattern makes it a rule.
        out.insert("pattern".into(), json!(UUID_PATTERN));
    }
    if !rules.allowed.is_empty() {
        out.insert("enum".into(), json!(rules.allowed));
    }
}

fn enum_keywords(
    descriptor: &prost_reflect::EnumDescriptor,
    rules: &EnumRules,
    out: &mut Map<String, Value>,
) {
    out.insert(
        "enum".into(),
        json!(enum_values(descriptor, |n| rules.allows(n))),
    );
}

/// The names, then the numbers, of the values `keep` admits: proto3 JSON takes
/// either.
pub(crate) fn enum_values(
    descriptor: &prost_reflect::EnumDescriptor,
    keep: impl Fn(i32) -> bool,
) -> Vec<Value> {
    let kept: Vec<_> = descriptor.values().filter(|v| keep(v.number())).collect();
    kept.iter()
        .map(|v| json!(v.name()))
        .chain(kept.iter().map(|v| json!(v.number())))
        .collect()
}

fn admits(rules: &NumberRules, n: f64) -> bool {
    rules.gt.is_none_or(|b| n > b)
        && rules.gte.is_none_or(|b| n >= b)
        && rules.lt.is_none_or(|b| n < b)
        && rules.lte.is_none_or(|b| n <= b)
}

fn number_keywords(rules: &NumberRules, shape: &Map<String, Value>, out: &mut Map<String, Value>) {
    if shape.get("type") == Some(&json!("string")) {
        out.insert("pattern".into(), json!(int64_pattern(rules)));
        return;
    }
    let mut bound = |keyword: &str, value: Option<f64>| {
        if let Some(n) = value {
            out.insert(keyword.into(), number(n));
        }
    };
    bound("exclusiveMinimum", rules.gt);
    bound("minimum", rules.gte);
    bound("exclusiveMaximum", rules.lt);
    bound("maximum", rules.lte);
}

/// proto3 JSON writes 64-bit integers as strings, where JSON Schema's
/// bounds do not apply: a contract's bounds on them become a pattern of
/// digits. Lower bounds are "at least 0" or "at least 1" (or, with an upper
/// bound, its negation); an upper bound is exact, digit by digit (18 digits
/// fit an int64).
fn int64_pattern(rules: &NumberRules) -> String {
    let lowest = rules.gte.or(rules.gt.map(|b| b + 1.0));
    let highest = rules.lte.or(rules.lt.map(|b| b - 1.0));
    #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)] // Integral int64 bounds.
    let upper = highest.filter(|h| *h >= 1.0 && *h < 1e18).map(|h| h as u64);
    match (lowest, upper) {
        (Some(b), Some(u)) if b >= 1.0 => format!("^0*(?:{})$", at_most(u, true)),
        (Some(b), Some(u)) if b >= 0.0 => format!("^0*(?:{})$", at_most(u, false)),
        #[allow(clippy::cast_precision_loss)]
        (Some(b), Some(u)) if b == -(u as f64) => format!("^-?0*(?:{})$", at_most(u, false)),
        (Some(b), _) if b >= 1.0 => "^0*[1-9][0-9]{0,17}$".into(),
        (Some(b), _) if b >= 0.0 => "^[0-9]{1,18}$".into(),
        _ => "^-?[0-9]{1,18}$".into(),
    }
}

/// Alternatives matching the numbers up to `bound` without leading zeros
/// (from 1 when `positive`, else from 0).
fn at_most(bound: u64, positive: bool) -> String {
    let digits: Vec<u32> = bound
        .to_string()
        .chars()
        .filter_map(|c| c.to_digit(10))
        .collect();
    let n = digits.len();
    let mut alternatives = Vec::new();
    if n > 1 {
        alternatives.push(if positive {
            format!("[1-9][0-9]{{0,{}}}", n - 2)
        } else {
            format!("[0-9]{{1,{}}}", n - 1)
        });
    }
    // Numbers of the bound's length: equal up to digit i, then smaller there.
    for (i, digit) in digits.iter().enumerate() {
        let lowest = if i == 0 && (n > 1 || positive) { 1 } else { 0 };
        if *digit > lowest {
            let prefix: String = digits[..i].iter().map(u32::to_string).collect();
            let rest = n - i - 1;
            alternatives.push(format!("{prefix}[{lowest}-{}][0-9]{{{rest}}}", digit - 1));
        }
    }
    alternatives.push(bound.to_string());
    alternatives.join("|")
}

/// A bound as JSON: integral bounds as integers (`1`, not `1.0`).
fn number(n: f64) -> Value {
    if n.fract() == 0.0 && n.abs() < 9.0e15 {
        #[allow(clippy::cast_possible_truncation)] // Integral and far below 2^53.
        let n = n as i64;
        json!(n)
    } else {
        json!(n)
    }
}

/// The zero value of a schema's JSON type.
fn zero_value(shape: &Map<String, Value>) -> Value {
    if let Some(first) = shape.get("enum").and_then(|values| values.get(0)) {
        return first.clone();
    }
    match shape.get("type").and_then(Value::as_str) {
        Some("integer" | "number") => json!(0),
        Some("boolean") => json!(false),
        _ => json!(""),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn matches(pattern: &str, text: &str) -> bool {
        regex::Regex::new(pattern).unwrap().is_match(text)
    }

    #[test]
    fn int64_bounds_become_exact_digit_patterns() {
        let rules = |gt, gte, lte| NumberRules {
            gt,
            gte,
            lt: None,
            lte,
        };
        let amount = int64_pattern(&rules(Some(0.0), None, Some(100_000_000.0)));
        for ok in ["1", "99999999", "100000000", "000100000000", "42"] {
            assert!(matches(&amount, ok), "{amount} admits {ok}");
        }
        for bad in ["0", "000", "100000001", "3041676236", "-1", "199999999"] {
            assert!(!matches(&amount, bad), "{amount} refuses {bad}");
        }
        let signed = int64_pattern(&rules(None, Some(-100_000_000.0), Some(100_000_000.0)));
        for ok in ["0", "-100000000", "100000000", "-5"] {
            assert!(matches(&signed, ok), "{signed} admits {ok}");
        }
        assert!(!matches(&signed, "-100000001"));
        let small = int64_pattern(&rules(None, Some(0.0), Some(250.0)));
        for (text, ok) in [
            ("0", true),
            ("250", true),
            ("249", true),
            ("199", true),
            ("251", false),
            ("300", false),
        ] {
            assert_eq!(matches(&small, text), ok, "{small} on {text}");
        }
        assert_eq!(
            int64_pattern(&rules(None, Some(0.0), None)),
            "^[0-9]{1,18}$"
        );
    }
}
