//! Holds: the nights of one booking, held while it awaits payment, then sold
//! or released. Every operation is atomic over all nights and idempotent per
//! booking id, and night rows are always locked in date order so concurrent
//! holds queue up instead of deadlocking.

use chrono::NaiveDate;
use sqlx::{PgConnection, PgPool};
use staymesh_platform::FieldViolations;
use staymesh_proto::accommodation as pb;
use staymesh_proto::common;
use uuid::Uuid;

use crate::convert::{self, Nights, money, to_proto_date};
use staymesh_platform::rpc::{Error, Result};

#[derive(Debug, Clone, sqlx::FromRow)]
struct HoldRow {
    booking_id: Uuid,
    room_type_id: Option<Uuid>,
    check_in: Option<NaiveDate>,
    check_out: Option<NaiveDate>,
    rooms: i32,
    state: String,
    total_price: i64,
}

impl HoldRow {
    fn nights(&self) -> Option<(Uuid, Nights)> {
        Some((
            self.room_type_id?,
            Nights {
                start: self.check_in?,
                end: self.check_out?,
            },
        ))
    }

    fn into_proto(self) -> pb::Hold {
        let state = match self.state.as_str() {
            "HELD" => pb::HoldState::Held,
            "CONFIRMED" => pb::HoldState::Confirmed,
            _ => pb::HoldState::Released,
        };
        pb::Hold {
            booking_id: self.booking_id.to_string(),
            room_type_id: self
                .room_type_id
                .map(|id| id.to_string())
                .unwrap_or_default(),
            check_in: self.check_in.map(to_proto_date),
            check_out: self.check_out.map(to_proto_date),
            rooms: self.rooms,
            state: state as i32,
            total_price: Some(money(self.total_price)),
        }
    }
}

const HOLD_COLUMNS: &str =
    "booking_id, room_type_id, check_in, check_out, rooms, state, total_price";

async fn lock_hold(conn: &mut PgConnection, booking_id: Uuid) -> Result<Option<HoldRow>> {
    Ok(sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT {HOLD_COLUMNS} FROM hold WHERE booking_id = $1 FOR UPDATE"
    )))
    .bind(booking_id)
    .fetch_optional(conn)
    .await?)
}

#[derive(Debug, sqlx::FromRow)]
struct LockedNight {
    night: NaiveDate,
    available: i32,
    closed: bool,
    price: i64,
}

/// Locks the nights of a stay in date order, with their sale prices now.
async fn lock_nights(
    conn: &mut PgConnection,
    room_type_id: Uuid,
    nights: Nights,
) -> Result<Vec<LockedNight>> {
    Ok(sqlx::query_as(
        "SELECT night, total - held - sold AS available, closed, \
                sale_price(price, active_sale_percent(room_type_id, now())) AS price \
         FROM night WHERE room_type_id = $1 AND night >= $2 AND night < $3 \
         ORDER BY night FOR UPDATE",
    )
    .bind(room_type_id)
    .bind(nights.start)
    .bind(nights.end)
    .fetch_all(conn)
    .await?)
}

/// A hold asked for, read and checked (from HoldNights or the saga's command).
#[derive(Debug, Clone, Copy)]
pub(crate) struct HoldRequest {
    pub(crate) booking_id: Uuid,
    pub(crate) room_type_id: Uuid,
    pub(crate) nights: Nights,
    pub(crate) rooms: i32,
}

impl HoldRequest {
    /// Reads the fields of a hold; violations name them. `rooms` 0 means 1.
    pub(crate) fn read(
        booking_id: &str,
        room_type_id: &str,
        check_in: Option<&common::Date>,
        check_out: Option<&common::Date>,
        rooms: i32,
    ) -> Result<Self> {
        let mut v = FieldViolations::new();
        let booking_id = convert::id(booking_id, "booking_id", &mut v);
        let room_type_id = convert::id(room_type_id, "room_type_id", &mut v);
        let nights = convert::stay(check_in, check_out, &mut v);
        let rooms = if rooms == 0 { 1 } else { rooms };
        v.check(
            (1..=100).contains(&rooms),
            "rooms",
            "must be between 1 and 100",
        );
        v.into_result()?;
        let (Some(booking_id), Some(room_type_id), Some(nights)) =
            (booking_id, room_type_id, nights)
        else {
            return Err(Error::invalid("request", "is incomplete"));
        };
        Ok(Self {
            booking_id,
            room_type_id,
            nights,
            rooms,
        })
    }
}

