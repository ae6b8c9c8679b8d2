//! Issuance events in Postgres: creation rules, reads, early closing, and the
//! state an event is in at a given moment.

use chrono::{DateTime, Duration, Utc};
use sqlx::{PgExecutor, PgPool};
use staymesh_platform::FieldViolations;
use staymesh_platform::convert::{from_timestamp, timestamp};
use staymesh_proto::coupon as pb;
use uuid::Uuid;

use crate::coupons::CouponRow;
use crate::stock::Window;
use staymesh_platform::rpc::{Error, Result};

/// Largest quantity of one event.
const MAX_QUANTITY: i32 = 1_000_000;
/// An event may open this far in the past (the request took a moment).
const OPEN_NOW_SLACK: Duration = Duration::minutes(1);

/// One row of `issuance_event`.
#[derive(Debug, Clone, sqlx::FromRow)]
pub(crate) struct EventRow {
    pub(crate) id: Uuid,
    pub(crate) coupon_id: Uuid,
    pub(crate) quantity: Option<i32>,
    pub(crate) issued: i32,
    pub(crate) opens_at: DateTime<Utc>,
    pub(crate) closes_at: DateTime<Utc>,
    pub(crate) waiting_room: bool,
    pub(crate) created_by: String,
    pub(crate) created_at: DateTime<Utc>,
    pub(crate) closed_at: Option<DateTime<Utc>>,
    pub(crate) sold_out_at: Option<DateTime<Utc>>,
}

pub(crate) const EVENT_COLUMNS: &str = "id, coupon_id, quantity, issued, opens_at, closes_at, \
    waiting_room, created_by, created_at, closed_at, sold_out_at";

impl EventRow {
    pub(crate) fn window(&self) -> Window {
        Window {
            opens_at: self.opens_at,
            closes_at: self.closes_at,
            closed: self.closed_at.is_some(),
            quantity: self.quantity,
        }
    }

    /// The state at `now`, given how many were claimed.
    pub(crate) fn state(&self, issued: i64, now: DateTime<Utc>) -> pb::IssuanceEventState {
        if self.closed_at.is_some() {
            pb::IssuanceEventState::Closed
        } else if now >= self.closes_at {
            pb::IssuanceEventState::Ended
        } else if now < self.opens_at {
            pb::IssuanceEventState::Scheduled
        } else if self.quantity.is_some_and(|q| issued >= i64::from(q))
            || self.sold_out_at.is_some()
        {
            pb::IssuanceEventState::SoldOut
        } else {
            pb::IssuanceEventState::Open
        }
    }

    /// The wire form; `issued` is the live count (Redis when loaded).
    pub(crate) fn to_proto(&self, coupon: &CouponRow, issued: i64) -> pb::IssuanceEvent {
        let issued_i32 = i32::try_from(issued).unwrap_or(i32::MAX);
        pb::IssuanceEvent {
            event_id: self.id.to_string(),
            coupon_id: self.coupon_id.to_string(),
            coupon: Some(coupon.to_proto()),
            quantity: self.quantity.unwrap_or(0),
            unlimited: self.quantity.is_none(),
            issued: issued_i32,
            remaining: self.quantity.map_or(0, |q| (q - issued_i32).max(0)),
            opens_at: Some(timestamp(self.opens_at)),
            closes_at: Some(timestamp(self.closes_at)),
            state: self.state(issued, Utc::now()) as i32,
            waiting_room: self.waiting_room,
            created_by: self.created_by.clone(),
            created_at: Some(timestamp(self.created_at)),
            closed_at: self.closed_at.map(timestamp),
        }
    }
}

/// A validated CreateIssuanceEventRequest.
#[derive(Debug)]
pub(crate) struct NewEvent {
    quantity: Option<i32>,
    opens_at: DateTime<Utc>,
    closes_at: DateTime<Utc>,
    /// Claims spend an admission token of the event's queue.
    waiting_room: bool,
}

/// Checks a new event against its coupon, naming each bad field.
pub(crate) fn validate(r: &pb::CreateIssuanceEventRequest, coupon: &CouponRow) -> Result<NewEvent> {
    let mut v = FieldViolations::new();
    let quantity = if r.unlimited {
        v.check(r.quantity == 0, "quantity", "must be 0 when unlimited");
        None
    } else {
        v.check(
            (1..=MAX_QUANTITY).contains(&r.quantity),
            "quantity",
            "must be between 1 and 1000000 (or set unlimited)",
        );
        Some(r.quantity)
    };
    let opens_at = from_timestamp(r.opens_at.as_ref(), "opens_at", &mut v);
    let closes_at = from_timestamp(r.closes_at.as_ref(), "closes_at", &mut v);
    if let Some(opens) = opens_at {
        v.check(
            opens >= Utc::now() - OPEN_NOW_SLACK,
            "opens_at",
            "must be now or later",
        );
    }
    if let (Some(opens), Some(closes)) = (opens_at, closes_at) {
        v.check(closes > opens, "closes_at", "must be after opens_at");
        v.check(
            closes <= coupon.valid_until,
            "closes_at",
            "must not be after the coupon's valid_until",
        );
    }
    v.into_result()?;
    Ok(NewEvent {
        quantity,
        opens_at: opens_at.unwrap_or_default(),
        closes_at: closes_at.unwrap_or_default(),
        waiting_room: r.waiting_room,
    })
}

