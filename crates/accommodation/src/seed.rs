//! Demo data for local runs: properties across Korean regions with Korean
//! names (and English descriptions, so both languages search), 2-4 room types
//! each, and a year of nightly calendar. Deterministic and idempotent: a
//! second run with the same count adds nothing.

use chrono::Duration;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use sqlx::PgPool;
use staymesh_platform::service::{BoxError, Seeding};
use uuid::Uuid;

use crate::catalog::{self, PropertyFields, RoomTypeFields};
use crate::convert::today;
use staymesh_platform::rpc::Result;

/// `staymesh seed`'s part: `seeding.properties` demo properties of the demo host.
pub(crate) async fn demo(seeding: Seeding) -> Result<Vec<String>, BoxError> {
    let (pool, _redis) = crate::DESCRIPTOR.connect(&seeding.infra).await?;
    let total = seeding.properties as usize;
    let progress = seeding.progress.clone();
    let created = seed(&pool, total, &move |done| {
        progress(done as u64, total as u64)
    })
    .await?;
    Ok(vec![format!(
        "demo data: {total} properties ({created} new), host {}",
        staymesh_platform::demo::HOST_ID
    )])
}

const REGIONS: &[(&str, &str)] = &[
    ("서울", "Seoul"),
    ("부산", "Busan"),
    ("제주", "Jeju"),
    ("강릉", "Gangneung"),
    ("속초", "Sokcho"),
    ("경주", "Gyeongju"),
    ("전주", "Jeonju"),
    ("여수", "Yeosu"),
    ("인천", "Incheon"),
    ("대구", "Daegu"),
    ("가평", "Gapyeong"),
    ("양양", "Yangyang"),
    ("통영", "Tongyeong"),
    ("남해", "Namhae"),
    ("포항", "Pohang"),
    ("춘천", "Chuncheon"),
];
const KINDS: &[(&str, &str)] = &[
    ("호텔", "hotel"),
    ("리조트", "resort"),
    ("펜션", "pension"),
    ("게스트하우스", "guesthouse"),
    ("풀빌라", "pool villa"),
    ("한옥스테이", "hanok stay"),
    ("글램핑", "glamping site"),
];
const MOODS: &[(&str, &str)] = &[
    ("바다뷰", "sea view"),
    ("오션", "ocean"),
    ("시티", "city"),
    ("감성", "cozy"),
    ("프리미엄", "premium"),
    ("스카이", "sky"),
    ("힐링", "healing"),
    ("포레스트", "forest"),
    ("하버", "harbor"),
    ("선셋", "sunset"),
];
const AMENITIES: &[&str] = &[
    "wifi",
    "parking",
    "pool",
    "breakfast",
    "bbq",
    "spa",
    "ocean-view",
    "pet-friendly",
];
const ROOMS: &[(&str, i32, i32)] = &[
    ("스탠다드 더블", 2, 2),
    ("디럭스 트윈", 2, 3),
    ("패밀리 스위트", 4, 6),
    ("온돌룸", 2, 4),
];
/// Properties written per transaction (and progress report).
const BATCH: usize = 25;

/// Seeds `count` demo properties and calls `progress` with the number
/// done so far. Returns how many were created (0 when already seeded).
pub async fn seed(pool: &PgPool, count: usize, progress: &(dyn Fn(usize) + Sync)) -> Result<usize> {
    let mut created = 0;
    let mut start = 0;
    while start < count {
        let end = (start + BATCH).min(count);
        // A batch commits as one transaction, so its first property existing
        // means the whole batch, calendar included, is there.
        let done: bool = sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM property WHERE id = $1)")
            .bind(property_id(start))
            .fetch_one(pool)
            .await?;
        if !done {
            let mut tx = pool.begin().await?;
            let mut calendar = Vec::new();
            for i in start..end {
                calendar.extend(seed_property(&mut tx, i).await?);
            }
            write_calendar(&mut tx, &calendar).await?;
            tx.commit().await?;
            created += end - start;
        }
        start = end;
        progress(start);
    }
    Ok(created)
}

