//! Earn, Adjust, the balance and the history: lots, idempotency, bad input,
//! and a history cache that shows every write at once.

use staymesh_proto::point as pb;
use tonic::Code;
use uuid::Uuid;

use crate::support::{ADMIN, UNKNOWN_USER, authed, guest, in_days, spawn, violated_fields};

fn earn_request(user: Uuid, amount: i64, key: &str) -> pb::EarnRequest {
    pb::EarnRequest {
        user_id: user.to_string(),
        amount,
        reason: "promotion".into(),
        expires_at: None,
        idempotency_key: key.into(),
    }
}

fn adjust_request(user: Uuid, amount: i64, key: &str) -> pb::AdjustRequest {
    pb::AdjustRequest {
        user_id: user.to_string(),
        amount,
        reason: "correction".into(),
        expires_at: None,
        idempotency_key: key.into(),
    }
}

#[tokio::test]
async fn lots_make_the_balance_and_the_history_explains_it() {
    let app = spawn().await;
    let user = Uuid::now_v7();
    app.earn(user, 5_000, Some(in_days(10))).await;
    app.earn(user, 3_000, Some(in_days(60))).await;
    app.earn(user, 2_000, None).await;

    let balance = app.balance(user).await;
    assert_eq!(
        (balance.balance, balance.reserved, balance.available),
        (10_000, 0, 10_000)
    );
    assert_eq!(
        balance.expiring_soon, 5_000,
        "only the 10-day lot expires within 30 days"
    );
    let next = balance.next_expiry_at.expect("next expiry").seconds;
    assert!(
        (next - in_days(10).timestamp()).abs() < 60,
        "the next expiry is the 10-day lot's"
    );

    let history = app.history(user, pb::EntryType::Unspecified).await;
    let seen: Vec<(i64, i64)> = history
        .iter()
        .map(|e| (e.amount, e.balance_after))
        .collect();
    assert_eq!(
        seen,
        [(2_000, 10_000), (3_000, 8_000), (5_000, 5_000)],
        "newest first"
    );
    let default_expiry = history[0].expires_at.as_ref().expect("expiry").seconds;
    assert!(
        (default_expiry - in_days(365).timestamp()).abs() < 60,
        "a lot lives a year by default"
    );

    // An Adjust down consumes lots soonest expiry first.
    let adjusted = app
        .api
        .clone()
        .adjust(authed(adjust_request(user, -6_000, "a1"), ADMIN))
        .await
        .unwrap()
        .into_inner()
        .entry
        .unwrap();
    assert_eq!((adjusted.amount, adjusted.balance_after), (-6_000, 4_000));
    let remaining: Vec<i64> = sqlx::query_scalar(
        "SELECT remaining FROM point_lot WHERE user_id = $1 ORDER BY expires_at",
    )
    .bind(user)
    .fetch_all(&app.pool)
    .await
    .unwrap();
    assert_eq!(remaining, [0, 2_000, 2_000]);
    let adjusts = app.history(user, pb::EntryType::Adjust).await;
    assert_eq!(adjusts.len(), 1, "the type filter shows only adjustments");
    app.stop().await;
}

#[tokio::test]
async fn earn_and_adjust_are_idempotent_per_key() {
    let app = spawn().await;
    let user = Uuid::now_v7();
    let mut api = app.api.clone();
    let first = api
        .earn(authed(earn_request(user, 700, "k1"), ADMIN))
        .await
        .unwrap()
        .into_inner();
    let again = api
        .earn(authed(earn_request(user, 700, "k1"), ADMIN))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(first.entry.unwrap().entry_id, again.entry.unwrap().entry_id);
    let other = api
        .earn(authed(earn_request(user, 800, "k1"), ADMIN))
        .await
        .unwrap_err();
    assert_eq!(other.code(), Code::AlreadyExists, "{other:?}");

    // The same key raced from many callers still earns once.
    let races = (0..20).map(|_| {
        let mut api = app.api.clone();
        async move { api.earn(authed(earn_request(user, 50, "k2"), ADMIN)).await }
    });
    let ids: std::collections::HashSet<String> = futures::future::join_all(races)
        .await
        .into_iter()
        .map(|r| r.unwrap().into_inner().entry.unwrap().entry_id)
        .collect();
    assert_eq!(ids.len(), 1, "one entry for one key");

    let down = || adjust_request(user, -100, "k3");
    api.adjust(authed(down(), ADMIN)).await.unwrap();
    api.adjust(authed(down(), ADMIN)).await.unwrap();
    assert_eq!(app.balance(user).await.balance, 700 + 50 - 100);
    app.stop().await;
}

#[tokio::test]
async fn an_adjust_down_never_takes_the_balance_below_zero() {
    let app = spawn().await;
    let user = Uuid::now_v7();
    app.earn(user, 1_000, None).await;
    let short = app
        .api
        .clone()
        .adjust(authed(adjust_request(user, -1_500, "short"), ADMIN))
        .await
        .unwrap_err();
    assert_eq!(short.code(), Code::FailedPrecondition, "{short:?}");
    assert!(
        short.message().contains("500 short of 1500"),
        "{}",
        short.message()
    );
    assert_eq!(app.balance(user).await.balance, 1_000);
    // Reserved points are not available to an adjustment either.
    app.reserve(Uuid::now_v7(), user, 600).await.unwrap();
    let held = app
        .api
        .clone()
        .adjust(authed(adjust_request(user, -500, "held"), ADMIN))
        .await
        .unwrap_err();
    assert_eq!(held.code(), Code::FailedPrecondition, "{held:?}");
    app.stop().await;
}

