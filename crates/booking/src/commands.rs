//! The booking service as a saga participant: the saga tells it where the
//! booking is (`MarkBookingAwaitingPayment`, `MarkBookingConfirmed`,
//! `MarkBookingCancelled` from `<prefix>.booking.commands`), and each change
//! publishes its event (`BookingConfirmed`, `BookingCancelled`) in the same
//! transaction. Every mark is idempotent by the booking's state, and the
//! answer goes out once per command (see `platform::kafka::participant`).
//!
//! A guest who cancels while the saga runs wins: a booking CANCELLING is
//! never confirmed (the reply is FAILED, and the saga compensates).

use chrono::Utc;
use sqlx::PgPool;
use staymesh_platform::convert::{datetime, money, timestamp, to_proto_date};
use staymesh_platform::kafka::outbox;
use staymesh_platform::kafka::participant::{self, Answer, Outcome};
use staymesh_platform::kafka::{EnvelopeExt, HandlerError, Incoming};
use staymesh_proto::booking::{BookingState, CancelCause};
use staymesh_proto::saga::{self, SagaStep};
use uuid::Uuid;

use crate::store::{self, BookingRow, COLUMNS, cause_name};

/// The booking service's side of the saga's commands.
#[derive(Debug, Clone)]
pub(crate) struct Commands {
    pub(crate) pool: PgPool,
    pub(crate) events_topic: String,
}

impl Commands {
    pub(crate) async fn handle(self, incoming: Incoming) -> Result<Answer, HandlerError> {
        let envelope = &incoming.envelope;
        let answer = if envelope.is::<saga::MarkBookingAwaitingPaymentCommand>() {
            let c: saga::MarkBookingAwaitingPaymentCommand = incoming.decode()?;
            let outcome = self.awaiting_payment(&c).await?;
            (
                c.saga_id,
                c.booking_id,
                SagaStep::MarkAwaitingPayment,
                outcome,
            )
        } else if envelope.is::<saga::MarkBookingConfirmedCommand>() {
            let c: saga::MarkBookingConfirmedCommand = incoming.decode()?;
            let id = participant::id("booking_id", &c.booking_id)?;
            let outcome = self.confirmed(id, &c.saga_id).await?;
            (c.saga_id, c.booking_id, SagaStep::MarkConfirmed, outcome)
        } else if envelope.is::<saga::MarkBookingCancelledCommand>() {
            let c: saga::MarkBookingCancelledCommand = incoming.decode()?;
            let outcome = self.cancelled(&c).await?;
            (c.saga_id, c.booking_id, SagaStep::MarkCancelled, outcome)
        } else {
            return Err(participant::unknown("booking", &incoming));
        };
        Ok(answer.into())
    }

    async fn awaiting_payment(
        &self,
        c: &saga::MarkBookingAwaitingPaymentCommand,
    ) -> Result<Outcome, HandlerError> {
        let id = participant::id("booking_id", &c.booking_id)?;
        let price = c.price.clone().unwrap_or_default();
        let amount = |m: &Option<staymesh_proto::common::Money>| m.as_ref().map_or(0, |m| m.amount);
        let payment_id = if c.payment_id.is_empty() {
            None
        } else {
            Some(participant::id("payment_id", &c.payment_id)?)
        };
        let due = c.payment_due_at.as_ref().and_then(datetime);
        // A booking the guest is cancelling keeps its state but learns its
        // payment, so the record explains what the saga undoes.
        let changed = sqlx::query(
            "UPDATE booking SET \
               state = CASE WHEN state = 'PENDING' THEN 'AWAITING_PAYMENT' ELSE state END, \
               discount = $2, points = $3, paid_amount = $4, payment_id = $5, checkout_url = $6, \
               payment_due_at = COALESCE($7, payment_due_at), updated_at = now() \
             WHERE id = $1 AND state IN ('PENDING', 'AWAITING_PAYMENT', 'CANCELLING')",
        )
        .bind(id)
        .bind(amount(&price.discount))
        .bind(amount(&price.points))
        .bind(amount(&price.paid_amount))
        .bind(payment_id)
        .bind(&c.checkout_url)
        .bind(due)
        .execute(&self.pool)
        .await?
        .rows_affected();
        Ok(if changed == 1 {
            Outcome::Succeeded(None)
        } else {
            Outcome::Failed(self.why_not(id, "await payment").await?)
        })
    }

