//! The seam between the payment service and a payment gateway (PG). The
//! service speaks only [`Pg`]; [`HttpPg`] speaks the PortOne-style REST API
//! that `staymesh pg-sandbox` serves. A real PortOne client is another
//! implementation of the same trait.
//!
//! Every call is idempotent by construction (registration by order id,
//! cancellation by idempotency key, and reads), so a call whose answer was
//! lost can be repeated safely; that is what lets [`HttpPg`] retry.

mod http;

use chrono::{DateTime, Utc};

pub use self::http::HttpPg;

/// What the PG is asked to register.
#[derive(Debug, Clone)]
pub struct Registration {
    pub order_id: String,
    pub order_name: String,
    pub amount: i64,
    pub expires_at: DateTime<Utc>,
    /// Where the PG sends the browser back.
    pub redirect_url: String,
}

/// Where a payment is at the PG.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum PgStatus {
    Ready,
    Paid,
    Failed,
    Cancelled,
    PartialCancelled,
}

/// A payment as the PG reports it: the only source of truth about money.
#[derive(Debug, Clone, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PgPayment {
    pub payment_key: String,
    pub order_id: String,
    /// What the PG charges (or charged).
    pub amount: i64,
    pub currency: String,
    pub status: PgStatus,
    #[serde(default)]
    pub method: Option<String>,
    #[serde(default)]
    pub cancelled_amount: i64,
    #[serde(default)]
    pub fail_reason: Option<String>,
    pub checkout_url: String,
    #[serde(default)]
    pub paid_at: Option<DateTime<Utc>>,
}

/// Money the PG gave back.
#[derive(Debug, Clone, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PgCancellation {
    pub cancellation_id: String,
    pub amount: i64,
    pub idempotency_key: String,
    pub cancelled_at: DateTime<Utc>,
}

/// Why a PG call did not succeed.
#[derive(Debug, thiserror::Error)]
pub enum PgError {
    /// No answer, a timeout or a 5xx: the call may or may not have happened.
    #[error("the PG is unavailable: {0}")]
    Unavailable(String),
    /// The PG answered and refused (a 4xx with its error type).
    #[error("the PG refused: {code}: {message}")]
    Refused { code: String, message: String },
}

impl PgError {
    /// Whether the PG said the thing asked for does not exist.
    pub fn is_not_found(&self) -> bool {
        matches!(self, Self::Refused { code, .. } if code == "PAYMENT_NOT_FOUND")
    }
}

/// A payment gateway.
#[tonic::async_trait]
pub trait Pg: Send + Sync + std::fmt::Debug {
    /// The provider's name as payments record it, e.g. "sandbox".
    fn provider(&self) -> &'static str;

    /// Registers a payment (idempotent per order id) and returns it with its checkout URL.
    async fn register(&self, registration: &Registration) -> Result<PgPayment, PgError>;

    /// The payment the PG knows under `payment_key`.
    async fn payment(&self, payment_key: &str) -> Result<PgPayment, PgError>;

    /// Cancels an unpaid payment, or refunds `amount` (everything left when
    /// `None`) of a paid one. A repeat with the same `idempotency_key`
    /// returns the first answer and moves no money.
    async fn cancel(
        &self,
        payment_key: &str,
        amount: Option<i64>,
        reason: &str,
        idempotency_key: &str,
    ) -> Result<(PgPayment, Option<PgCancellation>), PgError>;

    /// Every cancellation of a payment, oldest first.
    async fn cancellations(&self, payment_key: &str) -> Result<Vec<PgCancellation>, PgError>;
}
