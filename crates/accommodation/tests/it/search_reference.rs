//! The in-memory search index against a straightforward SQL reference:
//! random calendars (prices, holds, sold-out and closed nights), time sales
//! and ratings written straight into Postgres, then a few hundred random
//! searches whose every page must equal the reference query's: the same
//! properties in the same order, the same prices and the same rooms left.
//! Run against the replica that followed every change as it happened and
//! against one that built its index from scratch afterwards.

use std::collections::BTreeMap;

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use sqlx::PgPool;
use staymesh_accommodation::terms;
use staymesh_proto::accommodation as pb;

use crate::support::*;

/// Places: (name words, region, address).
const PLACES: &[(&str, &str, &str)] = &[
    ("해운대", "부산", "부산광역시 해운대구 우동 12-3"),
    ("광안리", "부산", "부산광역시 수영구 광안동 4"),
    ("강남", "서울", "서울특별시 강남구 역삼동 1-1"),
    ("명동", "서울", "서울특별시 중구 명동 22"),
    ("중문", "제주", "제주특별자치도 서귀포시 중문동 7"),
    ("애월", "제주", "제주특별자치도 제주시 애월읍 3"),
    ("경포", "강릉", "강원특별자치도 강릉시 경포동 9"),
    ("Sokcho Beach", "속초", "강원특별자치도 속초시 영랑동 5"),
];
const KINDS: &[&str] = &[
    "호텔",
    "펜션",
    "Hotel",
    "Pool Villa",
    "게스트하우스",
    "리조트",
];
const DESCRIPTIONS: &[&str] = &[
    "A sea view hotel close to the beach",
    "바다가 보이는 오션뷰 객실",
    "Quiet hanok stay with breakfast",
    "부산 출신 셰프의 조식",
    "Ocean view rooms in Haeundae",
    "조용한 숲속 펜션",
];
const REGIONS: &[&str] = &[
    "",
    "",
    "",
    "부산",
    "부산광역시",
    "서울시",
    "제주도",
    "Jeju",
    "busan",
    "강원",
    "강원도",
    "중구",
];
const KEYWORDS: &[&str] = &[
    "",
    "",
    "",
    "해운대",
    "해운대구",
    "haeundae",
    "ocean view",
    "view ocean",
    "호텔",
    "hotel busan",
    "강남구 역삼동",
    "Gangnam-gu",
    "명동",
    "서귀포시 중문",
    "pool villa",
    "hanok",
    "바다",
    "부산",
    "jeju-do 애월",
    "sea",
    "리조트 제주",
    "없는말",
];

/// How many days of calendar the test writes, from tomorrow.
const DAYS: i64 = 40;

#[tokio::test]
async fn random_searches_match_the_sql_reference_page_for_page() {
    let mut app = spawn().await;
    let mut rng = StdRng::seed_from_u64(20261206);
    let start = future(1);
    let mut room_types = Vec::new();
    for i in 0..36 {
        let (place, region, address) = PLACES[rng.random_range(0..PLACES.len())];
        let kind = KINDS[rng.random_range(0..KINDS.len())];
        let description = DESCRIPTIONS[rng.random_range(0..DESCRIPTIONS.len())];
        let property = app
            .listing_at(&format!("{place} {kind} {i}"), region, address, description)
            .await;
        for _ in 0..rng.random_range(1..=3) {
            let max = rng.random_range(1..=5);
            let room = app.room_type(&property.property_id, 5, max).await;
            room_types.push(room.room_type_id.parse::<uuid::Uuid>().unwrap());
        }
    }
    randomize(&app.pool, &mut rng, &room_types, start).await;
    app.caught_up().await;
    compare(&mut app, &mut rng, 200, start).await;

    // A second replica builds its index from what is there now; more
    // changes arrive at both while they serve.
    let mut replica = app.replica().await;
    compare(&mut replica, &mut rng, 60, start).await;
    randomize(&app.pool, &mut rng, &room_types, start).await;
    app.caught_up().await;
    replica.caught_up().await;
    compare(&mut replica, &mut rng, 60, start).await;
    compare(&mut app, &mut rng, 60, start).await;
    replica.stop_replica().await;
    app.stop().await;
}

