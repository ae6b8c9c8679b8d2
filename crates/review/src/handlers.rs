//! The review service's domain functions, one per RPC: who may call, what
//! the request must hold beyond the contract's rules (which the codec
//! checks before a handler runs), and the answer.

use staymesh_platform::auth::{
    Authentication, Caller, Role, authorization, require_caller, require_role,
};
use staymesh_platform::convert::{self, Page, require_id};
use staymesh_platform::error::FieldViolations;
use staymesh_platform::rpc::{Error, Result};
use staymesh_proto::review as pb;
use tonic::Request;

use crate::api::ReviewsApi;
use crate::reviews::NewReview;
use uuid::Uuid;

/// Longest review text, in characters.
const MAX_TEXT: usize = 2_000;
/// Shortest review text, in characters (after trimming).
const MIN_TEXT: usize = 10;

/// A rating the contract bounded to 0-5, as stored.
fn rating(value: i32) -> Result<i16> {
    i16::try_from(value).map_err(|_| Error::invalid("rating", "must be 1 to 5"))
}

fn check_text(text: &str, v: &mut FieldViolations) -> String {
    let text = text.trim();
    let length = text.chars().count();
    v.check(
        (MIN_TEXT..=MAX_TEXT).contains(&length),
        "text",
        "must be 10 to 2,000 characters",
    );
    text.to_owned()
}

/// Upload ids for a review (at most five, each once: the contract's rules).
fn upload_ids(ids: &[String]) -> Result<Vec<Uuid>> {
    ids.iter()
        .map(|id| Ok(require_id(id, "image_upload_ids")?))
        .collect()
}

/// The caller when the request carries a valid token; public reads take none.
fn optional_caller<T>(request: &Request<T>) -> Option<Caller> {
    match request.extensions().get::<Authentication>() {
        Some(Authentication::Authenticated(caller)) => Some(caller.clone()),
        _ => None,
    }
}

impl ReviewsApi {
    pub(crate) async fn create_review_rpc(
        &self,
        request: Request<pb::CreateReviewRequest>,
    ) -> Result<pb::CreateReviewResponse> {
        let caller = require_caller(&request)?;
        let r = request.get_ref();
        let mut v = FieldViolations::new();
        let text = check_text(&r.text, &mut v);
        v.into_result()?;
        let booking_id = require_id(&r.booking_id, "booking_id")?;
        let rating = rating(r.rating)?;
        let images = upload_ids(&r.image_upload_ids)?;
        let row = self
            .reviews
            .create(
                &caller,
                authorization(&request),
                NewReview {
                    booking_id,
                    rating,
                    text,
                    images,
                },
            )
            .await?;
        Ok(pb::CreateReviewResponse {
            review: Some(self.reviews.render_one(&row).await?),
        })
    }

    pub(crate) async fn get_review_rpc(
        &self,
        request: Request<pb::GetReviewRequest>,
    ) -> Result<pb::GetReviewResponse> {
        let caller = optional_caller(&request);
        let id = require_id(&request.get_ref().review_id, "review_id")?;
        let row = self.reviews.get(id, caller.as_ref()).await?;
        Ok(pb::GetReviewResponse {
            review: Some(self.reviews.render_one(&row).await?),
        })
    }

    pub(crate) async fn update_review_rpc(
        &self,
        request: Request<pb::UpdateReviewRequest>,
    ) -> Result<pb::UpdateReviewResponse> {
        let caller = require_caller(&request)?;
        let r = request.get_ref();
        let mut v = FieldViolations::new();
        let text = (!r.text.is_empty()).then(|| check_text(&r.text, &mut v));
        v.check(
            r.replace_images || r.image_upload_ids.is_empty(),
            "image_upload_ids",
            "set replace_images to change the images",
        );
        v.into_result()?;
        let id = require_id(&r.review_id, "review_id")?;
        let rating = (r.rating != 0).then(|| rating(r.rating)).transpose()?;
        let images = r
            .replace_images
            .then(|| upload_ids(&r.image_upload_ids))
            .transpose()?;
        let row = self
            .reviews
            .update(&caller, id, rating, text, images)
            .await?;
        Ok(pb::UpdateReviewResponse {
            review: Some(self.reviews.render_one(&row).await?),
        })
    }

