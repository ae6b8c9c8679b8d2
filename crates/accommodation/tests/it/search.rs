use staymesh_proto::accommodation as pb;

use crate::support::*;

fn search(check_in: chrono::NaiveDate, nights: i64, guests: i32) -> pb::SearchAvailabilityRequest {
    pb::SearchAvailabilityRequest {
        check_in: Some(date(check_in)),
        check_out: Some(date(check_in + chrono::Duration::days(nights))),
        guests,
        ..Default::default()
    }
}

/// Lists a property with one room type on sale for 10 nights from `start`.
async fn listed(
    app: &mut App,
    name: &str,
    region: &str,
    description: &str,
    price: i64,
    rooms: i32,
    start: chrono::NaiveDate,
) -> (String, String) {
    let property = app.listing(name, region, description).await;
    let room = app.room_type(&property.property_id, rooms, 2).await;
    app.set_calendar(&room.room_type_id, start, 10, price, rooms)
        .await
        .expect("set calendar");
    (property.property_id, room.room_type_id)
}

#[tokio::test]
async fn korean_keyword_ranks_name_over_region_over_description() {
    let mut app = spawn().await;
    let start = future(15);
    let (by_name, _) = listed(
        &mut app,
        "제주 오션 호텔",
        "제주",
        "바다가 보이는 객실",
        100_000,
        3,
        start,
    )
    .await;
    let (by_region, _) = listed(
        &mut app,
        "푸른 바다 펜션",
        "제주",
        "조용한 펜션",
        90_000,
        3,
        start,
    )
    .await;
    let (by_description, _) = listed(
        &mut app,
        "서울 시티 호텔",
        "서울",
        "제주 출신 셰프의 조식",
        80_000,
        3,
        start,
    )
    .await;
    let (_unrelated, _) = listed(
        &mut app,
        "부산 하버 호텔",
        "부산",
        "항구 앞 호텔",
        70_000,
        3,
        start,
    )
    .await;

    let mut request = search(start, 2, 2);
    request.keyword = "제주".into();
    let found = app
        .api
        .search_availability(request)
        .await
        .expect("search")
        .into_inner();
    let ids: Vec<_> = found
        .results
        .iter()
        .map(|r| r.property_id.clone())
        .collect();
    assert_eq!(ids, [by_name, by_region, by_description]);

    // English text matches too.
    let (ocean, _) = listed(
        &mut app,
        "Ocean Breeze Stay",
        "강릉",
        "Quiet rooms by the beach",
        60_000,
        3,
        start,
    )
    .await;
    let mut request = search(start, 2, 2);
    request.keyword = "ocean".into();
    let found = app
        .api
        .search_availability(request)
        .await
        .expect("search")
        .into_inner();
    let ids: Vec<_> = found
        .results
        .iter()
        .map(|r| r.property_id.as_str())
        .collect();
    assert_eq!(ids.first().copied(), Some(ocean.as_str()));

    // Region is an exact filter.
    let mut request = search(start, 2, 2);
    request.region = "부산".into();
    let found = app
        .api
        .search_availability(request)
        .await
        .expect("search")
        .into_inner();
    assert_eq!(found.results.len(), 1);
    assert_eq!(found.results[0].region, "부산");
    app.stop().await;
}

#[tokio::test]
async fn a_sold_out_night_hides_the_room_for_stays_that_include_it() {
    let mut app = spawn().await;
    let start = future(25);
    let (property, room) = listed(
        &mut app,
        "강릉 솔숲 펜션",
        "강릉",
        "소나무 숲",
        100_000,
        1,
        start,
    )
    .await;
    // Sell out the middle night of a three-night stay.
    let hold = pb::HoldNightsRequest {
        booking_id: uuid::Uuid::now_v7().to_string(),
        room_type_id: room.clone(),
        check_in: Some(date(start + chrono::Duration::days(1))),
        check_out: Some(date(start + chrono::Duration::days(2))),
        rooms: 1,
    };
    app.inventory
        .hold_nights(hold)
        .await
        .expect("hold middle night");

    let through = app
        .api
        .search_availability(search(start, 3, 2))
        .await
        .expect("search")
        .into_inner();
    assert!(
        through.results.iter().all(|r| r.property_id != property),
        "sold-out night must hide it"
    );

    let before = app
        .api
        .search_availability(search(start, 1, 2))
        .await
        .expect("search")
        .into_inner();
    let hit = before
        .results
        .iter()
        .find(|r| r.property_id == property)
        .expect("free first night");
    assert_eq!(hit.rooms.len(), 1);
    assert_eq!(hit.rooms[0].rooms_left, 1);
    assert_eq!(
        hit.lowest_total_price.as_ref().map(|m| m.amount),
        Some(100_000)
    );

    let after = app
        .api
        .search_availability(search(start + chrono::Duration::days(2), 2, 2))
        .await
        .expect("search")
        .into_inner();
    assert!(after.results.iter().any(|r| r.property_id == property));
    app.stop().await;
}

#[tokio::test]
async fn guests_price_range_sorting_and_pages() {
    let mut app = spawn().await;
    let start = future(35);
    let mut ids = Vec::new();
    for (i, price) in [50_000, 80_000, 120_000, 200_000, 300_000]
        .into_iter()
        .enumerate()
    {
        let (id, _) = listed(
            &mut app,
            &format!("가평 힐링 풀빌라 {i}"),
            "가평",
            "계곡",
            price,
            2,
            start,
        )
        .await;
        ids.push(id);
    }

    // Room types hold two guests at most.
    let crowd = app
        .api
        .search_availability(search(start, 2, 3))
        .await
        .expect("search")
        .into_inner();
    assert!(crowd.results.is_empty());

    // Two nights: totals are 100k, 160k, 240k, 400k, 600k.
    let mut request = search(start, 2, 2);
    request.min_price = 150_000;
    request.max_price = 400_000;
    request.sort = pb::SearchSort::PriceDesc as i32;
    let ranged = app
        .api
        .search_availability(request)
        .await
        .expect("search")
        .into_inner();
    let totals: Vec<i64> = ranged
        .results
        .iter()
        .map(|r| r.lowest_total_price.as_ref().map_or(0, |m| m.amount))
        .collect();
    assert_eq!(totals, [400_000, 240_000, 160_000]);

    // Pages of two, cheapest first, with no repeats and no gaps.
    let mut seen = Vec::new();
    let mut token = String::new();
    loop {
        let mut request = search(start, 2, 2);
        request.sort = pb::SearchSort::PriceAsc as i32;
        request.page_size = 2;
        request.page_token = token.clone();
        let page = app
            .api
            .search_availability(request)
            .await
            .expect("page")
            .into_inner();
        assert!(page.results.len() <= 2);
        seen.extend(page.results.into_iter().map(|r| r.property_id));
        if page.next_page_token.is_empty() {
            break;
        }
        token = page.next_page_token;
    }
    assert_eq!(seen, ids);
    app.stop().await;
}
