//! Admission tokens: `<payload>.<mac>`, both base64url, the payload naming
//! the event, the user, the ticket and the expiry, the MAC an HMAC-SHA256
//! under the service's secret (`platform::signature`). The signature makes
//! a token unforgeable and ties it to one user and event; that it is still live and unspent is
//! Redis's to say (`line::VERIFY`), so a token is single-use.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, Utc};
use staymesh_platform::signature;
use uuid::Uuid;

/// What a token says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Claims {
    pub(crate) event_id: Uuid,
    pub(crate) user_id: String,
    pub(crate) ticket_id: Uuid,
    pub(crate) expires: DateTime<Utc>,
}

/// Signs and checks tokens with one secret.
#[derive(Clone)]
pub(crate) struct Signer {
    key: Vec<u8>,
}

impl std::fmt::Debug for Signer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Signer(..)")
    }
}

impl Signer {
    pub(crate) fn new(secret: &str) -> Self {
        Self {
            key: secret.as_bytes().to_vec(),
        }
    }

    pub(crate) fn sign(&self, claims: &Claims) -> String {
        let payload = format!(
            "v1|{}|{}|{}|{}",
            claims.event_id,
            claims.user_id,
            claims.ticket_id,
            claims.expires.timestamp_millis()
        );
        format!(
            "{}.{}",
            URL_SAFE_NO_PAD.encode(&payload),
            signature::sign(&self.key, payload.as_bytes())
        )
    }

    /// The claims of a token this service signed; `None` for anything else.
    pub(crate) fn read(&self, token: &str) -> Option<Claims> {
        let (payload, signature) = token.split_once('.')?;
        let payload = URL_SAFE_NO_PAD.decode(payload).ok()?;
        if !signature::verify(&self.key, &payload, signature) {
            return None;
        }
        let payload = String::from_utf8(payload).ok()?;
        let mut fields = payload.split('|');
        if fields.next()? != "v1" {
            return None;
        }
        let event_id = Uuid::parse_str(fields.next()?).ok()?;
        let user_id = fields.next()?.to_owned();
        let ticket_id = Uuid::parse_str(fields.next()?).ok()?;
        let expires = DateTime::from_timestamp_millis(fields.next()?.parse().ok()?)?;
        fields.next().is_none().then_some(Claims {
            event_id,
            user_id,
            ticket_id,
            expires,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_signed_token_reads_back_and_a_changed_one_does_not() {
        let signer = Signer::new("secret");
        let claims = Claims {
            event_id: Uuid::now_v7(),
            user_id: Uuid::now_v7().to_string(),
            ticket_id: Uuid::now_v7(),
            expires: DateTime::from_timestamp_millis(1_800_000_000_123).unwrap(),
        };
        let token = signer.sign(&claims);
        assert_eq!(signer.read(&token), Some(claims.clone()));
        assert_eq!(Signer::new("other").read(&token), None);
        let (payload, mac) = token.split_once('.').unwrap();
        let forged = URL_SAFE_NO_PAD.encode(
            String::from_utf8(URL_SAFE_NO_PAD.decode(payload).unwrap())
                .unwrap()
                .replace("1800000000123", "1900000000123"),
        );
        assert_eq!(signer.read(&format!("{forged}.{mac}")), None);
        for junk in ["", ".", "abc", "a.b", &format!("{payload}.")] {
            assert_eq!(signer.read(junk), None, "{junk}");
        }
    }
}
