//! Sign-up and profile rules: what an email, a password, a name and a phone
//! number must look like. Each rule names the field it guards.

use staymesh_platform::FieldViolations;

/// Longest accepted password; Argon2 would take more, but nobody types it.
const MAX_PASSWORD_CHARS: usize = 128;
const MIN_PASSWORD_CHARS: usize = 10;
const MAX_NAME_CHARS: usize = 50;
/// RFC 5321's limit on a forward path.
const MAX_EMAIL_BYTES: usize = 254;

/// The canonical (lower-cased, trimmed) email, or a violation on `field`.
pub(crate) fn email(text: &str, field: &str, violations: &mut FieldViolations) -> String {
    let email = text.trim().to_lowercase();
    let problem = if email.is_empty() {
        Some("is required")
    } else if email.len() > MAX_EMAIL_BYTES {
        Some("must be at most 254 characters")
    } else if !looks_like_email(&email) {
        Some("is not an email address")
    } else {
        None
    };
    if let Some(problem) = problem {
        violations.add(field, problem);
    }
    email
}

/// `local@domain.tld`: one `@`, no spaces or control characters, a dot in the
/// domain that neither starts nor ends it. Deliverability is the mail
/// server's business, not ours.
fn looks_like_email(email: &str) -> bool {
    let Some((local, domain)) = email.split_once('@') else {
        return false;
    };
    !local.is_empty()
        && !domain.contains('@')
        && domain.contains('.')
        && !domain.starts_with('.')
        && !domain.ends_with('.')
        && !domain.contains("..")
        && !email.chars().any(|c| c.is_whitespace() || c.is_control())
}

/// At least 10 characters, at most 128, and not all of one class (lower-case
/// letters, upper-case letters, digits, everything else).
pub(crate) fn password(text: &str, field: &str, violations: &mut FieldViolations) {
    let chars = text.chars().count();
    if chars < MIN_PASSWORD_CHARS {
        violations.add(field, "must be at least 10 characters");
    } else if chars > MAX_PASSWORD_CHARS {
        violations.add(field, "must be at most 128 characters");
    } else if classes(text) < 2 {
        violations.add(
            field,
            "must mix at least two of: lower-case letters, upper-case letters, digits, symbols",
        );
    }
}

fn classes(text: &str) -> usize {
    let mut seen = [false; 4];
    for c in text.chars() {
        let class = if c.is_lowercase() {
            0
        } else if c.is_uppercase() {
            1
        } else if c.is_numeric() {
            2
        } else {
            3
        };
        seen[class] = true;
    }
    seen.iter().filter(|s| **s).count()
}

/// A display name: 1 to 50 characters after trimming, no control characters.
pub(crate) fn name(text: &str, field: &str, violations: &mut FieldViolations) -> String {
    let name = text.trim().to_owned();
    let chars = name.chars().count();
    if chars == 0 {
        violations.add(field, "is required");
    } else if chars > MAX_NAME_CHARS {
        violations.add(field, "must be at most 50 characters");
    } else if name.chars().any(char::is_control) {
        violations.add(field, "must not contain control characters");
    }
    name
}

/// An E.164 number (`+` and 8 to 15 digits), or nothing when `text` is empty.
pub(crate) fn phone(text: &str, field: &str, violations: &mut FieldViolations) -> Option<String> {
    let phone = text.trim();
    if phone.is_empty() {
        return None;
    }
    let digits = phone.strip_prefix('+').unwrap_or("");
    let ok = (8..=15).contains(&digits.len())
        && digits.bytes().all(|b| b.is_ascii_digit())
        && !digits.starts_with('0');
    if !ok {
        violations.add(field, "must be E.164, like +821012345678");
    }
    Some(phone.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fields(check: impl FnOnce(&mut FieldViolations)) -> Vec<String> {
        let mut v = FieldViolations::new();
        check(&mut v);
        v.iter().map(|v| v.description.clone()).collect()
    }

    #[test]
    fn emails_are_lower_cased_and_checked() {
        let mut v = FieldViolations::new();
        assert_eq!(
            email("  Kim@Example.COM ", "email", &mut v),
            "kim@example.com"
        );
        assert!(v.is_empty());
        for bad in [
            "",
            "kim",
            "kim@",
            "@example.com",
            "kim@example",
            "kim@@example.com",
            "kim lee@example.com",
            "kim@.example.com",
            "kim@example.com.",
        ] {
            let mut v = FieldViolations::new();
            email(bad, "email", &mut v);
            assert!(!v.is_empty(), "{bad:?} accepted");
        }
        let long = format!("{}@example.com", "a".repeat(250));
        assert_eq!(
            fields(|v| {
                email(&long, "email", v);
            }),
            ["must be at most 254 characters"]
        );
    }

    #[test]
    fn passwords_need_length_and_two_classes() {
        for ok in [
            "correcthorse9",
            "Correcthorsebattery",
            "비밀번호는열글자이상1",
            "aaaaaaaaa!",
        ] {
            assert!(
                fields(|v| password(ok, "password", v)).is_empty(),
                "{ok} refused"
            );
        }
        assert_eq!(
            fields(|v| password("Short1", "password", v)),
            ["must be at least 10 characters"]
        );
        assert_eq!(
            fields(|v| password(&"aB".repeat(65), "password", v)),
            ["must be at most 128 characters"]
        );
        for one_class in ["alllowercase", "ALLUPPERCASE", "0123456789", "!@#$%^&*()_+"] {
            assert_eq!(
                fields(|v| password(one_class, "password", v)).len(),
                1,
                "{one_class}"
            );
        }
    }

    #[test]
    fn names_and_phones() {
        assert!(
            fields(|v| {
                name("  김민수 ", "name", v);
            })
            .is_empty()
        );
        assert_eq!(
            fields(|v| {
                name("   ", "name", v);
            }),
            ["is required"]
        );
        assert_eq!(
            fields(|v| {
                name(&"가".repeat(51), "name", v);
            })
            .len(),
            1
        );
        assert_eq!(
            fields(|v| {
                name("a\u{7}b", "name", v);
            })
            .len(),
            1
        );
        let mut v = FieldViolations::new();
        assert_eq!(phone("", "phone", &mut v), None);
        assert_eq!(
            phone("+821012345678", "phone", &mut v).as_deref(),
            Some("+821012345678")
        );
        assert!(v.is_empty());
        for bad in ["01012345678", "+82-10-1234", "+0123456789", "+1234567"] {
            assert_eq!(
                fields(|v| {
                    phone(bad, "phone", v);
                })
                .len(),
                1,
                "{bad}"
            );
        }
    }
}
