//! [`Payments`]: everything that moves a payment, each change committed with
//! the event that announces it. Creating registers with the PG; [`verify`]
//! (the one place that believes the PG) approves, fails or repairs; abandoning
//! cancels at the PG first; refunds live in `refunds`.
//!
//! [`verify`]: Payments::verify

use std::sync::Arc;

use chrono::{DateTime, Utc};
use sqlx::PgPool;
use staymesh_platform::rpc::{Error, Result};
use uuid::Uuid;

use crate::events;
use crate::pg::{Pg, PgError, PgStatus, Registration};
use crate::store::{self, PAYMENT_COLUMNS, PaymentRow};

/// The payment service's state and its PG.
#[derive(Debug, Clone)]
pub struct Payments {
    pub(crate) pool: PgPool,
    pub(crate) pg: Arc<dyn Pg>,
    /// `<prefix>.payment.events`.
    pub(crate) topic: String,
    /// Where the PG sends the browser back.
    pub(crate) return_url: String,
}

/// What CreatePayment asks for.
#[derive(Debug, Clone)]
pub(crate) struct NewPayment {
    pub(crate) booking_id: Uuid,
    pub(crate) saga_id: String,
    pub(crate) user_id: Uuid,
    pub(crate) host_id: Uuid,
    pub(crate) amount: i64,
    pub(crate) order_name: String,
    pub(crate) expires_at: DateTime<Utc>,
}

/// A PG that did not answer is a dependency that is down: UNAVAILABLE, and
/// nothing is decided on a guess.
pub(crate) fn pg_error(error: PgError) -> Error {
    tracing::warn!(%error, "PG call failed");
    Error::Infra(staymesh_platform::Error::Dependency {
        service: "pg",
        status: tonic::Status::unavailable(error.to_string()),
    })
}

impl Payments {
    pub fn new(pool: PgPool, pg: Arc<dyn Pg>, topic: String, return_url: String) -> Self {
        Self {
            pool,
            pg,
            topic,
            return_url,
        }
    }

    /// Registers the booking's payment with the PG, once per booking: a
    /// repeat returns the same payment (and finishes a registration a crash
    /// interrupted).
    pub(crate) async fn create(&self, new: NewPayment) -> Result<PaymentRow> {
        let id = Uuid::now_v7();
        let order_id = format!("order-{}", id.simple());
        sqlx::query(
            "INSERT INTO payment (id, booking_id, saga_id, user_id, host_id, order_id, order_name, \
             amount, state, provider, expires_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 'READY', $9, $10) \
             ON CONFLICT (booking_id) DO NOTHING",
        )
        .bind(id)
        .bind(new.booking_id)
        .bind(&new.saga_id)
        .bind(new.user_id)
        .bind(new.host_id)
        .bind(&order_id)
        .bind(&new.order_name)
        .bind(new.amount)
        .bind(self.pg.provider())
        .bind(new.expires_at)
        .execute(&self.pool)
        .await?;
        let row = store::by_booking(&self.pool, new.booking_id)
            .await?
            .ok_or_else(|| Error::not_found("payment of booking", new.booking_id.to_string()))?;
        if row.amount != new.amount || row.user_id != new.user_id || row.host_id != new.host_id {
            return Err(Error::AlreadyExists(format!(
                "booking {} already has a payment of {} won for another guest, host or amount",
                new.booking_id, row.amount
            )));
        }
        self.registered(row).await
    }

    /// `row`, registered with the PG (the PG's key and checkout URL stored).
    async fn registered(&self, row: PaymentRow) -> Result<PaymentRow> {
        if row.payment_key.is_some() {
            return Ok(row);
        }
        let registration = Registration {
            order_id: row.order_id.clone(),
            order_name: row.order_name.clone(),
            amount: row.amount,
            expires_at: row.expires_at,
            redirect_url: self.return_url.clone(),
        };
        let at_pg = self.pg.register(&registration).await.map_err(pg_error)?;
        let sql = format!(
            "UPDATE payment SET payment_key = $2, checkout_url = $3, updated_at = now() \
             WHERE id = $1 RETURNING {PAYMENT_COLUMNS}"
        );
        Ok(sqlx::query_as(sqlx::AssertSqlSafe(sql))
            .bind(row.id)
            .bind(&at_pg.payment_key)
            .bind(&at_pg.checkout_url)
            .fetch_one(&self.pool)
            .await?)
    }

