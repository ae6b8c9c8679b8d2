//! The public AccommodationService on the wire: each method hands its
//! request to the domain function of the same name in `handlers`.

use sqlx::PgPool;
use staymesh_platform::rpc::{Reply, reply};
use staymesh_proto::accommodation as pb;
use staymesh_proto::accommodation::accommodation_service_server::AccommodationService;
use tonic::Request;

use crate::index::Index;
use crate::lowest_price::LowestPrices;

/// Shared state of the service's handlers.
#[derive(Debug, Clone)]
pub struct Accommodation {
    pub(crate) pool: PgPool,
    pub(crate) prices: LowestPrices,
    pub(crate) index: std::sync::Arc<Index>,
}

#[tonic::async_trait]
impl AccommodationService for Accommodation {
    async fn create_property(
        &self,
        request: Request<pb::CreatePropertyRequest>,
    ) -> Reply<pb::CreatePropertyResponse> {
        reply(Accommodation::create_property(self, request).await)
    }

    async fn update_property(
        &self,
        request: Request<pb::UpdatePropertyRequest>,
    ) -> Reply<pb::UpdatePropertyResponse> {
        reply(Accommodation::update_property(self, request).await)
    }

    async fn get_property(
        &self,
        request: Request<pb::GetPropertyRequest>,
    ) -> Reply<pb::GetPropertyResponse> {
        reply(Accommodation::get_property(self, request).await)
    }

    async fn list_host_properties(
        &self,
        request: Request<pb::ListHostPropertiesRequest>,
    ) -> Reply<pb::ListHostPropertiesResponse> {
        reply(Accommodation::list_host_properties(self, request).await)
    }

    async fn create_room_type(
        &self,
        request: Request<pb::CreateRoomTypeRequest>,
    ) -> Reply<pb::CreateRoomTypeResponse> {
        reply(Accommodation::create_room_type(self, request).await)
    }

    async fn update_room_type(
        &self,
        request: Request<pb::UpdateRoomTypeRequest>,
    ) -> Reply<pb::UpdateRoomTypeResponse> {
        reply(Accommodation::update_room_type(self, request).await)
    }

    async fn set_calendar(
        &self,
        request: Request<pb::SetCalendarRequest>,
    ) -> Reply<pb::SetCalendarResponse> {
        reply(Accommodation::set_calendar(self, request).await)
    }

    async fn get_calendar(
        &self,
        request: Request<pb::GetCalendarRequest>,
    ) -> Reply<pb::GetCalendarResponse> {
        reply(Accommodation::get_calendar(self, request).await)
    }

    async fn search_availability(
        &self,
        request: Request<pb::SearchAvailabilityRequest>,
    ) -> Reply<pb::SearchAvailabilityResponse> {
        reply(Accommodation::search_availability(self, request).await)
    }

    async fn create_time_sale(
        &self,
        request: Request<pb::CreateTimeSaleRequest>,
    ) -> Reply<pb::CreateTimeSaleResponse> {
        reply(Accommodation::create_time_sale(self, request).await)
    }

    async fn end_time_sale(
        &self,
        request: Request<pb::EndTimeSaleRequest>,
    ) -> Reply<pb::EndTimeSaleResponse> {
        reply(Accommodation::end_time_sale(self, request).await)
    }

    async fn get_lowest_price(
        &self,
        request: Request<pb::GetLowestPriceRequest>,
    ) -> Reply<pb::GetLowestPriceResponse> {
        reply(Accommodation::get_lowest_price(self, request).await)
    }
}
