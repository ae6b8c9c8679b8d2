//! JSON Web Tokens as staymesh uses them: EdDSA (Ed25519) signatures, a `kid`
//! naming the key, and the caller in the claims. The user service signs; every
//! service verifies with public keys from configuration or from the user
//! service's JWKS, so keys rotate without downtime: a new key signs, old keys
//! keep verifying until their tokens expire, then leave the set.

use std::collections::HashMap;
use std::sync::RwLock;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};

use super::{AuthError, Caller, Role, TokenVerifier};

/// The `iss` of every staymesh token.
pub const ISSUER: &str = "staymesh";

/// What an access token says about its bearer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Claims {
    /// The user id.
    pub sub: String,
    /// GUEST, HOST or ADMIN.
    pub role: String,
    pub iss: String,
    /// Issued at, seconds since the epoch.
    pub iat: i64,
    /// Expires at, seconds since the epoch.
    pub exp: i64,
    /// A unique token id.
    pub jti: String,
}

/// An Ed25519 public key and its id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PublicKey {
    pub kid: String,
    /// The 32-byte public key, base64url without padding (a JWK's `x`).
    pub x: String,
}

/// An Ed25519 signing key and its id.
#[derive(Clone)]
pub struct SigningKey {
    kid: String,
    key: ed25519_dalek::SigningKey,
}

impl std::fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SigningKey")
            .field("kid", &self.kid)
            .finish_non_exhaustive()
    }
}

impl SigningKey {
    /// A fresh random key.
    pub fn generate(kid: impl Into<String>) -> Self {
        let seed: [u8; 32] = rand::random();
        Self::from_seed(kid, seed)
    }

    /// The key of a 32-byte secret seed.
    pub fn from_seed(kid: impl Into<String>, seed: [u8; 32]) -> Self {
        Self {
            kid: kid.into(),
            key: ed25519_dalek::SigningKey::from_bytes(&seed),
        }
    }

    /// Reads `kid:base64url-seed` (how keys travel in configuration).
    pub fn parse(text: &str) -> Result<Self, AuthError> {
        let (kid, seed) = text
            .split_once(':')
            .ok_or_else(|| AuthError::Invalid("a signing key is `kid:base64url-seed`".into()))?;
        let seed: [u8; 32] = URL_SAFE_NO_PAD
            .decode(seed.trim())
            .ok()
            .and_then(|bytes| bytes.try_into().ok())
            .ok_or_else(|| {
                AuthError::Invalid(format!("key {kid}: the seed is not 32 bytes of base64url"))
            })?;
        Ok(Self::from_seed(kid, seed))
    }

    /// `kid:base64url-seed`, the form `parse` reads.
    pub fn to_config(&self) -> String {
        format!(
            "{}:{}",
            self.kid,
            URL_SAFE_NO_PAD.encode(self.key.to_bytes())
        )
    }

    pub fn kid(&self) -> &str {
        &self.kid
    }

    /// The public half, for verifiers and the JWKS.
    pub fn public_key(&self) -> PublicKey {
        PublicKey {
            kid: self.kid.clone(),
            x: URL_SAFE_NO_PAD.encode(self.key.verifying_key().to_bytes()),
        }
    }

    /// Signs `claims` as a compact JWT with this key's `kid`.
    pub fn sign(&self, claims: &Claims) -> Result<String, AuthError> {
        use ed25519_dalek::pkcs8::EncodePrivateKey;
        let der = self
            .key
            .to_pkcs8_der()
            .map_err(|e| AuthError::Invalid(format!("signing key: {e}")))?;
        let mut header = Header::new(Algorithm::EdDSA);
        header.kid = Some(self.kid.clone());
        jsonwebtoken::encode(&header, claims, &EncodingKey::from_ed_der(der.as_bytes()))
            .map_err(|e| AuthError::Invalid(format!("signing: {e}")))
    }
}

/// Verifies staymesh access tokens against a replaceable set of public keys.
#[derive(Debug)]
pub struct JwtVerifier {
    keys: RwLock<HashMap<String, DecodingKey>>,
    validation: Validation,
    /// Woken when a token names a key not in the set, so the JWKS refresher
    /// can fetch early.
    unknown_kid: tokio::sync::Notify,
}

impl JwtVerifier {
    /// A verifier trusting `keys`.
    pub fn new(keys: &[PublicKey]) -> Result<Self, AuthError> {
        // Only EdDSA: `alg: none` and algorithm confusion are refused outright.
        let mut validation = Validation::new(Algorithm::EdDSA);
        validation.set_issuer(&[ISSUER]);
        validation.set_required_spec_claims(&["exp", "iat", "sub", "iss"]);
        validation.leeway = 5;
        let verifier = Self {
            keys: RwLock::new(HashMap::new()),
            validation,
            unknown_kid: tokio::sync::Notify::new(),
        };
        verifier.replace_keys(keys)?;
        Ok(verifier)
    }

