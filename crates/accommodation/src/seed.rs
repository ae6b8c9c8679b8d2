//! Demo data for local runs and benchmarks: properties across Korean
//! regions with Korean names, real-looking addresses (시/구/동 and the
//! districts guests search for) and English descriptions, so both languages
//! search; 2-4 room types each; a year of nightly calendar with a few nights
//! closed or sold out; time sales on some properties. Deterministic and
//! idempotent: a second run with the same count adds nothing.
//!
//! Set-based: each batch of properties is four statements (properties, room
//! types, nights from generate_series, sales), so 10,000 properties and
//! their eleven million nights take about a minute on two cores.

use chrono::{Duration, Utc};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use sqlx::PgPool;
use staymesh_platform::service::{BoxError, Seeding};
use uuid::Uuid;

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

/// A region: its name, romanized name, the administrative prefix of its
/// addresses, and districts with their neighbourhoods.
struct Region {
    name: &'static str,
    english: &'static str,
    prefix: &'static str,
    /// (district, romanized, neighbourhoods); an empty district for a city
    /// whose neighbourhoods follow the city directly.
    districts: &'static [(&'static str, &'static str, &'static [&'static str])],
}

const REGIONS: &[Region] = &[
    Region {
        name: "서울",
        english: "Seoul",
        prefix: "서울특별시",
        districts: &[
            ("강남구", "Gangnam", &["역삼동", "삼성동", "신사동"]),
            ("마포구", "Mapo", &["서교동", "연남동", "합정동"]),
            ("종로구", "Jongno", &["삼청동", "익선동", "인사동"]),
            ("중구", "Jung-gu", &["명동", "을지로동"]),
            ("용산구", "Yongsan", &["이태원동", "한남동"]),
            ("송파구", "Songpa", &["잠실동"]),
            ("영등포구", "Yeongdeungpo", &["여의도동"]),
        ],
    },
    Region {
        name: "부산",
        english: "Busan",
        prefix: "부산광역시",
        districts: &[
            ("해운대구", "Haeundae", &["우동", "중동", "송정동"]),
            ("수영구", "Suyeong", &["광안동", "민락동"]),
            ("중구", "Jung-gu", &["남포동"]),
            ("부산진구", "Seomyeon", &["부전동"]),
            ("기장군", "Gijang", &["기장읍"]),
        ],
    },
    Region {
        name: "제주",
        english: "Jeju",
        prefix: "제주특별자치도",
        districts: &[
            (
                "제주시",
                "Jeju City",
                &["애월읍", "조천읍", "한림읍", "연동"],
            ),
            ("서귀포시", "Seogwipo", &["중문동", "성산읍", "표선면"]),
        ],
    },
    Region {
        name: "강릉",
        english: "Gangneung",
        prefix: "강원특별자치도 강릉시",
        districts: &[("", "Gangneung", &["교동", "강문동", "주문진읍", "경포동"])],
    },
    Region {
        name: "속초",
        english: "Sokcho",
        prefix: "강원특별자치도 속초시",
        districts: &[("", "Sokcho", &["영랑동", "조양동", "대포동"])],
    },
    Region {
        name: "경주",
        english: "Gyeongju",
        prefix: "경상북도 경주시",
        districts: &[("", "Gyeongju", &["황남동", "보덕동", "동천동"])],
    },
    Region {
        name: "전주",
        english: "Jeonju",
        prefix: "전북특별자치도 전주시",
        districts: &[
            ("완산구", "Wansan", &["풍남동", "교동"]),
            ("덕진구", "Deokjin", &["덕진동"]),
        ],
    },
    Region {
        name: "여수",
        english: "Yeosu",
        prefix: "전라남도 여수시",
        districts: &[("", "Yeosu", &["돌산읍", "중앙동", "소호동"])],
    },
    Region {
        name: "인천",
        english: "Incheon",
        prefix: "인천광역시",
        districts: &[
            ("연수구", "Songdo", &["송도동"]),
            ("중구", "Jung-gu", &["북성동", "운서동"]),
            ("강화군", "Ganghwa", &["강화읍"]),
        ],
    },
    Region {
        name: "대구",
        english: "Daegu",
        prefix: "대구광역시",
        districts: &[
            ("중구", "Jung-gu", &["삼덕동", "동성로"]),
            ("수성구", "Suseong", &["범어동"]),
        ],
    },
    Region {
        name: "가평",
        english: "Gapyeong",
        prefix: "경기도 가평군",
        districts: &[("", "Gapyeong", &["가평읍", "청평면", "설악면"])],
    },
    Region {
        name: "양양",
        english: "Yangyang",
        prefix: "강원특별자치도 양양군",
        districts: &[("", "Yangyang", &["양양읍", "현남면", "강현면"])],
    },
    Region {
        name: "통영",
        english: "Tongyeong",
        prefix: "경상남도 통영시",
        districts: &[("", "Tongyeong", &["봉평동", "도남동", "중앙동"])],
    },
    Region {
        name: "남해",
        english: "Namhae",
        prefix: "경상남도 남해군",
        districts: &[("", "Namhae", &["남해읍", "상주면", "삼동면"])],
    },
    Region {
        name: "포항",
        english: "Pohang",
        prefix: "경상북도 포항시",
        districts: &[
            ("남구", "Guryongpo", &["구룡포읍", "호미곶면"]),
            ("북구", "Pohang", &["두호동", "죽도동"]),
        ],
    },
    Region {
        name: "춘천",
        english: "Chuncheon",
        prefix: "강원특별자치도 춘천시",
        districts: &[("", "Chuncheon", &["남산면", "효자동", "소양동"])],
    },
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
const BATCH: usize = 50;
/// Out of 1,000 nights, how many are closed, and how many sold out (sold
/// through other channels), chosen by a hash so a rerun picks the same.
const CLOSED_PER_MILLE: i32 = 15;
const SOLD_OUT_PER_MILLE: i32 = 30;

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
            let batch = Batch::of(start..end);
            let mut tx = pool.begin().await?;
            batch.write(&mut tx).await?;
            tx.commit().await?;
            created += end - start;
        }
        start = end;
        progress(start);
    }
    Ok(created)
}

