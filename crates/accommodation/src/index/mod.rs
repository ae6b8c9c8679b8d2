//! The in-memory search index of one replica: every listing with its nights
//! and time sales, so SearchAvailability and GetProperty never wait on
//! Postgres. Postgres stays the source of truth and the hold path stays in
//! it, transactional; the index follows it through notifications sent at
//! commit (`follow.rs`, the triggers of the search-index migration), within
//! milliseconds normally and a bounded time always (see README).
//!
//! A replica builds its index at start-up and reports NOT_SERVING until it
//! has. Writes made through this replica refresh the index before they
//! answer, so a host reads back what it just wrote.

mod follow;
mod load;
mod memo;
mod snapshot;
mod text;

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use arc_swap::ArcSwap;
use chrono::NaiveDate;
use sqlx::PgPool;
use staymesh_platform::rpc::Result;
use uuid::Uuid;

pub(crate) use snapshot::{Listing, Room, Snapshot, day_number};
pub(crate) use text::{intersect, union};

use crate::convert::today;

/// The index; cheap to share.
#[derive(Debug)]
pub(crate) struct Index {
    pool: PgPool,
    current: ArcSwap<Snapshot>,
    ready: AtomicBool,
    /// One writer at a time, so no change is lost between read and swap.
    writer: tokio::sync::Mutex<()>,
}

/// What a batch of notifications asks to read again.
#[derive(Debug, Default)]
pub(crate) struct Changes {
    pub(crate) everything: bool,
    pub(crate) properties: HashSet<Uuid>,
    pub(crate) nights: HashMap<Uuid, (NaiveDate, NaiveDate)>,
}

impl Index {
    pub(crate) fn new(pool: PgPool) -> Arc<Index> {
        Arc::new(Index {
            pool,
            current: ArcSwap::from_pointee(Snapshot::default()),
            ready: AtomicBool::new(false),
            writer: tokio::sync::Mutex::new(()),
        })
    }

    /// The current snapshot, once the first build has finished.
    pub(crate) fn snapshot(&self) -> Option<Arc<Snapshot>> {
        self.is_ready().then(|| self.current.load_full())
    }

    pub(crate) fn is_ready(&self) -> bool {
        self.ready.load(Ordering::Acquire)
    }

    /// Reads everything again: the start-up build, and the way back after
    /// notifications may have been lost.
    pub(crate) async fn rebuild(&self) -> Result<()> {
        let _writer = self.writer.lock().await;
        let started = std::time::Instant::now();
        let mut nights = load::nights(&self.pool, None, today()).await?;
        let listings = load::listings(&self.pool, None, |id| {
            nights.remove(&id).unwrap_or_default()
        })
        .await?;
        let count = listings.len();
        let snapshot = Snapshot::of(listings.into_iter().map(Arc::new).collect());
        self.current.store(Arc::new(snapshot));
        self.ready.store(true, Ordering::Release);
        tracing::info!(
            listings = count,
            took_ms = started.elapsed().as_millis(),
            "search index built"
        );
        Ok(())
    }

    /// Reads these properties again (room types, sales and every night).
    pub(crate) async fn reload_properties(&self, ids: &[Uuid]) -> Result<()> {
        self.apply(Changes {
            properties: ids.iter().copied().collect(),
            ..Changes::default()
        })
        .await
    }

    /// Reads nights `first..=last` of a room type again.
    pub(crate) async fn refresh_nights(
        &self,
        room_type: Uuid,
        first: NaiveDate,
        last: NaiveDate,
    ) -> Result<()> {
        self.apply(Changes {
            nights: HashMap::from([(room_type, (first, last))]),
            ..Changes::default()
        })
        .await
    }

