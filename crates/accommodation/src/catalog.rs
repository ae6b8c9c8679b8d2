//! Properties and room types: validation, storage, and who may change them.

use chrono::{DateTime, Utc};
use sqlx::PgPool;
use staymesh_platform::FieldViolations;
use staymesh_platform::auth::Caller;
use staymesh_proto::accommodation as pb;
use uuid::Uuid;

use crate::convert::{self, money, timestamp};
use staymesh_platform::rpc::{Error, Result};

/// A validated property input. On update, `None`/empty means "keep".
#[derive(Debug, Clone, Default)]
pub(crate) struct PropertyFields {
    pub(crate) name: String,
    pub(crate) region: String,
    pub(crate) address: String,
    pub(crate) description: String,
    pub(crate) amenities: Vec<String>,
    pub(crate) image_urls: Vec<String>,
    pub(crate) check_in_time: String,
    pub(crate) check_out_time: String,
}

/// A property input as stored. The contract's rules on each field were checked
/// before the handler ran; what is left is what only a create requires.
pub(crate) fn property_fields(
    input: Option<&pb::PropertyInput>,
    creating: bool,
) -> Result<PropertyFields> {
    let Some(p) = input else {
        return Err(Error::invalid("property", "is required"));
    };
    let mut v = FieldViolations::new();
    for (field, value) in [
        ("property.name", &p.name),
        ("property.region", &p.region),
        ("property.address", &p.address),
    ] {
        if creating && value.trim().is_empty() {
            v.add(field, "is required");
        }
    }
    v.into_result()?;
    let or_default = |value: &str, default: &str| {
        if value.is_empty() && creating {
            default.to_owned()
        } else {
            value.to_owned()
        }
    };
    Ok(PropertyFields {
        name: p.name.trim().to_owned(),
        region: p.region.trim().to_owned(),
        address: p.address.trim().to_owned(),
        description: p.description.clone(),
        amenities: p.amenities.clone(),
        image_urls: p.image_urls.clone(),
        check_in_time: or_default(&p.check_in_time, "15:00"),
        check_out_time: or_default(&p.check_out_time, "11:00"),
    })
}

#[derive(Debug, sqlx::FromRow)]
struct PropertyRow {
    id: Uuid,
    host_id: String,
    name: String,
    region: String,
    address: String,
    description: String,
    amenities: Vec<String>,
    image_urls: Vec<String>,
    check_in_time: String,
    check_out_time: String,
    rating: f64,
    review_count: i32,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
}

impl PropertyRow {
    fn into_proto(self, room_types: Vec<pb::RoomType>) -> pb::Property {
        pb::Property {
            property_id: self.id.to_string(),
            host_id: self.host_id,
            name: self.name,
            region: self.region,
            address: self.address,
            description: self.description,
            amenities: self.amenities,
            image_urls: self.image_urls,
            check_in_time: self.check_in_time,
            check_out_time: self.check_out_time,
            rating: self.rating,
            review_count: self.review_count,
            room_types,
            created_at: Some(timestamp(self.created_at)),
            updated_at: Some(timestamp(self.updated_at)),
        }
    }
}

#[derive(Debug, sqlx::FromRow, serde::Deserialize)]
pub(crate) struct RoomTypeRow {
    pub(crate) id: Uuid,
    pub(crate) property_id: Uuid,
    pub(crate) name: String,
    pub(crate) base_occupancy: i32,
    pub(crate) max_occupancy: i32,
    pub(crate) extra_guest_fee: i64,
    pub(crate) total_rooms: i32,
}

impl RoomTypeRow {
    fn into_proto(self) -> pb::RoomType {
        pb::RoomType {
            room_type_id: self.id.to_string(),
            property_id: self.property_id.to_string(),
            name: self.name,
            base_occupancy: self.base_occupancy,
            max_occupancy: self.max_occupancy,
            extra_guest_fee: Some(money(self.extra_guest_fee)),
            total_rooms: self.total_rooms,
        }
    }
}

const PROPERTY_COLUMNS: &str = "id, host_id, name, region, address, description, amenities, \
    image_urls, check_in_time, check_out_time, rating, review_count, created_at, updated_at";

/// Stores a new property owned by `host_id`.
pub(crate) async fn create_property(
    pool: &PgPool,
    host_id: &str,
    f: PropertyFields,
) -> Result<pb::Property> {
    insert_property(pool, Uuid::now_v7(), host_id, f).await
}

/// Inserts a property with a given id (the seed picks deterministic ones).
pub(crate) async fn insert_property(
    db: impl sqlx::PgExecutor<'_>,
    id: Uuid,
    host_id: &str,
    f: PropertyFields,
) -> Result<pb::Property> {
    let row: PropertyRow = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "INSERT INTO property (id, host_id, name, region, address, description, amenities, \
         image_urls, check_in_time, check_out_time) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) RETURNING {PROPERTY_COLUMNS}"
    )))
    .bind(id)
    .bind(host_id)
    .bind(f.name)
    .bind(f.region)
    .bind(f.address)
    .bind(f.description)
    .bind(f.amenities)
    .bind(f.image_urls)
    .bind(f.check_in_time)
    .bind(f.check_out_time)
    .fetch_one(db)
    .await?;
    Ok(row.into_proto(Vec::new()))
}