use staymesh_platform::demo::{property_id, room_type_id, seeded_id};

/// One batch's rows, column by column, for UNNEST inserts.
#[derive(Debug, Default)]
struct Batch {
    // property
    ids: Vec<Uuid>,
    names: Vec<String>,
    regions: Vec<String>,
    addresses: Vec<String>,
    descriptions: Vec<String>,
    amenities: Vec<String>,
    images: Vec<String>,
    ratings: Vec<f64>,
    reviews: Vec<i32>,
    // room_type
    room_ids: Vec<Uuid>,
    room_properties: Vec<Uuid>,
    room_names: Vec<String>,
    room_base: Vec<i32>,
    room_max: Vec<i32>,
    room_totals: Vec<i32>,
    room_prices: Vec<i64>,
    // time_sale
    sale_ids: Vec<Uuid>,
    sale_properties: Vec<Uuid>,
    sale_percents: Vec<i32>,
    sale_days: Vec<i32>,
}

impl Batch {
    fn of(indexes: std::ops::Range<usize>) -> Batch {
        let mut b = Batch::default();
        for index in indexes {
            b.add(index);
        }
        b
    }

    fn add(&mut self, index: usize) {
        let mut rng = StdRng::seed_from_u64(index as u64);
        let region = &REGIONS[index % REGIONS.len()];
        let (kind, kind_en) = KINDS[rng.random_range(0..KINDS.len())];
        let (mood, mood_en) = MOODS[rng.random_range(0..MOODS.len())];
        let (district, district_en, places) =
            region.districts[rng.random_range(0..region.districts.len())];
        let place = places[rng.random_range(0..places.len())];
        let number = index / REGIONS.len() + 1;
        let id = property_id(index);
        let amenities: Vec<&str> = AMENITIES
            .iter()
            .filter(|_| rng.random_bool(0.5))
            .copied()
            .collect();
        let street = if district.is_empty() {
            format!("{} {place}", region.prefix)
        } else {
            format!("{} {district} {place}", region.prefix)
        };
        let near = if district_en == region.english {
            region.english.to_owned()
        } else {
            format!("{district_en}, {}", region.english)
        };
        self.ids.push(id);
        self.names
            .push(format!("{} {mood} {kind} {number}호점", region.name));
        self.regions.push(region.name.to_owned());
        self.addresses.push(format!(
            "{street} {}-{}",
            rng.random_range(1..900),
            rng.random_range(1..40)
        ));
        let article = if mood_en.starts_with(['a', 'e', 'i', 'o', 'u']) {
            "An"
        } else {
            "A"
        };
        self.descriptions.push(format!(
            "{}의 {mood} {kind}입니다. {article} {mood_en} {kind_en} in {near}, \
             close to local restaurants and transport.",
            region.name
        ));
        // Postgres arrays of arrays must be rectangular: amenities travel
        // as one comma-separated string each.
        self.amenities.push(amenities.join(","));
        self.images
            .push(format!("https://images.staymesh.dev/demo/{index}.jpg"));
        // A rating so sorting by rating has something to sort until reviews exist.
        self.ratings
            .push(f64::from(rng.random_range(30..=50_u32)) / 10.0);
        self.reviews.push(rng.random_range(0..500));

        let room_count = rng.random_range(2..=4);
        let base_price = rng.random_range(5..=40_i64) * 10_000;
        for (r, (name, base, max)) in ROOMS.iter().take(room_count).enumerate() {
            self.room_ids.push(room_type_id(index, r));
            self.room_properties.push(id);
            self.room_names.push((*name).to_owned());
            self.room_base.push(*base);
            self.room_max.push(*max);
            self.room_totals.push(rng.random_range(3..=20));
            // r < 4: the cast cannot truncate.
            self.room_prices.push(base_price + r as i64 * 30_000);
        }
        // One property in twenty runs a time sale, for 3 to 30 days.
        if rng.random_range(0..20) == 0 {
            self.sale_ids.push(seeded_id(3, index));
            self.sale_properties.push(id);
            self.sale_percents.push(rng.random_range(1..=3) * 10);
            self.sale_days.push(rng.random_range(3..=30));
        }
    }

