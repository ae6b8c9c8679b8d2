//! What each accommodation RPC does (the public AccommodationService and the
//! internal InventoryService): validation, authorization, and calls into the
//! catalog, calendar, search, inventory and pricing modules. `api` and
//! `inventory_api` wire these to the gRPC traits, one line each.

use staymesh_platform::FieldViolations;
use staymesh_platform::auth::{Role, require_role};
use staymesh_platform::convert::{Page, require_id};
use staymesh_platform::rpc::{Error, Result};
use staymesh_proto::accommodation as pb;
use tonic::Request;

use crate::api::Accommodation;
use crate::calendar::{self, NightSettings};
use crate::catalog;
use crate::convert::{self, MAX_CALENDAR_NIGHTS};
use crate::inventory;
use crate::quote;
use crate::search;
use crate::time_sale;

impl Accommodation {
    /// After a change to a listing has committed: invalidates its cached
    /// lowest price and reads it into this replica's search index, so the
    /// caller reads back what it wrote (other replicas follow through the
    /// notification). Failures are logged, not returned, because the change
    /// itself has committed; the notification still reaches the index.
    async fn listing_changed(&self, property_id: uuid::Uuid) {
        if let Err(error) = self.index.reload_properties(&[property_id]).await {
            tracing::error!(%error, %property_id, "search index refresh failed");
        }
        for attempt in 1..=3 {
            match self.prices.invalidate(property_id).await {
                Ok(()) => return,
                Err(error) => {
                    tracing::error!(%error, %property_id, attempt, "lowest-price invalidation failed")
                }
            }
        }
    }

    /// After a hold, confirm or release has committed: reads its nights
    /// into this replica's index, so a search through this replica right
    /// after sees it (others follow through the notification).
    async fn nights_changed(&self, hold: &pb::Hold) {
        let mut v = FieldViolations::new();
        let room_type = convert::id(&hold.room_type_id, "room_type_id", &mut v);
        let first = convert::date(hold.check_in.as_ref(), "check_in", &mut v);
        let end = convert::date(hold.check_out.as_ref(), "check_out", &mut v);
        // A release that came before its hold names no nights.
        let (Some(room_type), Some(first), Some(end)) = (room_type, first, end) else {
            return;
        };
        let last = end - chrono::Duration::days(1);
        if let Err(error) = self.index.refresh_nights(room_type, first, last).await {
            tracing::error!(%error, %room_type, "search index refresh failed");
        }
    }

    pub(crate) async fn create_property(
        &self,
        request: Request<pb::CreatePropertyRequest>,
    ) -> Result<pb::CreatePropertyResponse> {
        let caller = require_role(&request, &[Role::Host])?;
        let fields = catalog::property_fields(request.get_ref().property.as_ref(), true)?;
        let property = catalog::create_property(&self.pool, &caller.user_id, fields).await?;
        self.listing_changed(require_id(&property.property_id, "property_id")?)
            .await;
        Ok(pb::CreatePropertyResponse {
            property: Some(property),
        })
    }

    pub(crate) async fn update_property(
        &self,
        request: Request<pb::UpdatePropertyRequest>,
    ) -> Result<pb::UpdatePropertyResponse> {
        let caller = require_role(&request, &[Role::Host])?;
        let id = require_id(&request.get_ref().property_id, "property_id")?;
        let fields = catalog::property_fields(request.get_ref().property.as_ref(), false)?;
        let property = catalog::update_property(&self.pool, &caller, id, fields).await?;
        self.listing_changed(id).await;
        Ok(pb::UpdatePropertyResponse {
            property: Some(property),
        })
    }

    pub(crate) async fn get_property(
        &self,
        request: Request<pb::GetPropertyRequest>,
    ) -> Result<pb::GetPropertyResponse> {
        let id = require_id(&request.get_ref().property_id, "property_id")?;
        // From the index; a property it has not seen yet (created on another
        // replica a moment ago) from Postgres.
        let indexed = self
            .index
            .snapshot()
            .and_then(|s| s.listing(id).map(|l| l.encoded.clone()));
        Ok(match indexed {
            Some(encoded) => pb::GetPropertyResponse::from_encoded(encoded),
            None => {
                pb::GetPropertyResponse::from_property(catalog::get_property(&self.pool, id).await?)
            }
        })
    }

