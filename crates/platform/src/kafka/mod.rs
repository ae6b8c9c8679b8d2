//! Kafka, the way every staymesh service uses it: protobuf [`Envelope`]s with
//! a UUIDv7 id and W3C trace context in the headers, an idempotent
//! [`Producer`], a [`Consumer`] that commits only handled messages and
//! dead-letters poison ones to `<topic>.dlq`, the transactional [`outbox`]
//! with its relay, and the [`inbox`] that makes at-least-once delivery
//! effectively once.
//!
//! Topics are named by one function, [`InfraArgs::topic`]:
//! `<prefix>.<domain>.events`, `<prefix>.<domain>.commands`,
//! `<prefix>.saga.replies` and their dead-letter twins ([`dlq_topic`]), the
//! prefix being `STAYMESH_KAFKA_PREFIX` so deployments can share a broker.
//! Services create the ones they use at start-up with [`ensure_topics`]
//! (brokers such as Tansu do not auto-create them).
//!
//! [`InfraArgs::topic`]: crate::InfraArgs::topic
//!
//! [`Envelope`]: staymesh_proto::common::Envelope

pub mod consumer;
pub mod dlq;
pub mod envelope;
pub mod headers;
pub mod inbox;
pub mod outbox;
pub mod participant;
pub mod producer;

use rdkafka::ClientConfig;
use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
use rdkafka::client::DefaultClientContext;
use rdkafka::error::KafkaError;
use rdkafka::types::RDKafkaErrorCode;

pub use consumer::{BatchSettings, Consumer, HandlerError, Incoming, RetryPolicy};
pub use dlq::{DeadLetter, DeadLetters};
pub use envelope::{EnvelopeError, EnvelopeExt};
pub use headers::HeaderMap;
pub use outbox::{OutboxRelay, RelaySettings};
pub use producer::Producer;

use crate::error::Error;

/// `<topic>.dlq`: where the consumers of `topic` park messages they gave up on.
pub fn dlq_topic(topic: &str) -> String {
    format!("{topic}.dlq")
}

/// Another domain's events topic and its dead-letter twin: what a service
/// that reads them ensures at start-up.
pub fn events_topics(infra: &crate::InfraArgs, domain: &str) -> Vec<String> {
    let events = infra.events_topic(domain);
    vec![dlq_topic(&events), events]
}

/// Joins `group` on `domain`'s events (the point service's stays, the review
/// service's completed stays, the accommodation service's ratings). An
/// outage is retried as patiently as a saga command before the event is
/// parked.
pub fn events_consumer(
    infra: &crate::InfraArgs,
    domain: &str,
    group: &str,
) -> Result<Consumer, Error> {
    Ok(Consumer::join(
        infra,
        &infra.consumer_group(group),
        &[&infra.events_topic(domain)],
    )?
    .with_retry(participant::RETRY))
}

/// Creates each topic with `partitions` partitions unless it exists, along
/// with nothing else (pass the `.dlq` names too). Replication is the broker's
/// default.
pub async fn ensure_topics(brokers: &str, topics: &[&str], partitions: i32) -> Result<(), Error> {
    let admin: AdminClient<DefaultClientContext> = ClientConfig::new()
        .set("bootstrap.servers", brokers)
        .create()?;
    let new: Vec<NewTopic<'_>> = topics
        .iter()
        .map(|name| NewTopic::new(name, partitions, TopicReplication::Fixed(-1)))
        .collect();
    for result in admin.create_topics(&new, &AdminOptions::new()).await? {
        match result {
            Ok(_) | Err((_, RDKafkaErrorCode::TopicAlreadyExists)) => {}
            Err((topic, code)) => {
                tracing::error!(%topic, %code, "cannot create kafka topic");
                return Err(KafkaError::AdminOp(code).into());
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn topic_names_follow_the_convention_and_the_prefix() {
        use clap::Parser;
        #[derive(Debug, Parser)]
        struct Args {
            #[command(flatten)]
            infra: crate::InfraArgs,
        }
        let mut infra = Args::parse_from(["test"]).infra;
        assert_eq!(infra.events_topic("booking"), "staymesh.booking.events");
        assert_eq!(infra.commands_topic("coupon"), "staymesh.coupon.commands");
        assert_eq!(
            dlq_topic(&infra.topic("saga", "replies")),
            "staymesh.saga.replies.dlq"
        );
        infra.kafka_prefix = "blue".into();
        assert_eq!(infra.events_topic("point"), "blue.point.events");
    }
}
