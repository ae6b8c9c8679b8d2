//! Coupon definitions: what a coupon takes off, on which bookings, when.

use chrono::{DateTime, Utc};
use sqlx::{PgExecutor, PgPool};
use staymesh_platform::FieldViolations;
use staymesh_platform::auth::{Caller, Role};
use staymesh_platform::convert::{from_timestamp, money, timestamp, won};
use staymesh_proto::coupon as pb;
use uuid::Uuid;

use crate::discount::{Rule, Terms};
use staymesh_platform::rpc::{Error, Result};

/// One row of `coupon`.
#[derive(Debug, Clone, sqlx::FromRow)]
pub(crate) struct CouponRow {
    pub(crate) id: Uuid,
    pub(crate) name: String,
    pub(crate) description: String,
    pub(crate) discount_type: String,
    pub(crate) discount_percent: Option<i32>,
    pub(crate) max_discount: Option<i64>,
    pub(crate) discount_amount: Option<i64>,
    pub(crate) min_booking_price: Option<i64>,
    pub(crate) max_booking_price: Option<i64>,
    pub(crate) valid_from: DateTime<Utc>,
    pub(crate) valid_until: DateTime<Utc>,
    pub(crate) host_id: Option<String>,
    pub(crate) created_by: String,
    pub(crate) created_at: DateTime<Utc>,
}

pub(crate) const COUPON_COLUMNS: &str = "id, name, description, discount_type, discount_percent, \
    max_discount, discount_amount, min_booking_price, max_booking_price, valid_from, \
    valid_until, host_id, created_by, created_at";

/// `COUPON_COLUMNS` qualified by a table alias, for joins.
pub(crate) fn coupon_columns(alias: &str) -> String {
    COUPON_COLUMNS
        .split(',')
        .map(|c| format!("{alias}.{}", c.trim()))
        .collect::<Vec<_>>()
        .join(", ")
}

impl CouponRow {
    pub(crate) fn terms(&self) -> Terms {
        let rule = match self.discount_type.as_str() {
            "PERCENT" => Rule::Percent {
                percent: i64::from(self.discount_percent.unwrap_or(0)),
                cap: self.max_discount,
            },
            _ => Rule::Amount(self.discount_amount.unwrap_or(0)),
        };
        Terms {
            rule,
            min_price: self.min_booking_price,
            max_price: self.max_booking_price,
            valid_from: self.valid_from,
            valid_until: self.valid_until,
            host_id: self.host_id.clone(),
        }
    }

    pub(crate) fn to_proto(&self) -> pb::Coupon {
        let discount_type = match self.discount_type.as_str() {
            "PERCENT" => pb::DiscountType::Percent,
            _ => pb::DiscountType::Amount,
        };
        pb::Coupon {
            coupon_id: self.id.to_string(),
            name: self.name.clone(),
            description: self.description.clone(),
            discount_type: discount_type as i32,
            discount_percent: self.discount_percent.unwrap_or(0),
            max_discount: self.max_discount.map(money),
            discount_amount: self.discount_amount.map(money),
            min_booking_price: self.min_booking_price.map(money),
            max_booking_price: self.max_booking_price.map(money),
            valid_from: Some(timestamp(self.valid_from)),
            valid_until: Some(timestamp(self.valid_until)),
            host_id: self.host_id.clone().unwrap_or_default(),
            created_by: self.created_by.clone(),
            created_at: Some(timestamp(self.created_at)),
        }
    }

    /// Whether `caller` may manage this coupon and its events.
    pub(crate) fn managed_by(&self, caller: &Caller) -> bool {
        caller.is_admin() || self.created_by == caller.user_id
    }
}

/// A validated CreateCouponRequest.
#[derive(Debug)]
pub(crate) struct NewCoupon {
    name: String,
    description: String,
    discount_type: &'static str,
    discount_percent: Option<i32>,
    max_discount: Option<i64>,
    discount_amount: Option<i64>,
    min_booking_price: Option<i64>,
    max_booking_price: Option<i64>,
    valid_from: DateTime<Utc>,
    valid_until: DateTime<Utc>,
    host_id: Option<String>,
}

/// An optional amount: unset (or zero where zero means "none") is `None`.
fn optional_won(
    value: Option<&staymesh_proto::common::Money>,
    field: &str,
    v: &mut FieldViolations,
) -> Option<i64> {
    value.and_then(|m| won(Some(m), field, v))
}