    pub(crate) async fn delete_review_rpc(
        &self,
        request: Request<pb::DeleteReviewRequest>,
    ) -> Result<pb::DeleteReviewResponse> {
        let caller = require_caller(&request)?;
        let id = require_id(&request.get_ref().review_id, "review_id")?;
        self.reviews.delete(&caller, id).await?;
        Ok(pb::DeleteReviewResponse {})
    }

    pub(crate) async fn hide_review_rpc(
        &self,
        request: Request<pb::HideReviewRequest>,
    ) -> Result<pb::HideReviewResponse> {
        let caller = require_role(&request, &[Role::Admin])?;
        let r = request.get_ref();
        let id = require_id(&r.review_id, "review_id")?;
        let row = self.reviews.hide(&caller, id, r.hidden).await?;
        Ok(pb::HideReviewResponse {
            review: Some(self.reviews.render_one(&row).await?),
        })
    }

    pub(crate) async fn list_property_reviews_rpc(
        &self,
        request: Request<pb::ListPropertyReviewsRequest>,
    ) -> Result<pb::ListPropertyReviewsResponse> {
        let r = request.get_ref();
        let mut v = FieldViolations::new();
        let property_id = convert::id(&r.property_id, "property_id", &mut v);
        let room_type_id = if r.room_type_id.is_empty() {
            None
        } else {
            convert::id(&r.room_type_id, "room_type_id", &mut v)
        };
        let sort = pb::ReviewSort::try_from(r.sort).unwrap_or_else(|_| {
            v.add("sort", "is not a review sort");
            pb::ReviewSort::Unspecified
        });
        let page = Page::parse(r.page_size, &r.page_token, &mut v);
        v.into_result()?;
        let property_id =
            property_id.ok_or_else(|| Error::invalid("property_id", "is required"))?;
        let rows = self
            .reviews
            .of_property(
                property_id,
                room_type_id,
                sort,
                r.with_images,
                page.fetch(),
                page.offset,
            )
            .await?;
        let (rows, next_page_token) = page.finish(rows);
        Ok(pb::ListPropertyReviewsResponse {
            reviews: self.reviews.render(&rows).await?,
            next_page_token,
        })
    }

    pub(crate) async fn list_my_reviews_rpc(
        &self,
        request: Request<pb::ListMyReviewsRequest>,
    ) -> Result<pb::ListMyReviewsResponse> {
        let caller = require_caller(&request)?;
        let r = request.get_ref();
        let mut v = FieldViolations::new();
        let page = Page::parse(r.page_size, &r.page_token, &mut v);
        v.into_result()?;
        let rows = self
            .reviews
            .of_user(caller.id()?, page.fetch(), page.offset)
            .await?;
        let (rows, next_page_token) = page.finish(rows);
        Ok(pb::ListMyReviewsResponse {
            reviews: self.reviews.render(&rows).await?,
            next_page_token,
        })
    }

    pub(crate) async fn get_rating_summary_rpc(
        &self,
        request: Request<pb::GetRatingSummaryRequest>,
    ) -> Result<pb::GetRatingSummaryResponse> {
        let property_id = require_id(&request.get_ref().property_id, "property_id")?;
        let tally = self.reviews.tally(property_id).await?;
        Ok(pb::GetRatingSummaryResponse {
            property_id: property_id.to_string(),
            average: tally.average(),
            count: tally.count(),
            distribution: tally.by_rating().into_iter().collect(),
        })
    }

    pub(crate) async fn create_image_upload_rpc(
        &self,
        request: Request<pb::CreateImageUploadRequest>,
    ) -> Result<pb::CreateImageUploadResponse> {
        let caller = require_caller(&request)?;
        let r = request.get_ref();
        self.reviews
            .images
            .grant(caller.id()?, &r.content_type, r.content_length)
            .await
    }
}
