//! Producer and consumer against the real broker: round trip with trace
//! context, dead-lettering, and batches.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use opentelemetry::trace::{TraceContextExt, TracerProvider as _};
use rdkafka::ClientConfig;
use rdkafka::consumer::{Consumer as _, StreamConsumer};
use rdkafka::message::{Headers as _, Message as _};
use staymesh_platform::Shutdown;
use staymesh_platform::kafka::EnvelopeExt;
use staymesh_platform::kafka::{
    BatchSettings, Consumer, HandlerError, HeaderMap, Incoming, Producer, RetryPolicy, dlq_topic,
};
use staymesh_proto::common::Envelope;
use tokio::sync::mpsc;
use tracing::Instrument;
use tracing_opentelemetry::OpenTelemetrySpanExt;
use tracing_subscriber::layer::SubscriberExt;

use crate::support::{KAFKA_TIMEOUT, Ping, brokers, fresh_group, fresh_topic};

fn fast_retries(max_attempts: u32) -> RetryPolicy {
    RetryPolicy {
        max_attempts,
        initial_backoff: Duration::from_millis(10),
        max_backoff: Duration::from_millis(50),
    }
}

/// Receives the next item or fails the test after the broker timeout.
async fn next<T>(rx: &mut mpsc::UnboundedReceiver<T>, what: &str) -> T {
    tokio::time::timeout(KAFKA_TIMEOUT, rx.recv())
        .await
        .unwrap_or_else(|_| panic!("timed out waiting for {what}"))
        .expect("handler channel open")
}

/// A dead letter as the broker holds it: the original bytes and the headers.
#[derive(Debug)]
struct DeadLetter {
    payload: Vec<u8>,
    headers: HeaderMap,
}

impl DeadLetter {
    fn envelope(&self) -> Envelope {
        Envelope::from_bytes(&self.payload).expect("an envelope")
    }
}

/// Reads `<topic>.dlq` with a bare rdkafka consumer (the platform consumer
/// would dead-letter what it cannot decode), until shutdown.
fn watch_dead_letters(topic: &str, shutdown: &Shutdown) -> mpsc::UnboundedReceiver<DeadLetter> {
    let (tx, rx) = mpsc::unbounded_channel();
    let consumer: StreamConsumer = ClientConfig::new()
        .set("bootstrap.servers", brokers())
        .set("group.id", fresh_group("dlq"))
        .set("auto.offset.reset", "earliest")
        .create()
        .expect("dlq consumer");
    consumer.subscribe(&[&dlq_topic(topic)]).expect("subscribe");
    let shutdown = shutdown.clone();
    tokio::spawn(async move {
        loop {
            let message = tokio::select! {
                _ = shutdown.wait() => return,
                message = consumer.recv() => message,
            };
            let Ok(message) = message else { continue };
            let headers = message
                .headers()
                .map(|headers| {
                    headers
                        .iter()
                        .map(|h| {
                            let value = String::from_utf8_lossy(h.value.unwrap_or_default());
                            (h.key.to_owned(), value.into_owned())
                        })
                        .collect()
                })
                .unwrap_or_default();
            let payload = message.payload().unwrap_or_default().to_vec();
            let _ = tx.send(DeadLetter { payload, headers });
        }
    });
    rx
}

