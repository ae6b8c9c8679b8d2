//! A saga participant's side of a command (DESIGN: commands out through the
//! orchestrator's outbox, replies on `<prefix>.saga.replies`). The
//! participant applies the command with the idempotent function it already
//! has, then answers ([`Replies::answer`]): in one transaction the
//! command's id goes into the inbox and its `StepReply` into the outbox, so a
//! redelivered command is answered once however often it arrives. Business refusals are FAILED
//! replies; transient faults are not answered at all but retried (see
//! [`Refusal`]), so the orchestrator never mistakes an outage for a "no".

use std::future::Future;
use std::time::Duration;

use sqlx::PgPool;
use staymesh_proto::saga::{SagaStep, StepOutcome, StepReply, step_reply};

use super::consumer::{Consumer, HandlerError, Incoming, RetryPolicy};
use super::{dlq_topic, inbox, outbox};
use crate::config::InfraArgs;
use crate::error::Error;
use crate::rpc;
use crate::shutdown::Shutdown;

/// A command a participant cannot serve yet (its database or a dependency
/// is down) is retried for about a minute and a half before it is parked in
/// the dead-letter topic; the saga resends it after its step deadline. An
/// outage is never an answer.
pub const RETRY: RetryPolicy = RetryPolicy {
    max_attempts: 20,
    initial_backoff: Duration::from_millis(100),
    max_backoff: Duration::from_secs(5),
};

/// A command's answer, ready to be replied.
#[derive(Debug, Clone)]
pub struct Answer {
    pub saga_id: String,
    pub booking_id: String,
    pub step: SagaStep,
    pub outcome: Outcome,
}

impl From<(String, String, SagaStep, Outcome)> for Answer {
    /// `(saga_id, booking_id, step, outcome)`, as the commands carry them.
    fn from((saga_id, booking_id, step, outcome): (String, String, SagaStep, Outcome)) -> Self {
        Self {
            saga_id,
            booking_id,
            step,
            outcome,
        }
    }
}

/// A command's id field, or a permanent failure: a malformed command never
/// gets better, so it is dead-lettered rather than retried.
pub fn id(field: &str, text: &str) -> Result<uuid::Uuid, HandlerError> {
    uuid::Uuid::parse_str(text)
        .map_err(|_| HandlerError::permanent(format!("{field} `{text}` is not a UUID")))
}

/// A command this participant does not take: dead-lettered at once.
pub fn unknown(service: &str, incoming: &Incoming) -> HandlerError {
    HandlerError::permanent(format!(
        "the {service} service takes no `{}` command",
        incoming.envelope.r#type
    ))
}

/// A saga participant: its commands' consumer and where its answers go.
#[derive(Debug)]
pub struct Participant {
    consumer: Consumer,
    replies: Replies,
}

/// Where a participant's answers go, and the inbox that makes them unique.
#[derive(Debug, Clone)]
pub struct Replies {
    pool: PgPool,
    /// `<prefix>.saga.replies`.
    topic: String,
    /// The participant's consumer group, also its inbox name.
    group: String,
}

impl Participant {
    /// The participant `service` of a deployment: joins its consumer group
    /// on `<prefix>.<service>.commands` and answers into `pool`'s outbox.
    pub fn new(pool: PgPool, infra: &InfraArgs, service: &str) -> Result<Self, Error> {
        let group = infra.consumer_group(&format!("{service}-participant"));
        let consumer =
            Consumer::join(infra, &group, &[&infra.commands_topic(service)])?.with_retry(RETRY);
        Ok(Self {
            consumer,
            replies: Replies {
                pool,
                topic: infra.topic("saga", "replies"),
                group,
            },
        })
    }

    /// The topics it reads and writes, with their dead-letter twins, for
    /// `ensure_topics`.
    pub fn topics(infra: &InfraArgs, service: &str) -> Vec<String> {
        [
            infra.commands_topic(service),
            infra.topic("saga", "replies"),
        ]
        .into_iter()
        .flat_map(|topic| [dlq_topic(&topic), topic])
        .collect()
    }

    /// Consumes its commands until `shutdown`: each one not answered before
    /// goes to `handle`, and what it returns is replied once.
    pub async fn run<H, F>(self, mut handle: H, shutdown: Shutdown)
    where
        H: FnMut(Incoming) -> F,
        F: Future<Output = Result<Answer, HandlerError>>,
    {
        let replies = self.replies;
        self.consumer
            .run(
                |incoming| {
                    // Futures do nothing until awaited: the work starts only
                    // if the command was not answered before.
                    let work = handle(incoming.clone());
                    let replies = replies.clone();
                    async move {
                        if replies.answered(&incoming).await? {
                            return Ok(());
                        }
                        let answer = work.await?;
                        replies.answer(&incoming, answer).await.map(drop)
                    }
                },
                &shutdown,
            )
            .await;
    }
}

impl Replies {
    /// Whether the command in `incoming` was answered before: spares a
    /// redelivered command its effect ([`Replies::answer`] is what makes
    /// the answer unique).
    async fn answered(&self, incoming: &Incoming) -> Result<bool, HandlerError> {
        let id = incoming.message_id()?;
        let seen: bool = sqlx::query_scalar(
            "SELECT EXISTS (SELECT 1 FROM inbox WHERE consumer = $1 AND message_id = $2)",
        )
        .bind(&self.group)
        .bind(id)
        .fetch_one(&self.pool)
        .await?;
        Ok(seen)
    }

    /// Replies `answer` to the command in `incoming`, once per command id:
    /// the inbox entry and the reply's outbox row commit together. Returns
    /// whether this call wrote the reply.
    pub async fn answer(&self, incoming: &Incoming, answer: Answer) -> Result<bool, HandlerError> {
        let command_id = incoming.message_id()?;
        let (outcome, reason, detail) = match answer.outcome {
            Outcome::Succeeded(detail) => (StepOutcome::Succeeded, String::new(), detail),
            Outcome::Failed(reason) => (StepOutcome::Failed, reason, None),
        };
        let reply = StepReply {
            saga_id: answer.saga_id,
            booking_id: answer.booking_id,
            step: answer.step as i32,
            command_id: command_id.to_string(),
            outcome: outcome as i32,
            reason,
            detail,
        };
        let mut tx = self.pool.begin().await?;
        if !inbox::try_begin(&mut tx, &self.group, command_id).await? {
            tx.rollback().await?;
            return Ok(false);
        }
        outbox::enqueue(&mut tx, &self.topic, &reply.booking_id, &reply).await?;
        tx.commit().await?;
        metrics::counter!(
            "staymesh_saga_replies_total",
            "step" => answer.step.as_str_name(),
            "outcome" => outcome.as_str_name()
        )
        .increment(1);
        Ok(true)
    }
}

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
