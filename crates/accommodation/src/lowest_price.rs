//! The lowest nightly price of a property over the coming nights, sale
//! included, cached in Redis until the next moment it can change by itself:
//! the end of the sale (or the start of another), or `MAX_TTL` with no sale.
//!
//! Calendar and sale changes invalidate it. A reader that computed from the
//! database before a change must not put that old price back after the
//! invalidation, so every write is conditional on a per-property version that
//! invalidation bumps (checked atomically in a Lua script).

use chrono::{DateTime, Duration, Utc};
use fred::prelude::*;
use serde::{Deserialize, Serialize};
use sqlx::PgPool;
use staymesh_platform::redis::RedisPool;
use staymesh_proto::accommodation as pb;
use uuid::Uuid;

use crate::convert::{money, timestamp, today};
use staymesh_platform::rpc::Result;

/// How far ahead the lowest price looks.
pub(crate) const WINDOW_NIGHTS: i32 = 30;
/// How long a price with no sale bounding it stays cached (the window of
/// nights moves at midnight).
pub(crate) const MAX_TTL: Duration = Duration::minutes(10);

const SET_IF_VERSION: &str = r#"
if (redis.call('GET', KEYS[2]) or '0') == ARGV[1] then
  redis.call('SET', KEYS[1], ARGV[2], 'PX', ARGV[3])
  return 1
end
return 0
"#;

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
struct Cached {
    price: Option<i64>,
    sale_id: Option<Uuid>,
    sale_ends_at: Option<DateTime<Utc>>,
}

/// Reads and invalidates cached lowest prices.
#[derive(Debug, Clone)]
pub struct LowestPrices {
    redis: RedisPool,
    prefix: String,
}

impl LowestPrices {
    /// `prefix` namespaces the keys (tests use a fresh one each).
    pub fn new(redis: RedisPool, prefix: impl Into<String>) -> Self {
        Self {
            redis,
            prefix: prefix.into(),
        }
    }

    fn keys(&self, property_id: Uuid) -> (String, String) {
        (
            format!("{}:lowest:{property_id}", self.prefix),
            format!("{}:lowest-version:{property_id}", self.prefix),
        )
    }

    /// The cached price, or a fresh one from the database (then cached).
    pub async fn get(
        &self,
        pool: &PgPool,
        property_id: Uuid,
    ) -> Result<pb::GetLowestPriceResponse> {
        let (key, version_key) = self.keys(property_id);
        let cached: Option<String> = self.redis.get(&key).await?;
        if let Some(cached) = cached.and_then(|c| serde_json::from_str::<Cached>(&c).ok()) {
            metrics::counter!("accommodation_lowest_price_cache_total", "result" => "hit")
                .increment(1);
            return Ok(cached.into_proto());
        }
        metrics::counter!("accommodation_lowest_price_cache_total", "result" => "miss")
            .increment(1);
        let version: Option<String> = self.redis.get(&version_key).await?;
        let (fresh, expires_at) = compute(pool, property_id).await?;
        let ttl_ms = (expires_at - Utc::now()).num_milliseconds();
        if ttl_ms > 0 {
            let json = serde_json::to_string(&fresh).unwrap_or_default();
            let _: i64 = self
                .redis
                .next()
                .eval(
                    SET_IF_VERSION,
                    vec![key, version_key],
                    vec![
                        version.unwrap_or_else(|| "0".into()),
                        json,
                        ttl_ms.to_string(),
                    ],
                )
                .await?;
        }
        Ok(fresh.into_proto())
    }

    /// Drops the cached price after the property's calendar or sales changed.
    /// Call it after the change committed.
    pub async fn invalidate(&self, property_id: Uuid) -> Result<()> {
        let (key, version_key) = self.keys(property_id);
        let tx = self.redis.next().multi();
        let _: () = tx.incr(&version_key).await?;
        let _: () = tx.del(&key).await?;
        let _: () = tx.exec(true).await?;
        Ok(())
    }
}

impl Cached {
    fn into_proto(self) -> pb::GetLowestPriceResponse {
        pb::GetLowestPriceResponse {
            lowest_price: self.price.map(money),
            time_sale_id: self.sale_id.map(|id| id.to_string()).unwrap_or_default(),
            sale_ends_at: self.sale_ends_at.map(timestamp),
        }
    }
}

#[derive(Debug, sqlx::FromRow)]
struct LowestRow {
    price: i64,
    sale_id: Option<Uuid>,
    sale_ends_at: Option<DateTime<Utc>>,
}

/// The lowest price now, and until when it holds at the latest.
async fn compute(pool: &PgPool, property_id: Uuid) -> Result<(Cached, DateTime<Utc>)> {
    let lowest: Option<LowestRow> = sqlx::query_as(
        "WITH rt AS (SELECT id FROM room_type WHERE property_id = $1), \
         sale AS ( \
           SELECT DISTINCT ON (rt.id) rt.id AS room_type_id, ts.id AS sale_id, \
                  ts.discount_percent, ts.ends_at \
           FROM rt JOIN time_sale ts ON ts.property_id = $1 \
             AND (ts.room_type_id IS NULL OR ts.room_type_id = rt.id) \
             AND ts.starts_at <= now() AND now() < ts.ends_at \
           ORDER BY rt.id, ts.discount_percent DESC, ts.ends_at DESC) \
         SELECT sale_price(n.price, COALESCE(s.discount_percent, 0)) AS price, \
                s.sale_id, s.ends_at AS sale_ends_at \
         FROM night n JOIN rt ON rt.id = n.room_type_id \
         LEFT JOIN sale s ON s.room_type_id = n.room_type_id \
         WHERE n.night >= $2 AND n.night < $2 + $3 AND NOT n.closed AND n.total > 0 \
         ORDER BY 1 ASC, s.ends_at ASC NULLS LAST LIMIT 1",
    )
    .bind(property_id)
    .bind(today())
    .bind(WINDOW_NIGHTS)
    .fetch_optional(pool)
    .await?;
    // The price can change by itself when any sale of the property starts or ends.
    let next_change: Option<DateTime<Utc>> = sqlx::query_scalar(
        "SELECT min(t) FROM ( \
           SELECT starts_at AS t FROM time_sale WHERE property_id = $1 AND starts_at > now() \
           UNION ALL \
           SELECT ends_at FROM time_sale WHERE property_id = $1 AND ends_at > now()) changes",
    )
    .bind(property_id)
    .fetch_one(pool)
    .await?;
    // With a sale the entry lives exactly until the sale ends (or another
    // starts); without one, a short TTL lets the moving window catch up.
    let expires_at = next_change.unwrap_or_else(|| Utc::now() + MAX_TTL);
    let cached = match lowest {
        Some(row) => Cached {
            price: Some(row.price),
            sale_id: row.sale_id,
            sale_ends_at: row.sale_ends_at,
        },
        None => Cached {
            price: None,
            sale_id: None,
            sale_ends_at: None,
        },
    };
    Ok((cached, expires_at))
}
