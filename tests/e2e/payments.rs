//! Paying as README shows it: the saga's CreatePayment with grpcurl, the
//! sandbox PG's checkout form, the browser's return to the edge, the PG's
//! webhook through the edge, and the day's settlement.

use std::time::Duration;

use hyper::Method;
use staymesh_platform::demo;

use crate::support::*;

#[tokio::test]
async fn a_guest_pays_through_the_sandbox_pg_and_the_edge() {
    let deployment = Deployment::new().await;
    deployment.run(&["migrate"]).await;
    deployment.run(&["seed", "--properties", "3"]).await;
    let mut mesh = deployment.spawn(&["all"]);
    let payment_grpc = format!("127.0.0.1:{}", deployment.port("payment"));
    wait_serving(
        &deployment.url("payment"),
        &mut mesh,
        Duration::from_secs(60),
    )
    .await;
    wait_serving(&deployment.url("user"), &mut mesh, Duration::from_secs(60)).await;
    let edge = deployment.edge();
    wait_http(&edge, &mut mesh, Duration::from_secs(60)).await;

    let booking = uuid::Uuid::now_v7();
    let due = chrono::Utc::now() + chrono::Duration::minutes(30);
    let request = serde_json::json!({
        "bookingId": booking.to_string(),
        "userId": demo::GUEST_ID.to_string(),
        "hostId": demo::HOST_ID.to_string(),
        "amount": {"amount": "120000", "currency": "KRW"},
        "orderName": "해운대 오션뷰 2박",
        "expiresAt": due.to_rfc3339(),
    })
    .to_string();
    let created = grpcurl(&[
        "-plaintext",
        "-d",
        &request,
        &payment_grpc,
        "staymesh.payment.v1.PaymentBookingService/CreatePayment",
    ])
    .await;
    let created: serde_json::Value = serde_json::from_str(&created).expect("grpcurl JSON");
    let payment = &created["payment"];
    assert_eq!(payment["state"], "PAYMENT_STATE_READY");
    let checkout = payment["checkoutUrl"].as_str().expect("checkout URL");
    assert!(checkout.starts_with(&deployment.pg()), "{checkout}");
    let payment_id = payment["paymentId"].as_str().unwrap().to_owned();

    // The checkout page a browser opens, and its form.
    let page = http(Method::GET, checkout, None, None).await;
    assert_eq!(page.status, 200);
    assert!(page.body.contains("해운대 오션뷰 2박") && page.body.contains("cardNumber"));
    let paid = http_raw(
        Method::POST,
        checkout,
        &[("content-type", "application/x-www-form-urlencoded")],
        "cardNumber=4242424242424242&action=pay".to_owned(),
    )
    .await;
    assert_eq!(paid.status, 303, "{}", paid.body);
    let back = paid.headers["location"].to_str().unwrap().to_owned();
    assert!(
        back.starts_with(&format!("{edge}/v1/payments:approve?")),
        "{back}"
    );

    // The browser's return lands on the edge, which approves with the PG.
    let approved = http(Method::GET, &back, None, None).await;
    assert_eq!(approved.status, 200, "{}", approved.body);
    assert_eq!(approved.json()["payment"]["state"], "PAYMENT_STATE_PAID");

    let token = login(&edge, "guest@staymesh.dev", "staymesh-guest-1").await;
    let mine = http(
        Method::GET,
        &format!("{edge}/v1/payments/{payment_id}"),
        Some(&token),
        None,
    )
    .await;
    assert_eq!(mine.status, 200, "{}", mine.body);
    assert_eq!(mine.json()["payment"]["amount"]["amount"], "120000");

    // The PG's own webhook reached the payment service through the edge.
    let key = back
        .split(['?', '&'])
        .find_map(|p| p.strip_prefix("paymentKey="))
        .expect("paymentKey")
        .to_owned();
    let hooks = format!("{}/sandbox/webhooks?paymentKey={key}", deployment.pg());
    staymesh_testkit::eventually(
        Duration::from_secs(30),
        "the webhook is delivered",
        || async {
            let answer = http_raw(
                Method::GET,
                &hooks,
                &[("authorization", "PortOne sandbox-secret")],
                String::new(),
            )
            .await;
            answer.status == 200 && answer.json()["webhooks"][0]["deliveredAt"].is_string()
        },
    )
    .await;
    let forged = http_raw(
        Method::POST,
        &format!("{edge}/v1/webhooks/payments"),
        &[
            ("content-type", "application/json"),
            ("webhook-id", "msg_forged"),
            (
                "webhook-timestamp",
                &chrono::Utc::now().timestamp().to_string(),
            ),
            ("webhook-signature", "v1,Zm9yZ2VkIHNpZ25hdHVyZQ=="),
        ],
        r#"{"type":"Transaction.Paid","data":{"paymentKey":"x","orderId":"y"}}"#.to_owned(),
    )
    .await;
    assert_eq!(forged.status, 401, "{}", forged.body);

    // Today's settlement, by the command and through the edge.
    let today = staymesh_platform::convert::today();
    let settled = deployment
        .run(&["payment", "settle", "--day", &today.to_string()])
        .await;
    assert!(
        settled.contains(&demo::HOST_ID.to_string()) && settled.contains("120000"),
        "{settled}"
    );
    let admin = login(&edge, "admin@staymesh.dev", "staymesh-admin-1").await;
    let end = today + chrono::Days::new(1);
    let report = http(
        Method::GET,
        &format!("{edge}/v1/settlements?range.start={today}&range.end={end}"),
        Some(&admin),
        None,
    )
    .await;
    assert_eq!(report.status, 200, "{}", report.body);
    assert_eq!(report.json()["total"]["paid"]["amount"], "120000");
    assert_eq!(report.json()["total"]["payout"]["amount"], "108000");

    mesh.sigterm().await;
    tokio::time::timeout(Duration::from_secs(30), mesh.wait())
        .await
        .expect("exits within the drain timeout");
    deployment.clean_up().await;
}
