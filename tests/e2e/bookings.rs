//! Booking through the edge with the saga doing the work: confirmed when
//! paid; cancelled (with everything released) when sold out, declined,
//! unpaid past the deadline or cancelled by the guest; refunded per the
//! policy once confirmed; and bad requests refused before any saga starts.

use std::time::Duration;

use hyper::Method;
use serde_json::json;

use crate::booking_kit::*;
use crate::support::*;

#[tokio::test]
async fn a_booking_is_confirmed_when_paid_and_every_failure_releases_everything() {
    let (deployment, mut mesh) = mesh("15s").await;
    let edge = deployment.edge();
    let host = login(&edge, "host@staymesh.dev", "staymesh-host-1").await;
    let guest = login(&edge, "guest@staymesh.dev", "staymesh-guest-1").await;
    let room = listing(&edge, &host, 1, 50_000).await;
    let stay = in_days(20);

    // Paid at once: confirmed, with points counted in the money.
    let created = book(&edge, &guest, &room, stay, 2, json!({"pointsToUse": 2000})).await;
    assert_eq!(created.status, 200, "{}", created.body);
    let first = created.json()["booking"].clone();
    assert_eq!(first["state"], "BOOKING_STATE_PENDING");
    assert_eq!(first["price"]["price"]["amount"], "100000");
    assert_eq!(first["price"]["paidAmount"]["amount"], "98000");
    let id = first["bookingId"].as_str().unwrap().to_owned();
    let awaiting = wait_state(&edge, &guest, &id, &["AWAITING_PAYMENT"], SAGA).await;
    let checkout = awaiting["checkoutUrl"].as_str().unwrap().to_owned();
    assert!(checkout.starts_with(&deployment.pg()), "{awaiting}");
    let approved = pay(&checkout, CARD_OK).await;
    assert_eq!(approved.status, 200, "{}", approved.body);
    assert_eq!(approved.json()["payment"]["amount"]["amount"], "98000");
    let confirmed = wait_state(&edge, &guest, &id, &["CONFIRMED"], SAGA).await;
    assert!(confirmed["confirmedAt"].is_string(), "{confirmed}");
    assert_eq!(balance(&edge, &guest).await["balance"], "8000");

    // The only room is sold: the next guest's saga cancels with SOLD_OUT.
    let second = book(&edge, &guest, &room, stay, 2, json!({"pointsToUse": 500})).await;
    let second = second.json()["booking"]["bookingId"]
        .as_str()
        .unwrap()
        .to_owned();
    let sold_out = wait_state(&edge, &guest, &second, &["CANCELLED"], SAGA).await;
    assert_eq!(
        sold_out["cancelCause"], "CANCEL_CAUSE_SOLD_OUT",
        "{sold_out}"
    );
    assert!(
        sold_out["cancelReason"]
            .as_str()
            .unwrap()
            .contains("not enough rooms")
    );

    // Declined at the PG: cancelled with PAYMENT_FAILED, points back.
    let declined = book(
        &edge,
        &guest,
        &room,
        in_days(30),
        1,
        json!({"pointsToUse": 1000}),
    )
    .await;
    let declined = declined.json()["booking"]["bookingId"]
        .as_str()
        .unwrap()
        .to_owned();
    let waiting = wait_state(&edge, &guest, &declined, &["AWAITING_PAYMENT"], SAGA).await;
    assert_eq!(balance(&edge, &guest).await["available"], "7000");
    let refused = pay(waiting["checkoutUrl"].as_str().unwrap(), CARD_DECLINED).await;
    assert_ne!(refused.status, 200, "{}", refused.body);
    let failed = wait_state(&edge, &guest, &declined, &["CANCELLED"], SAGA).await;
    assert_eq!(
        failed["cancelCause"], "CANCEL_CAUSE_PAYMENT_FAILED",
        "{failed}"
    );

    // Never paid: the deadline cancels it with PAYMENT_EXPIRED.
    let unpaid = book(&edge, &guest, &room, in_days(40), 1, json!({})).await;
    let unpaid = unpaid.json()["booking"]["bookingId"]
        .as_str()
        .unwrap()
        .to_owned();
    wait_state(&edge, &guest, &unpaid, &["AWAITING_PAYMENT"], SAGA).await;
    let expired = wait_state(&edge, &guest, &unpaid, &["CANCELLED"], SAGA).await;
    assert_eq!(
        expired["cancelCause"], "CANCEL_CAUSE_PAYMENT_EXPIRED",
        "{expired}"
    );

    // Three guests on two base guests pay the extra-guest fee each night;
    // cancelled before paying, nothing is refunded and everything released.
    let three = book(
        &edge,
        &guest,
        &room,
        in_days(50),
        2,
        json!({"guests": 3, "pointsToUse": 100}),
    )
    .await;
    assert_eq!(
        three.json()["booking"]["price"]["price"]["amount"],
        "120000"
    );
    let three = three.json()["booking"]["bookingId"]
        .as_str()
        .unwrap()
        .to_owned();
    wait_state(&edge, &guest, &three, &["AWAITING_PAYMENT"], SAGA).await;
    let quote = http(
        Method::GET,
        &format!("{edge}/v1/bookings/{three}/cancellation-quote"),
        Some(&guest),
        None,
    )
    .await;
    assert_eq!(
        quote.json()["refundAmount"]["amount"],
        "0",
        "{}",
        quote.body
    );
    let cancel = http(
        Method::POST,
        &format!("{edge}/v1/bookings/{three}:cancel"),
        Some(&guest),
        Some(json!({"reason": "바뀐 일정"})),
    )
    .await;
    assert_eq!(cancel.status, 200, "{}", cancel.body);
    let cancelled = wait_state(&edge, &guest, &three, &["CANCELLED"], SAGA).await;
    assert_eq!(cancelled["cancelCause"], "CANCEL_CAUSE_GUEST");
    assert_eq!(cancelled["cancelReason"], "바뀐 일정");
    assert_eq!(cancelled["refundedAmount"]["amount"], "0");

    // The confirmed stay is 20 days away: the policy refunds it in full.
    let quote = http(
        Method::GET,
        &format!("{edge}/v1/bookings/{id}/cancellation-quote"),
        Some(&guest),
        None,
    )
    .await;
    let quote = quote.json();
    assert_eq!(quote["refundPercent"], 100, "{quote}");
    assert_eq!(quote["refundAmount"]["amount"], "98000");
    assert!(quote["policy"].as_str().unwrap().contains("7 or more days"));
    let cancel = http(
        Method::POST,
        &format!("{edge}/v1/bookings/{id}:cancel"),
        Some(&guest),
        Some(json!({})),
    )
    .await;
    assert_eq!(
        cancel.json()["booking"]["state"],
        "BOOKING_STATE_CANCELLING",
        "{}",
        cancel.body
    );
    let refunded = wait_state(&edge, &guest, &id, &["CANCELLED"], SAGA).await;
    assert_eq!(refunded["refundedAmount"]["amount"], "98000", "{refunded}");
    let again = http(
        Method::POST,
        &format!("{edge}/v1/bookings/{id}:cancel"),
        Some(&guest),
        Some(json!({})),
    )
    .await;
    assert_eq!(
        again.json()["booking"]["state"],
        "BOOKING_STATE_CANCELLED",
        "cancelling twice is idempotent"
    );

    // Every point came back, and nothing is held, reserved or charged.
    let points = balance(&edge, &guest).await;
    assert_eq!(
        (points["balance"].clone(), points["reserved"].clone()),
        (json!("10000"), json!("0"))
    );
    let states = reconcile(&deployment).await;
    assert_eq!(states.get("CANCELLED"), Some(&5), "{states:?}");
    assert_eq!(states.len(), 1, "{states:?}");
    mesh.sigterm().await;
    mesh.wait().await;
    deployment.clean_up().await;
}

