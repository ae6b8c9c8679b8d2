//! The inbox of the saga's participants (booking, coupon, point, payment and
//! the orchestrator itself): a consumer remembers the ids of the messages it
//! has applied, in the same transaction as their effect, so a redelivered
//! message (Kafka is at least once, the outbox relay may publish twice)
//! changes nothing the second time.
//!
//! Entries are kept for a while, longer than any redelivery can take, and
//! then deleted by [`run_pruner`] (or [`prune`] once), so the table holds
//! days of ids, not every id ever seen. The table comes with every service's
//! database (the platform's migrations).

use sqlx::PgConnection;
use uuid::Uuid;

use crate::error::Error;

/// Records `message_id` as processed by `consumer` and tells whether this is
/// the first time. Call it inside the transaction that applies the message's
/// effect; apply the effect only when it returns `true`, then commit.
///
/// A concurrent duplicate blocks on the primary key until the first
/// transaction ends, then sees it (and returns `false`) or takes over if it rolled back.
pub async fn try_begin(
    conn: &mut PgConnection,
    consumer: &str,
    message_id: Uuid,
) -> Result<bool, Error> {
    let inserted = sqlx::query(
        "INSERT INTO inbox (consumer, message_id) VALUES ($1, $2) ON CONFLICT DO NOTHING",
    )
    .bind(consumer)
    .bind(message_id)
    .execute(conn)
    .await?
    .rows_affected();
    if inserted == 0 {
        metrics::counter!("staymesh_kafka_duplicates_total", "consumer" => consumer.to_owned())
            .increment(1);
    }
    Ok(inserted == 1)
}

/// Deletes inbox entries older than `older_than`; returns how many. Keep them
/// longer than any redelivery can take (topic retention is a safe bound).
pub async fn prune(conn: &mut PgConnection, older_than: std::time::Duration) -> Result<u64, Error> {
    let deleted =
        sqlx::query("DELETE FROM inbox WHERE processed_at < now() - make_interval(secs => $1)")
            .bind(older_than.as_secs_f64())
            .execute(conn)
            .await?
            .rows_affected();
    Ok(deleted)
}

/// Deletes entries older than `keep` every `every` until `shutdown`; a
/// failed round is logged and tried again next time.
pub async fn run_pruner(
    pool: sqlx::PgPool,
    every: std::time::Duration,
    keep: std::time::Duration,
    shutdown: crate::Shutdown,
) {
    while shutdown.sleep(every).await {
        let pruned = async {
            let mut conn = pool.acquire().await?;
            prune(&mut conn, keep).await
        };
        match pruned.await {
            Ok(deleted) => tracing::debug!(deleted, "pruned the inbox"),
            Err(error) => tracing::warn!(%error, "pruning the inbox failed"),
        }
    }
}
