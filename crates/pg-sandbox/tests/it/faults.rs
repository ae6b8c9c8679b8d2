//! The fault switches: failures before anything happens, a delay after it
//! happened, and only on the `/payments` API.

use std::time::Duration;

use reqwest::{Method, StatusCode};
use serde_json::json;
use staymesh_testkit::eventually;

use crate::support::{APPROVE, WAIT, key_of, order_id, registration, sandbox};

#[tokio::test]
async fn fail_requests_fails_the_next_n_calls_before_they_do_anything() {
    let pg = sandbox().await;
    let switches = pg.faults(json!({"failRequests": 2})).await;
    assert_eq!(
        switches,
        json!({"delayMs": 0, "failRequests": 2, "failAll": false, "dropWebhooks": 0})
    );
    let order = order_id();
    for _ in 0..2 {
        let (status, error) = pg.post("/payments", registration(&order, 1_000)).await;
        assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR);
        assert_eq!(error["type"], "INTERNAL_ERROR");
    }
    // The failed registrations registered nothing; the third call works.
    let (status, _) = pg.get(&format!("/payments?orderId={order}")).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _) = pg.post("/payments", registration(&order, 1_000)).await;
    assert_eq!(status, StatusCode::OK);
    let (_, switches) = pg.get("/sandbox/faults").await;
    assert_eq!(switches["failRequests"], 0);
    pg.finish().await;
}

#[tokio::test]
async fn fail_all_fails_the_api_but_not_the_checkout_or_the_sandbox_routes() {
    let pg = sandbox().await;
    let key = key_of(&pg.register(1_000).await);
    pg.faults(json!({"failAll": true})).await;
    for _ in 0..3 {
        let (status, _) = pg.get(&format!("/payments/{key}")).await;
        assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR);
    }
    assert_eq!(
        pg.checkout(&key, APPROVE, "pay").await.status(),
        StatusCode::SEE_OTHER
    );
    let (status, switches) = pg.get("/sandbox/faults").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(switches["failAll"], true);
    assert_eq!(
        pg.http
            .get(pg.url("/healthz"))
            .send()
            .await
            .unwrap()
            .status(),
        StatusCode::OK
    );

    let (status, switches) = pg.call(Method::DELETE, "/sandbox/faults", None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        switches,
        json!({"delayMs": 0, "failRequests": 0, "failAll": false, "dropWebhooks": 0})
    );
    assert_eq!(pg.payment(&key).await["status"], "PAID");
    pg.finish().await;
}

#[tokio::test]
async fn a_delayed_answer_comes_after_the_effect_so_a_timed_out_refund_still_happened() {
    let pg = sandbox().await;
    let key = key_of(&pg.paid(10_000).await);
    pg.faults(json!({"delayMs": 3_000})).await;
    let outcome = pg
        .authed(Method::POST, &format!("/payments/{key}/cancel"))
        .json(&json!({"amount": 4_000, "reason": "late", "idempotencyKey": "late-1"}))
        .timeout(Duration::from_millis(500))
        .send()
        .await;
    assert!(outcome.unwrap_err().is_timeout());
    pg.call(Method::DELETE, "/sandbox/faults", None).await;

    eventually(WAIT, "the timed-out refund recorded", || async {
        pg.cancellations(&key).await.len() == 1
    })
    .await;
    let payment = pg.payment(&key).await;
    assert_eq!(payment["status"], "PARTIAL_CANCELLED");
    assert_eq!(payment["cancelledAmount"], 4_000);
    // The caller's retry with the same key finds it instead of refunding again.
    let (status, again) = pg.cancel(&key, Some(4_000), "late-1").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(again["payment"]["cancelledAmount"], 4_000);
    pg.finish().await;
}

#[tokio::test]
async fn bad_switches_are_400() {
    let pg = sandbox().await;
    for body in [
        json!({"delayMs": -1}),
        json!({"failAll": "yes"}),
        json!({"dropWebhooks": 1.5}),
    ] {
        let (status, error) = pg
            .call(Method::PUT, "/sandbox/faults", Some(body.clone()))
            .await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
        assert_eq!(error["type"], "INVALID_REQUEST");
    }
    pg.finish().await;
}
