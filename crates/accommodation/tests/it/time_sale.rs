use fred::prelude::*;
use staymesh_proto::accommodation as pb;

use crate::support::*;

use staymesh_platform::convert::timestamp as ts;

async fn lowest(app: &mut App, property_id: &str) -> pb::GetLowestPriceResponse {
    let request = pb::GetLowestPriceRequest {
        property_id: property_id.into(),
    };
    app.api
        .get_lowest_price(request)
        .await
        .expect("lowest price")
        .into_inner()
}

#[tokio::test]
async fn sale_price_is_cached_until_the_sale_ends_and_never_served_stale() {
    let mut app = spawn().await;
    let property = app.listing("통영 하버 호텔", "통영", "항구").await;
    let room = app.room_type(&property.property_id, 4, 2).await;
    // Tonight and the next days, so they are inside the lowest-price window.
    let today = chrono::Utc::now().date_naive() + chrono::Duration::days(1);
    app.set_calendar(&room.room_type_id, today, 5, 100_000, 4)
        .await
        .expect("set");
    let pid = property.property_id.clone();

    let plain = lowest(&mut app, &pid).await;
    assert_eq!(plain.lowest_price.as_ref().map(|m| m.amount), Some(100_000));
    assert!(plain.time_sale_id.is_empty());

    // A 20% sale ending in 90 seconds.
    let ends = chrono::Utc::now() + chrono::Duration::seconds(90);
    let sale = pb::CreateTimeSaleRequest {
        property_id: pid.clone(),
        room_type_id: String::new(),
        discount_percent: 20,
        starts_at: Some(ts(chrono::Utc::now() - chrono::Duration::seconds(5))),
        ends_at: Some(ts(ends)),
        waiting_room: false,
    };
    let sale = app
        .api
        .create_time_sale(authed(sale, HOST))
        .await
        .expect("sale")
        .into_inner()
        .time_sale
        .expect("sale");
    let on_sale = lowest(&mut app, &pid).await;
    assert_eq!(
        on_sale.lowest_price.as_ref().map(|m| m.amount),
        Some(80_000),
        "the sale shows at once"
    );
    assert_eq!(on_sale.time_sale_id, sale.time_sale_id);

    // The cache entry lives until the sale's end.
    let key = format!("{}:lowest:{pid}", app.redis_prefix);
    let ttl_ms: i64 = app.redis.pttl(&key).await.expect("pttl");
    let expected = (ends - chrono::Utc::now()).num_milliseconds();
    assert!(
        (ttl_ms - expected).abs() < 3_000,
        "ttl {ttl_ms} ms, sale ends in {expected} ms"
    );

    // A calendar change is visible immediately, not after the TTL.
    app.set_calendar(&room.room_type_id, today, 5, 50_000, 4)
        .await
        .expect("reprice");
    assert_eq!(
        lowest(&mut app, &pid).await.lowest_price.map(|m| m.amount),
        Some(40_000)
    );

    // Ending the sale early brings the full price back immediately.
    let end = pb::EndTimeSaleRequest {
        time_sale_id: sale.time_sale_id.clone(),
    };
    app.api
        .end_time_sale(authed(end, HOST))
        .await
        .expect("end sale");
    let after = lowest(&mut app, &pid).await;
    assert_eq!(after.lowest_price.map(|m| m.amount), Some(50_000));
    assert!(after.time_sale_id.is_empty());

    // Search prices stays with the same sale rules.
    let mut search = pb::SearchAvailabilityRequest {
        check_in: Some(date(today)),
        check_out: Some(date(today + chrono::Duration::days(2))),
        guests: 2,
        region: "통영".into(),
        ..Default::default()
    };
    let found = app
        .api
        .search_availability(search.clone())
        .await
        .expect("search")
        .into_inner();
    assert_eq!(
        found.results[0]
            .lowest_total_price
            .as_ref()
            .map(|m| m.amount),
        Some(100_000)
    );
    let sale = pb::CreateTimeSaleRequest {
        property_id: pid.clone(),
        room_type_id: room.room_type_id.clone(),
        discount_percent: 10,
        starts_at: Some(ts(chrono::Utc::now() - chrono::Duration::seconds(1))),
        ends_at: Some(ts(chrono::Utc::now() + chrono::Duration::hours(1))),
        waiting_room: false,
    };
    app.api
        .create_time_sale(authed(sale, HOST))
        .await
        .expect("room sale");
    search.page_size = 5;
    let found = app
        .api
        .search_availability(search)
        .await
        .expect("search")
        .into_inner();
    assert_eq!(
        found.results[0]
            .lowest_total_price
            .as_ref()
            .map(|m| m.amount),
        Some(90_000)
    );
    app.stop().await;
}

/// Readers racing writers must never leave an old price in the cache: after
/// the last change, the cached price is the database's.
#[tokio::test]
async fn concurrent_readers_and_repricing_leave_no_stale_cache() {
    let mut app = spawn().await;
    let property = app.listing("남해 선셋 펜션", "남해", "노을").await;
    let room = app.room_type(&property.property_id, 2, 2).await;
    let today = chrono::Utc::now().date_naive() + chrono::Duration::days(1);
    let pid = property.property_id.clone();

    for round in 0..20_i64 {
        let price = 100_000 + round * 1_000;
        let readers: Vec<_> = (0..8)
            .map(|_| {
                let mut api = app.api.clone();
                let pid = pid.clone();
                tokio::spawn(async move {
                    api.get_lowest_price(pb::GetLowestPriceRequest { property_id: pid })
                        .await
                        .map(|_| ())
                })
            })
            .collect();
        app.set_calendar(&room.room_type_id, today, 3, price, 2)
            .await
            .expect("reprice");
        for reader in readers {
            reader.await.expect("task").expect("read");
        }
        let seen = lowest(&mut app, &pid).await.lowest_price.map(|m| m.amount);
        assert_eq!(seen, Some(price), "round {round}: stale cached price");
    }
    app.stop().await;
}
