//! A saga participant's side of a command (DESIGN: commands out through the
//! orchestrator's outbox, replies on `<prefix>.saga.replies`). The
//! participant applies the command with the idempotent function it already
//! has, then [`answer`]s: in one transaction the command's id goes into the
//! inbox and its `StepReply` into the outbox, so a redelivered command is
//! answered once however often it arrives. Business refusals are FAILED
//! replies; transient faults are not answered at all but retried (see
//! [`Refusal`]), so the orchestrator never mistakes an outage for a "no".

use sqlx::PgPool;
use staymesh_proto::saga::{SagaStep, StepOutcome, StepReply, step_reply};

use super::consumer::{HandlerError, Incoming};
use super::{inbox, outbox};
use crate::rpc;

/// How a command's step ended, as its reply says.
#[derive(Debug, Clone)]
pub enum Outcome {
    /// Done, with what the step produced (if it produces something).
    Succeeded(Option<step_reply::Detail>),
    /// Refused for a business reason, said to people as this.
    Failed(String),
}

/// A step's result sorted into an answer: success or a business refusal
/// becomes an [`Outcome`]; an infrastructure fault becomes a retryable
/// [`HandlerError`], so the consumer tries the command again.
pub trait Refusal<T> {
    fn outcome(
        self,
        detail: impl FnOnce(T) -> Option<step_reply::Detail>,
    ) -> Result<Outcome, HandlerError>;
}

impl<T> Refusal<T> for Result<T, rpc::Error> {
    fn outcome(
        self,
        detail: impl FnOnce(T) -> Option<step_reply::Detail>,
    ) -> Result<Outcome, HandlerError> {
        match self {
            Ok(value) => Ok(Outcome::Succeeded(detail(value))),
            Err(rpc::Error::Infra(error)) => Err(HandlerError::retryable(error)),
            Err(refused) => Ok(Outcome::Failed(refused.to_string())),
        }
    }
}

/// Whether `consumer` already answered the command in `incoming` (a cheap
/// check that spares a redelivered command its effect; [`answer`] is what
/// makes the answer unique).
pub async fn answered(
    pool: &PgPool,
    consumer: &str,
    incoming: &Incoming,
) -> Result<bool, HandlerError> {
    let id = incoming.message_id()?;
    let seen: bool = sqlx::query_scalar(
        "SELECT EXISTS (SELECT 1 FROM inbox WHERE consumer = $1 AND message_id = $2)",
    )
    .bind(consumer)
    .bind(id)
    .fetch_one(pool)
    .await?;
    Ok(seen)
}

/// Replies to the command in `incoming` on `replies_topic` with `outcome`,
/// once per command id: the inbox entry and the reply's outbox row commit
/// together. Returns whether this call wrote the reply.
pub async fn answer(
    pool: &PgPool,
    consumer: &str,
    replies_topic: &str,
    incoming: &Incoming,
    (saga_id, booking_id): (&str, &str),
    step: SagaStep,
    outcome: Outcome,
) -> Result<bool, HandlerError> {
    let command_id = incoming.message_id()?;
    let (outcome, reason, detail) = match outcome {
        Outcome::Succeeded(detail) => (StepOutcome::Succeeded, String::new(), detail),
        Outcome::Failed(reason) => (StepOutcome::Failed, reason, None),
    };
    let reply = StepReply {
        saga_id: saga_id.to_owned(),
        booking_id: booking_id.to_owned(),
        step: step as i32,
        command_id: command_id.to_string(),
        outcome: outcome as i32,
        reason,
        detail,
    };
    let mut tx = pool.begin().await?;
    if !inbox::try_begin(&mut tx, consumer, command_id).await? {
        tx.rollback().await?;
        return Ok(false);
    }
    outbox::enqueue(&mut tx, replies_topic, booking_id, &reply).await?;
    tx.commit().await?;
    metrics::counter!(
        "staymesh_saga_replies_total",
        "step" => step.as_str_name(),
        "outcome" => outcome.as_str_name()
    )
    .increment(1);
    Ok(true)
}