/// Holds the rooms asked for on every night of the stay, or nothing.
pub(crate) async fn hold(pool: &PgPool, request: &HoldRequest) -> Result<pb::Hold> {
    let HoldRequest {
        booking_id,
        room_type_id,
        nights,
        rooms,
    } = *request;
    let mut tx = pool.begin().await?;
    // Claim the booking id first: a concurrent retry of the same booking waits
    // here and then sees our hold.
    let inserted = sqlx::query(
        "INSERT INTO hold (booking_id, room_type_id, check_in, check_out, rooms, state) \
         VALUES ($1, $2, $3, $4, $5, 'HELD') ON CONFLICT (booking_id) DO NOTHING",
    )
    .bind(booking_id)
    .bind(room_type_id)
    .bind(nights.start)
    .bind(nights.end)
    .bind(rooms)
    .execute(&mut *tx)
    .await?
    .rows_affected();
    if inserted == 0 {
        let existing = lock_hold(&mut tx, booking_id)
            .await?
            .ok_or_else(|| Error::Precondition("hold changed concurrently, retry".into()))?;
        tx.rollback().await?;
        return replay(existing, room_type_id, nights, rooms);
    }

    let locked = lock_nights(&mut tx, room_type_id, nights).await?;
    check_available(&locked, nights, rooms)?;
    let total: i64 = locked.iter().map(|n| n.price).sum::<i64>() * i64::from(rooms);
    sqlx::query(
        "UPDATE night SET held = held + $4 \
         WHERE room_type_id = $1 AND night >= $2 AND night < $3",
    )
    .bind(room_type_id)
    .bind(nights.start)
    .bind(nights.end)
    .bind(rooms)
    .execute(&mut *tx)
    .await?;
    let row: HoldRow = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "UPDATE hold SET total_price = $2, updated_at = now() WHERE booking_id = $1 \
         RETURNING {HOLD_COLUMNS}"
    )))
    .bind(booking_id)
    .bind(total)
    .fetch_one(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(row.into_proto())
}

/// A repeated HoldNights for a booking that already has a hold.
fn replay(existing: HoldRow, room_type_id: Uuid, nights: Nights, rooms: i32) -> Result<pb::Hold> {
    match existing.nights() {
        None => Err(Error::Precondition(format!(
            "booking {} was released; its nights cannot be held again",
            existing.booking_id
        ))),
        Some((rt, n)) if rt == room_type_id && n == nights && existing.rooms == rooms => {
            if existing.state == "RELEASED" {
                Err(Error::Precondition(format!(
                    "booking {} was released; its nights cannot be held again",
                    existing.booking_id
                )))
            } else {
                Ok(existing.into_proto())
            }
        }
        Some(_) => Err(Error::Precondition(format!(
            "booking {} already holds other nights",
            existing.booking_id
        ))),
    }
}

fn check_available(locked: &[LockedNight], nights: Nights, rooms: i32) -> Result<()> {
    if locked.len() as i64 != nights.count() {
        let mut date = nights.start;
        for n in locked {
            if n.night != date {
                break;
            }
            date = date.succ_opt().unwrap_or(date);
        }
        return Err(Error::Precondition(format!(
            "the night of {date} is not for sale"
        )));
    }
    match locked.iter().find(|n| n.closed || n.available < rooms) {
        Some(n) => Err(Error::Precondition(format!(
            "not enough rooms left on the night of {}",
            n.night
        ))),
        None => Ok(()),
    }
}

