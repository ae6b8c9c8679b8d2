//! QueueService (guests and admins, on the edge) and the internal
//! AdmissionService (the guarded services) on the wire: each method hands
//! its request to its domain function in `handlers`.

use staymesh_platform::rpc::{Reply, reply};
use staymesh_proto::queue as pb;
use staymesh_proto::queue::admission_service_server::AdmissionService;
use staymesh_proto::queue::queue_service_server::QueueService;
use tonic::Request;

use crate::queues::Queues;
use crate::watch::WatchStream;

#[tonic::async_trait]
impl QueueService for Queues {
    type WatchPositionStream = WatchStream;

    async fn enter(&self, request: Request<pb::EnterRequest>) -> Reply<pb::EnterResponse> {
        reply(self.enter_rpc(request).await)
    }

    async fn get_position(
        &self,
        request: Request<pb::GetPositionRequest>,
    ) -> Reply<pb::GetPositionResponse> {
        reply(self.get_position_rpc(request).await)
    }

    async fn watch_position(
        &self,
        request: Request<pb::WatchPositionRequest>,
    ) -> Reply<Self::WatchPositionStream> {
        reply(self.watch_position_rpc(request).await)
    }

    async fn leave(&self, request: Request<pb::LeaveRequest>) -> Reply<pb::LeaveResponse> {
        reply(self.leave_rpc(request).await)
    }

    async fn configure_queue(
        &self,
        request: Request<pb::ConfigureQueueRequest>,
    ) -> Reply<pb::ConfigureQueueResponse> {
        reply(self.configure_queue_rpc(request).await)
    }

    async fn get_queue(
        &self,
        request: Request<pb::GetQueueRequest>,
    ) -> Reply<pb::GetQueueResponse> {
        reply(self.get_queue_rpc(request).await)
    }

    async fn admit(&self, request: Request<pb::AdmitRequest>) -> Reply<pb::AdmitResponse> {
        reply(self.admit_rpc(request).await)
    }
}

#[tonic::async_trait]
impl AdmissionService for Queues {
    async fn verify_admission(
        &self,
        request: Request<pb::VerifyAdmissionRequest>,
    ) -> Reply<pb::VerifyAdmissionResponse> {
        reply(self.verify_admission_rpc(request).await)
    }
}
