//! The durable copy of each queue's settings.

use sqlx::PgPool;
use uuid::Uuid;

use crate::line::Settings;

/// A queue's settings as stored.
#[derive(Debug, Clone, sqlx::FromRow)]
pub(crate) struct ConfigRow {
    pub(crate) event_id: Uuid,
    pub(crate) active: bool,
    pub(crate) admit_per_second: i32,
    pub(crate) admission_ttl_seconds: i32,
    pub(crate) max_admitted: i32,
}

impl ConfigRow {
    pub(crate) fn settings(&self) -> Settings {
        Settings {
            active: self.active,
            admit_per_second: self.admit_per_second,
            admission_ttl_seconds: self.admission_ttl_seconds,
            max_admitted: self.max_admitted,
        }
    }
}

/// Creates or replaces the settings of `event_id`.
pub(crate) async fn upsert(
    pool: &PgPool,
    event_id: Uuid,
    s: Settings,
    by: &str,
) -> Result<ConfigRow, sqlx::Error> {
    sqlx::query_as(
        "INSERT INTO queue_config (event_id, active, admit_per_second, admission_ttl_seconds, \
           max_admitted, updated_by) VALUES ($1, $2, $3, $4, $5, $6) \
         ON CONFLICT (event_id) DO UPDATE SET active = $2, admit_per_second = $3, \
           admission_ttl_seconds = $4, max_admitted = $5, updated_by = $6, updated_at = now() \
         RETURNING event_id, active, admit_per_second, admission_ttl_seconds, max_admitted",
    )
    .bind(event_id)
    .bind(s.active)
    .bind(s.admit_per_second)
    .bind(s.admission_ttl_seconds)
    .bind(s.max_admitted)
    .bind(by)
    .fetch_one(pool)
    .await
}

pub(crate) async fn get(pool: &PgPool, event_id: Uuid) -> Result<Option<ConfigRow>, sqlx::Error> {
    sqlx::query_as(
        "SELECT event_id, active, admit_per_second, admission_ttl_seconds, max_admitted \
         FROM queue_config WHERE event_id = $1",
    )
    .bind(event_id)
    .fetch_optional(pool)
    .await
}

/// Every queue, for the ticker.
pub(crate) async fn all(pool: &PgPool) -> Result<Vec<ConfigRow>, sqlx::Error> {
    sqlx::query_as(
        "SELECT event_id, active, admit_per_second, admission_ttl_seconds, max_admitted \
         FROM queue_config",
    )
    .fetch_all(pool)
    .await
}
