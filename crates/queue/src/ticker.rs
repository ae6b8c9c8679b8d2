//! Admission: every replica runs this loop, but each queue is ticked by one
//! replica at a time, the holder of its lease in Redis. (Were two to tick,
//! the admission script would still keep the rate: it counts by Redis time
//! since the last tick, whoever ran it.)
//!
//! Once a second the loop also writes every queue's settings from Postgres
//! to Redis, so a Redis that lost its keys gets them back, and exports how
//! many wait.

use std::time::{Duration, Instant};

use sqlx::PgPool;
use staymesh_platform::Shutdown;
use uuid::Uuid;

use crate::line::Lines;
use crate::store;

/// How often settings are copied from Postgres.
const REFRESH_EVERY: Duration = Duration::from_secs(1);

/// Ticks until `shutdown`.
pub(crate) async fn run(lines: Lines, pool: PgPool, tick: Duration, shutdown: Shutdown) {
    let holder = Uuid::now_v7().to_string();
    // Long enough to survive a slow tick, short enough that a replica that
    // died is replaced within a couple of seconds.
    let lease_ms = u64::try_from(tick.as_millis().saturating_mul(10))
        .unwrap_or(u64::MAX)
        .max(2_000);
    let mut active: Vec<Uuid> = Vec::new();
    let mut refreshed: Option<Instant> = None;
    let mut every = tokio::time::interval(tick);
    every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            () = shutdown.wait() => return,
            _ = every.tick() => {}
        }
        if refreshed.is_none_or(|at| at.elapsed() >= REFRESH_EVERY) {
            match refresh(&lines, &pool).await {
                Ok(ids) => {
                    active = ids;
                    refreshed = Some(Instant::now());
                }
                Err(error) => tracing::warn!(%error, "reading the queues' settings failed"),
            }
        }
        for &event in &active {
            if let Err(error) = tick_one(&lines, event, &holder, lease_ms).await {
                tracing::warn!(%error, %event, "admitting failed");
            }
        }
    }
}

/// Copies every queue's settings to Redis; returns the active ones.
async fn refresh(lines: &Lines, pool: &PgPool) -> staymesh_platform::rpc::Result<Vec<Uuid>> {
    let mut active = Vec::new();
    for row in store::all(pool).await? {
        lines.configure(row.event_id, row.settings()).await?;
        if row.active {
            let counts = lines.counts(row.event_id).await?;
            metrics::gauge!("queue_waiting", "event" => row.event_id.to_string())
                .set(counts.waiting as f64);
            active.push(row.event_id);
        }
    }
    Ok(active)
}

async fn tick_one(
    lines: &Lines,
    event: Uuid,
    holder: &str,
    lease_ms: u64,
) -> staymesh_platform::rpc::Result<()> {
    if lines.lease(event, holder, lease_ms).await? {
        let admitted = lines.admit(event, 0).await?;
        if admitted > 0 {
            metrics::counter!("queue_admitted_total").increment(admitted as u64);
        }
    }
    Ok(())
}
