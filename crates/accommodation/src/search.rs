//! Availability search over the in-memory index: find the listings the
//! region and keyword terms allow (through the postings, confirmed by
//! substring), keep the room types free on every night of the stay, price
//! them (time sales and extra guests included), filter by price, rank and
//! page. Everything reads one snapshot, so a page is consistent.

use std::cmp::Ordering;

use chrono::{DateTime, Utc};
use staymesh_platform::convert::CURRENCY;
use staymesh_proto::accommodation as pb;

use crate::convert::Nights;
use crate::index::{Listing, Room, Snapshot, day_number, intersect, union};
use crate::terms::{self, Term};

/// A validated search.
#[derive(Debug, Clone)]
pub(crate) struct Query {
    pub(crate) region: Option<String>,
    pub(crate) keyword: Option<String>,
    pub(crate) stay: Nights,
    pub(crate) guests: i32,
    pub(crate) min_price: Option<i64>,
    pub(crate) max_price: Option<i64>,
    pub(crate) sort: pb::SearchSort,
    pub(crate) limit: i64,
    pub(crate) offset: i64,
}

/// Field weights of keyword relevance: name > region and address > description.
const NAME: u32 = 3;
const PLACE: u32 = 2;
const DESCRIPTION: u32 = 1;

/// One fitting listing, before paging: what ranking needs, nothing more,
/// so the thousands of hits a broad search finds cost no allocation each.
struct Hit<'a> {
    listing: &'a Listing,
    relevance: u32,
    lowest: i64,
}

