//! Search as Koreans type it: regions and districts with or without their
//! administrative suffix, district names found only in addresses, romanized
//! names, several words in any order; ranking stays name > region and
//! address > description.

use staymesh_proto::accommodation as pb;

use crate::support::*;

/// Property ids found by `region` and `keyword`, in order.
async fn found(
    app: &mut App,
    region: &str,
    keyword: &str,
    start: chrono::NaiveDate,
) -> Vec<String> {
    let request = pb::SearchAvailabilityRequest {
        region: region.into(),
        keyword: keyword.into(),
        check_in: Some(date(start)),
        check_out: Some(date(start + chrono::Duration::days(2))),
        guests: 2,
        ..Default::default()
    };
    app.api
        .search_availability(request)
        .await
        .expect("search")
        .into_inner()
        .results
        .into_iter()
        .map(|r| r.property_id)
        .collect()
}

/// A listing with two rooms for two, on sale for five nights from `start`;
/// its id. `text` is its name, region, address and description.
async fn bookable(app: &mut App, start: chrono::NaiveDate, text: [&str; 4]) -> String {
    let [name, region, address, description] = text;
    let property = app.listing_at(name, region, address, description).await;
    let room = app.room_type(&property.property_id, 2, 2).await;
    app.set_calendar(&room.room_type_id, start, 5, 100_000, 2)
        .await
        .expect("calendar");
    property.property_id
}

#[tokio::test]
async fn places_are_found_the_way_guests_type_them() {
    let mut app = spawn().await;
    let start = future(12);
    let mut list = async |name: &str, region: &str, address: &str, description: &str| {
        bookable(&mut app, start, [name, region, address, description]).await
    };
    let haeundae = list(
        "마린 스테이",
        "부산",
        "부산광역시 해운대구 우동 1408",
        "An ocean view hotel by the beach",
    )
    .await;
    let gangnam = list(
        "스카이 시티 호텔",
        "서울",
        "서울특별시 강남구 역삼동 823",
        "Business hotel near the station, with a view of the ocean of lights",
    )
    .await;
    let jeju = list(
        "중문 리조트",
        "제주",
        "제주특별자치도 서귀포시 중문동 2563",
        "리조트 from the sea view",
    )
    .await;
    let myeongdong = list(
        "명동 게스트하우스",
        "서울",
        "서울특별시 중구 명동 12",
        "Cozy rooms",
    )
    .await;

    // Regions with and without their suffix, in Korean or romanized.
    for region in ["제주", "제주도", "제주특별자치도", "Jeju", "jeju-do"] {
        assert_eq!(
            found(&mut app, region, "", start).await,
            std::slice::from_ref(&jeju),
            "{region}"
        );
    }
    for region in ["서울", "서울시", "서울특별시", "Seoul"] {
        let mut seoul = found(&mut app, region, "", start).await;
        seoul.sort();
        let mut expected = vec![gangnam.clone(), myeongdong.clone()];
        expected.sort();
        assert_eq!(seoul, expected, "{region}");
    }
    // Districts that appear only in the address, with or without suffix.
    for keyword in [
        "해운대",
        "해운대구",
        "Haeundae",
        "haeundae-gu",
        "부산 해운대",
        "해운대구 우동",
    ] {
        assert_eq!(
            found(&mut app, "", keyword, start).await,
            std::slice::from_ref(&haeundae),
            "{keyword}"
        );
    }
    for keyword in [
        "강남",
        "강남구",
        "역삼동",
        "역삼",
        "강남구 역삼동",
        "역삼동 강남구",
        "Gangnam-gu",
    ] {
        assert_eq!(
            found(&mut app, "", keyword, start).await,
            std::slice::from_ref(&gangnam),
            "{keyword}"
        );
    }
    for keyword in ["서귀포", "서귀포시 중문", "중문동"] {
        assert_eq!(
            found(&mut app, "", keyword, start).await,
            std::slice::from_ref(&jeju),
            "{keyword}"
        );
    }
    // 명동 keeps its 동: it is a name, not 명 + 동.
    assert_eq!(
        found(&mut app, "", "명동", start).await,
        std::slice::from_ref(&myeongdong)
    );
    // Several words, any order, each anywhere: both mention ocean and view.
    let mut ocean_view = found(&mut app, "", "ocean view", start).await;
    ocean_view.sort();
    let mut expected = vec![haeundae.clone(), gangnam.clone()];
    expected.sort();
    assert_eq!(ocean_view, expected);
    assert_eq!(found(&mut app, "", "view ocean", start).await.len(), 2);
    // Every word must match somewhere.
    assert!(found(&mut app, "", "ocean 제주", start).await.is_empty());
    // Region and keyword together.
    assert_eq!(
        found(&mut app, "부산광역시", "ocean", start).await,
        std::slice::from_ref(&haeundae)
    );
    // A word in a name and a description counts once.
    assert_eq!(
        found(&mut app, "", "리조트", start).await,
        std::slice::from_ref(&jeju)
    );
    app.stop().await;
}

#[tokio::test]
async fn ranking_is_name_then_place_then_description_in_both_languages() {
    let mut app = spawn().await;
    let start = future(14);
    let mut list = async |name: &str, region: &str, address: &str, description: &str| {
        bookable(&mut app, start, [name, region, address, description]).await
    };
    let by_description = list(
        "숲 펜션",
        "강릉",
        "강원특별자치도 강릉시 교동 1",
        "Near Haeundae? No: 해운대 is far",
    )
    .await;
    let by_address = list(
        "바다 펜션",
        "부산",
        "부산광역시 해운대구 중동 2",
        "조용한 곳",
    )
    .await;
    let by_name = list(
        "해운대 Haeundae Hotel",
        "부산",
        "부산광역시 수영구 광안동 3",
        "Beach",
    )
    .await;
    assert_eq!(
        found(&mut app, "", "해운대", start).await,
        [by_name.clone(), by_address.clone(), by_description.clone()]
    );
    assert_eq!(
        found(&mut app, "", "haeundae", start).await,
        [by_name, by_address, by_description]
    );
    app.stop().await;
}
