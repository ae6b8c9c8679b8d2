//! What a stay costs now: the nightly sale prices of one room type (time
//! sales applied, as a hold would price them) plus the extra-guest fee for
//! every guest over the base occupancy, per night and room. Nothing is held;
//! the booking service prices a booking with this before its saga holds.

use sqlx::PgPool;
use staymesh_platform::FieldViolations;
use staymesh_proto::accommodation as pb;
use uuid::Uuid;

use crate::convert::{self, Nights, money};
use staymesh_platform::rpc::{Error, Result};

/// A quote asked for, read and checked.
#[derive(Debug, Clone, Copy)]
pub(crate) struct QuoteRequest {
    pub(crate) room_type_id: Uuid,
    pub(crate) nights: Nights,
    pub(crate) guests: i32,
    pub(crate) rooms: i32,
}

impl QuoteRequest {
    pub(crate) fn read(r: &pb::QuoteStayRequest) -> Result<Self> {
        let mut v = FieldViolations::new();
        let room_type_id = convert::id(&r.room_type_id, "room_type_id", &mut v);
        let nights = convert::stay(r.check_in.as_ref(), r.check_out.as_ref(), &mut v);
        v.check(r.guests >= 1, "guests", "must be at least 1");
        let rooms = if r.rooms == 0 { 1 } else { r.rooms };
        v.check(
            (1..=100).contains(&rooms),
            "rooms",
            "must be between 1 and 100",
        );
        v.into_result()?;
        let (Some(room_type_id), Some(nights)) = (room_type_id, nights) else {
            return Err(Error::invalid("request", "is incomplete"));
        };
        Ok(Self {
            room_type_id,
            nights,
            guests: r.guests,
            rooms,
        })
    }
}

#[derive(Debug, sqlx::FromRow)]
struct RoomTypeRow {
    property_id: Uuid,
    host_id: String,
    property_name: String,
    room_type_name: String,
    base_occupancy: i32,
    max_occupancy: i32,
    extra_guest_fee: i64,
}

/// The price of the stay asked for, or why it cannot be priced.
pub(crate) async fn quote(pool: &PgPool, q: &QuoteRequest) -> Result<pb::QuoteStayResponse> {
    let room: Option<RoomTypeRow> = sqlx::query_as(
        "SELECT rt.property_id, p.host_id, p.name AS property_name, rt.name AS room_type_name, \
                rt.base_occupancy, rt.max_occupancy, rt.extra_guest_fee \
         FROM room_type rt JOIN property p ON p.id = rt.property_id WHERE rt.id = $1",
    )
    .bind(q.room_type_id)
    .fetch_optional(pool)
    .await?;
    let room = room.ok_or_else(|| Error::not_found("room type", q.room_type_id.to_string()))?;
    if q.guests > room.max_occupancy {
        return Err(Error::invalid(
            "guests",
            format!(
                "must be at most {} (the room type's max_occupancy)",
                room.max_occupancy
            ),
        ));
    }
    // Nights missing from the calendar count as none left.
    let (priced, nights_price, fewest_left): (i64, Option<i64>, Option<i32>) = sqlx::query_as(
        "SELECT count(*), sum(sale_price(price, active_sale_percent(room_type_id, now())))::bigint, \
                min(CASE WHEN closed THEN 0 ELSE total - held - sold END) \
         FROM night WHERE room_type_id = $1 AND night >= $2 AND night < $3",
    )
    .bind(q.room_type_id)
    .bind(q.nights.start)
    .bind(q.nights.end)
    .fetch_one(pool)
    .await?;
    // Booking at a sale with a waiting room needs that queue's admission.
    let guarded: Option<Uuid> = sqlx::query_scalar(
        "SELECT ts.id FROM time_sale ts JOIN room_type rt ON rt.property_id = ts.property_id \
         WHERE rt.id = $1 AND (ts.room_type_id IS NULL OR ts.room_type_id = rt.id) \
           AND ts.waiting_room AND ts.starts_at <= now() AND now() < ts.ends_at \
         ORDER BY ts.discount_percent DESC, ts.id LIMIT 1",
    )
    .bind(q.room_type_id)
    .fetch_optional(pool)
    .await?;
    let count = q.nights.count();
    let rooms = i64::from(q.rooms);
    let extra_guests = i64::from((q.guests - room.base_occupancy).max(0));
    let nights_price = nights_price.unwrap_or(0) * rooms;
    let fees = room.extra_guest_fee * extra_guests * count * rooms;
    let rooms_left = if priced == count {
        fewest_left.unwrap_or(0).max(0)
    } else {
        0
    };
    Ok(pb::QuoteStayResponse {
        property_id: room.property_id.to_string(),
        host_id: room.host_id,
        property_name: room.property_name,
        room_type_name: room.room_type_name,
        nights_price: Some(money(nights_price)),
        extra_guest_fees: Some(money(fees)),
        total_price: Some(money(nights_price + fees)),
        rooms_left,
        guarded_time_sale_id: guarded.map(|id| id.to_string()).unwrap_or_default(),
    })
}
