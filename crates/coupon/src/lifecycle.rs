//! An issuance event's life after creation: it opens, may sell out, and ends
//! or is closed. Each change is announced once, as an
//! `IssuanceEventStateChanged` through the outbox (so the announcement commits
//! with the change) and, for opening and selling out, on the webhook.
//!
//! Opening and ending happen by the clock, so a scheduler looks for them
//! every tick; `FOR UPDATE SKIP LOCKED` and the `announced_*` columns let
//! every replica run it without announcing anything twice.

use chrono::Utc;
use serde_json::json;
use sqlx::{PgConnection, PgPool};
use staymesh_platform::Shutdown;
use staymesh_platform::convert::timestamp;
use staymesh_platform::kafka::outbox;
use staymesh_proto::coupon as pb;
use staymesh_proto::saga::IssuanceEventStateChanged;
use uuid::Uuid;

use crate::events::{self, EVENT_COLUMNS, EventRow};
use crate::webhook::Webhook;
use staymesh_platform::rpc::Result;

/// Announces state changes.
#[derive(Debug, Clone)]
pub(crate) struct Announcer {
    pool: PgPool,
    topic: String,
    webhook: Option<Webhook>,
}

impl Announcer {
    pub(crate) fn new(pool: PgPool, topic: String, webhook: Option<Webhook>) -> Self {
        Self {
            pool,
            topic,
            webhook,
        }
    }

    /// Adds the state-change event to the outbox of the caller's transaction.
    pub(crate) async fn enqueue(
        &self,
        db: &mut PgConnection,
        event: &EventRow,
        state: pb::IssuanceEventState,
    ) -> Result<()> {
        let message = IssuanceEventStateChanged {
            event_id: event.id.to_string(),
            coupon_id: event.coupon_id.to_string(),
            state: state as i32,
            changed_at: Some(timestamp(Utc::now())),
            issued: event.issued,
        };
        outbox::enqueue(db, &self.topic, &event.id.to_string(), &message).await?;
        Ok(())
    }

    /// The last coupon was claimed: record and announce it, off the claim's
    /// path (the guest's answer does not wait for it).
    pub(crate) fn sold_out(&self, event_id: Uuid) {
        let announcer = self.clone();
        tokio::spawn(async move {
            if let Err(error) = announcer.record_sold_out(event_id).await {
                tracing::error!(%error, %event_id, "recording a sell-out failed");
            }
        });
    }

    async fn record_sold_out(&self, event_id: Uuid) -> Result<()> {
        let mut tx = self.pool.begin().await?;
        let Some(event) = events::mark_sold_out(&mut *tx, event_id).await? else {
            return Ok(());
        };
        self.enqueue(&mut tx, &event, pb::IssuanceEventState::SoldOut)
            .await?;
        tx.commit().await?;
        tracing::info!(%event_id, quantity = event.quantity, "issuance event sold out");
        self.notify(&event, "sold out").await;
        Ok(())
    }

    async fn notify(&self, event: &EventRow, what: &str) {
        if let Some(webhook) = &self.webhook {
            webhook
                .post(json!({
                    "text": format!("Coupon issuance event {} {what}", event.id),
                    "event_id": event.id.to_string(),
                    "coupon_id": event.coupon_id.to_string(),
                    "state": what,
                    "quantity": event.quantity,
                    "opens_at": event.opens_at.to_rfc3339(),
                    "closes_at": event.closes_at.to_rfc3339(),
                }))
                .await;
        }
    }

    /// Announces the events that opened or ended since the last tick.
    pub(crate) async fn tick(&self) -> Result<()> {
        let opened = self
            .announce(
                "announced_open_at",
                "opens_at <= now() AND closes_at > now()",
                pb::IssuanceEventState::Open,
            )
            .await?;
        for event in &opened {
            self.notify(event, "opened").await;
        }
        self.announce(
            "announced_ended_at",
            "closes_at <= now()",
            pb::IssuanceEventState::Ended,
        )
        .await?;
        Ok(())
    }

    async fn announce(
        &self,
        column: &str,
        due: &str,
        state: pb::IssuanceEventState,
    ) -> Result<Vec<EventRow>> {
        let mut tx = self.pool.begin().await?;
        let due: Vec<EventRow> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "UPDATE issuance_event SET {column} = now() WHERE id IN ( \
               SELECT id FROM issuance_event \
               WHERE {column} IS NULL AND closed_at IS NULL AND {due} \
               ORDER BY opens_at LIMIT 100 FOR UPDATE SKIP LOCKED \
             ) RETURNING {EVENT_COLUMNS}"
        )))
        .fetch_all(&mut *tx)
        .await?;
        for event in &due {
            self.enqueue(&mut tx, event, state).await?;
            tracing::info!(event_id = %event.id, state = ?state, "issuance event state changed");
        }
        tx.commit().await?;
        Ok(due)
    }
}

/// Ticks until shutdown.
pub(crate) async fn run(announcer: Announcer, every: std::time::Duration, shutdown: Shutdown) {
    loop {
        if let Err(error) = announcer.tick().await {
            tracing::warn!(%error, "issuance event scheduler tick failed");
        }
        if !shutdown.sleep(every).await {
            return;
        }
    }
}
