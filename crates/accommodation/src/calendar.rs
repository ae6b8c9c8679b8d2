//! The nightly calendar of a room type: price, rooms for sale, open/closed.

use chrono::NaiveDate;
use sqlx::PgPool;
use staymesh_platform::db::is_check_violation;
use staymesh_proto::accommodation as pb;
use uuid::Uuid;

use crate::convert::{Nights, money, to_proto_date};
use staymesh_platform::rpc::{Error, Result};

/// What SetCalendar writes on every night of its range.
#[derive(Debug, Clone, Copy)]
pub(crate) struct NightSettings {
    pub(crate) price: i64,
    pub(crate) rooms_for_sale: i32,
    pub(crate) closed: bool,
}

/// Upserts every night of the range in one statement. Lowering rooms for sale
/// below what is already held or sold is refused by the table's CHECK.
pub(crate) async fn set_nights(
    pool: &PgPool,
    room_type_id: Uuid,
    nights: Nights,
    settings: NightSettings,
) -> Result<u64> {
    let result = sqlx::query(
        "INSERT INTO night (room_type_id, night, price, total, closed) \
         SELECT $1, d::date, $2, $3, $4 \
         FROM generate_series($5::date, $6::date - 1, interval '1 day') AS d \
         ON CONFLICT (room_type_id, night) DO UPDATE \
         SET price = EXCLUDED.price, total = EXCLUDED.total, closed = EXCLUDED.closed",
    )
    .bind(room_type_id)
    .bind(settings.price)
    .bind(settings.rooms_for_sale)
    .bind(settings.closed)
    .bind(nights.start)
    .bind(nights.end)
    .execute(pool)
    .await;
    match result {
        Ok(done) => Ok(done.rows_affected()),
        Err(e) if is_check_violation(&e) => Err(Error::Precondition(
            "rooms_for_sale is below the rooms already held or sold on some night".into(),
        )),
        Err(e) => Err(e.into()),
    }
}

#[derive(Debug, sqlx::FromRow)]
struct NightRow {
    night: NaiveDate,
    price: i64,
    total: i32,
    held: i32,
    sold: i32,
    closed: bool,
}

/// The stored nights of a range, in date order. Nights never set are absent.
pub(crate) async fn get_nights(
    pool: &PgPool,
    room_type_id: Uuid,
    nights: Nights,
) -> Result<Vec<pb::Night>> {
    let rows: Vec<NightRow> = sqlx::query_as(
        "SELECT night, price, total, held, sold, closed FROM night \
         WHERE room_type_id = $1 AND night >= $2 AND night < $3 ORDER BY night",
    )
    .bind(room_type_id)
    .bind(nights.start)
    .bind(nights.end)
    .fetch_all(pool)
    .await?;
    Ok(rows
        .into_iter()
        .map(|r| pb::Night {
            date: Some(to_proto_date(r.night)),
            price: Some(money(r.price)),
            total: r.total,
            held: r.held,
            sold: r.sold,
            available: if r.closed {
                0
            } else {
                (r.total - r.held - r.sold).max(0)
            },
            closed: r.closed,
        })
        .collect())
}
