//! Users' coupons in Postgres: writing claims in batches (idempotent on
//! (event, user)), and reading a user's coupon box.

use chrono::{DateTime, Utc};
use sqlx::{PgConnection, PgExecutor, PgPool};
use staymesh_platform::convert::{money, timestamp};
use staymesh_proto::coupon as pb;
use uuid::Uuid;

use crate::coupons::{CouponRow, coupon_columns};
use staymesh_platform::rpc::Result;

/// A claim to persist.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Issued {
    pub(crate) user_coupon_id: Uuid,
    pub(crate) event_id: Uuid,
    pub(crate) coupon_id: Uuid,
    pub(crate) user_id: String,
    pub(crate) issued_at: DateTime<Utc>,
}

/// Stores `claims` in one statement; rows already there (a redelivered
/// message, a claim the fallback or the reconciler wrote first) are skipped,
/// and each event's `issued` counter grows by what was really inserted, in the
/// same statement, so the quantity CHECK guards the rows. Returns how many
/// were new.
pub(crate) async fn store(db: &mut PgConnection, claims: &[Issued]) -> Result<u64> {
    if claims.is_empty() {
        return Ok(0);
    }
    let ids: Vec<Uuid> = claims.iter().map(|c| c.user_coupon_id).collect();
    let events: Vec<Uuid> = claims.iter().map(|c| c.event_id).collect();
    let coupons: Vec<Uuid> = claims.iter().map(|c| c.coupon_id).collect();
    let users: Vec<&str> = claims.iter().map(|c| c.user_id.as_str()).collect();
    let at: Vec<DateTime<Utc>> = claims.iter().map(|c| c.issued_at).collect();
    let inserted: Option<i64> = sqlx::query_scalar(
        "WITH inserted AS ( \
           INSERT INTO user_coupon (id, event_id, coupon_id, user_id, issued_at) \
           SELECT * FROM unnest($1::uuid[], $2::uuid[], $3::uuid[], $4::text[], $5::timestamptz[]) \
           ON CONFLICT (event_id, user_id) DO NOTHING \
           RETURNING event_id \
         ), counted AS ( \
           UPDATE issuance_event e SET issued = e.issued + n.count \
           FROM (SELECT event_id, count(*) AS count FROM inserted GROUP BY event_id) n \
           WHERE e.id = n.event_id \
           RETURNING n.count \
         ) \
         SELECT sum(count)::bigint FROM counted",
    )
    .bind(&ids)
    .bind(&events)
    .bind(&coupons)
    .bind(&users)
    .bind(&at)
    .fetch_one(db)
    .await?;
    let inserted = inserted.unwrap_or(0).max(0) as u64;
    metrics::counter!("coupon_user_coupons_stored_total").increment(inserted);
    Ok(inserted)
}

/// The user ids holding a coupon of the event, and when they got it.
pub(crate) async fn holders(
    db: impl PgExecutor<'_>,
    event_id: Uuid,
) -> Result<Vec<(String, Uuid, DateTime<Utc>)>> {
    Ok(
        sqlx::query_as("SELECT user_id, id, issued_at FROM user_coupon WHERE event_id = $1")
            .bind(event_id)
            .fetch_all(db)
            .await?,
    )
}

/// One row of `user_coupon`, with its coupon.
#[derive(Debug, Clone, sqlx::FromRow)]
pub(crate) struct UserCouponRow {
    pub(crate) uc_id: Uuid,
    pub(crate) uc_event_id: Uuid,
    pub(crate) uc_user_id: String,
    pub(crate) uc_state: String,
    pub(crate) uc_booking_id: Option<String>,
    pub(crate) uc_discount: Option<i64>,
    pub(crate) uc_issued_at: DateTime<Utc>,
    pub(crate) uc_redeemed_at: Option<DateTime<Utc>>,
    #[sqlx(flatten)]
    pub(crate) coupon: CouponRow,
}

/// `SELECT` of `UserCouponRow`s (each with its coupon) matching `condition`,
/// which may use `uc.` and `c.` and append ORDER BY, LIMIT or FOR UPDATE.
pub(crate) fn select_user_coupons(condition: &str) -> String {
    format!(
        "SELECT {} FROM user_coupon uc JOIN coupon c ON c.id = uc.coupon_id WHERE {condition}",
        user_coupon_columns()
    )
}

/// The columns `UserCouponRow` reads, from `user_coupon uc JOIN coupon c`.
fn user_coupon_columns() -> String {
    format!(
        "uc.id AS uc_id, uc.event_id AS uc_event_id, uc.user_id AS uc_user_id, \
         uc.state AS uc_state, uc.booking_id AS uc_booking_id, uc.discount AS uc_discount, \
         uc.issued_at AS uc_issued_at, uc.redeemed_at AS uc_redeemed_at, {}",
        coupon_columns("c")
    )
}

impl UserCouponRow {
    pub(crate) fn to_proto(&self) -> pb::UserCoupon {
        let state = match self.uc_state.as_str() {
            "AVAILABLE" => pb::UserCouponState::Available,
            "RESERVED" => pb::UserCouponState::Reserved,
            "REDEEMED" => pb::UserCouponState::Redeemed,
            "EXPIRED" => pb::UserCouponState::Expired,
            _ => pb::UserCouponState::Unspecified,
        };
        // An unused coupon past its validity shows as expired.
        let state =
            if state == pb::UserCouponState::Available && Utc::now() >= self.coupon.valid_until {
                pb::UserCouponState::Expired
            } else {
                state
            };
        pb::UserCoupon {
            user_coupon_id: self.uc_id.to_string(),
            user_id: self.uc_user_id.clone(),
            coupon_id: self.coupon.id.to_string(),
            event_id: self.uc_event_id.to_string(),
            coupon: Some(self.coupon.to_proto()),
            state: state as i32,
            booking_id: self.uc_booking_id.clone().unwrap_or_default(),
            issued_at: Some(timestamp(self.uc_issued_at)),
            redeemed_at: self.uc_redeemed_at.map(timestamp),
        }
    }

    /// The discount fixed at reservation, on the wire.
    pub(crate) fn discount(&self) -> Option<staymesh_proto::common::Money> {
        self.uc_discount.map(money)
    }
}

/// A user's coupons, newest first, optionally in one state.
pub(crate) async fn list_for_user(
    pool: &PgPool,
    user_id: &str,
    state: pb::UserCouponState,
    limit: i64,
    offset: i64,
) -> Result<Vec<UserCouponRow>> {
    // AVAILABLE and EXPIRED as the guest sees them: an unused coupon past its
    // validity is expired, whatever its row says.
    let condition = match state {
        pb::UserCouponState::Unspecified => "true",
        pb::UserCouponState::Available => "uc.state = 'AVAILABLE' AND c.valid_until > now()",
        pb::UserCouponState::Reserved => "uc.state = 'RESERVED'",
        pb::UserCouponState::Redeemed => "uc.state = 'REDEEMED'",
        pb::UserCouponState::Expired => {
            "(uc.state = 'EXPIRED' OR (uc.state = 'AVAILABLE' AND c.valid_until <= now()))"
        }
    };
    Ok(
        sqlx::query_as::<_, UserCouponRow>(sqlx::AssertSqlSafe(select_user_coupons(&format!(
            "uc.user_id = $1 AND {condition} \
             ORDER BY uc.issued_at DESC, uc.id DESC LIMIT $2 OFFSET $3"
        ))))
        .bind(user_id)
        .bind(limit)
        .bind(offset)
        .fetch_all(pool)
        .await?,
    )
}
