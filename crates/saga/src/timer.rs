//! The saga's clock: steps past their deadline (a command unanswered, a
//! payment not made) are found every tick and handed to the engine, each in
//! its own transaction. Sagas another replica is working on are skipped
//! (SKIP LOCKED) and picked up on a later tick, so replicas share the work.
//! The count of STUCK sagas is published as `staymesh_saga_stuck`.

use std::time::Duration;

use sqlx::PgPool;
use staymesh_platform::Shutdown;
use uuid::Uuid;

use crate::engine::Engine;
use crate::flow::step_of;

/// Steps handled per tick.
const BATCH: i64 = 200;
/// How often the stuck gauge is refreshed.
const GAUGE_EVERY: Duration = Duration::from_secs(5);

pub(crate) async fn run(pool: PgPool, engine: Engine, shutdown: Shutdown) {
    let mut last_gauge = tokio::time::Instant::now() - GAUGE_EVERY;
    while shutdown.sleep(engine.args.saga_tick).await {
        if let Err(error) = tick(&pool, &engine).await {
            tracing::warn!(%error, "the saga timer's round failed; trying again");
        }
        if last_gauge.elapsed() >= GAUGE_EVERY {
            last_gauge = tokio::time::Instant::now();
            match sqlx::query_scalar::<_, i64>("SELECT count(*) FROM saga WHERE state = 'STUCK'")
                .fetch_one(&pool)
                .await
            {
                Ok(stuck) => metrics::gauge!("staymesh_saga_stuck").set(stuck as f64),
                Err(error) => tracing::warn!(%error, "counting stuck sagas failed"),
            }
        }
    }
}

/// Handles every step due now; returns how many.
pub(crate) async fn tick(
    pool: &PgPool,
    engine: &Engine,
) -> Result<usize, Box<dyn std::error::Error + Send + Sync>> {
    let due: Vec<(Uuid, String)> = sqlx::query_as(
        "SELECT saga_id, step FROM saga_step WHERE state = 'SENT' AND deadline <= now() \
         ORDER BY deadline LIMIT $1",
    )
    .bind(BATCH)
    .fetch_all(pool)
    .await?;
    let mut handled = 0;
    for (saga_id, step) in due {
        let mut tx = pool.begin().await?;
        // Busy elsewhere (a reply being applied, another replica's tick): later.
        let free: Option<Uuid> =
            sqlx::query_scalar("SELECT id FROM saga WHERE id = $1 FOR UPDATE SKIP LOCKED")
                .bind(saga_id)
                .fetch_optional(&mut *tx)
                .await?;
        if free.is_none() {
            continue;
        }
        engine.deadline(&mut tx, saga_id, step_of(&step)).await?;
        tx.commit().await?;
        handled += 1;
    }
    Ok(handled)
}
