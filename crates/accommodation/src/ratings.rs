//! Ratings, from the review service's events: each `PropertyRatingChanged`
//! sets the property's rating and review count (search's rating sort reads
//! them), unless a newer version is already stored, so redelivered or
//! reordered events never roll a rating back. The index follows through the
//! property's change notification, like any other change of a listing.

use sqlx::PgPool;
use staymesh_platform::InfraArgs;
use staymesh_platform::kafka::participant;
use staymesh_platform::kafka::{self, Consumer, EnvelopeExt, HandlerError, Incoming};
use staymesh_proto::saga::PropertyRatingChanged;

/// The topic it reads, and its dead-letter twin, for `ensure_topics`.
pub(crate) fn topics(infra: &InfraArgs) -> Vec<String> {
    kafka::events_topics(infra, "review")
}

/// Joins the `accommodation-ratings` group on the review events.
pub(crate) fn consumer(infra: &InfraArgs) -> Result<Consumer, staymesh_platform::Error> {
    kafka::events_consumer(infra, "review", "accommodation-ratings")
}

/// Applies one rating change; other events are ignored.
pub(crate) async fn handle(pool: PgPool, incoming: Incoming) -> Result<(), HandlerError> {
    if !incoming.envelope.is::<PropertyRatingChanged>() {
        return Ok(());
    }
    let event: PropertyRatingChanged = incoming.decode()?;
    let property = participant::id("property_id", &event.property_id)?;
    let rating = event.rating.clamp(0.0, 5.0);
    let count = event.review_count.max(0);
    sqlx::query(
        "UPDATE property SET rating = $2, review_count = $3, rating_version = $4 \
         WHERE id = $1 AND rating_version < $4",
    )
    .bind(property)
    .bind(rating)
    .bind(count)
    .bind(event.version)
    .execute(&pool)
    .await
    .map_err(HandlerError::retryable)?;
    Ok(())
}
