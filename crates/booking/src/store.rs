//! The booking table as the service reads it: one row type, its columns,
//! and its shape on the wire.

use chrono::{DateTime, NaiveDate, Utc};
use sqlx::PgExecutor;
use staymesh_platform::convert::{money, timestamp, to_proto_date};
use staymesh_proto::booking as pb;
use uuid::Uuid;

/// Every column of `booking`, in [`BookingRow`]'s order.
pub(crate) const COLUMNS: &str = "id, saga_id, user_id, property_id, host_id, room_type_id, \
     check_in, check_out, guests, state, price, \
     discount, points, paid_amount, user_coupon_id, payment_id, checkout_url, payment_due_at, \
     cancel_cause, cancel_reason, refunded_amount, created_at, updated_at, confirmed_at, \
     cancelled_at, completed_at";

#[derive(Debug, Clone, sqlx::FromRow)]
pub(crate) struct BookingRow {
    pub(crate) id: Uuid,
    pub(crate) saga_id: Uuid,
    pub(crate) user_id: Uuid,
    pub(crate) property_id: Uuid,
    pub(crate) host_id: Uuid,
    pub(crate) room_type_id: Uuid,
    pub(crate) check_in: NaiveDate,
    pub(crate) check_out: NaiveDate,
    pub(crate) guests: i32,
    pub(crate) state: String,
    pub(crate) price: i64,
    pub(crate) discount: i64,
    pub(crate) points: i64,
    pub(crate) paid_amount: i64,
    pub(crate) user_coupon_id: Option<Uuid>,
    pub(crate) payment_id: Option<Uuid>,
    pub(crate) checkout_url: String,
    pub(crate) payment_due_at: DateTime<Utc>,
    pub(crate) cancel_cause: String,
    pub(crate) cancel_reason: String,
    pub(crate) refunded_amount: i64,
    pub(crate) created_at: DateTime<Utc>,
    pub(crate) updated_at: DateTime<Utc>,
    pub(crate) confirmed_at: Option<DateTime<Utc>>,
    pub(crate) cancelled_at: Option<DateTime<Utc>>,
    pub(crate) completed_at: Option<DateTime<Utc>>,
}

/// A booking state as stored (`PENDING`) from its wire name.
pub(crate) fn state_name(state: pb::BookingState) -> &'static str {
    state
        .as_str_name()
        .strip_prefix("BOOKING_STATE_")
        .unwrap_or("UNSPECIFIED")
}

fn state_of(stored: &str) -> pb::BookingState {
    pb::BookingState::from_str_name(&format!("BOOKING_STATE_{stored}"))
        .unwrap_or(pb::BookingState::Unspecified)
}

/// A cancel cause as stored (`SOLD_OUT`) from its wire name.
pub(crate) fn cause_name(cause: pb::CancelCause) -> &'static str {
    cause
        .as_str_name()
        .strip_prefix("CANCEL_CAUSE_")
        .unwrap_or("UNSPECIFIED")
}

impl BookingRow {
    pub(crate) fn state(&self) -> pb::BookingState {
        state_of(&self.state)
    }

    pub(crate) fn nights(&self) -> i32 {
        i32::try_from((self.check_out - self.check_in).num_days()).unwrap_or(i32::MAX)
    }

    pub(crate) fn to_proto(&self) -> pb::Booking {
        let cause = pb::CancelCause::from_str_name(&format!("CANCEL_CAUSE_{}", self.cancel_cause))
            .unwrap_or(pb::CancelCause::Unspecified);
        pb::Booking {
            booking_id: self.id.to_string(),
            user_id: self.user_id.to_string(),
            property_id: self.property_id.to_string(),
            host_id: self.host_id.to_string(),
            room_type_id: self.room_type_id.to_string(),
            check_in: Some(to_proto_date(self.check_in)),
            check_out: Some(to_proto_date(self.check_out)),
            nights: self.nights(),
            guests: self.guests,
            state: self.state() as i32,
            price: Some(self.breakdown()),
            user_coupon_id: self
                .user_coupon_id
                .map(|id| id.to_string())
                .unwrap_or_default(),
            points_used: self.points,
            payment_id: self.payment_id.map(|id| id.to_string()).unwrap_or_default(),
            checkout_url: if self.state() == pb::BookingState::AwaitingPayment {
                self.checkout_url.clone()
            } else {
                String::new()
            },
            payment_due_at: Some(timestamp(self.payment_due_at)),
            cancel_cause: cause as i32,
            cancel_reason: self.cancel_reason.clone(),
            refunded_amount: Some(money(self.refunded_amount)),
            created_at: Some(timestamp(self.created_at)),
            updated_at: Some(timestamp(self.updated_at)),
            confirmed_at: self.confirmed_at.map(timestamp),
            cancelled_at: self.cancelled_at.map(timestamp),
            completed_at: self.completed_at.map(timestamp),
        }
    }

    pub(crate) fn breakdown(&self) -> pb::PriceBreakdown {
        pb::PriceBreakdown {
            price: Some(money(self.price)),
            discount: Some(money(self.discount)),
            points: Some(money(self.points)),
            paid_amount: Some(money(self.paid_amount)),
        }
    }
}

/// The booking `id`, if it exists.
pub(crate) async fn by_id<'e>(
    conn: impl PgExecutor<'e>,
    id: Uuid,
) -> sqlx::Result<Option<BookingRow>> {
    sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM booking WHERE id = $1"
    )))
    .bind(id)
    .fetch_optional(conn)
    .await
}

/// The booking `id`, locked for the rest of the transaction.
pub(crate) async fn lock<'e>(
    conn: impl PgExecutor<'e>,
    id: Uuid,
) -> sqlx::Result<Option<BookingRow>> {
    sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM booking WHERE id = $1 FOR UPDATE"
    )))
    .bind(id)
    .fetch_optional(conn)
    .await
}
