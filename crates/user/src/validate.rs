//! How sign-up and profile fields are stored. What an email, a password, a name
//! and a phone number must look like is in the contract (`user.proto`'s
//! `buf.validate` rules), checked before a handler runs; here they are only
//! put into their stored form.

/// The canonical email: trimmed and lower-cased.
pub(crate) fn email(text: &str) -> String {
    text.trim().to_lowercase()
}

/// A display name as stored: trimmed.
pub(crate) fn name(text: &str) -> String {
    text.trim().to_owned()
}

/// A phone number as stored: trimmed, or nothing when empty.
pub(crate) fn phone(text: &str) -> Option<String> {
    let phone = text.trim();
    (!phone.is_empty()).then(|| phone.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_are_stored_trimmed_and_emails_lower_cased() {
        assert_eq!(email("  Kim@Example.COM "), "kim@example.com");
        assert_eq!(name("  김민수 "), "김민수");
        assert_eq!(phone(" +821012345678 ").as_deref(), Some("+821012345678"));
        assert_eq!(phone("  "), None);
    }
}
