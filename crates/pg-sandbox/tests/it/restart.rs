//! A restarted sandbox on the same database carries on: payments, refunds
//! and webhooks still owed are all in Postgres.

use staymesh_testkit::eventually;

use crate::receiver::Down;
use crate::support::{WAIT, drop_database, key_of, settings, start};

#[tokio::test]
async fn a_new_sandbox_on_the_same_database_sees_everything_and_delivers_what_is_owed() {
    let receiver = Down::new();
    let (infra, mut args) = settings();
    args.pg_sandbox_webhook_url = receiver.url.clone();
    args.pg_sandbox_webhook_retry = std::time::Duration::from_millis(50);
    let first = start(infra, args).await;
    let key = key_of(&first.paid(60_000).await);
    let (_, refund) = first.cancel(&key, Some(10_000), "part").await;
    // The receiver is down: both webhooks fail at least once.
    eventually(WAIT, "failed delivery attempts", || async {
        let webhooks = first.webhooks(&key).await;
        webhooks.len() == 2 && webhooks.iter().all(|w| w["attempts"].as_i64() >= Some(1))
    })
    .await;
    let before = first.payment(&key).await;
    let owed = first.webhooks(&key).await;
    assert!(owed.iter().all(|w| w["deliveredAt"].is_null()));
    let (infra, args) = first.stop().await;

    let second = start(infra, args).await;
    let after = second.payment(&key).await;
    assert_eq!(after["status"], "PARTIAL_CANCELLED");
    assert_eq!(after["cancelledAmount"], 10_000);
    assert_eq!(after["updatedAt"], before["updatedAt"]);
    assert_eq!(
        second.cancellations(&key).await,
        [refund["cancellation"].clone()]
    );

    let receiver = receiver.up(0);
    eventually(
        WAIT,
        "owed webhooks delivered by the new sandbox",
        || async {
            second
                .webhooks(&key)
                .await
                .iter()
                .all(|w| w["deliveredAt"].is_string())
        },
    )
    .await;
    let mut ids: Vec<_> = receiver.accepted().iter().map(|r| r.id()).collect();
    ids.sort();
    ids.dedup();
    let mut owed_ids: Vec<_> = owed
        .iter()
        .map(|w| w["webhookId"].as_str().unwrap().to_owned())
        .collect();
    owed_ids.sort();
    assert_eq!(ids, owed_ids);
    let (infra, _) = second.stop().await;
    drop_database(&infra).await;
}

#[tokio::test]
async fn a_bad_webhook_secret_fails_start_up_with_a_clear_error() {
    let (infra, mut args) = settings();
    args.pg_sandbox_webhook_secret = "not-a-whsec".into();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let error = staymesh_pg_sandbox::run(infra, args, listener, staymesh_platform::Shutdown::new())
        .await
        .unwrap_err();
    assert!(
        error
            .to_string()
            .contains("STAYMESH_PG_SANDBOX_WEBHOOK_SECRET"),
        "{error}"
    );
}
