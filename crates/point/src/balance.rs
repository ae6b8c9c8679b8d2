//! A user's balance as GetBalance shows it: what they hold, what bookings set
//! aside, and what expires soon.

use chrono::{DateTime, Duration, Utc};
use sqlx::PgPool;
use staymesh_platform::rpc::Result;
use uuid::Uuid;

/// How far ahead `expiring_soon` looks.
pub(crate) const EXPIRING_SOON_DAYS: i64 = 30;

/// A user's points right now.
#[derive(Debug, Clone, Default, PartialEq, Eq, sqlx::FromRow)]
pub(crate) struct Balance {
    pub(crate) balance: i64,
    pub(crate) reserved: i64,
    /// Unreserved points whose lots expire within [`EXPIRING_SOON_DAYS`].
    pub(crate) expiring_soon: i64,
    /// The soonest expiry of an unreserved point, if any.
    pub(crate) next_expiry_at: Option<DateTime<Utc>>,
}

impl Balance {
    pub(crate) fn available(&self) -> i64 {
        self.balance - self.reserved
    }

    /// Whether some lot's expiry has passed and is not yet recorded (the
    /// expiry job has not come by): the reader expires it first.
    pub(crate) fn has_due(&self, now: DateTime<Utc>) -> bool {
        self.next_expiry_at.is_some_and(|at| at <= now)
    }
}

/// Reads `user`'s balance in one statement; zeros for a user with no account.
pub(crate) async fn read(pool: &PgPool, user: Uuid, now: DateTime<Utc>) -> Result<Balance> {
    let found: Option<Balance> = sqlx::query_as(
        "SELECT a.balance, a.reserved, \
           coalesce((SELECT sum(remaining - held) FROM point_lot \
                     WHERE user_id = $1 AND remaining > held AND expires_at <= $2), 0)::bigint \
             AS expiring_soon, \
           (SELECT min(expires_at) FROM point_lot WHERE user_id = $1 AND remaining > held) \
             AS next_expiry_at \
         FROM point_account a WHERE a.user_id = $1",
    )
    .bind(user)
    .bind(now + Duration::days(EXPIRING_SOON_DAYS))
    .fetch_optional(pool)
    .await?;
    Ok(found.unwrap_or_default())
}
