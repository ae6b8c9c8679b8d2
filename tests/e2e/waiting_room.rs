//! The waiting room in front of a coupon sale, through the edge as a browser
//! sees it: the admin opens a queue for an event with a waiting room, a
//! guest enters, watches the place over server-sent events until admitted,
//! and claims with the admission token; without it, or with a token spent
//! once, the claim is refused naming the queue.

use hyper::Method;
use serde_json::{Value, json};

use crate::booking_kit::*;
use crate::support::*;

async fn claim(edge: &str, token: &str, event: &str, admission: &str) -> Answer {
    http(
        Method::POST,
        &format!("{edge}/v1/issuance-events/{event}:claim"),
        Some(token),
        Some(json!({"admissionToken": admission})),
    )
    .await
}

/// Opens `event`'s queue (one admitted a second), has `guest` enter it and
/// watch the ticket over server-sent events until let in; returns the
/// admission token.
async fn wait_in_line(edge: &str, admin: &str, guest: &str, event: &str) -> String {
    let queue = http(
        Method::PUT,
        &format!("{edge}/v1/queues/{event}"),
        Some(admin),
        Some(json!({"config": {"active": true, "admitPerSecond": 1, "admissionTtlSeconds": 60}})),
    )
    .await;
    assert_eq!(queue.status, 200, "{}", queue.body);
    let entered = http(
        Method::POST,
        &format!("{edge}/v1/queues/{event}:enter"),
        Some(guest),
        None,
    )
    .await;
    assert_eq!(entered.status, 200, "{}", entered.body);
    let ticket = entered.json()["ticket"].clone();
    assert_eq!(ticket["state"], "TICKET_STATE_WAITING", "{ticket}");
    let ticket_id = ticket["ticketId"].as_str().unwrap();
    let mut stream = events(
        edge,
        guest,
        &format!("/v1/queues/{event}/tickets/{ticket_id}:watch"),
    )
    .await;
    let mut last: Value = Value::Null;
    loop {
        match tokio::time::timeout(SAGA, stream.next())
            .await
            .expect("the ticket moves within 30 s")
        {
            Seen::Message(message) => last = message["ticket"].clone(),
            Seen::Error(error) => panic!("the watch failed: {error}"),
            Seen::End => break,
        }
    }
    assert_eq!(last["state"], "TICKET_STATE_ADMITTED", "{last}");
    last["admissionToken"].as_str().unwrap().to_owned()
}

/// A refusal of a guarded call: 400 FAILED_PRECONDITION naming the queue.
fn assert_sent_to_queue(answer: &Answer, queue: &str) {
    assert_eq!(answer.status, 400, "{}", answer.body);
    assert_eq!(
        answer.json()["error"]["code"],
        "FAILED_PRECONDITION",
        "{}",
        answer.body
    );
    assert!(
        answer.body.contains(&format!("queue {queue}")),
        "{}",
        answer.body
    );
}

