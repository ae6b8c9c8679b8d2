//! Refresh-token sessions: start, rotate (with reuse detection), end.
//!
//! A session is a family of refresh tokens. Each refresh spends the presented
//! token and adds its successor to the family. A spent token presented again
//! means two parties hold the session (one of them stole it), so the whole
//! family is revoked and both must log in again.

use std::time::Duration;

use chrono::{DateTime, Utc};
use sqlx::{PgConnection, PgPool};
use staymesh_platform::rpc;
use uuid::Uuid;

use crate::error::{Error, Result};
use crate::keyring::{new_refresh_token, refresh_token_hash};

const INVALID: &str = "refresh token is invalid, expired or revoked";
const REUSED: &str = "refresh token was already used; every session it belonged to is revoked";

/// A refresh token just issued.
#[derive(Debug)]
pub(crate) struct Issued {
    pub(crate) token: String,
    pub(crate) expires_at: DateTime<Utc>,
}

fn expiry(ttl: Duration) -> DateTime<Utc> {
    Utc::now() + chrono::Duration::from_std(ttl).unwrap_or(chrono::Duration::days(3650))
}

async fn insert(
    db: &mut PgConnection,
    user_id: Uuid,
    family_id: Uuid,
    ttl: Duration,
) -> Result<Issued> {
    let (token, hash) = new_refresh_token();
    let expires_at = expiry(ttl);
    sqlx::query(
        "INSERT INTO refresh_token (token_hash, family_id, user_id, expires_at)
         VALUES ($1, $2, $3, $4)",
    )
    .bind(hash)
    .bind(family_id)
    .bind(user_id)
    .bind(expires_at)
    .execute(db)
    .await?;
    Ok(Issued { token, expires_at })
}

/// Starts a new session (a new family) for `user_id`.
pub(crate) async fn start(db: &mut PgConnection, user_id: Uuid, ttl: Duration) -> Result<Issued> {
    insert(db, user_id, Uuid::now_v7(), ttl).await
}

/// The stored state of a presented refresh token.
#[derive(Debug, sqlx::FromRow)]
struct Presented {
    user_id: Uuid,
    family_id: Uuid,
    expires_at: DateTime<Utc>,
    used_at: Option<DateTime<Utc>>,
    revoked_at: Option<DateTime<Utc>>,
}

/// Spends `token` and returns the account it belongs to with its successor.
/// UNAUTHENTICATED for an unknown, expired, revoked or already spent token;
/// a spent one also revokes its family.
pub(crate) async fn rotate(pool: &PgPool, token: &str, ttl: Duration) -> Result<(Uuid, Issued)> {
    let mut tx = pool.begin().await?;
    // FOR UPDATE: two refreshes racing with one token are serialized, and the
    // second sees the token spent (reuse) instead of both succeeding.
    let row: Option<Presented> = sqlx::query_as(
        "SELECT user_id, family_id, expires_at, used_at, revoked_at
         FROM refresh_token WHERE token_hash = $1 FOR UPDATE",
    )
    .bind(refresh_token_hash(token))
    .fetch_optional(&mut *tx)
    .await?;
    let Some(Presented {
        user_id,
        family_id,
        expires_at,
        used_at,
        revoked_at,
    }) = row
    else {
        return Err(Error::unauthenticated(INVALID));
    };
    if revoked_at.is_some() || expires_at <= Utc::now() {
        return Err(Error::unauthenticated(INVALID));
    }
    if used_at.is_some() {
        revoke_family(&mut tx, family_id).await?;
        tx.commit().await?;
        metrics::counter!("user_refresh_token_reuse_total").increment(1);
        tracing::warn!(%user_id, %family_id, "refresh token reuse; family revoked");
        return Err(Error::unauthenticated(REUSED));
    }
    sqlx::query("UPDATE refresh_token SET used_at = now() WHERE token_hash = $1")
        .bind(refresh_token_hash(token))
        .execute(&mut *tx)
        .await?;
    let issued = insert(&mut tx, user_id, family_id, ttl).await?;
    tx.commit().await?;
    Ok((user_id, issued))
}

async fn revoke_family(db: &mut PgConnection, family_id: Uuid) -> Result<()> {
    sqlx::query(
        "UPDATE refresh_token SET revoked_at = now() WHERE family_id = $1 AND revoked_at IS NULL",
    )
    .bind(family_id)
    .execute(db)
    .await?;
    Ok(())
}

/// Ends the session `token` belongs to. Possessing the token is proof enough:
/// ending a session can only hurt whoever stole it. Ending one twice is fine;
/// an unknown token is NOT_FOUND.
pub(crate) async fn end(pool: &PgPool, token: &str) -> Result<()> {
    let mut conn = pool.acquire().await?;
    let family: Option<Uuid> =
        sqlx::query_scalar("SELECT family_id FROM refresh_token WHERE token_hash = $1")
            .bind(refresh_token_hash(token))
            .fetch_optional(&mut *conn)
            .await?;
    let family = family
        .ok_or_else(|| Error::Rpc(rpc::Error::not_found("session", "of that refresh token")))?;
    revoke_family(&mut conn, family).await
}

/// Ends every session of `user_id` (log out everywhere, password change).
pub(crate) async fn end_all(db: &mut PgConnection, user_id: Uuid) -> Result<u64> {
    let done = sqlx::query(
        "UPDATE refresh_token SET revoked_at = now() WHERE user_id = $1 AND revoked_at IS NULL",
    )
    .bind(user_id)
    .execute(db)
    .await?;
    Ok(done.rows_affected())
}

/// Deletes tokens that expired more than `keep` ago (nothing can use them,
/// and reuse detection only matters while a family could still refresh).
pub(crate) async fn prune(pool: &PgPool, keep: Duration) -> Result<u64> {
    let before = Utc::now() - chrono::Duration::from_std(keep).unwrap_or(chrono::Duration::days(1));
    let done = sqlx::query("DELETE FROM refresh_token WHERE expires_at < $1")
        .bind(before)
        .execute(pool)
        .await?;
    Ok(done.rows_affected())
}
