//! Recovery paths: reconciliation stores claims only Redis knows, and an
//! event whose Redis keys vanished (a Redis restart) is rebuilt from Postgres.

use std::time::Duration;

use fred::prelude::*;
use staymesh_proto::coupon as pb;
use tonic::Code;

use crate::support::*;

async fn reconcile(app: &App, event_id: &str, dry_run: bool) -> pb::ReconcileResponse {
    app.api
        .clone()
        .reconcile(authed(
            pb::ReconcileRequest {
                event_id: event_id.into(),
                dry_run,
            },
            ADMIN,
        ))
        .await
        .expect("reconcile")
        .into_inner()
}

#[tokio::test]
async fn reconciliation_stores_claims_only_redis_knows_and_reports_orphans() {
    let mut app = spawn().await;
    let event = app.open_event(10).await;
    let id = event.event_id.clone();
    for n in 0..3 {
        app.claim(&id, &guest(n)).await.expect("claim");
    }
    app.wait_stored(&id, 3, Duration::from_secs(30)).await;

    // Two claims the script recorded but no writer stored: the process died
    // between Redis's answer and both the Kafka send and the direct write.
    let at = chrono::Utc::now() - chrono::Duration::seconds(30);
    for n in [100, 101] {
        let value = format!("{}:{}", uuid::Uuid::now_v7(), at.timestamp_millis());
        let _: () = app
            .redis
            .hset(app.claimed_key(&id), (user_of(&guest(n)), value))
            .await
            .expect("hset");
    }
    let dry = reconcile(&app, &id, true).await;
    assert_eq!(
        (dry.redis_issued, dry.stored_issued, dry.repaired),
        (5, 3, 0)
    );
    assert_eq!(app.stored(&id).await, 3, "a dry run changes nothing");

    let repaired = reconcile(&app, &id, false).await;
    assert_eq!(
        (
            repaired.redis_issued,
            repaired.stored_issued,
            repaired.repaired
        ),
        (5, 3, 2)
    );
    assert_eq!(app.stored(&id).await, 5);
    assert_eq!(app.my_coupons(&guest(100)).await.len(), 1);
    assert_eq!(reconcile(&app, &id, false).await.repaired, 0, "idempotent");

    // A stored coupon Redis no longer knows is reported, never deleted.
    let _: i64 = app
        .redis
        .hdel(app.claimed_key(&id), user_of(&guest(0)))
        .await
        .expect("hdel");
    let report = reconcile(&app, &id, false).await;
    assert_eq!(report.orphaned_user_ids, [user_of(&guest(0))]);
    assert_eq!(app.stored(&id).await, 5);

    let guest_call = app
        .api
        .clone()
        .reconcile(authed(
            pb::ReconcileRequest {
                event_id: id.clone(),
                dry_run: true,
            },
            &guest(1),
        ))
        .await
        .expect_err("guest");
    assert_eq!(guest_call.code(), Code::PermissionDenied);
    app.stop().await;
}

#[tokio::test]
async fn an_event_lost_by_redis_is_rebuilt_from_postgres() {
    let mut app = spawn().await;
    let event = app.open_event(10).await;
    let id = event.event_id.clone();
    let mut first = Vec::new();
    for n in 0..6 {
        let answer = app.claim(&id, &guest(n)).await.expect("claim");
        first.push(answer.user_coupon.expect("coupon").user_coupon_id);
    }
    app.wait_stored(&id, 6, Duration::from_secs(30)).await;

    // What a Redis restart without persistence leaves: no keys at all.
    let _: i64 = app.redis.del(app.event_keys(&id)).await.expect("del");

    let again = app.claim(&id, &guest(0)).await.expect("claim");
    assert_eq!(again.result, pb::ClaimResult::AlreadyClaimed as i32);
    assert_eq!(again.user_coupon.expect("coupon").user_coupon_id, first[0]);
    for n in 6..10 {
        let answer = app.claim(&id, &guest(n)).await.expect("claim");
        assert_eq!(answer.result, pb::ClaimResult::Claimed as i32, "guest {n}");
    }
    let late = app.claim(&id, &guest(10)).await.expect("claim");
    assert_eq!(late.result, pb::ClaimResult::SoldOut as i32);
    app.wait_stored(&id, 10, Duration::from_secs(30)).await;
    app.stop().await;
}

#[tokio::test]
async fn the_reconciler_job_stores_claims_only_redis_knows() {
    let mut app = spawn_with(|s| {
        s.coupon.coupon_reconcile_every = Duration::from_millis(200);
        s.coupon.coupon_reconcile_grace = Duration::from_secs(1);
    })
    .await;
    let event = app.open_event(10).await;
    let id = event.event_id.clone();
    app.claim(&id, &guest(0)).await.expect("claim");
    app.wait_stored(&id, 1, Duration::from_secs(30)).await;
    // A claim whose writers all failed, recorded two seconds ago.
    let at = chrono::Utc::now() - chrono::Duration::seconds(2);
    let value = format!("{}:{}", uuid::Uuid::now_v7(), at.timestamp_millis());
    let _: () = app
        .redis
        .hset(app.claimed_key(&id), (user_of(&guest(1)), value))
        .await
        .expect("hset");
    app.wait_stored(&id, 2, Duration::from_secs(30)).await;
    assert_eq!(app.my_coupons(&guest(1)).await.len(), 1);
    app.stop().await;
}
