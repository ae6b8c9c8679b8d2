//! Completion: once a confirmed stay's check-out day reaches noon in Korea,
//! the booking is COMPLETED and `BookingCompleted` goes out in the same
//! transaction (the point service earns the stay's points from it, once per
//! booking; reviews open). Rows are claimed with SKIP LOCKED, so replicas
//! running the job at once never complete a booking twice.

use std::time::Duration;

use sqlx::PgPool;
use staymesh_platform::Shutdown;
use staymesh_platform::convert::{money, timestamp};
use staymesh_platform::kafka::outbox;
use staymesh_proto::saga::BookingCompleted;

use crate::store::{BookingRow, COLUMNS};

/// Bookings completed per transaction.
const BATCH: i64 = 500;

/// Completes every stay that is over; returns how many.
pub async fn complete_due(pool: &PgPool, topic: &str) -> Result<u64, staymesh_platform::Error> {
    let mut total = 0;
    loop {
        let mut tx = pool.begin().await?;
        let sql = format!(
            "UPDATE booking SET state = 'COMPLETED', completed_at = now(), updated_at = now() \
             WHERE id IN (SELECT id FROM booking WHERE state = 'CONFIRMED' \
                            AND (check_out + time '12:00') AT TIME ZONE 'Asia/Seoul' <= now() \
                          ORDER BY check_out LIMIT $1 FOR UPDATE SKIP LOCKED) \
             RETURNING {COLUMNS}"
        );
        let done: Vec<BookingRow> = sqlx::query_as(sqlx::AssertSqlSafe(sql))
            .bind(BATCH)
            .fetch_all(&mut *tx)
            .await?;
        for row in &done {
            let event = BookingCompleted {
                saga_id: row.saga_id.to_string(),
                booking_id: row.id.to_string(),
                user_id: row.user_id.to_string(),
                property_id: row.property_id.to_string(),
                room_type_id: row.room_type_id.to_string(),
                paid_amount: Some(money(row.paid_amount)),
                completed_at: row.completed_at.map(timestamp),
            };
            outbox::enqueue(&mut tx, topic, &event.booking_id, &event).await?;
        }
        tx.commit().await?;
        let count = done.len() as u64;
        total += count;
        metrics::counter!("staymesh_bookings_finished_total", "state" => "COMPLETED")
            .increment(count);
        if count < BATCH as u64 {
            return Ok(total);
        }
    }
}

/// Runs [`complete_due`] every `every` until `shutdown`.
pub(crate) async fn run(pool: PgPool, topic: String, every: Duration, shutdown: Shutdown) {
    while shutdown.sleep(every).await {
        match complete_due(&pool, &topic).await {
            Ok(0) => {}
            Ok(completed) => tracing::info!(completed, "completed stays past check-out"),
            Err(error) => tracing::warn!(%error, "completing stays failed; trying again later"),
        }
    }
}
