//! First come, first served: exactly the quantity, never two per guest, and
//! every "claimed" answer ends up in the guest's coupon box.

use std::collections::{HashMap, HashSet};
use std::time::Duration;

use chrono::Utc;
use fred::prelude::*;
use futures::StreamExt;
use staymesh_proto::coupon as pb;
use tonic::Code;

use crate::support::*;

#[tokio::test]
async fn ten_thousand_claims_from_five_thousand_guests_issue_exactly_a_thousand() {
    let mut app = spawn().await;
    let event = app.open_event(1_000).await;
    assert_eq!(event.state, pb::IssuanceEventState::Open as i32);

    // 5,000 guests, each pressing "claim" twice, in a shuffled order, 256 at a time.
    let mut presses: Vec<usize> = (0..5_000).chain(0..5_000).collect();
    let mut seed = 0x5eed_u64;
    for i in (1..presses.len()).rev() {
        seed = seed
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        presses.swap(i, (seed >> 33) as usize % (i + 1));
    }
    let app_ref = &app;
    let event_id = event.event_id.clone();
    let answers: Vec<(usize, pb::ClaimCouponResponse)> = futures::stream::iter(presses)
        .map(|guest_no| {
            let event_id = event_id.clone();
            async move {
                let answer = app_ref
                    .claim(&event_id, &guest(guest_no))
                    .await
                    .expect("claim answered");
                (guest_no, answer)
            }
        })
        .buffer_unordered(256)
        .collect()
        .await;

    let mut winners: HashMap<usize, String> = HashMap::new();
    let mut counts: HashMap<i32, usize> = HashMap::new();
    for (guest_no, answer) in &answers {
        *counts.entry(answer.result).or_default() += 1;
        if answer.result == pb::ClaimResult::Claimed as i32 {
            let id = answer
                .user_coupon
                .as_ref()
                .expect("coupon")
                .user_coupon_id
                .clone();
            assert!(
                winners.insert(*guest_no, id).is_none(),
                "guest {guest_no} was told CLAIMED twice"
            );
        }
    }
    assert_eq!(winners.len(), 1_000, "results: {counts:?}");
    // A winner's second press returns the same coupon.
    for (guest_no, answer) in &answers {
        if answer.result == pb::ClaimResult::AlreadyClaimed as i32 {
            let id = &answer.user_coupon.as_ref().expect("coupon").user_coupon_id;
            assert_eq!(winners.get(guest_no), Some(id), "guest {guest_no}");
        }
    }
    assert_eq!(
        counts
            .get(&(pb::ClaimResult::Claimed as i32))
            .copied()
            .unwrap_or(0)
            + counts
                .get(&(pb::ClaimResult::AlreadyClaimed as i32))
                .copied()
                .unwrap_or(0)
            + counts
                .get(&(pb::ClaimResult::SoldOut as i32))
                .copied()
                .unwrap_or(0),
        10_000,
        "every press got CLAIMED, ALREADY_CLAIMED or SOLD_OUT: {counts:?}"
    );

    // After the writer drains: Postgres holds exactly what Redis decided.
    app.wait_stored(&event.event_id, 1_000, Duration::from_secs(60))
        .await;
    let redis_count: i64 = app
        .redis
        .hlen(app.claimed_key(&event.event_id))
        .await
        .expect("hlen");
    assert_eq!(redis_count, 1_000);
    let stored_users: Vec<String> =
        sqlx::query_scalar("SELECT user_id FROM user_coupon WHERE event_id = $1::uuid")
            .bind(&event.event_id)
            .fetch_all(&app.pool)
            .await
            .expect("users");
    let stored_users: HashSet<String> = stored_users.into_iter().collect();
    assert_eq!(stored_users.len(), 1_000, "no guest twice");
    let winner_users: HashSet<String> = winners
        .keys()
        .map(|n| user_of(&guest(*n)).to_owned())
        .collect();
    assert_eq!(
        stored_users, winner_users,
        "exactly the guests told CLAIMED"
    );
    let issued: i32 = sqlx::query_scalar("SELECT issued FROM issuance_event WHERE id = $1::uuid")
        .bind(&event.event_id)
        .fetch_one(&app.pool)
        .await
        .expect("issued");
    assert_eq!(issued, 1_000);

    // A winner sees it in their coupon box with the id they were given.
    let (winner, id) = winners.iter().next().expect("a winner");
    let mine = app.my_coupons(&guest(*winner)).await;
    assert_eq!(mine.len(), 1);
    assert_eq!(&mine[0].user_coupon_id, id);
    assert_eq!(mine[0].state, pb::UserCouponState::Available as i32);

    let live = app
        .api
        .clone()
        .get_issuance_event(pb::GetIssuanceEventRequest {
            event_id: event.event_id.clone(),
        })
        .await
        .expect("event")
        .into_inner()
        .event
        .expect("event");
    assert_eq!((live.issued, live.remaining), (1_000, 0));
    assert_eq!(live.state, pb::IssuanceEventState::SoldOut as i32);
    app.stop().await;
}

