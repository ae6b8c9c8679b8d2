//! The keys that sign access tokens, the tokens themselves, and opaque
//! refresh tokens.
//!
//! Rotation without downtime: configure `new,old`; `new` signs while `old`
//! stays in the JWKS (and verifies) until its last token expires, then it is
//! dropped from the configuration and its tokens stop verifying everywhere.

use std::sync::Arc;
use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, Utc};
use sha2::{Digest, Sha256};
use staymesh_platform::auth::Role;
use staymesh_platform::auth::jwt::{Claims, ISSUER, JwtVerifier, SigningKey};
use staymesh_proto::user as pb;

use crate::error::{Error, Result};

/// The signing key, the keys that only verify, and a verifier for all of them.
#[derive(Debug, Clone)]
pub struct Keyring {
    signing: SigningKey,
    verify_only: Vec<SigningKey>,
    verifier: Arc<JwtVerifier>,
}

impl Keyring {
    /// Keys from `kid:seed,kid:seed` (the first signs). An empty text makes a
    /// random key for this process only.
    pub fn from_config(text: &str) -> Result<Self> {
        let mut keys = text
            .split(',')
            .map(str::trim)
            .filter(|part| !part.is_empty())
            .map(|part| {
                SigningKey::parse(part)
                    .map_err(|e| Error::Signing(format!("STAYMESH_JWT_SIGNING_KEYS: {e}")))
            })
            .collect::<Result<Vec<_>>>()?;
        if keys.is_empty() {
            tracing::warn!(
                "STAYMESH_JWT_SIGNING_KEYS is empty: signing with a random key, so tokens die \
                 with this process and replicas disagree; run `staymesh keygen` for a real key"
            );
            keys.push(SigningKey::generate(format!(
                "dev-{}",
                uuid::Uuid::now_v7().simple()
            )));
        }
        let mut kids: Vec<&str> = keys.iter().map(SigningKey::kid).collect();
        kids.sort_unstable();
        if kids.windows(2).any(|pair| pair[0] == pair[1]) {
            return Err(Error::Signing(
                "STAYMESH_JWT_SIGNING_KEYS names a kid twice".into(),
            ));
        }
        let public: Vec<_> = keys.iter().map(SigningKey::public_key).collect();
        let verifier =
            Arc::new(JwtVerifier::new(&public).map_err(|e| Error::Signing(e.to_string()))?);
        let signing = keys.remove(0);
        Ok(Self {
            signing,
            verify_only: keys,
            verifier,
        })
    }

    /// A verifier that trusts exactly these keys (for this process's services).
    pub fn verifier(&self) -> Arc<JwtVerifier> {
        self.verifier.clone()
    }

    /// The public keys as a JWK Set: the signing key first.
    pub fn jwks(&self) -> Vec<pb::Jwk> {
        std::iter::once(&self.signing)
            .chain(&self.verify_only)
            .map(|key| {
                let public = key.public_key();
                pb::Jwk {
                    kid: public.kid,
                    kty: "OKP".into(),
                    crv: "Ed25519".into(),
                    alg: "EdDSA".into(),
                    r#use: "sig".into(),
                    x: public.x,
                    y: String::new(),
                }
            })
            .collect()
    }

    /// A signed access token for `user_id` acting as `role`, and its expiry.
    pub(crate) fn access_token(
        &self,
        user_id: uuid::Uuid,
        role: Role,
        ttl: Duration,
    ) -> Result<(String, DateTime<Utc>)> {
        let now = Utc::now();
        let expires_at = now + chrono::Duration::from_std(ttl).unwrap_or(chrono::Duration::MAX);
        let claims = Claims {
            sub: user_id.to_string(),
            role: role.as_str().into(),
            iss: ISSUER.into(),
            iat: now.timestamp(),
            exp: expires_at.timestamp(),
            jti: uuid::Uuid::now_v7().to_string(),
        };
        let token = self
            .signing
            .sign(&claims)
            .map_err(|e| Error::Signing(e.to_string()))?;
        Ok((token, expires_at))
    }
}

/// A new opaque refresh token and the hash that is stored in its place.
pub(crate) fn new_refresh_token() -> (String, Vec<u8>) {
    let token = URL_SAFE_NO_PAD.encode(rand::random::<[u8; 32]>());
    let hash = refresh_token_hash(&token);
    (token, hash)
}

/// What the database keys a refresh token by. The token has 256 random bits,
/// so a fast hash is enough: there is nothing to brute-force.
pub(crate) fn refresh_token_hash(token: &str) -> Vec<u8> {
    Sha256::digest(token.as_bytes()).to_vec()
}

#[cfg(test)]
mod tests {
    use staymesh_platform::auth::TokenVerifier;

    use super::*;

    #[test]
    fn the_first_key_signs_and_every_key_verifies() {
        let old = SigningKey::generate("old");
        let new = SigningKey::generate("new");
        let ring = Keyring::from_config(&format!("{},{}", new.to_config(), old.to_config()))
            .expect("keys");
        let jwks = ring.jwks();
        assert_eq!(
            jwks.iter().map(|k| k.kid.as_str()).collect::<Vec<_>>(),
            ["new", "old"]
        );
        let user = uuid::Uuid::now_v7();
        let (token, expires_at) = ring
            .access_token(user, Role::Host, Duration::from_secs(60))
            .expect("sign");
        assert!(expires_at > Utc::now());
        let caller = ring.verifier().verify(&token).expect("verifies");
        assert_eq!(
            (caller.user_id, caller.role),
            (user.to_string(), Role::Host)
        );
        let header = token.split('.').next().expect("header");
        let header = String::from_utf8(URL_SAFE_NO_PAD.decode(header).expect("b64")).expect("utf8");
        assert!(header.contains(r#""kid":"new""#), "{header}");

        // A token of the retired key still verifies while the key is listed.
        let claims = Claims {
            sub: user.to_string(),
            role: "GUEST".into(),
            iss: ISSUER.into(),
            iat: Utc::now().timestamp(),
            exp: Utc::now().timestamp() + 60,
            jti: "j".into(),
        };
        let by_old = old.sign(&claims).expect("sign");
        assert!(ring.verifier().verify(&by_old).is_ok());
    }

    #[test]
    fn bad_configuration_is_refused() {
        assert!(Keyring::from_config("nonsense").is_err());
        let key = SigningKey::generate("k");
        assert!(Keyring::from_config(&format!("{0},{0}", key.to_config())).is_err());
        assert_eq!(Keyring::from_config("").expect("dev key").jwks().len(), 1);
    }

    #[test]
    fn refresh_tokens_are_random_and_stored_hashed() {
        let (a, hash_a) = new_refresh_token();
        let (b, _) = new_refresh_token();
        assert_ne!(a, b);
        assert_eq!(refresh_token_hash(&a), hash_a);
        assert_eq!(hash_a.len(), 32);
    }
}
