//! The guest's checkout: every test card's outcome, the return to the shop,
//! and what the page refuses.

use reqwest::StatusCode;
use serde_json::json;

use crate::support::{APPROVE, key_of, location, order_id, query_value, registration, sandbox};

#[tokio::test]
async fn the_approve_card_pays_and_sends_the_guest_back_with_key_and_order() {
    let pg = sandbox().await;
    let payment = pg.register(120_000).await;
    let key = key_of(&payment);

    let page = pg
        .http
        .get(pg.url(&format!("/checkout/{key}")))
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), StatusCode::OK);
    assert!(
        page.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/html")
    );
    let page = page.text().await.unwrap();
    for expected in [
        "Jeju ocean view, 2 nights",
        "120,000 KRW",
        r#"name="cardNumber""#,
        r#"value="4242 4242 4242 4242""#,
        r#"value="pay""#,
        r#"value="decline""#,
        "4000 0000 0000 0077",
    ] {
        assert!(page.contains(expected), "{expected} missing from the page");
    }

    let response = pg.checkout(&key, "4242-4242-4242-4242", "pay").await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let back = location(&response);
    assert_eq!(back.host_str(), Some("shop.test"));
    assert_eq!(back.path(), "/return");
    assert_eq!(
        query_value(&back, "from").as_deref(),
        Some("pg"),
        "the shop's own query is kept"
    );
    assert_eq!(query_value(&back, "paymentKey"), Some(key.clone()));
    assert_eq!(
        query_value(&back, "orderId").as_deref(),
        payment["orderId"].as_str()
    );
    assert_eq!(query_value(&back, "code"), None);

    let paid = pg.payment(&key).await;
    assert_eq!(paid["status"], "PAID");
    assert_eq!(paid["method"], "card");
    assert_eq!(paid["amount"], 120_000);
    assert!(paid["paidAt"].is_string());
    let page = pg
        .http
        .get(pg.url(&format!("/checkout/{key}")))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        page.contains("PAID") && !page.contains("<form"),
        "a paid payment shows its status"
    );
    pg.finish().await;
}

#[tokio::test]
async fn the_decline_card_and_the_decline_button_fail_with_their_codes() {
    let pg = sandbox().await;
    for (card, action, code, reason) in [
        (
            "4000 0000 0000 0002",
            "pay",
            "CARD_DECLINED",
            "card declined",
        ),
        (APPROVE, "decline", "USER_DECLINED", "declined by the guest"),
    ] {
        let key = key_of(&pg.register(30_000).await);
        let response = pg.checkout(&key, card, action).await;
        assert_eq!(response.status(), StatusCode::SEE_OTHER);
        let back = location(&response);
        assert_eq!(query_value(&back, "paymentKey"), Some(key.clone()));
        assert_eq!(query_value(&back, "code").as_deref(), Some(code));
        assert!(query_value(&back, "message").is_some());
        let failed = pg.payment(&key).await;
        assert_eq!(failed["status"], "FAILED");
        assert_eq!(failed["failReason"], reason);
        assert_eq!(failed["paidAt"], json!(null));
    }
    pg.finish().await;
}

#[tokio::test]
async fn the_tamper_card_charges_another_amount() {
    let pg = sandbox().await;
    let key = key_of(&pg.register(99_999).await);
    let response = pg.checkout(&key, "4000000000000077", "pay").await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let paid = pg.payment(&key).await;
    assert_eq!(paid["status"], "PAID");
    assert_eq!(paid["amount"], 49_999);
    // The one-won payment cannot halve to nothing.
    let key = key_of(&pg.register(1).await);
    pg.checkout(&key, "4000000000000077", "pay").await;
    assert_eq!(pg.payment(&key).await["amount"], 1);
    pg.finish().await;
}

#[tokio::test]
async fn the_time_out_card_pays_but_never_sends_the_guest_back() {
    let pg = sandbox().await;
    let key = key_of(&pg.register(70_000).await);
    let response = pg.checkout(&key, "4000 0000 0000 0119", "pay").await;
    assert_eq!(response.status(), StatusCode::OK);
    assert!(response.headers().get("location").is_none());
    assert!(
        response
            .text()
            .await
            .unwrap()
            .contains("taking longer than expected")
    );
    let paid = pg.payment(&key).await;
    assert_eq!(paid["status"], "PAID");
    assert_eq!(paid["amount"], 70_000);
    pg.finish().await;
}

