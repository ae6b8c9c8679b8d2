use std::collections::HashSet;

use futures::future::join_all;
use staymesh_proto::accommodation as pb;

use crate::support::*;

fn hold_request(
    room_type_id: &str,
    start: chrono::NaiveDate,
    nights: i64,
    booking_id: &str,
) -> pb::HoldNightsRequest {
    pb::HoldNightsRequest {
        booking_id: booking_id.into(),
        room_type_id: room_type_id.into(),
        check_in: Some(date(start)),
        check_out: Some(date(start + chrono::Duration::days(nights))),
        rooms: 1,
    }
}

/// The invariant under a stampede: 200 guests, 5 rooms, exactly 5 holds.
#[tokio::test]
async fn two_hundred_concurrent_holds_on_five_rooms_hold_exactly_five() {
    let mut app = spawn().await;
    let property = app.listing("제주 선셋 풀빌라", "제주", "노을 맛집").await;
    let room = app.room_type(&property.property_id, 5, 2).await;
    let start = future(30);
    app.set_calendar(&room.room_type_id, start, 3, 200_000, 5)
        .await
        .expect("set");

    let attempts = (0..200).map(|_| {
        let mut client = app.inventory.clone();
        let request = hold_request(
            &room.room_type_id,
            start,
            3,
            &uuid::Uuid::now_v7().to_string(),
        );
        tokio::spawn(async move { client.hold_nights(request).await })
    });
    let results: Vec<_> = join_all(attempts)
        .await
        .into_iter()
        .map(|r| r.expect("task"))
        .collect();
    let held = results.iter().filter(|r| r.is_ok()).count();
    let refused: Vec<_> = results.iter().filter_map(|r| r.as_ref().err()).collect();
    assert_eq!(held, 5, "exactly the five free rooms are held");
    assert_eq!(refused.len(), 195);
    assert!(
        refused
            .iter()
            .all(|s| s.code() == tonic::Code::FailedPrecondition),
        "every other attempt is FAILED_PRECONDITION: {:?}",
        refused.iter().map(|s| s.code()).collect::<HashSet<_>>()
    );
    let nights = app.calendar(&room.room_type_id, start, 3).await;
    assert!(
        nights.iter().all(|n| n.held == 5 && n.available == 0),
        "{nights:?}"
    );

    // The database agrees: held + sold <= total everywhere.
    let over: i64 = sqlx::query_scalar("SELECT count(*) FROM night WHERE held + sold > total")
        .fetch_one(&app.pool)
        .await
        .expect("query");
    assert_eq!(over, 0);
    app.stop().await;
}

#[tokio::test]
async fn holds_are_idempotent_and_confirm_and_release_move_the_counts() {
    let mut app = spawn().await;
    let property = app
        .listing("경주 한옥스테이", "경주", "고즈넉한 한옥")
        .await;
    let room = app.room_type(&property.property_id, 3, 2).await;
    let start = future(40);
    app.set_calendar(&room.room_type_id, start, 2, 150_000, 3)
        .await
        .expect("set");
    let booking = uuid::Uuid::now_v7().to_string();

    // The same booking twice, concurrently and again: one hold.
    let (mut first, mut second) = (app.inventory.clone(), app.inventory.clone());
    let (a, b) = tokio::join!(
        first.hold_nights(hold_request(&room.room_type_id, start, 2, &booking)),
        second.hold_nights(hold_request(&room.room_type_id, start, 2, &booking)),
    );
    let (a, b) = (
        a.expect("first").into_inner(),
        b.expect("second").into_inner(),
    );
    assert_eq!(a.hold, b.hold);
    let again = app
        .inventory
        .hold_nights(hold_request(&room.room_type_id, start, 2, &booking))
        .await
        .expect("again");
    let hold = again.into_inner().hold.expect("hold");
    assert_eq!(hold.total_price.map(|m| m.amount), Some(300_000));
    assert!(
        app.calendar(&room.room_type_id, start, 2)
            .await
            .iter()
            .all(|n| n.held == 1)
    );

    // Other nights under the same booking id are refused.
    let other = app
        .inventory
        .hold_nights(hold_request(&room.room_type_id, start, 1, &booking))
        .await;
    assert_eq!(
        other.expect_err("other nights").code(),
        tonic::Code::FailedPrecondition
    );

    // Confirm twice: held moves to sold once.
    for _ in 0..2 {
        let confirmed = app
            .inventory
            .confirm_hold(pb::ConfirmHoldRequest {
                booking_id: booking.clone(),
            })
            .await;
        assert_eq!(
            confirmed
                .expect("confirm")
                .into_inner()
                .hold
                .expect("hold")
                .state,
            pb::HoldState::Confirmed as i32
        );
    }
    assert!(
        app.calendar(&room.room_type_id, start, 2)
            .await
            .iter()
            .all(|n| n.held == 0 && n.sold == 1)
    );

    // Cancellation releases the sold nights, once.
    for _ in 0..2 {
        let released = app
            .inventory
            .release_hold(pb::ReleaseHoldRequest {
                booking_id: booking.clone(),
            })
            .await;
        assert_eq!(
            released
                .expect("release")
                .into_inner()
                .hold
                .expect("hold")
                .state,
            pb::HoldState::Released as i32
        );
    }
    assert!(
        app.calendar(&room.room_type_id, start, 2)
            .await
            .iter()
            .all(|n| n.held == 0 && n.sold == 0 && n.available == 3)
    );

    // A released booking cannot be confirmed or held again.
    let confirm = app
        .inventory
        .confirm_hold(pb::ConfirmHoldRequest {
            booking_id: booking.clone(),
        })
        .await;
    assert_eq!(
        confirm.expect_err("confirm released").code(),
        tonic::Code::FailedPrecondition
    );
    let rehold = app
        .inventory
        .hold_nights(hold_request(&room.room_type_id, start, 2, &booking))
        .await;
    assert_eq!(
        rehold.expect_err("rehold").code(),
        tonic::Code::FailedPrecondition
    );
    app.stop().await;
}

