//! The orchestrator's transitions. Each input (a booking's request or
//! cancellation, a participant's reply, a payment event, a deadline) is
//! applied in one transaction with the saga row locked: the saga and its
//! steps change, the next command goes into the outbox, and the caller
//! records the input in the inbox. A crash anywhere leaves either all of it
//! or none, so a restarted orchestrator simply carries on.

use chrono::{DateTime, Utc};
use sqlx::PgConnection;
use staymesh_platform::convert::{date, datetime};
use staymesh_platform::kafka::HandlerError;
use staymesh_proto::booking::{BookingState, CancelCause};
use staymesh_proto::saga::{
    self as pb, SagaKind, SagaState, SagaStep, StepOutcome, StepState, step_reply::Detail,
};
use uuid::Uuid;

use crate::commands::{self, Topics};
use crate::config::SagaArgs;
use crate::flow::{self, Next, Saga, kind_name, state_name, step_state};
use crate::store::{self, Loaded};

/// Applies inputs to sagas.
#[derive(Debug, Clone)]
pub(crate) struct Engine {
    pub(crate) topics: Topics,
    pub(crate) args: SagaArgs,
}

fn id(field: &str, text: &str) -> Result<Uuid, HandlerError> {
    staymesh_platform::kafka::participant::id(field, text)
}

fn cause_name(cause: CancelCause) -> &'static str {
    flow::name(cause, CancelCause::as_str_name, "CANCEL_CAUSE_")
}

/// Records why the booking is cancelled unless a cause was recorded first:
/// the first reason a saga turns around is the one the guest is told.
fn keep_first_cause(saga: &mut Saga, cause: CancelCause, reason: &str) {
    if saga.cause.is_empty() {
        saga.cause = cause_name(cause).to_owned();
    }
    if saga.failure_reason.is_empty() {
        saga.failure_reason = reason.to_owned();
    }
}

/// Why a forward step's refusal cancels the booking.
fn cause_of(step: SagaStep) -> CancelCause {
    match step {
        SagaStep::HoldNights => CancelCause::SoldOut,
        SagaStep::ReserveCoupon => CancelCause::CouponRejected,
        SagaStep::ReservePoints => CancelCause::PointsRejected,
        SagaStep::CreatePayment | SagaStep::AwaitPayment => CancelCause::PaymentFailed,
        _ => CancelCause::System,
    }
}

impl Engine {
    /// `BookingRequested`: a new saga, started at once; a repeat is ignored.
    pub(crate) async fn start(
        &self,
        conn: &mut PgConnection,
        r: &pb::BookingRequested,
    ) -> Result<(), HandlerError> {
        let now = Utc::now();
        let saga = booking_saga_of(r, now)?;
        if !store::insert(conn, &saga).await? {
            return Ok(());
        }
        metrics::counter!("staymesh_sagas_started_total", "kind" => "BOOKING").increment(1);
        let mut loaded = Loaded::new(saga);
        self.advance(conn, &mut loaded, now).await?;
        store::save(conn, &loaded).await?;
        Ok(())
    }