    async fn confirmed(&self, id: Uuid, saga_id: &str) -> Result<Outcome, HandlerError> {
        let mut tx = self.pool.begin().await?;
        let Some(row) = store::lock(&mut *tx, id).await? else {
            return Ok(Outcome::Failed(format!("booking {id} does not exist")));
        };
        match row.state() {
            BookingState::Confirmed | BookingState::Completed => {
                return Ok(Outcome::Succeeded(None));
            }
            BookingState::Pending | BookingState::AwaitingPayment => {}
            _ => return Ok(Outcome::Failed(format!("booking {id} is being cancelled"))),
        }
        let sql = format!(
            "UPDATE booking SET state = 'CONFIRMED', checkout_url = '', confirmed_at = now(), \
               updated_at = now() WHERE id = $1 RETURNING {COLUMNS}"
        );
        let row: BookingRow = sqlx::query_as(sqlx::AssertSqlSafe(sql))
            .bind(id)
            .fetch_one(&mut *tx)
            .await?;
        let event = saga::BookingConfirmed {
            saga_id: saga_id.to_owned(),
            booking_id: row.id.to_string(),
            user_id: row.user_id.to_string(),
            property_id: row.property_id.to_string(),
            host_id: row.host_id.to_string(),
            room_type_id: row.room_type_id.to_string(),
            check_in: Some(to_proto_date(row.check_in)),
            check_out: Some(to_proto_date(row.check_out)),
            price: Some(row.breakdown()),
            confirmed_at: row.confirmed_at.map(timestamp),
        };
        outbox::enqueue(&mut tx, &self.events_topic, &event.booking_id, &event).await?;
        tx.commit().await?;
        metrics::counter!("staymesh_bookings_finished_total", "state" => "CONFIRMED").increment(1);
        Ok(Outcome::Succeeded(None))
    }

    async fn cancelled(
        &self,
        c: &saga::MarkBookingCancelledCommand,
    ) -> Result<Outcome, HandlerError> {
        let id = participant::id("booking_id", &c.booking_id)?;
        let mut tx = self.pool.begin().await?;
        let Some(row) = store::lock(&mut *tx, id).await? else {
            return Ok(Outcome::Failed(format!("booking {id} does not exist")));
        };
        match row.state() {
            BookingState::Cancelled => return Ok(Outcome::Succeeded(None)),
            BookingState::Completed => {
                return Ok(Outcome::Failed(format!("booking {id} is completed")));
            }
            _ => {}
        }
        // The guest's own cause and words stay if they asked first.
        let cause = CancelCause::try_from(c.cause).unwrap_or(CancelCause::System);
        let refunded = c.refunded_amount.as_ref().map_or(0, |m| m.amount);
        let sql = format!(
            "UPDATE booking SET state = 'CANCELLED', \
               cancel_cause = CASE WHEN cancel_cause = '' THEN $2 ELSE cancel_cause END, \
               cancel_reason = CASE WHEN cancel_reason = '' THEN $3 ELSE cancel_reason END, \
               refunded_amount = LEAST($4, paid_amount), checkout_url = '', cancelled_at = now(), \
               updated_at = now() WHERE id = $1 RETURNING {COLUMNS}"
        );
        let row: BookingRow = sqlx::query_as(sqlx::AssertSqlSafe(sql))
            .bind(id)
            .bind(cause_name(cause))
            .bind(&c.reason)
            .bind(refunded)
            .fetch_one(&mut *tx)
            .await?;
        let event = saga::BookingCancelled {
            saga_id: c.saga_id.clone(),
            booking_id: row.id.to_string(),
            user_id: row.user_id.to_string(),
            cause: row.to_proto().cancel_cause,
            reason: row.cancel_reason.clone(),
            refunded_amount: Some(money(row.refunded_amount)),
            cancelled_at: Some(timestamp(row.cancelled_at.unwrap_or_else(Utc::now))),
        };
        outbox::enqueue(&mut tx, &self.events_topic, &event.booking_id, &event).await?;
        tx.commit().await?;
        metrics::counter!("staymesh_bookings_finished_total", "state" => "CANCELLED").increment(1);
        Ok(Outcome::Succeeded(None))
    }

    /// Why a mark cannot apply to booking `id` as it is.
    async fn why_not(&self, id: Uuid, what: &str) -> Result<String, HandlerError> {
        Ok(match store::by_id(&self.pool, id).await? {
            None => format!("booking {id} does not exist"),
            Some(row) => format!("booking {id} is {} and cannot {what}", row.state),
        })
    }
}