/// A saga may compensate a hold whose command timed out before the hold
/// itself lands: the late hold must not leak rooms.
#[tokio::test]
async fn a_release_before_its_hold_refuses_the_late_hold() {
    let mut app = spawn().await;
    let property = app
        .listing("속초 하버 게스트하우스", "속초", "항구 앞")
        .await;
    let room = app.room_type(&property.property_id, 2, 2).await;
    let start = future(50);
    app.set_calendar(&room.room_type_id, start, 2, 50_000, 2)
        .await
        .expect("set");
    let booking = uuid::Uuid::now_v7().to_string();

    let released = app
        .inventory
        .release_hold(pb::ReleaseHoldRequest {
            booking_id: booking.clone(),
        })
        .await;
    assert_eq!(
        released
            .expect("release")
            .into_inner()
            .hold
            .expect("hold")
            .state,
        pb::HoldState::Released as i32
    );
    let late = app
        .inventory
        .hold_nights(hold_request(&room.room_type_id, start, 2, &booking))
        .await;
    assert_eq!(
        late.expect_err("late hold").code(),
        tonic::Code::FailedPrecondition
    );
    assert!(
        app.calendar(&room.room_type_id, start, 2)
            .await
            .iter()
            .all(|n| n.held == 0 && n.available == 2)
    );
    app.stop().await;
}

#[tokio::test]
async fn holds_fail_on_closed_or_missing_nights() {
    let mut app = spawn().await;
    let property = app.listing("여수 밤바다 펜션", "여수", "야경").await;
    let room = app.room_type(&property.property_id, 2, 2).await;
    let start = future(60);
    app.set_calendar(&room.room_type_id, start, 2, 80_000, 2)
        .await
        .expect("set");

    // The third night was never put on sale.
    let missing = app
        .inventory
        .hold_nights(hold_request(
            &room.room_type_id,
            start,
            3,
            &uuid::Uuid::now_v7().to_string(),
        ))
        .await;
    let missing = missing.expect_err("missing night");
    assert_eq!(missing.code(), tonic::Code::FailedPrecondition);
    assert!(
        missing
            .message()
            .contains(&(start + chrono::Duration::days(2)).to_string()),
        "{}",
        missing.message()
    );

    let close = pb::SetCalendarRequest {
        room_type_id: room.room_type_id.clone(),
        range: Some(staymesh_proto::common::DateRange {
            start: Some(date(start)),
            end: Some(date(start + chrono::Duration::days(1))),
        }),
        price: Some(won(80_000)),
        rooms_for_sale: 2,
        closed: true,
    };
    app.api
        .set_calendar(authed(close, HOST))
        .await
        .expect("close");
    let closed = app
        .inventory
        .hold_nights(hold_request(
            &room.room_type_id,
            start,
            2,
            &uuid::Uuid::now_v7().to_string(),
        ))
        .await;
    assert_eq!(
        closed.expect_err("closed night").code(),
        tonic::Code::FailedPrecondition
    );
    // Nothing was held on the open night either: all or nothing.
    let nights = app.calendar(&room.room_type_id, start, 2).await;
    assert!(nights.iter().all(|n| n.held == 0));
    app.stop().await;
}

