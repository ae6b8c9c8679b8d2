//! The consumer helper: a consumer-group member that hands each decoded
//! envelope to a handler, commits its offset only after the handler
//! succeeded, retries failures with backoff a bounded number of times and
//! then parks the message in `<topic>.dlq`, so one poison message never
//! stops a partition.
//!
//! Delivery is at least once: a crash after the handler's effect but before
//! the commit redelivers the message, so handlers dedupe through the inbox.

use std::collections::BTreeMap;
use std::future::Future;
use std::time::Duration;

use prost::Name;
use rdkafka::consumer::{CommitMode, Consumer as _, StreamConsumer};
use rdkafka::message::Message as _;
use rdkafka::{ClientConfig, Offset, TopicPartitionList};
use staymesh_proto::common::Envelope;
use tracing::Instrument;
use tracing_opentelemetry::OpenTelemetrySpanExt;
use uuid::Uuid;

use super::dlq_topic;
use super::envelope::{EnvelopeError, EnvelopeExt};
use super::headers::{self, HeaderMap};
use super::producer::Producer;
use crate::config::InfraArgs;
use crate::error::Error;
use crate::shutdown::Shutdown;

type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// A message as a handler sees it: the envelope and where it came from.
#[derive(Debug, Clone)]
pub struct Incoming {
    pub envelope: Envelope,
    pub topic: String,
    pub partition: i32,
    pub offset: i64,
    /// The Kafka headers, including `traceparent` when the producer had a trace.
    pub headers: HeaderMap,
}

impl Incoming {
    /// The message id to dedupe on.
    pub fn message_id(&self) -> Result<Uuid, EnvelopeError> {
        self.envelope.message_id()
    }

    /// The payload as an `M` (a wrong type is a permanent error).
    pub fn decode<M: Name + Default>(&self) -> Result<M, EnvelopeError> {
        self.envelope.decode()
    }
}

/// How a handler failed, which decides what happens to the message.
#[derive(Debug, thiserror::Error)]
pub enum HandlerError {
    /// Worth another try (a database or broker hiccup): retried with backoff,
    /// dead-lettered once the attempts run out.
    #[error("retryable: {0}")]
    Retryable(#[source] BoxError),
    /// Will never succeed (a malformed or unexpected message): dead-lettered at once.
    #[error("permanent: {0}")]
    Permanent(#[source] BoxError),
}

impl HandlerError {
    /// A retryable failure.
    pub fn retryable(cause: impl Into<BoxError>) -> Self {
        Self::Retryable(cause.into())
    }

    /// A permanent failure.
    pub fn permanent(cause: impl Into<BoxError>) -> Self {
        Self::Permanent(cause.into())
    }

    fn kind(&self) -> &'static str {
        match self {
            Self::Retryable(_) => "retryable",
            Self::Permanent(_) => "permanent",
        }
    }
}

impl From<Error> for HandlerError {
    fn from(error: Error) -> Self {
        match error {
            Error::Decode(_) | Error::Config(_) => Self::permanent(error),
            _ => Self::retryable(error),
        }
    }
}

impl From<sqlx::Error> for HandlerError {
    fn from(error: sqlx::Error) -> Self {
        Self::retryable(error)
    }
}

impl From<EnvelopeError> for HandlerError {
    fn from(error: EnvelopeError) -> Self {
        Self::permanent(error)
    }
}

/// How often and how patiently a failing message is retried.
#[derive(Debug, Clone)]
pub struct RetryPolicy {
    /// Handler calls per message (or batch) before it is dead-lettered; at least 1.
    pub max_attempts: u32,
    /// Wait after the first failure; doubles after each further one.
    pub initial_backoff: Duration,
    /// Cap of the doubling wait.
    pub max_backoff: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            max_attempts: 5,
            initial_backoff: Duration::from_millis(100),
            max_backoff: Duration::from_secs(5),
        }
    }
}

/// Limits of one batch in [`Consumer::run_batches`].
#[derive(Debug, Clone)]
pub struct BatchSettings {
    /// Most messages handed to the handler at once.
    pub max_messages: usize,
    /// Longest wait for a batch to fill after its first message arrived.
    pub max_wait: Duration,
}

/// A consumer-group member with manual commits (`enable.auto.commit=false`,
/// `auto.offset.reset=earliest`).
pub struct Consumer {
    inner: StreamConsumer,
    group_id: String,
    dead_letters: Producer,
    retry: RetryPolicy,
}

impl std::fmt::Debug for Consumer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Consumer")
            .field("group_id", &self.group_id)
            .field("retry", &self.retry)
            .finish_non_exhaustive()
    }
}

