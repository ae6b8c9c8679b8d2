//! The batch writer: reads `CouponIssued` from Kafka and stores user coupons
//! up to a batch at a time, committing offsets only after the batch's
//! transaction committed. Stores are idempotent on (event, user), so a batch
//! redelivered after a crash, a rebalance or a broker restart stores nothing
//! twice. Other messages on the topic (state changes) are skipped.

use sqlx::PgPool;
use staymesh_platform::Shutdown;
use staymesh_platform::kafka::{BatchSettings, Consumer, EnvelopeExt, HandlerError, Incoming};
use staymesh_proto::saga::CouponIssued;

use crate::claims::issued_from;
use crate::user_coupons::{self, Issued};

/// Decodes the claims of a batch; a claim that does not decode is a poison
/// message (the consumer then retries one by one and dead-letters it alone).
fn claims(batch: &[Incoming]) -> Result<Vec<Issued>, HandlerError> {
    batch
        .iter()
        .filter(|m| m.envelope.is::<CouponIssued>())
        .map(|m| {
            let message: CouponIssued = m.decode()?;
            issued_from(&message).ok_or_else(|| {
                HandlerError::permanent(format!(
                    "CouponIssued at {}/{}@{} has a malformed field",
                    m.topic, m.partition, m.offset
                ))
            })
        })
        .collect()
}

/// Writes batches until `shutdown`.
pub(crate) async fn run(
    consumer: Consumer,
    pool: PgPool,
    batch: BatchSettings,
    shutdown: Shutdown,
) {
    tracing::info!(group = consumer.group_id(), "coupon batch writer started");
    consumer
        .run_batches(
            &batch,
            |messages| {
                let pool = pool.clone();
                async move {
                    let claims = claims(&messages)?;
                    let mut tx = pool.begin().await?;
                    let stored = user_coupons::store(&mut tx, &claims)
                        .await
                        .map_err(HandlerError::retryable)?;
                    tx.commit().await?;
                    tracing::debug!(messages = messages.len(), stored, "coupon batch stored");
                    Ok(())
                }
            },
            &shutdown,
        )
        .await;
    tracing::info!("coupon batch writer stopped");
}