    /// A participant's reply. One for a step not waiting, or for a command
    /// the step never sent, is stale and changes nothing.
    pub(crate) async fn reply(
        &self,
        conn: &mut PgConnection,
        r: &pb::StepReply,
    ) -> Result<(), HandlerError> {
        let saga_id = id("saga_id", &r.saga_id)?;
        let Some(mut l) = store::load(conn, saga_id).await? else {
            tracing::warn!(%saga_id, "a reply for an unknown saga");
            return Ok(());
        };
        let step = SagaStep::try_from(r.step).unwrap_or(SagaStep::Unspecified);
        let command = Uuid::parse_str(&r.command_id).ok();
        let waiting = l.steps.get(&step).is_some_and(|row| {
            step_state(row) == StepState::Sent
                && command.is_some_and(|c| row.command_ids.contains(&c))
        });
        if !waiting {
            metrics::counter!("staymesh_saga_stale_replies_total").increment(1);
            return Ok(());
        }
        let now = Utc::now();
        let kind = l.saga.kind();
        if r.outcome == StepOutcome::Succeeded as i32 {
            self.record(&mut l.saga, r.detail.as_ref());
            l.finish_step(step, StepState::Succeeded, "", now);
            if l.saga.state() == SagaState::Stuck {
                l.saga.set_state(match kind {
                    SagaKind::Cancellation => SagaState::Running,
                    _ => SagaState::Compensating,
                });
            }
            if l.saga.is_forward() && l.saga.cancel_requested {
                self.compensate(&mut l, None, "");
            }
        } else if step == SagaStep::CancelPayment {
            // Paid meanwhile: the compensation refunds it instead.
            l.finish_step(step, StepState::Failed, &r.reason, now);
        } else if flow::must_succeed(kind, step) {
            // An undo that was refused is tried again later, never dropped.
            let wait = self
                .args
                .wait_for(l.steps.get(&step).map_or(1, |s| s.attempts));
            let row = l.step_mut(step, now);
            row.reason = r.reason.clone();
            row.deadline = Some(now + chrono::Duration::from_std(wait).unwrap_or_default());
            store::save(conn, &l).await?;
            return Ok(());
        } else {
            l.finish_step(step, StepState::Failed, &r.reason, now);
            self.compensate(&mut l, Some(cause_of(step)), &r.reason);
        }
        self.advance(conn, &mut l, now).await?;
        store::save(conn, &l).await?;
        Ok(())
    }

    /// What a successful step produced, kept for the steps after it.
    fn record(&self, s: &mut Saga, detail: Option<&Detail>) {
        match detail {
            Some(Detail::ReserveCoupon(c)) => {
                s.discount = c.discount.as_ref().map_or(0, |m| m.amount)
            }
            Some(Detail::ReservePoints(p)) => s.points = p.points,
            Some(Detail::CreatePayment(p)) => {
                s.payment_id = p.payment_id.clone();
                s.checkout_url = p.checkout_url.clone();
            }
            Some(Detail::RefundPayment(r)) => {
                s.refunded = r.refunded_amount.as_ref().map_or(0, |m| m.amount);
            }
            Some(Detail::HoldNights(_)) | None => {}
        }
    }

    /// `PaymentApproved`: the booking is paid; confirm it (or, if the saga
    /// is already undoing it, refund).
    pub(crate) async fn paid(
        &self,
        conn: &mut PgConnection,
        e: &pb::PaymentApproved,
    ) -> Result<(), HandlerError> {
        let Some(mut l) = self.booking_saga(conn, &e.saga_id, &e.booking_id).await? else {
            return Ok(());
        };
        let now = Utc::now();
        l.saga.paid = true;
        let awaiting = l
            .steps
            .get(&SagaStep::AwaitPayment)
            .is_some_and(|row| step_state(row) == StepState::Sent);
        if awaiting {
            l.finish_step(SagaStep::AwaitPayment, StepState::Succeeded, "", now);
        } else if l.saga.state() == SagaState::Compensated {
            // Paid after the saga gave up (the deadline passed): refund at once.
            let cancelled = l
                .steps
                .get(&SagaStep::CancelPayment)
                .is_some_and(|row| step_state(row) == StepState::Succeeded);
            let refunded = l
                .steps
                .get(&SagaStep::RefundPayment)
                .is_some_and(|row| step_state(row) == StepState::Succeeded);
            if !cancelled && !refunded {
                l.saga.set_state(SagaState::Compensating);
                l.saga.finished_at = None;
            }
        }
        self.advance(conn, &mut l, now).await?;
        store::save(conn, &l).await?;
        Ok(())
    }