    /// Applies a batch of changes: reads what they name and swaps in a
    /// snapshot that shares everything else with the current one.
    pub(crate) async fn apply(&self, changes: Changes) -> Result<()> {
        if changes.everything {
            return self.rebuild().await;
        }
        let _writer = self.writer.lock().await;
        let mut snapshot = Snapshot::clone(&self.current.load());
        let mut properties: Vec<Uuid> = changes.properties.into_iter().collect();

        // Nights of known room types are patched in place; those of room
        // types the index has not seen yet come with their property.
        let ranges: Vec<(Uuid, NaiveDate, NaiveDate)> = changes
            .nights
            .iter()
            .filter(|(room_type, _)| snapshot.room_types.contains_key(*room_type))
            .map(|(id, (first, last))| (*id, *first, *last))
            .collect();
        let unknown: Vec<Uuid> = changes
            .nights
            .keys()
            .filter(|id| !snapshot.room_types.contains_key(*id))
            .copied()
            .collect();
        if !unknown.is_empty() {
            properties.extend(load::properties_of(&self.pool, &unknown).await?);
        }
        if !ranges.is_empty() {
            let rows = load::night_ranges(&self.pool, &ranges).await?;
            for (room_type, rows) in rows {
                patch_nights(&mut snapshot, room_type, &rows);
            }
        }
        if !properties.is_empty() {
            properties.sort_unstable();
            properties.dedup();
            self.replace_listings(&mut snapshot, &properties).await?;
        }
        self.current.store(Arc::new(snapshot));
        Ok(())
    }

    /// Reads `ids` whole and puts them into `snapshot`; a new property is
    /// appended. Postings are rebuilt only when searchable text changed.
    async fn replace_listings(&self, snapshot: &mut Snapshot, ids: &[Uuid]) -> Result<()> {
        let room_types: Vec<Uuid> = ids
            .iter()
            .filter_map(|id| snapshot.listing(*id))
            .flat_map(|l| l.rooms.iter().map(|r| r.id))
            .collect();
        let mut nights = load::nights(&self.pool, Some(&room_types), today()).await?;
        // Room types new to the index read their nights in the same pass.
        let listings = load::listings(&self.pool, Some(ids), |_| Default::default()).await?;
        let new_rooms: Vec<Uuid> = listings
            .iter()
            .flat_map(|l| l.rooms.iter().map(|r| r.id))
            .filter(|id| !nights.contains_key(id) && !room_types.contains(id))
            .collect();
        if !new_rooms.is_empty() {
            nights.extend(load::nights(&self.pool, Some(&new_rooms), today()).await?);
        }
        let mut reindex = false;
        for mut listing in listings {
            for room in &mut listing.rooms {
                // Freshly loaded: the only owner of its room types.
                if let (Some(n), Some(room)) = (nights.remove(&room.id), Arc::get_mut(room)) {
                    room.nights = n;
                }
            }
            let listing = listing.with_bounds();
            match snapshot.positions.get(&listing.id).copied() {
                Some(position) => {
                    let slot = &mut snapshot.listings[position as usize];
                    let same_rooms = slot.rooms.len() == listing.rooms.len()
                        && slot
                            .rooms
                            .iter()
                            .zip(&listing.rooms)
                            .all(|(a, b)| a.id == b.id);
                    reindex |= slot.text() != listing.text() || !same_rooms;
                    *slot = Arc::new(listing);
                }
                None => {
                    snapshot.listings.push(Arc::new(listing));
                    reindex = true;
                }
            }
        }
        if reindex {
            snapshot.reindex();
        } else {
            snapshot.rerank();
        }
        Ok(())
    }
}

/// Writes `rows` over the nights of `room_type` in `snapshot`.
fn patch_nights(snapshot: &mut Snapshot, room_type: Uuid, rows: &[snapshot::NightRow]) {
    let Some(&(position, r)) = snapshot.room_types.get(&room_type) else {
        return;
    };
    let slot = &mut snapshot.listings[position as usize];
    let Some(room) = slot.rooms.get(r) else {
        return;
    };
    let room = Arc::new(snapshot::Room {
        nights: room.nights.with(rows),
        id: room.id,
        head: room.head.clone(),
        base_occupancy: room.base_occupancy,
        max_occupancy: room.max_occupancy,
        extra_guest_fee: room.extra_guest_fee,
    });
    let mut listing = Listing::clone(slot);
    listing.rooms[r] = room;
    *slot = Arc::new(listing.with_bounds());
}

pub(crate) use follow::follow;
