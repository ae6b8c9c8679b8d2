//! One consistent picture of the catalog for searches and property reads:
//! every listing with its room types' nights (price and rooms left) and its
//! time sales. Snapshots are immutable; a change makes a new one that shares
//! every untouched listing and room type with the old.

use std::collections::HashMap;
use std::sync::Arc;

use chrono::{DateTime, NaiveDate, Utc};
use staymesh_proto::accommodation as pb;
use uuid::Uuid;

use super::memo::Memo;
use super::text::TextIndex;

/// A property as search and GetProperty see it.
#[derive(Debug, Clone)]
pub(crate) struct Listing {
    pub(crate) id: Uuid,
    /// The property, for search results.
    pub(crate) property: Arc<pb::Property>,
    /// GetProperty's answer, encoded once when the listing is loaded.
    pub(crate) encoded: pb::EncodedProperty,
    /// What a search result shows of the property, encoded once likewise.
    pub(crate) head: pb::SearchResultHead,
    /// Lower-cased searchable fields.
    pub(crate) name: String,
    pub(crate) region: String,
    pub(crate) address: String,
    pub(crate) description: String,
    pub(crate) rooms: Vec<Arc<Room>>,
    pub(crate) sales: Vec<Sale>,
    /// What any stay here can cost at least and at most (`with_bounds`).
    pub(crate) bounds: Bounds,
}

/// Bounds over every room and night of a listing, so a price sort can
/// skip the listings that cannot reach its page without pricing them.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Bounds {
    floor: i64,
    ceiling: i64,
    max_discount: i64,
    max_fee: i64,
    min_base: i32,
}

impl Bounds {
    /// No stay of `nights` for `guests` costs less.
    pub(crate) fn lowest(&self, nights: i64) -> i64 {
        self.floor * (100 - self.max_discount) / 100 * nights
    }

    /// No stay of `nights` for `guests` costs more.
    pub(crate) fn highest(&self, nights: i64, guests: i32) -> i64 {
        let extra = i64::from((guests - self.min_base).max(0));
        (self.ceiling + extra * self.max_fee) * nights
    }
}

impl Listing {
    /// The listing with its bounds computed from its rooms and sales.
    pub(crate) fn with_bounds(mut self) -> Listing {
        let rooms = self.rooms.iter().filter(|r| !r.nights.left.is_empty());
        self.bounds = Bounds {
            floor: rooms.clone().map(|r| r.nights.min_price).min().unwrap_or(0),
            ceiling: rooms.map(|r| r.nights.max_price).max().unwrap_or(0),
            max_discount: self
                .sales
                .iter()
                .map(|s| i64::from(s.percent))
                .max()
                .unwrap_or(0),
            max_fee: self
                .rooms
                .iter()
                .map(|r| r.extra_guest_fee)
                .max()
                .unwrap_or(0),
            min_base: self
                .rooms
                .iter()
                .map(|r| r.base_occupancy)
                .min()
                .unwrap_or(0),
        };
        self
    }

    /// The text the postings index: every searchable field.
    pub(crate) fn text(&self) -> String {
        format!(
            "{}\u{1}{}\u{1}{}\u{1}{}",
            self.name, self.region, self.address, self.description
        )
    }

    /// The best discount running at `now` on `room`, in percent.
    pub(crate) fn sale_percent(&self, room: Uuid, now: DateTime<Utc>) -> i64 {
        self.sales
            .iter()
            .filter(|s| s.room_type.is_none_or(|r| r == room))
            .filter(|s| s.starts_at <= now && now < s.ends_at)
            .map(|s| i64::from(s.percent))
            .max()
            .unwrap_or(0)
    }
}

/// A room type and its calendar from `first` on.
#[derive(Debug)]
pub(crate) struct Room {
    pub(crate) id: Uuid,
    /// What a search result shows of the room type, encoded once.
    pub(crate) head: pb::AvailableRoomHead,
    pub(crate) base_occupancy: i32,
    pub(crate) max_occupancy: i32,
    pub(crate) extra_guest_fee: i64,
    pub(crate) nights: Nights,
}

/// Nightly prices and rooms left from `first` on; a night without a
/// calendar row, closed or full has 0 rooms left.
#[derive(Debug, Clone, Default)]
pub(crate) struct Nights {
    pub(crate) first: Option<NaiveDate>,
    /// `first` as a day number (`day_number`), for searches' arithmetic.
    first_day: i32,
    /// The lowest and highest price of any night.
    min_price: i64,
    max_price: i64,
    pub(crate) prices: Prices,
    pub(crate) left: Vec<i32>,
}

/// Nightly prices, four bytes each while they fit (the large data set holds
/// about eleven million nights).
#[derive(Debug, Clone)]
pub(crate) enum Prices {
    Small(Vec<u32>),
    Large(Vec<i64>),
}