/// Moves a booking's held nights to sold.
pub(crate) async fn confirm(pool: &PgPool, booking_id: Uuid) -> Result<pb::Hold> {
    let mut tx = pool.begin().await?;
    let hold = lock_hold(&mut tx, booking_id)
        .await?
        .ok_or_else(|| Error::not_found("hold for booking", booking_id.to_string()))?;
    match hold.state.as_str() {
        "CONFIRMED" => return Ok(hold.into_proto()),
        "RELEASED" => {
            return Err(Error::Precondition(format!(
                "booking {booking_id} was released; it cannot be confirmed"
            )));
        }
        _ => {}
    }
    let (room_type_id, nights) = hold
        .nights()
        .ok_or_else(|| Error::Precondition("hold has no nights".into()))?;
    lock_nights(&mut tx, room_type_id, nights).await?;
    sqlx::query(
        "UPDATE night SET held = held - $4, sold = sold + $4 \
         WHERE room_type_id = $1 AND night >= $2 AND night < $3",
    )
    .bind(room_type_id)
    .bind(nights.start)
    .bind(nights.end)
    .bind(hold.rooms)
    .execute(&mut *tx)
    .await?;
    let row = set_state(&mut tx, booking_id, "CONFIRMED").await?;
    tx.commit().await?;
    Ok(row.into_proto())
}

/// Gives a booking's nights back, held or sold. Releasing an unknown booking
/// records the release so a late hold for it is refused.
pub(crate) async fn release(pool: &PgPool, booking_id: Uuid) -> Result<pb::Hold> {
    let mut tx = pool.begin().await?;
    let Some(hold) = lock_hold(&mut tx, booking_id).await? else {
        sqlx::query(
            "INSERT INTO hold (booking_id, rooms, state) VALUES ($1, 0, 'RELEASED') \
             ON CONFLICT (booking_id) DO NOTHING",
        )
        .bind(booking_id)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        // A concurrent hold may have won the insert; release that instead.
        return Box::pin(release_existing(pool, booking_id)).await;
    };
    let row = release_locked(&mut tx, hold).await?;
    tx.commit().await?;
    Ok(row.into_proto())
}

async fn release_existing(pool: &PgPool, booking_id: Uuid) -> Result<pb::Hold> {
    let mut tx = pool.begin().await?;
    let hold = lock_hold(&mut tx, booking_id)
        .await?
        .ok_or_else(|| Error::not_found("hold for booking", booking_id.to_string()))?;
    let row = release_locked(&mut tx, hold).await?;
    tx.commit().await?;
    Ok(row.into_proto())
}

async fn release_locked(tx: &mut PgConnection, hold: HoldRow) -> Result<HoldRow> {
    let column = match hold.state.as_str() {
        "HELD" => "held",
        "CONFIRMED" => "sold",
        _ => return Ok(hold),
    };
    if let Some((room_type_id, nights)) = hold.nights() {
        lock_nights(tx, room_type_id, nights).await?;
        sqlx::query(sqlx::AssertSqlSafe(format!(
            "UPDATE night SET {column} = {column} - $4 \
             WHERE room_type_id = $1 AND night >= $2 AND night < $3"
        )))
        .bind(room_type_id)
        .bind(nights.start)
        .bind(nights.end)
        .bind(hold.rooms)
        .execute(&mut *tx)
        .await?;
    }
    set_state(tx, hold.booking_id, "RELEASED").await
}

async fn set_state(conn: &mut PgConnection, booking_id: Uuid, state: &str) -> Result<HoldRow> {
    Ok(sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "UPDATE hold SET state = $2, updated_at = now() WHERE booking_id = $1 RETURNING {HOLD_COLUMNS}"
    )))
    .bind(booking_id)
    .bind(state)
    .fetch_one(conn)
    .await?)
}

/// The hold of a booking.
pub(crate) async fn get(pool: &PgPool, booking_id: Uuid) -> Result<pb::Hold> {
    let row: Option<HoldRow> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT {HOLD_COLUMNS} FROM hold WHERE booking_id = $1"
    )))
    .bind(booking_id)
    .fetch_optional(pool)
    .await?;
    row.map(HoldRow::into_proto)
        .ok_or_else(|| Error::not_found("hold for booking", booking_id.to_string()))
}