/// The outcome of handling one message or batch.
enum Handled {
    /// Handled or dead-lettered: commit past it.
    Done,
    /// Shutdown came first: leave it uncommitted for the next owner.
    Interrupted,
}

/// A message taken off the wire, before decoding.
struct Raw {
    topic: String,
    partition: i32,
    offset: i64,
    key: Vec<u8>,
    payload: Vec<u8>,
    headers: HeaderMap,
}

impl Consumer {
    /// Joins consumer group `group_id` on `topics` as a dynamic member, with
    /// its own producer for dead letters.
    pub fn new(brokers: &str, group_id: &str, topics: &[&str]) -> Result<Self, Error> {
        Self::create(brokers, group_id, None, topics)
    }

    /// Joins consumer group `group_id` on `topics` at the deployment's
    /// brokers, as the static member `infra.kafka_instance_id` when set.
    pub fn join(infra: &InfraArgs, group_id: &str, topics: &[&str]) -> Result<Self, Error> {
        Self::create(
            &infra.kafka_brokers,
            group_id,
            infra.kafka_instance_id.as_deref(),
            topics,
        )
    }

    fn create(
        brokers: &str,
        group_id: &str,
        instance_id: Option<&str>,
        topics: &[&str],
    ) -> Result<Self, Error> {
        let mut config = ClientConfig::new();
        if let Some(instance_id) = instance_id {
            config.set("group.instance.id", instance_id);
        }
        let inner: StreamConsumer = config
            .set("bootstrap.servers", brokers)
            .set("group.id", group_id)
            .set("enable.auto.commit", "false")
            .set("enable.auto.offset.store", "false")
            .set("auto.offset.reset", "earliest")
            // librdkafka's 500 ms default lets an idle partition's next message
            // wait half a second; 100 ms keeps hand-offs (a claimed coupon
            // reaching the guest's box) quick for a few more empty fetches.
            .set("fetch.wait.max.ms", "100")
            .create()?;
        inner.subscribe(topics)?;
        crate::telemetry::declare_counters(&[
            "staymesh_kafka_dead_letters_total",
            "staymesh_kafka_duplicates_total",
            "staymesh_kafka_produce_errors_total",
        ]);
        Ok(Self {
            inner,
            group_id: group_id.to_owned(),
            dead_letters: Producer::new(brokers)?,
            retry: RetryPolicy::default(),
        })
    }

    /// Uses `policy` instead of the default retries.
    pub fn with_retry(mut self, policy: RetryPolicy) -> Self {
        self.retry = RetryPolicy {
            max_attempts: policy.max_attempts.max(1),
            ..policy
        };
        self
    }

    /// Shares an existing producer for dead letters instead of a dedicated one.
    pub fn with_dead_letter_producer(mut self, producer: Producer) -> Self {
        self.dead_letters = producer;
        self
    }

    /// The consumer group, a natural inbox consumer name.
    pub fn group_id(&self) -> &str {
        &self.group_id
    }

    /// Hands messages one at a time to `handler` until `shutdown` fires,
    /// committing each after it was handled or dead-lettered. A handler call
    /// in progress is never cut short by the shutdown.
    pub async fn run<H, F>(&self, mut handler: H, shutdown: &Shutdown)
    where
        H: FnMut(Incoming) -> F,
        F: Future<Output = Result<(), HandlerError>>,
    {
        while let Some(raw) = self.next(shutdown).await {
            let handled = match self.decode(&raw) {
                Ok(incoming) => {
                    let span = handling_span(&incoming);
                    self.with_retries(shutdown, &span, || handler(incoming.clone()))
                        .await
                }
                Err(error) => Err((HandlerError::permanent(error), 0)),
            };
            let handled = match handled {
                Ok(handled) => handled,
                Err((error, attempts)) => self.dead_letter(&raw, &error, attempts, shutdown).await,
            };
            match handled {
                Handled::Done => self.commit(std::slice::from_ref(&raw)),
                Handled::Interrupted => break,
            }
        }
    }

