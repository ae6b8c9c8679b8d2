//! Demo data for local runs: one completed stay of the demo guest, at the
//! first demo property, so a review (and its photos) can be tried at once
//! without waiting for a booked stay to end. Each run moves its completion
//! to yesterday, so the review window is open after every seed.

use staymesh_platform::demo::{COMPLETED_STAY_ID, GUEST_ID, property_id, room_type_id};
use staymesh_platform::service::{BoxError, Seeding};

/// `staymesh seed`'s part: the demo guest's completed stay.
pub(crate) async fn demo(seeding: Seeding) -> Result<Vec<String>, BoxError> {
    let (pool, _redis) = crate::DESCRIPTOR.connect(&seeding.infra).await?;
    let inserted = sqlx::query(
        "INSERT INTO stay (booking_id, user_id, property_id, room_type_id, completed_at) \
         VALUES ($1, $2, $3, $4, now() - interval '1 day') \
         ON CONFLICT (booking_id) DO UPDATE SET completed_at = EXCLUDED.completed_at \
         RETURNING (xmax = 0)",
    )
    .bind(COMPLETED_STAY_ID)
    .bind(GUEST_ID)
    .bind(property_id(0))
    .bind(room_type_id(0, 0))
    .fetch_one(&pool)
    .await
    .map(|row: sqlx::postgres::PgRow| sqlx::Row::get::<bool, _>(&row, 0))?;
    Ok(vec![format!(
        "demo guest's completed stay to review: booking {COMPLETED_STAY_ID} at property {}{}",
        property_id(0),
        if inserted { " (new)" } else { "" }
    )])
}
