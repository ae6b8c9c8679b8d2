//! The saga's plan, as pure functions of what it knows: which forward steps
//! a booking needs (a coupon, points and a payment only when asked for and
//! owed), which compensations undo what was done (everything a step may have
//! touched, in reverse), and what comes next. The engine applies it; nothing
//! here reads a database, so the plan is tested on its own.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use staymesh_proto::saga::{SagaKind, SagaState, SagaStep, StepState};
use uuid::Uuid;

/// A saga as the orchestrator keeps it (one `saga` row).
#[derive(Debug, Clone, sqlx::FromRow)]
pub(crate) struct Saga {
    pub(crate) id: Uuid,
    pub(crate) booking_id: Uuid,
    pub(crate) kind: String,
    pub(crate) state: String,
    pub(crate) user_id: Uuid,
    pub(crate) host_id: Uuid,
    pub(crate) room_type_id: Uuid,
    pub(crate) check_in: chrono::NaiveDate,
    pub(crate) check_out: chrono::NaiveDate,
    pub(crate) rooms: i32,
    pub(crate) user_coupon_id: Option<Uuid>,
    pub(crate) points_requested: i64,
    pub(crate) price: i64,
    pub(crate) order_name: String,
    pub(crate) payment_due_at: DateTime<Utc>,
    pub(crate) discount: i64,
    pub(crate) points: i64,
    pub(crate) payment_id: String,
    pub(crate) checkout_url: String,
    pub(crate) paid: bool,
    pub(crate) refund_amount: i64,
    pub(crate) refunded: i64,
    pub(crate) cause: String,
    pub(crate) failure_reason: String,
    pub(crate) cancel_requested: bool,
    pub(crate) created_at: DateTime<Utc>,
    pub(crate) updated_at: DateTime<Utc>,
    pub(crate) finished_at: Option<DateTime<Utc>>,
}

/// One step as recorded (one `saga_step` row).
#[derive(Debug, Clone, sqlx::FromRow)]
pub(crate) struct StepRow {
    pub(crate) step: String,
    pub(crate) seq: i32,
    pub(crate) state: String,
    pub(crate) attempts: i32,
    pub(crate) command_ids: Vec<Uuid>,
    pub(crate) reason: String,
    pub(crate) started_at: DateTime<Utc>,
    pub(crate) finished_at: Option<DateTime<Utc>>,
    pub(crate) deadline: Option<DateTime<Utc>>,
}

/// A saga's steps by step.
pub(crate) type Steps = BTreeMap<SagaStep, StepRow>;

/// Stored names are the wire names without their enum prefix.
pub(crate) fn name<E: Copy>(value: E, wire: fn(&E) -> &'static str, prefix: &str) -> &'static str {
    let full = wire(&value);
    full.strip_prefix(prefix).unwrap_or(full)
}

pub(crate) fn step_name(step: SagaStep) -> &'static str {
    name(step, SagaStep::as_str_name, "SAGA_STEP_")
}

pub(crate) fn step_of(stored: &str) -> SagaStep {
    SagaStep::from_str_name(&format!("SAGA_STEP_{stored}")).unwrap_or(SagaStep::Unspecified)
}

pub(crate) fn state_name(state: SagaState) -> &'static str {
    name(state, SagaState::as_str_name, "SAGA_STATE_")
}

pub(crate) fn step_state_name(state: StepState) -> &'static str {
    name(state, StepState::as_str_name, "STEP_STATE_")
}

pub(crate) fn kind_name(kind: SagaKind) -> &'static str {
    name(kind, SagaKind::as_str_name, "SAGA_KIND_")
}

impl Saga {
    pub(crate) fn kind(&self) -> SagaKind {
        SagaKind::from_str_name(&format!("SAGA_KIND_{}", self.kind))
            .unwrap_or(SagaKind::Unspecified)
    }

    pub(crate) fn state(&self) -> SagaState {
        SagaState::from_str_name(&format!("SAGA_STATE_{}", self.state))
            .unwrap_or(SagaState::Unspecified)
    }

