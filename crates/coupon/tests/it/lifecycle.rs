//! State changes are announced: on Kafka (through the outbox) and, for
//! opening and selling out, on the webhook.

use std::collections::HashSet;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::Utc;
use staymesh_platform::Shutdown;
use staymesh_platform::kafka::{Consumer, EnvelopeExt};
use staymesh_proto::coupon as pb;
use staymesh_proto::saga::IssuanceEventStateChanged;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::sync::mpsc;

use crate::support::*;

/// A bare HTTP endpoint that refuses the first delivery of each distinct
/// body with a 500, then answers 200 and hands the body over; it also counts
/// the deliveries it refused.
async fn webhook_receiver() -> (
    String,
    mpsc::UnboundedReceiver<serde_json::Value>,
    Arc<AtomicUsize>,
) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let url = format!("http://{}/hook", listener.local_addr().expect("addr"));
    let (tx, rx) = mpsc::unbounded_channel();
    let refused = Arc::new(AtomicUsize::new(0));
    let seen: Arc<Mutex<HashSet<String>>> = Arc::default();
    let counter = refused.clone();
    tokio::spawn(async move {
        while let Ok((mut socket, _)) = listener.accept().await {
            let tx = tx.clone();
            let (seen, counter) = (seen.clone(), counter.clone());
            tokio::spawn(async move {
                let mut request = Vec::new();
                let mut buffer = [0u8; 4096];
                loop {
                    let n = socket.read(&mut buffer).await.unwrap_or(0);
                    if n == 0 {
                        return;
                    }
                    request.extend_from_slice(&buffer[..n]);
                    let text = String::from_utf8_lossy(&request).into_owned();
                    if let Some((head, body)) = text.split_once("\r\n\r\n") {
                        let length = head
                            .lines()
                            .find_map(|l| {
                                l.to_ascii_lowercase()
                                    .strip_prefix("content-length:")
                                    .map(|v| v.trim().to_owned())
                            })
                            .and_then(|v| v.parse::<usize>().ok())
                            .unwrap_or(0);
                        if body.len() >= length {
                            let body = &body[..length];
                            let first = seen.lock().expect("seen").insert(body.to_owned());
                            let answer: &[u8] = if first {
                                counter.fetch_add(1, Ordering::SeqCst);
                                b"HTTP/1.1 500 Internal Server Error\r\ncontent-length: 0\r\n\r\n"
                            } else {
                                let _ = tx.send(serde_json::from_str(body).expect("JSON body"));
                                b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n"
                            };
                            let _ = socket.write_all(answer).await;
                            request.clear();
                        }
                    }
                }
            });
        }
    });
    (url, rx, refused)
}

async fn next<T>(rx: &mut mpsc::UnboundedReceiver<T>, what: &str) -> T {
    tokio::time::timeout(Duration::from_secs(30), rx.recv())
        .await
        .unwrap_or_else(|_| panic!("no {what} within 30 s"))
        .expect("channel open")
}

#[tokio::test]
async fn opening_selling_out_and_closing_are_announced() {
    let (url, mut hooks, refused) = webhook_receiver().await;
    let mut app = spawn_with(move |s| s.coupon.coupon_webhook_url = url).await;

    let (tx, mut changes) = mpsc::unbounded_channel();
    let watcher = Shutdown::new();
    let consumer = Consumer::new(
        &app.settings.infra.kafka_brokers,
        &format!("{}-watch", app.settings.consumer_group),
        &[app.settings.events_topic.as_str()],
    )
    .expect("consumer");
    let stop = watcher.clone();
    tokio::spawn(async move {
        consumer
            .run(
                |incoming| {
                    let tx = tx.clone();
                    async move {
                        if incoming.envelope.is::<IssuanceEventStateChanged>() {
                            let change: IssuanceEventStateChanged = incoming.decode()?;
                            let _ = tx.send(change);
                        }
                        Ok(())
                    }
                },
                &stop,
            )
            .await;
    });

    let event = app
        .event_between(
            3,
            Utc::now() + chrono::Duration::seconds(1),
            Utc::now() + chrono::Duration::hours(1),
        )
        .await;
    let opened = next(&mut hooks, "open webhook").await;
    assert_eq!(opened["event_id"], event.event_id.as_str());
    assert_eq!(opened["state"], "opened");
    assert!(opened["text"].as_str().is_some_and(|t| !t.is_empty()));
    let change = next(&mut changes, "OPEN event").await;
    assert_eq!(
        (change.event_id.as_str(), change.state),
        (event.event_id.as_str(), pb::IssuanceEventState::Open as i32)
    );

    for n in 0..4 {
        app.claim(&event.event_id, &guest(n)).await.expect("claim");
    }
    let sold = next(&mut hooks, "sold-out webhook").await;
    assert_eq!(sold["state"], "sold out");
    let change = next(&mut changes, "SOLD_OUT event").await;
    assert_eq!(change.state, pb::IssuanceEventState::SoldOut as i32);

    app.api
        .close_issuance_event(authed(
            pb::CloseIssuanceEventRequest {
                event_id: event.event_id.clone(),
            },
            ADMIN,
        ))
        .await
        .expect("close");
    let change = next(&mut changes, "CLOSED event").await;
    assert_eq!(change.state, pb::IssuanceEventState::Closed as i32);
    // Each change once: nothing more arrives.
    assert!(
        tokio::time::timeout(Duration::from_secs(2), changes.recv())
            .await
            .is_err(),
        "a change was announced twice"
    );
    // Each webhook was refused once and accepted on the retry, exactly once.
    assert_eq!(
        refused.load(Ordering::SeqCst),
        2,
        "one refused delivery each"
    );
    assert!(
        tokio::time::timeout(Duration::from_secs(2), hooks.recv())
            .await
            .is_err(),
        "a webhook arrived twice"
    );
    watcher.trigger();
    app.stop().await;
}
