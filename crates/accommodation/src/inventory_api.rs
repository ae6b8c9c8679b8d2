//! The internal InventoryService the booking saga calls to hold, confirm and
//! release nights.

use staymesh_platform::FieldViolations;
use staymesh_proto::accommodation as pb;
use staymesh_proto::accommodation::inventory_service_server::InventoryService;
use tonic::{Request, Response, Status};

use crate::api::Accommodation;
use crate::convert;
use crate::error::Error;
use crate::inventory;

type Reply<T> = std::result::Result<Response<T>, Status>;

#[tonic::async_trait]
impl InventoryService for Accommodation {
    #[tracing::instrument(skip_all, fields(booking_id = %request.get_ref().booking_id))]
    async fn hold_nights(
        &self,
        request: Request<pb::HoldNightsRequest>,
    ) -> Reply<pb::HoldNightsResponse> {
        let r = request.get_ref();
        let mut v = FieldViolations::new();
        let booking_id = convert::id(&r.booking_id, "booking_id", &mut v);
        let room_type_id = convert::id(&r.room_type_id, "room_type_id", &mut v);
        let stay = convert::stay(r.check_in.as_ref(), r.check_out.as_ref(), &mut v);
        let rooms = if r.rooms == 0 { 1 } else { r.rooms };
        v.check(
            (1..=100).contains(&rooms),
            "rooms",
            "must be between 1 and 100",
        );
        v.into_result().map_err(Error::from)?;
        let (Some(booking_id), Some(room_type_id), Some(stay)) = (booking_id, room_type_id, stay)
        else {
            return Err(Status::invalid_argument("invalid request"));
        };
        let hold = inventory::hold(&self.pool, booking_id, room_type_id, stay, rooms).await?;
        Ok(Response::new(pb::HoldNightsResponse { hold: Some(hold) }))
    }

    #[tracing::instrument(skip_all, fields(booking_id = %request.get_ref().booking_id))]
    async fn confirm_hold(
        &self,
        request: Request<pb::ConfirmHoldRequest>,
    ) -> Reply<pb::ConfirmHoldResponse> {
        let booking_id = convert::require_id(&request.get_ref().booking_id, "booking_id")?;
        let hold = inventory::confirm(&self.pool, booking_id).await?;
        Ok(Response::new(pb::ConfirmHoldResponse { hold: Some(hold) }))
    }

    #[tracing::instrument(skip_all, fields(booking_id = %request.get_ref().booking_id))]
    async fn release_hold(
        &self,
        request: Request<pb::ReleaseHoldRequest>,
    ) -> Reply<pb::ReleaseHoldResponse> {
        let booking_id = convert::require_id(&request.get_ref().booking_id, "booking_id")?;
        let hold = inventory::release(&self.pool, booking_id).await?;
        Ok(Response::new(pb::ReleaseHoldResponse { hold: Some(hold) }))
    }

    #[tracing::instrument(skip_all, fields(booking_id = %request.get_ref().booking_id))]
    async fn get_hold(&self, request: Request<pb::GetHoldRequest>) -> Reply<pb::GetHoldResponse> {
        let booking_id = convert::require_id(&request.get_ref().booking_id, "booking_id")?;
        let hold = inventory::get(&self.pool, booking_id).await?;
        Ok(Response::new(pb::GetHoldResponse { hold: Some(hold) }))
    }
}
