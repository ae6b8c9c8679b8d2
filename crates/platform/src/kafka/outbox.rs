//! The transactional outbox. A service writes its change and the message that
//! announces it in one Postgres transaction ([`enqueue`]); the [`OutboxRelay`]
//! publishes committed rows to Kafka and marks them published.
//!
//! Delivery is at least once: a relay that dies between publishing and
//! committing leaves its rows unpublished and a later run sends them again,
//! under the same message id, which consumers dedupe through the inbox.

use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use futures::future::join_all;
use prost::{Message, Name};
use sqlx::postgres::{PgListener, PgPool};
use sqlx::types::Json;
use sqlx::{PgConnection, Postgres, Transaction};
use staymesh_proto::common::Envelope;
use uuid::Uuid;

use super::envelope::EnvelopeExt;
use super::headers::{self, HeaderMap};
use super::producer::Producer;
use crate::error::Error;
use crate::shutdown::Shutdown;

/// The channel the outbox trigger notifies on commit (see migrations/10001_outbox.sql).
const CHANNEL: &str = "staymesh_outbox";

/// Adds `message` to the outbox inside the caller's transaction, with the
/// current span's trace context; returns the message id. Nothing is sent
/// unless that transaction commits.
pub async fn enqueue<M: Name>(
    conn: &mut PgConnection,
    topic: &str,
    key: &str,
    message: &M,
) -> Result<Uuid, Error> {
    let id = Uuid::now_v7();
    let envelope = Envelope::wrap_with_id(id, key, message);
    sqlx::query(
        "INSERT INTO outbox (id, topic, key, payload, headers) VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(id)
    .bind(topic)
    .bind(key)
    .bind(envelope.encode_to_vec())
    .bind(Json(headers::current_trace_headers()))
    .execute(conn)
    .await?;
    Ok(id)
}

/// How a relay batches, waits and cleans up.
#[derive(Debug, Clone)]
pub struct RelaySettings {
    /// Rows claimed, published and marked per transaction.
    pub batch_size: u32,
    /// Longest wait between scans when no notification arrives (a missed
    /// notification, or the listener connection being down, costs at most this).
    pub poll_interval: Duration,
    /// How long published rows are kept (for inspection) before pruning.
    pub retention: Duration,
    /// How often published rows older than `retention` are deleted.
    pub prune_interval: Duration,
}

impl Default for RelaySettings {
    fn default() -> Self {
        Self {
            batch_size: 100,
            poll_interval: Duration::from_secs(1),
            retention: Duration::from_secs(24 * 3600),
            prune_interval: Duration::from_secs(600),
        }
    }
}

/// Publishes outbox rows to Kafka. Several replicas may run one each: a batch
/// is claimed with `FOR UPDATE SKIP LOCKED`, so replicas never wait on each
/// other. Order holds within a batch (and per partition, thanks to the
/// idempotent producer); batches of different replicas may interleave.
#[derive(Debug, Clone)]
pub struct OutboxRelay {
    pool: PgPool,
    producer: Producer,
    settings: RelaySettings,
}

type OutboxRow = (
    Uuid,
    String,
    String,
    Vec<u8>,
    Json<HeaderMap>,
    DateTime<Utc>,
);

impl OutboxRelay {
    /// A relay with default settings.
    pub fn new(pool: PgPool, producer: Producer) -> Self {
        Self::with_settings(pool, producer, RelaySettings::default())
    }

    /// A relay with explicit settings.
    pub fn with_settings(pool: PgPool, producer: Producer, settings: RelaySettings) -> Self {
        Self {
            pool,
            producer,
            settings,
        }
    }

    /// [`OutboxRelay::run`] as a future of its own, to spawn.
    pub async fn run_until(self, shutdown: Shutdown) {
        self.run(&shutdown).await;
    }

    /// Publishes until `shutdown` fires, waking on outbox notifications and
    /// polling as a fallback. A batch in flight finishes before it returns.
    pub async fn run(&self, shutdown: &Shutdown) {
        let mut listener = self.listen().await;
        let mut next_prune = Instant::now();
        let full = self.settings.batch_size as usize;
        while !shutdown.is_triggered() {
            let wait = match self.publish_batch().await {
                // More may be waiting: go again at once.
                Ok(n) if n >= full => false,
                Ok(_) => true,
                Err(error) => {
                    tracing::warn!(%error, "outbox relay batch failed, retrying");
                    true
                }
            };
            if Instant::now() >= next_prune {
                next_prune = Instant::now() + self.settings.prune_interval;
                if let Err(error) = self.prune().await {
                    tracing::warn!(%error, "outbox prune failed");
                }
                if listener.is_none() {
                    listener = self.listen().await;
                }
            }
            if wait {
                self.wait_for_rows(&mut listener, shutdown).await;
            }
        }
        tracing::debug!("outbox relay stopped");
    }

    /// Claims one batch of unpublished rows in insertion order, publishes them
    /// and marks the delivered ones published; returns how many were claimed.
    #[tracing::instrument(skip(self), level = "debug")]
    pub async fn publish_batch(&self) -> Result<usize, Error> {
        let mut tx = self.pool.begin().await?;
        let rows: Vec<OutboxRow> = sqlx::query_as(
            "SELECT id, topic, key, payload, headers, created_at FROM outbox \
             WHERE published_at IS NULL ORDER BY seq LIMIT $1 FOR UPDATE SKIP LOCKED",
        )
        .bind(i64::from(self.settings.batch_size))
        .fetch_all(&mut *tx)
        .await?;
        if rows.is_empty() {
            return Ok(0);
        }
        // All sends are queued at once (join_all polls them in order), so
        // the producer batches them and keeps their order per partition.
        let results = join_all(rows.iter().map(|(_, topic, key, payload, headers, _)| {
            self.producer.send_raw(topic, key, payload, headers)
        }))
        .await;

        let now = Utc::now();
        let mut published = Vec::with_capacity(rows.len());
        let mut first_error = None;
        for (row, result) in rows.iter().zip(results) {
            match result {
                Ok(()) => {
                    published.push(row.0);
                    let lag = (now - row.5).to_std().unwrap_or_default();
                    metrics::histogram!("staymesh_outbox_relay_lag_seconds")
                        .record(lag.as_secs_f64());
                }
                Err(error) => {
                    first_error.get_or_insert(error);
                }
            }
        }
        mark_published(&mut tx, &published).await?;
        tx.commit().await?;
        metrics::counter!("staymesh_outbox_published_total").increment(published.len() as u64);
        match first_error {
            Some(error) => Err(error),
            None => Ok(rows.len()),
        }
    }

    /// Deletes published rows older than the retention; returns how many.
    pub async fn prune(&self) -> Result<u64, Error> {
        let deleted = sqlx::query(
            "DELETE FROM outbox WHERE published_at < now() - make_interval(secs => $1)",
        )
        .bind(self.settings.retention.as_secs_f64())
        .execute(&self.pool)
        .await?
        .rows_affected();
        Ok(deleted)
    }

    async fn listen(&self) -> Option<PgListener> {
        let listener = async {
            let mut listener = PgListener::connect_with(&self.pool).await?;
            listener.listen(CHANNEL).await?;
            Ok::<_, sqlx::Error>(listener)
        };
        match listener.await {
            Ok(listener) => Some(listener),
            Err(error) => {
                tracing::warn!(%error, "outbox relay cannot LISTEN, polling only");
                None
            }
        }
    }

    async fn wait_for_rows(&self, listener: &mut Option<PgListener>, shutdown: &Shutdown) {
        let poll = tokio::time::sleep(self.settings.poll_interval);
        match listener {
            Some(l) => {
                tokio::select! {
                    _ = shutdown.wait() => {}
                    _ = poll => {}
                    received = l.try_recv() => {
                        if let Err(error) = received {
                            tracing::warn!(%error, "outbox listener failed, polling only");
                            *listener = None;
                        }
                    }
                }
            }
            None => {
                tokio::select! {
                    _ = shutdown.wait() => {}
                    _ = poll => {}
                }
            }
        }
    }
}

async fn mark_published(tx: &mut Transaction<'_, Postgres>, ids: &[Uuid]) -> Result<(), Error> {
    if !ids.is_empty() {
        sqlx::query("UPDATE outbox SET published_at = now() WHERE id = ANY($1)")
            .bind(ids)
            .execute(&mut **tx)
            .await?;
    }
    Ok(())
}
