//! WatchBooking: every replica listens on Postgres's `staymesh_booking`
//! channel (the booking table's trigger notifies it on each change, see the
//! migration), so a watcher on any replica learns of a change made by any
//! other at once. A watcher re-reads its booking on each notification; a
//! listener that reconnects, or a watcher that fell behind, re-reads
//! whatever it may have missed. A slow periodic re-read is the last safety
//! net; it stays slow because a sale's thousands of watchers would
//! otherwise keep the pool busy re-reading unchanged bookings.

use std::time::Duration;

use sqlx::PgPool;
use sqlx::postgres::PgListener;
use staymesh_platform::Shutdown;
use staymesh_proto::booking as pb;
use tokio::sync::{broadcast, mpsc};
use tonic::Status;
use uuid::Uuid;

use crate::store::{self, BookingRow};

/// The channel the booking trigger notifies.
const CHANNEL: &str = "staymesh_booking";
/// Longest wait between two reads of a watched booking.
const REREAD_EVERY: Duration = Duration::from_secs(30);

/// Tells watchers which booking changed. `Uuid::nil()` means "maybe any":
/// the listener reconnected and may have missed some.
#[derive(Debug, Clone)]
pub(crate) struct Watchers {
    changed: broadcast::Sender<Uuid>,
    shutdown: Shutdown,
}

impl Watchers {
    pub(crate) fn new(shutdown: Shutdown) -> Self {
        let (changed, _) = broadcast::channel(4096);
        Self { changed, shutdown }
    }

    /// Listens for changes until `shutdown`, reconnecting after a failure.
    pub(crate) async fn listen(self, pool: PgPool) {
        loop {
            match self.listen_once(&pool).await {
                Ok(()) => return,
                Err(error) => {
                    tracing::warn!(%error, "booking change listener failed; reconnecting")
                }
            }
            let _ = self.changed.send(Uuid::nil());
            if !self.shutdown.sleep(Duration::from_secs(1)).await {
                return;
            }
        }
    }

    async fn listen_once(&self, pool: &PgPool) -> Result<(), sqlx::Error> {
        let mut listener = PgListener::connect_with(pool).await?;
        listener.listen(CHANNEL).await?;
        // Whatever changed while not listening is re-read by every watcher.
        let _ = self.changed.send(Uuid::nil());
        loop {
            tokio::select! {
                () = self.shutdown.wait() => return Ok(()),
                notification = listener.recv() => {
                    let notification = notification?;
                    if let Ok(id) = Uuid::parse_str(notification.payload()) {
                        let _ = self.changed.send(id);
                    }
                }
            }
        }
    }

    /// Streams `first` and then the booking on each change, until it needs
    /// nothing more from a saga, the client goes away or the service stops.
    pub(crate) fn watch(
        &self,
        pool: PgPool,
        first: BookingRow,
    ) -> mpsc::Receiver<Result<pb::WatchBookingResponse, Status>> {
        let (tx, rx) = mpsc::channel(8);
        let mut changed = self.changed.subscribe();
        let shutdown = self.shutdown.clone();
        tokio::spawn(async move {
            let id = first.id;
            let mut last = first;
            // An interval, not a sleep per turn: other bookings' changes
            // must not keep postponing the re-read.
            let mut reread = tokio::time::interval(REREAD_EVERY);
            reread.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            reread.tick().await;
            if send(&tx, &last).await.is_err() {
                return;
            }
            while !settled(&last) {
                tokio::select! {
                    () = tx.closed() => return,
                    () = shutdown.wait() => return,
                    _ = reread.tick() => {}
                    woke = changed.recv() => match woke {
                        Ok(changed) if changed != id && !changed.is_nil() => continue,
                        Ok(_) | Err(broadcast::error::RecvError::Lagged(_)) => {}
                        Err(broadcast::error::RecvError::Closed) => return,
                    },
                }
                let now = match store::by_id(&pool, id).await {
                    Ok(Some(now)) => now,
                    Ok(None) => return,
                    Err(error) => {
                        tracing::warn!(%error, booking_id = %id, "re-reading a watched booking failed");
                        continue;
                    }
                };
                if now.updated_at != last.updated_at || now.state != last.state {
                    last = now;
                    if send(&tx, &last).await.is_err() {
                        return;
                    }
                }
            }
        });
        rx
    }
}

/// Whether no saga will move the booking without the guest doing something.
fn settled(row: &BookingRow) -> bool {
    matches!(
        row.state(),
        pb::BookingState::Confirmed | pb::BookingState::Cancelled | pb::BookingState::Completed
    )
}

async fn send(
    tx: &mpsc::Sender<Result<pb::WatchBookingResponse, Status>>,
    row: &BookingRow,
) -> Result<(), ()> {
    tx.send(Ok(pb::WatchBookingResponse {
        booking: Some(row.to_proto()),
    }))
    .await
    .map_err(drop)
}