    /// `PaymentFailed`: the PG declined; the booking is cancelled.
    pub(crate) async fn payment_failed(
        &self,
        conn: &mut PgConnection,
        e: &pb::PaymentFailed,
    ) -> Result<(), HandlerError> {
        let Some(mut l) = self.booking_saga(conn, &e.saga_id, &e.booking_id).await? else {
            return Ok(());
        };
        if !l.saga.is_forward() || l.saga.paid {
            return Ok(());
        }
        let awaiting = l
            .steps
            .get(&SagaStep::AwaitPayment)
            .is_some_and(|row| step_state(row) == StepState::Sent);
        if awaiting {
            let now = Utc::now();
            l.finish_step(SagaStep::AwaitPayment, StepState::Failed, &e.reason, now);
            self.compensate(&mut l, Some(CancelCause::PaymentFailed), &e.reason);
            self.advance(conn, &mut l, now).await?;
        } else {
            // Declined before the saga began to wait: the booking shows its
            // checkout as soon as MarkAwaitingPayment commits, and a guest
            // who pays at once can have the PG's answer overtake that step's
            // reply (another topic). Dropping it left the booking to expire
            // as unpaid; instead the reply in flight turns the saga around,
            // as for a guest's cancel, with the decline as the cause.
            l.saga.cancel_requested = true;
            keep_first_cause(&mut l.saga, CancelCause::PaymentFailed, &e.reason);
        }
        store::save(conn, &l).await?;
        Ok(())
    }

    /// `BookingCancellationRequested`: an unpaid booking's saga compensates
    /// (once its step in flight answers); a confirmed booking gets a
    /// cancellation saga.
    pub(crate) async fn cancel(
        &self,
        conn: &mut PgConnection,
        e: &pb::BookingCancellationRequested,
    ) -> Result<(), HandlerError> {
        let cause = CancelCause::try_from(e.cause).unwrap_or(CancelCause::Guest);
        if e.state == BookingState::Confirmed as i32 {
            return self.start_cancellation(conn, e, cause).await;
        }
        let Some(mut l) = self.booking_saga(conn, &e.saga_id, &e.booking_id).await? else {
            return Ok(());
        };
        if !l.saga.is_forward() {
            return Ok(());
        }
        let now = Utc::now();
        l.saga.cancel_requested = true;
        l.saga.cause = cause_name(cause).to_owned();
        l.saga.failure_reason = if e.reason.is_empty() {
            "cancelled by the guest".to_owned()
        } else {
            e.reason.clone()
        };
        let awaiting_payment = l
            .steps
            .get(&SagaStep::AwaitPayment)
            .is_some_and(|row| step_state(row) == StepState::Sent);
        // A command in flight: its reply turns the saga around.
        let in_flight = flow::next(&l.saga, &l.steps) == Next::Wait && !awaiting_payment;
        if !in_flight {
            if awaiting_payment {
                l.finish_step(SagaStep::AwaitPayment, StepState::Failed, "cancelled", now);
            }
            self.compensate(&mut l, None, "");
            self.advance(conn, &mut l, now).await?;
        }
        store::save(conn, &l).await?;
        Ok(())
    }

