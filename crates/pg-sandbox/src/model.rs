//! Payments and cancellations as stored and as the API shows them (camelCase
//! JSON, RFC 3339 UTC timestamps, integer minor units).

use chrono::{DateTime, Utc};
use serde::Serialize;

/// Where a payment is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub(crate) enum Status {
    /// Registered, waiting for the guest at the checkout page.
    Ready,
    Paid,
    /// Declined, abandoned or expired; nothing was charged.
    Failed,
    /// Cancelled before payment, or refunded in full.
    Cancelled,
    /// Refunded in part.
    PartialCancelled,
}

impl Status {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Status::Ready => "READY",
            Status::Paid => "PAID",
            Status::Failed => "FAILED",
            Status::Cancelled => "CANCELLED",
            Status::PartialCancelled => "PARTIAL_CANCELLED",
        }
    }

    /// The webhook type announcing a change into this status (none into
    /// READY: a payment is born READY and never returns to it).
    pub(crate) fn webhook_type(self) -> Option<&'static str> {
        match self {
            Status::Ready => None,
            Status::Paid => Some("Transaction.Paid"),
            Status::Failed => Some("Transaction.Failed"),
            Status::Cancelled => Some("Transaction.Cancelled"),
            Status::PartialCancelled => Some("Transaction.PartialCancelled"),
        }
    }
}

impl TryFrom<String> for Status {
    type Error = String;

    fn try_from(text: String) -> Result<Self, String> {
        Ok(match text.as_str() {
            "READY" => Status::Ready,
            "PAID" => Status::Paid,
            "FAILED" => Status::Failed,
            "CANCELLED" => Status::Cancelled,
            "PARTIAL_CANCELLED" => Status::PartialCancelled,
            _ => return Err(format!("unknown payment status {text}")),
        })
    }
}

/// A payment row.
#[derive(Debug, Clone, sqlx::FromRow)]
pub(crate) struct Payment {
    pub(crate) payment_key: String,
    pub(crate) order_id: String,
    pub(crate) order_name: String,
    pub(crate) registered_amount: i64,
    pub(crate) amount: i64,
    pub(crate) currency: String,
    #[sqlx(try_from = "String")]
    pub(crate) status: Status,
    pub(crate) method: Option<String>,
    pub(crate) cancelled_amount: i64,
    pub(crate) fail_reason: Option<String>,
    pub(crate) redirect_url: String,
    pub(crate) expires_at: DateTime<Utc>,
    pub(crate) paid_at: Option<DateTime<Utc>>,
    pub(crate) cancelled_at: Option<DateTime<Utc>>,
    pub(crate) created_at: DateTime<Utc>,
    pub(crate) updated_at: DateTime<Utc>,
}

impl Payment {
    /// What may still be refunded: only a charged payment has any.
    pub(crate) fn cancellable(&self) -> i64 {
        match self.status {
            Status::Paid | Status::PartialCancelled => self.amount - self.cancelled_amount,
            Status::Ready | Status::Failed | Status::Cancelled => 0,
        }
    }

    /// The JSON the API answers with.
    pub(crate) fn view(&self, public_url: &str) -> PaymentView<'_> {
        PaymentView {
            payment_key: &self.payment_key,
            order_id: &self.order_id,
            order_name: &self.order_name,
            amount: self.amount,
            currency: &self.currency,
            status: self.status,
            method: self.method.as_deref(),
            cancelled_amount: self.cancelled_amount,
            fail_reason: self.fail_reason.as_deref(),
            checkout_url: checkout_url(public_url, &self.payment_key),
            redirect_url: &self.redirect_url,
            expires_at: self.expires_at,
            paid_at: self.paid_at,
            cancelled_at: self.cancelled_at,
            created_at: self.created_at,
            updated_at: self.updated_at,
        }
    }
}

/// Where the guest pays.
pub(crate) fn checkout_url(public_url: &str, payment_key: &str) -> String {
    format!("{public_url}/checkout/{payment_key}")
}

/// The Payment object of the API.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct PaymentView<'a> {
    payment_key: &'a str,
    order_id: &'a str,
    order_name: &'a str,
    amount: i64,
    currency: &'a str,
    status: Status,
    method: Option<&'a str>,
    cancelled_amount: i64,
    fail_reason: Option<&'a str>,
    checkout_url: String,
    redirect_url: &'a str,
    expires_at: DateTime<Utc>,
    paid_at: Option<DateTime<Utc>>,
    cancelled_at: Option<DateTime<Utc>>,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
}

/// One refund of a payment; also the Cancellation object of the API.
#[derive(Debug, Clone, sqlx::FromRow, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Cancellation {
    pub(crate) cancellation_id: String,
    pub(crate) payment_key: String,
    pub(crate) amount: i64,
    pub(crate) reason: String,
    pub(crate) idempotency_key: String,
    pub(crate) cancelled_at: DateTime<Utc>,
}

/// A new id: `<prefix>_<uuid v7 as 32 hex digits>`, so ids sort by creation.
pub(crate) fn new_id(prefix: &str) -> String {
    format!("{prefix}_{}", uuid::Uuid::now_v7().simple())
}