/// The saga's commands: holds on two rooms for three bookings (one sent
/// twice), answered once each; the third is refused as a business answer.
#[tokio::test]
async fn the_saga_holds_confirms_and_releases_nights_by_command_once_each() {
    use staymesh_proto::saga::{self, SagaStep, StepOutcome, step_reply::Detail};
    use staymesh_testkit::saga::{command, send_command, wait_replies};

    let mut app = spawn().await;
    let property = app.listing("속초 바다 펜션", "속초", "바다 앞").await;
    let room = app.room_type(&property.property_id, 2, 2).await;
    let start = future(20);
    app.set_calendar(&room.room_type_id, start, 2, 90_000, 2)
        .await
        .expect("set");
    let infra = app.infra().clone();
    let bookings: Vec<uuid::Uuid> = (0..3).map(|_| uuid::Uuid::now_v7()).collect();
    let hold = |booking: &uuid::Uuid| {
        command(
            booking,
            &saga::HoldNightsCommand {
                saga_id: format!("saga-{booking}"),
                booking_id: booking.to_string(),
                room_type_id: room.room_type_id.clone(),
                check_in: Some(date(start)),
                check_out: Some(date(start + chrono::Duration::days(2))),
                rooms: 1,
            },
        )
    };
    let first = hold(&bookings[0]);
    send_command(&infra, "accommodation", &first).await;
    send_command(&infra, "accommodation", &first).await;
    for booking in &bookings[1..] {
        send_command(&infra, "accommodation", &hold(booking)).await;
    }
    let mut outcomes = Vec::new();
    for booking in &bookings {
        let replies = wait_replies(&app.pool, &infra, booking, 1).await;
        assert_eq!(replies.len(), 1, "{replies:?}");
        assert_eq!(replies[0].step(), SagaStep::HoldNights);
        outcomes.push(replies[0].clone());
    }
    let held: Vec<_> = outcomes
        .iter()
        .filter(|r| r.outcome() == StepOutcome::Succeeded)
        .collect();
    assert_eq!(held.len(), 2, "two rooms, two holds: {outcomes:?}");
    for reply in &held {
        assert_eq!(
            reply.detail,
            Some(Detail::HoldNights(saga::HoldNightsResult {
                total_price: Some(won(180_000))
            }))
        );
    }
    let refused = outcomes
        .iter()
        .find(|r| r.outcome() == StepOutcome::Failed)
        .expect("the third is refused");
    assert!(!refused.reason.is_empty());

    // Confirm one hold, release the other: the calendar follows.
    let (confirmed, released) = (&held[0].booking_id, &held[1].booking_id);
    let confirmed: uuid::Uuid = confirmed.parse().unwrap();
    let released: uuid::Uuid = released.parse().unwrap();
    let confirm = saga::ConfirmHoldCommand {
        saga_id: format!("saga-{confirmed}"),
        booking_id: confirmed.to_string(),
    };
    send_command(&infra, "accommodation", &command(&confirmed, &confirm)).await;
    let release = saga::ReleaseHoldCommand {
        saga_id: format!("saga-{released}"),
        booking_id: released.to_string(),
    };
    send_command(&infra, "accommodation", &command(&released, &release)).await;
    let replies = wait_replies(&app.pool, &infra, &confirmed, 2).await;
    assert_eq!(replies[1].step(), SagaStep::ConfirmHold);
    assert_eq!(
        replies[1].outcome(),
        StepOutcome::Succeeded,
        "{}",
        replies[1].reason
    );
    let replies = wait_replies(&app.pool, &infra, &released, 2).await;
    assert_eq!(replies[1].step(), SagaStep::ReleaseHold);
    assert_eq!(
        replies[1].outcome(),
        StepOutcome::Succeeded,
        "{}",
        replies[1].reason
    );
    let nights = app.calendar(&room.room_type_id, start, 2).await;
    assert!(
        nights
            .iter()
            .all(|n| n.sold == 1 && n.held == 0 && n.available == 1),
        "{nights:?}"
    );
    app.stop().await;
}