    async fn start_cancellation(
        &self,
        conn: &mut PgConnection,
        e: &pb::BookingCancellationRequested,
        cause: CancelCause,
    ) -> Result<(), HandlerError> {
        let booking_id = id("booking_id", &e.booking_id)?;
        let found: Option<Saga> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "SELECT {} FROM saga WHERE booking_id = $1 AND kind = 'BOOKING'",
            store::SAGA_COLUMNS
        )))
        .bind(booking_id)
        .fetch_optional(&mut *conn)
        .await?;
        let Some(booking) = found else {
            return Err(HandlerError::permanent(format!(
                "booking {booking_id} has no saga to cancel"
            )));
        };
        let now = Utc::now();
        let saga = Saga {
            id: id("saga_id", &e.saga_id)?,
            kind: kind_name(SagaKind::Cancellation).to_owned(),
            state: state_name(SagaState::Running).to_owned(),
            refund_amount: e.refund_amount.as_ref().map_or(0, |m| m.amount),
            refunded: 0,
            cause: cause_name(cause).to_owned(),
            failure_reason: if e.reason.is_empty() {
                "cancelled by the guest".to_owned()
            } else {
                e.reason.clone()
            },
            cancel_requested: true,
            created_at: now,
            updated_at: now,
            finished_at: None,
            ..booking
        };
        if !store::insert(conn, &saga).await? {
            return Ok(());
        }
        metrics::counter!("staymesh_sagas_started_total", "kind" => "CANCELLATION").increment(1);
        let mut l = Loaded::new(saga);
        self.advance(conn, &mut l, now).await?;
        store::save(conn, &l).await?;
        Ok(())
    }

    /// A step past its deadline: payment expired, or a command unanswered
    /// (resent, or given up on and compensated).
    pub(crate) async fn deadline(
        &self,
        conn: &mut PgConnection,
        saga_id: Uuid,
        step: SagaStep,
    ) -> Result<(), HandlerError> {
        let Some(mut l) = store::load(conn, saga_id).await? else {
            return Ok(());
        };
        let now = Utc::now();
        let Some(row) = l.steps.get(&step) else {
            return Ok(());
        };
        if step_state(row) != StepState::Sent || row.deadline.is_none_or(|d| d > now) {
            return Ok(());
        }
        let attempts = row.attempts;
        let kind = l.saga.kind();
        if step == SagaStep::AwaitPayment {
            l.finish_step(
                step,
                StepState::TimedOut,
                "no payment before the deadline",
                now,
            );
            self.compensate(
                &mut l,
                Some(CancelCause::PaymentExpired),
                "no payment before the deadline",
            );
        } else if flow::must_succeed(kind, step) {
            if attempts >= self.args.saga_compensation_attempts
                && l.saga.state() != SagaState::Stuck
            {
                tracing::error!(%saga_id, step = step.as_str_name(), attempts, "a compensation keeps failing: saga STUCK");
                l.saga.set_state(SagaState::Stuck);
            }
            self.send(conn, &mut l, step, now).await?;
        } else if attempts < self.args.saga_step_attempts {
            self.send(conn, &mut l, step, now).await?;
        } else {
            let participant = flow::participant(step);
            let why = format!("no reply from the {participant} service after {attempts} attempts");
            l.finish_step(step, StepState::TimedOut, &why, now);
            self.compensate(&mut l, Some(CancelCause::System), &why);
        }
        self.advance(conn, &mut l, now).await?;
        store::save(conn, &l).await?;
        Ok(())
    }

    /// The booking saga an event names (by saga id, else by booking).
    async fn booking_saga(
        &self,
        conn: &mut PgConnection,
        saga_id: &str,
        booking_id: &str,
    ) -> Result<Option<Loaded>, HandlerError> {
        let by_id = match Uuid::parse_str(saga_id) {
            Ok(saga_id) => Some(saga_id),
            Err(_) => {
                let booking_id = id("booking_id", booking_id)?;
                sqlx::query_scalar("SELECT id FROM saga WHERE booking_id = $1 AND kind = 'BOOKING'")
                    .bind(booking_id)
                    .fetch_optional(&mut *conn)
                    .await?
            }
        };
        let Some(saga_id) = by_id else {
            return Ok(None);
        };
        Ok(store::load(conn, saga_id)
            .await?
            .filter(|l| l.saga.kind() == SagaKind::Booking))
    }

    /// Turns a forward booking saga to undoing what it did; the first cause
    /// given stays (a guest's cancellation keeps theirs).
    fn compensate(&self, l: &mut Loaded, cause: Option<CancelCause>, reason: &str) {
        if !l.saga.is_forward() {
            return;
        }
        l.saga.set_state(SagaState::Compensating);
        keep_first_cause(&mut l.saga, cause.unwrap_or(CancelCause::System), reason);
        metrics::counter!("staymesh_saga_compensations_total", "cause" => l.saga.cause.clone())
            .increment(1);
    }

    /// Takes every step that can be taken now: sends the next command,
    /// starts waiting for the payment, or finishes the saga.
    async fn advance(
        &self,
        conn: &mut PgConnection,
        l: &mut Loaded,
        now: DateTime<Utc>,
    ) -> Result<(), HandlerError> {
        loop {
            match flow::next(&l.saga, &l.steps) {
                Next::Wait => return Ok(()),
                Next::Send(step) => return self.send(conn, l, step, now).await,
                Next::AwaitPayment if l.saga.paid => {
                    l.finish_step(SagaStep::AwaitPayment, StepState::Succeeded, "", now);
                }
                Next::AwaitPayment => {
                    let due = l.saga.payment_due_at.max(now);
                    l.step_mut(SagaStep::AwaitPayment, now).deadline = Some(due);
                    l.saga.set_state(SagaState::AwaitingPayment);
                    return Ok(());
                }
                Next::Finish(state) => {
                    if !l.saga.is_finished() {
                        l.saga.set_state(state);
                        l.saga.finished_at = Some(now);
                        let kind = l.saga.kind.clone();
                        metrics::counter!("staymesh_sagas_finished_total",
                            "kind" => kind, "state" => state_name(state))
                        .increment(1);
                    }
                    return Ok(());
                }
            }
        }
    }

    /// Sends (or resends) `step`'s command and sets its deadline.
    async fn send(
        &self,
        conn: &mut PgConnection,
        l: &mut Loaded,
        step: SagaStep,
        now: DateTime<Utc>,
    ) -> Result<(), HandlerError> {
        if l.saga.is_forward() && l.saga.state() == SagaState::AwaitingPayment {
            l.saga.set_state(SagaState::Running);
        }
        let command_id = commands::enqueue(conn, &self.topics, &l.saga, step).await?;
        let row = l.step_mut(step, now);
        row.attempts += 1;
        row.command_ids.push(command_id);
        row.state = flow::step_state_name(StepState::Sent).to_owned();
        row.finished_at = None;
        let wait = self.args.wait_for(row.attempts);
        row.deadline = Some(now + chrono::Duration::from_std(wait).unwrap_or_default());
        Ok(())
    }
}

