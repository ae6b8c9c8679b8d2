//! The sale with coupons and points: many guests each fire several
//! bookings at once, sharing one coupon and a small point balance between
//! them, for fewer rooms than bookings. Whatever wins, no coupon pays for two
//! bookings, no balance goes below zero, and every booking charges exactly
//! its price less its discount and points.

use std::collections::BTreeMap;

use hyper::Method;
use serde_json::{Value, json};

use crate::booking_kit::*;
use crate::support::*;

const GUESTS: usize = 20;
/// Bookings each guest fires at once; every other one carries the coupon.
const ATTEMPTS: usize = 8;
/// More rooms than the coupons and points can pay for: those are what the
/// guests race for.
const ROOMS: i32 = 100;
const POINTS_GRANTED: i64 = 5_000;
/// Two bookings' worth fit in the balance, a third does not.
const POINTS_PER_BOOKING: i64 = 2_000;

/// A guest of the sale: signed up, given points, holding one demo coupon.
struct Guest {
    id: String,
    token: String,
    coupon: String,
}

async fn sign_up(edge: &str, admin: &str, n: usize) -> Guest {
    let email = format!("sale.{n}.{}@example.com", uuid::Uuid::now_v7().simple());
    let body = json!({"email": email, "password": "sale-day-2026", "name": format!("손님 {n}")});
    let url = format!("{edge}/v1/auth/signup");
    let signed_up = unless_shed(|| http(Method::POST, &url, None, Some(body.clone()))).await;
    assert_eq!(signed_up.status, 200, "{}", signed_up.body);
    let signed_up = signed_up.json();
    let id = signed_up["user"]["userId"].as_str().unwrap().to_owned();
    let token = signed_up["tokens"]["accessToken"]
        .as_str()
        .unwrap()
        .to_owned();
    let grant_url = format!("{edge}/v1/users/{id}/points:adjust");
    let grant = json!({
        "amount": POINTS_GRANTED.to_string(),
        "reason": "세일 적립금",
        "idempotencyKey": format!("grant-{id}"),
    });
    // Idempotent per key, so a shed grant is simply sent again.
    let granted =
        unless_shed(|| http(Method::POST, &grant_url, Some(admin), Some(grant.clone()))).await;
    assert_eq!(granted.status, 200, "{}", granted.body);
    let coupon = claim_demo_coupon(edge, &token).await;
    Guest { id, token, coupon }
}

/// A booking's id, guest, state, coupon, price, discount, points and the
/// amount left to pay.
type BookingRow = (String, String, String, Option<String>, i64, i64, i64, i64);

