//! The payment and refund rows, and the reads of them every path shares.

use chrono::{DateTime, Utc};
use sqlx::{PgConnection, PgPool};
use staymesh_platform::convert::{money, timestamp};
use staymesh_proto::payment as pb;
use uuid::Uuid;

/// The columns of a payment, in the order [`PaymentRow`] reads them.
pub(crate) const PAYMENT_COLUMNS: &str = "id, booking_id, saga_id, user_id, host_id, order_id, \
     order_name, payment_key, amount, refunded_amount, state, checkout_url, method, provider, \
     failure_reason, expires_at, paid_at, created_at, updated_at";

/// A payment as stored.
#[derive(Debug, Clone, sqlx::FromRow)]
pub(crate) struct PaymentRow {
    pub(crate) id: Uuid,
    pub(crate) booking_id: Uuid,
    pub(crate) saga_id: String,
    pub(crate) user_id: Uuid,
    pub(crate) host_id: Uuid,
    pub(crate) order_id: String,
    pub(crate) order_name: String,
    pub(crate) payment_key: Option<String>,
    pub(crate) amount: i64,
    pub(crate) refunded_amount: i64,
    pub(crate) state: String,
    pub(crate) checkout_url: String,
    pub(crate) method: String,
    pub(crate) provider: String,
    pub(crate) failure_reason: String,
    pub(crate) expires_at: DateTime<Utc>,
    pub(crate) paid_at: Option<DateTime<Utc>>,
    pub(crate) created_at: DateTime<Utc>,
    pub(crate) updated_at: DateTime<Utc>,
}

/// A refund as stored.
#[derive(Debug, Clone, sqlx::FromRow)]
pub(crate) struct RefundRow {
    pub(crate) id: Uuid,
    pub(crate) payment_id: Uuid,
    pub(crate) amount: i64,
    pub(crate) reason: String,
    pub(crate) state: String,
    pub(crate) refunded_at: Option<DateTime<Utc>>,
}

pub(crate) const REFUND_COLUMNS: &str = "id, payment_id, amount, reason, state, refunded_at";

impl PaymentRow {
    pub(crate) fn state(&self) -> pb::PaymentState {
        match self.state.as_str() {
            "READY" => pb::PaymentState::Ready,
            "PAID" => pb::PaymentState::Paid,
            "FAILED" => pb::PaymentState::Failed,
            "CANCELLED" => pb::PaymentState::Cancelled,
            "PARTIALLY_REFUNDED" => pb::PaymentState::PartiallyRefunded,
            "REFUNDED" => pb::PaymentState::Refunded,
            _ => pb::PaymentState::Unspecified,
        }
    }

    /// Whether money was taken and not all of it given back.
    pub(crate) fn is_refundable(&self) -> bool {
        matches!(self.state.as_str(), "PAID" | "PARTIALLY_REFUNDED")
    }

    pub(crate) fn to_proto(&self, refunds: &[RefundRow]) -> pb::Payment {
        let ready = self.state == "READY";
        pb::Payment {
            payment_id: self.id.to_string(),
            booking_id: self.booking_id.to_string(),
            user_id: self.user_id.to_string(),
            host_id: self.host_id.to_string(),
            order_id: self.order_id.clone(),
            // The PG's key says nothing to anyone before the guest paid.
            payment_key: if self.paid_at.is_some() {
                self.payment_key.clone().unwrap_or_default()
            } else {
                String::new()
            },
            amount: Some(money(self.amount)),
            refunded_amount: Some(money(self.refunded_amount)),
            state: self.state() as i32,
            checkout_url: if ready {
                self.checkout_url.clone()
            } else {
                String::new()
            },
            method: self.method.clone(),
            provider: self.provider.clone(),
            failure_reason: self.failure_reason.clone(),
            refunds: refunds
                .iter()
                .filter(|r| r.state == "DONE")
                .map(RefundRow::to_proto)
                .collect(),
            expires_at: Some(timestamp(self.expires_at)),
            paid_at: self.paid_at.map(timestamp),
            created_at: Some(timestamp(self.created_at)),
            updated_at: Some(timestamp(self.updated_at)),
        }
    }
}

impl RefundRow {
    pub(crate) fn to_proto(&self) -> pb::Refund {
        pb::Refund {
            refund_id: self.id.to_string(),
            payment_id: self.payment_id.to_string(),
            amount: Some(money(self.amount)),
            reason: self.reason.clone(),
            refunded_at: self.refunded_at.map(timestamp),
        }
    }
}

/// The payment whose `column` (a fixed name, never input) equals `value`.
async fn one_by<T>(pool: &PgPool, column: &str, value: T) -> Result<Option<PaymentRow>, sqlx::Error>
where
    T: for<'q> sqlx::Encode<'q, sqlx::Postgres> + sqlx::Type<sqlx::Postgres> + Send,
{
    let sql = format!("SELECT {PAYMENT_COLUMNS} FROM payment WHERE {column} = $1");
    sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(value)
        .fetch_optional(pool)
        .await
}

pub(crate) async fn by_id(pool: &PgPool, id: Uuid) -> Result<Option<PaymentRow>, sqlx::Error> {
    one_by(pool, "id", id).await
}

pub(crate) async fn by_booking(
    pool: &PgPool,
    booking: Uuid,
) -> Result<Option<PaymentRow>, sqlx::Error> {
    one_by(pool, "booking_id", booking).await
}

pub(crate) async fn by_order(
    pool: &PgPool,
    order_id: &str,
) -> Result<Option<PaymentRow>, sqlx::Error> {
    one_by(pool, "order_id", order_id).await
}

/// The payment, locked until the transaction ends.
pub(crate) async fn lock(
    conn: &mut PgConnection,
    id: Uuid,
) -> Result<Option<PaymentRow>, sqlx::Error> {
    let sql = format!("SELECT {PAYMENT_COLUMNS} FROM payment WHERE id = $1 FOR UPDATE");
    sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(id)
        .fetch_optional(conn)
        .await
}

/// A payment's refunds, oldest first.
pub(crate) async fn refunds_of(
    pool: &PgPool,
    payment: Uuid,
) -> Result<Vec<RefundRow>, sqlx::Error> {
    let sql = format!(
        "SELECT {REFUND_COLUMNS} FROM refund WHERE payment_id = $1 ORDER BY created_at, id"
    );
    sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(payment)
        .fetch_all(pool)
        .await
}
