//! The command each step sends, built from what the saga knows, into the
//! participant's `<prefix>.<service>.commands` topic through the outbox
//! (keyed by booking, so one booking's commands stay in order).

use sqlx::PgConnection;
use staymesh_platform::InfraArgs;
use staymesh_platform::convert::{money, timestamp, to_proto_date};
use staymesh_platform::kafka::outbox;
use staymesh_proto::booking::{CancelCause, PriceBreakdown};
use staymesh_proto::saga::{self as pb, SagaKind, SagaStep};
use uuid::Uuid;

use crate::flow::{Saga, participant};

/// Where each participant's commands go.
#[derive(Debug, Clone)]
pub(crate) struct Topics {
    infra: InfraArgs,
}

impl Topics {
    pub(crate) fn new(infra: &InfraArgs) -> Self {
        Self {
            infra: infra.clone(),
        }
    }

    pub(crate) fn commands(&self, step: SagaStep) -> String {
        self.infra.commands_topic(participant(step))
    }
}

/// Queues `step`'s command for `s` in the transaction; returns its id.
pub(crate) async fn enqueue(
    conn: &mut PgConnection,
    topics: &Topics,
    s: &Saga,
    step: SagaStep,
) -> Result<Uuid, staymesh_platform::Error> {
    let topic = topics.commands(step);
    let key = s.booking_id.to_string();
    let (saga_id, booking_id) = (s.id.to_string(), s.booking_id.to_string());
    macro_rules! send {
        ($message:expr) => {
            outbox::enqueue(conn, &topic, &key, &$message).await
        };
    }
    match step {
        SagaStep::HoldNights => send!(pb::HoldNightsCommand {
            saga_id,
            booking_id,
            room_type_id: s.room_type_id.to_string(),
            check_in: Some(to_proto_date(s.check_in)),
            check_out: Some(to_proto_date(s.check_out)),
            rooms: s.rooms,
        }),
        SagaStep::ReserveCoupon => send!(pb::ReserveCouponCommand {
            saga_id,
            booking_id,
            user_id: s.user_id.to_string(),
            user_coupon_id: s
                .user_coupon_id
                .map(|id| id.to_string())
                .unwrap_or_default(),
            host_id: s.host_id.to_string(),
            price: Some(money(s.price)),
        }),
        SagaStep::ReservePoints => send!(pb::ReservePointsCommand {
            saga_id,
            booking_id,
            user_id: s.user_id.to_string(),
            points: s.points_to_reserve(),
        }),
        SagaStep::CreatePayment => send!(pb::CreatePaymentCommand {
            saga_id,
            booking_id,
            user_id: s.user_id.to_string(),
            host_id: s.host_id.to_string(),
            amount: Some(money(s.to_pay())),
            order_name: s.order_name.clone(),
            expires_at: Some(timestamp(s.payment_due_at)),
        }),
        SagaStep::MarkAwaitingPayment => send!(pb::MarkBookingAwaitingPaymentCommand {
            saga_id,
            booking_id,
            price: Some(PriceBreakdown {
                price: Some(money(s.price)),
                discount: Some(money(s.discount)),
                points: Some(money(s.points)),
                paid_amount: Some(money(s.to_pay())),
            }),
            payment_id: s.payment_id.clone(),
            checkout_url: s.checkout_url.clone(),
            payment_due_at: Some(timestamp(s.payment_due_at)),
        }),
        SagaStep::ConfirmHold => send!(pb::ConfirmHoldCommand {
            saga_id,
            booking_id
        }),
        SagaStep::RedeemCoupon => send!(pb::RedeemCouponCommand {
            saga_id,
            booking_id
        }),
        SagaStep::CommitPoints => send!(pb::CommitPointsCommand {
            saga_id,
            booking_id
        }),
        SagaStep::MarkConfirmed => send!(pb::MarkBookingConfirmedCommand {
            saga_id,
            booking_id
        }),
        SagaStep::CancelPayment => send!(pb::CancelPaymentCommand {
            saga_id,
            booking_id,
            reason: s.failure_reason.clone(),
        }),
        SagaStep::RefundPayment => send!(pb::RefundPaymentCommand {
            saga_id,
            booking_id,
            // A booking saga undoing a paid booking refunds everything; a
            // cancellation refunds what the policy says.
            amount: (s.kind() == SagaKind::Cancellation).then(|| money(s.refund_amount)),
            reason: s.failure_reason.clone(),
        }),
        SagaStep::ReleasePoints => send!(pb::ReleasePointsCommand {
            saga_id,
            booking_id
        }),
        SagaStep::ReleaseCoupon => send!(pb::ReleaseCouponCommand {
            saga_id,
            booking_id
        }),
        SagaStep::ReleaseHold => send!(pb::ReleaseHoldCommand {
            saga_id,
            booking_id
        }),
        SagaStep::MarkCancelled => send!(pb::MarkBookingCancelledCommand {
            saga_id,
            booking_id,
            cause: CancelCause::from_str_name(&format!("CANCEL_CAUSE_{}", s.cause))
                .unwrap_or(CancelCause::System) as i32,
            reason: s.failure_reason.clone(),
            refunded_amount: Some(money(s.refunded)),
        }),
        SagaStep::AwaitPayment | SagaStep::Unspecified => Err(staymesh_platform::Error::Config(
            format!("step {} has no command", step.as_str_name()),
        )),
    }
}
