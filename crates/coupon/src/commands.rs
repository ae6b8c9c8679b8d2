//! The coupon service as a saga participant: `ReserveCouponCommand`,
//! `RedeemCouponCommand` and `ReleaseCouponCommand` from
//! `<prefix>.coupon.commands`, applied with the same idempotent functions the
//! gRPC CouponBookingService uses, and answered once each on
//! `<prefix>.saga.replies` (see `platform::kafka::participant`).

use sqlx::PgPool;
use staymesh_platform::kafka::participant::{self, Answer, Refusal};
use staymesh_platform::kafka::{EnvelopeExt, HandlerError, Incoming};
use staymesh_proto::saga::{self, SagaStep, step_reply::Detail};

use crate::bookings::{self, Use};

pub(crate) async fn handle(pool: PgPool, incoming: Incoming) -> Result<Answer, HandlerError> {
    let envelope = &incoming.envelope;
    let answer = if envelope.is::<saga::ReserveCouponCommand>() {
        let c: saga::ReserveCouponCommand = incoming.decode()?;
        let reserved = async {
            let u = Use::validate(
                &c.booking_id,
                &c.user_id,
                &c.user_coupon_id,
                &c.host_id,
                c.price.as_ref(),
            )?;
            bookings::reserve(&pool, &u).await
        };
        let outcome = reserved.await.outcome(|row| {
            Some(Detail::ReserveCoupon(saga::ReserveCouponResult {
                user_coupon_id: row.uc_id.to_string(),
                discount: row.discount(),
            }))
        })?;
        (c.saga_id, c.booking_id, SagaStep::ReserveCoupon, outcome)
    } else if envelope.is::<saga::RedeemCouponCommand>() {
        let c: saga::RedeemCouponCommand = incoming.decode()?;
        let redeemed = async {
            let booking = bookings::booking_id(&c.booking_id)?;
            bookings::redeem(&pool, &booking).await
        };
        let outcome = redeemed.await.outcome(|_| None)?;
        (c.saga_id, c.booking_id, SagaStep::RedeemCoupon, outcome)
    } else if envelope.is::<saga::ReleaseCouponCommand>() {
        let c: saga::ReleaseCouponCommand = incoming.decode()?;
        let released = async {
            let booking = bookings::booking_id(&c.booking_id)?;
            bookings::release(&pool, &booking).await
        };
        let outcome = released.await.outcome(|_| None)?;
        (c.saga_id, c.booking_id, SagaStep::ReleaseCoupon, outcome)
    } else {
        return Err(participant::unknown("coupon", &incoming));
    };
    Ok(answer.into())
}