#[tokio::test]
async fn an_invalid_card_number_is_400_and_the_payment_stays_ready() {
    let pg = sandbox().await;
    let key = key_of(&pg.register(10_000).await);
    for card in ["4242 4242 4242", "4242 4242 4242 424x", ""] {
        let response = pg.checkout(&key, card, "pay").await;
        assert_eq!(response.status(), StatusCode::BAD_REQUEST, "{card:?}");
        assert!(response.text().await.unwrap().contains("16 digits"));
    }
    assert_eq!(pg.payment(&key).await["status"], "READY");
    pg.finish().await;
}

#[tokio::test]
async fn a_second_checkout_of_a_paid_payment_is_refused_and_changes_nothing() {
    let pg = sandbox().await;
    let paid = pg.paid(40_000).await;
    let key = key_of(&paid);
    let response = pg.checkout(&key, "4000000000000002", "pay").await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        query_value(&location(&response), "code").as_deref(),
        Some("PAYMENT_NOT_READY")
    );
    assert_eq!(pg.payment(&key).await, paid);

    // Without a redirect URL the refusal is a 409 page.
    let mut body = registration(&order_id(), 5_000);
    body["redirectUrl"] = json!("");
    let (_, payment) = pg.post("/payments", body).await;
    let key = key_of(&payment);
    let response = pg.checkout(&key, APPROVE, "pay").await;
    assert_eq!(
        response.status(),
        StatusCode::OK,
        "no redirect URL: a result page"
    );
    assert!(response.text().await.unwrap().contains("approved"));
    let response = pg.checkout(&key, APPROVE, "pay").await;
    assert_eq!(response.status(), StatusCode::CONFLICT);
    pg.finish().await;
}

#[tokio::test]
async fn two_checkouts_at_once_pay_once() {
    let pg = sandbox().await;
    for _ in 0..5 {
        let key = key_of(&pg.register(10_000).await);
        let (a, b) = tokio::join!(
            pg.checkout(&key, APPROVE, "pay"),
            pg.checkout(&key, "4000000000000077", "pay")
        );
        let codes: Vec<Option<String>> = [a, b]
            .iter()
            .map(|r| query_value(&location(r), "code"))
            .collect();
        assert_eq!(codes.iter().filter(|c| c.is_none()).count(), 1, "{codes:?}");
        assert!(
            codes.contains(&Some("PAYMENT_NOT_READY".to_owned())),
            "{codes:?}"
        );
        assert_eq!(pg.payment(&key).await["status"], "PAID");
    }
    pg.finish().await;
}

#[tokio::test]
async fn an_expired_payment_fails_at_checkout() {
    let pg = sandbox().await;
    let mut body = registration(&order_id(), 10_000);
    body["expiresAt"] = json!((chrono::Utc::now() - chrono::Duration::minutes(1)).to_rfc3339());
    let (_, payment) = pg.post("/payments", body).await;
    let key = key_of(&payment);
    let response = pg.checkout(&key, APPROVE, "pay").await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        query_value(&location(&response), "code").as_deref(),
        Some("PAYMENT_EXPIRED")
    );
    let failed = pg.payment(&key).await;
    assert_eq!(failed["status"], "FAILED");
    assert_eq!(failed["failReason"], "expired");
    pg.finish().await;
}

#[tokio::test]
async fn the_page_escapes_the_order_name_and_unknown_payments_are_404() {
    let pg = sandbox().await;
    let mut body = registration(&order_id(), 10_000);
    body["orderName"] = json!("<script>alert('x')</script> & co");
    let (_, payment) = pg.post("/payments", body).await;
    let page = pg
        .http
        .get(pg.url(&format!("/checkout/{}", key_of(&payment))))
        .send()
        .await
        .unwrap();
    let page = page.text().await.unwrap();
    assert!(!page.contains("<script>"));
    assert!(page.contains("&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; &amp; co"));

    let response = pg
        .http
        .get(pg.url("/checkout/pay_unknown"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
    assert!(
        response.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/html")
    );
    assert_eq!(
        pg.checkout("pay_unknown", APPROVE, "pay").await.status(),
        StatusCode::NOT_FOUND
    );
    pg.finish().await;
}
