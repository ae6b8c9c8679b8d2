//! The SagaService on the wire: each method hands its request to the
//! function of the same name in `handlers`.

use sqlx::PgPool;
use staymesh_platform::rpc::{Reply, reply};
use staymesh_proto::saga as pb;
use staymesh_proto::saga::saga_service_server::SagaService;
use tonic::Request;

/// Shared state of the handlers.
#[derive(Debug, Clone)]
pub struct SagasApi {
    pub(crate) pool: PgPool,
}

#[tonic::async_trait]
impl SagaService for SagasApi {
    #[tracing::instrument(skip_all, fields(saga_id = %request.get_ref().saga_id))]
    async fn get_saga(&self, request: Request<pb::GetSagaRequest>) -> Reply<pb::GetSagaResponse> {
        reply(SagasApi::get_saga(self, request.get_ref()).await)
    }

    async fn list_sagas(
        &self,
        request: Request<pb::ListSagasRequest>,
    ) -> Reply<pb::ListSagasResponse> {
        reply(SagasApi::list_sagas(self, request.get_ref()).await)
    }
}
