use crate::support::*;

#[tokio::test]
async fn calendar_sets_a_range_and_reads_it_back() {
    let mut app = spawn().await;
    let property = app.listing("강남 시티 호텔", "서울", "도심 호텔").await;
    let room = app.room_type(&property.property_id, 10, 2).await;
    let start = future(10);

    let set = app
        .set_calendar(&room.room_type_id, start, 7, 120_000, 8)
        .await
        .expect("set");
    assert_eq!(set.nights_updated, 7);
    let nights = app.calendar(&room.room_type_id, start, 7).await;
    assert_eq!(nights.len(), 7);
    for night in &nights {
        assert_eq!(night.price.as_ref().map(|p| p.amount), Some(120_000));
        assert_eq!(
            (night.total, night.held, night.sold, night.available),
            (8, 0, 0, 8)
        );
    }

    // Overwrite part of the range: only those nights change.
    app.set_calendar(
        &room.room_type_id,
        start + chrono::Duration::days(2),
        2,
        99_000,
        3,
    )
    .await
    .expect("set");
    let nights = app.calendar(&room.room_type_id, start, 7).await;
    let prices: Vec<i64> = nights
        .iter()
        .map(|n| n.price.as_ref().map_or(0, |p| p.amount))
        .collect();
    assert_eq!(
        prices,
        [120_000, 120_000, 99_000, 99_000, 120_000, 120_000, 120_000]
    );
    assert_eq!(nights[2].available, 3);
    app.stop().await;
}

#[tokio::test]
async fn calendar_refuses_more_rooms_than_the_room_type_has_or_fewer_than_booked() {
    let mut app = spawn().await;
    let property = app.listing("해운대 오션 리조트", "부산", "바다 앞").await;
    let room = app.room_type(&property.property_id, 5, 2).await;
    let start = future(20);

    let too_many = app
        .set_calendar(&room.room_type_id, start, 3, 100_000, 6)
        .await
        .expect_err("too many");
    assert_eq!(too_many.code(), tonic::Code::InvalidArgument);
    assert_eq!(violated_fields(&too_many), ["rooms_for_sale"]);

    app.set_calendar(&room.room_type_id, start, 3, 100_000, 5)
        .await
        .expect("set");
    for _ in 0..3 {
        let request = staymesh_proto::accommodation::HoldNightsRequest {
            booking_id: uuid::Uuid::now_v7().to_string(),
            room_type_id: room.room_type_id.clone(),
            check_in: Some(date(start)),
            check_out: Some(date(start + chrono::Duration::days(2))),
            rooms: 1,
        };
        app.inventory.hold_nights(request).await.expect("hold");
    }
    let below = app
        .set_calendar(&room.room_type_id, start, 3, 100_000, 2)
        .await
        .expect_err("below held");
    assert_eq!(below.code(), tonic::Code::FailedPrecondition);
    // Nothing changed: still 5 for sale, 3 held.
    let nights = app.calendar(&room.room_type_id, start, 2).await;
    assert!(
        nights
            .iter()
            .all(|n| n.total == 5 && n.held == 3 && n.available == 2)
    );
    app.stop().await;
}