/// The saga a `BookingRequested` starts, as of `now`; a permanent error when
/// the request lacks its dates or deadline.
pub(crate) fn booking_saga_of(
    r: &pb::BookingRequested,
    now: DateTime<Utc>,
) -> Result<Saga, HandlerError> {
    let mut v = staymesh_platform::FieldViolations::new();
    let (check_in, check_out) = (
        date(r.check_in.as_ref(), "check_in", &mut v),
        date(r.check_out.as_ref(), "check_out", &mut v),
    );
    let due = r.payment_due_at.as_ref().and_then(datetime);
    let (Some(check_in), Some(check_out), Some(due)) = (check_in, check_out, due) else {
        return Err(HandlerError::permanent(format!(
            "BookingRequested {} lacks its dates or deadline",
            r.booking_id
        )));
    };
    Ok(Saga {
        id: id("saga_id", &r.saga_id)?,
        booking_id: id("booking_id", &r.booking_id)?,
        kind: kind_name(SagaKind::Booking).to_owned(),
        state: state_name(SagaState::Running).to_owned(),
        user_id: id("user_id", &r.user_id)?,
        host_id: id("host_id", &r.host_id)?,
        room_type_id: id("room_type_id", &r.room_type_id)?,
        check_in,
        check_out,
        rooms: r.rooms.max(1),
        user_coupon_id: match r.user_coupon_id.as_str() {
            "" => None,
            coupon => Some(id("user_coupon_id", coupon)?),
        },
        points_requested: r.points_to_use.max(0),
        price: r.price.as_ref().map_or(0, |m| m.amount),
        order_name: r.order_name.clone(),
        payment_due_at: due,
        discount: 0,
        points: 0,
        payment_id: String::new(),
        checkout_url: String::new(),
        paid: false,
        refund_amount: 0,
        refunded: 0,
        cause: String::new(),
        failure_reason: String::new(),
        cancel_requested: false,
        created_at: now,
        updated_at: now,
        finished_at: None,
    })
}
