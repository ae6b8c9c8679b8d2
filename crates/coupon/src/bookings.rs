//! A booking's use of a user coupon: quote, reserve, redeem, release. Every
//! step is keyed by the booking id and idempotent, because the saga retries;
//! a coupon serves at most one booking (a unique index as well as the row
//! lock here) and a booking holds at most one coupon.

use chrono::Utc;
use sqlx::{PgConnection, PgPool};
use staymesh_platform::FieldViolations;
use staymesh_platform::convert::{id, won};
use staymesh_platform::db::is_unique_violation;
use staymesh_proto::common::Money;
use uuid::Uuid;

use crate::user_coupons::{UserCouponRow, select_user_coupons};
use staymesh_platform::rpc::{Error, Result};

/// A validated quote or reservation request.
#[derive(Debug, Clone)]
pub(crate) struct Use {
    pub(crate) booking_id: String,
    pub(crate) user_id: String,
    pub(crate) user_coupon_id: Uuid,
    pub(crate) host_id: String,
    pub(crate) price: i64,
}

impl Use {
    pub(crate) fn validate(
        booking_id: &str,
        user_id: &str,
        user_coupon_id: &str,
        host_id: &str,
        price: Option<&Money>,
    ) -> Result<Self> {
        let mut v = FieldViolations::new();
        let booking_id = booking(booking_id, &mut v);
        v.check(!user_id.is_empty(), "user_id", "is required");
        let user_coupon_id = id(user_coupon_id, "user_coupon_id", &mut v);
        v.check(!host_id.is_empty(), "host_id", "is required");
        let price = won(price, "price", &mut v);
        v.into_result()?;
        // Both parsers record a violation whenever they give None.
        let (Some(user_coupon_id), Some(price)) = (user_coupon_id, price) else {
            return Err(Error::invalid("request", "is incomplete"));
        };
        Ok(Self {
            booking_id,
            user_id: user_id.to_owned(),
            user_coupon_id,
            host_id: host_id.to_owned(),
            price,
        })
    }
}

/// Booking ids are UUIDs; kept as text, as the booking service issues them.
fn booking(text: &str, v: &mut FieldViolations) -> String {
    id(text, "booking_id", v);
    text.to_owned()
}

/// Checks a bare booking id (redeem, release).
pub(crate) fn booking_id(text: &str) -> Result<String> {
    let mut v = FieldViolations::new();
    let booking_id = booking(text, &mut v);
    v.into_result()?;
    Ok(booking_id)
}

async fn lock_coupon(db: &mut PgConnection, user_coupon_id: Uuid) -> Result<Option<UserCouponRow>> {
    Ok(
        sqlx::query_as::<_, UserCouponRow>(sqlx::AssertSqlSafe(select_user_coupons(
            "uc.id = $1 FOR UPDATE OF uc",
        )))
        .bind(user_coupon_id)
        .fetch_optional(db)
        .await?,
    )
}

async fn lock_booking(db: &mut PgConnection, booking_id: &str) -> Result<Option<UserCouponRow>> {
    Ok(
        sqlx::query_as::<_, UserCouponRow>(sqlx::AssertSqlSafe(select_user_coupons(
            "uc.booking_id = $1 FOR UPDATE OF uc",
        )))
        .bind(booking_id)
        .fetch_optional(db)
        .await?,
    )
}

/// Serializes a booking's reserve and release (a row lock cannot: before the
/// release there is no row to lock), then tells whether it was released.
async fn lock_released(db: &mut PgConnection, booking_id: &str) -> Result<bool> {
    sqlx::query("SELECT pg_advisory_xact_lock(hashtextextended($1, 0))")
        .bind(booking_id)
        .execute(&mut *db)
        .await?;
    Ok(sqlx::query_scalar::<_, bool>(
        "SELECT EXISTS (SELECT 1 FROM released_booking WHERE booking_id = $1)",
    )
    .bind(booking_id)
    .fetch_one(db)
    .await?)
}

/// The user's coupon, or NOT_FOUND (also for somebody else's: no hint that it exists).
fn owned(row: Option<UserCouponRow>, u: &Use) -> Result<UserCouponRow> {
    row.filter(|r| r.uc_user_id == u.user_id)
        .ok_or_else(|| Error::not_found("user coupon", u.user_coupon_id.to_string()))
}

/// The discount the coupon would give, or why it would not.
pub(crate) async fn quote(pool: &PgPool, u: &Use) -> Result<std::result::Result<i64, String>> {
    let mut conn = pool.acquire().await?;
    let row = owned(
        sqlx::query_as::<_, UserCouponRow>(sqlx::AssertSqlSafe(select_user_coupons("uc.id = $1")))
            .bind(u.user_coupon_id)
            .fetch_optional(&mut *conn)
            .await?,
        u,
    )?;
    let held_by_this_booking = row.uc_booking_id.as_deref() == Some(u.booking_id.as_str());
    if row.uc_state != "AVAILABLE" && !held_by_this_booking {
        return Ok(Err(format!(
            "the coupon is {}",
            row.uc_state.to_lowercase()
        )));
    }
    Ok(row
        .coupon
        .terms()
        .discount(u.price, &u.host_id, Utc::now())
        .map_err(|reason| reason.to_string()))
}