pub(crate) async fn create(
    db: impl PgExecutor<'_>,
    coupon_id: Uuid,
    new: &NewEvent,
    created_by: &str,
) -> Result<EventRow> {
    Ok(sqlx::query_as::<_, EventRow>(sqlx::AssertSqlSafe(format!(
        "INSERT INTO issuance_event (id, coupon_id, quantity, opens_at, closes_at, created_by, \
           waiting_room) VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING {EVENT_COLUMNS}"
    )))
    .bind(Uuid::now_v7())
    .bind(coupon_id)
    .bind(new.quantity)
    .bind(new.opens_at)
    .bind(new.closes_at)
    .bind(created_by)
    .bind(new.waiting_room)
    .fetch_one(db)
    .await?)
}

/// The event, or NOT_FOUND.
pub(crate) async fn get(db: impl PgExecutor<'_>, id: Uuid) -> Result<EventRow> {
    sqlx::query_as::<_, EventRow>(sqlx::AssertSqlSafe(format!(
        "SELECT {EVENT_COLUMNS} FROM issuance_event WHERE id = $1"
    )))
    .bind(id)
    .fetch_optional(db)
    .await?
    .ok_or_else(|| Error::not_found("issuance event", id.to_string()))
}

/// Which events a list shows.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Filter {
    /// Not closed, not ended: scheduled, open or sold out.
    Live,
    Scheduled,
    Open,
    SoldOut,
    Closed,
    Ended,
}

/// Events matching `filter`, soonest closing first.
pub(crate) async fn list(
    pool: &PgPool,
    filter: Filter,
    coupon_id: Option<Uuid>,
    limit: i64,
    offset: i64,
) -> Result<Vec<EventRow>> {
    let condition = match filter {
        Filter::Live => "closed_at IS NULL AND closes_at > now()",
        Filter::Scheduled => "closed_at IS NULL AND opens_at > now()",
        Filter::Open => {
            "closed_at IS NULL AND opens_at <= now() AND closes_at > now() \
             AND sold_out_at IS NULL AND (quantity IS NULL OR issued < quantity)"
        }
        Filter::SoldOut => {
            "closed_at IS NULL AND opens_at <= now() AND closes_at > now() \
             AND (sold_out_at IS NOT NULL OR issued >= quantity)"
        }
        Filter::Closed => "closed_at IS NOT NULL",
        Filter::Ended => "closed_at IS NULL AND closes_at <= now()",
    };
    Ok(sqlx::query_as::<_, EventRow>(sqlx::AssertSqlSafe(format!(
        "SELECT {EVENT_COLUMNS} FROM issuance_event \
         WHERE {condition} AND ($1::uuid IS NULL OR coupon_id = $1) \
         ORDER BY closes_at, id LIMIT $2 OFFSET $3"
    )))
    .bind(coupon_id)
    .bind(limit)
    .bind(offset)
    .fetch_all(pool)
    .await?)
}

/// Closes the event now unless it is already closed; returns it and whether
/// this call closed it.
pub(crate) async fn close(pool: &PgPool, id: Uuid) -> Result<(EventRow, bool)> {
    let closed: Option<EventRow> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "UPDATE issuance_event SET closed_at = now() WHERE id = $1 AND closed_at IS NULL \
         RETURNING {EVENT_COLUMNS}"
    )))
    .bind(id)
    .fetch_optional(pool)
    .await?;
    match closed {
        Some(row) => Ok((row, true)),
        None => Ok((get(pool, id).await?, false)),
    }
}

/// Records that the last coupon went; true the first time only.
pub(crate) async fn mark_sold_out(db: impl PgExecutor<'_>, id: Uuid) -> Result<Option<EventRow>> {
    Ok(sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "UPDATE issuance_event SET sold_out_at = now() WHERE id = $1 AND sold_out_at IS NULL \
         RETURNING {EVENT_COLUMNS}"
    )))
    .bind(id)
    .fetch_optional(db)
    .await?)
}
