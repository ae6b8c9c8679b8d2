//! Cancellations and refunds: partial and full, idempotent by key, never
//! more than was charged however many callers race.

use reqwest::StatusCode;
use serde_json::json;

use crate::support::{APPROVE, key_of, location, query_value, sandbox};

#[tokio::test]
async fn a_partial_refund_then_the_rest_cancels_the_payment() {
    let pg = sandbox().await;
    let key = key_of(&pg.paid(100_000).await);

    let (status, body) = pg.cancel(&key, Some(30_000), "refund-1").await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["payment"]["status"], "PARTIAL_CANCELLED");
    assert_eq!(body["payment"]["cancelledAmount"], 30_000);
    assert_eq!(body["payment"]["cancelledAt"], json!(null));
    let first = &body["cancellation"];
    assert!(
        first["cancellationId"]
            .as_str()
            .unwrap()
            .starts_with("can_")
    );
    assert_eq!(first["paymentKey"], key.as_str());
    assert_eq!(first["amount"], 30_000);
    assert_eq!(first["reason"], "guest cancelled");
    assert_eq!(first["idempotencyKey"], "refund-1");

    // No amount: everything left.
    let (status, body) = pg.cancel(&key, None, "refund-2").await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["cancellation"]["amount"], 70_000);
    assert_eq!(body["payment"]["status"], "CANCELLED");
    assert_eq!(body["payment"]["cancelledAmount"], 100_000);
    assert!(body["payment"]["cancelledAt"].is_string());

    let (status, error) = pg.cancel(&key, None, "refund-3").await;
    assert_eq!(status, StatusCode::CONFLICT);
    assert_eq!(error["type"], "PAYMENT_NOT_CANCELLABLE");
    let listed = pg.cancellations(&key).await;
    assert_eq!(listed.len(), 2);
    assert_eq!(&listed[0], first);
    assert_eq!(listed[1], body["cancellation"]);
    pg.finish().await;
}

#[tokio::test]
async fn refunding_more_than_is_left_is_refused() {
    let pg = sandbox().await;
    let key = key_of(&pg.paid(10_000).await);
    let (status, error) = pg.cancel(&key, Some(10_001), "too-much").await;
    assert_eq!(status, StatusCode::CONFLICT);
    assert_eq!(error["type"], "CANCEL_AMOUNT_EXCEEDS_CANCELLABLE_AMOUNT");
    pg.cancel(&key, Some(6_000), "part").await;
    let (status, error) = pg.cancel(&key, Some(4_001), "rest-and-one").await;
    assert_eq!(status, StatusCode::CONFLICT);
    assert_eq!(error["type"], "CANCEL_AMOUNT_EXCEEDS_CANCELLABLE_AMOUNT");
    for (amount, field) in [
        (json!(0), "amount"),
        (json!(-5), "amount"),
        (json!("1"), "amount"),
    ] {
        let (status, error) = pg
            .post(
                &format!("/payments/{key}/cancel"),
                json!({"amount": amount, "reason": "r", "idempotencyKey": "k"}),
            )
            .await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        assert!(error["message"].as_str().unwrap().contains(field));
    }
    let (status, error) = pg
        .post(&format!("/payments/{key}/cancel"), json!({"reason": "r"}))
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(
        error["message"]
            .as_str()
            .unwrap()
            .contains("idempotencyKey")
    );
    assert_eq!(pg.payment(&key).await["cancelledAmount"], 6_000);
    let (status, _) = pg.cancel("pay_unknown", None, "k").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    pg.finish().await;
}

