//! Refunds, partial or full, never more than was paid and never twice.
//!
//! A refund is first committed PENDING, which reserves its amount against
//! concurrent refunds, then asked of the PG with the refund's id as the
//! idempotency key, then committed DONE with its `PaymentRefunded` event.
//! When the PG call's answer is lost (a timeout), the refund stays PENDING and
//! is resolved by reading the PG's cancellations for that key (done there:
//! DONE here) or by repeating the call under the same key: by the caller's
//! retry or by the reconciler, whichever comes first, exactly once.

use chrono::Utc;
use staymesh_platform::rpc::{Error, Result};
use uuid::Uuid;

use crate::events;
use crate::payments::{Payments, pg_error};
use crate::pg::PgError;
use crate::store::{self, PAYMENT_COLUMNS, PaymentRow, REFUND_COLUMNS, RefundRow};

impl Payments {
    /// Refunds `amount` (everything left when `None`) of the booking's
    /// payment. A repeat with the same amount is the same refund.
    pub(crate) async fn refund(
        &self,
        booking: Uuid,
        amount: Option<i64>,
        reason: &str,
    ) -> Result<(PaymentRow, RefundRow)> {
        let payment = store::by_booking(&self.pool, booking)
            .await?
            .ok_or_else(|| Error::not_found("payment of booking", booking.to_string()))?;
        let refund = self.reserve(&payment, amount, reason).await?;
        let refund = self.resolve(refund).await?;
        if refund.state == "REFUSED" {
            return Err(Error::Precondition(format!(
                "the PG refused to refund {} won of payment {}",
                refund.amount, payment.id
            )));
        }
        Ok((self.reread(payment.id).await?, refund))
    }