    pub(crate) async fn list_host_properties(
        &self,
        request: Request<pb::ListHostPropertiesRequest>,
    ) -> Result<pb::ListHostPropertiesResponse> {
        let r = request.get_ref();
        let mut v = FieldViolations::new();
        v.check(!r.host_id.is_empty(), "host_id", "is required");
        let page = Page::parse(r.page_size, &r.page_token, &mut v);
        v.into_result()?;
        let properties =
            catalog::list_host_properties(&self.pool, &r.host_id, page.fetch(), page.offset)
                .await?;
        let (properties, next_page_token) = page.finish(properties);
        Ok(pb::ListHostPropertiesResponse {
            properties,
            next_page_token,
        })
    }

    pub(crate) async fn create_room_type(
        &self,
        request: Request<pb::CreateRoomTypeRequest>,
    ) -> Result<pb::CreateRoomTypeResponse> {
        let caller = require_role(&request, &[Role::Host])?;
        let property_id = require_id(&request.get_ref().property_id, "property_id")?;
        let fields = catalog::room_type_fields(request.get_ref().room_type.as_ref())?;
        let room_type = catalog::create_room_type(&self.pool, &caller, property_id, fields).await?;
        self.listing_changed(property_id).await;
        Ok(pb::CreateRoomTypeResponse {
            room_type: Some(room_type),
        })
    }

    pub(crate) async fn update_room_type(
        &self,
        request: Request<pb::UpdateRoomTypeRequest>,
    ) -> Result<pb::UpdateRoomTypeResponse> {
        let caller = require_role(&request, &[Role::Host])?;
        let id = require_id(&request.get_ref().room_type_id, "room_type_id")?;
        let fields = catalog::room_type_fields(request.get_ref().room_type.as_ref())?;
        let room_type = catalog::update_room_type(&self.pool, &caller, id, fields).await?;
        self.listing_changed(require_id(&room_type.property_id, "property_id")?)
            .await;
        Ok(pb::UpdateRoomTypeResponse {
            room_type: Some(room_type),
        })
    }

    pub(crate) async fn set_calendar(
        &self,
        request: Request<pb::SetCalendarRequest>,
    ) -> Result<pb::SetCalendarResponse> {
        let caller = require_role(&request, &[Role::Host])?;
        let r = request.get_ref();
        let mut v = FieldViolations::new();
        let room_type_id = convert::id(&r.room_type_id, "room_type_id", &mut v);
        let nights = convert::range(r.range.as_ref(), "range", MAX_CALENDAR_NIGHTS, true, &mut v);
        let price = convert::won(r.price.as_ref(), "price", &mut v);
        v.check(
            r.rooms_for_sale >= 0,
            "rooms_for_sale",
            "must not be negative",
        );
        v.into_result()?;
        let (Some(room_type_id), Some(nights), Some(price)) = (room_type_id, nights, price) else {
            return Err(Error::invalid("request", "is incomplete"));
        };
        let room = catalog::room_type(&self.pool, room_type_id).await?;
        catalog::ensure_owner(&self.pool, &caller, room.property_id).await?;
        if r.rooms_for_sale > room.total_rooms {
            return Err(Error::invalid(
                "rooms_for_sale",
                format!(
                    "must be at most the room type's total_rooms ({})",
                    room.total_rooms
                ),
            ));
        }
        let settings = NightSettings {
            price,
            rooms_for_sale: r.rooms_for_sale,
            closed: r.closed,
        };
        let updated = calendar::set_nights(&self.pool, room_type_id, nights, settings).await?;
        self.listing_changed(room.property_id).await;
        Ok(pb::SetCalendarResponse {
            // At most MAX_CALENDAR_NIGHTS nights of one room type.
            nights_updated: i32::try_from(updated).unwrap_or(i32::MAX),
        })
    }