#[tokio::test]
async fn bad_input_names_the_field() {
    let app = spawn().await;
    let user = Uuid::now_v7();
    let mut api = app.api.clone();
    let cases: Vec<(pb::EarnRequest, &str)> = vec![
        (earn_request(user, 0, "z"), "amount"),
        (earn_request(user, -5, "z"), "amount"),
        (
            pb::EarnRequest {
                user_id: "nope".into(),
                ..earn_request(user, 5, "z")
            },
            "user_id",
        ),
        (earn_request(UNKNOWN_USER, 5, "z"), "user_id"),
        (
            pb::EarnRequest {
                reason: "x".repeat(201),
                ..earn_request(user, 5, "z")
            },
            "reason",
        ),
        (earn_request(user, 5, ""), "idempotency_key"),
        (
            pb::EarnRequest {
                expires_at: Some(staymesh_platform::convert::timestamp(in_days(-1))),
                ..earn_request(user, 5, "z")
            },
            "expires_at",
        ),
    ];
    for (request, field) in cases {
        let status = api.earn(authed(request, ADMIN)).await.unwrap_err();
        assert_eq!(status.code(), Code::InvalidArgument, "{field}: {status:?}");
        assert!(
            violated_fields(&status).contains(&field.to_owned()),
            "{field}: {status:?}"
        );
    }
    let zero = api
        .adjust(authed(adjust_request(user, 0, "z"), ADMIN))
        .await
        .unwrap_err();
    assert_eq!(violated_fields(&zero), ["amount"], "{zero:?}");

    let page = pb::ListHistoryRequest {
        page_size: 101,
        ..Default::default()
    };
    let status = api
        .list_history(authed(page, &guest(user)))
        .await
        .unwrap_err();
    assert_eq!(violated_fields(&status), ["page_size"], "{status:?}");
    let token = pb::ListHistoryRequest {
        page_token: "garbage".into(),
        ..Default::default()
    };
    let status = api
        .list_history(authed(token, &guest(user)))
        .await
        .unwrap_err();
    assert_eq!(violated_fields(&status), ["page_token"], "{status:?}");

    let reserve = app.reserve(Uuid::now_v7(), user, 0).await.unwrap_err();
    assert_eq!(violated_fields(&reserve), ["amount"], "{reserve:?}");
    let mut bookings = app.bookings.clone();
    let malformed = bookings.commit_points(pb::CommitPointsRequest {
        booking_id: "x".into(),
    });
    assert_eq!(
        violated_fields(&malformed.await.unwrap_err()),
        ["booking_id"]
    );

    // Only admins earn and adjust; nothing was written by any of this.
    let guest_earn = api
        .earn(authed(earn_request(user, 5, "g"), &guest(user)))
        .await
        .unwrap_err();
    assert_eq!(guest_earn.code(), Code::PermissionDenied);
    assert_eq!(app.balance(user).await.balance, 0);
    app.stop().await;
}

#[tokio::test]
async fn the_history_cache_shows_every_write_at_once() {
    let app = spawn().await;
    let user = Uuid::now_v7();
    let first_page = |kind: pb::EntryType| {
        let mut api = app.api.clone();
        async move {
            let request = pb::ListHistoryRequest {
                r#type: kind as i32,
                page_size: 5,
                page_token: String::new(),
            };
            api.list_history(authed(request, &guest(user)))
                .await
                .unwrap()
                .into_inner()
                .entries
        }
    };
    // Readers hammer the first page (filling the cache) while writes land;
    // after each write returns, the very next read shows it.
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let readers: Vec<_> = (0..4)
        .map(|_| {
            let (stop, api) = (stop.clone(), app.api.clone());
            tokio::spawn(async move {
                while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                    let request = pb::ListHistoryRequest::default();
                    api.clone()
                        .list_history(authed(request, &guest(user)))
                        .await
                        .unwrap();
                }
            })
        })
        .collect();
    for n in 1..=30_i64 {
        let entry = if n % 3 == 0 {
            let request = adjust_request(user, -1, &format!("adj{n}"));
            app.api
                .clone()
                .adjust(authed(request, ADMIN))
                .await
                .unwrap()
                .into_inner()
                .entry
                .unwrap()
        } else {
            app.earn(user, n * 10, None).await
        };
        let all = first_page(pb::EntryType::Unspecified).await;
        assert_eq!(
            all[0].entry_id, entry.entry_id,
            "write {n} shows on the next read"
        );
        let kind = if n % 3 == 0 {
            pb::EntryType::Adjust
        } else {
            pb::EntryType::Earn
        };
        assert_eq!(
            first_page(kind).await[0].entry_id,
            entry.entry_id,
            "write {n} in its filter"
        );
        let reservation = Uuid::now_v7();
        app.reserve(reservation, user, 1).await.unwrap();
        app.commit(reservation).await.unwrap();
        let used = first_page(pb::EntryType::Use).await;
        assert_eq!(
            used[0].booking_id,
            reservation.to_string(),
            "the use of write {n} shows"
        );
    }
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    for reader in readers {
        reader.await.unwrap();
    }
    app.stop().await;
}
