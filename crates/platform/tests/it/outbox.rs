//! The outbox and its relay against real Postgres and the real broker.

use std::collections::HashSet;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use sqlx::PgPool;
use staymesh_platform::Shutdown;
use staymesh_platform::kafka::{
    Consumer, Incoming, OutboxRelay, Producer, RelaySettings, inbox, outbox,
};
use uuid::Uuid;

use crate::support::{KAFKA_TIMEOUT, Ping, TestDb, brokers, eventually, fresh_group, fresh_topic};

fn quick_relay(pool: &PgPool, producer: &Producer, batch_size: u32) -> OutboxRelay {
    OutboxRelay::with_settings(
        pool.clone(),
        producer.clone(),
        RelaySettings {
            batch_size,
            poll_interval: Duration::from_millis(100),
            ..RelaySettings::default()
        },
    )
}

async fn published_count(pool: &PgPool) -> i64 {
    sqlx::query_scalar("SELECT count(*) FROM outbox WHERE published_at IS NOT NULL")
        .fetch_one(pool)
        .await
        .unwrap()
}

#[tokio::test]
async fn enqueued_rows_live_and_die_with_the_callers_transaction() {
    let db = TestDb::new().await;
    let mut tx = db.pool.begin().await.unwrap();
    let kept = outbox::enqueue(
        &mut tx,
        "staymesh.test.events",
        "k",
        &Ping { text: "a".into() },
    )
    .await
    .unwrap();
    tx.commit().await.unwrap();
    let mut tx = db.pool.begin().await.unwrap();
    outbox::enqueue(
        &mut tx,
        "staymesh.test.events",
        "k",
        &Ping { text: "b".into() },
    )
    .await
    .unwrap();
    tx.rollback().await.unwrap();

    let ids: Vec<Uuid> = sqlx::query_scalar("SELECT id FROM outbox")
        .fetch_all(&db.pool)
        .await
        .unwrap();
    assert_eq!(ids, [kept]);
    db.drop().await;
}

/// A relay that dies after publishing a batch but before marking it leaves the
/// rows unpublished; the next relay publishes them again, so every row reaches
/// Kafka at least once, and the inbox turns that into exactly once.
#[tokio::test]
async fn a_relay_restarted_mid_batch_publishes_every_row() {
    const ROWS: usize = 200;
    const BATCH: u32 = 50;
    let db = TestDb::new().await;
    let topic = fresh_topic("outbox", 3).await;
    let producer = Producer::new(&brokers()).expect("producer");

    let mut enqueued = HashSet::new();
    for chunk in 0..4 {
        let mut tx = db.pool.begin().await.unwrap();
        for i in 0..ROWS / 4 {
            let key = format!("booking-{}", i % 7);
            let ping = Ping {
                text: format!("{chunk}-{i}"),
            };
            enqueued.insert(outbox::enqueue(&mut tx, &topic, &key, &ping).await.unwrap());
        }
        tx.commit().await.unwrap();
    }

    // Consume the topic, deduping through the inbox like a real handler.
    let received: Arc<Mutex<Vec<Uuid>>> = Arc::default();
    let shutdown = Shutdown::new();
    let consumer = Consumer::new(&brokers(), &fresh_group("outbox"), &[&topic]).unwrap();
    let consuming = tokio::spawn({
        let (pool, received, shutdown) = (db.pool.clone(), received.clone(), shutdown.clone());
        async move {
            consumer
                .run(
                    |incoming: Incoming| {
                        let (pool, received) = (pool.clone(), received.clone());
                        async move {
                            let id = incoming.message_id()?;
                            received.lock().unwrap().push(id);
                            let mut tx = pool.begin().await?;
                            inbox::try_begin(&mut tx, "outbox-test", id).await?;
                            tx.commit().await?;
                            Ok(())
                        }
                    },
                    &shutdown,
                )
                .await;
        }
    });
    let distinct = || {
        received
            .lock()
            .unwrap()
            .iter()
            .copied()
            .collect::<HashSet<_>>()
            .len()
    };

    // Hold a SHARE lock: the relay may claim rows (FOR UPDATE) and publish
    // them, but its UPDATE ... published_at blocks, like a relay that crashes
    // between publishing and committing.
    let mut blocker = db.pool.begin().await.unwrap();
    sqlx::query("LOCK TABLE outbox IN SHARE MODE")
        .execute(&mut *blocker)
        .await
        .unwrap();
    let first_relay = quick_relay(&db.pool, &producer, BATCH);
    let doomed = tokio::spawn(async move { first_relay.run(&Shutdown::new()).await });
    eventually(KAFKA_TIMEOUT, "the first batch in Kafka", || async {
        distinct() >= BATCH as usize
    })
    .await;
    doomed.abort();
    assert!(doomed.await.unwrap_err().is_cancelled());
    blocker.rollback().await.unwrap();
    assert_eq!(
        published_count(&db.pool).await,
        0,
        "the crashed relay marked nothing"
    );

    let relay = quick_relay(&db.pool, &producer, BATCH);
    let relaying = tokio::spawn({
        let shutdown = shutdown.clone();
        async move { relay.run(&shutdown).await }
    });
    eventually(KAFKA_TIMEOUT, "every row in Kafka", || async {
        distinct() == ROWS
    })
    .await;
    eventually(KAFKA_TIMEOUT, "every row marked published", || async {
        published_count(&db.pool).await == ROWS as i64
    })
    .await;
    eventually(KAFKA_TIMEOUT, "the first batch delivered twice", || async {
        received.lock().unwrap().len() >= ROWS + BATCH as usize
    })
    .await;

    let seen: HashSet<Uuid> = received.lock().unwrap().iter().copied().collect();
    assert_eq!(seen, enqueued, "every row id, and nothing else");
    let applied: i64 =
        sqlx::query_scalar("SELECT count(*) FROM inbox WHERE consumer = 'outbox-test'")
            .fetch_one(&db.pool)
            .await
            .unwrap();
    assert_eq!(applied, ROWS as i64, "after the inbox, each exactly once");

    shutdown.trigger();
    relaying.await.unwrap();
    consuming.await.unwrap();
    db.drop().await;
}

#[tokio::test]
async fn pruning_deletes_only_old_published_rows() {
    let db = TestDb::new().await;
    let topic = fresh_topic("prune", 1).await;
    let producer = Producer::new(&brokers()).expect("producer");
    let mut tx = db.pool.begin().await.unwrap();
    for i in 0..3 {
        outbox::enqueue(
            &mut tx,
            &topic,
            "k",
            &Ping {
                text: i.to_string(),
            },
        )
        .await
        .unwrap();
    }
    tx.commit().await.unwrap();
    let relay = OutboxRelay::with_settings(
        db.pool.clone(),
        producer,
        RelaySettings {
            retention: Duration::ZERO,
            ..RelaySettings::default()
        },
    );
    assert_eq!(relay.publish_batch().await.unwrap(), 3);
    let mut tx = db.pool.begin().await.unwrap();
    let pending = outbox::enqueue(&mut tx, &topic, "k", &Ping::default())
        .await
        .unwrap();
    tx.commit().await.unwrap();

    assert_eq!(relay.prune().await.unwrap(), 3);
    let left: Vec<Uuid> = sqlx::query_scalar("SELECT id FROM outbox")
        .fetch_all(&db.pool)
        .await
        .unwrap();
    assert_eq!(left, [pending]);
    db.drop().await;
}
