//! A saga participant under test: send it a command the way the
//! orchestrator's outbox would, and read the replies it wrote to its own
//! outbox for the replies topic.

use std::time::Duration;

use prost::Message;
use sqlx::PgPool;
use staymesh_platform::InfraArgs;
use staymesh_platform::kafka::{EnvelopeExt, Producer};
use staymesh_proto::common::Envelope;
use staymesh_proto::saga::StepReply;

/// A command for `service` in an envelope keyed by its booking.
pub fn command<M: prost::Name>(booking: &uuid::Uuid, command: &M) -> Envelope {
    Envelope::wrap(&booking.to_string(), command)
}

/// Publishes `envelope` on `<prefix>.<service>.commands`.
pub async fn send_command(infra: &InfraArgs, service: &str, envelope: &Envelope) {
    Producer::new(&infra.kafka_brokers)
        .expect("producer")
        .send_envelope(&infra.commands_topic(service), envelope)
        .await
        .expect("command sent");
}

/// The messages keyed `key` in a service's outbox, in order; only those
/// for `topic` when it is given.
pub async fn outbox(pool: &PgPool, key: &str, topic: Option<&str>) -> Vec<Envelope> {
    let payloads: Vec<Vec<u8>> = sqlx::query_scalar(
        "SELECT payload FROM outbox WHERE key = $1 AND ($2::text IS NULL OR topic = $2) ORDER BY seq",
    )
    .bind(key)
    .bind(topic)
    .fetch_all(pool)
    .await
    .expect("read the outbox");
    payloads
        .iter()
        .map(|p| <Envelope as Message>::decode(p.as_slice()).expect("an envelope"))
        .collect()
}

/// The replies about `booking` in the participant's outbox, in order.
pub async fn replies(pool: &PgPool, infra: &InfraArgs, booking: &uuid::Uuid) -> Vec<StepReply> {
    let topic = infra.topic("saga", "replies");
    outbox(pool, &booking.to_string(), Some(&topic))
        .await
        .iter()
        .map(|envelope| envelope.decode().expect("a StepReply"))
        .collect()
}

/// Waits until at least `count` replies about `booking` exist; all of them.
pub async fn wait_replies(
    pool: &PgPool,
    infra: &InfraArgs,
    booking: &uuid::Uuid,
    count: usize,
) -> Vec<StepReply> {
    crate::eventually(
        Duration::from_secs(60),
        "the participant's replies",
        || async { replies(pool, infra, booking).await.len() >= count },
    )
    .await;
    replies(pool, infra, booking).await
}