/// Deterministic UUIDv7-shaped ids, so re-running the seed finds its rows.
fn seeded_id(kind: u8, index: usize) -> Uuid {
    let mut rng = StdRng::seed_from_u64(((kind as u64) << 32) | index as u64);
    let random: [u8; 10] = rng.random();
    // 2024-07-01T00:00:00Z plus the index keeps seeded ids ordered.
    uuid::Builder::from_unix_timestamp_millis(1_719_792_000_000 + index as u64, &random).into_uuid()
}

fn property_id(index: usize) -> Uuid {
    seeded_id(1, index)
}

/// A room type to calendar: id, weekday price, rooms.
type CalendarRow = (Uuid, i64, i32);

async fn seed_property(tx: &mut sqlx::PgConnection, index: usize) -> Result<Vec<CalendarRow>> {
    let mut rng = StdRng::seed_from_u64(index as u64);
    let (region, region_en) = REGIONS[index % REGIONS.len()];
    let (kind, kind_en) = KINDS[rng.random_range(0..KINDS.len())];
    let (mood, mood_en) = MOODS[rng.random_range(0..MOODS.len())];
    let number = index / REGIONS.len() + 1;
    let amenities: Vec<String> = AMENITIES
        .iter()
        .filter(|_| rng.random_bool(0.5))
        .map(|a| (*a).to_owned())
        .collect();
    let fields = PropertyFields {
        name: format!("{region} {mood} {kind} {number}호점"),
        region: region.to_owned(),
        address: format!("{region} 중앙로 {}", rng.random_range(1..500)),
        description: format!(
            "{region}의 {mood} {kind}입니다. A {mood_en} {kind_en} in {region_en}, \
             close to local restaurants and transport."
        ),
        amenities,
        image_urls: vec![format!("https://images.staymesh.dev/demo/{index}.jpg")],
        check_in_time: "15:00".to_owned(),
        check_out_time: "11:00".to_owned(),
    };
    let id = property_id(index);
    catalog::insert_property(
        &mut *tx,
        id,
        &staymesh_platform::demo::HOST_ID.to_string(),
        fields,
    )
    .await?;
    // A rating so sorting by rating has something to sort until reviews exist.
    sqlx::query("UPDATE property SET rating = $2, review_count = $3 WHERE id = $1")
        .bind(id)
        .bind(f64::from(rng.random_range(30..=50_u32)) / 10.0)
        .bind(rng.random_range(0..500_i32))
        .execute(&mut *tx)
        .await?;

    let room_count = rng.random_range(2..=4);
    let base_price = rng.random_range(5..=40_i64) * 10_000;
    let mut calendar = Vec::new();
    for (r, (name, base, max)) in ROOMS.iter().take(room_count).enumerate() {
        let room_id = seeded_id(2, index * 4 + r);
        let total_rooms = rng.random_range(3..=20);
        let fields = RoomTypeFields {
            name: (*name).to_owned(),
            base_occupancy: *base,
            max_occupancy: *max,
            extra_guest_fee: 20_000,
            total_rooms,
        };
        catalog::insert_room_type(&mut *tx, room_id, id, fields).await?;
        calendar.push((room_id, base_price + r as i64 * 30_000, total_rooms));
    }
    Ok(calendar)
}

/// A year of nights for the given room types; Friday and Saturday cost 30% more.
async fn write_calendar(tx: &mut sqlx::PgConnection, rows: &[CalendarRow]) -> Result<()> {
    let ids: Vec<Uuid> = rows.iter().map(|r| r.0).collect();
    let prices: Vec<i64> = rows.iter().map(|r| r.1).collect();
    let totals: Vec<i32> = rows.iter().map(|r| r.2).collect();
    let start = today();
    sqlx::query(
        "INSERT INTO night (room_type_id, night, price, total) \
         SELECT r.id, d::date, \
                CASE WHEN extract(isodow FROM d) IN (5, 6) THEN r.price * 13 / 10 ELSE r.price END, \
                r.total \
         FROM unnest($1::uuid[], $2::bigint[], $3::int[]) AS r(id, price, total) \
         CROSS JOIN generate_series($4::date, $5::date, interval '1 day') AS d \
         ON CONFLICT DO NOTHING",
    )
    .bind(ids)
    .bind(prices)
    .bind(totals)
    .bind(start)
    .bind(start + Duration::days(364))
    .execute(tx)
    .await?;
    Ok(())
}
