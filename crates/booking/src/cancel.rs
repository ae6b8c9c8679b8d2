//! Cancellation: the policy (rules by days before check-in, kept in the
//! `cancellation_rule` table, not in code), the quote it gives, and
//! CancelBooking, which marks the booking CANCELLING and asks the saga to
//! undo it. An unpaid booking's running saga compensates; a CONFIRMED one
//! gets a cancellation saga that refunds per the policy and releases
//! everything. Points always come back in full; coupons while still valid.

use sqlx::{PgConnection, PgPool};
use staymesh_platform::convert::{money, today};
use staymesh_platform::kafka::outbox;
use staymesh_platform::rpc::{Error, Result};
use staymesh_proto::booking as pb;
use staymesh_proto::saga::BookingCancellationRequested;
use uuid::Uuid;

use crate::store::{self, BookingRow, COLUMNS, cause_name, state_name};

/// Longest reason a guest may give.
pub(crate) const MAX_REASON: usize = 500;

/// What cancelling now would do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Quote {
    pub(crate) cancellable: bool,
    pub(crate) refund_percent: i32,
    pub(crate) refund_amount: i64,
    pub(crate) points_returned: i64,
    pub(crate) policy: String,
}

impl Quote {
    fn refused(policy: impl Into<String>) -> Self {
        Self {
            cancellable: false,
            refund_percent: 0,
            refund_amount: 0,
            points_returned: 0,
            policy: policy.into(),
        }
    }

    pub(crate) fn to_proto(&self) -> pb::QuoteCancellationResponse {
        pb::QuoteCancellationResponse {
            cancellable: self.cancellable,
            refund_percent: self.refund_percent,
            refund_amount: Some(money(self.refund_amount)),
            points_returned: self.points_returned,
            policy: self.policy.clone(),
        }
    }
}

/// The rule for a stay `days` days away: the one with the most
/// `min_days_before` that `days` reaches.
async fn rule(conn: &mut PgConnection, days: i64) -> Result<(i32, String)> {
    let found: Option<(i32, String)> = sqlx::query_as(
        "SELECT refund_percent, label FROM cancellation_rule WHERE min_days_before <= $1 \
         ORDER BY min_days_before DESC LIMIT 1",
    )
    .bind(i32::try_from(days).unwrap_or(i32::MAX))
    .fetch_optional(conn)
    .await?;
    Ok(found.unwrap_or((0, "no refund (no cancellation rule applies)".to_owned())))
}

/// What cancelling `row` now would refund, per the policy.
pub(crate) async fn quote(conn: &mut PgConnection, row: &BookingRow) -> Result<Quote> {
    let state = row.state();
    let over = match state {
        pb::BookingState::Cancelling | pb::BookingState::Cancelled => Some("already cancelled"),
        pb::BookingState::Completed => Some("the stay is over"),
        _ if today() >= row.check_in => Some("the stay has begun: it can no longer be cancelled"),
        _ => None,
    };
    if let Some(why) = over {
        return Ok(Quote::refused(why));
    }
    if state != pb::BookingState::Confirmed {
        return Ok(Quote {
            cancellable: true,
            refund_percent: 100,
            refund_amount: 0,
            points_returned: row.points,
            policy: "not paid yet: everything held is released and nothing is charged".into(),
        });
    }
    let days = (row.check_in - today()).num_days();
    let (percent, label) = rule(conn, days).await?;
    Ok(Quote {
        cancellable: true,
        refund_percent: percent,
        refund_amount: row.paid_amount * i64::from(percent) / 100,
        points_returned: row.points,
        policy: label,
    })
}

/// Marks the booking CANCELLING and asks the saga to undo it, in one
/// transaction. Cancelling again returns the booking as it is.
pub(crate) async fn cancel(
    pool: &PgPool,
    topic: &str,
    id: Uuid,
    cause: pb::CancelCause,
    reason: &str,
    may: impl Fn(&BookingRow) -> bool,
) -> Result<BookingRow> {
    let mut tx = pool.begin().await?;
    let row = store::lock(&mut *tx, id)
        .await?
        .filter(|row| may(row))
        .ok_or_else(|| Error::not_found("booking", id.to_string()))?;
    if matches!(
        row.state(),
        pb::BookingState::Cancelling | pb::BookingState::Cancelled
    ) {
        return Ok(row);
    }
    let quote = quote(&mut tx, &row).await?;
    if !quote.cancellable {
        return Err(Error::Precondition(format!(
            "booking {id} cannot be cancelled: {}",
            quote.policy
        )));
    }
    // A confirmed booking's saga is over: a new one refunds and releases.
    let saga_id = if row.state() == pb::BookingState::Confirmed {
        Uuid::now_v7()
    } else {
        row.saga_id
    };
    let sql = format!(
        "UPDATE booking SET state = 'CANCELLING', cancel_cause = $2, cancel_reason = $3, \
           updated_at = now() WHERE id = $1 RETURNING {COLUMNS}"
    );
    let cancelling: BookingRow = sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(id)
        .bind(cause_name(cause))
        .bind(reason)
        .fetch_one(&mut *tx)
        .await?;
    let request = BookingCancellationRequested {
        saga_id: saga_id.to_string(),
        booking_id: id.to_string(),
        user_id: row.user_id.to_string(),
        state: row.state() as i32,
        cause: cause as i32,
        reason: reason.to_owned(),
        refund_amount: Some(money(quote.refund_amount)),
    };
    outbox::enqueue(&mut tx, topic, &request.booking_id, &request).await?;
    tx.commit().await?;
    tracing::info!(booking_id = %id, from = state_name(row.state()), "booking cancellation requested");
    Ok(cancelling)
}
