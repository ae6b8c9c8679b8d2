//! The webhook table: rows written in the transaction of the change they
//! announce, taken by the delivery loop under a lease, and shown to tests and
//! people at `GET /sandbox/webhooks`.

use std::time::Duration;

use axum::Json;
use axum::extract::{Query, State};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sqlx::PgConnection;

use crate::error::ApiError;
use crate::model::{Payment, Status, new_id};
use crate::server::AppState;

/// How long a taken webhook is left to its taker before another may take it:
/// longer than one POST may last.
const LEASE: Duration = Duration::from_secs(30);

/// The JSON body PortOne V2 sends.
#[derive(Debug, Serialize)]
struct Body<'a> {
    r#type: &'a str,
    timestamp: DateTime<Utc>,
    data: BodyData<'a>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct BodyData<'a> {
    payment_key: &'a str,
    order_id: &'a str,
    status: Status,
}

/// Writes the webhook announcing `payment`'s new status in the caller's
/// transaction; false when the status announces nothing.
pub(crate) async fn enqueue(tx: &mut PgConnection, payment: &Payment) -> Result<bool, sqlx::Error> {
    let Some(kind) = payment.status.webhook_type() else {
        return Ok(false);
    };
    let now = Utc::now();
    let body = Body {
        r#type: kind,
        timestamp: now,
        data: BodyData {
            payment_key: &payment.payment_key,
            order_id: &payment.order_id,
            status: payment.status,
        },
    };
    let body = serde_json::to_string(&body).map_err(|e| sqlx::Error::Encode(Box::new(e)))?;
    sqlx::query(
        "INSERT INTO webhook (webhook_id, payment_key, type, body, created_at, next_attempt_at)
         VALUES ($1, $2, $3, $4, $5, $5)",
    )
    .bind(new_id("msg"))
    .bind(&payment.payment_key)
    .bind(kind)
    .bind(body)
    .bind(now)
    .execute(tx)
    .await?;
    Ok(true)
}

/// A webhook taken for delivery.
#[derive(Debug, sqlx::FromRow)]
pub(crate) struct Due {
    pub(crate) webhook_id: String,
    pub(crate) body: String,
    /// Attempts before this one.
    pub(crate) attempts: i32,
}

/// Takes up to `limit` due webhooks, oldest first, leasing them so no other
/// sandbox on this database sends them at the same time.
pub(crate) async fn take_due(pool: &sqlx::PgPool, limit: i64) -> Result<Vec<Due>, sqlx::Error> {
    let now = Utc::now();
    sqlx::query_as(
        "UPDATE webhook SET next_attempt_at = $2
         WHERE webhook_id IN (
             SELECT webhook_id FROM webhook
             WHERE delivered_at IS NULL AND NOT failed AND next_attempt_at <= $1
             ORDER BY next_attempt_at, webhook_id
             LIMIT $3
             FOR UPDATE SKIP LOCKED)
         RETURNING webhook_id, body, attempts",
    )
    .bind(now)
    .bind(now + LEASE)
    .bind(limit)
    .fetch_all(pool)
    .await
}

/// How one delivery went.
#[derive(Debug)]
pub(crate) enum Outcome {
    /// The receiver answered 2xx.
    Delivered { status: u16 },
    /// Lost on purpose (the dropWebhooks switch): marked delivered, never sent.
    Dropped,
    /// Not delivered; retried at `retry_at`, or given up when `None`.
    Failed {
        status: Option<u16>,
        error: String,
        retry_at: Option<DateTime<Utc>>,
    },
}

/// Records how the delivery of `webhook_id` went.
pub(crate) async fn record(
    pool: &sqlx::PgPool,
    webhook_id: &str,
    outcome: &Outcome,
) -> Result<(), sqlx::Error> {
    let now = Utc::now();
    let query = match outcome {
        Outcome::Delivered { status } => sqlx::query(
            "UPDATE webhook SET attempts = attempts + 1, last_status = $2, last_error = NULL,
                                delivered_at = $3
             WHERE webhook_id = $1",
        )
        .bind(webhook_id)
        .bind(i32::from(*status))
        .bind(now),
        Outcome::Dropped => sqlx::query(
            "UPDATE webhook SET delivered_at = $2,
                                last_error = 'dropped by the dropWebhooks fault switch: never sent'
             WHERE webhook_id = $1",
        )
        .bind(webhook_id)
        .bind(now),
        Outcome::Failed {
            status,
            error,
            retry_at,
        } => sqlx::query(
            "UPDATE webhook SET attempts = attempts + 1, last_status = $2, last_error = $3,
                                next_attempt_at = COALESCE($4, next_attempt_at),
                                failed = $4 IS NULL
             WHERE webhook_id = $1",
        )
        .bind(webhook_id)
        .bind(status.map(i32::from))
        .bind(error)
        .bind(retry_at),
    };
    query.execute(pool).await?;
    Ok(())
}

/// A webhook as `GET /sandbox/webhooks` shows it.
#[derive(Debug, sqlx::FromRow, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct WebhookView {
    webhook_id: String,
    #[sqlx(rename = "type")]
    #[serde(rename = "type")]
    kind: String,
    payment_key: String,
    attempts: i32,
    delivered_at: Option<DateTime<Utc>>,
    failed: bool,
    last_error: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct ListParams {
    payment_key: Option<String>,
}

/// `GET /sandbox/webhooks[?paymentKey=X]`: a payment's webhooks (or the
/// latest thousand), oldest first.
pub(crate) async fn list(
    State(state): State<AppState>,
    params: Result<Query<ListParams>, axum::extract::rejection::QueryRejection>,
) -> Result<Json<serde_json::Value>, ApiError> {
    let Query(params) = params.map_err(|e| ApiError::invalid(e.body_text()))?;
    let webhooks: Vec<WebhookView> = sqlx::query_as(
        "SELECT * FROM (
             SELECT webhook_id, type, payment_key, attempts, delivered_at, failed, last_error,
                    created_at
             FROM webhook WHERE $1::text IS NULL OR payment_key = $1
             ORDER BY created_at DESC, webhook_id DESC LIMIT 1000) latest
         ORDER BY created_at, webhook_id",
    )
    .bind(params.payment_key)
    .fetch_all(&state.store.pool)
    .await?;
    Ok(Json(serde_json::json!({ "webhooks": webhooks })))
}
