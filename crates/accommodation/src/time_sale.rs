//! Time sales: a percentage off a property's (or one room type's) nights
//! while the sale runs.

use chrono::{DateTime, Utc};
use sqlx::PgPool;
use staymesh_proto::accommodation as pb;
use uuid::Uuid;

use crate::convert::timestamp;
use staymesh_platform::rpc::{Error, Result};

/// A validated new sale.
#[derive(Debug, Clone)]
pub(crate) struct NewSale {
    pub(crate) property_id: Uuid,
    pub(crate) room_type_id: Option<Uuid>,
    pub(crate) discount_percent: i32,
    pub(crate) starts_at: DateTime<Utc>,
    pub(crate) ends_at: DateTime<Utc>,
    pub(crate) waiting_room: bool,
}

#[derive(Debug, sqlx::FromRow)]
struct SaleRow {
    id: Uuid,
    property_id: Uuid,
    room_type_id: Option<Uuid>,
    discount_percent: i32,
    starts_at: DateTime<Utc>,
    ends_at: DateTime<Utc>,
    waiting_room: bool,
}

impl SaleRow {
    fn into_proto(self) -> pb::TimeSale {
        pb::TimeSale {
            time_sale_id: self.id.to_string(),
            property_id: self.property_id.to_string(),
            room_type_id: self
                .room_type_id
                .map(|id| id.to_string())
                .unwrap_or_default(),
            discount_percent: self.discount_percent,
            starts_at: Some(timestamp(self.starts_at)),
            ends_at: Some(timestamp(self.ends_at)),
            waiting_room: self.waiting_room,
        }
    }
}

const SALE_COLUMNS: &str =
    "id, property_id, room_type_id, discount_percent, starts_at, ends_at, waiting_room";

/// Stores a sale (ownership was checked by the caller).
pub(crate) async fn create(pool: &PgPool, sale: NewSale) -> Result<pb::TimeSale> {
    if let Some(room_type_id) = sale.room_type_id {
        let owner: Option<Uuid> =
            sqlx::query_scalar("SELECT property_id FROM room_type WHERE id = $1")
                .bind(room_type_id)
                .fetch_optional(pool)
                .await?;
        if owner != Some(sale.property_id) {
            return Err(Error::invalid(
                "room_type_id",
                "is not a room type of this property",
            ));
        }
    }
    let row: SaleRow = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "INSERT INTO time_sale (id, property_id, room_type_id, discount_percent, starts_at, ends_at, \
           waiting_room) VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING {SALE_COLUMNS}"
    )))
    .bind(Uuid::now_v7())
    .bind(sale.property_id)
    .bind(sale.room_type_id)
    .bind(sale.discount_percent)
    .bind(sale.starts_at)
    .bind(sale.ends_at)
    .bind(sale.waiting_room)
    .fetch_one(pool)
    .await?;
    Ok(row.into_proto())
}

/// The property a sale belongs to.
pub(crate) async fn property_of(pool: &PgPool, id: Uuid) -> Result<Uuid> {
    sqlx::query_scalar("SELECT property_id FROM time_sale WHERE id = $1")
        .bind(id)
        .fetch_optional(pool)
        .await?
        .ok_or_else(|| Error::not_found("time sale", id.to_string()))
}

/// Ends a sale now (a sale already over keeps its end).
pub(crate) async fn end(pool: &PgPool, id: Uuid) -> Result<pb::TimeSale> {
    let row: SaleRow = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "UPDATE time_sale SET ends_at = CASE WHEN ends_at > now() \
           THEN greatest(now(), starts_at + interval '1 microsecond') ELSE ends_at END \
         WHERE id = $1 RETURNING {SALE_COLUMNS}"
    )))
    .bind(id)
    .fetch_one(pool)
    .await?;
    Ok(row.into_proto())
}