#[tokio::test]
async fn bad_bookings_are_refused_naming_the_field_before_any_saga() {
    let (deployment, mut mesh) = mesh("10m").await;
    let edge = deployment.edge();
    let host = login(&edge, "host@staymesh.dev", "staymesh-host-1").await;
    let guest = login(&edge, "guest@staymesh.dev", "staymesh-guest-1").await;
    let room = listing(&edge, &host, 3, 50_000).await;
    let stay = in_days(10);
    let url = format!("{edge}/v1/bookings");

    let reversed = json!({"roomTypeId": room, "checkIn": date(stay), "checkOut": date(stay - chrono::Duration::days(1)), "guests": 2, "idempotencyKey": "k1"});
    let refused = http(Method::POST, &url, Some(&guest), Some(reversed)).await;
    assert_eq!(
        (refused.status, field(&refused)),
        (400, "check_out".into()),
        "{}",
        refused.body
    );

    let crowd = book(&edge, &guest, &room, stay, 1, json!({"guests": 5})).await;
    assert_eq!(
        (crowd.status, field(&crowd)),
        (400, "guests".into()),
        "{}",
        crowd.body
    );

    let long = book(&edge, &guest, &room, stay, 31, json!({})).await;
    assert_eq!(
        (long.status, field(&long)),
        (400, "check_out".into()),
        "{}",
        long.body
    );

    let greedy = book(
        &edge,
        &guest,
        &room,
        stay,
        1,
        json!({"pointsToUse": 10_001}),
    )
    .await;
    assert_eq!(
        (greedy.status, field(&greedy)),
        (400, "points_to_use".into()),
        "{}",
        greedy.body
    );
    assert!(
        greedy.body.contains("10000"),
        "says what is available: {}",
        greedy.body
    );

    let negative = book(&edge, &guest, &room, stay, 1, json!({"pointsToUse": -1})).await;
    assert_eq!(
        (negative.status, field(&negative)),
        (400, "points_to_use".into())
    );

    let unknown = book(
        &edge,
        &guest,
        &uuid::Uuid::now_v7().to_string(),
        stay,
        1,
        json!({}),
    )
    .await;
    assert_eq!(unknown.status, 404, "{}", unknown.body);
    assert!(unknown.body.contains("room type"), "{}", unknown.body);

    // Someone else's coupon (the host claims one) is no coupon of the guest's.
    let events = http(
        Method::GET,
        &format!("{edge}/v1/issuance-events"),
        None,
        None,
    )
    .await;
    let event = events.json()["events"][0]["eventId"]
        .as_str()
        .unwrap()
        .to_owned();
    let claimed = http(
        Method::POST,
        &format!("{edge}/v1/issuance-events/{event}:claim"),
        Some(&host),
        Some(json!({})),
    )
    .await;
    let coupon = claimed.json()["userCoupon"]["userCouponId"]
        .as_str()
        .map(str::to_owned);
    let coupon = match coupon {
        Some(c) => c,
        None => {
            let mine = http(
                Method::GET,
                &format!("{edge}/v1/me/coupons"),
                Some(&host),
                None,
            )
            .await;
            mine.json()["userCoupons"][0]["userCouponId"]
                .as_str()
                .expect("a coupon")
                .to_owned()
        }
    };
    let theirs = book(
        &edge,
        &guest,
        &room,
        stay,
        1,
        json!({"userCouponId": coupon}),
    )
    .await;
    assert_eq!(theirs.status, 404, "{}", theirs.body);
    assert!(theirs.body.contains("user_coupon_id"), "{}", theirs.body);

    let anonymous = book(&edge, "", &room, stay, 1, json!({})).await;
    assert_eq!(anonymous.status, 401, "{}", anonymous.body);

    // The same key is the same booking; another request under it is refused.
    let body = json!({"idempotencyKey": "retry-me"});
    let first = book(&edge, &guest, &room, stay, 1, body.clone()).await;
    let retry = book(&edge, &guest, &room, stay, 1, body.clone()).await;
    assert_eq!(first.status, 200, "{}", first.body);
    assert_eq!(
        first.json()["booking"]["bookingId"],
        retry.json()["booking"]["bookingId"]
    );
    let other = book(&edge, &guest, &room, stay, 2, body).await;
    assert_eq!(
        (other.status, field(&other)),
        (400, "idempotency_key".into()),
        "{}",
        other.body
    );

    // Nothing refused started a saga: one booking, one saga.
    let sagas = database(&deployment, "saga").await;
    staymesh_testkit::eventually(Duration::from_secs(20), "one saga", || async {
        sqlx::query_scalar::<_, i64>("SELECT count(*) FROM saga")
            .fetch_one(&sagas)
            .await
            .unwrap_or(0)
            == 1
    })
    .await;
    mesh.sigterm().await;
    mesh.wait().await;
    deployment.clean_up().await;
}

