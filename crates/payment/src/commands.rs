//! The payment service as a saga participant: `CreatePaymentCommand`,
//! `CancelPaymentCommand` and `RefundPaymentCommand` from
//! `<prefix>.payment.commands`, applied with the same idempotent functions
//! the gRPC PaymentBookingService uses, and answered once each on
//! `<prefix>.saga.replies` (see `platform::kafka::participant`).

use staymesh_platform::convert::{datetime, timestamp};
use staymesh_platform::kafka::participant::{self, Answer, Outcome, Refusal};
use staymesh_platform::kafka::{EnvelopeExt, HandlerError, Incoming};
use staymesh_platform::rpc::Error;
use staymesh_proto::saga::{self, SagaStep, step_reply::Detail};
use uuid::Uuid;

use crate::payments::{NewPayment, Payments};

/// The payment service's side of the saga's commands.
#[derive(Debug, Clone)]
pub(crate) struct Commands {
    pub(crate) payments: Payments,
}

impl Commands {
    pub(crate) async fn handle(self, incoming: Incoming) -> Result<Answer, HandlerError> {
        let envelope = &incoming.envelope;
        let answer = if envelope.is::<saga::CreatePaymentCommand>() {
            let c: saga::CreatePaymentCommand = incoming.decode()?;
            let outcome = self.create(&c).await?;
            (c.saga_id, c.booking_id, SagaStep::CreatePayment, outcome)
        } else if envelope.is::<saga::CancelPaymentCommand>() {
            let c: saga::CancelPaymentCommand = incoming.decode()?;
            let outcome = self.cancel(&c).await?;
            (c.saga_id, c.booking_id, SagaStep::CancelPayment, outcome)
        } else if envelope.is::<saga::RefundPaymentCommand>() {
            let c: saga::RefundPaymentCommand = incoming.decode()?;
            let outcome = self.refund(&c).await?;
            (c.saga_id, c.booking_id, SagaStep::RefundPayment, outcome)
        } else {
            return Err(participant::unknown("payment", &incoming));
        };
        Ok(answer.into())
    }

    async fn create(&self, command: &saga::CreatePaymentCommand) -> Result<Outcome, HandlerError> {
        let booking_id = participant::id("booking_id", &command.booking_id)?;
        let ids = (
            Uuid::parse_str(&command.user_id),
            Uuid::parse_str(&command.host_id),
        );
        let (Ok(user_id), Ok(host_id)) = ids else {
            return Ok(Outcome::Failed("user_id and host_id must be UUIDs".into()));
        };
        let amount = command.amount.as_ref().map_or(0, |m| m.amount);
        let expires_at = command.expires_at.as_ref().and_then(datetime);
        let Some(expires_at) = expires_at.filter(|_| amount > 0) else {
            return Ok(Outcome::Failed(
                "a payment needs an amount above zero and a deadline".into(),
            ));
        };
        let created = self
            .payments
            .create(NewPayment {
                booking_id,
                saga_id: command.saga_id.clone(),
                user_id,
                host_id,
                amount,
                order_name: command.order_name.clone(),
                expires_at,
            })
            .await;
        created.outcome(|row| {
            Some(Detail::CreatePayment(saga::CreatePaymentResult {
                payment_id: row.id.to_string(),
                checkout_url: row.checkout_url.clone(),
                expires_at: Some(timestamp(row.expires_at)),
            }))
        })
    }

    async fn cancel(&self, command: &saga::CancelPaymentCommand) -> Result<Outcome, HandlerError> {
        let booking_id = participant::id("booking_id", &command.booking_id)?;
        let cancelled = async {
            match crate::store::by_booking(&self.payments.pool, booking_id).await? {
                // Nothing was registered: nothing to cancel.
                None => Ok(()),
                Some(row) => {
                    let reason = if command.reason.is_empty() {
                        "cancelled by the booking"
                    } else {
                        &command.reason
                    };
                    self.payments.abandon(row, reason).await.map(drop)
                }
            }
        };
        cancelled.await.outcome(|()| None)
    }

    async fn refund(&self, command: &saga::RefundPaymentCommand) -> Result<Outcome, HandlerError> {
        let booking_id = participant::id("booking_id", &command.booking_id)?;
        let amount = command.amount.as_ref().map(|m| m.amount);
        if amount.is_some_and(|a| a <= 0) {
            return Ok(Outcome::Failed("a refund amount must be above zero".into()));
        }
        let reason = if command.reason.is_empty() {
            "refunded"
        } else {
            &command.reason
        };
        let refunded: Result<_, Error> = self.payments.refund(booking_id, amount, reason).await;
        refunded.outcome(|(payment, refund)| {
            Some(Detail::RefundPayment(saga::RefundPaymentResult {
                refund_id: refund.id.to_string(),
                refunded_amount: Some(staymesh_platform::convert::money(payment.refunded_amount)),
            }))
        })
    }
}
