//! Where services get the public keys that verify access tokens: fixed keys
//! from configuration, or the user service's JWKS, fetched at start, refreshed
//! periodically, and refreshed early when a token names a key not yet known
//! (the user service started signing with a new key).

use std::sync::Arc;
use std::time::Duration;

use staymesh_proto::user::GetJwksRequest;
use staymesh_proto::user::user_service_client::UserServiceClient;

use super::AuthError;
use super::jwt::{JwtVerifier, PublicKey};
use crate::error::Error;
use crate::shutdown::Shutdown;

/// How services verify access tokens.
#[derive(Debug, Clone, clap::Args)]
pub struct AuthArgs {
    /// Fixed verification keys, comma separated `kid:x` (x: base64url Ed25519
    /// public key). When empty, keys come from the user service's JWKS.
    #[arg(long, env = "STAYMESH_JWT_PUBLIC_KEYS", default_value = "")]
    pub jwt_public_keys: String,

    /// How often the JWKS is fetched again.
    #[arg(long, env = "STAYMESH_JWKS_REFRESH", default_value = "60s", value_parser = crate::config::parse_duration)]
    pub jwks_refresh: Duration,
}

/// The service that issues tokens and serves the JWKS.
pub const ISSUER: &str = "user";

/// Parses `kid:x,kid:x`.
pub fn parse_public_keys(text: &str) -> Result<Vec<PublicKey>, AuthError> {
    text.split(',')
        .map(str::trim)
        .filter(|part| !part.is_empty())
        .map(|part| {
            let (kid, x) = part
                .split_once(':')
                .ok_or_else(|| AuthError::Invalid(format!("public key `{part}` is not kid:x")))?;
            Ok(PublicKey {
                kid: kid.to_owned(),
                x: x.to_owned(),
            })
        })
        .collect()
}

/// Fetches the user service's current public keys.
pub async fn fetch(user_url: &str) -> Result<Vec<PublicKey>, Error> {
    let endpoint = tonic::transport::Endpoint::from_shared(user_url.to_owned())
        .map_err(|e| Error::Config(format!("STAYMESH_USER_URL: {e}")))?
        .connect_timeout(Duration::from_secs(3))
        .timeout(Duration::from_secs(5));
    let mut client = UserServiceClient::new(endpoint.connect().await?);
    let response = client
        .get_jwks(GetJwksRequest {})
        .await
        .map_err(|status| Error::Config(format!("GetJwks: {status}")))?;
    Ok(response
        .into_inner()
        .keys
        .into_iter()
        .filter(|k| k.kty == "OKP" && k.crv == "Ed25519")
        .map(|k| PublicKey { kid: k.kid, x: k.x })
        .collect())
}

/// A verifier for `args`: fixed keys, or the JWKS of the user service at
/// `user_url` kept fresh by a background task until shutdown.
pub fn verifier(
    args: &AuthArgs,
    user_url: &str,
    shutdown: &Shutdown,
) -> Result<Arc<JwtVerifier>, Error> {
    let fixed =
        parse_public_keys(&args.jwt_public_keys).map_err(|e| Error::Config(e.to_string()))?;
    let verifier = Arc::new(JwtVerifier::new(&fixed).map_err(|e| Error::Config(e.to_string()))?);
    if fixed.is_empty() {
        tokio::spawn(refresh(
            verifier.clone(),
            user_url.to_owned(),
            args.jwks_refresh,
            shutdown.clone(),
        ));
    }
    Ok(verifier)
}

/// The smallest gap between two fetches, however many unknown kids arrive.
const MIN_GAP: Duration = Duration::from_secs(2);

async fn refresh(verifier: Arc<JwtVerifier>, url: String, every: Duration, shutdown: Shutdown) {
    let mut failures = 0u32;
    loop {
        match fetch(&url).await {
            Ok(keys) => {
                failures = 0;
                if let Err(error) = verifier.replace_keys(&keys) {
                    tracing::error!(%error, "JWKS holds a bad key; keeping the previous keys");
                }
            }
            Err(error) => {
                failures += 1;
                tracing::warn!(%error, %url, "cannot fetch the JWKS; tokens signed with new keys fail until it answers");
            }
        }
        // Retry quickly while the user service is not up yet.
        let wait = if failures > 0 {
            Duration::from_millis(250 * u64::from(failures.min(20))).min(every)
        } else {
            every
        };
        tokio::select! {
            () = shutdown.wait() => return,
            () = tokio::time::sleep(wait) => {}
            () = verifier.unknown_kid_seen() => tokio::time::sleep(MIN_GAP).await,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn public_keys_parse() {
        let keys = parse_public_keys(" a:xx , b:yy,").expect("parse");
        assert_eq!(keys.len(), 2);
        assert_eq!(keys[1].kid, "b");
        assert!(parse_public_keys("nokid").is_err());
        assert!(parse_public_keys("").expect("empty").is_empty());
    }
}
