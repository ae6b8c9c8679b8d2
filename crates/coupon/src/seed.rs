//! Demo data for local runs: a welcome coupon and a first-come-first-served
//! event of 1,000 that is open for 30 days from the first seed. Idempotent:
//! fixed ids, and a second run adds nothing.

use sqlx::PgPool;
use staymesh_platform::service::{BoxError, Seeding};
use uuid::Uuid;

use staymesh_platform::rpc::Result;

/// The demo coupon: 10% off, at most 20,000 won, on bookings from 50,000 won.
pub const DEMO_COUPON_ID: Uuid = Uuid::from_u128(0x0190c0de_0000_7000_8000_00000000c001);
/// Its issuance event.
pub const DEMO_EVENT_ID: Uuid = Uuid::from_u128(0x0190c0de_0000_7000_8000_00000000e001);

/// Creates the demo coupon and event where missing; true if this run created them.
pub async fn seed(pool: &PgPool, admin_id: &str) -> Result<bool> {
    let mut tx = pool.begin().await?;
    let created = sqlx::query(
        "INSERT INTO coupon (id, name, description, discount_type, discount_percent, \
           max_discount, min_booking_price, valid_from, valid_until, created_by) \
         VALUES ($1, '웰컴 쿠폰 10%', 'Welcome: 10% off stays from 50,000 won (up to 20,000 won)', \
           'PERCENT', 10, 20000, 50000, now() - interval '1 day', now() + interval '90 days', $2) \
         ON CONFLICT (id) DO NOTHING",
    )
    .bind(DEMO_COUPON_ID)
    .bind(admin_id)
    .execute(&mut *tx)
    .await?
    .rows_affected()
        == 1;
    sqlx::query(
        "INSERT INTO issuance_event (id, coupon_id, quantity, opens_at, closes_at, created_by) \
         VALUES ($1, $2, 1000, now(), now() + interval '30 days', $3) \
         ON CONFLICT (id) DO NOTHING",
    )
    .bind(DEMO_EVENT_ID)
    .bind(DEMO_COUPON_ID)
    .bind(admin_id)
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(created)
}

/// `staymesh seed`'s part: the demo coupon and event, made by the demo admin.
pub(crate) async fn demo(seeding: Seeding) -> Result<Vec<String>, BoxError> {
    let (pool, _redis) = crate::DESCRIPTOR.connect(&seeding.infra).await?;
    let created = seed(&pool, &staymesh_platform::demo::ADMIN_ID.to_string()).await?;
    Ok(vec![format!(
        "demo coupon event {DEMO_EVENT_ID} (1,000 coupons){}",
        if created { " (new)" } else { "" }
    )])
}
