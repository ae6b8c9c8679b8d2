//! Nothing a guest was told is lost and nothing is stored twice, while the
//! batch writer is killed without warning (SIGKILL) in the middle of a batch's
//! transaction, and while the broker is killed with CouponIssued messages in
//! flight (Tansu with SQLite storage keeps offsets across its restart).

use std::collections::HashSet;
use std::time::Duration;

use fred::prelude::*;
use futures::StreamExt;
use staymesh_proto::coupon as pb;

use crate::support::*;

/// Presses "claim" for each guest in `guests` twice; returns the winners.
async fn press(app: &App, event_id: &str, guests: std::ops::Range<usize>) -> HashSet<String> {
    let presses: Vec<usize> = guests.clone().chain(guests).collect();
    let answers: Vec<(usize, i32)> = futures::stream::iter(presses)
        .map(|n| async move {
            let answer = app
                .claim(event_id, &guest(n))
                .await
                .expect("claim answered");
            (n, answer.result)
        })
        .buffer_unordered(64)
        .collect()
        .await;
    answers
        .into_iter()
        .filter(|(_, result)| *result == pb::ClaimResult::Claimed as i32)
        .map(|(n, _)| user_of(&guest(n)).to_owned())
        .collect()
}

async fn stored_users(app: &App, event_id: &str) -> HashSet<String> {
    let users: Vec<String> =
        sqlx::query_scalar("SELECT user_id FROM user_coupon WHERE event_id = $1::uuid")
            .bind(event_id)
            .fetch_all(&app.pool)
            .await
            .expect("users");
    users.into_iter().collect()
}

/// How many backends of the test's database wait on a lock while storing a
/// batch (the writer's statement starts `WITH inserted AS`), and their pids.
async fn blocked_batches(app: &App) -> Vec<i32> {
    sqlx::query_scalar(
        "SELECT pid FROM pg_stat_activity WHERE datname = current_database() \
           AND wait_event_type = 'Lock' AND query LIKE 'WITH inserted AS%'",
    )
    .fetch_all(&app.pool)
    .await
    .expect("pg_stat_activity")
}

async fn backend_alive(app: &App, pid: i32) -> bool {
    sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM pg_stat_activity WHERE pid = $1)")
        .bind(pid)
        .fetch_one(&app.pool)
        .await
        .expect("pg_stat_activity")
}

async fn claimed_in_redis(app: &App, event_id: &str) -> i64 {
    app.redis
        .hlen(app.claimed_key(event_id))
        .await
        .expect("hlen")
}

#[tokio::test]
async fn a_killed_writer_and_a_killed_broker_lose_and_double_nothing() {
    let mut broker = Broker::start().await;
    let brokers = broker.address();
    // This process answers claims; the batch writer runs as a process of its
    // own (`staymesh coupon`), so it can be SIGKILLed. Neither reconciles:
    // what reaches Postgres comes through the writer or the direct write.
    let app = spawn_with(move |s| {
        s.infra.kafka_brokers = brokers;
        s.run_consumer = false;
        s.coupon.coupon_publish_timeout = Duration::from_millis(1_500);
        s.coupon.coupon_reconcile_every = Duration::from_secs(3_600);
    })
    .await;
    let mut app = app;
    let event = app.open_event(1_000).await;
    let id = event.event_id.clone();
    let mut winners = HashSet::new();

    // 1. Claims stream in; the writer is killed while a batch waits in its
    // transaction (a lock the test holds on the event row keeps it there).
    let mut writer = app.writer_process(&broker).await;
    let claiming = press(&app, &id, 0..400);
    let kill = async {
        eventually(
            Duration::from_secs(60),
            "the writer's first batches",
            || async { app.stored(&id).await >= 100 },
        )
        .await;
        let mut lock = app.pool.begin().await.expect("begin");
        sqlx::query("SELECT 1 FROM issuance_event WHERE id = $1::uuid FOR UPDATE")
            .bind(&id)
            .execute(&mut *lock)
            .await
            .expect("lock the event row");
        eventually(
            Duration::from_secs(60),
            "a batch blocked in its transaction",
            || async { !blocked_batches(&app).await.is_empty() },
        )
        .await;
        let blocked = blocked_batches(&app).await;
        let stored_at_kill = app.stored(&id).await;
        writer.sigkill().await;
        lock.rollback().await.expect("release the lock");
        // Postgres rolls the dead writer's transaction back once its
        // statement can finish and it finds the client gone.
        for pid in blocked {
            eventually(
                Duration::from_secs(30),
                "the killed writer's backend gone",
                || async { !backend_alive(&app, pid).await },
            )
            .await;
        }
        (stored_at_kill, app.stored(&id).await)
    };
    let (won, (stored_at_kill, after_kill)) = tokio::join!(claiming, kill);
    winners.extend(won);
    assert_eq!(winners.len(), 400);
    assert!(
        (100..400).contains(&stored_at_kill),
        "the writer had stored some but not all when it died: {stored_at_kill}"
    );
    assert_eq!(
        after_kill, stored_at_kill,
        "the batch the writer died in left nothing behind"
    );
    // The replacement joins the killed writer's group; the group gives the
    // partitions over once the dead member's session (45 s) has expired.
    let mut writer = app.writer_process(&broker).await;
    app.wait_stored(&id, 400, Duration::from_secs(120)).await;
    assert_eq!(stored_users(&app, &id).await, winners);

    // 2. The broker dies while CouponIssued messages are in flight (claimed
    // in Redis, not yet stored). Claims are still answered at once; behind
    // each, the Kafka send gives up and the coupon is stored directly.
    let claiming = press(&app, &id, 400..5_000);
    let kill = async {
        eventually(
            Duration::from_secs(60),
            "claims after the restart",
            || async { claimed_in_redis(&app, &id).await >= 550 },
        )
        .await;
        let stored = app.stored(&id).await;
        let claimed = claimed_in_redis(&app, &id).await;
        broker.kill().await;
        (stored, claimed)
    };
    let (won, (stored_at_kill, claimed_at_kill)) = tokio::join!(claiming, kill);
    assert!(
        stored_at_kill < claimed_at_kill,
        "the broker died with claims in flight: {stored_at_kill} stored of {claimed_at_kill}"
    );
    winners.extend(won);
    assert_eq!(winners.len(), 1_000, "exactly the quantity was claimed");
    broker.restart().await;

    app.wait_stored(&id, 1_000, Duration::from_secs(90)).await;
    assert_eq!(
        stored_users(&app, &id).await,
        winners,
        "exactly the guests told CLAIMED"
    );
    assert_eq!(claimed_in_redis(&app, &id).await, 1_000);
    let issued: i32 = sqlx::query_scalar("SELECT issued FROM issuance_event WHERE id = $1::uuid")
        .bind(&id)
        .fetch_one(&app.pool)
        .await
        .expect("issued");
    assert_eq!(issued, 1_000);

    writer.sigterm().await;
    let _ = writer.wait().await;
    app.stop().await;
    broker.kill().await;
}
