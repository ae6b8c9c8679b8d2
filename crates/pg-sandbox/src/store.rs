//! Payments and cancellations in Postgres. Every state change is one
//! transaction that also writes the webhook announcing it; races are settled
//! by the database (a unique order id, `WHERE status = 'READY'`, the payment
//! row's lock and CHECK constraints), never by this process's memory.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use sqlx::PgPool;
use tokio::sync::Notify;

use crate::error::ApiError;
use crate::model::{Cancellation, Payment, Status, new_id};
use crate::webhooks;

/// The database and the delivery loop's doorbell.
#[derive(Debug, Clone)]
pub(crate) struct Store {
    pub(crate) pool: PgPool,
    /// Whether changes write webhooks (a webhook URL is configured).
    webhooks: bool,
    /// Rung after a commit that wrote a webhook, so it goes out at once
    /// rather than at the next poll.
    pub(crate) wake: Arc<Notify>,
}

/// A registration, already validated.
#[derive(Debug)]
pub(crate) struct NewPayment {
    pub(crate) order_id: String,
    pub(crate) order_name: String,
    pub(crate) amount: i64,
    pub(crate) currency: String,
    pub(crate) expires_at: DateTime<Utc>,
    pub(crate) redirect_url: String,
}

/// A cancellation request, already validated.
#[derive(Debug)]
pub(crate) struct CancelRequest {
    /// `None`: everything still cancellable.
    pub(crate) amount: Option<i64>,
    pub(crate) reason: String,
    pub(crate) idempotency_key: String,
}

/// How a checkout ends a READY payment.
#[derive(Debug)]
pub(crate) struct Settlement<'a> {
    /// PAID or FAILED.
    pub(crate) status: Status,
    /// What is charged (the tamper card changes it).
    pub(crate) amount: i64,
    pub(crate) method: Option<&'a str>,
    pub(crate) fail_reason: Option<&'a str>,
}

impl Store {
    pub(crate) fn new(pool: PgPool, webhooks: bool) -> Self {
        Self {
            pool,
            webhooks,
            wake: Arc::new(Notify::new()),
        }
    }

