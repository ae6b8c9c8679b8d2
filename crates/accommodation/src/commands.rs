//! The accommodation service as a saga participant: `HoldNightsCommand`,
//! `ConfirmHoldCommand` and `ReleaseHoldCommand` from
//! `<prefix>.accommodation.commands`, applied with the same idempotent
//! functions the gRPC InventoryService uses, and answered once each on
//! `<prefix>.saga.replies` (see `platform::kafka::participant`).

use sqlx::PgPool;
use staymesh_platform::convert::require_id;
use staymesh_platform::kafka::participant::{self, Answer, Refusal};
use staymesh_platform::kafka::{EnvelopeExt, HandlerError, Incoming};
use staymesh_proto::saga::{self, SagaStep, step_reply::Detail};

use crate::inventory::{self, HoldRequest};

pub(crate) async fn handle(pool: PgPool, incoming: Incoming) -> Result<Answer, HandlerError> {
    let envelope = &incoming.envelope;
    let answer = if envelope.is::<saga::HoldNightsCommand>() {
        let c: saga::HoldNightsCommand = incoming.decode()?;
        let held = async {
            let request = HoldRequest::read(
                &c.booking_id,
                &c.room_type_id,
                c.check_in.as_ref(),
                c.check_out.as_ref(),
                c.rooms,
            )?;
            inventory::hold(&pool, &request).await
        };
        let outcome = held.await.outcome(|hold| {
            Some(Detail::HoldNights(saga::HoldNightsResult {
                total_price: hold.total_price,
            }))
        })?;
        (c.saga_id, c.booking_id, SagaStep::HoldNights, outcome)
    } else if envelope.is::<saga::ConfirmHoldCommand>() {
        let c: saga::ConfirmHoldCommand = incoming.decode()?;
        let confirmed = async {
            let booking = require_id(&c.booking_id, "booking_id")?;
            inventory::confirm(&pool, booking).await
        };
        let outcome = confirmed.await.outcome(|_| None)?;
        (c.saga_id, c.booking_id, SagaStep::ConfirmHold, outcome)
    } else if envelope.is::<saga::ReleaseHoldCommand>() {
        let c: saga::ReleaseHoldCommand = incoming.decode()?;
        let released = async {
            let booking = require_id(&c.booking_id, "booking_id")?;
            inventory::release(&pool, booking).await
        };
        let outcome = released.await.outcome(|_| None)?;
        (c.saga_id, c.booking_id, SagaStep::ReleaseHold, outcome)
    } else {
        return Err(participant::unknown("accommodation", &incoming));
    };
    Ok(answer.into())
}
