//! CreateBooking: the request checked, the stay priced by the services that
//! know, and the booking stored PENDING together with the `BookingRequested`
//! that starts its saga, in one transaction. Nothing is held here: the saga
//! holds, reserves and charges, so the call returns at once.

use chrono::{DateTime, NaiveDate, Utc};
use prost::Message;
use sha2::{Digest, Sha256};
use sqlx::PgPool;
use staymesh_platform::FieldViolations;
use staymesh_platform::convert::{self, money, timestamp, to_proto_date};
use staymesh_platform::kafka::outbox;
use staymesh_platform::rpc::{Error, Result};
use staymesh_proto::booking as pb;
use staymesh_proto::saga::BookingRequested;
use uuid::Uuid;

use crate::bookings::Bookings;
use crate::pricing::{self, Stay};
use crate::store::{self, BookingRow, COLUMNS};

/// Longest idempotency key.
const MAX_KEY: usize = 64;
/// Longest stay, in nights.
const MAX_NIGHTS: i64 = 30;

/// A booking asked for, checked.
#[derive(Debug, Clone)]
pub(crate) struct NewBooking {
    pub(crate) user_id: Uuid,
    pub(crate) check_in: NaiveDate,
    pub(crate) check_out: NaiveDate,
    pub(crate) stay: Stay,
    pub(crate) user_coupon_id: Option<Uuid>,
    pub(crate) points: i64,
    pub(crate) key: String,
    /// The request's fingerprint: a retry under the key must match it.
    pub(crate) hash: Vec<u8>,
    /// Spent when the stay is on a time sale with a waiting room.
    pub(crate) admission_token: String,
}

impl NewBooking {
    /// Reads the request; every bad field is named at once.
    pub(crate) fn read(user_id: Uuid, r: &pb::CreateBookingRequest) -> Result<Self> {
        let mut v = FieldViolations::new();
        let room_type_id = convert::id(&r.room_type_id, "room_type_id", &mut v);
        let check_in = convert::date(r.check_in.as_ref(), "check_in", &mut v);
        let check_out = convert::date(r.check_out.as_ref(), "check_out", &mut v);
        if let Some(check_in) = check_in {
            v.check(
                check_in >= convert::today(),
                "check_in",
                "must not be before today",
            );
        }
        if let (Some(check_in), Some(check_out)) = (check_in, check_out) {
            let nights = (check_out - check_in).num_days();
            v.check(nights >= 1, "check_out", "must be after check_in");
            v.check(
                nights <= MAX_NIGHTS,
                "check_out",
                &format!("must be at most {MAX_NIGHTS} nights after check_in"),
            );
        }
        v.check(r.guests >= 1, "guests", "must be at least 1");
        let user_coupon_id = if r.user_coupon_id.is_empty() {
            None
        } else {
            convert::id(&r.user_coupon_id, "user_coupon_id", &mut v)
        };
        v.check(
            r.points_to_use >= 0,
            "points_to_use",
            "must not be negative",
        );
        let key = r.idempotency_key.trim();
        v.check(!key.is_empty(), "idempotency_key", "is required");
        v.check(
            key.chars().count() <= MAX_KEY,
            "idempotency_key",
            &format!("must be at most {MAX_KEY} characters"),
        );
        v.into_result()?;
        let (Some(room_type_id), Some(check_in), Some(check_out)) =
            (room_type_id, check_in, check_out)
        else {
            return Err(Error::invalid("request", "is incomplete"));
        };
        Ok(Self {
            user_id,
            check_in,
            check_out,
            stay: Stay {
                room_type_id,
                check_in: to_proto_date(check_in),
                check_out: to_proto_date(check_out),
                guests: r.guests,
            },
            user_coupon_id,
            points: r.points_to_use,
            key: key.to_owned(),
            // A retry may carry a newer admission token: same booking.
            hash: Sha256::digest(
                pb::CreateBookingRequest {
                    admission_token: String::new(),
                    ..r.clone()
                }
                .encode_to_vec(),
            )
            .to_vec(),
            admission_token: r.admission_token.clone(),
        })
    }
}

/// The booking of an earlier request under the same key, if any; a
/// different request under it is refused.
async fn replay(pool: &PgPool, new: &NewBooking) -> Result<Option<BookingRow>> {
    let found: Option<(Uuid, Vec<u8>)> = sqlx::query_as(
        "SELECT id, request_hash FROM booking WHERE user_id = $1 AND idempotency_key = $2",
    )
    .bind(new.user_id)
    .bind(&new.key)
    .fetch_optional(pool)
    .await?;
    let Some((id, hash)) = found else {
        return Ok(None);
    };
    if hash != new.hash {
        return Err(Error::invalid(
            "idempotency_key",
            "was used for a different booking; choose a new key",
        ));
    }
    Ok(store::by_id(pool, id).await?)
}

