//! What the orchestrator consumes: the booking service's requests, the
//! payment service's verdicts and every participant's replies, each applied
//! by the engine in one transaction with its inbox entry (a redelivered
//! message changes nothing). Other events on those topics are not the
//! saga's business and pass by.

use sqlx::PgPool;
use staymesh_platform::InfraArgs;
use staymesh_platform::kafka::{EnvelopeExt, HandlerError, Incoming, dlq_topic, inbox};
use staymesh_proto::saga as pb;

use crate::engine::Engine;

/// The topics the orchestrator reads.
pub(crate) fn topics(infra: &InfraArgs) -> Vec<String> {
    vec![
        infra.events_topic("booking"),
        infra.events_topic("payment"),
        infra.topic("saga", "replies"),
    ]
}

/// Every topic the orchestrator reads or writes, with the dead-letter
/// twins, for `ensure_topics`.
pub(crate) fn all_topics(infra: &InfraArgs) -> Vec<String> {
    let mut topics = topics(infra);
    topics.extend(
        ["accommodation", "coupon", "point", "payment", "booking"].map(|p| infra.commands_topic(p)),
    );
    topics
        .into_iter()
        .flat_map(|t| [dlq_topic(&t), t])
        .collect()
}

/// Applies one message, once.
pub(crate) async fn handle(
    pool: PgPool,
    engine: Engine,
    group: String,
    incoming: Incoming,
) -> Result<(), HandlerError> {
    let envelope = &incoming.envelope;
    let wanted = envelope.is::<pb::BookingRequested>()
        || envelope.is::<pb::BookingCancellationRequested>()
        || envelope.is::<pb::PaymentApproved>()
        || envelope.is::<pb::PaymentFailed>()
        || envelope.is::<pb::StepReply>();
    if !wanted {
        return Ok(());
    }
    let mut tx = pool.begin().await?;
    if !inbox::try_begin(&mut tx, &group, incoming.message_id()?).await? {
        tx.rollback().await?;
        return Ok(());
    }
    if envelope.is::<pb::StepReply>() {
        engine.reply(&mut tx, &incoming.decode()?).await?;
    } else if envelope.is::<pb::BookingRequested>() {
        engine.start(&mut tx, &incoming.decode()?).await?;
    } else if envelope.is::<pb::PaymentApproved>() {
        engine.paid(&mut tx, &incoming.decode()?).await?;
    } else if envelope.is::<pb::PaymentFailed>() {
        engine.payment_failed(&mut tx, &incoming.decode()?).await?;
    } else {
        engine.cancel(&mut tx, &incoming.decode()?).await?;
    }
    tx.commit().await?;
    Ok(())
}
