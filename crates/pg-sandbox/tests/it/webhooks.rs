//! Webhooks: signed the Standard Webhooks way, retried until delivered,
//! given up after the last attempt, lost or duplicated on demand.

use reqwest::StatusCode;
use serde_json::json;
use standardwebhooks::Webhook;
use staymesh_testkit::eventually;

use crate::receiver::Receiver;
use crate::support::{APPROVE, Sandbox, WAIT, WEBHOOK_SECRET, key_of, settings, start};

/// A sandbox posting webhooks to `receiver`.
async fn sandbox_for(
    receiver: &Receiver,
    tune: impl FnOnce(&mut staymesh_pg_sandbox::SandboxArgs),
) -> Sandbox {
    let (infra, mut args) = settings();
    args.pg_sandbox_webhook_url = receiver.url.clone();
    args.pg_sandbox_webhook_retry = std::time::Duration::from_millis(50);
    tune(&mut args);
    start(infra, args).await
}

/// Waits until every webhook of `key` is delivered, and returns them.
async fn delivered(pg: &Sandbox, key: &str, count: usize) -> Vec<serde_json::Value> {
    eventually(WAIT, "webhooks delivered", || async {
        let webhooks = pg.webhooks(key).await;
        webhooks.len() == count && webhooks.iter().all(|w| w["deliveredAt"].is_string())
    })
    .await;
    pg.webhooks(key).await
}

#[tokio::test]
async fn every_change_is_announced_by_a_correctly_signed_webhook() {
    let receiver = Receiver::start(0);
    let pg = sandbox_for(&receiver, |_| {}).await;
    let key = key_of(&pg.paid(100_000).await);
    pg.cancel(&key, Some(40_000), "part").await;
    pg.cancel(&key, None, "rest").await;
    let failed = key_of(&pg.register(5_000).await);
    pg.checkout(&failed, "4000000000000002", "pay").await;
    let listed = delivered(&pg, &key, 3).await;
    delivered(&pg, &failed, 1).await;

    let verifier = Webhook::new(WEBHOOK_SECRET).unwrap();
    let received = receiver.received();
    assert_eq!(received.len(), 4);
    for delivery in &received {
        verifier.verify(&delivery.body, &delivery.headers).unwrap();
        assert_eq!(delivery.headers["content-type"], "application/json");
        assert!(delivery.id().starts_with("msg_"));
        let timestamp: i64 = delivery.headers["webhook-timestamp"]
            .to_str()
            .unwrap()
            .parse()
            .unwrap();
        assert!((chrono::Utc::now().timestamp() - timestamp).abs() < 60);
        let body = delivery.json();
        assert!(chrono::DateTime::parse_from_rfc3339(body["timestamp"].as_str().unwrap()).is_ok());
    }
    let mut announced: Vec<_> = received
        .iter()
        .map(|d| {
            let body = d.json();
            (
                body["type"].as_str().unwrap().to_owned(),
                body["data"]["paymentKey"].clone(),
                body["data"]["status"].clone(),
            )
        })
        .collect();
    announced.sort_by(|a, b| a.0.cmp(&b.0));
    assert_eq!(
        announced,
        [
            (
                "Transaction.Cancelled".to_owned(),
                json!(key),
                json!("CANCELLED")
            ),
            (
                "Transaction.Failed".to_owned(),
                json!(failed),
                json!("FAILED")
            ),
            ("Transaction.Paid".to_owned(), json!(key), json!("PAID")),
            (
                "Transaction.PartialCancelled".to_owned(),
                json!(key),
                json!("PARTIAL_CANCELLED")
            ),
        ]
    );
    let types: Vec<_> = listed.iter().map(|w| w["type"].clone()).collect();
    assert_eq!(
        types,
        [
            json!("Transaction.Paid"),
            json!("Transaction.PartialCancelled"),
            json!("Transaction.Cancelled")
        ]
    );
    assert!(
        listed
            .iter()
            .all(|w| w["attempts"] == 1 && w["failed"] == false && w["lastError"].is_null())
    );
    assert!(
        received
            .iter()
            .all(|d| d.json()["data"]["orderId"].is_string())
    );

    // A forged signature does not verify: the receiver can tell.
    let mut forged = received[0].headers.clone();
    forged.insert("webhook-signature", "v1,AAAA".parse().unwrap());
    assert!(verifier.verify(&received[0].body, &forged).is_err());
    pg.finish().await;
}

