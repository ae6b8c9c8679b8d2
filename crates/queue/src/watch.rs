//! Position streams. A process may hold tens of thousands of them, so
//! watchers do not poll one by one: one loop per process reads the tickets
//! of every watcher of a queue in a few script calls (a thousand users
//! each) and hands each watcher its ticket when it changed. A watcher keeps
//! only the latest ticket (a `watch` channel): a slow client skips the
//! positions it missed, never the admission.

use std::collections::HashMap;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use staymesh_platform::Shutdown;
use staymesh_proto::queue as pb;
use tokio::sync::watch;
use tokio_stream::{Stream, StreamExt};
use uuid::Uuid;

use crate::queues::Queues;

/// What WatchPosition returns.
pub(crate) type WatchStream =
    Pin<Box<dyn Stream<Item = Result<pb::WatchPositionResponse, tonic::Status>> + Send>>;

/// Users read by one script call.
const CHUNK: usize = 1_000;

struct Watcher {
    user_id: String,
    ticket_id: Uuid,
    tx: watch::Sender<pb::Ticket>,
}

/// The watchers of this process, by queue.
#[derive(Clone, Default)]
pub(crate) struct Watchers {
    by_queue: Arc<Mutex<HashMap<Uuid, HashMap<u64, Watcher>>>>,
    next: Arc<AtomicU64>,
}

impl std::fmt::Debug for Watchers {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Watchers")
            .field("count", &self.count())
            .finish()
    }
}

/// Whether a ticket will not change any more.
pub(crate) fn settled(ticket: &pb::Ticket) -> bool {
    ticket.state != pb::TicketState::Waiting as i32
}

impl Watchers {
    /// Streams `first`, then the ticket on every change until it settles.
    pub(crate) fn watch(&self, event: Uuid, ticket_id: Uuid, first: pb::Ticket) -> WatchStream {
        let (tx, rx) = watch::channel(first.clone());
        if !settled(&first) {
            let id = self.next.fetch_add(1, Ordering::Relaxed);
            let watcher = Watcher {
                user_id: first.user_id.clone(),
                ticket_id,
                tx,
            };
            self.lock().entry(event).or_default().insert(id, watcher);
            metrics::gauge!("queue_watchers").increment(1.0);
        }
        // Dropping the sender (settled, above, or when the loop sends the
        // settled ticket) ends the stream after its last value.
        Box::pin(tokio_stream::wrappers::WatchStream::new(rx).map(|ticket| {
            Ok(pb::WatchPositionResponse {
                ticket: Some(ticket),
            })
        }))
    }

    /// Streams held now.
    pub(crate) fn count(&self) -> usize {
        self.lock().values().map(HashMap::len).sum()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<Uuid, HashMap<u64, Watcher>>> {
        self.by_queue.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Removes a watcher (ending its stream).
    fn drop_watcher(&self, event: Uuid, id: u64) {
        let mut all = self.lock();
        if let Some(queue) = all.get_mut(&event) {
            if queue.remove(&id).is_some() {
                metrics::gauge!("queue_watchers").decrement(1.0);
            }
            if queue.is_empty() {
                all.remove(&event);
            }
        }
    }

    /// Brings every watcher up to date every `every`, until `shutdown`.
    pub(crate) async fn run(self, queues: Queues, every: Duration, shutdown: Shutdown) {
        while shutdown.sleep(every).await {
            // Clients gone: their streams were dropped.
            let batches: Vec<(Uuid, Vec<(u64, String)>)> = {
                let mut all = self.lock();
                let mut gone = 0;
                for queue in all.values_mut() {
                    let before = queue.len();
                    queue.retain(|_, w| !w.tx.is_closed());
                    gone += before - queue.len();
                }
                all.retain(|_, queue| !queue.is_empty());
                metrics::gauge!("queue_watchers").decrement(gone as f64);
                all.iter()
                    .flat_map(|(event, queue)| {
                        let users: Vec<(u64, String)> = queue
                            .iter()
                            .map(|(id, w)| (*id, w.user_id.clone()))
                            .collect();
                        users
                            .chunks(CHUNK)
                            .map(|chunk| (*event, chunk.to_vec()))
                            .collect::<Vec<_>>()
                    })
                    .collect()
            };
            for (event, chunk) in batches {
                if let Err(error) = self.update(&queues, event, &chunk).await {
                    tracing::warn!(%error, %event, "reading watched tickets failed");
                }
            }
        }
        self.lock().clear();
    }

    async fn update(
        &self,
        queues: &Queues,
        event: Uuid,
        chunk: &[(u64, String)],
    ) -> staymesh_platform::rpc::Result<()> {
        let users: Vec<&str> = chunk.iter().map(|(_, user)| user.as_str()).collect();
        let (head, tickets) = queues.lines.positions(event, &users).await?;
        let mut ended = Vec::new();
        {
            let all = self.lock();
            let Some(queue) = all.get(&event) else {
                return Ok(());
            };
            for ((id, _), ticket) in chunk.iter().zip(tickets) {
                let Some(watcher) = queue.get(id) else {
                    continue;
                };
                // The user's ticket is another one now (they left and
                // entered again): this stream has nothing more to say.
                let Some(ticket) = ticket.filter(|t| t.ticket_id == watcher.ticket_id) else {
                    ended.push(*id);
                    continue;
                };
                let now = queues.to_proto(event, &head, &ticket);
                if settled(&now) {
                    ended.push(*id);
                }
                watcher.tx.send_if_modified(|shown| {
                    let changed = *shown != now;
                    *shown = now;
                    changed
                });
            }
        }
        for id in ended {
            self.drop_watcher(event, id);
        }
        Ok(())
    }
}
