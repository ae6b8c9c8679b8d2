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
    let queue = http(
        Method::PUT,
        &format!("{edge}/v1/queues/{event_id}"),
        Some(&admin),
        Some(json!({"config": {"active": true, "admitPerSecond": 1, "admissionTtlSeconds": 60}})),
    )
    .await;
    assert_eq!(queue.status, 200, "{}", queue.body);

    // Without a token: refused, and told where to queue.
    let refused = claim(&edge, &guest, &event_id, "").await;
    assert_eq!(refused.status, 400, "{}", refused.body);
    assert_eq!(refused.json()["error"]["code"], "FAILED_PRECONDITION");
    assert!(
        refused.body.contains(&format!("queue {event_id}")),
        "{}",
        refused.body
    );

    let entered = http(
        Method::POST,
        &format!("{edge}/v1/queues/{event_id}:enter"),
        Some(&guest),
        None,
    )
    .await;
    assert_eq!(entered.status, 200, "{}", entered.body);
    let ticket = entered.json()["ticket"].clone();
    assert_eq!(ticket["state"], "TICKET_STATE_WAITING", "{ticket}");
    let ticket_id = ticket["ticketId"].as_str().unwrap();
    let mut stream = events(
        &edge,
        &guest,
        &format!("/v1/queues/{event_id}/tickets/{ticket_id}:watch"),
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
    let admission = last["admissionToken"].as_str().unwrap().to_owned();

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