/// Random nights (price, rooms, held, sold, closed), time sales clear of
/// the test's own time, and ratings with ties, all straight into Postgres.
async fn randomize(
    pool: &PgPool,
    rng: &mut StdRng,
    room_types: &[uuid::Uuid],
    start: chrono::NaiveDate,
) {
    let mut tx = pool.begin().await.unwrap();
    for room_type in room_types {
        for day in 0..DAYS {
            // Some nights have no calendar row at all.
            if rng.random_range(0..60) == 0 {
                continue;
            }
            // Mostly open with rooms left; now and then full (held + sold
            // = total) or nearly so.
            let total = rng.random_range(1..=6);
            let (held, sold) = match rng.random_range(0..10) {
                0 => (total / 2, total - total / 2),
                1 => (rng.random_range(0..total), 0),
                2 => (0, rng.random_range(0..total)),
                _ => (0, 0),
            };
            sqlx::query(
                "INSERT INTO night (room_type_id, night, price, total, held, sold, closed) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7) \
                 ON CONFLICT (room_type_id, night) DO UPDATE SET price = EXCLUDED.price, \
                   total = EXCLUDED.total, held = EXCLUDED.held, sold = EXCLUDED.sold, \
                   closed = EXCLUDED.closed",
            )
            .bind(room_type)
            .bind(start + chrono::Duration::days(day))
            .bind(rng.random_range(3..40_i64) * 5_000 + rng.random_range(0..3))
            .bind(total)
            .bind(held)
            .bind(sold)
            .bind(rng.random_range(0..30) == 0)
            .execute(&mut *tx)
            .await
            .unwrap();
        }
    }
    sqlx::query(
        "UPDATE property SET rating = (random() * 4)::int / 2.0 + 3, \
                review_count = (random() * 3)::int",
    )
    .execute(&mut *tx)
    .await
    .unwrap();
    // Sales running now (started an hour ago, a day to go), over or not
    // started (never counted), on whole properties or one room type.
    sqlx::query(
        "INSERT INTO time_sale (id, property_id, room_type_id, discount_percent, starts_at, ends_at) \
         SELECT gen_random_uuid(), rt.property_id, \
                CASE WHEN random() < 0.5 THEN rt.id END, (random() * 40)::int + 5, \
                now() + (CASE WHEN random() < 0.7 THEN -1 ELSE 2 END) * interval '1 hour', \
                now() + interval '1 day' \
         FROM room_type rt WHERE random() < 0.3",
    )
    .execute(&mut *tx)
    .await
    .unwrap();
    tx.commit().await.unwrap();
}

/// `count` random searches through `app`, each page checked.
async fn compare(app: &mut App, rng: &mut StdRng, count: usize, start: chrono::NaiveDate) {
    let mut found_something = 0;
    for _ in 0..count {
        let mut request = pb::SearchAvailabilityRequest {
            region: REGIONS[rng.random_range(0..REGIONS.len())].into(),
            keyword: KEYWORDS[rng.random_range(0..KEYWORDS.len())].into(),
            guests: rng.random_range(1..=4),
            sort: rng.random_range(0..=4),
            page_size: rng.random_range(1..=12),
            ..Default::default()
        };
        let check_in = start + chrono::Duration::days(rng.random_range(0..DAYS - 5));
        let nights = rng.random_range(1..=3);
        request.check_in = Some(date(check_in));
        request.check_out = Some(date(check_in + chrono::Duration::days(nights)));
        if rng.random_range(0..4) == 0 {
            request.min_price = rng.random_range(0..200_000);
        }
        if rng.random_range(0..4) == 0 {
            request.max_price = request.min_price + rng.random_range(1..400_000);
        }
        let expected = reference(&app.pool, &request, check_in, nights).await;
        // Every page, following the tokens: no property twice, none missing.
        let mut seen = Vec::new();
        loop {
            let page = app
                .api
                .search_availability(request.clone())
                .await
                .expect("search")
                .into_inner();
            seen.extend(page.results.iter().map(Found::of));
            if page.next_page_token.is_empty() {
                break;
            }
            request.page_token = page.next_page_token;
        }
        assert_eq!(seen, expected, "{request:?}");
        found_something += usize::from(!expected.is_empty());
    }
    eprintln!("{found_something} of {count} searches found something");
    // A comparison of empty pages would prove nothing.
    assert!(
        found_something * 3 >= count,
        "only {found_something} of {count} searches found anything"
    );
}

/// What a search shows of one property.
#[derive(Debug, PartialEq)]
struct Found {
    property_id: String,
    lowest: i64,
    /// (room type, rooms left, total) in the order shown.
    rooms: Vec<(String, i32, i64)>,
}

impl Found {
    fn of(r: &pb::SearchResult) -> Found {
        Found {
            property_id: r.property_id.clone(),
            lowest: r.lowest_total_price.as_ref().map_or(0, |m| m.amount),
            rooms: r
                .rooms
                .iter()
                .map(|room| {
                    let total = room.total_price.as_ref().map_or(0, |m| m.amount);
                    (room.room_type_id.clone(), room.rooms_left, total)
                })
                .collect(),
        }
    }
}