#[tokio::test]
async fn round_trip_carries_the_envelope_and_the_trace_context() {
    opentelemetry::global::set_text_map_propagator(
        opentelemetry_sdk::propagation::TraceContextPropagator::new(),
    );
    let provider = opentelemetry_sdk::trace::SdkTracerProvider::builder().build();
    let subscriber = tracing_subscriber::registry()
        .with(tracing_opentelemetry::layer().with_tracer(provider.tracer("test")));
    // Thread-local, and this runtime runs every task on this thread.
    let _guard = tracing::subscriber::set_default(subscriber);

    let topic = fresh_topic("roundtrip", 3).await;
    let producer = Producer::new(&brokers()).expect("producer");
    let shutdown = Shutdown::new();
    let (tx, mut rx) = mpsc::unbounded_channel();
    let consumer =
        Consumer::new(&brokers(), &fresh_group("roundtrip"), &[&topic]).expect("consumer");
    let consuming = tokio::spawn({
        let shutdown = shutdown.clone();
        async move {
            consumer
                .run(
                    |incoming: Incoming| {
                        let tx = tx.clone();
                        // The handler's future runs inside the consume span.
                        async move {
                            let trace_id = tracing::Span::current()
                                .context()
                                .span()
                                .span_context()
                                .trace_id();
                            let _ = tx.send((incoming, trace_id));
                            Ok(())
                        }
                    },
                    &shutdown,
                )
                .await;
        }
    });

    let span = tracing::info_span!("test.produce");
    let sent_trace = span.context().span().span_context().trace_id();
    let ping = Ping {
        text: "hello".into(),
    };
    let id = producer
        .send(&topic, "key-1", &ping)
        .instrument(span)
        .await
        .expect("delivered");

    let (incoming, handler_trace) = next(&mut rx, "the message").await;
    assert_eq!(incoming.message_id().unwrap(), id);
    assert_eq!(incoming.envelope.key, "key-1");
    assert_eq!(incoming.envelope.r#type, "staymesh.test.v1.Ping");
    assert!(incoming.envelope.occurred_at.is_some());
    assert_eq!(incoming.decode::<Ping>().unwrap(), ping);
    let traceparent = incoming
        .headers
        .get("traceparent")
        .expect("traceparent header");
    assert!(
        traceparent.contains(&sent_trace.to_string()),
        "{traceparent} carries {sent_trace}"
    );
    assert_eq!(
        handler_trace, sent_trace,
        "the handler continues the producer's trace"
    );

    shutdown.trigger();
    consuming.await.expect("consumer stops on shutdown");
}

#[tokio::test]
async fn poison_messages_end_in_the_dead_letter_topic_and_the_consumer_moves_on() {
    let topic = fresh_topic("poison", 1).await;
    let producer = Producer::new(&brokers()).expect("producer");
    let shutdown = Shutdown::new();
    let mut dead = watch_dead_letters(&topic, &shutdown);

    let attempts: Arc<Mutex<HashMap<String, u32>>> = Arc::default();
    let (tx, mut handled) = mpsc::unbounded_channel();
    let consumer = Consumer::new(&brokers(), &fresh_group("poison"), &[&topic])
        .expect("consumer")
        .with_retry(fast_retries(3));
    let consuming = tokio::spawn({
        let shutdown = shutdown.clone();
        let attempts = attempts.clone();
        async move {
            consumer
                .run(
                    |incoming: Incoming| {
                        let text = incoming.decode::<Ping>().map(|p| p.text);
                        if let Ok(text) = &text {
                            *attempts.lock().unwrap().entry(text.clone()).or_default() += 1;
                        }
                        let tx = tx.clone();
                        async move {
                            match text?.as_str() {
                                "poison" => Err(HandlerError::retryable("cannot digest this")),
                                "hopeless" => Err(HandlerError::permanent("never will")),
                                text => {
                                    let _ = tx.send(text.to_owned());
                                    Ok(())
                                }
                            }
                        }
                    },
                    &shutdown,
                )
                .await;
        }
    });

    // One partition, so they arrive in this order.
    let poison = producer
        .send(
            &topic,
            "k",
            &Ping {
                text: "poison".into(),
            },
        )
        .await
        .unwrap();
    let hopeless = producer
        .send(
            &topic,
            "k",
            &Ping {
                text: "hopeless".into(),
            },
        )
        .await
        .unwrap();
    producer
        .send_raw(&topic, "k", b"\xffnot an envelope", &HeaderMap::new())
        .await
        .unwrap();
    producer
        .send(
            &topic,
            "k",
            &Ping {
                text: "fine".into(),
            },
        )
        .await
        .unwrap();

    assert_eq!(
        next(&mut handled, "the message after the poison").await,
        "fine"
    );

    let first = next(&mut dead, "the poison dead letter").await;
    assert_eq!(first.envelope().message_id().unwrap(), poison);
    assert_eq!(first.headers["dlq.reason"], "retryable");
    assert_eq!(first.headers["dlq.attempts"], "3");
    assert_eq!(first.headers["dlq.source.topic"], topic);
    assert!(first.headers["dlq.error"].contains("cannot digest this"));
    assert_eq!(attempts.lock().unwrap()["poison"], 3, "bounded retries");

    let second = next(&mut dead, "the permanent failure's dead letter").await;
    assert_eq!(second.envelope().message_id().unwrap(), hopeless);
    assert_eq!(second.headers["dlq.reason"], "permanent");
    assert_eq!(second.headers["dlq.attempts"], "1");
    assert_eq!(
        attempts.lock().unwrap()["hopeless"],
        1,
        "permanent errors are not retried"
    );

    let third = next(&mut dead, "the undecodable message's dead letter").await;
    assert_eq!(third.payload, b"\xffnot an envelope");
    assert_eq!(third.headers["dlq.reason"], "permanent");
    assert_eq!(third.headers["dlq.attempts"], "0");
    assert_eq!(
        attempts.lock().unwrap().len(),
        3,
        "the handler never saw it"
    );

    shutdown.trigger();
    consuming.await.unwrap();
}

#[tokio::test]
async fn batches_commit_together_and_isolate_poison_messages() {
    let topic = fresh_topic("batch", 2).await;
    let producer = Producer::new(&brokers()).expect("producer");
    let shutdown = Shutdown::new();
    let mut dead = watch_dead_letters(&topic, &shutdown);

    for i in 0..40 {
        let text = if i == 17 {
            "poison".to_owned()
        } else {
            format!("m{i}")
        };
        producer
            .send(&topic, &format!("k{i}"), &Ping { text })
            .await
            .unwrap();
    }

    let (tx, mut batches) = mpsc::unbounded_channel();
    let consumer = Consumer::new(&brokers(), &fresh_group("batch"), &[&topic])
        .expect("consumer")
        .with_retry(fast_retries(2));
    let settings = BatchSettings {
        max_messages: 500,
        max_wait: Duration::from_millis(300),
    };
    let consuming = tokio::spawn({
        let shutdown = shutdown.clone();
        async move {
            consumer
                .run_batches(
                    &settings,
                    |batch: Vec<Incoming>| {
                        let texts: Result<Vec<String>, _> = batch
                            .iter()
                            .map(|m| m.decode::<Ping>().map(|p| p.text))
                            .collect();
                        let tx = tx.clone();
                        async move {
                            let texts = texts?;
                            if texts.iter().any(|t| t == "poison") {
                                return Err(HandlerError::retryable("poison in batch"));
                            }
                            let _ = tx.send(texts);
                            Ok(())
                        }
                    },
                    &shutdown,
                )
                .await;
        }
    });

    let mut seen = std::collections::BTreeSet::new();
    while seen.len() < 39 {
        seen.extend(next(&mut batches, "the good messages").await);
    }
    assert!(!seen.contains("poison"));
    let dead_letter = next(&mut dead, "the poison dead letter").await;
    assert_eq!(
        dead_letter.envelope().decode::<Ping>().unwrap().text,
        "poison"
    );
    assert_eq!(dead_letter.headers["dlq.attempts"], "2");

    shutdown.trigger();
    consuming.await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dead_letters_are_listed_and_replayed_once_their_fault_is_fixed() {
    use staymesh_platform::kafka::DeadLetters;
    use std::sync::atomic::{AtomicBool, Ordering};

    let topic = fresh_topic("replay", 1).await;
    let dlq = vec![dlq_topic(&topic)];
    let producer = Producer::new(&brokers()).expect("producer");
    let shutdown = Shutdown::new();
    // The handler's dependency is down until `fixed`.
    let fixed = Arc::new(AtomicBool::new(false));
    let (tx, mut handled) = mpsc::unbounded_channel();
    let consumer = Consumer::new(&brokers(), &fresh_group("replay"), &[&topic])
        .expect("consumer")
        .with_retry(fast_retries(2));
    let consuming = tokio::spawn({
        let (shutdown, fixed) = (shutdown.clone(), fixed.clone());
        async move {
            consumer
                .run(
                    |incoming: Incoming| {
                        let (tx, fixed) = (tx.clone(), fixed.clone());
                        async move {
                            if !fixed.load(Ordering::SeqCst) {
                                return Err(HandlerError::retryable("the ledger is down"));
                            }
                            let _ = tx.send(incoming.message_id().unwrap());
                            Ok(())
                        }
                    },
                    &shutdown,
                )
                .await;
        }
    });
    let ping = |text: &str| Ping { text: text.into() };
    let first = producer.send(&topic, "a", &ping("one")).await.unwrap();
    let second = producer.send(&topic, "b", &ping("two")).await.unwrap();

    let letters = DeadLetters::new(&brokers(), &fresh_group("dlq-replay")).expect("dead letters");
    let mut listed = Vec::new();
    for _ in 0..100 {
        listed = letters.list(&dlq).expect("list");
        if listed.len() == 2 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(listed.len(), 2, "both messages parked: {listed:?}");
    let ids: Vec<String> = listed.iter().map(|l| l.message_id.clone()).collect();
    assert_eq!(ids, [first.to_string(), second.to_string()]);
    for letter in &listed {
        assert_eq!(letter.source_topic, topic);
        assert_eq!(letter.reason, "retryable");
        assert_eq!(letter.attempts, 2);
        assert!(letter.error.contains("the ledger is down"), "{letter:?}");
        assert_eq!(letter.message_type, "staymesh.test.v1.Ping");
        assert!(!letter.replayed);
    }

    // Fixed: a replay hands both to the consumer again, under their own ids.
    fixed.store(true, Ordering::SeqCst);
    let waiting = letters.waiting(&dlq).expect("waiting");
    let sent = letters.replay(&waiting, true).await.expect("replay");
    assert_eq!(sent.len(), 2);
    assert_eq!(next(&mut handled, "the first replayed").await, first);
    assert_eq!(next(&mut handled, "the second replayed").await, second);

    // Remembered: nothing waits any more, and a second replay sends nothing.
    let after = letters.list(&dlq).expect("list after");
    assert_eq!(after.len(), 2, "a replay deletes nothing");
    assert!(after.iter().all(|l| l.replayed), "{after:?}");
    assert!(letters.waiting(&dlq).expect("waiting").is_empty());
    let again = letters.replay(&letters.waiting(&dlq).unwrap(), true).await;
    assert!(again.expect("replay again").is_empty());
    assert!(
        tokio::time::timeout(Duration::from_secs(1), handled.recv())
            .await
            .is_err(),
        "nothing is handled twice"
    );
    shutdown.trigger();
    consuming.await.unwrap();
}