/// Prices and stores the booking with its saga's first event; a retry
/// returns the first booking.
pub(crate) async fn create(
    bookings: &Bookings,
    new: NewBooking,
    authorization: &str,
) -> Result<BookingRow> {
    let (pool, pricing) = (&bookings.pool, &bookings.pricing);
    if let Some(first) = replay(pool, &new).await? {
        return Ok(first);
    }
    let booking_id = Uuid::now_v7();
    let quote = pricing.stay(&new.stay).await?;
    // A sale behind a waiting room: only those it admitted book at it.
    if let Ok(sale) = Uuid::parse_str(&quote.guarded_time_sale_id) {
        bookings
            .gate
            .spend(sale, &new.user_id.to_string(), &new.admission_token)
            .await?;
    }
    let price = quote.total_price.as_ref().map_or(0, |m| m.amount);
    let host_id = Uuid::parse_str(&quote.host_id)
        .map_err(|_| Error::Precondition("the property's host is not a user".into()))?;
    let property_id = Uuid::parse_str(&quote.property_id)
        .map_err(|_| Error::Precondition("the room type's property has no id".into()))?;
    let discount = match new.user_coupon_id {
        Some(coupon) => {
            pricing
                .discount(booking_id, new.user_id, coupon, &quote.host_id, price)
                .await?
        }
        None => 0,
    };
    let left = price - discount;
    // The cheap check first: no need to ask the point service for too many.
    pricing::check_points(new.points, left, None)?;
    if new.points > 0 {
        let available = pricing.available_points(authorization).await?;
        pricing::check_points(new.points, left, Some(available))?;
    }
    let due = Utc::now()
        + chrono::Duration::from_std(bookings.payment_window)
            .unwrap_or(chrono::Duration::minutes(10));
    let nights = (new.check_out - new.check_in).num_days();
    let row = Stored {
        booking_id,
        saga_id: Uuid::now_v7(),
        property_id,
        host_id,
        price,
        discount,
        due,
        order_name: format!(
            "{} {} {nights}박",
            quote.property_name, quote.room_type_name
        ),
    };
    store_with_event(pool, &bookings.events_topic, &new, &row).await
}

/// What the pricing decided, to be stored.
struct Stored {
    booking_id: Uuid,
    saga_id: Uuid,
    property_id: Uuid,
    host_id: Uuid,
    price: i64,
    discount: i64,
    due: DateTime<Utc>,
    order_name: String,
}

async fn store_with_event(
    pool: &PgPool,
    topic: &str,
    new: &NewBooking,
    s: &Stored,
) -> Result<BookingRow> {
    let mut tx = pool.begin().await?;
    let sql = format!(
        "INSERT INTO booking (id, saga_id, user_id, property_id, host_id, room_type_id, \
           check_in, check_out, guests, state, price, discount, points, paid_amount, \
           user_coupon_id, payment_due_at, idempotency_key, request_hash) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, 'PENDING', $10, $11, $12, $13, $14, $15, \
           $16, $17) \
         ON CONFLICT (user_id, idempotency_key) DO NOTHING RETURNING {COLUMNS}"
    );
    let inserted: Option<BookingRow> = sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(s.booking_id)
        .bind(s.saga_id)
        .bind(new.user_id)
        .bind(s.property_id)
        .bind(s.host_id)
        .bind(new.stay.room_type_id)
        .bind(new.check_in)
        .bind(new.check_out)
        .bind(new.stay.guests)
        .bind(s.price)
        .bind(s.discount)
        .bind(new.points)
        .bind(s.price - s.discount - new.points)
        .bind(new.user_coupon_id)
        .bind(s.due)
        .bind(&new.key)
        .bind(&new.hash)
        .fetch_optional(&mut *tx)
        .await?;
    let Some(row) = inserted else {
        // A concurrent retry under the same key won: return its booking.
        tx.rollback().await?;
        return replay(pool, new)
            .await?
            .ok_or_else(|| Error::Precondition("the booking changed concurrently, retry".into()));
    };
    let event = BookingRequested {
        saga_id: row.saga_id.to_string(),
        booking_id: row.id.to_string(),
        user_id: row.user_id.to_string(),
        property_id: row.property_id.to_string(),
        host_id: row.host_id.to_string(),
        room_type_id: row.room_type_id.to_string(),
        check_in: Some(new.stay.check_in),
        check_out: Some(new.stay.check_out),
        guests: row.guests,
        rooms: 1,
        user_coupon_id: row
            .user_coupon_id
            .map(|id| id.to_string())
            .unwrap_or_default(),
        points_to_use: row.points,
        price: Some(money(row.price)),
        order_name: s.order_name.clone(),
        payment_due_at: Some(timestamp(row.payment_due_at)),
    };
    outbox::enqueue(&mut tx, topic, &event.booking_id, &event).await?;
    tx.commit().await?;
    metrics::counter!("staymesh_bookings_created_total").increment(1);
    Ok(row)
}
