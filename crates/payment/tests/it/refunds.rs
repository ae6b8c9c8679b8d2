//! Refunds: never more than was paid, never twice, and a refund whose PG
//! call timed out is completed exactly once.

use std::time::Duration;

use futures::future::join_all;
use serde_json::json;
use staymesh_proto::payment as pb;
use tonic::Code;

use crate::support::*;

fn refund(order: &Order, amount: Option<i64>) -> pb::RefundPaymentRequest {
    pb::RefundPaymentRequest {
        booking_id: order.booking.to_string(),
        amount: amount.map(won),
        reason: "cancelled by the guest".into(),
    }
}

async fn paid(mesh: &Mesh, amount: i64) -> Order {
    let order = mesh.order(amount).await;
    mesh.checkout(&order, APPROVE).await;
    let paid = mesh
        .approve(&order.key(), &order.payment.order_id, None)
        .await
        .unwrap();
    assert_eq!(paid.state(), pb::PaymentState::Paid);
    order
}

#[tokio::test]
async fn partial_then_full_refunds_are_idempotent_and_capped() {
    let mesh = spawn().await;
    let order = paid(&mesh, 100_000).await;
    let mut bookings = mesh.bookings.clone();
    let first = bookings
        .refund_payment(refund(&order, Some(30_000)))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(
        first.payment.as_ref().unwrap().state(),
        pb::PaymentState::PartiallyRefunded
    );
    let repeat = bookings
        .refund_payment(refund(&order, Some(30_000)))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(
        repeat.refund.as_ref().unwrap().refund_id,
        first.refund.as_ref().unwrap().refund_id
    );
    let too_much = bookings
        .refund_payment(refund(&order, Some(70_001)))
        .await
        .unwrap_err();
    assert_eq!(too_much.code(), Code::FailedPrecondition);
    let rest = bookings
        .refund_payment(refund(&order, None))
        .await
        .unwrap()
        .into_inner();
    let payment = rest.payment.unwrap();
    assert_eq!(payment.state(), pb::PaymentState::Refunded);
    assert_eq!(payment.refunded_amount, Some(won(100_000)));
    assert_eq!(payment.refunds.len(), 2);
    assert_eq!(mesh.at_pg(&order).await["cancelledAmount"], 100_000);
    assert_eq!(
        mesh.events(order.booking).await,
        ["PaymentApproved", "PaymentRefunded", "PaymentRefunded"]
    );
    let nothing_left = bookings
        .refund_payment(refund(&order, Some(1)))
        .await
        .unwrap_err();
    assert_eq!(nothing_left.code(), Code::FailedPrecondition);
    mesh.stop().await;
}

#[tokio::test]
async fn concurrent_partial_refunds_never_sum_past_the_payment() {
    let mesh = spawn().await;
    let order = paid(&mesh, 100_000).await;
    // 50 distinct partial refunds of about 3,000 won: only some fit.
    let results = join_all((0..50).map(|i| {
        let mut bookings = mesh.bookings.clone();
        let request = refund(&order, Some(3_000 + i));
        async move { bookings.refund_payment(request).await }
    }))
    .await;
    let mut refunded = 0;
    for result in results {
        match result {
            Ok(done) => refunded += done.into_inner().refund.unwrap().amount.unwrap().amount,
            Err(status) => assert_eq!(status.code(), Code::FailedPrecondition, "{status:?}"),
        }
    }
    assert!(refunded <= 100_000 && refunded > 90_000, "{refunded}");
    let payment = mesh.payment(&order).await;
    assert_eq!(payment.refunded_amount.unwrap().amount, refunded);
    assert_eq!(mesh.at_pg(&order).await["cancelledAmount"], refunded);
    mesh.stop().await;
}

#[tokio::test]
async fn a_refund_whose_pg_call_timed_out_is_completed_exactly_once() {
    let mesh = spawn_with(Options {
        reconcile_every: Duration::from_millis(300),
        pg_timeout: Duration::from_millis(300),
        ..Options::default()
    })
    .await;
    let order = paid(&mesh, 90_000).await;
    // The PG refunds, but answers too late for every attempt.
    mesh.faults(json!({"delayMs": 1500})).await;
    let timed_out = mesh
        .bookings
        .clone()
        .refund_payment(refund(&order, Some(20_000)))
        .await
        .unwrap_err();
    assert_eq!(timed_out.code(), Code::Unavailable, "{timed_out:?}");
    mesh.faults(json!({"delayMs": 0})).await;
    eventually(
        Duration::from_secs(20),
        "the refund is resolved",
        || async { mesh.payment(&order).await.refunded_amount == Some(won(20_000)) },
    )
    .await;
    // The caller's retry finds the same refund, made once.
    let retried = mesh
        .bookings
        .clone()
        .refund_payment(refund(&order, Some(20_000)))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(retried.payment.unwrap().refunded_amount, Some(won(20_000)));
    assert_eq!(mesh.at_pg(&order).await["cancelledAmount"], 20_000);
    let refunded = mesh
        .events(order.booking)
        .await
        .iter()
        .filter(|e| *e == "PaymentRefunded")
        .count();
    assert_eq!(refunded, 1);
    mesh.stop().await;
}
