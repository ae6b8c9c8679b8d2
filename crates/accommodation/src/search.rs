//! Availability search: one SQL statement finds the room types free on every
//! night of the stay, prices them (time sales and extra guests included),
//! filters, ranks and pages the properties. The statement text is assembled
//! from the filters actually given, so each shape gets its own prepared plan
//! and the trigram indexes are used for keywords.

use sqlx::PgPool;
use staymesh_proto::accommodation as pb;
use uuid::Uuid;

use crate::convert::{Nights, money};
use staymesh_platform::rpc::Result;

/// A validated search.
#[derive(Debug, Clone)]
pub(crate) struct Query {
    pub(crate) region: Option<String>,
    pub(crate) keyword: Option<String>,
    pub(crate) stay: Nights,
    pub(crate) guests: i32,
    pub(crate) min_price: Option<i64>,
    pub(crate) max_price: Option<i64>,
    pub(crate) sort: pb::SearchSort,
    pub(crate) limit: i64,
    pub(crate) offset: i64,
}

#[derive(Debug, sqlx::FromRow)]
struct Row {
    property_id: Uuid,
    name: String,
    region: String,
    address: String,
    thumbnail: Option<String>,
    rating: f64,
    review_count: i32,
    lowest: i64,
    room_type_id: Uuid,
    room_name: String,
    max_occupancy: i32,
    rooms_left: i32,
    total_price: i64,
}

