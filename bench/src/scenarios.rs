//! The staymesh side: connecting to the accommodation service, finding the
//! seeded properties, and the per-worker calls of the GetProperty and
//! SearchAvailability scenarios.

use std::sync::Arc;

use anyhow::{Context as _, bail};
use chrono::{Datelike, NaiveDate, TimeDelta, Utc};
use prost::Message as _;
use prost::bytes::Bytes;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use staymesh_platform::demo::HOST_ID as DEMO_HOST_ID;
use staymesh_proto::accommodation::accommodation_service_client::AccommodationServiceClient;
use staymesh_proto::accommodation::{
    GetPropertyRequest, ListHostPropertiesRequest, SearchAvailabilityRequest, SearchSort,
};
use staymesh_proto::common::Date;
use tonic::Status;
use tonic::transport::{Channel, Endpoint};

use crate::echo;
use crate::load::Call;

/// Pages of 100 read while collecting property ids; the seed makes far fewer.
const MAX_PAGES: usize = 100;

const REGIONS: &[&str] = &[
    "서울", "부산", "제주", "강릉", "속초", "경주", "여수", "가평",
];
const KEYWORDS: &[&str] = &["바다뷰", "호텔", "풀빌라", "펜션", "힐링", "ocean", "hanok"];
const SORTS: &[SearchSort] = &[
    SearchSort::Relevance,
    SearchSort::PriceAsc,
    SearchSort::PriceDesc,
    SearchSort::Rating,
];

/// Opens `count` HTTP/2 connections to `url`: one `Channel` each.
pub(crate) async fn connect(url: &str, count: usize) -> anyhow::Result<Vec<Channel>> {
    let endpoint = Endpoint::from_shared(url.to_owned())?;
    let mut channels = Vec::with_capacity(count);
    for _ in 0..count {
        channels.push(endpoint.connect().await?);
    }
    Ok(channels)
}

/// The ids of the demo host's properties, which is what `staymesh seed` makes.
pub(crate) async fn seeded_property_ids(channel: Channel) -> anyhow::Result<Vec<String>> {
    let mut client = AccommodationServiceClient::new(channel);
    let mut ids = Vec::new();
    let mut page_token = String::new();
    for _ in 0..MAX_PAGES {
        let page = client
            .list_host_properties(ListHostPropertiesRequest {
                host_id: DEMO_HOST_ID.to_string(),
                page_size: 100,
                page_token,
            })
            .await
            .context("ListHostProperties for the demo host")?
            .into_inner();
        ids.extend(page.properties.into_iter().map(|p| p.property_id));
        if page.next_page_token.is_empty() {
            break;
        }
        page_token = page.next_page_token;
    }
    if ids.is_empty() {
        bail!(
            "the target has no seeded properties (demo host {DEMO_HOST_ID}): \
             run `make up`, or `staymesh migrate && staymesh seed` then `staymesh all`"
        );
    }
    Ok(ids)
}

/// How many results one search of the scenario's kind returns, to show the
/// searches are not all empty.
pub(crate) async fn sample_search(channel: Channel) -> anyhow::Result<usize> {
    let mut rng = StdRng::seed_from_u64(0);
    let request = search_request(&mut rng, today_kst());
    let response = AccommodationServiceClient::new(channel)
        .search_availability(request)
        .await
        .context("a sample SearchAvailability")?;
    Ok(response.into_inner().results.len())
}

/// Worker calls for the echo baseline, each sending `payload`.
pub(crate) fn echo(channels: &[Channel], payload: Bytes) -> impl FnMut(usize) -> Call {
    let channels = channels.to_vec();
    move |worker| {
        let channel = channels[worker % channels.len()].clone();
        let payload = payload.clone();
        Box::new(move || Box::pin(echo::call(channel.clone(), payload.clone())))
    }
}

/// The two RPCs' paths, for the raw-bytes calls.
const GET_PROPERTY: &str = "/staymesh.accommodation.v1.AccommodationService/GetProperty";
const SEARCH: &str = "/staymesh.accommodation.v1.AccommodationService/SearchAvailability";

