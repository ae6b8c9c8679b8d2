//! Points for stays: the point service reads the booking service's events
//! and earns a completed stay's points from its `BookingCompleted`. Earning
//! is once per booking by the ledger's own unique index (see
//! [`Points::earn_for_booking`]), so a redelivered event earns nothing more
//! and needs no inbox. Other booking events pass by.

use staymesh_platform::InfraArgs;
use staymesh_platform::kafka::participant;
use staymesh_platform::kafka::{self, Consumer, EnvelopeExt, HandlerError, Incoming};
use staymesh_platform::rpc;
use staymesh_proto::saga::BookingCompleted;

use crate::points::Points;

/// The topic it reads, and its dead-letter twin, for `ensure_topics`.
pub(crate) fn topics(infra: &InfraArgs) -> Vec<String> {
    kafka::events_topics(infra, "booking")
}

/// Joins the `point-stays` group on the booking events.
pub(crate) fn consumer(infra: &InfraArgs) -> Result<Consumer, staymesh_platform::Error> {
    kafka::events_consumer(infra, "booking", "point-stays")
}

/// Earns the points of one completed stay; other events are ignored.
pub(crate) async fn handle(points: Points, incoming: Incoming) -> Result<(), HandlerError> {
    if !incoming.envelope.is::<BookingCompleted>() {
        return Ok(());
    }
    let event: BookingCompleted = incoming.decode()?;
    let booking = participant::id("booking_id", &event.booking_id)?;
    let user = participant::id("user_id", &event.user_id)?;
    let paid = event.paid_amount.map_or(0, |m| m.amount);
    match points.earn_for_booking(booking, user, paid).await {
        Ok(entry) => {
            let earned = entry.map_or(0, |e| e.amount);
            tracing::info!(booking_id = %booking, earned, "points earned for a completed stay");
            Ok(())
        }
        Err(rpc::Error::Infra(error)) => Err(HandlerError::retryable(error)),
        // A stay the ledger refuses (say, an unknown user) never gets better.
        Err(refused) => Err(HandlerError::permanent(refused.to_string())),
    }
}
