//! The dead-letter topics, for people: [`list`] reads every message parked
//! in a set of `<topic>.dlq` topics with why it was parked, and [`replay`]
//! publishes them back to the topic they came from, bytes and headers as
//! they were (less the `dlq.*` ones), so the message keeps its id and a
//! consumer's inbox still applies it at most once.
//!
//! What was replayed is remembered as the committed offsets of a consumer
//! group of its own (`<prefix>-dlq-replay`), so a second `replay` sends only
//! what was parked since and `list` tells replayed from waiting messages.
//! Nothing is ever deleted from a dead-letter topic: retention does that.

use std::collections::BTreeMap;
use std::time::Duration;

use rdkafka::consumer::{BaseConsumer, CommitMode, Consumer as _};
use rdkafka::message::Message as _;
use rdkafka::{ClientConfig, Offset, TopicPartitionList};
use staymesh_proto::common::Envelope;

use super::producer::Producer;
use super::{EnvelopeExt as _, HeaderMap, headers};
use crate::error::Error;

/// How long one broker request of the tool may take.
const TIMEOUT: Duration = Duration::from_secs(10);

/// One parked message and why it was parked.
#[derive(Debug, Clone)]
pub struct DeadLetter {
    /// The dead-letter topic, partition and offset it sits at.
    pub topic: String,
    pub partition: i32,
    pub offset: i64,
    /// Where it came from and who gave up on it.
    pub source_topic: String,
    pub consumer_group: String,
    /// `retryable` (attempts ran out) or `permanent`, and the error chain.
    pub reason: String,
    pub error: String,
    pub attempts: u32,
    /// The envelope's message type and id, when the payload is one.
    pub message_type: String,
    pub message_id: String,
    pub key: String,
    /// Whether a replay already sent it back.
    pub replayed: bool,
    payload: Vec<u8>,
    headers: HeaderMap,
}

/// Reads the dead-letter topics of a deployment.
pub struct DeadLetters {
    consumer: BaseConsumer,
    brokers: String,
}

impl std::fmt::Debug for DeadLetters {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DeadLetters")
            .field("brokers", &self.brokers)
            .finish_non_exhaustive()
    }
}

impl DeadLetters {
    /// A reader on `brokers` whose replays are remembered by `group`.
    pub fn new(brokers: &str, group: &str) -> Result<Self, Error> {
        let consumer: BaseConsumer = ClientConfig::new()
            .set("bootstrap.servers", brokers)
            .set("group.id", group)
            .set("enable.auto.commit", "false")
            .set("enable.auto.offset.store", "false")
            .create()?;
        Ok(Self {
            consumer,
            brokers: brokers.to_owned(),
        })
    }

    /// Every message in `topics` (dead-letter topics), oldest first per
    /// partition. A topic that does not exist has none.
    pub fn list(&self, topics: &[String]) -> Result<Vec<DeadLetter>, Error> {
        let mut found = Vec::new();
        for topic in topics {
            let metadata = self.consumer.fetch_metadata(Some(topic), TIMEOUT)?;
            let Some(described) = metadata.topics().iter().find(|t| t.name() == topic) else {
                continue;
            };
            if described.error().is_some() {
                continue;
            }
            for partition in described.partitions() {
                found.extend(self.read_partition(topic, partition.id())?);
            }
        }
        Ok(found)
    }

    /// The messages in `topics` that no replay has sent back yet.
    pub fn waiting(&self, topics: &[String]) -> Result<Vec<DeadLetter>, Error> {
        let mut letters = self.list(topics)?;
        letters.retain(|l| !l.replayed);
        Ok(letters)
    }