/// A new coupon from its request. The contract's rules on each field were
/// checked before the handler ran; these are the rules relating fields (by
/// discount type, min and max, the validity window), the clock and the caller.
pub(crate) fn validate(r: &pb::CreateCouponRequest, caller: &Caller) -> Result<NewCoupon> {
    let mut v = FieldViolations::new();
    let name = r.name.trim().to_owned();
    let (discount_type, discount_percent, max_discount, discount_amount) =
        match pb::DiscountType::try_from(r.discount_type) {
            Ok(pb::DiscountType::Percent) => {
                v.check(
                    (1..=100).contains(&r.discount_percent),
                    "discount_percent",
                    "must be between 1 and 100",
                );
                let cap = optional_won(r.max_discount.as_ref(), "max_discount", &mut v);
                v.check(
                    cap != Some(0),
                    "max_discount",
                    "must be greater than 0 when set",
                );
                v.check(
                    r.discount_amount.is_none(),
                    "discount_amount",
                    "is only for AMOUNT coupons",
                );
                ("PERCENT", Some(r.discount_percent), cap, None)
            }
            Ok(pb::DiscountType::Amount) => {
                let amount = won(r.discount_amount.as_ref(), "discount_amount", &mut v);
                v.check(
                    amount.is_none_or(|a| a > 0),
                    "discount_amount",
                    "must be greater than 0",
                );
                v.check(
                    r.discount_percent == 0,
                    "discount_percent",
                    "is only for PERCENT coupons",
                );
                v.check(
                    r.max_discount.is_none(),
                    "max_discount",
                    "is only for PERCENT coupons",
                );
                ("AMOUNT", None, None, amount)
            }
            _ => {
                v.add("discount_type", "must be PERCENT or AMOUNT");
                ("AMOUNT", None, None, None)
            }
        };
    let min_booking_price = optional_won(r.min_booking_price.as_ref(), "min_booking_price", &mut v);
    let max_booking_price = optional_won(r.max_booking_price.as_ref(), "max_booking_price", &mut v);
    if let (Some(min), Some(max)) = (min_booking_price, max_booking_price) {
        v.check(
            min <= max,
            "max_booking_price",
            "must not be below min_booking_price",
        );
    }
    let valid_from = from_timestamp(r.valid_from.as_ref(), "valid_from", &mut v);
    let valid_until = from_timestamp(r.valid_until.as_ref(), "valid_until", &mut v);
    if let (Some(from), Some(until)) = (valid_from, valid_until) {
        v.check(until > from, "valid_until", "must be after valid_from");
        v.check(until > Utc::now(), "valid_until", "must be in the future");
    }
    let host_id = match caller.role {
        Role::Admin => (!r.host_id.is_empty()).then(|| r.host_id.clone()),
        _ => {
            // A host's coupon only ever discounts the host's own properties.
            v.check(
                r.host_id.is_empty() || r.host_id == caller.user_id,
                "host_id",
                "a host can only create coupons for their own properties",
            );
            Some(caller.user_id.clone())
        }
    };
    v.into_result()?;
    Ok(NewCoupon {
        name,
        description: r.description.clone(),
        discount_type,
        discount_percent,
        max_discount,
        discount_amount,
        min_booking_price,
        max_booking_price,
        // Both are Some: a missing one was a violation above.
        valid_from: valid_from.unwrap_or_default(),
        valid_until: valid_until.unwrap_or_default(),
        host_id,
    })
}

pub(crate) async fn create(pool: &PgPool, new: NewCoupon, created_by: &str) -> Result<CouponRow> {
    Ok(sqlx::query_as::<_, CouponRow>(sqlx::AssertSqlSafe(format!(
        "INSERT INTO coupon (id, name, description, discount_type, discount_percent, \
           max_discount, discount_amount, min_booking_price, max_booking_price, valid_from, \
           valid_until, host_id, created_by) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13) \
         RETURNING {COUPON_COLUMNS}"
    )))
    .bind(Uuid::now_v7())
    .bind(new.name)
    .bind(new.description)
    .bind(new.discount_type)
    .bind(new.discount_percent)
    .bind(new.max_discount)
    .bind(new.discount_amount)
    .bind(new.min_booking_price)
    .bind(new.max_booking_price)
    .bind(new.valid_from)
    .bind(new.valid_until)
    .bind(new.host_id)
    .bind(created_by)
    .fetch_one(pool)
    .await?)
}

/// The coupon, or NOT_FOUND.
pub(crate) async fn get(db: impl PgExecutor<'_>, id: Uuid) -> Result<CouponRow> {
    sqlx::query_as::<_, CouponRow>(sqlx::AssertSqlSafe(format!(
        "SELECT {COUPON_COLUMNS} FROM coupon WHERE id = $1"
    )))
    .bind(id)
    .fetch_optional(db)
    .await?
    .ok_or_else(|| Error::not_found("coupon", id.to_string()))
}

/// What a claim needs of an issuance event, fixed when it was created: the
/// coupon it gives and whether claims pass its waiting room.
#[derive(Debug, sqlx::FromRow)]
pub(crate) struct EventCoupon {
    #[sqlx(flatten)]
    pub(crate) coupon: CouponRow,
    pub(crate) waiting_room: bool,
}

/// The coupon an issuance event gives (and its waiting room), or NOT_FOUND.
pub(crate) async fn of_event(db: impl PgExecutor<'_>, event_id: Uuid) -> Result<EventCoupon> {
    sqlx::query_as::<_, EventCoupon>(sqlx::AssertSqlSafe(format!(
        "SELECT {}, e.waiting_room FROM issuance_event e JOIN coupon c ON c.id = e.coupon_id \
         WHERE e.id = $1",
        coupon_columns("c")
    )))
    .bind(event_id)
    .fetch_optional(db)
    .await?
    .ok_or_else(|| Error::not_found("issuance event", event_id.to_string()))
}

/// Newest first; `host_id` narrows to one host's coupons.
pub(crate) async fn list(
    pool: &PgPool,
    host_id: Option<&str>,
    limit: i64,
    offset: i64,
) -> Result<Vec<CouponRow>> {
    Ok(sqlx::query_as::<_, CouponRow>(sqlx::AssertSqlSafe(format!(
        "SELECT {COUPON_COLUMNS} FROM coupon WHERE ($1::text IS NULL OR host_id = $1) \
         ORDER BY id DESC LIMIT $2 OFFSET $3"
    )))
    .bind(host_id)
    .bind(limit)
    .bind(offset)
    .fetch_all(pool)
    .await?)
}
