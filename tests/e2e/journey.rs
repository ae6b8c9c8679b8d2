//! The guest's journey through the edge with every service, the sandbox PG
//! and the edge in a process of its own: search, book with a coupon and
//! points, watch the booking live, pay at the PG's checkout, come back
//! confirmed, cancel, get the refund the policy quotes, and find every
//! coupon, point and night where it started.

use hyper::Method;
use serde_json::{Value, json};

use crate::booking_kit::*;
use crate::pods::Pods;
use crate::support::*;

/// The saga of a booking, as the orchestrator's ListSagas shows it.
async fn sagas_of(pods: &Pods, booking: &str) -> Vec<Value> {
    let listed = grpcurl(&[
        "-plaintext",
        "-d",
        &json!({"bookingId": booking}).to_string(),
        &format!("127.0.0.1:{}", pods.deployment.port("saga")),
        "staymesh.saga.v1.SagaService/ListSagas",
    ])
    .await;
    let listed: Value = serde_json::from_str(&listed).expect("grpcurl JSON");
    listed["sagas"].as_array().cloned().unwrap_or_default()
}

#[tokio::test]
async fn a_guest_books_with_a_coupon_and_points_pays_cancels_and_is_refunded() {
    let pods = Pods::start(Deployment::new().await, &[]).await;
    let edge = pods.deployment.edge();
    let host = login(&edge, "host@staymesh.dev", "staymesh-host-1").await;
    let guest = login(&edge, "guest@staymesh.dev", "staymesh-guest-1").await;
    let room = listing(&edge, &host, 2, 50_000).await;
    let stay = in_days(20);

    // Search finds the stay with its price and rooms left.
    let found = http(
        Method::GET,
        &format!(
            "{edge}/v1/search?region=%EB%B6%80%EC%82%B0&check_in={stay}&check_out={}&guests=2",
            stay + chrono::Duration::days(2)
        ),
        None,
        None,
    )
    .await;
    assert_eq!(found.status, 200, "{}", found.body);
    let offered = found.json()["results"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|r| r["rooms"].as_array().cloned().unwrap_or_default())
        .find(|r| r["roomTypeId"] == room.as_str())
        .unwrap_or_else(|| panic!("the room type is found: {}", found.body));
    assert_eq!(offered["roomsLeft"], 2, "{offered}");

    // Booked with the demo coupon (10%) and 3,000 points.
    let coupon = claim_demo_coupon(&edge, &guest).await;
    // The sale dashboard's "coupons left": the demo event's 1,000 less this claim.
    let scrape = format!(
        "http://127.0.0.1:{}/metrics",
        pods.deployment.metrics_port("coupon")
    );
    let (_, metrics) = http_get(&scrape).await;
    let left = metrics
        .lines()
        .find(|l| l.starts_with("coupon_event_remaining{") && l.contains(DEMO_EVENT))
        .and_then(|l| l.rsplit_once(' ')?.1.parse::<f64>().ok());
    assert_eq!(left, Some(999.0), "{metrics}");
    let created = book(
        &edge,
        &guest,
        &room,
        stay,
        2,
        json!({"userCouponId": coupon, "pointsToUse": 3000}),
    )
    .await;
    assert_eq!(created.status, 200, "{}", created.body);
    let booking = created.json()["booking"].clone();
    assert_eq!(booking["state"], "BOOKING_STATE_PENDING");
    let price = &booking["price"];
    assert_eq!(
        [
            &price["price"]["amount"],
            &price["discount"]["amount"],
            &price["points"]["amount"],
            &price["paidAmount"]["amount"]
        ],
        [
            &json!("100000"),
            &json!("10000"),
            &json!("3000"),
            &json!("87000")
        ],
        "{booking}"
    );
    let id = booking["bookingId"].as_str().unwrap().to_owned();

    // Watched live: PENDING, then AWAITING_PAYMENT with the checkout URL;
    // paid at the PG, the browser comes back through ApprovePayment and the
    // same stream shows CONFIRMED, then ends.
    let mut events = watch(&edge, &guest, &id).await;
    let mut states = Vec::new();
    loop {
        let seen = tokio::time::timeout(SAGA, events.next())
            .await
            .unwrap_or_else(|_| panic!("the watch stalled after {states:?}"));
        match seen {
            Seen::Message(message) => {
                let now = message["booking"].clone();
                let state = now["state"].as_str().unwrap().to_owned();
                if states.last() != Some(&state) {
                    states.push(state.clone());
                }
                if state == "BOOKING_STATE_AWAITING_PAYMENT" && states.len() <= 2 {
                    assert_eq!(
                        coupon_state(&edge, &guest, &coupon).await.as_deref(),
                        Some("USER_COUPON_STATE_RESERVED")
                    );
                    assert_eq!(balance(&edge, &guest).await["available"], "7000");
                    let checkout = now["checkoutUrl"].as_str().unwrap();
                    assert!(checkout.starts_with(&pods.deployment.pg()), "{now}");
                    let approved = pay(checkout, CARD_OK).await;
                    assert_eq!(approved.status, 200, "{}", approved.body);
                    assert_eq!(approved.json()["payment"]["amount"]["amount"], "87000");
                }
            }
            Seen::Error(error) => panic!("the watch failed: {error}"),
            Seen::End => break,
        }
    }
    assert_eq!(
        states.last().map(String::as_str),
        Some("BOOKING_STATE_CONFIRMED"),
        "{states:?}"
    );
    assert!(
        states.contains(&"BOOKING_STATE_AWAITING_PAYMENT".to_owned()),
        "{states:?}"
    );
    assert_eq!(
        coupon_state(&edge, &guest, &coupon).await.as_deref(),
        Some("USER_COUPON_STATE_REDEEMED")
    );
    let points = balance(&edge, &guest).await;
    assert_eq!(
        (&points["balance"], &points["reserved"]),
        (&json!("7000"), &json!("0"))
    );
    // The booking reads CONFIRMED once the booking service commits the last
    // step; the saga completes when that step's reply reaches it, a moment on.
    staymesh_testkit::eventually(
        std::time::Duration::from_secs(30),
        "the saga completed",
        || async {
            sagas_of(&pods, &id)
                .await
                .iter()
                .any(|saga| saga["state"] == "SAGA_STATE_COMPLETED")
        },
    )
    .await;
    let sagas = sagas_of(&pods, &id).await;
    assert_eq!(sagas.len(), 1, "{sagas:?}");
    assert_eq!(sagas[0]["state"], "SAGA_STATE_COMPLETED", "{sagas:?}");
    let steps: Vec<&str> = sagas[0]["steps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["step"].as_str().unwrap())
        .collect();
    for step in [
        "SAGA_STEP_HOLD_NIGHTS",
        "SAGA_STEP_RESERVE_COUPON",
        "SAGA_STEP_RESERVE_POINTS",
        "SAGA_STEP_CREATE_PAYMENT",
    ] {
        assert!(steps.contains(&step), "{step} in {steps:?}");
    }

    // Cancelled 20 days ahead: the quote says 100%, and that is refunded.
    let quote = http(
        Method::GET,
        &format!("{edge}/v1/bookings/{id}/cancellation-quote"),
        Some(&guest),
        None,
    )
    .await;
    assert_eq!(quote.status, 200, "{}", quote.body);
    let quote = quote.json();
    assert_eq!(quote["refundAmount"]["amount"], "87000", "{quote}");
    assert_eq!(quote["pointsReturned"], "3000", "{quote}");
    let cancel = http(
        Method::POST,
        &format!("{edge}/v1/bookings/{id}:cancel"),
        Some(&guest),
        Some(json!({"reason": "일정 변경"})),
    )
    .await;
    assert_eq!(cancel.status, 200, "{}", cancel.body);
    let cancelled = wait_state(&edge, &guest, &id, &["CANCELLED"], SAGA).await;
    assert_eq!(
        cancelled["refundedAmount"]["amount"], "87000",
        "{cancelled}"
    );
    assert_eq!(
        cancelled["cancelCause"], "CANCEL_CAUSE_GUEST",
        "{cancelled}"
    );
    let payments = http(
        Method::GET,
        &format!("{edge}/v1/bookings/{id}/payments"),
        Some(&guest),
        None,
    )
    .await;
    assert!(payments.body.contains("87000"), "{}", payments.body);

    // Everything is back: the coupon (still valid), every point, both nights.
    assert_eq!(
        coupon_state(&edge, &guest, &coupon).await.as_deref(),
        Some("USER_COUPON_STATE_AVAILABLE")
    );
    let points = balance(&edge, &guest).await;
    assert_eq!(
        (&points["balance"], &points["reserved"]),
        (&json!("10000"), &json!("0"))
    );
    let states = reconcile(&pods.deployment).await;
    assert_eq!(states.get("CANCELLED"), Some(&1), "{states:?}");
    dashboards_read_only_exported_metrics(&pods).await;
    pods.stop().await;
}

/// Every metric the chart's dashboards and alert rules read (as
/// `helm/tests/metric_names.py` lists them, rendered by Helm) is one the
/// running services export: a live scrape of each service's /metrics after
/// the journey, so a renamed metric fails here, not silently in Grafana.
async fn dashboards_read_only_exported_metrics(pods: &Pods) {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let listed = tokio::process::Command::new("python3")
        .arg("helm/tests/metric_names.py")
        .current_dir(&root)
        .output()
        .await
        .expect("run helm/tests/metric_names.py");
    assert!(
        listed.status.success(),
        "metric_names.py failed: {}",
        String::from_utf8_lossy(&listed.stderr)
    );
    let mut exported = std::collections::BTreeSet::new();
    for service in &pods.deployment.services {
        let url = format!("http://127.0.0.1:{}/metrics", service.metrics_port);
        let (status, body) = http_get(&url).await;
        assert_eq!(status, 200, "{url}");
        for line in body.lines().filter(|l| !l.starts_with('#')) {
            let name = line.split(['{', ' ']).next().unwrap_or_default();
            let base = ["_bucket", "_sum", "_count"]
                .iter()
                .find_map(|suffix| name.strip_suffix(suffix))
                .unwrap_or(name);
            exported.insert(base.to_owned());
        }
    }
    let read = String::from_utf8_lossy(&listed.stdout);
    let missing: Vec<&str> = read
        .lines()
        .filter(|name| !exported.contains(*name))
        .collect();
    assert!(read.lines().count() > 20, "metric_names.py listed: {read}");
    assert!(
        missing.is_empty(),
        "the dashboards and alerts read metrics no service exports: {missing:?}"
    );
}