#[tokio::test]
async fn a_repeated_idempotency_key_answers_the_first_refund_and_refunds_nothing() {
    let pg = sandbox().await;
    let key = key_of(&pg.paid(50_000).await);
    let (_, first) = pg.cancel(&key, Some(20_000), "once").await;
    let (status, again) = pg.cancel(&key, Some(20_000), "once").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(again["cancellation"], first["cancellation"]);
    assert_eq!(again["payment"]["cancelledAmount"], 20_000);
    // Without an amount the key still names the first refund, not "the rest".
    let (status, again) = pg.cancel(&key, None, "once").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(again["cancellation"], first["cancellation"]);

    let (status, error) = pg.cancel(&key, Some(5_000), "once").await;
    assert_eq!(status, StatusCode::CONFLICT);
    assert_eq!(error["type"], "IDEMPOTENCY_KEY_CONFLICT");
    assert_eq!(pg.cancellations(&key).await.len(), 1);
    assert_eq!(pg.payment(&key).await["cancelledAmount"], 20_000);

    // A key fully refunding the payment still answers after it is closed.
    let (_, rest) = pg.cancel(&key, None, "rest").await;
    let (status, again) = pg.cancel(&key, None, "rest").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(again["cancellation"], rest["cancellation"]);
    pg.finish().await;
}

#[tokio::test]
async fn cancelling_an_unpaid_payment_closes_it_and_checkout_is_then_refused() {
    let pg = sandbox().await;
    let key = key_of(&pg.register(80_000).await);
    let (status, body) = pg.cancel(&key, None, "abandon").await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["cancellation"], json!(null));
    assert_eq!(body["payment"]["status"], "CANCELLED");
    assert_eq!(body["payment"]["cancelledAmount"], 0);
    assert!(body["payment"]["cancelledAt"].is_string());
    let (status, again) = pg.cancel(&key, None, "abandon-again").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(again, body);

    let response = pg.checkout(&key, APPROVE, "pay").await;
    assert_eq!(
        query_value(&location(&response), "code").as_deref(),
        Some("PAYMENT_NOT_READY")
    );
    assert_eq!(pg.payment(&key).await["status"], "CANCELLED");
    assert!(pg.cancellations(&key).await.is_empty());

    // A failed payment has nothing to cancel.
    let key = key_of(&pg.register(80_000).await);
    pg.checkout(&key, APPROVE, "decline").await;
    let (status, error) = pg.cancel(&key, None, "k").await;
    assert_eq!(status, StatusCode::CONFLICT);
    assert_eq!(error["type"], "PAYMENT_NOT_CANCELLABLE");
    pg.finish().await;
}

#[tokio::test]
async fn fifty_concurrent_refunds_never_exceed_the_charge() {
    let pg = sandbox().await;
    let key = key_of(&pg.paid(100_000).await);
    let calls = (0..50).map(|i| {
        let pg = &pg;
        let key = key.clone();
        async move { pg.cancel(&key, Some(10_000), &format!("refund-{i}")).await }
    });
    let answers = futures::future::join_all(calls).await;
    let ok: Vec<_> = answers
        .iter()
        .filter(|(s, _)| *s == StatusCode::OK)
        .collect();
    let refused = answers
        .iter()
        .filter(|(s, _)| *s == StatusCode::CONFLICT)
        .count();
    assert_eq!(ok.len(), 10, "{answers:?}");
    assert_eq!(refused, 40, "{answers:?}");

    let listed = pg.cancellations(&key).await;
    assert_eq!(listed.len(), 10);
    assert_eq!(
        listed
            .iter()
            .map(|c| c["amount"].as_i64().unwrap())
            .sum::<i64>(),
        100_000
    );
    let mut listed_ids: Vec<_> = listed.iter().map(|c| c["cancellationId"].clone()).collect();
    let mut answered_ids: Vec<_> = ok
        .iter()
        .map(|(_, b)| b["cancellation"]["cancellationId"].clone())
        .collect();
    listed_ids.sort_by_key(ToString::to_string);
    answered_ids.sort_by_key(ToString::to_string);
    assert_eq!(listed_ids, answered_ids);
    let payment = pg.payment(&key).await;
    assert_eq!(payment["status"], "CANCELLED");
    assert_eq!(payment["cancelledAmount"], 100_000);
    pg.finish().await;
}
