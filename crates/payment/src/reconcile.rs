//! The reconciler: what a lost webhook, a lost browser return or a crash
//! between a PG call and its commit leaves behind is repaired from the PG.
//! Every round it compares READY payments not checked for a while with the
//! PG (approving or failing them), cancels those still unpaid past their
//! expiry, and resolves refunds left PENDING. Replicas may run it at once:
//! payments are claimed with SKIP LOCKED, and every repair is idempotent.

use std::time::Duration;

use staymesh_platform::Shutdown;
use staymesh_platform::rpc::Result;
use uuid::Uuid;

use crate::payments::Payments;

/// Payments compared with the PG per round.
const BATCH: i64 = 100;

/// Runs a round every `every` until `shutdown`.
pub(crate) async fn run(payments: Payments, every: Duration, shutdown: Shutdown) {
    while shutdown.sleep(every).await {
        match round(&payments, every).await {
            Ok(0) => {}
            Ok(repaired) => tracing::info!(repaired, "reconciler round"),
            Err(error) => tracing::warn!(%error, "reconciler round failed"),
        }
    }
}

/// Batches one round takes at most, so a backlog is worked off within a few
/// rounds without one round running forever.
const BATCHES_PER_ROUND: usize = 10;

/// One round; returns how many payments and refunds it looked at.
pub(crate) async fn round(payments: &Payments, age: Duration) -> Result<usize> {
    let mut seen = 0;
    for _ in 0..BATCHES_PER_ROUND {
        let due = claim(payments, age).await?;
        let full = due.len() == usize::try_from(BATCH).unwrap_or(usize::MAX);
        seen += due.len();
        repair(payments, due).await;
        if !full {
            break;
        }
    }
    let refunds = payments.stale_refunds(age).await?;
    seen += refunds.len();
    for refund in refunds {
        let id = refund.id;
        if let Err(error) = payments.resolve(refund).await {
            tracing::warn!(refund = %id, %error, "cannot resolve refund");
        }
    }
    Ok(seen)
}

/// Verifies each payment with the PG, cancelling those still unpaid past expiry.
async fn repair(payments: &Payments, due: Vec<Uuid>) {
    for id in due {
        let outcome = async {
            let row = payments.verify(payments.reread(id).await?).await?;
            if row.state == "READY" && row.expires_at < chrono::Utc::now() {
                payments.abandon(row, "not paid before it expired").await?;
            }
            Ok::<_, staymesh_platform::rpc::Error>(())
        };
        if let Err(error) = outcome.await {
            tracing::warn!(payment = %id, %error, "cannot reconcile payment");
        }
    }
}

/// READY payments unchecked for `age`, or expired, stamped checked so
/// another replica's round skips them.
async fn claim(payments: &Payments, age: Duration) -> Result<Vec<Uuid>> {
    Ok(sqlx::query_scalar(
        "UPDATE payment SET checked_at = now() WHERE id IN ( \
             SELECT id FROM payment WHERE state = 'READY' \
             AND (checked_at < now() - make_interval(secs => $1) OR expires_at < now()) \
             ORDER BY checked_at LIMIT $2 FOR UPDATE SKIP LOCKED) \
         RETURNING id",
    )
    .bind(age.as_secs_f64())
    .bind(BATCH)
    .fetch_all(&payments.pool)
    .await?)
}
