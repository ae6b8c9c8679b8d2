//! What the payment service tells the saga, through the outbox in the same
//! transaction as the change (`<prefix>.payment.events`, keyed by booking).

use chrono::{DateTime, Utc};
use sqlx::PgConnection;
use staymesh_platform::convert::{money, timestamp};
use staymesh_platform::kafka::outbox;
use staymesh_proto::saga;

use crate::store::PaymentRow;

/// `PaymentApproved`: paid and verified with the PG.
pub(crate) async fn approved(
    conn: &mut PgConnection,
    topic: &str,
    payment: &PaymentRow,
) -> Result<(), staymesh_platform::Error> {
    let event = saga::PaymentApproved {
        saga_id: payment.saga_id.clone(),
        booking_id: payment.booking_id.to_string(),
        payment_id: payment.id.to_string(),
        payment_key: payment.payment_key.clone().unwrap_or_default(),
        amount: Some(money(payment.amount)),
        paid_at: payment.paid_at.map(timestamp),
    };
    outbox::enqueue(conn, topic, &event.booking_id, &event).await?;
    metrics::counter!("payment_approved_total").increment(1);
    Ok(())
}

/// `PaymentFailed`: declined, or the PG's record did not match ours.
pub(crate) async fn failed(
    conn: &mut PgConnection,
    topic: &str,
    payment: &PaymentRow,
) -> Result<(), staymesh_platform::Error> {
    let event = saga::PaymentFailed {
        saga_id: payment.saga_id.clone(),
        booking_id: payment.booking_id.to_string(),
        payment_id: payment.id.to_string(),
        reason: payment.failure_reason.clone(),
    };
    outbox::enqueue(conn, topic, &event.booking_id, &event).await?;
    metrics::counter!("payment_failed_total").increment(1);
    Ok(())
}

/// `PaymentRefunded`: the PG gave `amount` back.
pub(crate) async fn refunded(
    conn: &mut PgConnection,
    topic: &str,
    payment: &PaymentRow,
    refund_id: uuid::Uuid,
    amount: i64,
    at: DateTime<Utc>,
) -> Result<(), staymesh_platform::Error> {
    let event = saga::PaymentRefunded {
        saga_id: payment.saga_id.clone(),
        booking_id: payment.booking_id.to_string(),
        payment_id: payment.id.to_string(),
        refund_id: refund_id.to_string(),
        amount: Some(money(amount)),
        refunded_at: Some(timestamp(at)),
    };
    outbox::enqueue(conn, topic, &event.booking_id, &event).await?;
    metrics::counter!("payment_refunded_total").increment(1);
    Ok(())
}
