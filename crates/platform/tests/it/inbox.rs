//! The inbox: a redelivered message changes nothing the second time.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use sqlx::PgPool;
use staymesh_platform::Shutdown;
use staymesh_platform::kafka::{Consumer, EnvelopeExt, HandlerError, Incoming, Producer, inbox};
use staymesh_proto::common::Envelope;
use tokio::sync::mpsc;
use uuid::Uuid;

use crate::support::{KAFKA_TIMEOUT, Ping, TestDb, brokers, eventually, fresh_group, fresh_topic};

#[tokio::test]
async fn try_begin_is_true_once_per_consumer_and_message() {
    let db = TestDb::new().await;
    let id = Uuid::now_v7();

    // A rolled-back first attempt does not count.
    let mut tx = db.pool.begin().await.unwrap();
    assert!(inbox::try_begin(&mut tx, "a", id).await.unwrap());
    tx.rollback().await.unwrap();

    let mut tx = db.pool.begin().await.unwrap();
    assert!(inbox::try_begin(&mut tx, "a", id).await.unwrap());
    tx.commit().await.unwrap();
    let mut tx = db.pool.begin().await.unwrap();
    assert!(!inbox::try_begin(&mut tx, "a", id).await.unwrap());
    assert!(
        inbox::try_begin(&mut tx, "b", id).await.unwrap(),
        "consumers are independent"
    );
    tx.commit().await.unwrap();
    db.drop().await;
}

#[tokio::test]
async fn the_pruner_deletes_old_entries_and_keeps_recent_ones() {
    let db = TestDb::new().await;
    let (old, recent) = (Uuid::now_v7(), Uuid::now_v7());
    let mut tx = db.pool.begin().await.unwrap();
    assert!(inbox::try_begin(&mut tx, "a", old).await.unwrap());
    assert!(inbox::try_begin(&mut tx, "a", recent).await.unwrap());
    tx.commit().await.unwrap();
    sqlx::query("UPDATE inbox SET processed_at = now() - interval '8 days' WHERE message_id = $1")
        .bind(old)
        .execute(&db.pool)
        .await
        .unwrap();

    let shutdown = Shutdown::new();
    let pruner = tokio::spawn(inbox::run_pruner(
        db.pool.clone(),
        std::time::Duration::from_millis(50),
        std::time::Duration::from_secs(7 * 86_400),
        shutdown.clone(),
    ));
    let pool = db.pool.clone();
    eventually(KAFKA_TIMEOUT, "the old entry pruned", || {
        let pool = pool.clone();
        async move {
            let left: Vec<Uuid> = sqlx::query_scalar("SELECT message_id FROM inbox")
                .fetch_all(&pool)
                .await
                .unwrap();
            left == [recent]
        }
    })
    .await;
    // The pruned id is new again to the inbox; the recent one is still a duplicate.
    let mut tx = db.pool.begin().await.unwrap();
    assert!(!inbox::try_begin(&mut tx, "a", recent).await.unwrap());
    tx.rollback().await.unwrap();
    shutdown.trigger();
    pruner.await.unwrap();
    db.drop().await;
}

/// Applies a message: bumps the counter once per new message id, in the same
/// transaction as the inbox entry.
async fn apply(pool: &PgPool, consumer: &str, incoming: &Incoming) -> Result<(), HandlerError> {
    let mut tx = pool.begin().await?;
    if inbox::try_begin(&mut tx, consumer, incoming.message_id()?).await? {
        sqlx::query("UPDATE counter SET n = n + 1 WHERE id = 1")
            .execute(&mut *tx)
            .await?;
    }
    tx.commit().await?;
    Ok(())
}

/// The first consumer applies the message and dies before committing its
/// offset; the message is also produced a second time. The next consumer of
/// the group sees it twice more, and the counter still says 1.
#[tokio::test]
async fn a_redelivered_message_is_applied_once() {
    let db = TestDb::new().await;
    sqlx::query("CREATE TABLE counter (id int PRIMARY KEY, n int NOT NULL)")
        .execute(&db.pool)
        .await
        .unwrap();
    sqlx::query("INSERT INTO counter VALUES (1, 0)")
        .execute(&db.pool)
        .await
        .unwrap();
    let topic = fresh_topic("inbox", 1).await;
    let group = fresh_group("inbox");
    let producer = Producer::new(&brokers()).unwrap();
    let envelope = Envelope::wrap(
        "booking-1",
        &Ping {
            text: "reserve".into(),
        },
    );
    producer.send_envelope(&topic, &envelope).await.unwrap();

    // The first consumer applies the effect, then hangs before returning, so
    // its offset is never committed; the test then kills it.
    let (applied_tx, mut applied_rx) = mpsc::unbounded_channel();
    let first = Consumer::new(&brokers(), &group, &[&topic]).unwrap();
    let crashing = tokio::spawn({
        let pool = db.pool.clone();
        let group = group.clone();
        async move {
            first
                .run(
                    |incoming: Incoming| {
                        let (pool, group, applied_tx) =
                            (pool.clone(), group.clone(), applied_tx.clone());
                        async move {
                            apply(&pool, &group, &incoming).await?;
                            let _ = applied_tx.send(());
                            std::future::pending::<()>().await;
                            Ok(())
                        }
                    },
                    &Shutdown::new(),
                )
                .await;
        }
    });
    tokio::time::timeout(KAFKA_TIMEOUT, applied_rx.recv())
        .await
        .expect("first consumer applied the message");
    crashing.abort();
    assert!(crashing.await.unwrap_err().is_cancelled());

    producer.send_envelope(&topic, &envelope).await.unwrap();
    let calls = Arc::new(AtomicUsize::new(0));
    let shutdown = Shutdown::new();
    let second = Consumer::new(&brokers(), &group, &[&topic]).unwrap();
    let consuming = tokio::spawn({
        let (pool, group, calls, shutdown) = (
            db.pool.clone(),
            group.clone(),
            calls.clone(),
            shutdown.clone(),
        );
        async move {
            second
                .run(
                    |incoming: Incoming| {
                        let (pool, group, calls) = (pool.clone(), group.clone(), calls.clone());
                        async move {
                            apply(&pool, &group, &incoming).await?;
                            calls.fetch_add(1, Ordering::SeqCst);
                            Ok(())
                        }
                    },
                    &shutdown,
                )
                .await;
        }
    });
    eventually(
        KAFKA_TIMEOUT,
        "both deliveries to the second consumer",
        || async { calls.load(Ordering::SeqCst) == 2 },
    )
    .await;

    let n: i32 = sqlx::query_scalar("SELECT n FROM counter WHERE id = 1")
        .fetch_one(&db.pool)
        .await
        .unwrap();
    assert_eq!(n, 1, "three deliveries, one effect");
    shutdown.trigger();
    consuming.await.unwrap();
    db.drop().await;
}
