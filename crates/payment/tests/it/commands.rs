//! The payment service as a saga participant over Kafka: each command is
//! applied and answered once on the replies topic, however often it
//! arrives; refusals are FAILED replies, outages are retried until answered.

use std::time::Duration;

use serde_json::json;
use staymesh_platform::convert::{money, timestamp};
use staymesh_platform::kafka::EnvelopeExt;
use staymesh_proto::common::Envelope;
use staymesh_proto::payment as pb;
use staymesh_proto::saga as commands;
use staymesh_proto::saga::{SagaStep, StepOutcome, StepReply, step_reply::Detail};
use staymesh_testkit::saga;
use uuid::Uuid;

use crate::support::*;

async fn send(mesh: &Mesh, envelope: &Envelope) {
    saga::send_command(mesh.infra(), "payment", envelope).await;
}

async fn replies(mesh: &Mesh, booking: Uuid) -> Vec<StepReply> {
    saga::replies(&mesh.pool, mesh.infra(), &booking).await
}

async fn wait_replies(mesh: &Mesh, booking: Uuid, count: usize) -> Vec<StepReply> {
    saga::wait_replies(&mesh.pool, mesh.infra(), &booking, count).await
}

fn create_command(booking: Uuid, amount: i64) -> commands::CreatePaymentCommand {
    commands::CreatePaymentCommand {
        saga_id: format!("saga-{booking}"),
        booking_id: booking.to_string(),
        user_id: Uuid::now_v7().to_string(),
        host_id: Uuid::now_v7().to_string(),
        amount: Some(money(amount)),
        order_name: "강릉 한옥 1박".into(),
        expires_at: Some(timestamp(chrono::Utc::now() + chrono::Duration::hours(1))),
    }
}

#[tokio::test]
async fn each_command_is_answered_once_however_often_it_arrives() {
    let mesh = spawn().await;
    let booking = Uuid::now_v7();
    let create = Envelope::wrap(&booking.to_string(), &create_command(booking, 45_000));
    send(&mesh, &create).await;
    send(&mesh, &create).await;
    let answered = wait_replies(&mesh, booking, 1).await;
    let reply = &answered[0];
    assert_eq!(reply.step(), SagaStep::CreatePayment);
    assert_eq!(reply.outcome(), StepOutcome::Succeeded, "{}", reply.reason);
    assert_eq!(reply.command_id, create.id);
    assert_eq!(reply.saga_id, format!("saga-{booking}"));
    let Some(Detail::CreatePayment(created)) = &reply.detail else {
        panic!("no payment in {reply:?}");
    };
    assert!(created.checkout_url.starts_with(&mesh.pg));

    // Paid, then refunded by command: twice the same command, one refund.
    let response = mesh
        .http
        .post(&created.checkout_url)
        .form(&[("cardNumber", APPROVE), ("action", "pay")])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 303);
    // The saga's view of the payment: its id and checkout URL.
    let order = Order {
        booking,
        guest: Uuid::nil(),
        host: Uuid::nil(),
        payment: pb::Payment {
            payment_id: created.payment_id.clone(),
            checkout_url: created.checkout_url.clone(),
            ..Default::default()
        },
    };
    mesh.webhooks_delivered(&order).await;
    let refund = Envelope::wrap(
        &booking.to_string(),
        &commands::RefundPaymentCommand {
            saga_id: format!("saga-{booking}"),
            booking_id: booking.to_string(),
            amount: Some(money(15_000)),
            reason: "two nights became one".into(),
        },
    );
    send(&mesh, &refund).await;
    send(&mesh, &refund).await;
    let answered = wait_replies(&mesh, booking, 2).await;
    let reply = &answered[1];
    assert_eq!(reply.step(), SagaStep::RefundPayment);
    assert_eq!(reply.outcome(), StepOutcome::Succeeded, "{}", reply.reason);
    let Some(Detail::RefundPayment(refunded)) = &reply.detail else {
        panic!("no refund in {reply:?}");
    };
    assert_eq!(refunded.refunded_amount, Some(won(15_000)));
    assert_eq!(mesh.at_pg(&order).await["cancelledAmount"], 15_000);

    // More than is left: a business refusal, answered FAILED.
    let too_much = Envelope::wrap(
        &booking.to_string(),
        &commands::RefundPaymentCommand {
            saga_id: format!("saga-{booking}"),
            booking_id: booking.to_string(),
            amount: Some(money(40_000)),
            reason: String::new(),
        },
    );
    send(&mesh, &too_much).await;
    let answered = wait_replies(&mesh, booking, 3).await;
    assert_eq!(answered[2].outcome(), StepOutcome::Failed);
    assert!(
        answered[2].reason.contains("left to refund"),
        "{}",
        answered[2].reason
    );
    // One partition per booking: the duplicates were handled before this one.
    assert_eq!(
        replies(&mesh, booking).await.len(),
        3,
        "no command answered twice"
    );
    mesh.stop().await;
}