    fn read_partition(&self, topic: &str, partition: i32) -> Result<Vec<DeadLetter>, Error> {
        let (low, high) = self.consumer.fetch_watermarks(topic, partition, TIMEOUT)?;
        if high <= low {
            return Ok(Vec::new());
        }
        let replayed_below = self.replayed_below(topic, partition)?;
        let mut assignment = TopicPartitionList::new();
        assignment.add_partition_offset(topic, partition, Offset::Offset(low))?;
        self.consumer.assign(&assignment)?;
        let mut letters = Vec::new();
        let deadline = std::time::Instant::now() + TIMEOUT;
        let mut next = low;
        while next < high {
            if std::time::Instant::now() > deadline {
                return Err(Error::Config(format!(
                    "reading {topic}/{partition} stopped at offset {next} of {high}"
                )));
            }
            let Some(polled) = self.consumer.poll(Duration::from_millis(500)) else {
                continue;
            };
            let message = polled?;
            next = message.offset() + 1;
            let headers = headers::from_kafka(message.headers());
            let payload = message.payload().map(<[u8]>::to_vec).unwrap_or_default();
            let envelope = Envelope::from_bytes(&payload).ok();
            let header = |name: &str| headers.get(name).cloned().unwrap_or_default();
            letters.push(DeadLetter {
                topic: topic.to_owned(),
                partition,
                offset: message.offset(),
                source_topic: header("dlq.source.topic"),
                consumer_group: header("dlq.consumer.group"),
                reason: header("dlq.reason"),
                error: header("dlq.error"),
                attempts: header("dlq.attempts").parse().unwrap_or(0),
                message_type: envelope
                    .as_ref()
                    .map(|e| e.r#type.clone())
                    .unwrap_or_default(),
                message_id: envelope.map(|e| e.id).unwrap_or_default(),
                key: String::from_utf8_lossy(message.key().unwrap_or_default()).into_owned(),
                replayed: message.offset() < replayed_below,
                payload,
                headers,
            });
        }
        self.consumer.unassign()?;
        Ok(letters)
    }

    /// The first offset of `topic`/`partition` not replayed yet.
    fn replayed_below(&self, topic: &str, partition: i32) -> Result<i64, Error> {
        let mut wanted = TopicPartitionList::new();
        wanted.add_partition(topic, partition);
        let committed = self.consumer.committed_offsets(wanted, TIMEOUT)?;
        Ok(committed
            .find_partition(topic, partition)
            .and_then(|p| p.offset().to_raw())
            .filter(|offset| *offset >= 0)
            .unwrap_or(0))
    }

    /// Sends each of `letters` back to its source topic; returns the ones
    /// sent (a letter whose source is unknown is skipped). With `remember`,
    /// everything up to the last one sent of each partition counts as
    /// replayed from then on, so pass all the waiting letters of a topic, as
    /// [`DeadLetters::waiting`] gives them.
    pub async fn replay(
        &self,
        letters: &[DeadLetter],
        remember: bool,
    ) -> Result<Vec<DeadLetter>, Error> {
        let producer = Producer::new(&self.brokers)?;
        let mut sent = Vec::new();
        let mut done: BTreeMap<(String, i32), i64> = BTreeMap::new();
        for letter in letters {
            if letter.source_topic.is_empty() {
                continue;
            }
            let mut headers = letter.headers.clone();
            headers.retain(|name, _| !name.starts_with("dlq."));
            headers.insert(
                "dlq.replayed.from".into(),
                format!("{}/{}/{}", letter.topic, letter.partition, letter.offset),
            );
            producer
                .send_raw(&letter.source_topic, &letter.key, &letter.payload, &headers)
                .await?;
            let next = done
                .entry((letter.topic.clone(), letter.partition))
                .or_default();
            *next = (*next).max(letter.offset + 1);
            sent.push(DeadLetter {
                replayed: true,
                ..letter.clone()
            });
        }
        if remember && !done.is_empty() {
            let mut offsets = TopicPartitionList::new();
            for ((topic, partition), next) in &done {
                offsets.add_partition_offset(topic, *partition, Offset::Offset(*next))?;
            }
            self.consumer.commit(&offsets, CommitMode::Sync)?;
        }
        Ok(sent)
    }
}