    /// Registers a payment, or finds the one already registered for the
    /// order when amount and currency match (a merchant's retry).
    pub(crate) async fn register(&self, new: &NewPayment) -> Result<Payment, ApiError> {
        let now = Utc::now();
        let inserted = sqlx::query_as::<_, Payment>(
            "INSERT INTO payment (payment_key, order_id, order_name, registered_amount, amount,
                                  currency, status, redirect_url, expires_at, created_at, updated_at)
             VALUES ($1, $2, $3, $4, $4, $5, 'READY', $6, $7, $8, $8)
             ON CONFLICT (order_id) DO NOTHING
             RETURNING *",
        )
        .bind(new_id("pay"))
        .bind(&new.order_id)
        .bind(&new.order_name)
        .bind(new.amount)
        .bind(&new.currency)
        .bind(&new.redirect_url)
        .bind(new.expires_at)
        .bind(now)
        .fetch_optional(&self.pool)
        .await?;
        if let Some(payment) = inserted {
            return Ok(payment);
        }
        let existing = self
            .by_order(&new.order_id)
            .await?
            .ok_or_else(|| ApiError::internal(&"an order's payment vanished"))?;
        if existing.registered_amount != new.amount || existing.currency != new.currency {
            return Err(ApiError::conflict(
                "ORDER_ID_CONFLICT",
                format!(
                    "order {} is already registered with {} {}",
                    new.order_id, existing.registered_amount, existing.currency
                ),
            ));
        }
        Ok(existing)
    }

    pub(crate) async fn by_key(&self, key: &str) -> Result<Option<Payment>, sqlx::Error> {
        sqlx::query_as("SELECT * FROM payment WHERE payment_key = $1")
            .bind(key)
            .fetch_optional(&self.pool)
            .await
    }

    pub(crate) async fn by_order(&self, order_id: &str) -> Result<Option<Payment>, sqlx::Error> {
        sqlx::query_as("SELECT * FROM payment WHERE order_id = $1")
            .bind(order_id)
            .fetch_optional(&self.pool)
            .await
    }

    /// A payment's cancellations, oldest first.
    pub(crate) async fn cancellations(&self, key: &str) -> Result<Vec<Cancellation>, sqlx::Error> {
        sqlx::query_as(
            "SELECT cancellation_id, payment_key, amount, reason, idempotency_key, cancelled_at
             FROM cancellation WHERE payment_key = $1
             ORDER BY cancelled_at, cancellation_id",
        )
        .bind(key)
        .fetch_all(&self.pool)
        .await
    }

    /// Cancels a READY payment or refunds (part of) a charged one, under the
    /// payment row's lock so concurrent refunds queue up and none exceeds
    /// what is left. A repeated idempotency key answers the first refund.
    pub(crate) async fn cancel(
        &self,
        key: &str,
        request: &CancelRequest,
    ) -> Result<(Payment, Option<Cancellation>), ApiError> {
        let mut tx = self.pool.begin().await?;
        let payment: Payment =
            sqlx::query_as("SELECT * FROM payment WHERE payment_key = $1 FOR UPDATE")
                .bind(key)
                .fetch_optional(&mut *tx)
                .await?
                .ok_or_else(|| ApiError::payment_not_found(key))?;
        let earlier: Option<Cancellation> = sqlx::query_as(
            "SELECT cancellation_id, payment_key, amount, reason, idempotency_key, cancelled_at
             FROM cancellation WHERE payment_key = $1 AND idempotency_key = $2",
        )
        .bind(key)
        .bind(&request.idempotency_key)
        .fetch_optional(&mut *tx)
        .await?;
        if let Some(earlier) = earlier {
            if request
                .amount
                .is_some_and(|amount| amount != earlier.amount)
            {
                return Err(ApiError::conflict(
                    "IDEMPOTENCY_KEY_CONFLICT",
                    format!(
                        "idempotency key {} already refunded {}, not {}",
                        request.idempotency_key,
                        earlier.amount,
                        request.amount.unwrap_or_default()
                    ),
                ));
            }
            return Ok((payment, Some(earlier)));
        }

        let now = Utc::now();
        match payment.status {
            Status::Ready => {
                // Nothing was charged: the payment just closes.
                let cancelled: Payment = sqlx::query_as(
                    "UPDATE payment SET status = 'CANCELLED', cancelled_at = $2, updated_at = $2
                     WHERE payment_key = $1 RETURNING *",
                )
                .bind(key)
                .bind(now)
                .fetch_one(&mut *tx)
                .await?;
                self.commit_with_webhook(tx, &cancelled).await?;
                Ok((cancelled, None))
            }
            Status::Cancelled if payment.paid_at.is_none() => Ok((payment, None)),
            Status::Failed => Err(ApiError::conflict(
                "PAYMENT_NOT_CANCELLABLE",
                format!("payment {key} failed; nothing was charged"),
            )),
            Status::Cancelled => Err(ApiError::conflict(
                "PAYMENT_NOT_CANCELLABLE",
                format!("payment {key} is already refunded in full"),
            )),
            Status::Paid | Status::PartialCancelled => {
                let cancellable = payment.cancellable();
                let amount = request.amount.unwrap_or(cancellable);
                if amount > cancellable {
                    return Err(ApiError::conflict(
                        "CANCEL_AMOUNT_EXCEEDS_CANCELLABLE_AMOUNT",
                        format!("amount: {amount} exceeds the cancellable {cancellable}"),
                    ));
                }
                let cancellation: Cancellation = sqlx::query_as(
                    "INSERT INTO cancellation
                         (cancellation_id, payment_key, amount, reason, idempotency_key, cancelled_at)
                     VALUES ($1, $2, $3, $4, $5, $6)
                     RETURNING cancellation_id, payment_key, amount, reason, idempotency_key,
                               cancelled_at",
                )
                .bind(new_id("can"))
                .bind(key)
                .bind(amount)
                .bind(&request.reason)
                .bind(&request.idempotency_key)
                .bind(now)
                .fetch_one(&mut *tx)
                .await?;
                let refunded: Payment = sqlx::query_as(
                    "UPDATE payment SET
                         cancelled_amount = cancelled_amount + $2,
                         status = CASE WHEN cancelled_amount + $2 = amount
                                       THEN 'CANCELLED' ELSE 'PARTIAL_CANCELLED' END,
                         cancelled_at = CASE WHEN cancelled_amount + $2 = amount
                                             THEN $3 ELSE cancelled_at END,
                         updated_at = $3
                     WHERE payment_key = $1 RETURNING *",
                )
                .bind(key)
                .bind(amount)
                .bind(now)
                .fetch_one(&mut *tx)
                .await?;
                self.commit_with_webhook(tx, &refunded).await?;
                Ok((refunded, Some(cancellation)))
            }
        }
    }

    /// Ends a READY payment the way a checkout decided; `None` when it is
    /// no longer READY (another checkout or a cancel got there first).
    pub(crate) async fn settle(
        &self,
        key: &str,
        settlement: &Settlement<'_>,
    ) -> Result<Option<Payment>, sqlx::Error> {
        let now = Utc::now();
        let paid_at = (settlement.status == Status::Paid).then_some(now);
        let mut tx = self.pool.begin().await?;
        let settled: Option<Payment> = sqlx::query_as(
            "UPDATE payment SET status = $2, amount = $3, method = $4, fail_reason = $5,
                                paid_at = $6, updated_at = $7
             WHERE payment_key = $1 AND status = 'READY'
             RETURNING *",
        )
        .bind(key)
        .bind(settlement.status.as_str())
        .bind(settlement.amount)
        .bind(settlement.method)
        .bind(settlement.fail_reason)
        .bind(paid_at)
        .bind(now)
        .fetch_optional(&mut *tx)
        .await?;
        let Some(settled) = settled else {
            return Ok(None);
        };
        self.commit_with_webhook(tx, &settled).await?;
        Ok(Some(settled))
    }

    /// Writes the webhook of `changed`'s new status (when webhooks are on),
    /// commits, and wakes the delivery loop.
    async fn commit_with_webhook(
        &self,
        mut tx: sqlx::Transaction<'static, sqlx::Postgres>,
        changed: &Payment,
    ) -> Result<(), sqlx::Error> {
        let wrote = self.webhooks && webhooks::enqueue(&mut tx, changed).await?;
        tx.commit().await?;
        if wrote {
            self.wake.notify_one();
        }
        Ok(())
    }
}