    /// Reads the payment from the PG and makes ours agree: READY becomes
    /// PAID only when the PG's status, amount, currency and order id all
    /// match; a PG that charged something else is cancelled there and the
    /// payment FAILS. Approval and webhook racing for one payment approve it
    /// once: the change is guarded by the state it starts from.
    pub(crate) async fn verify(&self, row: PaymentRow) -> Result<PaymentRow> {
        if row.state != "READY" {
            return Ok(row);
        }
        let row = self.registered(row).await?;
        let key = row.payment_key.clone().unwrap_or_default();
        let at_pg = self.pg.payment(&key).await.map_err(pg_error)?;
        let same_order = at_pg.order_id == row.order_id
            && at_pg.currency == staymesh_platform::convert::CURRENCY;
        let outcome = match at_pg.status {
            PgStatus::Ready => None,
            PgStatus::Paid if same_order && at_pg.amount == row.amount => Some(Outcome::Paid {
                paid_at: at_pg.paid_at.unwrap_or_else(Utc::now),
                method: at_pg.method.clone().unwrap_or_default(),
            }),
            PgStatus::Paid | PgStatus::PartialCancelled => {
                let reason = format!(
                    "the PG charged {} {} for order {}, expected {} KRW for order {}",
                    at_pg.amount, at_pg.currency, at_pg.order_id, row.amount, row.order_id
                );
                // Give the money back before the payment is marked failed:
                // the key makes a repeat (a retry, the other racer) a no-op.
                self.pg
                    .cancel(&key, None, &reason, &format!("mismatch-{}", row.id))
                    .await
                    .map_err(pg_error)?;
                Some(Outcome::Failed(reason))
            }
            PgStatus::Failed => Some(Outcome::Failed(
                at_pg
                    .fail_reason
                    .clone()
                    .unwrap_or_else(|| "declined at the PG".into()),
            )),
            PgStatus::Cancelled => Some(Outcome::Cancelled),
        };
        match outcome {
            None => {
                self.mark_checked(row.id).await?;
                Ok(row)
            }
            Some(outcome) => self.finish(row, outcome).await,
        }
    }

    /// Moves a READY payment to its outcome with its event, once.
    async fn finish(&self, row: PaymentRow, outcome: Outcome) -> Result<PaymentRow> {
        let mut tx = self.pool.begin().await?;
        let (state, reason, paid_at, method) = match &outcome {
            Outcome::Paid { paid_at, method } => ("PAID", "", Some(*paid_at), method.as_str()),
            Outcome::Failed(reason) => ("FAILED", reason.as_str(), None, ""),
            Outcome::Cancelled => ("CANCELLED", "cancelled at the PG", None, ""),
        };
        let sql = format!(
            "UPDATE payment SET state = $2, failure_reason = $3, paid_at = $4, method = $5, \
             updated_at = now(), checked_at = now() \
             WHERE id = $1 AND state = 'READY' RETURNING {PAYMENT_COLUMNS}"
        );
        let changed: Option<PaymentRow> = sqlx::query_as(sqlx::AssertSqlSafe(sql))
            .bind(row.id)
            .bind(state)
            .bind(reason)
            .bind(paid_at)
            .bind(method)
            .fetch_optional(&mut *tx)
            .await?;
        let Some(changed) = changed else {
            // Someone else moved it first; theirs is the answer.
            tx.rollback().await?;
            return self.reread(row.id).await;
        };
        match outcome {
            Outcome::Paid { .. } => events::approved(&mut tx, &self.topic, &changed).await?,
            Outcome::Failed(_) => events::failed(&mut tx, &self.topic, &changed).await?,
            Outcome::Cancelled => {}
        }
        tx.commit().await?;
        tracing::info!(payment = %changed.id, state, "payment finished");
        Ok(changed)
    }

    /// Abandons an unpaid payment: cancelled at the PG first, so a later
    /// checkout is refused there. The row stays locked across the PG call so
    /// an approval cannot slip in between; if the guest had already paid, the
    /// PG's cancel refunds it and the payment still ends CANCELLED.
    pub(crate) async fn abandon(&self, row: PaymentRow, reason: &str) -> Result<PaymentRow> {
        match row.state.as_str() {
            "READY" => {}
            "FAILED" | "CANCELLED" => return Ok(row),
            _ => {
                return Err(Error::Precondition(format!(
                    "payment {} is {}: refund it instead",
                    row.id, row.state
                )));
            }
        }
        let row = self.registered(row).await?;
        let mut tx = self.pool.begin().await?;
        let Some(locked) = store::lock(&mut tx, row.id).await? else {
            return Err(Error::not_found("payment", row.id.to_string()));
        };
        if locked.state != "READY" {
            tx.rollback().await?;
            return Ok(locked);
        }
        let key = locked.payment_key.clone().unwrap_or_default();
        let cancelled = self
            .pg
            .cancel(&key, None, reason, &format!("abandon-{}", locked.id))
            .await;
        if let Err(error) = cancelled {
            tx.rollback().await?;
            return match error {
                // Not cancellable at the PG (it failed there): take its word.
                PgError::Refused { .. } => self.verify(self.reread(row.id).await?).await,
                unavailable => Err(pg_error(unavailable)),
            };
        }
        let sql = format!(
            "UPDATE payment SET state = 'CANCELLED', failure_reason = $2, updated_at = now() \
             WHERE id = $1 RETURNING {PAYMENT_COLUMNS}"
        );
        let changed: PaymentRow = sqlx::query_as(sqlx::AssertSqlSafe(sql))
            .bind(locked.id)
            .bind(reason)
            .fetch_one(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(changed)
    }

    pub(crate) async fn reread(&self, id: Uuid) -> Result<PaymentRow> {
        store::by_id(&self.pool, id)
            .await?
            .ok_or_else(|| Error::not_found("payment", id.to_string()))
    }

    async fn mark_checked(&self, id: Uuid) -> Result<()> {
        sqlx::query("UPDATE payment SET checked_at = now() WHERE id = $1")
            .bind(id)
            .execute(&self.pool)
            .await?;
        Ok(())
    }
}

/// Where verification leaves a READY payment.
enum Outcome {
    Paid {
        paid_at: DateTime<Utc>,
        method: String,
    },
    Failed(String),
    Cancelled,
}
