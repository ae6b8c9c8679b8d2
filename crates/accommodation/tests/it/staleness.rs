//! How stale another replica's search can be. Holds are decided in
//! Postgres; every replica's index follows through notifications sent at
//! commit. The bound README states is one second; this test holds and
//! releases the last room through one replica, many times, and measures
//! how long the other still shows the old answer.

use std::time::{Duration, Instant};

use staymesh_proto::accommodation as pb;

use crate::support::*;

/// The staleness bound README promises.
const BOUND: Duration = Duration::from_secs(1);

/// Whether `app`'s search offers the room type for the stay.
async fn offers(app: &mut App, room: &str, start: chrono::NaiveDate) -> bool {
    let request = pb::SearchAvailabilityRequest {
        region: "강릉".into(),
        check_in: Some(date(start)),
        check_out: Some(date(start + chrono::Duration::days(2))),
        guests: 1,
        ..Default::default()
    };
    let found = app
        .api
        .search_availability(request)
        .await
        .expect("search")
        .into_inner();
    found
        .results
        .iter()
        .flat_map(|r| &r.rooms)
        .any(|r| r.room_type_id == room)
}

/// How long until `app`'s search says `wanted`; panics past the bound.
async fn until(app: &mut App, room: &str, start: chrono::NaiveDate, wanted: bool) -> Duration {
    let began = Instant::now();
    loop {
        if offers(app, room, start).await == wanted {
            return began.elapsed();
        }
        let waited = began.elapsed();
        assert!(
            waited < BOUND,
            "the other replica still said {} after {waited:?}",
            !wanted
        );
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
}

#[tokio::test]
async fn another_replica_sees_a_hold_and_its_release_within_a_second() {
    let mut one = spawn().await;
    let mut other = one.replica().await;
    let start = future(40);
    let property = one.listing("강릉 경포 펜션", "강릉", "경포대 앞").await;
    let room = one.room_type(&property.property_id, 1, 2).await;
    one.set_calendar(&room.room_type_id, start, 4, 90_000, 1)
        .await
        .expect("calendar");
    until(&mut other, &room.room_type_id, start, true).await;

    let mut worst = Duration::ZERO;
    for _ in 0..20 {
        let booking = uuid::Uuid::now_v7().to_string();
        let hold = pb::HoldNightsRequest {
            booking_id: booking.clone(),
            room_type_id: room.room_type_id.clone(),
            check_in: Some(date(start + chrono::Duration::days(1))),
            check_out: Some(date(start + chrono::Duration::days(2))),
            rooms: 1,
        };
        one.inventory.hold_nights(hold).await.expect("hold");
        // The replica that held answers from its own index at once.
        assert!(!offers(&mut one, &room.room_type_id, start).await);
        worst = worst.max(until(&mut other, &room.room_type_id, start, false).await);
        let release = pb::ReleaseHoldRequest {
            booking_id: booking,
        };
        one.inventory.release_hold(release).await.expect("release");
        assert!(offers(&mut one, &room.room_type_id, start).await);
        worst = worst.max(until(&mut other, &room.room_type_id, start, true).await);
    }
    eprintln!("worst staleness of the other replica over 40 changes: {worst:?}");
    other.stop_replica().await;
    one.stop().await;
}
