//! HMAC-SHA256 signatures as base64url text: what the queue service's
//! admission tokens and the review images' upload grants are signed with,
//! checked in constant time.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, Mac};
use sha2::Sha256;

fn mac(secret: &[u8], message: &[u8]) -> Hmac<Sha256> {
    // An HMAC takes a key of any length.
    let mut mac = Hmac::<Sha256>::new_from_slice(secret).unwrap_or_else(|_| unreachable!());
    mac.update(message);
    mac
}

/// The signature of `message` under `secret`, base64url without padding.
pub fn sign(secret: &[u8], message: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(mac(secret, message).finalize().into_bytes())
}

/// Whether `signature` (base64url) is `message`'s under `secret`.
pub fn verify(secret: &[u8], message: &[u8], signature: &str) -> bool {
    URL_SAFE_NO_PAD
        .decode(signature)
        .is_ok_and(|bytes| mac(secret, message).verify_slice(&bytes).is_ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_signature_verifies_only_for_its_message_and_secret() {
        let signature = sign(b"secret", b"message");
        assert!(verify(b"secret", b"message", &signature));
        assert!(!verify(b"other", b"message", &signature));
        assert!(!verify(b"secret", b"messagE", &signature));
        assert!(!verify(b"secret", b"message", "not base64!"));
    }
}