    pub(crate) async fn get_calendar(
        &self,
        request: Request<pb::GetCalendarRequest>,
    ) -> Result<pb::GetCalendarResponse> {
        let r = request.get_ref();
        let mut v = FieldViolations::new();
        let room_type_id = convert::id(&r.room_type_id, "room_type_id", &mut v);
        let nights = convert::range(
            r.range.as_ref(),
            "range",
            MAX_CALENDAR_NIGHTS,
            false,
            &mut v,
        );
        v.into_result()?;
        let (Some(room_type_id), Some(nights)) = (room_type_id, nights) else {
            return Err(Error::invalid("request", "is incomplete"));
        };
        catalog::room_type(&self.pool, room_type_id).await?;
        calendar::get_nights(&self.pool, room_type_id, nights)
            .await
            .map(|nights| pb::GetCalendarResponse { nights })
    }

    pub(crate) async fn search_availability(
        &self,
        request: Request<pb::SearchAvailabilityRequest>,
    ) -> Result<pb::SearchAvailabilityResponse> {
        let query = search_query(request.get_ref())?;
        let snapshot = self.index.snapshot().ok_or_else(|| {
            Error::Infra(staymesh_platform::Error::Dependency {
                service: crate::SERVICE,
                status: tonic::Status::unavailable("the search index is still being built"),
            })
        })?;
        let (results, more) = search::search(&snapshot, &query, chrono::Utc::now());
        let next_page_token = if more {
            convert::page_token(query.offset + query.limit)
        } else {
            String::new()
        };
        Ok(pb::SearchAvailabilityResponse::from_encoded(
            results,
            next_page_token,
        ))
    }

    pub(crate) async fn create_time_sale(
        &self,
        request: Request<pb::CreateTimeSaleRequest>,
    ) -> Result<pb::CreateTimeSaleResponse> {
        let caller = require_role(&request, &[Role::Host])?;
        let r = request.get_ref();
        let mut v = FieldViolations::new();
        let property_id = convert::id(&r.property_id, "property_id", &mut v);
        let room_type_id = if r.room_type_id.is_empty() {
            None
        } else {
            convert::id(&r.room_type_id, "room_type_id", &mut v)
        };
        v.check(
            (1..=90).contains(&r.discount_percent),
            "discount_percent",
            "must be between 1 and 90",
        );
        let starts_at = convert::from_timestamp(r.starts_at.as_ref(), "starts_at", &mut v);
        let ends_at = convert::from_timestamp(r.ends_at.as_ref(), "ends_at", &mut v);
        if let (Some(starts), Some(ends)) = (starts_at, ends_at) {
            v.check(ends > starts, "ends_at", "must be after starts_at");
            v.check(
                ends > chrono::Utc::now(),
                "ends_at",
                "must be in the future",
            );
        }
        v.into_result()?;
        let (Some(property_id), Some(starts_at), Some(ends_at)) = (property_id, starts_at, ends_at)
        else {
            return Err(Error::invalid("request", "is incomplete"));
        };
        catalog::ensure_owner(&self.pool, &caller, property_id).await?;
        let sale = time_sale::NewSale {
            property_id,
            room_type_id,
            discount_percent: r.discount_percent,
            starts_at,
            ends_at,
            waiting_room: r.waiting_room,
        };
        let created = time_sale::create(&self.pool, sale).await?;
        self.listing_changed(property_id).await;
        Ok(pb::CreateTimeSaleResponse {
            time_sale: Some(created),
        })
    }

    pub(crate) async fn end_time_sale(
        &self,
        request: Request<pb::EndTimeSaleRequest>,
    ) -> Result<pb::EndTimeSaleResponse> {
        let caller = require_role(&request, &[Role::Host])?;
        let id = require_id(&request.get_ref().time_sale_id, "time_sale_id")?;
        let property_id = time_sale::property_of(&self.pool, id).await?;
        catalog::ensure_owner(&self.pool, &caller, property_id).await?;
        let ended = time_sale::end(&self.pool, id).await?;
        self.listing_changed(property_id).await;
        Ok(pb::EndTimeSaleResponse {
            time_sale: Some(ended),
        })
    }

