//! What most services keep their state in: a Postgres database of their own
//! (created and migrated at start-up) and the shared Redis.

use sqlx::PgPool;
use sqlx::migrate::Migrator;

use crate::InfraArgs;
use crate::db::{self, DbSettings};
use crate::error::Error;
use crate::redis::{self, RedisPool};

/// Connects to (and migrates) `service`'s database, and to Redis.
pub async fn connect(
    infra: &InfraArgs,
    service: &str,
    migrator: &Migrator,
) -> Result<(PgPool, RedisPool), Error> {
    let pool = db::connect(&db_settings(infra, service, infra.postgres_pool), migrator).await?;
    let redis = redis::connect(&infra.redis_url, infra.redis_pool).await?;
    Ok((pool, redis))
}

/// Creates and migrates `service`'s database, and nothing else (`staymesh
/// migrate`, a migrations job).
pub async fn migrate(infra: &InfraArgs, service: &str, migrator: &Migrator) -> Result<(), Error> {
    db::connect(&db_settings(infra, service, 2), migrator)
        .await?
        .close()
        .await;
    Ok(())
}

fn db_settings(infra: &InfraArgs, service: &str, max_connections: u32) -> DbSettings {
    DbSettings {
        admin_url: infra.postgres_url.clone(),
        database: infra.database_for(service),
        max_connections,
    }
}

/// Checks that both answer (readiness).
pub async fn ping(pool: &PgPool, redis: &RedisPool) -> Result<(), Error> {
    db::ping(pool).await?;
    redis::ping(redis).await
}
