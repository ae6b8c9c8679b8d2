//! ReviewService on the wire: each method hands its request to its domain
//! function in `handlers`.

use staymesh_platform::rpc::{Reply, reply};
use staymesh_proto::review as pb;
use staymesh_proto::review::review_service_server::ReviewService;
use tonic::Request;

use crate::reviews::Reviews;

/// Shared state of the handlers.
#[derive(Debug, Clone)]
pub struct ReviewsApi {
    pub(crate) reviews: Reviews,
}

#[tonic::async_trait]
impl ReviewService for ReviewsApi {
    async fn create_review(
        &self,
        request: Request<pb::CreateReviewRequest>,
    ) -> Reply<pb::CreateReviewResponse> {
        reply(self.create_review_rpc(request).await)
    }

    async fn get_review(
        &self,
        request: Request<pb::GetReviewRequest>,
    ) -> Reply<pb::GetReviewResponse> {
        reply(self.get_review_rpc(request).await)
    }

    async fn update_review(
        &self,
        request: Request<pb::UpdateReviewRequest>,
    ) -> Reply<pb::UpdateReviewResponse> {
        reply(self.update_review_rpc(request).await)
    }

    async fn delete_review(
        &self,
        request: Request<pb::DeleteReviewRequest>,
    ) -> Reply<pb::DeleteReviewResponse> {
        reply(self.delete_review_rpc(request).await)
    }

    async fn hide_review(
        &self,
        request: Request<pb::HideReviewRequest>,
    ) -> Reply<pb::HideReviewResponse> {
        reply(self.hide_review_rpc(request).await)
    }

    async fn list_property_reviews(
        &self,
        request: Request<pb::ListPropertyReviewsRequest>,
    ) -> Reply<pb::ListPropertyReviewsResponse> {
        reply(self.list_property_reviews_rpc(request).await)
    }

    async fn list_my_reviews(
        &self,
        request: Request<pb::ListMyReviewsRequest>,
    ) -> Reply<pb::ListMyReviewsResponse> {
        reply(self.list_my_reviews_rpc(request).await)
    }

    async fn get_rating_summary(
        &self,
        request: Request<pb::GetRatingSummaryRequest>,
    ) -> Reply<pb::GetRatingSummaryResponse> {
        reply(self.get_rating_summary_rpc(request).await)
    }

    async fn create_image_upload(
        &self,
        request: Request<pb::CreateImageUploadRequest>,
    ) -> Reply<pb::CreateImageUploadResponse> {
        reply(self.create_image_upload_rpc(request).await)
    }
}
