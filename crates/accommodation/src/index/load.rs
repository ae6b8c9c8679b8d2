//! Reads what the index holds from Postgres, the source of truth: listings
//! (property, room types, time sales) and nights, whole or by range.

use std::collections::HashMap;
use std::sync::Arc;

use chrono::{DateTime, NaiveDate, Utc};
use futures::TryStreamExt as _;
use sqlx::PgPool;
use staymesh_platform::rpc::Result;
use uuid::Uuid;

use super::snapshot::{Listing, NightRow, Nights, Room, Sale};
use crate::catalog;
use staymesh_proto::accommodation as pb;

/// The listings with these ids (all for `None`), given the nights each room
/// type already has in the index (`nights_of`); room types it lacks start
/// with an empty calendar.
pub(crate) async fn listings(
    pool: &PgPool,
    ids: Option<&[Uuid]>,
    mut nights_of: impl FnMut(Uuid) -> Nights,
) -> Result<Vec<Listing>> {
    let properties = catalog::get_properties(pool, ids).await?;
    let mut sales = sales(pool, ids).await?;
    let mut listings = Vec::with_capacity(properties.len());
    for property in properties {
        let Ok(id) = property.property_id.parse::<Uuid>() else {
            continue;
        };
        let rooms = property
            .room_types
            .iter()
            .filter_map(|rt| {
                let id = rt.room_type_id.parse::<Uuid>().ok()?;
                Some(Arc::new(Room {
                    id,
                    head: pb::AvailableRoomHead::new(&pb::AvailableRoom {
                        room_type_id: id.to_string(),
                        name: rt.name.clone(),
                        max_occupancy: rt.max_occupancy,
                        ..Default::default()
                    }),
                    base_occupancy: rt.base_occupancy,
                    max_occupancy: rt.max_occupancy,
                    extra_guest_fee: rt.extra_guest_fee.as_ref().map_or(0, |m| m.amount),
                    nights: nights_of(id),
                }))
            })
            .collect();
        listings.push(
            Listing {
                id,
                name: property.name.to_lowercase(),
                region: property.region.to_lowercase(),
                address: property.address.to_lowercase(),
                description: property.description.to_lowercase(),
                rooms,
                sales: sales.remove(&id).unwrap_or_default(),
                encoded: pb::EncodedProperty::new(&property),
                head: pb::SearchResultHead::new(&pb::SearchResult {
                    property_id: property.property_id.clone(),
                    name: property.name.clone(),
                    region: property.region.clone(),
                    address: property.address.clone(),
                    thumbnail_url: property.image_urls.first().cloned().unwrap_or_default(),
                    rating: property.rating,
                    review_count: property.review_count,
                    ..Default::default()
                }),
                property: Arc::new(property),
                bounds: Default::default(),
            }
            .with_bounds(),
        );
    }
    Ok(listings)
}

/// Time sales not yet over, by property.
async fn sales(pool: &PgPool, ids: Option<&[Uuid]>) -> Result<HashMap<Uuid, Vec<Sale>>> {
    type SaleRow = (Uuid, Option<Uuid>, i32, DateTime<Utc>, DateTime<Utc>);
    let filter = if ids.is_some() {
        "AND property_id = ANY($1)"
    } else {
        ""
    };
    let sql = format!(
        "SELECT property_id, room_type_id, discount_percent, starts_at, ends_at \
         FROM time_sale WHERE ends_at > now() {filter}"
    );
    let mut query = sqlx::query_as::<_, SaleRow>(sqlx::AssertSqlSafe(sql));
    if let Some(ids) = ids {
        query = query.bind(ids);
    }
    let mut by_property: HashMap<Uuid, Vec<Sale>> = HashMap::new();
    for (property, room_type, percent, starts_at, ends_at) in query.fetch_all(pool).await? {
        by_property.entry(property).or_default().push(Sale {
            room_type,
            percent,
            starts_at,
            ends_at,
        });
    }
    Ok(by_property)
}

/// What a calendar row leaves for sale: nothing when closed.
const LEFT: &str = "CASE WHEN closed THEN 0 ELSE total - held - sold END";

/// The nights from `from` on of these room types (all for `None`), each
/// room type's as arrays so eleven million nights decode quickly.
pub(crate) async fn nights(
    pool: &PgPool,
    room_types: Option<&[Uuid]>,
    from: NaiveDate,
) -> Result<HashMap<Uuid, Nights>> {
    type Row = (Uuid, Vec<NaiveDate>, Vec<i64>, Vec<i32>);
    let filter = if room_types.is_some() {
        "AND room_type_id = ANY($2)"
    } else {
        ""
    };
    let sql = format!(
        "SELECT room_type_id, array_agg(night), array_agg(price), array_agg({LEFT}) \
         FROM night WHERE night >= $1 {filter} GROUP BY room_type_id"
    );
    let mut query = sqlx::query_as::<_, Row>(sqlx::AssertSqlSafe(sql)).bind(from);
    if let Some(ids) = room_types {
        query = query.bind(ids);
    }
    // Streamed: the rows of the large data set would take twice the index's
    // own memory at once.
    let mut rows = query.fetch(pool);
    let mut out = HashMap::new();
    while let Some((room_type, nights, prices, left)) = rows.try_next().await? {
        let rows: Vec<NightRow> = nights
            .into_iter()
            .zip(prices)
            .zip(left)
            .map(|((night, price), left)| NightRow { night, price, left })
            .collect();
        out.insert(room_type, Nights::default().with(&rows));
    }
    Ok(out)
}

/// The nights of each (room type, first, last) range, by room type.
pub(crate) async fn night_ranges(
    pool: &PgPool,
    ranges: &[(Uuid, NaiveDate, NaiveDate)],
) -> Result<HashMap<Uuid, Vec<NightRow>>> {
    let ids: Vec<Uuid> = ranges.iter().map(|r| r.0).collect();
    let firsts: Vec<NaiveDate> = ranges.iter().map(|r| r.1).collect();
    let lasts: Vec<NaiveDate> = ranges.iter().map(|r| r.2).collect();
    let rows: Vec<(Uuid, NaiveDate, i64, i32)> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT n.room_type_id, n.night, n.price, {LEFT} \
         FROM unnest($1::uuid[], $2::date[], $3::date[]) AS r(id, first, last) \
         JOIN night n ON n.room_type_id = r.id AND n.night BETWEEN r.first AND r.last"
    )))
    .bind(ids)
    .bind(firsts)
    .bind(lasts)
    .fetch_all(pool)
    .await?;
    let mut out: HashMap<Uuid, Vec<NightRow>> = HashMap::new();
    for (room_type, night, price, left) in rows {
        out.entry(room_type)
            .or_default()
            .push(NightRow { night, price, left });
    }
    Ok(out)
}

/// The properties these room types belong to.
pub(crate) async fn properties_of(pool: &PgPool, room_types: &[Uuid]) -> Result<Vec<Uuid>> {
    Ok(
        sqlx::query_scalar("SELECT DISTINCT property_id FROM room_type WHERE id = ANY($1)")
            .bind(room_types)
            .fetch_all(pool)
            .await?,
    )
}
