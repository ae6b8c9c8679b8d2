//! The expiry job: finds users with lots whose expiry has passed and expires
//! them user by user, each in a transaction of its own under the account
//! lock. Replicas running it at once skip the accounts another holds
//! (SKIP LOCKED) and re-read the lots under the lock, so no lot expires
//! twice; a crash loses at most the one user's uncommitted transaction, and
//! the next run picks up where this one stopped.

use std::time::Duration;

use chrono::Utc;
use staymesh_platform::Shutdown;
use staymesh_platform::rpc::Result;
use uuid::Uuid;

use crate::lots::Expired;
use crate::points::Points;

/// Users visited per query of due lots.
const USERS_PER_BATCH: i64 = 200;

/// Expires every lot due now; returns what this run expired (another
/// replica's share is not counted).
pub async fn run_once(points: &Points) -> Result<Expired> {
    let mut total = Expired::default();
    loop {
        let users: Vec<Uuid> = sqlx::query_scalar(
            "SELECT user_id FROM point_lot WHERE expires_at <= $1 AND remaining > held \
             GROUP BY user_id ORDER BY min(expires_at) LIMIT $2",
        )
        .bind(Utc::now())
        .bind(USERS_PER_BATCH)
        .fetch_all(&points.pool)
        .await?;
        let mut visited = 0;
        for user in &users {
            if let Some(expired) = points.expire_user(*user, false).await? {
                total += expired;
                visited += 1;
            }
        }
        // Done, or every user left is locked by another run (or a request)
        // that expires their lots itself.
        if visited == 0 {
            return Ok(total);
        }
    }
}

/// Runs [`run_once`] every `every` until `shutdown`.
pub async fn run(points: Points, every: Duration, shutdown: Shutdown) {
    while shutdown.sleep(every).await {
        match run_once(&points).await {
            Ok(done) if done.lots > 0 => {
                tracing::info!(lots = done.lots, points = done.points, "lots expired");
            }
            Ok(_) => {}
            Err(error) => tracing::warn!(%error, "point expiry failed; retrying next period"),
        }
    }
}
