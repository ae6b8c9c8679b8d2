//! Access tokens for the coupon mode, signed here with the operator's key so
//! the coupon service accepts them as the user service's: one admin token,
//! and one guest token per claim, all signed before any load so that Ed25519
//! signing is not part of what is measured.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};
use chrono::Utc;
use staymesh_platform::auth::jwt::{Claims, ISSUER, SigningKey};
use tonic::metadata::{Ascii, MetadataValue};

/// Where the signing keys travel, in the environment and in the env file.
const KEYS_VAR: &str = "STAYMESH_JWT_SIGNING_KEYS";
/// The file `make up` writes under the workspace root.
const ENV_FILE: &str = ".staymesh/jwt.env";
/// The admin the bench acts as, next to the demo host's id (`...0002`); the
/// coupon service trusts the token's role and needs no user row for it.
const ADMIN_ID: &str = "0190c0de-0000-7000-8000-000000000003";
/// Every token outlives the longest run (`--time-limit` is at most an hour)
/// plus the signing before it.
const TOKEN_TTL_SECS: i64 = 2 * 3600;

/// An `authorization` header value, ready to attach to a request.
pub(crate) type Bearer = MetadataValue<Ascii>;

/// The first key of `STAYMESH_JWT_SIGNING_KEYS`, from the environment or,
/// when unset there, from `.staymesh/jwt.env` in this directory, one of its
/// parents, or the workspace this binary was built from.
pub(crate) fn signing_key() -> anyhow::Result<SigningKey> {
    let (text, source) = match std::env::var(KEYS_VAR) {
        Ok(text) if !text.trim().is_empty() => (text, "the environment".to_owned()),
        _ => {
            let Some(path) = env_file() else {
                bail!(
                    "no JWT signing key: {KEYS_VAR} is unset and no {ENV_FILE} was found; \
                     run `make up` first or set {KEYS_VAR}"
                );
            };
            let file = std::fs::read_to_string(&path)
                .with_context(|| format!("reading {}", path.display()))?;
            let Some(text) = keys_line(&file) else {
                bail!(
                    "{} has no {KEYS_VAR}= line; run `make up` first or set {KEYS_VAR}",
                    path.display()
                );
            };
            (text, path.display().to_string())
        }
    };
    let Some(first) = text.split(',').map(str::trim).find(|k| !k.is_empty()) else {
        bail!("{source}: {KEYS_VAR} is empty; run `make up` first or set {KEYS_VAR}");
    };
    SigningKey::parse(first).map_err(|e| {
        anyhow::anyhow!("{KEYS_VAR} in {source}: {e}; run `make up` first or set {KEYS_VAR}")
    })
}

/// The first `.staymesh/jwt.env` found from the current directory upwards,
/// then in the workspace the bench was built from.
fn env_file() -> Option<PathBuf> {
    let cwd = std::env::current_dir().ok();
    let built_in = Path::new(env!("CARGO_MANIFEST_DIR")).parent();
    cwd.iter()
        .flat_map(|dir| dir.ancestors())
        .chain(built_in)
        .map(|dir| dir.join(ENV_FILE))
        .find(|path| path.is_file())
}

/// The value of the `STAYMESH_JWT_SIGNING_KEYS=` line, unquoted.
fn keys_line(file: &str) -> Option<String> {
    file.lines().find_map(|line| {
        let line = line.trim();
        let line = line.strip_prefix("export ").unwrap_or(line);
        let value = line.strip_prefix(KEYS_VAR)?.strip_prefix('=')?.trim();
        Some(value.trim_matches(|c| c == '"' || c == '\'').to_owned())
    })
}

/// An admin's bearer token.
pub(crate) fn admin(key: &SigningKey) -> anyhow::Result<Bearer> {
    bearer(key, ADMIN_ID, "ADMIN")
}

/// A guest's bearer token for the user `user_id`.
pub(crate) fn guest(key: &SigningKey, user_id: &str) -> anyhow::Result<Bearer> {
    bearer(key, user_id, "GUEST")
}

/// `count` guest tokens, each for its own user `bench-<run>-<n>`, signed on
/// every core; returns them with the time the signing took.
pub(crate) fn guests(
    key: &SigningKey,
    run: &str,
    count: usize,
) -> anyhow::Result<(Vec<Bearer>, Duration)> {
    let started = Instant::now();
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    let chunk = count.div_ceil(threads).max(1);
    let signed = std::thread::scope(|scope| {
        let workers: Vec<_> = (0..count)
            .step_by(chunk)
            .map(|first| {
                let last = (first + chunk).min(count);
                scope.spawn(move || {
                    (first..last)
                        .map(|n| bearer(key, &format!("bench-{run}-{n}"), "GUEST"))
                        .collect::<anyhow::Result<Vec<_>>>()
                })
            })
            .collect();
        workers
            .into_iter()
            .map(|worker| {
                worker
                    .join()
                    .map_err(|_| anyhow::anyhow!("a token signing thread panicked"))?
            })
            .collect::<anyhow::Result<Vec<_>>>()
    })?;
    Ok((signed.concat(), started.elapsed()))
}

/// `Bearer <jwt>` for `sub` in `role`, valid from now for [`TOKEN_TTL_SECS`].
fn bearer(key: &SigningKey, sub: &str, role: &str) -> anyhow::Result<Bearer> {
    let now = Utc::now().timestamp();
    let token = key
        .sign(&Claims {
            sub: sub.to_owned(),
            role: role.to_owned(),
            iss: ISSUER.to_owned(),
            iat: now,
            exp: now + TOKEN_TTL_SECS,
            jti: uuid::Uuid::now_v7().to_string(),
        })
        .map_err(|e| anyhow::anyhow!("signing a {role} token: {e}"))?;
    format!("Bearer {token}")
        .parse()
        .context("a signed token is not a valid header value")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_keys_line() {
        let file = "# made by make up\nSTAYMESH_JWT_SIGNING_KEYS=local:abc\n";
        assert_eq!(keys_line(file).as_deref(), Some("local:abc"));
        let quoted = "export STAYMESH_JWT_SIGNING_KEYS=\"a:b,c:d\"";
        assert_eq!(keys_line(quoted).as_deref(), Some("a:b,c:d"));
        assert_eq!(keys_line("OTHER=1\nSTAYMESH_JWT_SIGNING_KEYSX=1"), None);
    }

    #[test]
    fn signs_one_distinct_guest_token_per_claim() {
        let key = SigningKey::generate("test");
        let (tokens, _) = guests(&key, "run", 5).expect("sign");
        assert_eq!(tokens.len(), 5);
        let mut distinct: Vec<_> = tokens.iter().map(|t| t.to_str().ok()).collect();
        distinct.sort();
        distinct.dedup();
        assert_eq!(distinct.len(), 5);
        assert!(tokens[0].to_str().is_ok_and(|t| t.starts_with("Bearer ey")));
    }
}