#[tokio::test]
async fn an_unpaid_payment_is_cancelled_by_command_and_a_pg_outage_is_waited_out() {
    let mesh = spawn().await;
    let booking = Uuid::now_v7();
    // The PG is down when the command arrives: no answer until it is back.
    mesh.faults(json!({"failAll": true})).await;
    send(
        &mesh,
        &Envelope::wrap(&booking.to_string(), &create_command(booking, 30_000)),
    )
    .await;
    eventually(
        Duration::from_secs(20),
        "the command is being retried",
        || async {
            sqlx::query_scalar::<_, i64>("SELECT count(*) FROM payment WHERE booking_id = $1")
                .bind(booking)
                .fetch_one(&mesh.pool)
                .await
                .unwrap()
                == 1
        },
    )
    .await;
    assert!(
        replies(&mesh, booking).await.is_empty(),
        "an outage is not an answer"
    );
    mesh.faults(json!({"failAll": false})).await;
    let answered = wait_replies(&mesh, booking, 1).await;
    assert_eq!(
        answered[0].outcome(),
        StepOutcome::Succeeded,
        "{}",
        answered[0].reason
    );

    let cancel = commands::CancelPaymentCommand {
        saga_id: format!("saga-{booking}"),
        booking_id: booking.to_string(),
        reason: "the hold failed".into(),
    };
    send(&mesh, &Envelope::wrap(&booking.to_string(), &cancel)).await;
    let answered = wait_replies(&mesh, booking, 2).await;
    assert_eq!(answered[1].step(), SagaStep::CancelPayment);
    assert_eq!(
        answered[1].outcome(),
        StepOutcome::Succeeded,
        "{}",
        answered[1].reason
    );
    let state: String = sqlx::query_scalar("SELECT state FROM payment WHERE booking_id = $1")
        .bind(booking)
        .fetch_one(&mesh.pool)
        .await
        .unwrap();
    assert_eq!(state, "CANCELLED");

    // A booking that never got a payment: cancelling it is done, not refused.
    let nothing = Uuid::now_v7();
    let cancel = commands::CancelPaymentCommand {
        saga_id: format!("saga-{nothing}"),
        booking_id: nothing.to_string(),
        reason: String::new(),
    };
    send(&mesh, &Envelope::wrap(&nothing.to_string(), &cancel)).await;
    let answered = wait_replies(&mesh, nothing, 1).await;
    assert_eq!(answered[0].outcome(), StepOutcome::Succeeded);
    // A command with an amount of zero is refused, not retried.
    let zero = Uuid::now_v7();
    send(
        &mesh,
        &Envelope::wrap(&zero.to_string(), &create_command(zero, 0)),
    )
    .await;
    let answered = wait_replies(&mesh, zero, 1).await;
    assert_eq!(answered[0].outcome(), StepOutcome::Failed);
    mesh.stop().await;
}