    pub(crate) fn set_state(&mut self, state: SagaState) {
        self.state = state_name(state).to_owned();
    }

    pub(crate) fn is_finished(&self) -> bool {
        matches!(self.state(), SagaState::Completed | SagaState::Compensated)
    }

    /// Whether the booking saga still moves forward.
    pub(crate) fn is_forward(&self) -> bool {
        self.kind() == SagaKind::Booking
            && matches!(
                self.state(),
                SagaState::Running | SagaState::AwaitingPayment
            )
    }

    /// Points to reserve: what was asked, at most what is left after the discount.
    pub(crate) fn points_to_reserve(&self) -> i64 {
        self.points_requested.min(self.price - self.discount).max(0)
    }

    /// What the guest pays at the PG.
    pub(crate) fn to_pay(&self) -> i64 {
        (self.price - self.discount - self.points).max(0)
    }
}

/// What a step record says.
pub(crate) fn step_state(row: &StepRow) -> StepState {
    StepState::from_str_name(&format!("STEP_STATE_{}", row.state)).unwrap_or(StepState::Unspecified)
}

fn succeeded(steps: &Steps, step: SagaStep) -> bool {
    steps
        .get(&step)
        .is_some_and(|r| step_state(r) == StepState::Succeeded)
}

/// Whether a step may have had its effect: sent and not refused. A step
/// that timed out may have happened, so it is undone too; so is a refused
/// step that was sent more than once, because the refusal answers one of
/// its commands and an earlier one may still arrive and succeed (a hold
/// that finds rooms freed meanwhile). The undo leaves a mark that refuses
/// such a late command, or gives back what it took.
fn touched(steps: &Steps, step: SagaStep) -> bool {
    steps
        .get(&step)
        .is_some_and(|r| step_state(r) != StepState::Failed || r.command_ids.len() > 1)
}

/// A booking's forward steps, as far as they are known: whether a payment
/// is owed is known once the coupon and points are reserved.
pub(crate) fn forward(s: &Saga) -> Vec<SagaStep> {
    let coupon = s.user_coupon_id.is_some();
    let points = s.points_to_reserve() > 0;
    let pay = s.to_pay() > 0;
    let mut steps = vec![SagaStep::HoldNights];
    steps.extend(coupon.then_some(SagaStep::ReserveCoupon));
    steps.extend(points.then_some(SagaStep::ReservePoints));
    if pay {
        steps.extend([
            SagaStep::CreatePayment,
            SagaStep::MarkAwaitingPayment,
            SagaStep::AwaitPayment,
        ]);
    }
    steps.push(SagaStep::ConfirmHold);
    steps.extend(coupon.then_some(SagaStep::RedeemCoupon));
    steps.extend(points.then_some(SagaStep::CommitPoints));
    steps.push(SagaStep::MarkConfirmed);
    steps
}

/// What undoes a booking saga's forward steps, in reverse order, then the
/// booking's mark. An unpaid payment is cancelled; a paid one (or one whose
/// cancel was refused because it was paid meanwhile) is refunded.
pub(crate) fn compensations(s: &Saga, steps: &Steps) -> Vec<SagaStep> {
    let mut undo = Vec::new();
    if touched(steps, SagaStep::CreatePayment) {
        let cancel_refused = steps
            .get(&SagaStep::CancelPayment)
            .is_some_and(|r| step_state(r) == StepState::Failed);
        undo.push(
            if !succeeded(steps, SagaStep::CancelPayment) && (s.paid || cancel_refused) {
                SagaStep::RefundPayment
            } else {
                SagaStep::CancelPayment
            },
        );
    }
    let pairs = [
        (SagaStep::ReservePoints, SagaStep::ReleasePoints),
        (SagaStep::ReserveCoupon, SagaStep::ReleaseCoupon),
        (SagaStep::HoldNights, SagaStep::ReleaseHold),
    ];
    undo.extend(
        pairs
            .into_iter()
            .filter(|(done, _)| touched(steps, *done))
            .map(|(_, undo)| undo),
    );
    undo.push(SagaStep::MarkCancelled);
    undo
}