impl Default for Prices {
    fn default() -> Self {
        Prices::Small(Vec::new())
    }
}

impl Prices {
    pub(crate) fn get(&self, i: usize) -> i64 {
        match self {
            Prices::Small(p) => i64::from(p[i]),
            Prices::Large(p) => p[i],
        }
    }

    fn set(&mut self, i: usize, price: i64) {
        if let Prices::Small(p) = self {
            match u32::try_from(price) {
                Ok(small) => {
                    p[i] = small;
                    return;
                }
                Err(_) => *self = Prices::Large(p.iter().map(|&x| i64::from(x)).collect()),
            }
        }
        if let Prices::Large(p) = self {
            p[i] = price;
        }
    }
}

/// One calendar row as read from Postgres.
#[derive(Debug, Clone, Copy)]
pub(crate) struct NightRow {
    pub(crate) night: NaiveDate,
    pub(crate) price: i64,
    /// total - held - sold, or 0 when closed.
    pub(crate) left: i32,
}

impl Nights {
    /// `rows` (in any order) written over these nights, the range grown to
    /// cover them exactly (eleven million nights leave no room for slack).
    pub(crate) fn with(&self, rows: &[NightRow]) -> Nights {
        let (Some(lo), Some(hi)) = (
            rows.iter().map(|r| r.night).min(),
            rows.iter().map(|r| r.night).max(),
        ) else {
            return self.clone();
        };
        let old_len = self.left.len();
        let (first, last) = match self.first {
            Some(first) if old_len > 0 => {
                let last = first + chrono::Duration::days(days(old_len) - 1);
                (first.min(lo), last.max(hi))
            }
            _ => (lo, hi),
        };
        let len = usize::try_from((last - first).num_days() + 1).unwrap_or(0);
        let offset = self
            .first
            .map_or(0, |f| usize::try_from((f - first).num_days()).unwrap_or(0));
        let mut left = vec![0; len];
        left[offset..offset + old_len].copy_from_slice(&self.left);
        let wide = matches!(self.prices, Prices::Large(_))
            || rows.iter().any(|r| u32::try_from(r.price).is_err());
        let mut prices = if wide {
            Prices::Large(vec![0; len])
        } else {
            Prices::Small(vec![0; len])
        };
        for i in 0..old_len {
            prices.set(offset + i, self.prices.get(i));
        }
        for row in rows {
            let i = usize::try_from((row.night - first).num_days()).unwrap_or(0);
            left[i] = row.left;
            prices.set(i, row.price);
        }
        let all = (0..len).map(|i| prices.get(i));
        Nights {
            first: Some(first),
            first_day: day_number(first),
            min_price: all.clone().min().unwrap_or(0),
            max_price: all.max().unwrap_or(0),
            prices,
            left,
        }
    }

    /// For a stay of `count` nights from `start`: the fewest rooms left and
    /// the index of its first night, or `None` when a night is missing,
    /// closed or full.
    pub(crate) fn stay(&self, start_day: i32, count: usize) -> Option<(i32, usize)> {
        self.first?;
        let from = usize::try_from(start_day - self.first_day).ok()?;
        let slice = self.left.get(from..from + count)?;
        let fewest = slice.iter().copied().min()?;
        (fewest > 0).then_some((fewest, from))
    }
}

/// A date as a number of days, so a search subtracts integers.
pub(crate) fn day_number(date: NaiveDate) -> i32 {
    use chrono::Datelike;
    date.num_days_from_ce()
}

/// A count of nights as a duration's days (at most a few hundred).
fn days(n: usize) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

/// A time sale of a listing.
#[derive(Debug, Clone)]
pub(crate) struct Sale {
    /// `None`: every room type.
    pub(crate) room_type: Option<Uuid>,
    pub(crate) percent: i32,
    pub(crate) starts_at: DateTime<Utc>,
    pub(crate) ends_at: DateTime<Utc>,
}

/// Every listing, by position, with the look-ups into it.
#[derive(Debug, Default, Clone)]
pub(crate) struct Snapshot {
    pub(crate) listings: Vec<Arc<Listing>>,
    pub(crate) positions: Arc<HashMap<Uuid, u32>>,
    /// Room type -> (listing position, room index).
    pub(crate) room_types: Arc<HashMap<Uuid, (u32, usize)>>,
    pub(crate) text: Arc<TextIndex>,
    /// Each position's rank in the rating sort (rating, then reviews, then
    /// id) and in relevance's tie-break (rating, then id): the two sorts
    /// that do not depend on the stay walk listings in this order and stop
    /// at the end of the page.
    pub(crate) rating_rank: Arc<Vec<u32>>,
    pub(crate) relevance_rank: Arc<Vec<u32>>,
    /// The matches of recent queries in rating or relevance order, as
    /// (relevance, position); valid until the ranks change.
    pub(crate) ranked: Arc<Memo<RankedKey, Ranked>>,
}