#[tokio::test]
async fn a_refused_webhook_is_retried_with_the_same_id_until_delivered() {
    let receiver = Receiver::start(2);
    let pg = sandbox_for(&receiver, |_| {}).await;
    let key = key_of(&pg.paid(10_000).await);
    let listed = delivered(&pg, &key, 1).await;
    assert_eq!(listed[0]["attempts"], 3);
    assert_eq!(listed[0]["failed"], false);

    let received = receiver.received();
    let answers: Vec<_> = received.iter().map(|r| r.answered).collect();
    assert_eq!(
        answers,
        [
            StatusCode::INTERNAL_SERVER_ERROR,
            StatusCode::INTERNAL_SERVER_ERROR,
            StatusCode::OK
        ]
    );
    assert!(
        received
            .iter()
            .all(|r| r.id() == received[0].id() && r.body == received[0].body)
    );
    assert_eq!(received[0].id(), listed[0]["webhookId"].as_str().unwrap());
    pg.finish().await;
}

#[tokio::test]
async fn a_webhook_refused_every_time_is_given_up_after_twelve_attempts() {
    let receiver = Receiver::start(usize::MAX);
    let pg = sandbox_for(&receiver, |args| {
        args.pg_sandbox_webhook_retry = std::time::Duration::from_millis(1);
    })
    .await;
    let key = key_of(&pg.paid(10_000).await);
    eventually(WAIT, "the webhook given up", || async {
        pg.webhooks(&key).await[0]["failed"] == true
    })
    .await;
    let webhook = &pg.webhooks(&key).await[0];
    assert_eq!(webhook["attempts"], 12);
    assert_eq!(webhook["deliveredAt"], json!(null));
    assert!(webhook["lastError"].as_str().unwrap().contains("500"));
    assert_eq!(receiver.received().len(), 12);
    pg.finish().await;
}

#[tokio::test]
async fn the_drop_switch_loses_exactly_one_webhook() {
    let receiver = Receiver::start(0);
    let pg = sandbox_for(&receiver, |_| {}).await;
    assert_eq!(
        pg.faults(json!({"dropWebhooks": 1})).await["dropWebhooks"],
        1
    );
    let key = key_of(&pg.paid(10_000).await);
    let dropped = delivered(&pg, &key, 1).await;
    assert_eq!(dropped[0]["attempts"], 0);
    assert!(
        dropped[0]["lastError"]
            .as_str()
            .unwrap()
            .contains("dropped")
    );
    assert_eq!(pg.faults(json!({})).await["dropWebhooks"], 0);

    pg.cancel(&key, None, "all").await;
    let listed = delivered(&pg, &key, 2).await;
    let received = receiver.received();
    assert_eq!(received.len(), 1, "only the cancellation arrives");
    assert_eq!(received[0].json()["type"], "Transaction.Cancelled");
    assert_eq!(received[0].id(), listed[1]["webhookId"].as_str().unwrap());
    pg.finish().await;
}

#[tokio::test]
async fn with_duplicates_at_100_percent_each_webhook_arrives_twice_with_one_id() {
    let receiver = Receiver::start(0);
    let pg = sandbox_for(&receiver, |args| args.pg_sandbox_duplicate_webhooks = 100).await;
    let key = key_of(&pg.paid(10_000).await);
    pg.cancel(&key, None, "all").await;
    let listed = delivered(&pg, &key, 2).await;
    let received = receiver.accepted();
    assert_eq!(received.len(), 4);
    let verifier = Webhook::new(WEBHOOK_SECRET).unwrap();
    for webhook in &listed {
        let id = webhook["webhookId"].as_str().unwrap();
        let copies: Vec<_> = received.iter().filter(|r| r.id() == id).collect();
        assert_eq!(copies.len(), 2, "{id}");
        assert_eq!(copies[0].body, copies[1].body);
        for copy in copies {
            verifier.verify(&copy.body, &copy.headers).unwrap();
        }
        assert_eq!(webhook["attempts"], 1, "a duplicate is not an attempt");
    }
    pg.finish().await;
}

#[tokio::test]
async fn without_a_webhook_url_nothing_is_queued() {
    let pg = crate::support::sandbox().await;
    let key = key_of(&pg.register(10_000).await);
    pg.checkout(&key, APPROVE, "pay").await;
    assert!(pg.webhooks(&key).await.is_empty());
    pg.finish().await;
}
