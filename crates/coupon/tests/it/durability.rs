//! Nothing a guest was told is lost and nothing is stored twice, while the
//! batch writer is stopped and restarted mid-stream and the broker itself is
//! killed and restarted (Tansu with SQLite storage keeps offsets).

use std::collections::HashSet;
use std::time::Duration;

use fred::prelude::*;
use futures::StreamExt;
use staymesh_platform::Shutdown;
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

fn start_writer(app: &App) -> (Shutdown, tokio::task::JoinHandle<()>) {
    let shutdown = Shutdown::new();
    let settings = app.settings.clone();
    let stop = shutdown.clone();
    let task = tokio::spawn(async move {
        staymesh_coupon::run_consumer(settings, stop)
            .await
            .expect("writer ran");
    });
    (shutdown, task)
}

#[tokio::test]
async fn writer_and_broker_restarts_lose_and_double_nothing() {
    let mut broker = Broker::start().await;
    let brokers = broker.address();
    let mut app = spawn_with(move |s| {
        s.infra.kafka_brokers = brokers;
        s.run_consumer = false;
        s.coupon.coupon_publish_timeout = Duration::from_millis(1_500);
    })
    .await;
    let event = app.open_event(1_000).await;
    let id = event.event_id.clone();
    let mut winners = HashSet::new();

    // 1. Claims stream in; the writer is stopped mid-stream and restarted.
    let (stop, writer) = start_writer(&app);
    let claiming = press(&app, &id, 0..400);
    let interrupt = async {
        eventually(
            Duration::from_secs(60),
            "the writer's first coupons",
            || async { app.stored(&id).await >= 50 },
        )
        .await;
        stop.trigger();
        writer.await.expect("writer stopped");
        app.stored(&id).await
    };
    let (won, stored_at_stop) = tokio::join!(claiming, interrupt);
    winners.extend(won);
    assert_eq!(winners.len(), 400);
    let after_stop = app.stored(&id).await;
    assert!(after_stop <= 400);
    println!("writer stopped at {stored_at_stop} stored; {after_stop} after the claims");
    let (stop, writer) = start_writer(&app);
    app.wait_stored(&id, 400, Duration::from_secs(60)).await;

    // 2. The broker dies. Claims are still answered at once; behind each,
    // the Kafka send gives up and the coupon is stored directly, so the
    // coupons reach the box while the broker is still down.
    broker.kill().await;
    let during_outage = press(&app, &id, 400..700).await;
    assert_eq!(during_outage.len(), 300);
    eventually(
        Duration::from_secs(30),
        "claims made while the broker was down stored without it",
        || async { during_outage.is_subset(&stored_users(&app, &id).await) },
    )
    .await;
    winners.extend(during_outage);

    // 3. The broker comes back with its data; claims sell the rest out.
    broker.restart().await;
    winners.extend(press(&app, &id, 700..5_000).await);
    assert_eq!(winners.len(), 1_000, "exactly the quantity was claimed");

    app.wait_stored(&id, 1_000, Duration::from_secs(90)).await;
    assert_eq!(
        stored_users(&app, &id).await,
        winners,
        "exactly the winners, once each"
    );
    let in_redis: i64 = app.redis.hlen(app.claimed_key(&id)).await.expect("hlen");
    assert_eq!(in_redis, 1_000);
    let issued: i32 = sqlx::query_scalar("SELECT issued FROM issuance_event WHERE id = $1::uuid")
        .bind(&id)
        .fetch_one(&app.pool)
        .await
        .expect("issued");
    assert_eq!(issued, 1_000);

    stop.trigger();
    writer.await.expect("writer stopped");
    app.stop().await;
    broker.kill().await;
}