/// A query's region, keyword, and whether it sorts by rating (else relevance).
pub(crate) type RankedKey = (String, String, bool);
/// Matches in the order of a sort that does not depend on the stay.
pub(crate) type Ranked = Arc<Vec<(u32, u32)>>;

impl Snapshot {
    /// A snapshot of `listings` with fresh look-ups and postings.
    pub(crate) fn of(listings: Vec<Arc<Listing>>) -> Snapshot {
        let mut snapshot = Snapshot {
            listings,
            ..Snapshot::default()
        };
        snapshot.reindex();
        snapshot
    }

    /// Rebuilds the look-ups and postings after listings were added or
    /// their text or room types changed.
    pub(crate) fn reindex(&mut self) {
        let mut positions = HashMap::with_capacity(self.listings.len());
        let mut room_types = HashMap::with_capacity(self.listings.len() * 3);
        for (position, listing) in self.listings.iter().enumerate() {
            let position = u32::try_from(position).unwrap_or(u32::MAX);
            positions.insert(listing.id, position);
            for (r, room) in listing.rooms.iter().enumerate() {
                room_types.insert(room.id, (position, r));
            }
        }
        let texts: Vec<String> = self.listings.iter().map(|l| l.text()).collect();
        self.text = Arc::new(TextIndex::build(texts.iter().map(String::as_str)));
        self.positions = Arc::new(positions);
        self.room_types = Arc::new(room_types);
        self.rerank();
    }

    /// Recomputes the ranks after ratings may have changed.
    pub(crate) fn rerank(&mut self) {
        let rank = |by: &dyn Fn(&Listing, &Listing) -> std::cmp::Ordering| {
            let mut order: Vec<usize> = (0..self.listings.len()).collect();
            order.sort_unstable_by(|&a, &b| by(&self.listings[a], &self.listings[b]));
            let mut ranks = vec![0; order.len()];
            for (rank, position) in order.into_iter().enumerate() {
                ranks[position] = u32::try_from(rank).unwrap_or(u32::MAX);
            }
            Arc::new(ranks)
        };
        self.rating_rank = rank(&|a, b| {
            let (pa, pb) = (&a.property, &b.property);
            pb.rating
                .total_cmp(&pa.rating)
                .then(pb.review_count.cmp(&pa.review_count))
                .then(a.id.cmp(&b.id))
        });
        self.relevance_rank = rank(&|a, b| {
            b.property
                .rating
                .total_cmp(&a.property.rating)
                .then(a.id.cmp(&b.id))
        });
        self.ranked = Arc::default();
    }

    /// The cached order of `key`'s matches, or `compute`'s.
    pub(crate) fn ranked(
        &self,
        key: RankedKey,
        compute: impl FnOnce() -> Vec<(u32, u32)>,
    ) -> Ranked {
        self.ranked.get_or(key, || Arc::new(compute()))
    }

    pub(crate) fn listing(&self, id: Uuid) -> Option<&Arc<Listing>> {
        let position = *self.positions.get(&id)?;
        self.listings.get(usize::try_from(position).ok()?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(2027, 1, d).unwrap()
    }

    fn row(d: u32, price: i64, left: i32) -> NightRow {
        NightRow {
            night: day(d),
            price,
            left,
        }
    }

    #[test]
    fn nights_grow_both_ways_and_gaps_are_unavailable() {
        let nights = Nights::default().with(&[row(5, 100, 2), row(7, 300, 1)]);
        assert_eq!(nights.first, Some(day(5)));
        assert!(
            nights.stay(day_number(day(5)), 3).is_none(),
            "the 6th has no row"
        );
        let nights = nights.with(&[row(6, 200, 4), row(3, 50, 1)]);
        assert_eq!(nights.first, Some(day(3)));
        let (left, from) = nights.stay(day_number(day(5)), 3).unwrap();
        assert_eq!(left, 1);
        let p = &nights.prices;
        assert_eq!((p.get(from), p.get(from + 2)), (100, 300));
        assert!(
            nights.stay(day_number(day(4)), 2).is_none(),
            "the 4th has no row"
        );
        assert!(
            nights.stay(day_number(day(7)), 2).is_none(),
            "past the calendar"
        );
        assert!(
            nights.stay(day_number(day(1)), 1).is_none(),
            "before the calendar"
        );
    }

    #[test]
    fn prices_widen_when_one_does_not_fit_four_bytes() {
        let big = i64::from(u32::MAX) + 1;
        let nights = Nights::default().with(&[row(1, 7, 1), row(2, big, 1)]);
        assert!(matches!(nights.prices, Prices::Large(_)));
        assert_eq!((nights.prices.get(0), nights.prices.get(1)), (7, big));
    }
}