/// A confirmed booking's cancellation: refund per the policy, give the
/// points and coupon back, release the sold nights, mark it cancelled.
pub(crate) fn cancellation(s: &Saga) -> Vec<SagaStep> {
    let mut steps = Vec::new();
    steps.extend((s.refund_amount > 0).then_some(SagaStep::RefundPayment));
    steps.extend((s.points > 0).then_some(SagaStep::ReleasePoints));
    steps.extend(
        s.user_coupon_id
            .is_some()
            .then_some(SagaStep::ReleaseCoupon),
    );
    steps.extend([SagaStep::ReleaseHold, SagaStep::MarkCancelled]);
    steps
}

/// Whether a failing step is retried until it succeeds (an undo) rather
/// than failing the saga.
pub(crate) fn must_succeed(kind: SagaKind, step: SagaStep) -> bool {
    kind == SagaKind::Cancellation || (step as i32) >= (SagaStep::CancelPayment as i32)
}

/// What the saga does next.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Next {
    /// Send the step's command.
    Send(SagaStep),
    /// Wait for the guest's payment (or its deadline).
    AwaitPayment,
    /// A step is in flight: wait for its reply or deadline.
    Wait,
    /// Nothing is left: end in this state.
    Finish(SagaState),
}

pub(crate) fn next(s: &Saga, steps: &Steps) -> Next {
    let (plan, done) = match (s.kind(), s.state()) {
        (SagaKind::Cancellation, _) => (cancellation(s), SagaState::Completed),
        (_, SagaState::Compensating | SagaState::Stuck) => {
            (compensations(s, steps), SagaState::Compensated)
        }
        _ => (forward(s), SagaState::Completed),
    };
    let Some(step) = plan.into_iter().find(|step| !succeeded(steps, *step)) else {
        return Next::Finish(done);
    };
    match steps.get(&step).map(step_state) {
        Some(StepState::Sent) => Next::Wait,
        _ if step == SagaStep::AwaitPayment => Next::AwaitPayment,
        _ => Next::Send(step),
    }
}

/// Which service a step's command goes to.
pub(crate) fn participant(step: SagaStep) -> &'static str {
    use SagaStep::*;
    match step {
        HoldNights | ConfirmHold | ReleaseHold => "accommodation",
        ReserveCoupon | RedeemCoupon | ReleaseCoupon => "coupon",
        ReservePoints | CommitPoints | ReleasePoints => "point",
        CreatePayment | CancelPayment | RefundPayment => "payment",
        MarkAwaitingPayment | MarkConfirmed | MarkCancelled | AwaitPayment | Unspecified => {
            "booking"
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A booking saga undoing itself after its hold was refused.
    fn saga() -> Saga {
        let requested = crate::engine_tests::requested(Uuid::now_v7(), Uuid::now_v7());
        let mut saga = crate::engine::booking_saga_of(&requested, Utc::now()).expect("a saga");
        saga.state = state_name(SagaState::Compensating).into();
        saga.cause = "SOLD_OUT".into();
        saga
    }

    fn hold_failed(commands: usize) -> Steps {
        let row = StepRow {
            step: step_name(SagaStep::HoldNights).into(),
            seq: 1,
            state: step_state_name(StepState::Failed).into(),
            attempts: i32::try_from(commands).unwrap_or(i32::MAX),
            command_ids: (0..commands).map(|_| Uuid::now_v7()).collect(),
            reason: "not enough rooms left".into(),
            started_at: Utc::now(),
            finished_at: Some(Utc::now()),
            deadline: None,
        };
        Steps::from([(SagaStep::HoldNights, row)])
    }

    #[test]
    fn a_step_refused_at_its_only_command_is_not_undone() {
        assert_eq!(
            compensations(&saga(), &hold_failed(1)),
            vec![SagaStep::MarkCancelled]
        );
    }

    #[test]
    fn a_step_refused_after_a_resend_is_undone_in_case_the_first_command_lands_late() {
        assert_eq!(
            compensations(&saga(), &hold_failed(2)),
            vec![SagaStep::ReleaseHold, SagaStep::MarkCancelled]
        );
    }
}
