//! Completed stays, from the booking service's events: each
//! `BookingCompleted` opens its booking's review window. Recording a stay is
//! idempotent, so a redelivered event needs no inbox; other events pass by.

use staymesh_platform::InfraArgs;
use staymesh_platform::convert::datetime;
use staymesh_platform::kafka::participant;
use staymesh_platform::kafka::{self, Consumer, EnvelopeExt, HandlerError, Incoming};
use staymesh_platform::rpc;
use staymesh_proto::saga::BookingCompleted;

use crate::directory::Stay;
use crate::reviews::{Reviews, record_stay};

/// The topic it reads, and its dead-letter twin, for `ensure_topics`.
pub(crate) fn topics(infra: &InfraArgs) -> Vec<String> {
    kafka::events_topics(infra, "booking")
}

/// Joins the `review-stays` group on the booking events.
pub(crate) fn consumer(infra: &InfraArgs) -> Result<Consumer, staymesh_platform::Error> {
    kafka::events_consumer(infra, "booking", "review-stays")
}

/// Records one completed stay; other events are ignored.
pub(crate) async fn handle(reviews: Reviews, incoming: Incoming) -> Result<(), HandlerError> {
    if !incoming.envelope.is::<BookingCompleted>() {
        return Ok(());
    }
    let event: BookingCompleted = incoming.decode()?;
    let stay = Stay {
        booking_id: participant::id("booking_id", &event.booking_id)?,
        user_id: participant::id("user_id", &event.user_id)?,
        property_id: participant::id("property_id", &event.property_id)?,
        room_type_id: participant::id("room_type_id", &event.room_type_id)?,
        completed_at: event
            .completed_at
            .as_ref()
            .and_then(datetime)
            .ok_or_else(|| HandlerError::permanent("BookingCompleted without completed_at"))?,
    };
    match record_stay(&reviews.pool, &stay).await {
        Ok(()) => Ok(()),
        Err(rpc::Error::Infra(error)) => Err(HandlerError::retryable(error)),
        Err(refused) => Err(HandlerError::permanent(refused.to_string())),
    }
}
