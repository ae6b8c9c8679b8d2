//! Demo data for local runs: the demo guest's points in three lots that
//! expire at different times (in 10 days, 60 days and a year from the first
//! seed), so a use shows soonest-expiry-first. Idempotent: fixed keys, and a
//! second run adds nothing.

use chrono::{Duration, Utc};
use staymesh_platform::demo::GUEST_ID;
use staymesh_platform::service::{BoxError, Seeding, own_args};

use crate::config::PointArgs;
use crate::ledger::EntryType;
use crate::points::{Grant, Points};

/// The demo guest's lots: idempotency key, points, days to expiry, reason.
const DEMO_LOTS: [(&str, i64, i64, &str); 3] = [
    ("demo-guest-welcome", 5_000, 10, "Welcome points"),
    ("demo-guest-review", 3_000, 60, "Thanks for your review"),
    ("demo-guest-anniversary", 2_000, 365, "Anniversary gift"),
];

/// Grants the demo lots where missing; returns how many this run created.
pub async fn seed(points: &Points) -> Result<usize, BoxError> {
    let keys: Vec<&str> = DEMO_LOTS.iter().map(|(key, ..)| *key).collect();
    let existing: i64 =
        sqlx::query_scalar("SELECT count(*) FROM point_entry WHERE idempotency_key = ANY($1)")
            .bind(&keys)
            .fetch_one(&points.pool)
            .await?;
    for (key, amount, days, reason) in DEMO_LOTS {
        points
            .grant(Grant {
                user_id: GUEST_ID,
                kind: EntryType::Earn,
                amount,
                description: reason,
                expires_at: Some(Utc::now() + Duration::days(days)),
                booking_id: None,
                idempotency: Some((key, "demo seed")),
            })
            .await?;
    }
    Ok(DEMO_LOTS.len() - usize::try_from(existing).unwrap_or(0))
}

/// `staymesh seed`'s part: the demo guest's points.
pub(crate) async fn demo(seeding: Seeding) -> Result<Vec<String>, BoxError> {
    let args: PointArgs = own_args(&seeding.matches)?;
    let (pool, redis) = crate::DESCRIPTOR.connect(&seeding.infra).await?;
    let points = Points::new(
        pool,
        redis,
        seeding.infra.redis_prefix_for(crate::SERVICE),
        &args,
    );
    let created = seed(&points).await?;
    Ok(vec![format!(
        "demo guest points: 10,000 in 3 lots expiring in 10, 60 and 365 days{}",
        if created > 0 { " (new)" } else { "" }
    )])
}
