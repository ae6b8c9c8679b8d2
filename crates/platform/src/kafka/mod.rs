//! Kafka, the way every staymesh service uses it: protobuf [`Envelope`]s with
//! a UUIDv7 id and W3C trace context in the headers, an idempotent
//! [`Producer`], a [`Consumer`] that commits only handled messages and
//! dead-letters poison ones to `<topic>.dlq`, the transactional [`outbox`]
//! with its relay, and the [`inbox`] that makes at-least-once delivery
//! effectively once.
//!
//! Topics are `staymesh.<domain>.events`, `staymesh.<domain>.commands`,
//! [`SAGA_REPLIES`] and their dead-letter twins; services create the ones they
//! use at start-up with [`ensure_topics`] (brokers such as Tansu do not
//! auto-create them).
//!
//! [`Envelope`]: staymesh_proto::common::Envelope

pub mod consumer;
pub mod envelope;
pub mod headers;
pub mod inbox;
pub mod outbox;
pub mod producer;

use rdkafka::ClientConfig;
use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
use rdkafka::client::DefaultClientContext;
use rdkafka::error::KafkaError;
use rdkafka::types::RDKafkaErrorCode;

pub use consumer::{BatchSettings, Consumer, HandlerError, Incoming, RetryPolicy};
pub use envelope::{EnvelopeError, EnvelopeExt};
pub use headers::HeaderMap;
pub use outbox::{OutboxRelay, RelaySettings};
pub use producer::Producer;

use crate::error::Error;

/// Replies of every saga participant to the orchestrator.
pub const SAGA_REPLIES: &str = "staymesh.saga.replies";

/// `staymesh.<domain>.events`: facts a domain announces.
pub fn events_topic(domain: &str) -> String {
    format!("staymesh.{domain}.events")
}

/// `staymesh.<domain>.commands`: what the saga asks a domain to do.
pub fn commands_topic(domain: &str) -> String {
    format!("staymesh.{domain}.commands")
}

/// `<topic>.dlq`: where the consumers of `topic` park messages they gave up on.
pub fn dlq_topic(topic: &str) -> String {
    format!("{topic}.dlq")
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
    fn topic_names_follow_the_convention() {
        assert_eq!(events_topic("booking"), "staymesh.booking.events");
        assert_eq!(commands_topic("coupon"), "staymesh.coupon.commands");
        assert_eq!(dlq_topic(SAGA_REPLIES), "staymesh.saga.replies.dlq");
    }
}
