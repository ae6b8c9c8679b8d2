//! A booking's reserve / commit / release: concurrency, repeats and
//! reorderings, soonest-expiry-first use and its exact cancellation, and the
//! points a completed stay earns.

use staymesh_proto::point as pb;
use tonic::Code;
use uuid::Uuid;

use crate::support::{in_days, spawn, won};

#[tokio::test]
async fn concurrent_reservations_never_overspend() {
    let app = spawn().await;
    let user = Uuid::now_v7();
    app.earn(user, 5_000, None).await;
    let attempts = (0..200).map(|_| app.reserve(Uuid::now_v7(), user, 100));
    let results = futures::future::join_all(attempts).await;
    let won = results.iter().filter(|r| r.is_ok()).count();
    let refused: Vec<_> = results.iter().filter_map(|r| r.as_ref().err()).collect();
    assert_eq!(won, 50, "exactly the balance's worth succeeds");
    assert!(
        refused.iter().all(|s| s.code() == Code::FailedPrecondition),
        "{refused:?}"
    );
    let balance = app.balance(user).await;
    assert_eq!(
        (balance.balance, balance.reserved, balance.available),
        (5_000, 5_000, 0)
    );
    app.stop().await;
}

#[tokio::test]
async fn repeats_and_reorderings_leave_the_balance_exact() {
    let app = spawn().await;
    let user = Uuid::now_v7();
    app.earn(user, 1_000, None).await;

    // Release before reserve: a tombstone, and the late reserve is refused.
    let early = Uuid::now_v7();
    let tombstone = app.release(early).await.unwrap();
    assert_eq!(tombstone.state(), pb::ReservationState::Released);
    assert_eq!(
        app.release(early).await.unwrap().state(),
        pb::ReservationState::Released
    );
    let late = app.reserve(early, user, 100).await.unwrap_err();
    assert_eq!(late.code(), Code::FailedPrecondition, "{late:?}");
    assert_eq!(
        app.commit(early).await.unwrap_err().code(),
        Code::FailedPrecondition
    );

    // Reserve twice, commit twice, release twice.
    let booking = Uuid::now_v7();
    let first = app.reserve(booking, user, 300).await.unwrap();
    let again = app.reserve(booking, user, 300).await.unwrap();
    assert_eq!(
        (first.amount, again.state()),
        (300, pb::ReservationState::Reserved)
    );
    let other = app.reserve(booking, user, 400).await.unwrap_err();
    assert_eq!(
        other.code(),
        Code::FailedPrecondition,
        "another amount under the same booking"
    );
    assert_eq!(app.balance(user).await.available, 700);
    assert_eq!(
        app.commit(booking).await.unwrap().state(),
        pb::ReservationState::Committed
    );
    assert_eq!(
        app.commit(booking).await.unwrap().state(),
        pb::ReservationState::Committed
    );
    let spent = app.balance(user).await;
    assert_eq!((spent.balance, spent.reserved), (700, 0));
    assert_eq!(
        app.release(booking).await.unwrap().state(),
        pb::ReservationState::Released
    );
    assert_eq!(
        app.release(booking).await.unwrap().state(),
        pb::ReservationState::Released
    );
    let back = app.balance(user).await;
    assert_eq!((back.balance, back.reserved), (1_000, 0));
    assert_eq!(
        app.commit(booking).await.unwrap_err().code(),
        Code::FailedPrecondition
    );
    let kinds: Vec<i32> = app
        .history(user, pb::EntryType::Unspecified)
        .await
        .iter()
        .map(|e| e.r#type)
        .collect();
    let expected = [
        pb::EntryType::UseCancelled,
        pb::EntryType::Use,
        pb::EntryType::Earn,
    ];
    assert_eq!(
        kinds,
        expected.map(|k| k as i32),
        "one USE and one USE_CANCELLED"
    );

    // Released while still reserved: nothing was spent, no entry.
    let unspent = Uuid::now_v7();
    app.reserve(unspent, user, 200).await.unwrap();
    app.release(unspent).await.unwrap();
    assert_eq!(app.history(user, pb::EntryType::Unspecified).await.len(), 3);
    assert_eq!(
        app.commit(Uuid::now_v7()).await.unwrap_err().code(),
        Code::NotFound
    );
    app.stop().await;
}

#[tokio::test]
async fn steps_racing_on_the_same_bookings_keep_the_invariants() {
    let app = spawn().await;
    let user = Uuid::now_v7();
    app.earn(user, 3_000, Some(in_days(5))).await;
    app.earn(user, 3_000, None).await;
    let bookings: Vec<Uuid> = (0..40).map(|_| Uuid::now_v7()).collect();
    // Every step of every booking twice, all at once, in no order.
    let steps = bookings.iter().flat_map(|b| {
        let b = *b;
        let app = &app;
        (0..2).flat_map(move |_| {
            [
                Box::pin(async move { app.reserve(b, user, 100).await.map(|_| ()) })
                    as std::pin::Pin<Box<dyn std::future::Future<Output = _>>>,
                Box::pin(async move { app.commit(b).await.map(|_| ()) }),
                Box::pin(async move { app.release(b).await.map(|_| ()) }),
            ]
        })
    });
    for result in futures::future::join_all(steps).await {
        if let Err(status) = result {
            assert!(
                matches!(status.code(), Code::FailedPrecondition | Code::NotFound),
                "{status:?}"
            );
        }
    }
    // Every booking was released at least once: nothing stays spent or set aside.
    let balance = app.balance(user).await;
    assert_eq!((balance.balance, balance.reserved), (6_000, 0));
    app.stop().await;
}

#[tokio::test]
async fn a_use_takes_the_soonest_expiring_lots_and_its_cancellation_restores_them() {
    let app = spawn().await;
    let user = Uuid::now_v7();
    let later = app.earn(user, 1_000, Some(in_days(60))).await;
    let soonest = app.earn(user, 1_000, Some(in_days(10))).await;
    let last = app.earn(user, 1_000, Some(in_days(365))).await;
    let booking = Uuid::now_v7();
    app.reserve(booking, user, 2_500).await.unwrap();
    app.commit(booking).await.unwrap();
    let remaining = |entry: &pb::LedgerEntry| {
        let id = Uuid::parse_str(&entry.entry_id).unwrap();
        let pool = app.pool.clone();
        async move {
            sqlx::query_scalar::<_, i64>("SELECT remaining FROM point_lot WHERE entry_id = $1")
                .bind(id)
                .fetch_one(&pool)
                .await
                .unwrap()
        }
    };
    assert_eq!(
        (
            remaining(&soonest).await,
            remaining(&later).await,
            remaining(&last).await
        ),
        (0, 0, 500),
        "soonest expiry first"
    );
    app.release(booking).await.unwrap();
    assert_eq!(
        (
            remaining(&soonest).await,
            remaining(&later).await,
            remaining(&last).await
        ),
        (1_000, 1_000, 1_000),
        "the cancellation gives each lot back what the use took"
    );
    assert_eq!(app.balance(user).await.balance, 3_000);
    app.stop().await;
}

#[tokio::test]
async fn points_given_back_to_an_expired_lot_expire_at_once() {
    let app = spawn().await;
    let user = Uuid::now_v7();
    app.earn(user, 1_000, Some(in_days(3))).await;
    app.earn(user, 1_000, None).await;
    let booking = Uuid::now_v7();
    app.reserve(booking, user, 1_500).await.unwrap();
    app.commit(booking).await.unwrap();
    app.age_lots(user, in_days(5)).await;
    app.release(booking).await.unwrap();

    let history = app.history(user, pb::EntryType::Unspecified).await;
    let expire = &history[0];
    assert_eq!(expire.r#type, pb::EntryType::Expire as i32);
    assert_eq!((expire.amount, expire.balance_after), (-1_000, 1_000));
    assert_eq!(
        expire.booking_id,
        booking.to_string(),
        "the entry names the booking"
    );
    assert!(
        expire.description.contains("not revived"),
        "{}",
        expire.description
    );
    assert_eq!(history[1].r#type, pb::EntryType::UseCancelled as i32);
    assert_eq!(history[1].amount, 1_500);
    let balance = app.balance(user).await;
    assert_eq!((balance.balance, balance.available), (1_000, 1_000));
    app.stop().await;
}

#[tokio::test]
async fn a_completed_stay_earns_its_share_once() {
    let app = spawn().await;
    let user = Uuid::now_v7();
    let booking = Uuid::now_v7();
    let earn = || {
        let request = pb::EarnForBookingRequest {
            booking_id: booking.to_string(),
            user_id: user.to_string(),
            paid_amount: Some(won(123_456)),
        };
        let mut bookings = app.bookings.clone();
        async move {
            bookings
                .earn_for_booking(request)
                .await
                .unwrap()
                .into_inner()
                .entry
                .unwrap()
        }
    };
    let (first, second) = tokio::join!(earn(), earn());
    assert_eq!(first.amount, 1_234, "1% of 123,456 won, rounded down");
    assert_eq!(first.entry_id, second.entry_id, "once per booking");
    assert_eq!(app.balance(user).await.balance, 1_234);
    app.stop().await;
}