    async fn write(self, tx: &mut sqlx::PgConnection) -> Result<()> {
        let host = staymesh_platform::demo::HOST_ID.to_string();
        sqlx::query(
            "INSERT INTO property (id, host_id, name, region, address, description, amenities, \
               image_urls, check_in_time, check_out_time, rating, review_count) \
             SELECT id, $1, name, region, address, description, \
                    coalesce(string_to_array(NULLIF(amenities, ''), ','), '{}'), ARRAY[image], \
                    '15:00', '11:00', rating, reviews \
             FROM unnest($2::uuid[], $3::text[], $4::text[], $5::text[], $6::text[], \
                         $7::text[], $8::text[], $9::float8[], $10::int[]) \
               AS p(id, name, region, address, description, amenities, image, rating, reviews)",
        )
        .bind(host)
        .bind(&self.ids)
        .bind(&self.names)
        .bind(&self.regions)
        .bind(&self.addresses)
        .bind(&self.descriptions)
        .bind(&self.amenities)
        .bind(&self.images)
        .bind(&self.ratings)
        .bind(&self.reviews)
        .execute(&mut *tx)
        .await?;
        sqlx::query(
            "INSERT INTO room_type (id, property_id, name, base_occupancy, max_occupancy, \
               extra_guest_fee, total_rooms) \
             SELECT id, property_id, name, base, max, 20000, total \
             FROM unnest($1::uuid[], $2::uuid[], $3::text[], $4::int[], $5::int[], $6::int[]) \
               AS r(id, property_id, name, base, max, total)",
        )
        .bind(&self.room_ids)
        .bind(&self.room_properties)
        .bind(&self.room_names)
        .bind(&self.room_base)
        .bind(&self.room_max)
        .bind(&self.room_totals)
        .execute(&mut *tx)
        .await?;
        // A year of nights; Friday and Saturday cost 30% more. A hash of the
        // room type and night closes some nights and sells out others.
        let start = today();
        sqlx::query(
            "INSERT INTO night (room_type_id, night, price, total, sold, closed) \
             SELECT r.id, d::date, \
                    CASE WHEN extract(isodow FROM d) IN (5, 6) THEN r.price * 13 / 10 \
                         ELSE r.price END, \
                    r.total, \
                    CASE WHEN h.v >= $6 AND h.v < $6 + $7 THEN r.total ELSE 0 END, \
                    h.v < $6 \
             FROM unnest($1::uuid[], $2::bigint[], $3::int[]) AS r(id, price, total) \
             CROSS JOIN generate_series($4::date, $5::date, interval '1 day') AS d \
             CROSS JOIN LATERAL (SELECT abs(hashtext(r.id::text || d::date::text)) % 1000 AS v) h \
             ON CONFLICT DO NOTHING",
        )
        .bind(&self.room_ids)
        .bind(&self.room_prices)
        .bind(&self.room_totals)
        .bind(start)
        .bind(start + Duration::days(364))
        .bind(CLOSED_PER_MILLE)
        .bind(SOLD_OUT_PER_MILLE)
        .execute(&mut *tx)
        .await?;
        let now = Utc::now();
        sqlx::query(
            "INSERT INTO time_sale (id, property_id, discount_percent, starts_at, ends_at) \
             SELECT id, property_id, percent, $4, $4 + days * interval '1 day' \
             FROM unnest($1::uuid[], $2::uuid[], $3::int[], $5::int[]) \
               AS s(id, property_id, percent, days)",
        )
        .bind(&self.sale_ids)
        .bind(&self.sale_properties)
        .bind(&self.sale_percents)
        .bind(now - Duration::hours(1))
        .bind(&self.sale_days)
        .execute(&mut *tx)
        .await?;
        Ok(())
    }
}