/// One page of results, encoded, and whether another follows.
pub(crate) fn search(
    snapshot: &Snapshot,
    q: &Query,
    now: DateTime<Utc>,
) -> (pb::EncodedResults, bool) {
    let matched = snapshot.text.matched(
        q.region.as_deref().unwrap_or_default(),
        q.keyword.as_deref().unwrap_or_default(),
        || {
            let keyword = q.keyword.as_deref().map(terms::terms).unwrap_or_default();
            let region = q.region.as_deref().map(terms::term);
            let all = || (0..u32::try_from(snapshot.listings.len()).unwrap_or(0)).collect();
            candidates(snapshot, region.as_ref(), &keyword)
                .unwrap_or_else(all)
                .into_iter()
                .filter_map(|p| {
                    let l = snapshot.listings.get(usize::try_from(p).ok()?)?;
                    Some((p, matches(l, region.as_ref(), &keyword)?))
                })
                .collect()
        },
    );
    let listing = |p: u32| snapshot.listings.get(usize::try_from(p).ok()?);
    let offset = usize::try_from(q.offset).unwrap_or(usize::MAX);
    let limit = usize::try_from(q.limit).unwrap_or(usize::MAX);
    // One more than the page, to know whether another page follows.
    let wanted = offset.saturating_add(limit).saturating_add(1);
    let stay = Stay::of(q);
    let mut hits: Vec<Hit<'_>> = Vec::new();
    match q.sort {
        pb::SearchSort::PriceAsc | pb::SearchSort::PriceDesc => {
            // The order depends on the stay. Walk the matches from the one
            // whose bound promises most (the lowest floor, or the highest
            // ceiling), keep the best `wanted` priced so far, and stop at
            // the first whose bound cannot beat the worst of them.
            let ascending = q.sort == pb::SearchSort::PriceAsc;
            let nights = q.stay.count();
            let promise = |l: &Listing| {
                if ascending {
                    l.bounds.lowest(nights)
                } else {
                    -l.bounds.highest(nights, q.guests)
                }
            };
            let mut ranked: Vec<(i64, u32, u32)> = matched
                .iter()
                .filter_map(|&(p, relevance)| Some((promise(listing(p)?), relevance, p)))
                .collect();
            // Usually a few times the page decides it: order those first,
            // the rest only if the walk gets there.
            let head = wanted.saturating_mul(4).min(ranked.len());
            if head > 0 && head < ranked.len() {
                ranked.select_nth_unstable_by_key(head - 1, |r| r.0);
                ranked[..head].sort_unstable_by_key(|r| r.0);
            } else {
                ranked.sort_unstable_by_key(|r| r.0);
            }
            let mut sorted_rest = head == ranked.len();
            // The worst price kept, once `wanted` are kept (negated when descending).
            let mut worst: Option<i64> = None;
            let mut i = 0;
            while i < ranked.len() {
                if i == head && !sorted_rest {
                    ranked[head..].sort_unstable_by_key(|r| r.0);
                    sorted_rest = true;
                }
                let (bound, relevance, p) = ranked[i];
                i += 1;
                if worst.is_some_and(|w| bound > w) {
                    break;
                }
                let Some(listing) = listing(p) else { continue };
                let Some(lowest) = rooms(listing, q, stay, now).map(|r| r.2).min() else {
                    continue;
                };
                hits.push(Hit {
                    listing,
                    relevance,
                    lowest,
                });
                if hits.len() >= wanted.saturating_mul(2)
                    || (worst.is_none() && hits.len() == wanted)
                {
                    hits.select_nth_unstable_by(wanted - 1, |a, b| order(q.sort, a, b));
                    hits.truncate(wanted);
                    let last = hits[wanted - 1].lowest;
                    worst = Some(if ascending { last } else { -last });
                }
            }
            let end = wanted.min(hits.len());
            if end > 0 && end < hits.len() {
                hits.select_nth_unstable_by(end - 1, |a, b| order(q.sort, a, b));
                hits.truncate(end);
            }
            hits.sort_unstable_by(|a, b| order(q.sort, a, b));
        }
        pb::SearchSort::Rating | pb::SearchSort::Relevance | pb::SearchSort::Unspecified => {
            // The order is the listing's own: sort the matches by it, then
            // price them in that order until the page (and one more) is full.
            let by_rating = q.sort == pb::SearchSort::Rating;
            let ranks = if by_rating {
                &snapshot.rating_rank
            } else {
                &snapshot.relevance_rank
            };
            let key = (
                q.region.clone().unwrap_or_default(),
                q.keyword.clone().unwrap_or_default(),
                by_rating,
            );
            let ranked = snapshot.ranked(key, || {
                let mut ranked: Vec<(u32, u32, u32)> = matched
                    .iter()
                    .filter_map(|&(p, relevance)| {
                        let rank = *ranks.get(usize::try_from(p).ok()?)?;
                        Some((if by_rating { 0 } else { relevance }, rank, p))
                    })
                    .collect();
                ranked.sort_unstable_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
                ranked.into_iter().map(|(r, _, p)| (r, p)).collect()
            });
            for &(relevance, p) in ranked.iter() {
                let Some(listing) = listing(p) else { continue };
                if let Some(lowest) = rooms(listing, q, stay, now).map(|r| r.2).min() {
                    hits.push(Hit {
                        listing,
                        relevance,
                        lowest,
                    });
                    if hits.len() == wanted {
                        break;
                    }
                }
            }
        }
    }
    let more = hits.len() == wanted;
    let mut page = pb::EncodedResults::with_capacity(limit.min(hits.len().saturating_sub(offset)));
    for hit in hits.iter().skip(offset).take(limit) {
        push_result(&mut page, hit, q, stay, now);
    }
    (page, more)
}

/// The stay in the index's terms: its first night's day number and length.
#[derive(Debug, Clone, Copy)]
struct Stay {
    start: i32,
    nights: usize,
}

impl Stay {
    fn of(q: &Query) -> Stay {
        Stay {
            start: day_number(q.stay.start),
            nights: usize::try_from(q.stay.count()).unwrap_or(0),
        }
    }
}

/// Appends a hit as the guest sees it, with its fitting rooms cheapest
/// first, to `page`: the parts of the property and rooms encoded when the
/// listing was loaded, and this stay's prices and rooms left.
fn push_result(
    page: &mut pb::EncodedResults,
    hit: &Hit<'_>,
    q: &Query,
    stay: Stay,
    now: DateTime<Utc>,
) {
    let mut rooms: Vec<(&Room, i32, i64)> = rooms(hit.listing, q, stay, now).collect();
    rooms.sort_unstable_by(|a, b| a.2.cmp(&b.2).then(a.0.id.cmp(&b.0.id)));
    let offers: Vec<pb::RoomOffer<'_>> = rooms
        .iter()
        .map(|&(room, rooms_left, total_price)| pb::RoomOffer {
            head: &room.head,
            rooms_left,
            total_price,
        })
        .collect();
    page.push(&hit.listing.head, hit.lowest, &offers, CURRENCY);
}

