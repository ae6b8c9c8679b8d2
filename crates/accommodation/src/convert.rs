//! Conversions between the wire types and the domain's, with the validation
//! that goes with them: dates, stays, money, ids, page tokens.

use chrono::{Duration, NaiveDate};
use staymesh_platform::FieldViolations;
use staymesh_proto::common;

pub(crate) use staymesh_platform::convert::{
    date, from_timestamp, id, money, page_token, timestamp, to_proto_date, today, won,
};

/// The calendar reaches at most this many nights ahead, and one SetCalendar
/// or GetCalendar call covers at most this many nights.
pub(crate) const MAX_CALENDAR_NIGHTS: i64 = 365;
/// The longest stay a search or hold accepts.
pub(crate) const MAX_STAY_NIGHTS: i64 = 30;

/// A half-open range of nights [start, end).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Nights {
    pub(crate) start: NaiveDate,
    pub(crate) end: NaiveDate,
}

impl Nights {
    pub(crate) fn count(&self) -> i64 {
        (self.end - self.start).num_days()
    }
}

/// Validates [start, end): present, ordered, at most `max` nights long, and
/// (when `from_today`) not in the past.
pub(crate) fn nights(
    start: Option<&common::Date>,
    end: Option<&common::Date>,
    (start_field, end_field): (&str, &str),
    max: i64,
    from_today: bool,
    violations: &mut FieldViolations,
) -> Option<Nights> {
    let start = date(start, start_field, violations);
    let end = date(end, end_field, violations);
    let (start, end) = (start?, end?);
    if end <= start {
        violations.add(end_field, format!("must be after {start_field}"));
        return None;
    }
    let count = (end - start).num_days();
    if count > max {
        violations.add(
            end_field,
            format!("the range is {count} nights; at most {max} are allowed"),
        );
        return None;
    }
    if from_today {
        let today = today();
        if start < today {
            violations.add(start_field, format!("must not be before today ({today})"));
            return None;
        }
        if end > today + Duration::days(MAX_CALENDAR_NIGHTS + 1) {
            violations.add(end_field, "must be within a year from today");
            return None;
        }
    }
    Some(Nights { start, end })
}

/// A guest's stay: check-in and check-out, at most `MAX_STAY_NIGHTS` nights.
pub(crate) fn stay(
    check_in: Option<&common::Date>,
    check_out: Option<&common::Date>,
    violations: &mut FieldViolations,
) -> Option<Nights> {
    nights(
        check_in,
        check_out,
        ("check_in", "check_out"),
        MAX_STAY_NIGHTS,
        false,
        violations,
    )
}

/// Reads a range message as nights.
pub(crate) fn range(
    value: Option<&common::DateRange>,
    field: &str,
    max: i64,
    from_today: bool,
    violations: &mut FieldViolations,
) -> Option<Nights> {
    let Some(r) = value else {
        violations.add(field, "is required");
        return None;
    };
    nights(
        r.start.as_ref(),
        r.end.as_ref(),
        (&format!("{field}.start"), &format!("{field}.end")),
        max,
        from_today,
        violations,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(year: i32, month: i32, day: i32) -> common::Date {
        common::Date { year, month, day }
    }

    #[test]
    fn reversed_empty_and_long_ranges_are_refused() {
        let cases = [
            (Some(d(2030, 1, 2)), Some(d(2030, 1, 1)), "check_out"),
            (Some(d(2030, 1, 2)), Some(d(2030, 1, 2)), "check_out"),
            (Some(d(2030, 1, 1)), Some(d(2030, 3, 1)), "check_out"),
            (Some(d(2030, 2, 30)), Some(d(2030, 3, 1)), "check_in"),
            (None, Some(d(2030, 3, 1)), "check_in"),
        ];
        for (check_in, check_out, field) in cases {
            let mut v = FieldViolations::new();
            assert!(stay(check_in.as_ref(), check_out.as_ref(), &mut v).is_none());
            let fields: Vec<_> = v.iter().map(|f| f.field.as_str()).collect();
            assert_eq!(fields, [field], "{check_in:?} - {check_out:?}");
        }
        let mut v = FieldViolations::new();
        let ok = stay(Some(&d(2030, 1, 1)), Some(&d(2030, 1, 31)), &mut v);
        assert_eq!(ok.map(|n| n.count()), Some(30));
    }
}