/// The properties whose name, region or description match `keyword`, found
/// through the trigram indexes. The planner, pricing a trigram comparison like
/// an integer one, prefers scanning every property's description (~13 ms on
/// the demo data) to the three index scans (~1.5 ms), so the look-up runs on
/// its own with sequential scans switched off for just this statement.
async fn keyword_matches(pool: &PgPool, keyword: &str) -> Result<Vec<Uuid>> {
    let mut tx = pool.begin().await?;
    sqlx::query("SET LOCAL enable_seqscan = off")
        .execute(&mut *tx)
        .await?;
    let ids = sqlx::query_scalar(
        "SELECT id FROM property WHERE $1 <% name OR $1 <% region OR $1 <% description",
    )
    .bind(keyword)
    .fetch_all(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(ids)
}

/// One page of results, and whether another follows.
pub(crate) async fn search(pool: &PgPool, q: &Query) -> Result<(Vec<pb::SearchResult>, bool)> {
    let matches = match &q.keyword {
        Some(keyword) => {
            let ids = keyword_matches(pool, keyword).await?;
            if ids.is_empty() {
                return Ok((Vec::new(), false));
            }
            Some(ids)
        }
        None => None,
    };
    let sql = statement(q);
    let mut query = sqlx::query_as::<_, Row>(sqlx::AssertSqlSafe(sql))
        .bind(q.stay.start)
        .bind(q.stay.end)
        .bind(q.stay.count())
        .bind(q.guests)
        .bind(q.limit + 1)
        .bind(q.offset);
    if let Some(region) = &q.region {
        query = query.bind(region);
    }
    if let (Some(keyword), Some(ids)) = (&q.keyword, &matches) {
        query = query.bind(keyword).bind(ids);
    }
    if let Some(min) = q.min_price {
        query = query.bind(min);
    }
    if let Some(max) = q.max_price {
        query = query.bind(max);
    }
    let rows = query.fetch_all(pool).await?;

    let mut results: Vec<pb::SearchResult> = Vec::new();
    for row in rows {
        let room = pb::AvailableRoom {
            room_type_id: row.room_type_id.to_string(),
            name: row.room_name,
            max_occupancy: row.max_occupancy,
            rooms_left: row.rooms_left,
            total_price: Some(money(row.total_price)),
        };
        let id = row.property_id.to_string();
        match results.last_mut() {
            Some(last) if last.property_id == id => last.rooms.push(room),
            _ => results.push(pb::SearchResult {
                property_id: id,
                name: row.name,
                region: row.region,
                address: row.address,
                thumbnail_url: row.thumbnail.unwrap_or_default(),
                rating: row.rating,
                review_count: row.review_count,
                lowest_total_price: Some(money(row.lowest)),
                rooms: vec![room],
            }),
        }
    }
    // limit is a page size, 1 to 100.
    let limit = usize::try_from(q.limit).unwrap_or(usize::MAX);
    let more = results.len() > limit;
    results.truncate(limit);
    Ok((results, more))
}

/// Builds the statement. Fixed parameters: $1 check-in, $2 check-out,
/// $3 nights, $4 guests, $5 limit (+1 to see a next page), $6 offset; then
/// region, keyword (then the ids of the properties it matches), min and max
/// price in that order when present.
fn statement(q: &Query) -> String {
    let mut next = 7;
    let mut param = || {
        let p = format!("${next}");
        next += 1;
        p
    };
    let mut candidate_filters = vec!["rt.max_occupancy >= $4".to_owned()];
    if q.region.is_some() {
        candidate_filters.push(format!("p.region = {}", param()));
    }
    let relevance = match q.keyword {
        Some(_) => {
            let kw = param();
            let matching = param();
            candidate_filters.push(format!("p.id = ANY({matching})"));
            // Name matches outrank region matches, which outrank description matches.
            format!(
                "greatest(3 * word_similarity({kw}, p.name), \
                 2 * word_similarity({kw}, p.region), word_similarity({kw}, p.description))"
            )
        }
        None => "0::real".to_owned(),
    };
    let mut price_filters = vec!["true".to_owned()];
    if q.min_price.is_some() {
        price_filters.push(format!("total_price >= {}", param()));
    }
    if q.max_price.is_some() {
        price_filters.push(format!("total_price <= {}", param()));
    }
    let order = match q.sort {
        pb::SearchSort::PriceAsc => "min(total_price) ASC, property_id",
        pb::SearchSort::PriceDesc => "min(total_price) DESC, property_id",
        pb::SearchSort::Rating => "max(rating) DESC, max(review_count) DESC, property_id",
        pb::SearchSort::Relevance | pb::SearchSort::Unspecified => {
            "max(relevance) DESC, max(rating) DESC, property_id"
        }
    };
    format!(
        "WITH candidate AS ( \
           SELECT rt.id AS room_type_id, rt.name AS room_name, rt.max_occupancy, \
                  rt.base_occupancy, rt.extra_guest_fee, p.id AS property_id, p.name, \
                  p.region, p.address, p.image_urls[1] AS thumbnail, p.rating, \
                  p.review_count, {relevance} AS relevance, \
                  active_sale_percent(rt.id, now()) AS sale_percent \
           FROM property p JOIN room_type rt ON rt.property_id = p.id \
           WHERE {candidate_filters} \
         ), stay AS ( \
           SELECT n.room_type_id, min(n.total - n.held - n.sold) AS rooms_left, \
                  sum(sale_price(n.price, c.sale_percent)) AS nights_price \
           FROM candidate c JOIN night n ON n.room_type_id = c.room_type_id \
           WHERE n.night >= $1 AND n.night < $2 AND NOT n.closed \
             AND n.total - n.held - n.sold > 0 \
           GROUP BY n.room_type_id HAVING count(*) = $3 \
         ), room AS ( \
           SELECT * FROM ( \
             SELECT c.*, s.rooms_left, (s.nights_price \
                    + greatest(0, $4 - c.base_occupancy) * c.extra_guest_fee * $3)::bigint \
                    AS total_price \
             FROM candidate c JOIN stay s USING (room_type_id) \
           ) priced WHERE {price_filters} \
         ), page AS ( \
           SELECT property_id, min(total_price) AS lowest, \
                  row_number() OVER (ORDER BY {order}) AS position \
           FROM room GROUP BY property_id \
           ORDER BY {order} LIMIT $5 OFFSET $6 \
         ) \
         SELECT r.property_id, r.name, r.region, r.address, r.thumbnail, r.rating, \
                r.review_count, page.lowest, r.room_type_id, r.room_name, r.max_occupancy, \
                r.rooms_left, r.total_price \
         FROM room r JOIN page USING (property_id) \
         ORDER BY page.position, r.total_price, r.room_type_id",
        candidate_filters = candidate_filters.join(" AND "),
        price_filters = price_filters.join(" AND "),
    )
}
