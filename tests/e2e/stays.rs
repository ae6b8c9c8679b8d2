//! After the stay and after a fault: a completed stay earns its points once
//! however often its `BookingCompleted` arrives, and what the saga's
//! consumers dead-letter is listed and replayed by `staymesh saga dlq`.

use std::time::Duration;

use hyper::Method;
use serde_json::json;
use staymesh_platform::kafka::Producer;
use staymesh_proto::saga::ReservePointsCommand;
use staymesh_testkit::eventually;

use crate::booking_kit::*;
use crate::support::*;

/// How many times the point service logged earning for `booking`.
fn earn_logs(mesh: &Process, booking: &str) -> usize {
    mesh.output()
        .lines()
        .filter(|l| l.contains("points earned for a completed stay") && l.contains(booking))
        .count()
}

/// `staymesh saga dlq list` once its first line reads `wanted`.
async fn dlq_list_until(deployment: &Deployment, wanted: &str) -> String {
    let mut listed = String::new();
    for _ in 0..100 {
        listed = deployment.run(&["saga", "dlq", "list"]).await;
        if listed.lines().next().is_some_and(|l| l == wanted) {
            return listed;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    panic!("wanted {wanted:?}: {listed}");
}

#[tokio::test]
async fn a_completed_stay_earns_its_points_once() {
    let (deployment, mut mesh) = mesh_with("1m", &[("RUST_LOG", "warn,staymesh_point=info")]).await;
    let edge = deployment.edge();
    let host = login(&edge, "host@staymesh.dev", "staymesh-host-1").await;
    let guest = login(&edge, "guest@staymesh.dev", "staymesh-guest-1").await;
    let room = listing(&edge, &host, 1, 50_000).await;

    let created = book(&edge, &guest, &room, in_days(10), 2, json!({})).await;
    assert_eq!(created.status, 200, "{}", created.body);
    let id = created.json()["booking"]["bookingId"]
        .as_str()
        .unwrap()
        .to_owned();
    let awaiting = wait_state(&edge, &guest, &id, &["AWAITING_PAYMENT"], SAGA).await;
    let paid = pay(awaiting["checkoutUrl"].as_str().unwrap(), CARD_OK).await;
    assert_eq!(paid.status, 200, "{}", paid.body);
    wait_state(&edge, &guest, &id, &["CONFIRMED"], SAGA).await;
    assert_eq!(balance(&edge, &guest).await["balance"], "10000");

    // The stay is over (moved into the past, as time would): the completion
    // round completes it, and 1% of the 100,000 paid is earned.
    let booking = database(&deployment, "booking").await;
    let uuid = uuid::Uuid::parse_str(&id).unwrap();
    sqlx::query(
        "UPDATE booking SET check_in = current_date - 3, check_out = current_date - 1 \
         WHERE id = $1",
    )
    .bind(uuid)
    .execute(&booking)
    .await
    .unwrap();
    let round = deployment.run(&["booking", "complete"]).await;
    assert!(round.contains("completed 1 stay(s)"), "{round}");
    let completed = get_booking(&edge, &guest, &id).await;
    assert_eq!(completed["state"], "BOOKING_STATE_COMPLETED", "{completed}");
    assert!(completed["completedAt"].is_string(), "{completed}");
    eventually(SAGA, "the stay's points", || async {
        balance(&edge, &guest).await["balance"] == "11000"
    })
    .await;
    let again = deployment.run(&["booking", "complete"]).await;
    assert!(again.contains("completed 0 stay(s)"), "{again}");

    // A second BookingCompleted for the same stay (as a replay or a
    // republished event would bring) is taken and earns nothing more.
    sqlx::query("UPDATE booking SET state = 'CONFIRMED' WHERE id = $1")
        .bind(uuid)
        .execute(&booking)
        .await
        .unwrap();
    let round = deployment.run(&["booking", "complete"]).await;
    assert!(round.contains("completed 1 stay(s)"), "{round}");
    eventually(SAGA, "the second event handled", || async {
        earn_logs(&mesh, &id) == 2
    })
    .await;
    assert_eq!(balance(&edge, &guest).await["balance"], "11000");
    let history = http(
        Method::GET,
        &format!("{edge}/v1/me/points/history"),
        Some(&guest),
        None,
    )
    .await;
    let earned: Vec<_> = history.json()["entries"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["bookingId"] == id.as_str())
        .cloned()
        .collect();
    assert_eq!(earned.len(), 1, "one entry for the stay: {earned:?}");
    assert_eq!(earned[0]["type"], "ENTRY_TYPE_EARN", "{earned:?}");
    assert_eq!(earned[0]["amount"], "1000", "{earned:?}");

    mesh.sigterm().await;
    mesh.wait().await;
    deployment.clean_up().await;
}

#[tokio::test]
async fn dead_lettered_commands_are_listed_and_replayed() {
    let (deployment, mut mesh) = mesh("1m").await;
    dlq_list_until(
        &deployment,
        "0 dead-lettered message(s), 0 waiting for a replay",
    )
    .await;

    // A command no participant can ever apply: parked at once.
    let brokers = std::env::var("STAYMESH_KAFKA_BROKERS").unwrap_or("127.0.0.1:9092".into());
    let producer = Producer::new(&brokers).unwrap();
    let poison = ReservePointsCommand {
        saga_id: uuid::Uuid::now_v7().to_string(),
        booking_id: "not-a-uuid".into(),
        user_id: uuid::Uuid::now_v7().to_string(),
        points: 100,
    };
    let topic = format!("{}.point.commands", deployment.prefix);
    let id = producer
        .send(&topic, "not-a-uuid", &poison)
        .await
        .unwrap()
        .to_string();
    let listed = dlq_list_until(
        &deployment,
        "1 dead-lettered message(s), 1 waiting for a replay",
    )
    .await;
    let line = listed.lines().nth(1).unwrap();
    for wanted in [
        "waiting",
        "staymesh.saga.v1.ReservePointsCommand",
        &format!("id={id}"),
        &format!("from={topic}"),
        "point-participant",
        "permanent after 1 attempt(s)",
        "booking_id `not-a-uuid` is not a UUID",
    ] {
        assert!(line.contains(wanted), "{wanted:?} in {line}");
    }

    // Replayed: back on its topic under its own id; the participant parks it
    // again (it is still malformed), and only the new one waits.
    let replayed = deployment.run(&["saga", "dlq", "replay"]).await;
    assert!(replayed.contains("replayed 1 message(s)"), "{replayed}");
    let listed = dlq_list_until(
        &deployment,
        "2 dead-lettered message(s), 1 waiting for a replay",
    )
    .await;
    let lines: Vec<&str> = listed.lines().skip(1).collect();
    assert!(lines[0].contains("replayed"), "{listed}");
    assert!(
        lines[1].contains("waiting") && lines[1].contains(&format!("id={id}")),
        "{listed}"
    );
    // One message by id, replayed or not, leaves the replay mark alone: the
    // waiting one still waits, and the copy it brings back waits too.
    let one = deployment
        .run(&["saga", "dlq", "replay", "--id", &id])
        .await;
    assert!(one.contains("replayed 1 message(s)"), "{one}");
    dlq_list_until(
        &deployment,
        "3 dead-lettered message(s), 2 waiting for a replay",
    )
    .await;
    let both = deployment.run(&["saga", "dlq", "replay"]).await;
    assert!(both.contains("replayed 2 message(s)"), "{both}");
    dlq_list_until(
        &deployment,
        "5 dead-lettered message(s), 2 waiting for a replay",
    )
    .await;
    let unknown = deployment
        .command(&["saga", "dlq", "replay", "--id", "nope"])
        .output()
        .await
        .unwrap();
    assert!(!unknown.status.success());
    assert!(
        String::from_utf8_lossy(&unknown.stderr).contains("no dead-lettered message has id nope"),
        "{}",
        String::from_utf8_lossy(&unknown.stderr)
    );

    mesh.sigterm().await;
    mesh.wait().await;
    deployment.clean_up().await;
}