#[tokio::test]
async fn guests_racing_with_coupons_and_points_never_spend_either_twice() {
    let (deployment, mut mesh) = mesh("10m").await;
    let edge = deployment.edge();
    let host = login(&edge, "host@staymesh.dev", "staymesh-host-1").await;
    let admin = login(&edge, "admin@staymesh.dev", "staymesh-admin-1").await;
    let room = listing(&edge, &host, ROOMS, 70_000).await;
    let signing_up: Vec<_> = (0..GUESTS)
        .map(|n| {
            let (edge, admin) = (edge.clone(), admin.clone());
            tokio::spawn(async move { sign_up(&edge, &admin, n).await })
        })
        .collect();
    let mut guests = Vec::new();
    for guest in signing_up {
        guests.push(guest.await.expect("a guest signs up"));
    }

    let bookings: Vec<_> = guests
        .iter()
        .flat_map(|guest| {
            (0..ATTEMPTS).map(|attempt| {
                let mut extra = json!({"pointsToUse": POINTS_PER_BOOKING.to_string()});
                if attempt % 2 == 0 {
                    extra["userCouponId"] = json!(guest.coupon);
                }
                tokio::spawn(try_book_and_pay(
                    edge.clone(),
                    guest.token.clone(),
                    room.clone(),
                    extra,
                    Approval::MustSucceed,
                ))
            })
        })
        .collect();
    let mut finished: Vec<Value> = Vec::new();
    let mut refused = 0;
    for booking in bookings {
        match booking.await.expect("a booking") {
            Ok(booking) => finished.push(booking),
            // The coupon or the points are held by another of the guest's
            // bookings: refused before any saga, naming the field.
            Err(answer) => {
                let message = answer.json()["error"]["message"].to_string();
                let named = ["user_coupon_id", "points_to_use"]
                    .iter()
                    .any(|f| field(&answer) == *f || message.contains(f));
                assert!(named, "{}", answer.body);
                refused += 1;
            }
        }
    }
    let confirmed: Vec<&Value> = finished
        .iter()
        .filter(|b| b["state"] == "BOOKING_STATE_CONFIRMED")
        .collect();
    let mut causes: BTreeMap<String, usize> = BTreeMap::new();
    for booking in finished
        .iter()
        .filter(|b| b["state"] != "BOOKING_STATE_CONFIRMED")
    {
        *causes
            .entry(booking["cancelCause"].to_string())
            .or_default() += 1;
    }
    eprintln!(
        "{} bookings: {} confirmed, cancelled by cause {causes:?}, {refused} refused at once",
        GUESTS * ATTEMPTS,
        confirmed.len(),
    );
    // Losing a race for the room, the coupon or the points is the only
    // way to lose: no saga failed for a reason of its own.
    let lost_a_race = ["SOLD_OUT", "COUPON_REJECTED", "POINTS_REJECTED"]
        .map(|cause| format!("\"CANCEL_CAUSE_{cause}\""));
    assert!(
        causes.keys().all(|cause| lost_a_race.contains(cause)),
        "{causes:?}"
    );
    assert!(!confirmed.is_empty() && confirmed.len() <= ROOMS as usize);

    // Money: what the PG charged is the price less the discount and points.
    let booking_db = database(&deployment, "booking").await;
    let rows: Vec<BookingRow> = sqlx::query_as(
        "SELECT id::text, user_id::text, state, user_coupon_id::text, price, discount, points, \
         paid_amount FROM booking",
    )
    .fetch_all(&booking_db)
    .await
    .unwrap();
    let payment_db = database(&deployment, "payment").await;
    let charged: BTreeMap<String, i64> =
        sqlx::query_as("SELECT booking_id::text, amount FROM payment WHERE state = 'PAID'")
            .fetch_all(&payment_db)
            .await
            .unwrap()
            .into_iter()
            .collect();
    let mut coupons_used: BTreeMap<String, usize> = BTreeMap::new();
    let mut points_spent: BTreeMap<String, i64> = BTreeMap::new();
    for (id, user, state, coupon, price, discount, points, paid) in &rows {
        assert_eq!(*paid, price - discount - points, "booking {id}");
        if state != "CONFIRMED" {
            assert!(!charged.contains_key(id), "cancelled booking {id} charged");
            continue;
        }
        assert_eq!(charged.get(id), Some(paid), "booking {id}'s payment");
        if let Some(coupon) = coupon {
            assert!(*discount > 0, "booking {id} used a coupon for nothing");
            *coupons_used.entry(coupon.clone()).or_default() += 1;
        }
        *points_spent.entry(user.clone()).or_default() += points;
    }

    // Coupons: each paid for one booking at most, and is redeemed exactly
    // when it did; the others are back in their owner's box.
    let coupon_db = database(&deployment, "coupon").await;
    for guest in &guests {
        let used = coupons_used.get(&guest.coupon).copied().unwrap_or(0);
        assert!(
            used <= 1,
            "coupon {} paid for {used} bookings",
            guest.coupon
        );
        let state: String = sqlx::query_scalar("SELECT state FROM user_coupon WHERE id = $1::uuid")
            .bind(&guest.coupon)
            .fetch_one(&coupon_db)
            .await
            .unwrap();
        let expected = if used == 1 { "REDEEMED" } else { "AVAILABLE" };
        assert_eq!(state, expected, "coupon {}", guest.coupon);
    }

    // Points: never below zero, nothing left reserved, and the balance is
    // what was granted less what confirmed bookings spent.
    for guest in &guests {
        let points = balance(&edge, &guest.token).await;
        let spent = points_spent.get(&guest.id).copied().unwrap_or(0);
        assert!(spent <= POINTS_GRANTED, "{} spent {spent}", guest.id);
        assert_eq!(
            (points["balance"].clone(), points["reserved"].clone()),
            (json!((POINTS_GRANTED - spent).to_string()), json!("0")),
            "{}",
            guest.id
        );
    }

    // Nights: sold as many as confirmed, none overbooked, none left held.
    let accommodation = database(&deployment, "accommodation").await;
    let nights: Vec<(i32, i32, i32)> = sqlx::query_as(
        "SELECT total, held, sold FROM night WHERE room_type_id = $1::uuid \
         AND night >= $2 AND night < $3 ORDER BY night",
    )
    .bind(&room)
    .bind(in_days(15))
    .bind(in_days(17))
    .fetch_all(&accommodation)
    .await
    .unwrap();
    let sold = i32::try_from(confirmed.len()).unwrap();
    assert_eq!(nights, vec![(ROOMS, 0, sold), (ROOMS, 0, sold)]);
    reconcile(&deployment).await;
    mesh.sigterm().await;
    mesh.wait().await;
    deployment.clean_up().await;
}