#[tokio::test]
async fn a_claimed_coupon_is_in_the_box_within_a_second() {
    let mut app = spawn().await;
    let event = app.open_event(50).await;
    // The writer joins its consumer group at start-up; once one claim has
    // come through, the steady state is what guests see.
    app.claim(&event.event_id, &guest(999))
        .await
        .expect("claim");
    app.wait_stored(&event.event_id, 1, Duration::from_secs(30))
        .await;
    for n in 0..20 {
        let answer = app.claim(&event.event_id, &guest(n)).await.expect("claim");
        assert_eq!(answer.result, pb::ClaimResult::Claimed as i32);
        let token = guest(n);
        eventually(
            Duration::from_secs(1),
            "the coupon in the coupon box",
            || async { !app.my_coupons(&token).await.is_empty() },
        )
        .await;
    }
    app.stop().await;
}

#[tokio::test]
async fn claims_outside_the_window_on_closed_or_unknown_events_get_the_right_answer() {
    let mut app = spawn().await;
    let later = app
        .event_between(
            10,
            Utc::now() + chrono::Duration::hours(1),
            Utc::now() + chrono::Duration::hours(2),
        )
        .await;
    assert_eq!(later.state, pb::IssuanceEventState::Scheduled as i32);
    let before = app.claim(&later.event_id, &guest(1)).await.expect("claim");
    assert_eq!(before.result, pb::ClaimResult::NotOpen as i32);
    assert!(before.user_coupon.is_none());

    // A window that ends two seconds from now.
    let closes_at = Utc::now() + chrono::Duration::seconds(2);
    let short = app.event_between(10, Utc::now(), closes_at).await;
    let during = app.claim(&short.event_id, &guest(1)).await.expect("claim");
    assert_eq!(during.result, pb::ClaimResult::Claimed as i32);
    // The condition is the clock itself: wait until the window has ended.
    let left = (closes_at - Utc::now()).to_std().unwrap_or_default();
    tokio::time::sleep(left + Duration::from_millis(50)).await;
    let after = app.claim(&short.event_id, &guest(2)).await.expect("claim");
    assert_eq!(after.result, pb::ClaimResult::NotOpen as i32);
    // The guest who got one still sees it.
    let again = app.claim(&short.event_id, &guest(1)).await.expect("claim");
    assert_eq!(again.result, pb::ClaimResult::AlreadyClaimed as i32);

    // Closed early by the admin: no more claims; closing again is fine.
    let open = app.open_event(10).await;
    for _ in 0..2 {
        let closed = app
            .api
            .close_issuance_event(authed(
                pb::CloseIssuanceEventRequest {
                    event_id: open.event_id.clone(),
                },
                ADMIN,
            ))
            .await
            .expect("close")
            .into_inner()
            .event
            .expect("event");
        assert_eq!(closed.state, pb::IssuanceEventState::Closed as i32);
    }
    let on_closed = app.claim(&open.event_id, &guest(3)).await.expect("claim");
    assert_eq!(on_closed.result, pb::ClaimResult::NotOpen as i32);
    let by_guest = app
        .api
        .close_issuance_event(authed(
            pb::CloseIssuanceEventRequest {
                event_id: open.event_id.clone(),
            },
            &guest(3),
        ))
        .await
        .expect_err("guest");
    assert_eq!(by_guest.code(), Code::PermissionDenied);

    let malformed = app
        .claim("not-an-id", &guest(1))
        .await
        .expect_err("malformed");
    assert_eq!(malformed.code(), Code::InvalidArgument);
    assert_eq!(violated_fields(&malformed), ["event_id"]);
    let unknown = app
        .claim(&uuid::Uuid::now_v7().to_string(), &guest(1))
        .await
        .expect_err("unknown");
    assert_eq!(unknown.code(), Code::NotFound);
    let mut anonymous = app.api.clone();
    let status = anonymous
        .claim_coupon(pb::ClaimCouponRequest {
            event_id: open.event_id.clone(),
            admission_token: String::new(),
        })
        .await
        .expect_err("anonymous");
    assert_eq!(status.code(), Code::Unauthenticated);
    app.stop().await;
}

#[tokio::test]
async fn unlimited_events_still_give_one_per_guest() {
    let mut app = spawn().await;
    let event = app.open_event(0).await;
    assert!(event.unlimited);
    let app_ref = &app;
    let answers: Vec<i32> = futures::stream::iter((0..300).chain(0..300))
        .map(|n| {
            let event_id = event.event_id.clone();
            async move {
                app_ref
                    .claim(&event_id, &guest(n))
                    .await
                    .expect("claim")
                    .result
            }
        })
        .buffer_unordered(64)
        .collect()
        .await;
    let claimed = answers
        .iter()
        .filter(|r| **r == pb::ClaimResult::Claimed as i32)
        .count();
    let again = answers
        .iter()
        .filter(|r| **r == pb::ClaimResult::AlreadyClaimed as i32)
        .count();
    assert_eq!((claimed, again), (300, 300));
    app.wait_stored(&event.event_id, 300, Duration::from_secs(30))
        .await;
    app.stop().await;
}