    /// Swaps the trusted keys (after a JWKS refresh); a key left out is no
    /// longer accepted.
    pub fn replace_keys(&self, keys: &[PublicKey]) -> Result<(), AuthError> {
        let mut decoded = HashMap::new();
        for key in keys {
            let decoding = DecodingKey::from_ed_components(&key.x)
                .map_err(|e| AuthError::Invalid(format!("key {}: {e}", key.kid)))?;
            decoded.insert(key.kid.clone(), decoding);
        }
        let mut current = self.keys.write().unwrap_or_else(|e| e.into_inner());
        *current = decoded;
        Ok(())
    }

    /// The ids of the trusted keys.
    pub fn kids(&self) -> Vec<String> {
        let keys = self.keys.read().unwrap_or_else(|e| e.into_inner());
        let mut kids: Vec<String> = keys.keys().cloned().collect();
        kids.sort();
        kids
    }

    /// Completes when a token named an unknown key.
    pub async fn unknown_kid_seen(&self) {
        self.unknown_kid.notified().await;
    }

    /// Verifies a token and returns its claims.
    pub fn claims(&self, token: &str) -> Result<Claims, AuthError> {
        let header = jsonwebtoken::decode_header(token)
            .map_err(|e| AuthError::Invalid(format!("malformed token: {e}")))?;
        if header.alg != Algorithm::EdDSA {
            return Err(AuthError::Invalid(format!(
                "algorithm {:?} is not accepted",
                header.alg
            )));
        }
        let kid = header
            .kid
            .ok_or_else(|| AuthError::Invalid("the token has no kid".into()))?;
        let keys = self.keys.read().unwrap_or_else(|e| e.into_inner());
        let Some(key) = keys.get(&kid) else {
            self.unknown_kid.notify_one();
            return Err(AuthError::Invalid(format!("unknown signing key {kid}")));
        };
        jsonwebtoken::decode::<Claims>(token, key, &self.validation)
            .map(|data| data.claims)
            .map_err(|e| match e.kind() {
                jsonwebtoken::errors::ErrorKind::ExpiredSignature => AuthError::Expired,
                _ => AuthError::Invalid(e.to_string()),
            })
    }
}

impl TokenVerifier for JwtVerifier {
    fn is_ready(&self) -> bool {
        !self
            .keys
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .is_empty()
    }

    fn verify(&self, token: &str) -> Result<Caller, AuthError> {
        let claims = self.claims(token)?;
        let role = Role::parse(&claims.role)
            .ok_or_else(|| AuthError::Invalid(format!("unknown role {}", claims.role)))?;
        Ok(Caller {
            user_id: claims.sub,
            role,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn claims(exp_in: i64) -> Claims {
        let now = chrono::Utc::now().timestamp();
        Claims {
            sub: "u1".into(),
            role: "HOST".into(),
            iss: ISSUER.into(),
            iat: now,
            exp: now + exp_in,
            jti: "j1".into(),
        }
    }

    #[test]
    fn signed_tokens_verify_and_forgeries_do_not() {
        let key = SigningKey::generate("k1");
        let verifier = JwtVerifier::new(&[key.public_key()]).expect("verifier");
        let token = key.sign(&claims(60)).expect("sign");
        let caller = verifier.verify(&token).expect("valid");
        assert_eq!((caller.user_id.as_str(), caller.role), ("u1", Role::Host));

        // Another key with the same kid: the signature does not match.
        let forger = SigningKey::generate("k1");
        let forged = forger.sign(&claims(60)).expect("sign");
        assert!(matches!(
            verifier.verify(&forged),
            Err(AuthError::Invalid(_))
        ));

        // Expired.
        let expired = key.sign(&claims(-60)).expect("sign");
        assert_eq!(verifier.verify(&expired), Err(AuthError::Expired));

        // Unknown kid.
        let other = SigningKey::generate("k2").sign(&claims(60)).expect("sign");
        assert!(matches!(verifier.verify(&other), Err(AuthError::Invalid(m)) if m.contains("k2")));

        // alg: none, with the payload of the valid token.
        let payload = token.split('.').nth(1).expect("payload");
        let none = format!(
            "{}.{payload}.",
            URL_SAFE_NO_PAD.encode(r#"{"alg":"none","typ":"JWT","kid":"k1"}"#)
        );
        assert!(verifier.verify(&none).is_err());

        // A rotated-out key stops verifying.
        verifier
            .replace_keys(&[SigningKey::generate("k3").public_key()])
            .expect("rotate");
        assert!(verifier.verify(&token).is_err());
    }

    #[test]
    fn keys_round_trip_through_configuration() {
        let key = SigningKey::generate("2026-11");
        let parsed = SigningKey::parse(&key.to_config()).expect("parse");
        assert_eq!(parsed.public_key(), key.public_key());
        assert!(SigningKey::parse("nokid").is_err());
        assert!(SigningKey::parse("k:short").is_err());
    }
}