/// The straightforward SQL: every fitting room type, priced night by night.
async fn reference(
    pool: &PgPool,
    r: &pb::SearchAvailabilityRequest,
    check_in: chrono::NaiveDate,
    nights: i64,
) -> Vec<Found> {
    let words = terms::terms(&r.keyword);
    let region = (!r.region.trim().is_empty()).then(|| terms::term(r.region.trim()));
    let contains = |column: &str, param: usize| {
        format!(
            "EXISTS (SELECT 1 FROM unnest(${param}::text[]) s WHERE strpos(lower({column}), s) > 0)"
        )
    };
    let mut filters = vec!["true".to_owned()];
    let mut relevance = vec!["0".to_owned()];
    // $1-$4 the stay and guests, $5-$6 the price bounds, then the terms.
    let mut next = 7;
    if region.is_some() {
        filters.push(format!(
            "(lower(p.region) = ANY(${next}::text[]) OR {})",
            contains("p.address", next)
        ));
        next += 1;
    }
    for _ in &words {
        let case = format!(
            "CASE WHEN {} THEN 3 WHEN {} OR {} THEN 2 WHEN {} THEN 1 ELSE 0 END",
            contains("p.name", next),
            contains("p.region", next),
            contains("p.address", next),
            contains("p.description", next)
        );
        filters.push(format!("({case}) > 0"));
        relevance.push(case);
        next += 1;
    }
    let order = match pb::SearchSort::try_from(r.sort).unwrap() {
        pb::SearchSort::PriceAsc => "lowest ASC, property_id",
        pb::SearchSort::PriceDesc => "lowest DESC, property_id",
        pb::SearchSort::Rating => "rating DESC, review_count DESC, property_id",
        _ => "relevance DESC, rating DESC, property_id",
    };
    let sql = format!(
        "WITH room AS ( \
           SELECT p.id AS property_id, p.rating, p.review_count, ({relevance}) AS relevance, \
                  rt.id AS room_type_id, \
                  min(CASE WHEN n.closed THEN 0 ELSE n.total - n.held - n.sold END) AS rooms_left, \
                  sum(n.price * (100 - coalesce((SELECT max(ts.discount_percent) FROM time_sale ts \
                        WHERE ts.property_id = p.id \
                          AND (ts.room_type_id IS NULL OR ts.room_type_id = rt.id) \
                          AND ts.starts_at <= now() AND now() < ts.ends_at), 0)) / 100) \
                    + greatest(0, $3 - rt.base_occupancy) * rt.extra_guest_fee * $4 AS total \
           FROM property p JOIN room_type rt ON rt.property_id = p.id \
           JOIN night n ON n.room_type_id = rt.id AND n.night >= $1 AND n.night < $2 \
           WHERE rt.max_occupancy >= $3 AND {filters} \
           GROUP BY p.id, rt.id \
           HAVING count(*) = $4 \
              AND min(CASE WHEN n.closed THEN 0 ELSE n.total - n.held - n.sold END) > 0 \
         ), fitting AS ( \
           SELECT * FROM room WHERE ($5::bigint = 0 OR total >= $5) AND ($6::bigint = 0 OR total <= $6) \
         ), ranked AS ( \
           SELECT property_id, min(total) AS lowest, max(rating) AS rating, \
                  max(review_count) AS review_count, max(relevance) AS relevance \
           FROM fitting GROUP BY property_id \
         ) \
         SELECT f.property_id::text, r.lowest::bigint, f.room_type_id::text, f.rooms_left, f.total::bigint \
         FROM ranked r JOIN fitting f USING (property_id) \
         ORDER BY {order}, f.total, f.room_type_id",
        relevance = relevance.join(" + "),
        filters = filters.join(" AND "),
        order = order
            .split(", ")
            .map(|o| format!("r.{o}"))
            .collect::<Vec<_>>()
            .join(", ")
    );
    let mut query = sqlx::query_as::<_, (String, i64, String, i32, i64)>(sqlx::AssertSqlSafe(sql))
        .bind(check_in)
        .bind(check_in + chrono::Duration::days(nights))
        .bind(r.guests)
        .bind(nights)
        .bind(r.min_price)
        .bind(r.max_price);
    if let Some(region) = &region {
        query = query.bind(region.spellings.clone());
    }
    for word in &words {
        query = query.bind(word.spellings.clone());
    }
    let rows = query.fetch_all(pool).await.expect("reference query");
    let mut found: Vec<Found> = Vec::new();
    let mut index: BTreeMap<String, usize> = BTreeMap::new();
    for (property_id, lowest, room_type, left, total) in rows {
        let i = *index.entry(property_id.clone()).or_insert_with(|| {
            found.push(Found {
                property_id: property_id.clone(),
                lowest,
                rooms: Vec::new(),
            });
            found.len() - 1
        });
        found[i].rooms.push((room_type, left, total));
    }
    found
}