    /// Hands messages to `handler` in batches of up to `batch.max_messages`,
    /// collected for at most `batch.max_wait`, and commits a batch once the
    /// handler returned Ok, so it suits handlers that make a batch durable at
    /// once. A batch that keeps failing is retried message by message, so only
    /// the poison ones reach the dead-letter topic.
    pub async fn run_batches<H, F>(
        &self,
        batch: &BatchSettings,
        mut handler: H,
        shutdown: &Shutdown,
    ) where
        H: FnMut(Vec<Incoming>) -> F,
        F: Future<Output = Result<(), HandlerError>>,
    {
        let max_messages = batch.max_messages.max(1);
        loop {
            let Some(first) = self.next(shutdown).await else {
                return;
            };
            let mut raws = vec![first];
            let deadline = tokio::time::Instant::now() + batch.max_wait;
            while raws.len() < max_messages {
                tokio::select! {
                    _ = tokio::time::sleep_until(deadline) => break,
                    next = self.next(shutdown) => match next {
                        Some(raw) => raws.push(raw),
                        // Uncommitted, so the group's next owner gets them again.
                        None => return,
                    },
                }
            }
            if let Handled::Interrupted = self.handle_batch(&raws, &mut handler, shutdown).await {
                return;
            }
            self.commit(&raws);
        }
    }

    async fn handle_batch<H, F>(
        &self,
        raws: &[Raw],
        handler: &mut H,
        shutdown: &Shutdown,
    ) -> Handled
    where
        H: FnMut(Vec<Incoming>) -> F,
        F: Future<Output = Result<(), HandlerError>>,
    {
        let mut good = Vec::with_capacity(raws.len());
        for raw in raws {
            match self.decode(raw) {
                Ok(incoming) => good.push((raw, incoming)),
                Err(error) => {
                    let error = HandlerError::permanent(error);
                    if let Handled::Interrupted = self.dead_letter(raw, &error, 0, shutdown).await {
                        return Handled::Interrupted;
                    }
                }
            }
        }
        if good.is_empty() {
            return Handled::Done;
        }
        let span = tracing::info_span!(
            "kafka.consume_batch",
            messaging.system = "kafka",
            messaging.consumer.group.name = %self.group_id,
            messaging.batch.message_count = good.len(),
        );
        // One batch continues many traces: link them all instead of picking a parent.
        for (_, incoming) in &good {
            if let Some(linked) = headers::remote_span_context(&incoming.headers) {
                span.add_link(linked);
            }
        }
        let batch: Vec<Incoming> = good.iter().map(|(_, i)| i.clone()).collect();
        match self
            .with_retries(shutdown, &span, || handler(batch.clone()))
            .await
        {
            Ok(handled) => return handled,
            Err((error, _)) => {
                tracing::warn!(parent: &span, %error, "batch failed, retrying its messages one by one");
            }
        }
        for (raw, incoming) in good {
            let span = handling_span(&incoming);
            let handled = match self
                .with_retries(shutdown, &span, || handler(vec![incoming.clone()]))
                .await
            {
                Ok(handled) => handled,
                Err((error, attempts)) => self.dead_letter(raw, &error, attempts, shutdown).await,
            };
            if let Handled::Interrupted = handled {
                return Handled::Interrupted;
            }
        }
        Handled::Done
    }

    /// The next message, or None once `shutdown` fires.
    async fn next(&self, shutdown: &Shutdown) -> Option<Raw> {
        loop {
            let received = tokio::select! {
                _ = shutdown.wait() => return None,
                received = self.inner.recv() => received,
            };
            match received {
                Ok(message) => {
                    metrics::counter!("staymesh_kafka_consumed_total", "topic" => message.topic().to_owned())
                        .increment(1);
                    return Some(Raw {
                        topic: message.topic().to_owned(),
                        partition: message.partition(),
                        offset: message.offset(),
                        key: message.key().map(<[u8]>::to_vec).unwrap_or_default(),
                        payload: message.payload().map(<[u8]>::to_vec).unwrap_or_default(),
                        headers: headers::from_kafka(message.headers()),
                    });
                }
                // Broker or network trouble; librdkafka reconnects by itself.
                Err(error) => {
                    tracing::warn!(%error, group = %self.group_id, "kafka receive failed");
                    tokio::select! {
                        _ = shutdown.wait() => return None,
                        _ = tokio::time::sleep(Duration::from_millis(200)) => {}
                    }
                }
            }
        }
    }

    fn decode(&self, raw: &Raw) -> Result<Incoming, EnvelopeError> {
        let envelope = Envelope::from_bytes(&raw.payload)?;
        envelope.message_id()?;
        Ok(Incoming {
            envelope,
            topic: raw.topic.clone(),
            partition: raw.partition,
            offset: raw.offset,
            headers: raw.headers.clone(),
        })
    }

