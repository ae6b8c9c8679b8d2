//! The idempotent producer: every send waits for the broker's acknowledgement
//! from all in-sync replicas, and librdkafka's idempotence keeps retries from
//! duplicating or reordering messages within a partition.

use std::collections::HashMap;
use std::sync::{Mutex, OnceLock, PoisonError};
use std::time::Duration;

use prost::{Message, Name};
use rdkafka::ClientConfig;
use rdkafka::producer::{FutureProducer, FutureRecord};
use staymesh_proto::common::Envelope;
use uuid::Uuid;

use super::envelope::EnvelopeExt;
use super::headers::{self, HeaderMap};
use crate::error::Error;

/// How long librdkafka keeps retrying a message before its send fails.
const DELIVERY_TIMEOUT: Duration = Duration::from_secs(30);

/// A cheaply cloneable Kafka producer with `enable.idempotence=true` and `acks=all`.
#[derive(Clone)]
pub struct Producer {
    inner: FutureProducer,
    timeout: Duration,
}

impl std::fmt::Debug for Producer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Producer").finish_non_exhaustive()
    }
}

impl Producer {
    /// Connects to the comma-separated bootstrap `brokers`.
    pub fn new(brokers: &str) -> Result<Self, Error> {
        Self::with_timeout(brokers, DELIVERY_TIMEOUT)
    }

    /// Like `new`, but a send fails once `timeout` passes without an
    /// acknowledgement (callers with a fallback want to know soon).
    ///
    /// Producers are shared by the whole process, one per brokers and
    /// timeout: librdkafka's are thread-safe and meant to be shared, and each
    /// costs a polling thread that (rdkafka 0.39) spins through the last
    /// millisecond of every 100 ms poll, so `staymesh all`'s 18 separate ones
    /// burned 17% of a core doing nothing.
    pub fn with_timeout(brokers: &str, timeout: Duration) -> Result<Self, Error> {
        static SHARED: OnceLock<Mutex<HashMap<(String, Duration), FutureProducer>>> =
            OnceLock::new();
        let mut shared = SHARED
            .get_or_init(Mutex::default)
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        let key = (brokers.to_owned(), timeout);
        if let Some(inner) = shared.get(&key) {
            return Ok(Self {
                inner: inner.clone(),
                timeout,
            });
        }
        let inner: FutureProducer = ClientConfig::new()
            .set("bootstrap.servers", brokers)
            .set("enable.idempotence", "true")
            .set("acks", "all")
            .set("linger.ms", "5")
            .set("message.timeout.ms", timeout.as_millis().max(1).to_string())
            .create()?;
        shared.insert(key, inner.clone());
        Ok(Self { inner, timeout })
    }

    /// Wraps `message` in a fresh [`Envelope`], sends it with the current trace
    /// context, waits for delivery and returns the message id.
    pub async fn send<M: Name>(&self, topic: &str, key: &str, message: &M) -> Result<Uuid, Error> {
        let id = Uuid::now_v7();
        self.send_envelope(topic, &Envelope::wrap_with_id(id, key, message))
            .await?;
        Ok(id)
    }

    /// Sends a ready envelope, keyed by its `key`, with the current trace context.
    pub async fn send_envelope(&self, topic: &str, envelope: &Envelope) -> Result<(), Error> {
        let headers = headers::current_trace_headers();
        self.send_raw(topic, &envelope.key, &envelope.encode_to_vec(), &headers)
            .await
    }

    /// Sends already encoded bytes with the given headers and waits for delivery
    /// (the outbox relay and the dead-letter path use it).
    pub async fn send_raw(
        &self,
        topic: &str,
        key: &str,
        payload: &[u8],
        headers: &HeaderMap,
    ) -> Result<(), Error> {
        let record = FutureRecord::to(topic)
            .key(key)
            .payload(payload)
            .headers(headers::to_kafka(headers));
        match self.inner.send(record, self.timeout).await {
            Ok(_) => {
                metrics::counter!("staymesh_kafka_produced_total", "topic" => topic.to_owned())
                    .increment(1);
                Ok(())
            }
            Err((error, _)) => {
                metrics::counter!("staymesh_kafka_produce_errors_total", "topic" => topic.to_owned())
                    .increment(1);
                Err(error.into())
            }
        }
    }
}