/// Reserves the coupon for the booking and fixes the discount; returns the
/// coupon as reserved. Asking again for the same booking returns the same.
pub(crate) async fn reserve(pool: &PgPool, u: &Use) -> Result<UserCouponRow> {
    let mut tx = pool.begin().await?;
    if lock_released(&mut tx, &u.booking_id).await? {
        return Err(Error::Precondition(format!(
            "booking {} has released its coupon already",
            u.booking_id
        )));
    }
    let row = owned(lock_coupon(&mut tx, u.user_coupon_id).await?, u)?;
    if row.uc_booking_id.as_deref() == Some(u.booking_id.as_str()) {
        return Ok(row);
    }
    if row.uc_state != "AVAILABLE" {
        return Err(Error::Precondition(format!(
            "the coupon is {} by another booking",
            row.uc_state.to_lowercase()
        )));
    }
    if let Some(other) = lock_booking(&mut tx, &u.booking_id).await? {
        return Err(Error::Precondition(format!(
            "booking {} already holds coupon {}",
            u.booking_id, other.uc_id
        )));
    }
    let discount = row
        .coupon
        .terms()
        .discount(u.price, &u.host_id, Utc::now())
        .map_err(|reason| Error::Precondition(format!("the coupon does not apply: {reason}")))?;
    sqlx::query(
        "UPDATE user_coupon SET state = 'RESERVED', booking_id = $2, discount = $3, \
         reserved_at = now() WHERE id = $1",
    )
    .bind(u.user_coupon_id)
    .bind(&u.booking_id)
    .bind(discount)
    .execute(&mut *tx)
    .await
    .map_err(|e| {
        // Another coupon reserved for the same booking at the same moment.
        if is_unique_violation(&e) {
            Error::Precondition(format!("booking {} already holds a coupon", u.booking_id))
        } else {
            e.into()
        }
    })?;
    let reserved = lock_coupon(&mut tx, u.user_coupon_id).await?;
    tx.commit().await?;
    reserved.ok_or_else(|| Error::not_found("user coupon", u.user_coupon_id.to_string()))
}

/// RESERVED -> REDEEMED for the booking's coupon; REDEEMED stays.
pub(crate) async fn redeem(pool: &PgPool, booking_id: &str) -> Result<UserCouponRow> {
    let mut tx = pool.begin().await?;
    let row = lock_booking(&mut tx, booking_id)
        .await?
        .ok_or_else(|| Error::not_found("coupon reserved by booking", booking_id))?;
    if row.uc_state == "REDEEMED" {
        return Ok(row);
    }
    sqlx::query("UPDATE user_coupon SET state = 'REDEEMED', redeemed_at = now() WHERE id = $1")
        .bind(row.uc_id)
        .execute(&mut *tx)
        .await?;
    let redeemed = lock_booking(&mut tx, booking_id).await?;
    tx.commit().await?;
    redeemed.ok_or_else(|| Error::not_found("coupon reserved by booking", booking_id))
}

/// Gives the booking's coupon back: AVAILABLE, or EXPIRED past its validity.
/// `None` when the booking holds no coupon (released already, or never had one).
/// Either way the booking is remembered as released, so a reservation for it
/// that arrives later is refused.
pub(crate) async fn release(pool: &PgPool, booking_id: &str) -> Result<Option<UserCouponRow>> {
    let mut tx = pool.begin().await?;
    lock_released(&mut tx, booking_id).await?;
    sqlx::query("INSERT INTO released_booking (booking_id) VALUES ($1) ON CONFLICT DO NOTHING")
        .bind(booking_id)
        .execute(&mut *tx)
        .await?;
    let Some(row) = lock_booking(&mut tx, booking_id).await? else {
        tx.commit().await?;
        return Ok(None);
    };
    sqlx::query(
        "UPDATE user_coupon SET \
           state = CASE WHEN $2 THEN 'EXPIRED' ELSE 'AVAILABLE' END, \
           booking_id = NULL, discount = NULL, reserved_at = NULL, redeemed_at = NULL \
         WHERE id = $1",
    )
    .bind(row.uc_id)
    .bind(Utc::now() >= row.coupon.valid_until)
    .execute(&mut *tx)
    .await?;
    let released =
        sqlx::query_as::<_, UserCouponRow>(sqlx::AssertSqlSafe(select_user_coupons("uc.id = $1")))
            .bind(row.uc_id)
            .fetch_optional(&mut *tx)
            .await?;
    tx.commit().await?;
    Ok(released)
}
