//! Registering and reading payments, and what the API refuses.

use reqwest::{Method, StatusCode};
use serde_json::json;

use crate::support::{key_of, order_id, registration, sandbox};

#[tokio::test]
async fn a_registered_payment_reads_back_by_key_and_by_order() {
    let pg = sandbox().await;
    let order = order_id();
    let (status, payment) = pg.post("/payments", registration(&order, 120_000)).await;
    assert_eq!(status, StatusCode::OK, "{payment}");
    let key = key_of(&payment);
    assert!(key.starts_with("pay_") && key.len() == 36, "{key}");
    assert_eq!(payment["orderId"], order.as_str());
    assert_eq!(payment["status"], "READY");
    assert_eq!(payment["amount"], 120_000);
    assert_eq!(payment["currency"], "KRW");
    assert_eq!(payment["cancelledAmount"], 0);
    assert_eq!(payment["method"], json!(null));
    assert_eq!(payment["paidAt"], json!(null));
    assert_eq!(payment["redirectUrl"], "http://shop.test/return?from=pg");
    assert_eq!(
        payment["checkoutUrl"],
        pg.url(&format!("/checkout/{key}")).as_str()
    );

    assert_eq!(pg.payment(&key).await, payment);
    let (status, by_order) = pg.get(&format!("/payments?orderId={order}")).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(by_order, payment);
    pg.finish().await;
}

#[tokio::test]
async fn registration_is_idempotent_per_order_and_refuses_another_amount() {
    let pg = sandbox().await;
    let order = order_id();
    let (_, first) = pg.post("/payments", registration(&order, 50_000)).await;
    let (status, again) = pg.post("/payments", registration(&order, 50_000)).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(again["paymentKey"], first["paymentKey"]);

    let (status, error) = pg.post("/payments", registration(&order, 50_001)).await;
    assert_eq!(status, StatusCode::CONFLICT);
    assert_eq!(error["type"], "ORDER_ID_CONFLICT");
    let mut dollars = registration(&order, 50_000);
    dollars["currency"] = json!("USD");
    let (status, error) = pg.post("/payments", dollars).await;
    assert_eq!(status, StatusCode::CONFLICT);
    assert_eq!(error["type"], "ORDER_ID_CONFLICT");

    // A paid payment is answered as it is, not re-opened.
    pg.checkout(&key_of(&first), crate::support::APPROVE, "pay")
        .await;
    let (status, again) = pg.post("/payments", registration(&order, 50_000)).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(again["status"], "PAID");
    pg.finish().await;
}

#[tokio::test]
async fn bad_requests_are_400_naming_the_field_and_unknown_payments_404() {
    let pg = sandbox().await;
    let cases = [
        ("orderId", json!("no spaces allowed")),
        ("orderName", json!("")),
        ("amount", json!(0)),
        ("amount", json!(1_000_000_000_001_i64)),
        ("currency", json!("won")),
        ("expiresAt", json!("next week")),
        ("redirectUrl", json!("shop.test/return")),
    ];
    for (field, value) in cases {
        let mut body = registration(&order_id(), 1_000);
        body[field] = value;
        let (status, error) = pg.post("/payments", body).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{field}");
        assert_eq!(error["type"], "INVALID_REQUEST");
        assert!(
            error["message"].as_str().unwrap().contains(field),
            "{error}"
        );
    }
    let mut missing = registration(&order_id(), 1_000);
    missing.as_object_mut().unwrap().remove("orderName");
    let (status, error) = pg.post("/payments", missing).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(error["message"].as_str().unwrap().contains("orderName"));

    let response = pg
        .authed(Method::POST, "/payments")
        .header("content-type", "application/json")
        .body("{not json")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);

    let (status, error) = pg.get("/payments").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(error["message"].as_str().unwrap().contains("orderId"));
    for path in [
        "/payments/pay_unknown",
        "/payments?orderId=unknown",
        "/payments/pay_unknown/cancellations",
    ] {
        let (status, error) = pg.get(path).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{path}");
        assert_eq!(error["type"], "PAYMENT_NOT_FOUND");
    }
    for (method, path) in [
        (Method::DELETE, "/payments/pay_unknown"),
        (Method::PATCH, "/healthz"),
    ] {
        let (status, error) = pg.call(method, path, None).await;
        assert_eq!(status, StatusCode::METHOD_NOT_ALLOWED, "{path}");
        assert_eq!(error["type"], "METHOD_NOT_ALLOWED");
    }
    let (status, error) = pg.get("/nowhere").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(error["type"], "NOT_FOUND");
    pg.finish().await;
}

#[tokio::test]
async fn the_api_needs_the_secret_and_the_checkout_and_health_do_not() {
    let pg = sandbox().await;
    let payment = pg.register(10_000).await;
    let key = key_of(&payment);
    for path in [
        format!("/payments/{key}"),
        "/sandbox/faults".to_owned(),
        "/sandbox/webhooks".to_owned(),
    ] {
        for authorization in [
            None,
            Some("PortOne wrong-secret"),
            Some("Bearer sandbox-secret"),
        ] {
            let mut request = pg.http.get(pg.url(&path));
            if let Some(authorization) = authorization {
                request = request.header("authorization", authorization);
            }
            let response = request.send().await.unwrap();
            assert_eq!(
                response.status(),
                StatusCode::UNAUTHORIZED,
                "{path} {authorization:?}"
            );
            let error: serde_json::Value = response.json().await.unwrap();
            assert_eq!(error["type"], "UNAUTHORIZED");
        }
    }
    let response = pg.http.get(pg.url("/healthz")).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.text().await.unwrap(), "ok");
    let response = pg
        .http
        .get(pg.url(&format!("/checkout/{key}")))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    pg.finish().await;
}
