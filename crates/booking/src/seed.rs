//! Demo data for local runs: the demo guest's completed stay as a booking, so
//! that "my bookings" lists it with its review link. The review service's
//! seed records the same stay (same id) as reviewable. Each run moves the stay
//! to the two nights before yesterday, completed yesterday.

use staymesh_platform::demo::{COMPLETED_STAY_ID, GUEST_ID, HOST_ID, property_id, room_type_id};
use staymesh_platform::service::{BoxError, Seeding};
use uuid::Uuid;

/// What the demo stay cost (two nights; demo history, not today's rates).
const PRICE: i64 = 180_000;

/// `staymesh seed`'s part: the demo guest's completed booking.
pub(crate) async fn demo(seeding: Seeding) -> Result<Vec<String>, BoxError> {
    let (pool, _redis) = crate::DESCRIPTOR.connect(&seeding.infra).await?;
    let inserted: bool = sqlx::query_scalar(
        "INSERT INTO booking (id, saga_id, user_id, property_id, host_id, room_type_id, \
             check_in, check_out, guests, state, price, paid_amount, payment_due_at, \
             idempotency_key, request_hash, created_at, confirmed_at, completed_at) \
         VALUES ($1, $2, $3, $4, $5, $6, current_date - 3, current_date - 1, 2, 'COMPLETED', \
             $7, $7, now() - interval '10 days', 'demo-completed-stay', '\\x00', \
             now() - interval '10 days', now() - interval '10 days', now() - interval '1 day') \
         ON CONFLICT (id) DO UPDATE SET check_in = EXCLUDED.check_in, \
             check_out = EXCLUDED.check_out, completed_at = EXCLUDED.completed_at, \
             updated_at = now() \
         RETURNING (xmax = 0)",
    )
    .bind(COMPLETED_STAY_ID)
    // The saga id only has to be unique; the stay never had a saga here.
    .bind(Uuid::from_u128(COMPLETED_STAY_ID.as_u128() ^ 0x5a6a))
    .bind(GUEST_ID)
    .bind(property_id(0))
    .bind(HOST_ID)
    .bind(room_type_id(0, 0))
    .bind(PRICE)
    .fetch_one(&pool)
    .await?;
    Ok(vec![format!(
        "demo guest's completed booking {COMPLETED_STAY_ID} (listed in \"my bookings\"){}",
        if inserted { " (new)" } else { "" }
    )])
}
