//! The expiry job: every due lot expires exactly once, even with two runs at
//! once; held points wait for their booking; a read never shows due points.

use staymesh_proto::point as pb;
use uuid::Uuid;

use crate::support::{ADMIN, App, authed, in_days, spawn};

/// `users` users with `lots` due lots of 10 points each, written in SQL
/// (as many Earns would, a year ago).
async fn due_lots(app: &App, users: i64, lots: i64) {
    let mut tx = app.pool.begin().await.unwrap();
    sqlx::query(
        "CREATE TEMP TABLE due ON COMMIT DROP AS \
         SELECT u, gen_random_uuid() AS user_id FROM generate_series(1, $1) u",
    )
    .bind(users)
    .execute(&mut *tx)
    .await
    .unwrap();
    sqlx::query("INSERT INTO point_account (user_id, balance, last_seq) SELECT user_id, 10 * $1, $1 FROM due")
        .bind(lots)
        .execute(&mut *tx)
        .await
        .unwrap();
    sqlx::query(
        "INSERT INTO point_entry (id, user_id, seq, type, amount, balance_after, description, expires_at) \
         SELECT gen_random_uuid(), user_id, s, 'EARN', 10, 10 * s, 'old', now() - interval '1 minute' \
         FROM due, generate_series(1, $1) s",
    )
    .bind(lots)
    .execute(&mut *tx)
    .await
    .unwrap();
    sqlx::query(
        "INSERT INTO point_lot (id, user_id, entry_id, amount, remaining, expires_at) \
         SELECT gen_random_uuid(), user_id, id, 10, 10, expires_at FROM point_entry WHERE type = 'EARN'",
    )
    .execute(&mut *tx)
    .await
    .unwrap();
    tx.commit().await.unwrap();
}

async fn expire(app: &App) -> pb::ExpireLotsResponse {
    let request = authed(pb::ExpireLotsRequest {}, ADMIN);
    app.api
        .clone()
        .expire_lots(request)
        .await
        .unwrap()
        .into_inner()
}

#[tokio::test]
async fn two_runs_at_once_expire_each_lot_exactly_once() {
    let app = spawn().await;
    due_lots(&app, 1_000, 10).await;
    let (a, b) = tokio::join!(expire(&app), expire(&app));
    assert_eq!(a.lots_expired + b.lots_expired, 10_000, "{a:?} {b:?}");
    assert_eq!(a.points_expired + b.points_expired, 100_000);
    let per_lot: Vec<(i64, i64)> = sqlx::query_as(
        "SELECT count(e.lot_id), count(*) FILTER (WHERE l.remaining <> 0) FROM point_lot l \
         LEFT JOIN point_entry_lot e ON e.lot_id = l.id GROUP BY l.id HAVING count(e.lot_id) <> 1",
    )
    .fetch_all(&app.pool)
    .await
    .unwrap();
    assert!(
        per_lot.is_empty(),
        "lots not expired exactly once: {per_lot:?}"
    );
    let expires: i64 = sqlx::query_scalar("SELECT count(*) FROM point_entry WHERE type = 'EXPIRE'")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert_eq!(expires, 10_000, "one EXPIRE entry per lot");
    assert_eq!(
        expire(&app).await.lots_expired,
        0,
        "nothing is left for a later run"
    );
    app.stop().await;
}

/// How many EXPIRE entries exist.
async fn expire_entries(app: &App) -> i64 {
    sqlx::query_scalar("SELECT count(*) FROM point_entry WHERE type = 'EXPIRE'")
        .fetch_one(&app.pool)
        .await
        .unwrap()
}

#[tokio::test]
async fn a_run_killed_midway_is_finished_by_the_next_without_expiring_twice() {
    let app = spawn().await;
    due_lots(&app, 1_000, 10).await;
    let mut process = app.expiry_process().await;
    // Kill the job (SIGKILL) once it has expired some users' lots.
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(60);
    while expire_entries(&app).await == 0 {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the job never ran:\n{}",
            process.output()
        );
        assert!(
            process.exited().is_none(),
            "the point process died:\n{}",
            process.output()
        );
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    process.sigkill().await;
    // Postgres ends the killed process's sessions (rolling back any open
    // transaction) once it sees their sockets close.
    staymesh_testkit::eventually(
        std::time::Duration::from_secs(30),
        "the killed sessions end",
        || async {
            let busy: i64 = sqlx::query_scalar(
                "SELECT count(*) FROM pg_stat_activity \
             WHERE datname = current_database() AND pid <> pg_backend_pid() AND state <> 'idle'",
            )
            .fetch_one(&app.pool)
            .await
            .unwrap();
            busy == 0
        },
    )
    .await;
    let at_kill = expire_entries(&app).await;
    assert!(
        at_kill > 0 && at_kill < 10_000,
        "killed midway: {at_kill} of 10,000 expired"
    );
    // Whole users only: the killed transaction left nothing half-done.
    let partial: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM (SELECT user_id FROM point_lot GROUP BY user_id \
         HAVING count(*) FILTER (WHERE remaining = 0) NOT IN (0, 10)) p",
    )
    .fetch_one(&app.pool)
    .await
    .unwrap();
    assert_eq!(partial, 0, "a user's lots expired in part");

    let rest = expire(&app).await;
    assert_eq!(
        at_kill + rest.lots_expired,
        10_000,
        "the next run expires exactly the rest"
    );
    assert_eq!(expire_entries(&app).await, 10_000, "one EXPIRE per lot");
    app.stop().await;
}

#[tokio::test]
async fn held_points_wait_for_their_booking_and_reads_never_show_due_points() {
    let app = spawn().await;
    let user = Uuid::now_v7();
    app.earn(user, 1_000, Some(in_days(2))).await;
    app.earn(user, 500, None).await;
    let booking = Uuid::now_v7();
    app.reserve(booking, user, 400).await.unwrap();
    app.age_lots(user, in_days(3)).await;

    // No job has run: the read itself expires what is due (600 unheld).
    let balance = app.balance(user).await;
    assert_eq!(
        (balance.balance, balance.reserved, balance.available),
        (900, 400, 500)
    );
    assert_eq!(
        expire(&app).await.lots_expired,
        0,
        "already expired by the read"
    );
    let expired = app.history(user, pb::EntryType::Expire).await;
    assert_eq!(expired.iter().map(|e| e.amount).collect::<Vec<_>>(), [-600]);

    // The held 400 are still the booking's to spend.
    app.commit(booking).await.unwrap();
    let after = app.balance(user).await;
    assert_eq!((after.balance, after.reserved), (500, 0));
    app.stop().await;
}
