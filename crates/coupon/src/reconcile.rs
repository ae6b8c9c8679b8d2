//! Reconciliation: Redis decided every claim, Postgres must hold every one.
//! Compares an event's claims in Redis with its stored user coupons, stores
//! the missing ones (a claim whose Kafka message and direct write both
//! failed), and reports stored coupons Redis does not know (after Redis lost
//! data); those are never deleted: a guest holds them.

use std::collections::HashSet;
use std::time::Duration;

use chrono::Utc;
use staymesh_platform::Shutdown;
use uuid::Uuid;

use crate::claims::Issuer;
use crate::coupons;
use crate::user_coupons::{self, Issued};
use staymesh_platform::rpc::Result;

/// What a reconciliation found and did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Report {
    pub(crate) redis_issued: i64,
    pub(crate) stored_issued: i64,
    pub(crate) repaired: u64,
    pub(crate) orphaned_user_ids: Vec<String>,
}

/// Reconciles one event. Claims younger than `grace` are left to the
/// consumer, which is probably writing them right now.
pub(crate) async fn event(
    issuer: &Issuer,
    event_id: Uuid,
    dry_run: bool,
    grace: Duration,
) -> Result<Report> {
    if !issuer.stock.is_loaded(event_id).await? {
        // Redis lost the event (or never had it): Postgres is all there is,
        // and loading it makes the two agree.
        issuer.restore(event_id).await?;
    }
    let coupon = coupons::of_event(&issuer.pool, event_id).await?.coupon;
    let in_redis = issuer.stock.claims(event_id).await?;
    let stored = user_coupons::holders(&issuer.pool, event_id).await?;
    let stored_users: HashSet<&str> = stored.iter().map(|(user, _, _)| user.as_str()).collect();
    let redis_users: HashSet<&str> = in_redis.iter().map(|c| c.user_id.as_str()).collect();
    let settled_before = Utc::now() - chrono::Duration::from_std(grace).unwrap_or_default();
    let missing: Vec<Issued> = in_redis
        .iter()
        .filter(|c| !stored_users.contains(c.user_id.as_str()) && c.issued_at <= settled_before)
        .map(|c| Issued {
            user_coupon_id: c.user_coupon_id,
            event_id,
            coupon_id: coupon.id,
            user_id: c.user_id.clone(),
            issued_at: c.issued_at,
        })
        .collect();
    let mut orphaned_user_ids: Vec<String> = stored_users
        .iter()
        .filter(|user| !redis_users.contains(*user))
        .map(|user| (*user).to_owned())
        .collect();
    orphaned_user_ids.sort();
    let mut repaired = 0;
    if !dry_run && !missing.is_empty() {
        let mut conn = issuer.pool.acquire().await?;
        for chunk in missing.chunks(500) {
            repaired += user_coupons::store(&mut conn, chunk).await?;
        }
        metrics::counter!("coupon_reconcile_repaired_total").increment(repaired);
        tracing::warn!(%event_id, repaired, "reconciliation stored claims missing from Postgres");
    }
    Ok(Report {
        redis_issued: in_redis.len() as i64,
        stored_issued: stored.len() as i64,
        repaired,
        orphaned_user_ids,
    })
}

/// The periodic pass: a full comparison only where the counts disagree, so
/// a million-claim event that is in order costs two numbers, not two scans.
async fn event_if_counts_differ(issuer: &Issuer, event_id: Uuid, grace: Duration) -> Result<()> {
    if issuer.stock.is_loaded(event_id).await? {
        let in_redis = issuer.stock.claimed_count(event_id).await?;
        let stored = i64::from(crate::events::get(&issuer.pool, event_id).await?.issued);
        if in_redis == stored {
            return Ok(());
        }
    }
    event(issuer, event_id, false, grace).await.map(drop)
}

/// Reconciles every event that is live or ended within a day, every `every`,
/// and exports what each has left, so the gauge moves between claims too and
/// a replica that served no claim still reports.
pub(crate) async fn run(issuer: Issuer, every: Duration, grace: Duration, shutdown: Shutdown) {
    while shutdown.sleep(every).await {
        let due: std::result::Result<Vec<Uuid>, sqlx::Error> = sqlx::query_scalar(
            "SELECT id FROM issuance_event \
             WHERE opens_at <= now() AND closes_at > now() - interval '1 day'",
        )
        .fetch_all(&issuer.pool)
        .await;
        match due {
            Ok(ids) => {
                for id in ids {
                    if let Err(error) = event_if_counts_differ(&issuer, id, grace).await {
                        tracing::warn!(%error, event_id = %id, "reconciliation failed");
                    }
                    if let Ok(Some(left)) = issuer.stock.remaining(id).await {
                        crate::claims::report_remaining(id, left);
                    }
                }
            }
            Err(error) => tracing::warn!(%error, "listing events to reconcile failed"),
        }
    }
}
