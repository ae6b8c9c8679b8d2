//! The internal InventoryService the booking saga calls to hold, confirm and
//! release nights, on the wire: each method hands its request to the domain
//! function of the same name in `handlers`.

use staymesh_platform::rpc::{Reply, reply};
use staymesh_proto::accommodation as pb;
use staymesh_proto::accommodation::inventory_service_server::InventoryService;
use tonic::Request;

use crate::api::Accommodation;

#[tonic::async_trait]
impl InventoryService for Accommodation {
    #[tracing::instrument(skip_all, fields(booking_id = %request.get_ref().booking_id))]
    async fn hold_nights(
        &self,
        request: Request<pb::HoldNightsRequest>,
    ) -> Reply<pb::HoldNightsResponse> {
        reply(Accommodation::hold_nights(self, request).await)
    }

    #[tracing::instrument(skip_all, fields(booking_id = %request.get_ref().booking_id))]
    async fn confirm_hold(
        &self,
        request: Request<pb::ConfirmHoldRequest>,
    ) -> Reply<pb::ConfirmHoldResponse> {
        reply(Accommodation::confirm_hold(self, request).await)
    }

    #[tracing::instrument(skip_all, fields(booking_id = %request.get_ref().booking_id))]
    async fn release_hold(
        &self,
        request: Request<pb::ReleaseHoldRequest>,
    ) -> Reply<pb::ReleaseHoldResponse> {
        reply(Accommodation::release_hold(self, request).await)
    }

    #[tracing::instrument(skip_all, fields(booking_id = %request.get_ref().booking_id))]
    async fn get_hold(&self, request: Request<pb::GetHoldRequest>) -> Reply<pb::GetHoldResponse> {
        reply(Accommodation::get_hold(self, request).await)
    }

    #[tracing::instrument(skip_all, fields(room_type_id = %request.get_ref().room_type_id))]
    async fn quote_stay(
        &self,
        request: Request<pb::QuoteStayRequest>,
    ) -> Reply<pb::QuoteStayResponse> {
        reply(Accommodation::quote_stay(self, request).await)
    }
}