/// Changes the non-empty fields of a property the caller owns.
pub(crate) async fn update_property(
    pool: &PgPool,
    caller: &Caller,
    id: Uuid,
    f: PropertyFields,
) -> Result<pb::Property> {
    ensure_owner(pool, caller, id).await?;
    sqlx::query(
        "UPDATE property SET \
           name = COALESCE(NULLIF($2, ''), name), \
           region = COALESCE(NULLIF($3, ''), region), \
           address = COALESCE(NULLIF($4, ''), address), \
           description = COALESCE(NULLIF($5, ''), description), \
           amenities = CASE WHEN cardinality($6::text[]) > 0 THEN $6 ELSE amenities END, \
           image_urls = CASE WHEN cardinality($7::text[]) > 0 THEN $7 ELSE image_urls END, \
           check_in_time = COALESCE(NULLIF($8, ''), check_in_time), \
           check_out_time = COALESCE(NULLIF($9, ''), check_out_time), \
           updated_at = now() \
         WHERE id = $1",
    )
    .bind(id)
    .bind(f.name)
    .bind(f.region)
    .bind(f.address)
    .bind(f.description)
    .bind(f.amenities)
    .bind(f.image_urls)
    .bind(f.check_in_time)
    .bind(f.check_out_time)
    .execute(pool)
    .await?;
    get_property(pool, id).await
}

/// Whether a property exists.
pub(crate) async fn property_exists(pool: &PgPool, id: Uuid) -> Result<bool> {
    Ok(
        sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM property WHERE id = $1)")
            .bind(id)
            .fetch_one(pool)
            .await?,
    )
}

/// A property with its room types.
pub(crate) async fn get_property(pool: &PgPool, id: Uuid) -> Result<pb::Property> {
    get_properties(pool, Some(&[id]))
        .await?
        .pop()
        .ok_or_else(|| Error::not_found("property", id.to_string()))
}

/// The properties with these ids (every property for `None`), with their
/// room types, in id order.
pub(crate) async fn get_properties(
    pool: &PgPool,
    ids: Option<&[Uuid]>,
) -> Result<Vec<pb::Property>> {
    // One round trip: the room types come along as a JSON array. The hottest
    // read of the platform (when the search index misses), so it pays to
    // halve its queries.
    // Two statements, not `$1 IS NULL OR ...`, whose generic plan scans.
    let filter = if ids.is_some() {
        "WHERE id = ANY($1)"
    } else {
        ""
    };
    let sql = format!(
        "SELECT {PROPERTY_COLUMNS}, \
           (SELECT coalesce(json_agg(rt ORDER BY rt.id), '[]') FROM room_type rt \
            WHERE rt.property_id = property.id) AS room_types \
         FROM property {filter} ORDER BY id"
    );
    let mut query = sqlx::query_as(sqlx::AssertSqlSafe(sql));
    if let Some(ids) = ids {
        query = query.bind(ids);
    }
    let rows: Vec<PropertyWithRooms> = query.fetch_all(pool).await?;
    Ok(rows
        .into_iter()
        .map(|row| {
            let rooms = row
                .room_types
                .0
                .into_iter()
                .map(RoomTypeRow::into_proto)
                .collect();
            row.property.into_proto(rooms)
        })
        .collect())
}

/// A property with its room types, read in one statement.
#[derive(Debug, sqlx::FromRow)]
struct PropertyWithRooms {
    #[sqlx(flatten)]
    property: PropertyRow,
    room_types: sqlx::types::Json<Vec<RoomTypeRow>>,
}

/// One host's properties, newest first (without room types).
pub(crate) async fn list_host_properties(
    pool: &PgPool,
    host_id: &str,
    limit: i64,
    offset: i64,
) -> Result<Vec<pb::Property>> {
    let rows: Vec<PropertyRow> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT {PROPERTY_COLUMNS} FROM property WHERE host_id = $1 \
         ORDER BY id DESC LIMIT $2 OFFSET $3"
    )))
    .bind(host_id)
    .bind(limit)
    .bind(offset)
    .fetch_all(pool)
    .await?;
    Ok(rows.into_iter().map(|r| r.into_proto(Vec::new())).collect())
}

/// Refuses unless the caller owns the property (or is an admin).
pub(crate) async fn ensure_owner(pool: &PgPool, caller: &Caller, property_id: Uuid) -> Result<()> {
    let owner: Option<String> = sqlx::query_scalar("SELECT host_id FROM property WHERE id = $1")
        .bind(property_id)
        .fetch_optional(pool)
        .await?;
    match owner {
        None => Err(Error::not_found("property", property_id.to_string())),
        Some(owner) if owner == caller.user_id || caller.is_admin() => Ok(()),
        Some(_) => Err(Error::PermissionDenied(
            "only the property's host may change it".into(),
        )),
    }
}