const GUESTS: usize = 500;
const ROOMS: i32 = 50;

#[tokio::test]
async fn five_hundred_guests_race_for_fifty_rooms_and_exactly_fifty_are_confirmed() {
    let (deployment, mut mesh) = mesh("10m").await;
    let edge = deployment.edge();
    let host = login(&edge, "host@staymesh.dev", "staymesh-host-1").await;
    let guest = login(&edge, "guest@staymesh.dev", "staymesh-guest-1").await;
    let room = listing(&edge, &host, ROOMS, 70_000).await;
    let started = std::time::Instant::now();
    let tasks: Vec<_> = (0..GUESTS)
        .map(|_| {
            tokio::spawn(book_and_pay(
                edge.clone(),
                guest.clone(),
                room.clone(),
                json!({}),
                Approval::MustSucceed,
            ))
        })
        .collect();
    let mut finished = Vec::new();
    for task in tasks {
        finished.push(task.await.expect("booking task"));
    }
    eprintln!("500 bookings finished in {:?}", started.elapsed());
    let confirmed = finished
        .iter()
        .filter(|b| b["state"] == "BOOKING_STATE_CONFIRMED")
        .count();
    let sold_out = finished
        .iter()
        .filter(|b| {
            b["state"] == "BOOKING_STATE_CANCELLED" && b["cancelCause"] == "CANCEL_CAUSE_SOLD_OUT"
        })
        .count();
    assert_eq!(
        (confirmed, sold_out),
        (ROOMS as usize, GUESTS - ROOMS as usize)
    );
    let states = reconcile(&deployment).await;
    assert_eq!(states.get("CONFIRMED"), Some(&(ROOMS as i64)), "{states:?}");
    // The calendar agrees: both nights sold out, nothing left held.
    let accommodation = database(&deployment, "accommodation").await;
    let nights: Vec<(i32, i32, i32)> = sqlx::query_as(
        "SELECT total, held, sold FROM night WHERE room_type_id = $1::uuid AND night >= $2 AND night < $3",
    )
    .bind(&room)
    .bind(in_days(15))
    .bind(in_days(17))
    .fetch_all(&accommodation)
    .await
    .unwrap();
    assert_eq!(nights, vec![(ROOMS, 0, ROOMS), (ROOMS, 0, ROOMS)]);
    mesh.sigterm().await;
    mesh.wait().await;
    deployment.clean_up().await;
}