#[tokio::test]
async fn a_guest_waits_in_line_is_admitted_and_claims_once_with_the_token() {
    let (deployment, mut mesh) = mesh("10m").await;
    for service in ["coupon", "queue"] {
        wait_serving(&deployment.url(service), &mut mesh, SAGA).await;
    }
    let edge = deployment.edge();
    let admin = login(&edge, "admin@staymesh.dev", "staymesh-admin-1").await;
    let guest = login(&edge, "guest@staymesh.dev", "staymesh-guest-1").await;
    let now = chrono::Utc::now();
    let coupon = http(
        Method::POST,
        &format!("{edge}/v1/coupons"),
        Some(&admin),
        Some(json!({
            "name": "타임세일 쿠폰",
            "discountType": "DISCOUNT_TYPE_PERCENT",
            "discountPercent": 20,
            "maxDiscount": {"amount": "30000"},
            "validFrom": now.to_rfc3339(),
            "validUntil": (now + chrono::Duration::days(3)).to_rfc3339(),
        })),
    )
    .await;
    assert_eq!(coupon.status, 200, "{}", coupon.body);
    let coupon_id = coupon.json()["coupon"]["couponId"]
        .as_str()
        .unwrap()
        .to_owned();
    let event = http(
        Method::POST,
        &format!("{edge}/v1/coupons/{coupon_id}/issuance-events"),
        Some(&admin),
        Some(json!({
            "quantity": 100,
            "opensAt": now.to_rfc3339(),
            "closesAt": (now + chrono::Duration::days(1)).to_rfc3339(),
            "waitingRoom": true,
        })),
    )
    .await;
    assert_eq!(event.status, 200, "{}", event.body);
    let event_id = event.json()["event"]["eventId"]
        .as_str()
        .unwrap()
        .to_owned();
    // Without a token: refused, and told where to queue.
    let refused = claim(&edge, &guest, &event_id, "").await;
    assert_sent_to_queue(&refused, &event_id);
    let admission = wait_in_line(&edge, &admin, &guest, &event_id).await;

    let claimed = claim(&edge, &guest, &event_id, &admission).await;
    assert_eq!(claimed.status, 200, "{}", claimed.body);
    assert_eq!(
        claimed.json()["result"],
        "CLAIM_RESULT_CLAIMED",
        "{}",
        claimed.body
    );
    let again = claim(&edge, &guest, &event_id, &admission).await;
    assert_eq!(again.status, 400, "{}", again.body);
    assert!(again.body.contains("already used"), "{}", again.body);
    mesh.sigterm().await;
    mesh.wait().await;
}

#[tokio::test]
async fn bookings_at_a_time_sale_with_a_waiting_room_need_an_admission_each() {
    let (deployment, mut mesh) = mesh("10m").await;
    for service in ["accommodation", "queue"] {
        wait_serving(&deployment.url(service), &mut mesh, SAGA).await;
    }
    let edge = deployment.edge();
    let admin = login(&edge, "admin@staymesh.dev", "staymesh-admin-1").await;
    let host = login(&edge, "host@staymesh.dev", "staymesh-host-1").await;
    let guest = login(&edge, "guest@staymesh.dev", "staymesh-guest-1").await;
    let (property, room) = listing_of_property(&edge, &host, 5, 100_000).await;
    let now = chrono::Utc::now();
    let sale = http(
        Method::POST,
        &format!("{edge}/v1/properties/{property}/time-sales"),
        Some(&host),
        Some(json!({
            "discountPercent": 30,
            "startsAt": now.to_rfc3339(),
            "endsAt": (now + chrono::Duration::hours(2)).to_rfc3339(),
            "waitingRoom": true,
        })),
    )
    .await;
    assert_eq!(sale.status, 200, "{}", sale.body);
    assert_eq!(
        sale.json()["timeSale"]["waitingRoom"],
        true,
        "{}",
        sale.body
    );
    let sale_id = sale.json()["timeSale"]["timeSaleId"]
        .as_str()
        .unwrap()
        .to_owned();

    let refused = book(&edge, &guest, &room, in_days(10), 1, json!({})).await;
    assert_sent_to_queue(&refused, &sale_id);
    let admission = wait_in_line(&edge, &admin, &guest, &sale_id).await;
    let booked = book(
        &edge,
        &guest,
        &room,
        in_days(10),
        1,
        json!({"admissionToken": admission}),
    )
    .await;
    assert_eq!(booked.status, 200, "{}", booked.body);
    // 30% off the 100,000-won night.
    assert_eq!(
        booked.json()["booking"]["price"]["price"]["amount"],
        "70000",
        "{}",
        booked.body
    );
    // The token let in one booking; a second needs a turn of its own.
    let second = book(
        &edge,
        &guest,
        &room,
        in_days(12),
        1,
        json!({"admissionToken": admission}),
    )
    .await;
    assert_sent_to_queue(&second, &sale_id);
    assert!(second.body.contains("already used"), "{}", second.body);
    mesh.sigterm().await;
    mesh.wait().await;
}
