//! Reading and writing sagas: one saga with its steps, loaded with the saga
//! row locked (every change to a saga holds that lock, so two messages of
//! one saga never interleave), and written back in the same transaction.

use std::collections::BTreeSet;

use chrono::{DateTime, Utc};
use sqlx::PgConnection;
use staymesh_proto::saga::{SagaStep, StepState};
use uuid::Uuid;

use crate::flow::{Saga, StepRow, Steps, step_name, step_of, step_state_name};

/// Every column of `saga`, in [`Saga`]'s order.
pub(crate) const SAGA_COLUMNS: &str = "id, booking_id, kind, state, user_id, host_id, room_type_id, \
     check_in, check_out, rooms, user_coupon_id, points_requested, price, order_name, \
     payment_due_at, discount, points, payment_id, checkout_url, paid, refund_amount, refunded, \
     cause, failure_reason, cancel_requested, created_at, updated_at, finished_at";

const STEP_COLUMNS: &str =
    "step, seq, state, attempts, command_ids, reason, started_at, finished_at, deadline";

/// A saga with its steps, locked for the transaction, and which steps changed.
#[derive(Debug)]
pub(crate) struct Loaded {
    pub(crate) saga: Saga,
    pub(crate) steps: Steps,
    changed: BTreeSet<SagaStep>,
}

impl Loaded {
    pub(crate) fn new(saga: Saga) -> Self {
        Self {
            saga,
            steps: Steps::new(),
            changed: BTreeSet::new(),
        }
    }

    /// The step's record, created (not yet sent) if it has none.
    pub(crate) fn step_mut(&mut self, step: SagaStep, now: DateTime<Utc>) -> &mut StepRow {
        self.changed.insert(step);
        let seq = i32::try_from(self.steps.len()).unwrap_or(i32::MAX) + 1;
        self.steps.entry(step).or_insert_with(|| StepRow {
            step: step_name(step).to_owned(),
            seq,
            state: step_state_name(StepState::Sent).to_owned(),
            attempts: 0,
            command_ids: Vec::new(),
            reason: String::new(),
            started_at: now,
            finished_at: None,
            deadline: None,
        })
    }

    /// Ends a step in `state`.
    pub(crate) fn finish_step(
        &mut self,
        step: SagaStep,
        state: StepState,
        reason: &str,
        now: DateTime<Utc>,
    ) {
        let row = self.step_mut(step, now);
        row.state = step_state_name(state).to_owned();
        row.reason = reason.to_owned();
        row.finished_at = Some(now);
        row.deadline = None;
    }
}

/// Saga `id` with its steps, locked; `None` if there is none.
pub(crate) async fn load(conn: &mut PgConnection, id: Uuid) -> sqlx::Result<Option<Loaded>> {
    let saga: Option<Saga> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT {SAGA_COLUMNS} FROM saga WHERE id = $1 FOR UPDATE"
    )))
    .bind(id)
    .fetch_optional(&mut *conn)
    .await?;
    let Some(saga) = saga else {
        return Ok(None);
    };
    let mut loaded = Loaded::new(saga);
    loaded.steps = steps_of(conn, id).await?;
    Ok(Some(loaded))
}

/// The steps of saga `id`.
pub(crate) async fn steps_of(conn: &mut PgConnection, id: Uuid) -> sqlx::Result<Steps> {
    let rows: Vec<StepRow> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT {STEP_COLUMNS} FROM saga_step WHERE saga_id = $1 ORDER BY seq"
    )))
    .bind(id)
    .fetch_all(conn)
    .await?;
    Ok(rows.into_iter().map(|r| (step_of(&r.step), r)).collect())
}

/// Inserts a new saga; `false` if one with its id (or its booking and
/// kind) exists already.
pub(crate) async fn insert(conn: &mut PgConnection, s: &Saga) -> sqlx::Result<bool> {
    let inserted = sqlx::query(
        "INSERT INTO saga (id, booking_id, kind, state, user_id, host_id, room_type_id, check_in, \
           check_out, rooms, user_coupon_id, points_requested, price, order_name, payment_due_at, \
           discount, points, payment_id, refund_amount, cause, failure_reason) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, \
           $19, $20, $21) ON CONFLICT DO NOTHING",
    )
    .bind(s.id)
    .bind(s.booking_id)
    .bind(&s.kind)
    .bind(&s.state)
    .bind(s.user_id)
    .bind(s.host_id)
    .bind(s.room_type_id)
    .bind(s.check_in)
    .bind(s.check_out)
    .bind(s.rooms)
    .bind(s.user_coupon_id)
    .bind(s.points_requested)
    .bind(s.price)
    .bind(&s.order_name)
    .bind(s.payment_due_at)
    .bind(s.discount)
    .bind(s.points)
    .bind(&s.payment_id)
    .bind(s.refund_amount)
    .bind(&s.cause)
    .bind(&s.failure_reason)
    .execute(conn)
    .await?
    .rows_affected();
    Ok(inserted == 1)
}

/// Writes the saga row and every changed step back.
pub(crate) async fn save(conn: &mut PgConnection, l: &Loaded) -> sqlx::Result<()> {
    let s = &l.saga;
    sqlx::query(
        "UPDATE saga SET state = $2, discount = $3, points = $4, payment_id = $5, \
           checkout_url = $6, paid = $7, refunded = $8, cause = $9, failure_reason = $10, \
           cancel_requested = $11, finished_at = $12, updated_at = now() WHERE id = $1",
    )
    .bind(s.id)
    .bind(&s.state)
    .bind(s.discount)
    .bind(s.points)
    .bind(&s.payment_id)
    .bind(&s.checkout_url)
    .bind(s.paid)
    .bind(s.refunded)
    .bind(&s.cause)
    .bind(&s.failure_reason)
    .bind(s.cancel_requested)
    .bind(s.finished_at)
    .execute(&mut *conn)
    .await?;
    for step in &l.changed {
        let Some(r) = l.steps.get(step) else { continue };
        sqlx::query(
            "INSERT INTO saga_step (saga_id, step, seq, state, attempts, command_ids, reason, \
               started_at, finished_at, deadline) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) \
             ON CONFLICT (saga_id, step) DO UPDATE SET state = $4, attempts = $5, \
               command_ids = $6, reason = $7, finished_at = $9, deadline = $10",
        )
        .bind(s.id)
        .bind(&r.step)
        .bind(r.seq)
        .bind(&r.state)
        .bind(r.attempts)
        .bind(&r.command_ids)
        .bind(&r.reason)
        .bind(r.started_at)
        .bind(r.finished_at)
        .bind(r.deadline)
        .execute(&mut *conn)
        .await?;
    }
    Ok(())
}
