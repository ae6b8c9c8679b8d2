//! A canned in-memory AccommodationService: just enough behaviour to observe what
//! the gateway sent. The real service is tested in its own crate.

use std::future::pending;

use staymesh_proto::accommodation::accommodation_service_server::AccommodationService;
use staymesh_proto::accommodation::*;
use staymesh_proto::common::{Date, Money};
use tonic::{Code, Request, Response, Status};
use tonic_types::{ErrorDetails, StatusExt};

// Ids are UUIDs: the contracts' rules are checked by this stand-in too.
/// The id GetProperty knows.
pub(crate) const KNOWN_ID: &str = "0190c0de-0000-7000-8000-00000000a001";
/// The id GetLowestPrice never answers for.
pub(crate) const SLOW_ID: &str = "0190c0de-0000-7000-8000-00000000a002";
/// An id nothing knows.
pub(crate) const UNKNOWN_ID: &str = "0190c0de-0000-7000-8000-00000000a404";
/// A room type and a time sale.
pub(crate) const ROOM_TYPE_ID: &str = "0190c0de-0000-7000-8000-00000000a003";
pub(crate) const TIME_SALE_ID: &str = "0190c0de-0000-7000-8000-00000000a007";

#[derive(Debug, Default)]
pub(crate) struct FakeAccommodation;

fn date(d: Option<Date>) -> String {
    d.map(|d| format!("{:04}-{:02}-{:02}", d.year, d.month, d.day))
        .unwrap_or_default()
}

fn metadata(request: &Request<impl Sized>, key: &str) -> String {
    request
        .metadata()
        .get(key)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned()
}

fn unimplemented<T>() -> Result<Response<T>, Status> {
    Err(Status::unimplemented("not in the stand-in"))
}

#[tonic::async_trait]
impl AccommodationService for FakeAccommodation {
    async fn create_property(
        &self,
        request: Request<CreatePropertyRequest>,
    ) -> Result<Response<CreatePropertyResponse>, Status> {
        // Echo what arrived as metadata so tests can see it was forwarded.
        let description = format!(
            "auth={};trace={};rid={}",
            metadata(&request, "authorization"),
            metadata(&request, "traceparent"),
            metadata(&request, "x-request-id"),
        );
        let input = request.into_inner().property.unwrap_or_default();
        Ok(Response::new(CreatePropertyResponse {
            property: Some(Property {
                property_id: "p-new".into(),
                name: input.name,
                region: input.region,
                amenities: input.amenities,
                description,
                ..Default::default()
            }),
        }))
    }

    async fn update_property(
        &self,
        request: Request<UpdatePropertyRequest>,
    ) -> Result<Response<UpdatePropertyResponse>, Status> {
        let request = request.into_inner();
        let input = request.property.unwrap_or_default();
        Ok(Response::new(UpdatePropertyResponse {
            property: Some(Property {
                property_id: request.property_id,
                name: input.name,
                ..Default::default()
            }),
        }))
    }

    async fn get_property(
        &self,
        request: Request<GetPropertyRequest>,
    ) -> Result<Response<GetPropertyResponse>, Status> {
        let id = request.into_inner().property_id;
        if id != KNOWN_ID {
            return Err(Status::not_found(format!("property {id} not found")));
        }
        Ok(Response::new(GetPropertyResponse::from_property(
            Property {
                property_id: id,
                host_id: "h-1".into(),
                name: "제주 바다 펜션".into(),
                region: "제주".into(),
                amenities: vec!["wifi".into(), "parking".into()],
                rating: 4.5,
                room_types: vec![RoomType {
                    room_type_id: "rt-1".into(),
                    name: "Ocean Double".into(),
                    max_occupancy: 2,
                    extra_guest_fee: Some(Money {
                        amount: 20_000,
                        currency: "KRW".into(),
                    }),
                    ..Default::default()
                }],
                created_at: Some(prost_types::Timestamp {
                    seconds: 1_790_000_000,
                    nanos: 0,
                }),
                ..Default::default()
            },
        )))
    }

    async fn list_host_properties(
        &self,
        _: Request<ListHostPropertiesRequest>,
    ) -> Result<Response<ListHostPropertiesResponse>, Status> {
        unimplemented()
    }

    async fn create_room_type(
        &self,
        _: Request<CreateRoomTypeRequest>,
    ) -> Result<Response<CreateRoomTypeResponse>, Status> {
        unimplemented()
    }

    async fn update_room_type(
        &self,
        _: Request<UpdateRoomTypeRequest>,
    ) -> Result<Response<UpdateRoomTypeResponse>, Status> {
        unimplemented()
    }

    async fn set_calendar(
        &self,
        _: Request<SetCalendarRequest>,
    ) -> Result<Response<SetCalendarResponse>, Status> {
        unimplemented()
    }

    async fn get_calendar(
        &self,
        request: Request<GetCalendarRequest>,
    ) -> Result<Response<GetCalendarResponse>, Status> {
        // Echo the dotted query parameters range.start / range.end as two nights.
        let range = request.into_inner().range.unwrap_or_default();
        let nights = [range.start, range.end]
            .into_iter()
            .map(|date| Night {
                date,
                ..Default::default()
            })
            .collect();
        Ok(Response::new(GetCalendarResponse { nights }))
    }

    /// Echoes every parsed field back, so tests can check the transcoding.
    async fn search_availability(
        &self,
        request: Request<SearchAvailabilityRequest>,
    ) -> Result<Response<SearchAvailabilityResponse>, Status> {
        let r = request.into_inner();
        if r.guests < 1 {
            return Err(Status::with_error_details(
                Code::InvalidArgument,
                "guests must be at least 1",
                ErrorDetails::with_bad_request_violation("guests", "must be at least 1"),
            ));
        }
        let sort = r.sort().as_str_name().to_owned();
        Ok(Response::new(SearchAvailabilityResponse::from_results(
            vec![SearchResult {
                name: r.keyword,
                region: r.region,
                address: format!("{}..{}", date(r.check_in), date(r.check_out)),
                thumbnail_url: sort,
                review_count: r.guests,
                lowest_total_price: Some(Money {
                    amount: r.min_price,
                    currency: "KRW".into(),
                }),
                ..Default::default()
            }],
            r.page_token,
        )))
    }

    async fn create_time_sale(
        &self,
        request: Request<CreateTimeSaleRequest>,
    ) -> Result<Response<CreateTimeSaleResponse>, Status> {
        let r = request.into_inner();
        Ok(Response::new(CreateTimeSaleResponse {
            time_sale: Some(TimeSale {
                time_sale_id: "ts-1".into(),
                property_id: r.property_id,
                discount_percent: r.discount_percent,
                starts_at: r.starts_at,
                ends_at: r.ends_at,
                ..Default::default()
            }),
        }))
    }

    async fn end_time_sale(
        &self,
        request: Request<EndTimeSaleRequest>,
    ) -> Result<Response<EndTimeSaleResponse>, Status> {
        Ok(Response::new(EndTimeSaleResponse {
            time_sale: Some(TimeSale {
                time_sale_id: request.into_inner().time_sale_id,
                ..Default::default()
            }),
        }))
    }

    async fn get_lowest_price(
        &self,
        request: Request<GetLowestPriceRequest>,
    ) -> Result<Response<GetLowestPriceResponse>, Status> {
        if request.get_ref().property_id == SLOW_ID {
            // Never answers: the gateway's deadline must.
            pending::<()>().await;
        }
        Err(Status::internal("secret database detail"))
    }
}