    /// Calls `attempt` until it succeeds, fails permanently or runs out of
    /// attempts; the error comes back with the number of attempts made.
    async fn with_retries<A, F>(
        &self,
        shutdown: &Shutdown,
        span: &tracing::Span,
        mut attempt: A,
    ) -> Result<Handled, (HandlerError, u32)>
    where
        A: FnMut() -> F,
        F: Future<Output = Result<(), HandlerError>>,
    {
        let mut backoff = self.retry.initial_backoff;
        let mut attempts = 0;
        loop {
            attempts += 1;
            let error = match attempt().instrument(span.clone()).await {
                Ok(()) => return Ok(Handled::Done),
                Err(error @ HandlerError::Permanent(_)) => return Err((error, attempts)),
                Err(error) if attempts >= self.retry.max_attempts => return Err((error, attempts)),
                Err(error) => error,
            };
            tracing::warn!(parent: span, %error, attempts, "handler failed, retrying");
            tokio::select! {
                _ = shutdown.wait() => return Ok(Handled::Interrupted),
                _ = tokio::time::sleep(backoff) => {}
            }
            backoff = (backoff * 2).min(self.retry.max_backoff);
        }
    }

    /// Publishes `raw` unchanged to `<topic>.dlq` with headers saying why,
    /// retrying until it is delivered or the shutdown starts.
    async fn dead_letter(
        &self,
        raw: &Raw,
        error: &HandlerError,
        attempts: u32,
        shutdown: &Shutdown,
    ) -> Handled {
        let topic = dlq_topic(&raw.topic);
        let mut headers = raw.headers.clone();
        headers.extend(BTreeMap::from([
            ("dlq.reason".to_owned(), error.kind().to_owned()),
            ("dlq.error".to_owned(), error_chain(error)),
            ("dlq.attempts".to_owned(), attempts.to_string()),
            ("dlq.consumer.group".to_owned(), self.group_id.clone()),
            ("dlq.source.topic".to_owned(), raw.topic.clone()),
            ("dlq.source.partition".to_owned(), raw.partition.to_string()),
            ("dlq.source.offset".to_owned(), raw.offset.to_string()),
        ]));
        let key = String::from_utf8_lossy(&raw.key);
        tracing::error!(
            topic = %raw.topic, partition = raw.partition, offset = raw.offset, attempts, %error,
            "dead-lettering message"
        );
        let mut backoff = self.retry.initial_backoff;
        loop {
            match self
                .dead_letters
                .send_raw(&topic, &key, &raw.payload, &headers)
                .await
            {
                Ok(()) => {
                    metrics::counter!("staymesh_kafka_dead_letters_total", "topic" => raw.topic.clone())
                        .increment(1);
                    return Handled::Done;
                }
                Err(send_error) => {
                    tracing::error!(%send_error, dlq = %topic, "dead-letter send failed, retrying");
                }
            }
            tokio::select! {
                _ = shutdown.wait() => return Handled::Interrupted,
                _ = tokio::time::sleep(backoff) => {}
            }
            backoff = (backoff * 2).min(self.retry.max_backoff);
        }
    }

    /// Commits past every message in `raws` (the highest offset per partition).
    fn commit(&self, raws: &[Raw]) {
        let mut next: BTreeMap<(&str, i32), i64> = BTreeMap::new();
        for raw in raws {
            let entry = next.entry((&raw.topic, raw.partition)).or_insert(0);
            *entry = (*entry).max(raw.offset + 1);
        }
        let mut list = TopicPartitionList::with_capacity(next.len());
        for ((topic, partition), offset) in next {
            if let Err(error) = list.add_partition_offset(topic, partition, Offset::Offset(offset))
            {
                tracing::warn!(%error, "bad commit offset");
            }
        }
        // Async: a lost commit only means a redelivery, which the inbox absorbs.
        if let Err(error) = self.inner.commit(&list, CommitMode::Async) {
            tracing::warn!(%error, group = %self.group_id, "offset commit failed");
        }
    }
}

/// The span a message is handled in, continuing the producer's trace.
fn handling_span(incoming: &Incoming) -> tracing::Span {
    let span = tracing::info_span!(
        "kafka.consume",
        otel.kind = "consumer",
        messaging.system = "kafka",
        messaging.destination.name = %incoming.topic,
        messaging.destination.partition.id = incoming.partition,
        messaging.kafka.offset = incoming.offset,
        messaging.message.id = %incoming.envelope.id,
        message.type = %incoming.envelope.r#type,
    );
    headers::set_parent_from(&span, &incoming.headers);
    span
}

fn error_chain(error: &HandlerError) -> String {
    let mut text = error.to_string();
    let mut source = std::error::Error::source(error).and_then(std::error::Error::source);
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}