    pub(crate) async fn get_lowest_price(
        &self,
        request: Request<pb::GetLowestPriceRequest>,
    ) -> Result<pb::GetLowestPriceResponse> {
        let id = require_id(&request.get_ref().property_id, "property_id")?;
        // NOT_FOUND for an unknown property rather than an empty price.
        if !catalog::property_exists(&self.pool, id).await? {
            return Err(Error::not_found("property", id.to_string()));
        }
        self.prices.get(&self.pool, id).await
    }

    pub(crate) async fn hold_nights(
        &self,
        request: Request<pb::HoldNightsRequest>,
    ) -> Result<pb::HoldNightsResponse> {
        let r = request.get_ref();
        let hold = inventory::HoldRequest::read(
            &r.booking_id,
            &r.room_type_id,
            r.check_in.as_ref(),
            r.check_out.as_ref(),
            r.rooms,
        )?;
        let hold = inventory::hold(&self.pool, &hold).await?;
        self.nights_changed(&hold).await;
        Ok(pb::HoldNightsResponse { hold: Some(hold) })
    }

    pub(crate) async fn confirm_hold(
        &self,
        request: Request<pb::ConfirmHoldRequest>,
    ) -> Result<pb::ConfirmHoldResponse> {
        let booking_id = require_id(&request.get_ref().booking_id, "booking_id")?;
        let hold = inventory::confirm(&self.pool, booking_id).await?;
        self.nights_changed(&hold).await;
        Ok(pb::ConfirmHoldResponse { hold: Some(hold) })
    }

    pub(crate) async fn release_hold(
        &self,
        request: Request<pb::ReleaseHoldRequest>,
    ) -> Result<pb::ReleaseHoldResponse> {
        let booking_id = require_id(&request.get_ref().booking_id, "booking_id")?;
        let hold = inventory::release(&self.pool, booking_id).await?;
        self.nights_changed(&hold).await;
        Ok(pb::ReleaseHoldResponse { hold: Some(hold) })
    }

    pub(crate) async fn get_hold(
        &self,
        request: Request<pb::GetHoldRequest>,
    ) -> Result<pb::GetHoldResponse> {
        let booking_id = require_id(&request.get_ref().booking_id, "booking_id")?;
        let hold = inventory::get(&self.pool, booking_id).await?;
        Ok(pb::GetHoldResponse { hold: Some(hold) })
    }

    pub(crate) async fn quote_stay(
        &self,
        request: Request<pb::QuoteStayRequest>,
    ) -> Result<pb::QuoteStayResponse> {
        let asked = quote::QuoteRequest::read(request.get_ref())?;
        quote::quote(&self.pool, &asked).await
    }
}

/// Validates a search request.
fn search_query(r: &pb::SearchAvailabilityRequest) -> Result<search::Query> {
    let mut v = FieldViolations::new();
    let stay = convert::stay(r.check_in.as_ref(), r.check_out.as_ref(), &mut v);
    v.check(
        (1..=50).contains(&r.guests),
        "guests",
        "must be between 1 and 50",
    );
    v.check(r.min_price >= 0, "min_price", "must not be negative");
    v.check(r.max_price >= 0, "max_price", "must not be negative");
    if r.max_price > 0 {
        v.check(
            r.min_price <= r.max_price,
            "max_price",
            "must be at least min_price",
        );
    }
    v.check(
        r.keyword.chars().count() <= 100,
        "keyword",
        "at most 100 characters",
    );
    let sort = pb::SearchSort::try_from(r.sort).unwrap_or_else(|_| {
        v.add("sort", "unknown sort order");
        pb::SearchSort::Unspecified
    });
    let page = Page::parse(r.page_size, &r.page_token, &mut v);
    v.into_result()?;
    let stay = stay.ok_or_else(|| Error::invalid("check_in", "is required"))?;
    let non_empty = |s: &str| Some(s.trim().to_owned()).filter(|s| !s.is_empty());
    Ok(search::Query {
        region: non_empty(&r.region),
        keyword: non_empty(&r.keyword),
        stay,
        guests: r.guests,
        min_price: (r.min_price > 0).then_some(r.min_price),
        max_price: (r.max_price > 0).then_some(r.max_price),
        sort,
        limit: page.limit,
        offset: page.offset,
    })
}