    /// The refund this request names: the earlier one with the same amount,
    /// or a new PENDING one whose amount fits in what is left.
    async fn reserve(
        &self,
        payment: &PaymentRow,
        amount: Option<i64>,
        reason: &str,
    ) -> Result<RefundRow> {
        let request_key = amount.map_or_else(|| "all".to_owned(), |a| a.to_string());
        let mut tx = self.pool.begin().await?;
        let Some(locked) = store::lock(&mut tx, payment.id).await? else {
            return Err(Error::not_found("payment", payment.id.to_string()));
        };
        let sql = format!(
            "SELECT {REFUND_COLUMNS} FROM refund WHERE payment_id = $1 AND request_key = $2"
        );
        let earlier: Option<RefundRow> = sqlx::query_as(sqlx::AssertSqlSafe(sql))
            .bind(locked.id)
            .bind(&request_key)
            .fetch_optional(&mut *tx)
            .await?;
        if let Some(earlier) = earlier {
            return Ok(earlier);
        }
        if !locked.is_refundable() {
            return Err(Error::Precondition(format!(
                "payment {} is {}: nothing to refund",
                locked.id, locked.state
            )));
        }
        let pending: i64 = sqlx::query_scalar(
            "SELECT coalesce(sum(amount), 0)::bigint FROM refund \
             WHERE payment_id = $1 AND state = 'PENDING'",
        )
        .bind(locked.id)
        .fetch_one(&mut *tx)
        .await?;
        let left = locked.amount - locked.refunded_amount - pending;
        let amount = amount.unwrap_or(left);
        if amount <= 0 || amount > left {
            return Err(Error::Precondition(format!(
                "{amount} won is more than the {left} won left to refund on payment {}",
                locked.id
            )));
        }
        let sql = format!(
            "INSERT INTO refund (id, payment_id, request_key, amount, reason, state) \
             VALUES ($1, $2, $3, $4, $5, 'PENDING') RETURNING {REFUND_COLUMNS}"
        );
        let refund: RefundRow = sqlx::query_as(sqlx::AssertSqlSafe(sql))
            .bind(Uuid::now_v7())
            .bind(locked.id)
            .bind(&request_key)
            .bind(amount)
            .bind(reason)
            .fetch_one(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(refund)
    }

    /// Brings a PENDING refund to DONE or REFUSED by what the PG says; a
    /// finished one is returned as it is.
    pub(crate) async fn resolve(&self, refund: RefundRow) -> Result<RefundRow> {
        if refund.state != "PENDING" {
            return Ok(refund);
        }
        let payment = self.reread(refund.payment_id).await?;
        let key = payment.payment_key.clone().unwrap_or_default();
        let idempotency_key = refund.id.to_string();
        let done_at_pg = self
            .pg
            .cancellations(&key)
            .await
            .map_err(pg_error)?
            .into_iter()
            .find(|c| c.idempotency_key == idempotency_key);
        let cancellation = match done_at_pg {
            Some(c) => c,
            None => match self
                .pg
                .cancel(&key, Some(refund.amount), &refund.reason, &idempotency_key)
                .await
            {
                Ok((_, Some(c))) => c,
                Ok((_, None)) => return self.refuse(refund).await,
                Err(PgError::Refused { code, message }) => {
                    tracing::warn!(refund = %refund.id, code, message, "the PG refused a refund");
                    return self.refuse(refund).await;
                }
                Err(unavailable) => return Err(pg_error(unavailable)),
            },
        };
        self.complete(refund, &cancellation.cancellation_id).await
    }

    /// Commits a refund the PG made, with its event, once.
    async fn complete(&self, refund: RefundRow, pg_id: &str) -> Result<RefundRow> {
        let mut tx = self.pool.begin().await?;
        let Some(payment) = store::lock(&mut tx, refund.payment_id).await? else {
            return Err(Error::not_found("payment", refund.payment_id.to_string()));
        };
        let now = Utc::now();
        let sql = format!(
            "UPDATE refund SET state = 'DONE', pg_cancellation_id = $2, refunded_at = $3 \
             WHERE id = $1 AND state = 'PENDING' RETURNING {REFUND_COLUMNS}"
        );
        let done: Option<RefundRow> = sqlx::query_as(sqlx::AssertSqlSafe(sql))
            .bind(refund.id)
            .bind(pg_id)
            .bind(now)
            .fetch_optional(&mut *tx)
            .await?;
        let Some(done) = done else {
            tx.rollback().await?;
            return self.refund_by_id(refund.id).await;
        };
        let sql = format!(
            "UPDATE payment SET refunded_amount = refunded_amount + $2, \
             state = CASE WHEN refunded_amount + $2 = amount THEN 'REFUNDED' ELSE 'PARTIALLY_REFUNDED' END, \
             updated_at = now() WHERE id = $1 RETURNING {PAYMENT_COLUMNS}"
        );
        let payment: PaymentRow = sqlx::query_as(sqlx::AssertSqlSafe(sql))
            .bind(payment.id)
            .bind(done.amount)
            .fetch_one(&mut *tx)
            .await?;
        events::refunded(&mut tx, &self.topic, &payment, done.id, done.amount, now).await?;
        tx.commit().await?;
        tracing::info!(refund = %done.id, amount = done.amount, "refunded");
        Ok(done)
    }

    /// The PG will not make this refund: its reservation is released.
    async fn refuse(&self, refund: RefundRow) -> Result<RefundRow> {
        sqlx::query("UPDATE refund SET state = 'REFUSED' WHERE id = $1 AND state = 'PENDING'")
            .bind(refund.id)
            .execute(&self.pool)
            .await?;
        self.refund_by_id(refund.id).await
    }

    async fn refund_by_id(&self, id: Uuid) -> Result<RefundRow> {
        let sql = format!("SELECT {REFUND_COLUMNS} FROM refund WHERE id = $1");
        Ok(sqlx::query_as(sqlx::AssertSqlSafe(sql))
            .bind(id)
            .fetch_one(&self.pool)
            .await?)
    }

    /// PENDING refunds older than `age`, for the reconciler.
    pub(crate) async fn stale_refunds(&self, age: std::time::Duration) -> Result<Vec<RefundRow>> {
        let sql = format!(
            "SELECT {REFUND_COLUMNS} FROM refund WHERE state = 'PENDING' \
             AND created_at < now() - make_interval(secs => $1) ORDER BY created_at LIMIT 100"
        );
        Ok(sqlx::query_as(sqlx::AssertSqlSafe(sql))
            .bind(age.as_secs_f64())
            .fetch_all(&self.pool)
            .await?)
    }
}
