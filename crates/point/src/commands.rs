//! The point service as a saga participant: `ReservePointsCommand`,
//! `CommitPointsCommand` and `ReleasePointsCommand` from
//! `<prefix>.point.commands`, applied with the same idempotent functions the
//! gRPC PointBookingService uses, and answered once each on
//! `<prefix>.saga.replies` (see `platform::kafka::participant`).

use staymesh_platform::kafka::participant::{self, Answer, Outcome, Refusal};
use staymesh_platform::kafka::{EnvelopeExt, HandlerError, Incoming};
use staymesh_proto::saga::{self, SagaStep, step_reply::Detail};

use crate::points::Points;

pub(crate) async fn handle(points: Points, incoming: Incoming) -> Result<Answer, HandlerError> {
    let envelope = &incoming.envelope;
    let answer = if envelope.is::<saga::ReservePointsCommand>() {
        let c: saga::ReservePointsCommand = incoming.decode()?;
        let (booking, user) = (
            participant::id("booking_id", &c.booking_id)?,
            participant::id("user_id", &c.user_id)?,
        );
        let outcome = if c.points <= 0 {
            Outcome::Failed("points to reserve must be above zero".into())
        } else {
            points.reserve(booking, user, c.points).await.outcome(|r| {
                Some(Detail::ReservePoints(saga::ReservePointsResult {
                    points: r.amount,
                }))
            })?
        };
        (c.saga_id, c.booking_id, SagaStep::ReservePoints, outcome)
    } else if envelope.is::<saga::CommitPointsCommand>() {
        let c: saga::CommitPointsCommand = incoming.decode()?;
        let booking = participant::id("booking_id", &c.booking_id)?;
        let outcome = points.commit(booking).await.outcome(|_| None)?;
        (c.saga_id, c.booking_id, SagaStep::CommitPoints, outcome)
    } else if envelope.is::<saga::ReleasePointsCommand>() {
        let c: saga::ReleasePointsCommand = incoming.decode()?;
        let booking = participant::id("booking_id", &c.booking_id)?;
        let outcome = points.release(booking).await.outcome(|_| None)?;
        (c.saga_id, c.booking_id, SagaStep::ReleasePoints, outcome)
    } else {
        return Err(participant::unknown("point", &incoming));
    };
    Ok(answer.into())
}