/// Worker calls for GetProperty on a random seeded id. Each worker decodes
/// and checks its first answer (the property asked for); the rest it takes
/// as bytes, as the echo client does, unless `decode` asks for every one.
pub(crate) fn get_property(
    channels: &[Channel],
    ids: Arc<[String]>,
    decode: bool,
) -> impl FnMut(usize) -> Call {
    let channels = channels.to_vec();
    move |worker| {
        let channel = channels[worker % channels.len()].clone();
        let ids = Arc::clone(&ids);
        let mut rng = StdRng::seed_from_u64(worker as u64);
        let mut checked = false;
        Box::new(move || {
            let id = ids[rng.random_range(0..ids.len())].clone();
            let request = GetPropertyRequest {
                property_id: id.clone(),
            };
            let channel = channel.clone();
            if decode || !checked {
                checked = true;
                return Box::pin(async move {
                    let answer = AccommodationServiceClient::new(channel)
                        .get_property(request)
                        .await?
                        .into_inner();
                    match answer.property {
                        Some(property) if property.property_id == id => Ok(()),
                        _ => Err(Status::data_loss("GetProperty answered another property")),
                    }
                });
            }
            Box::pin(async move {
                let answer =
                    echo::unary(channel, GET_PROPERTY, request.encode_to_vec().into()).await?;
                non_empty(answer)
            })
        })
    }
}

/// Worker calls for SearchAvailability with varied regions, keywords,
/// dates and sorts; answers decoded as for [`get_property`].
pub(crate) fn search(channels: &[Channel], decode: bool) -> impl FnMut(usize) -> Call {
    let channels = channels.to_vec();
    let today = today_kst();
    move |worker| {
        let channel = channels[worker % channels.len()].clone();
        let mut rng = StdRng::seed_from_u64(1_000 + worker as u64);
        let mut checked = false;
        Box::new(move || {
            let request = search_request(&mut rng, today);
            let channel = channel.clone();
            if decode || !checked {
                checked = true;
                return Box::pin(async move {
                    AccommodationServiceClient::new(channel)
                        .search_availability(request)
                        .await
                        .map(drop)
                });
            }
            Box::pin(async move {
                echo::unary(channel, SEARCH, request.encode_to_vec().into())
                    .await
                    .map(drop)
            })
        })
    }
}

/// A GetProperty answer always holds the property: empty bytes would not.
fn non_empty(answer: Bytes) -> Result<(), Status> {
    if answer.is_empty() {
        return Err(Status::data_loss("an empty answer"));
    }
    Ok(())
}

/// A search a guest might make: a region, a keyword or both; check-in 7 to
/// 60 days ahead for 1 to 3 nights; two guests; the first page of 20.
fn search_request(rng: &mut StdRng, today: NaiveDate) -> SearchAvailabilityRequest {
    let region = REGIONS[rng.random_range(0..REGIONS.len())];
    let keyword = KEYWORDS[rng.random_range(0..KEYWORDS.len())];
    let (region, keyword) = match rng.random_range(0..3) {
        0 => (region, ""),
        1 => ("", keyword),
        _ => (region, keyword),
    };
    let check_in = today + chrono::Days::new(rng.random_range(7..=60));
    let check_out = check_in + chrono::Days::new(rng.random_range(1..=3));
    SearchAvailabilityRequest {
        region: region.to_owned(),
        keyword: keyword.to_owned(),
        check_in: Some(date(check_in)),
        check_out: Some(date(check_out)),
        guests: 2,
        sort: SORTS[rng.random_range(0..SORTS.len())] as i32,
        page_size: 20,
        ..Default::default()
    }
}

/// The service's "today" is Korean time; match it so check-ins stay ahead.
fn today_kst() -> NaiveDate {
    (Utc::now() + TimeDelta::hours(9)).date_naive()
}

fn date(d: NaiveDate) -> Date {
    Date {
        year: d.year(),
        month: d.month() as i32,
        day: d.day() as i32,
    }
}
