//! The PointService (guests and admins, on the edge) and the internal
//! PointBookingService (the booking saga) on the wire: each method hands its
//! request to the domain function of the same name in `handlers`.

use std::sync::Arc;

use staymesh_platform::rpc::{Reply, reply};
use staymesh_proto::point as pb;
use staymesh_proto::point::point_booking_service_server::PointBookingService;
use staymesh_proto::point::point_service_server::PointService;
use tonic::Request;

use crate::directory::Directory;
use crate::points::Points;

/// Shared state of the handlers.
#[derive(Debug, Clone)]
pub struct PointsApi {
    pub(crate) points: Points,
    pub(crate) directory: Arc<dyn Directory>,
}

#[tonic::async_trait]
impl PointService for PointsApi {
    async fn get_balance(
        &self,
        request: Request<pb::GetBalanceRequest>,
    ) -> Reply<pb::GetBalanceResponse> {
        reply(PointsApi::get_balance(self, request).await)
    }

    async fn list_history(
        &self,
        request: Request<pb::ListHistoryRequest>,
    ) -> Reply<pb::ListHistoryResponse> {
        reply(PointsApi::list_history(self, request).await)
    }

    async fn earn(&self, request: Request<pb::EarnRequest>) -> Reply<pb::EarnResponse> {
        reply(PointsApi::earn(self, request).await)
    }

    async fn adjust(&self, request: Request<pb::AdjustRequest>) -> Reply<pb::AdjustResponse> {
        reply(PointsApi::adjust(self, request).await)
    }

    async fn expire_lots(
        &self,
        request: Request<pb::ExpireLotsRequest>,
    ) -> Reply<pb::ExpireLotsResponse> {
        reply(PointsApi::expire_lots(self, request).await)
    }
}

#[tonic::async_trait]
impl PointBookingService for PointsApi {
    async fn reserve_points(
        &self,
        request: Request<pb::ReservePointsRequest>,
    ) -> Reply<pb::ReservePointsResponse> {
        reply(PointsApi::reserve_points(self, request).await)
    }

    async fn commit_points(
        &self,
        request: Request<pb::CommitPointsRequest>,
    ) -> Reply<pb::CommitPointsResponse> {
        reply(PointsApi::commit_points(self, request).await)
    }

    async fn release_points(
        &self,
        request: Request<pb::ReleasePointsRequest>,
    ) -> Reply<pb::ReleasePointsResponse> {
        reply(PointsApi::release_points(self, request).await)
    }

    async fn earn_for_booking(
        &self,
        request: Request<pb::EarnForBookingRequest>,
    ) -> Reply<pb::EarnForBookingResponse> {
        reply(PointsApi::earn_for_booking(self, request).await)
    }
}