/// The positions the region and keyword allow (sorted), through the
/// postings; `None` when nothing narrows the search.
fn candidates(snapshot: &Snapshot, region: Option<&Term>, keyword: &[Term]) -> Option<Vec<u32>> {
    let mut result: Option<Vec<u32>> = None;
    for term in region.into_iter().chain(keyword) {
        let mut of_term: Option<Vec<u32>> = Some(Vec::new());
        for spelling in &term.spellings {
            match (snapshot.text.candidates(spelling), &of_term) {
                (Some(found), Some(so_far)) => of_term = Some(union(so_far, &found)),
                // A spelling the postings cannot narrow: this term cannot either.
                _ => of_term = None,
            }
        }
        if let Some(found) = of_term {
            result = Some(match result {
                Some(so_far) => intersect(&so_far, &found),
                None => found,
            });
        }
    }
    result
}

/// The listing's keyword relevance, when the region and every keyword
/// term match it.
fn matches(listing: &Listing, region: Option<&Term>, keyword: &[Term]) -> Option<u32> {
    if let Some(region) = region {
        let exact = region.spellings.contains(&listing.region);
        if !exact && !region.matches(&listing.address) {
            return None;
        }
    }
    let mut relevance = 0;
    for term in keyword {
        relevance += if term.matches(&listing.name) {
            NAME
        } else if term.matches(&listing.region) || term.matches(&listing.address) {
            PLACE
        } else if term.matches(&listing.description) {
            DESCRIPTION
        } else {
            return None;
        };
    }
    Some(relevance)
}

/// The listing's room types that fit the stay, guests and price bounds,
/// with their rooms left and total price.
fn rooms<'a>(
    listing: &'a Listing,
    q: &'a Query,
    stay: Stay,
    now: DateTime<Utc>,
) -> impl Iterator<Item = (&'a Room, i32, i64)> + 'a {
    let count = stay.nights;
    listing
        .rooms
        .iter()
        .filter(move |room| room.max_occupancy >= q.guests)
        .filter_map(move |room| {
            let (left, from) = room.nights.stay(stay.start, count)?;
            let percent = listing.sale_percent(room.id, now);
            let nights: i64 = (from..from + count)
                .map(|i| room.nights.prices.get(i) * (100 - percent) / 100)
                .sum();
            let extra = i64::from((q.guests - room.base_occupancy).max(0));
            let total = nights + extra * room.extra_guest_fee * q.stay.count();
            let in_bounds = q.min_price.is_none_or(|min| total >= min)
                && q.max_price.is_none_or(|max| total <= max);
            in_bounds.then_some((room.as_ref(), left, total))
        })
}

/// The order of the four sorts; ties fall to the property id.
fn order(sort: pb::SearchSort, a: &Hit<'_>, b: &Hit<'_>) -> Ordering {
    let (pa, pb_) = (&a.listing.property, &b.listing.property);
    let by_id = || a.listing.id.cmp(&b.listing.id);
    match sort {
        pb::SearchSort::PriceAsc => a.lowest.cmp(&b.lowest).then_with(by_id),
        pb::SearchSort::PriceDesc => b.lowest.cmp(&a.lowest).then_with(by_id),
        pb::SearchSort::Rating => pb_
            .rating
            .total_cmp(&pa.rating)
            .then(pb_.review_count.cmp(&pa.review_count))
            .then_with(by_id),
        pb::SearchSort::Relevance | pb::SearchSort::Unspecified => b
            .relevance
            .cmp(&a.relevance)
            .then(pb_.rating.total_cmp(&pa.rating))
            .then_with(by_id),
    }
}
