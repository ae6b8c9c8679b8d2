//! Crash safety with every service in a process of its own: guests keep
//! booking and paying while the orchestrator, the accommodation service,
//! the payment service or the broker is killed with SIGKILL and started
//! again. Every saga still ends, exactly the rooms there are are sold, and
//! nothing stays held, reserved or charged that a booking does not explain.

use std::time::Duration;

use serde_json::{Value, json};
use staymesh_testkit::Broker;

use crate::booking_kit::*;
use crate::pods::Pods;
use crate::support::*;

const GUESTS: usize = 40;
const ROOMS: i32 = 10;

/// Short step deadlines, so commands lost with a dead process are resent
/// within the test's time.
const FAST_SAGA: &[(&str, &str)] = &[
    ("STAYMESH_SAGA_STEP_TIMEOUT", "2s"),
    ("STAYMESH_SAGA_MAX_BACKOFF", "4s"),
    ("STAYMESH_SAGA_STEP_ATTEMPTS", "20"),
    ("STAYMESH_BOOKING_PAYMENT_WINDOW", "3m"),
    ("STAYMESH_PG_SANDBOX_WEBHOOK_RETRY", "1s"),
];

/// Starts `GUESTS` guests, one every 150 ms, each booking and paying.
fn guests(edge: &str, token: &str, room: &str) -> Vec<tokio::task::JoinHandle<Value>> {
    (0..GUESTS)
        .map(|i| {
            let (edge, token, room) = (edge.to_owned(), token.to_owned(), room.to_owned());
            tokio::spawn(async move {
                tokio::time::sleep(Duration::from_millis(150 * i as u64)).await;
                book_and_pay(edge, token, room, json!({}), Approval::MayMeetAnOutage).await
            })
        })
        .collect()
}

/// Waits for every guest and checks the sale: exactly `ROOMS` confirmed,
/// everyone else sold out, both nights sold, nothing left over anywhere.
async fn settle(pods: &Pods, room: &str, guests: Vec<tokio::task::JoinHandle<Value>>) {
    let mut finished = Vec::new();
    for guest in guests {
        match guest.await {
            Ok(booking) => finished.push(booking),
            Err(failed) => panic!("{failed}: {}", unfinished(pods).await),
        }
    }
    let confirmed = finished
        .iter()
        .filter(|b| b["state"] == "BOOKING_STATE_CONFIRMED")
        .count();
    let sold_out = finished
        .iter()
        .filter(|b| b["cancelCause"] == "CANCEL_CAUSE_SOLD_OUT")
        .count();
    assert_eq!(
        (confirmed, sold_out),
        (ROOMS as usize, GUESTS - ROOMS as usize),
        "{:?}",
        finished
            .iter()
            .map(|b| (b["state"].clone(), b["cancelCause"].clone()))
            .collect::<Vec<_>>()
    );
    let states = reconcile(&pods.deployment).await;
    assert_eq!(states.get("CONFIRMED"), Some(&(ROOMS as i64)), "{states:?}");
    let accommodation = database(&pods.deployment, "accommodation").await;
    let nights: Vec<(i32, i32, i32)> = sqlx::query_as(
        "SELECT total, held, sold FROM night WHERE room_type_id = $1::uuid \
         AND night >= $2 AND night < $3 ORDER BY night",
    )
    .bind(room)
    .bind(in_days(15))
    .bind(in_days(17))
    .fetch_all(&accommodation)
    .await
    .unwrap();
    assert_eq!(nights, vec![(ROOMS, 0, ROOMS), (ROOMS, 0, ROOMS)]);
    // No saga is left unfinished or parked.
    let saga = database(&pods.deployment, "saga").await;
    let open: Vec<(String, i64)> = sqlx::query_as(
        "SELECT state, count(*) FROM saga WHERE state NOT IN ('COMPLETED', 'COMPENSATED') \
         GROUP BY state",
    )
    .fetch_all(&saga)
    .await
    .unwrap();
    assert!(open.is_empty(), "sagas not finished: {open:?}");
}

/// What the sagas that have not ended are waiting for, to explain a guest
/// who never saw the end of a booking.
async fn unfinished(pods: &Pods) -> String {
    let saga = database(&pods.deployment, "saga").await;
    let open: Vec<(String, String, String)> = sqlx::query_as(
        "SELECT booking_id::text, state, failure_reason FROM saga \
         WHERE state NOT IN ('COMPLETED', 'COMPENSATED')",
    )
    .fetch_all(&saga)
    .await
    .unwrap();
    let booking = database(&pods.deployment, "booking").await;
    let pending: Vec<(String,)> =
        sqlx::query_as("SELECT id::text FROM booking WHERE state = 'PENDING'")
            .fetch_all(&booking)
            .await
            .unwrap();
    format!("unfinished sagas {open:?}; pending bookings {pending:?}")
}

#[tokio::test]
async fn killing_the_orchestrator_and_participants_mid_sale_loses_and_doubles_nothing() {
    let mut pods = Pods::start(Deployment::new().await, FAST_SAGA).await;
    let edge = pods.deployment.edge();
    let host = login(&edge, "host@staymesh.dev", "staymesh-host-1").await;
    let guest = login(&edge, "guest@staymesh.dev", "staymesh-guest-1").await;
    let room = listing(&edge, &host, ROOMS, 70_000).await;
    let guests = guests(&edge, &guest, &room);

    for (victim, down) in [
        ("saga", Duration::from_secs(2)),
        ("accommodation", Duration::from_secs(1)),
        ("payment", Duration::from_secs(1)),
        ("saga", Duration::from_millis(200)),
    ] {
        tokio::time::sleep(Duration::from_millis(1200)).await;
        pods.kill(victim).await;
        tokio::time::sleep(down).await;
        pods.start_again(victim).await;
    }
    settle(&pods, &room, guests).await;
    pods.stop().await;
}

#[tokio::test]
async fn killing_the_broker_mid_sale_loses_and_doubles_nothing() {
    let mut broker = Broker::start().await;
    let address = broker.address();
    let mut env = FAST_SAGA.to_vec();
    env.push(("STAYMESH_KAFKA_BROKERS", &address));
    let pods = Pods::start(Deployment::new().await, &env).await;
    let edge = pods.deployment.edge();
    let host = login(&edge, "host@staymesh.dev", "staymesh-host-1").await;
    let guest = login(&edge, "guest@staymesh.dev", "staymesh-guest-1").await;
    let room = listing(&edge, &host, ROOMS, 70_000).await;
    let guests = guests(&edge, &guest, &room);

    tokio::time::sleep(Duration::from_secs(2)).await;
    broker.kill().await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    broker.restart().await;
    settle(&pods, &room, guests).await;
    pods.stop().await;
}