/// A validated room type input.
#[derive(Debug, Clone)]
pub(crate) struct RoomTypeFields {
    pub(crate) name: String,
    pub(crate) base_occupancy: i32,
    pub(crate) max_occupancy: i32,
    pub(crate) extra_guest_fee: i64,
    pub(crate) total_rooms: i32,
}

/// A room type input as stored (on create and update alike). The contract's
/// rules on each field were checked before the handler ran; the rule relating
/// two fields is checked here.
pub(crate) fn room_type_fields(input: Option<&pb::RoomTypeInput>) -> Result<RoomTypeFields> {
    let Some(r) = input else {
        return Err(Error::invalid("room_type", "is required"));
    };
    let mut v = FieldViolations::new();
    v.check(
        r.max_occupancy >= r.base_occupancy,
        "room_type.max_occupancy",
        "must be at least base_occupancy",
    );
    let fee = match r.extra_guest_fee.as_ref() {
        None => 0,
        Some(_) => convert::won(
            r.extra_guest_fee.as_ref(),
            "room_type.extra_guest_fee",
            &mut v,
        )
        .unwrap_or(0),
    };
    v.into_result()?;
    Ok(RoomTypeFields {
        name: r.name.trim().to_owned(),
        base_occupancy: r.base_occupancy,
        max_occupancy: r.max_occupancy,
        extra_guest_fee: fee,
        total_rooms: r.total_rooms,
    })
}

const ROOM_TYPE_COLUMNS: &str =
    "id, property_id, name, base_occupancy, max_occupancy, extra_guest_fee, total_rooms";

/// Adds a room type to a property the caller owns.
pub(crate) async fn create_room_type(
    pool: &PgPool,
    caller: &Caller,
    property_id: Uuid,
    f: RoomTypeFields,
) -> Result<pb::RoomType> {
    ensure_owner(pool, caller, property_id).await?;
    insert_room_type(pool, Uuid::now_v7(), property_id, f).await
}

/// Inserts a room type with no ownership check (the seed and the checked path use it).
pub(crate) async fn insert_room_type(
    db: impl sqlx::PgExecutor<'_>,
    id: Uuid,
    property_id: Uuid,
    f: RoomTypeFields,
) -> Result<pb::RoomType> {
    let row: RoomTypeRow = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "INSERT INTO room_type (id, property_id, name, base_occupancy, max_occupancy, \
         extra_guest_fee, total_rooms) VALUES ($1, $2, $3, $4, $5, $6, $7) \
         RETURNING {ROOM_TYPE_COLUMNS}"
    )))
    .bind(id)
    .bind(property_id)
    .bind(f.name)
    .bind(f.base_occupancy)
    .bind(f.max_occupancy)
    .bind(f.extra_guest_fee)
    .bind(f.total_rooms)
    .fetch_one(db)
    .await?;
    Ok(row.into_proto())
}

/// Changes a room type of a property the caller owns.
pub(crate) async fn update_room_type(
    pool: &PgPool,
    caller: &Caller,
    id: Uuid,
    f: RoomTypeFields,
) -> Result<pb::RoomType> {
    let room = room_type(pool, id).await?;
    ensure_owner(pool, caller, room.property_id).await?;
    let row: RoomTypeRow = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "UPDATE room_type SET name = $2, base_occupancy = $3, max_occupancy = $4, \
         extra_guest_fee = $5, total_rooms = $6 WHERE id = $1 RETURNING {ROOM_TYPE_COLUMNS}"
    )))
    .bind(id)
    .bind(f.name)
    .bind(f.base_occupancy)
    .bind(f.max_occupancy)
    .bind(f.extra_guest_fee)
    .bind(f.total_rooms)
    .fetch_one(pool)
    .await?;
    Ok(row.into_proto())
}

/// A room type row, or NOT_FOUND.
pub(crate) async fn room_type(pool: &PgPool, id: Uuid) -> Result<RoomTypeRow> {
    let row: Option<RoomTypeRow> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT {ROOM_TYPE_COLUMNS} FROM room_type WHERE id = $1"
    )))
    .bind(id)
    .fetch_optional(pool)
    .await?;
    row.ok_or_else(|| Error::not_found("room type", id.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_create_needs_name_region_and_address_an_update_does_not() {
        let input = pb::PropertyInput {
            region: "제주".into(),
            address: "  ".into(),
            ..Default::default()
        };
        let Err(Error::Invalid(v)) = property_fields(Some(&input), true) else {
            panic!("expected invalid");
        };
        let fields: Vec<_> = v.iter().map(|f| f.field.as_str()).collect();
        assert_eq!(fields, ["property.name", "property.address"]);
        assert!(property_fields(Some(&input), false).is_ok());
    }
}
