//! Approval: only what the PG itself confirms is PAID, exactly once,
//! whatever the browser claims and however approval and webhook race.

use std::time::Duration;

use futures::future::join_all;
use serde_json::json;
use staymesh_proto::payment as pb;
use tonic::Code;

use crate::support::*;

#[tokio::test]
async fn a_guest_pays_at_checkout_and_the_return_approves_it_once() {
    let mesh = spawn().await;
    let order = mesh.order(120_000).await;
    assert!(order.payment.checkout_url.starts_with(&mesh.pg));

    let (status, redirect) = mesh.checkout(&order, APPROVE).await;
    assert_eq!(status, 303);
    let redirect = redirect.expect("redirected back");
    assert_eq!(param(&redirect, "orderId"), order.payment.order_id);
    let key = param(&redirect, "paymentKey").to_owned();

    let paid = mesh
        .approve(&key, &order.payment.order_id, Some(120_000))
        .await
        .unwrap();
    assert_eq!(paid.state(), pb::PaymentState::Paid);
    assert_eq!(paid.payment_key, key);
    assert!(paid.paid_at.is_some());
    // The browser comes back twice, the webhook arrives too: still one approval.
    let again = mesh
        .approve(&key, &order.payment.order_id, None)
        .await
        .unwrap();
    assert_eq!(again.state(), pb::PaymentState::Paid);
    mesh.webhooks_delivered(&order).await;
    let approvals = mesh.approvals(order.booking).await;
    assert_eq!(approvals.len(), 1, "one PaymentApproved");
    assert_eq!(approvals[0].amount, Some(won(120_000)));
    assert_eq!(approvals[0].saga_id, format!("saga-{}", order.booking));

    // The guest sees their own payment; another guest does not.
    let own = mesh
        .api
        .clone()
        .get_payment(authed(
            pb::GetPaymentRequest {
                payment_id: paid.payment_id.clone(),
            },
            &order.guest_token(),
        ))
        .await
        .unwrap();
    assert_eq!(
        own.get_ref().payment.as_ref().unwrap().state(),
        pb::PaymentState::Paid
    );
    let stranger = mesh
        .api
        .clone()
        .get_payment(authed(
            pb::GetPaymentRequest {
                payment_id: paid.payment_id.clone(),
            },
            &format!("guest:{}", uuid::Uuid::now_v7()),
        ))
        .await
        .unwrap_err();
    assert_eq!(stranger.code(), Code::NotFound);
    let listed = mesh
        .api
        .clone()
        .list_payments(authed(
            pb::ListPaymentsRequest {
                booking_id: order.booking.to_string(),
                ..Default::default()
            },
            &order.guest_token(),
        ))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(listed.payments.len(), 1);
    mesh.stop().await;
}

#[tokio::test]
async fn creating_is_idempotent_per_booking() {
    let mesh = spawn().await;
    let order = mesh.order(50_000).await;
    let again = mesh
        .bookings
        .clone()
        .create_payment(create_request(
            order.booking,
            order.guest,
            order.host,
            50_000,
        ))
        .await
        .unwrap()
        .into_inner()
        .payment
        .unwrap();
    assert_eq!(again.payment_id, order.payment.payment_id);
    assert_eq!(again.checkout_url, order.payment.checkout_url);
    let other = mesh
        .bookings
        .clone()
        .create_payment(create_request(
            order.booking,
            order.guest,
            order.host,
            60_000,
        ))
        .await
        .unwrap_err();
    assert_eq!(other.code(), Code::AlreadyExists);
    mesh.stop().await;
}

#[tokio::test]
async fn tampering_never_approves_anything() {
    // No webhooks: only the calls under test may move a payment.
    let mesh = spawn_with(Options {
        webhooks: false,
        ..Options::default()
    })
    .await;

    // The browser claims 1 won for a payment genuinely made at the PG.
    let claimed = mesh.order(80_000).await;
    mesh.checkout(&claimed, APPROVE).await;
    let refused = mesh
        .approve(&claimed.key(), &claimed.payment.order_id, Some(1))
        .await
        .unwrap_err();
    assert_eq!(refused.code(), Code::FailedPrecondition, "{refused:?}");
    assert_eq!(
        mesh.payment(&claimed).await.state(),
        pb::PaymentState::Ready
    );

    // The PG was paid a different amount than ours: cancelled there, FAILED here.
    let tampered = mesh.order(80_000).await;
    mesh.checkout(&tampered, TAMPER).await;
    let failed = mesh
        .approve(&tampered.key(), &tampered.payment.order_id, None)
        .await
        .unwrap();
    assert_eq!(failed.state(), pb::PaymentState::Failed);
    assert!(
        failed.failure_reason.contains("40000"),
        "{}",
        failed.failure_reason
    );
    let at_pg = mesh.at_pg(&tampered).await;
    assert_eq!(at_pg["status"], "CANCELLED", "the money went back: {at_pg}");
    assert_eq!(mesh.events(tampered.booking).await, ["PaymentFailed"]);

    // A payment key of another booking's order.
    let first = mesh.order(30_000).await;
    let second = mesh.order(30_000).await;
    mesh.checkout(&first, APPROVE).await;
    let crossed = mesh
        .approve(&first.key(), &second.payment.order_id, Some(30_000))
        .await
        .unwrap_err();
    assert_eq!(crossed.code(), Code::NotFound, "{crossed:?}");
    assert!(crossed.message().contains("payment_key"), "{crossed:?}");
    for order in [&first, &second, &claimed] {
        assert!(mesh.approvals(order.booking).await.is_empty());
    }
    // Declined cards fail with the PG's reason.
    let declined = mesh.order(10_000).await;
    let (_, redirect) = mesh.checkout(&declined, DECLINE).await;
    assert_eq!(param(&redirect.unwrap(), "code"), "CARD_DECLINED");
    let failed = mesh
        .approve(&declined.key(), &declined.payment.order_id, None)
        .await
        .unwrap();
    assert_eq!(failed.state(), pb::PaymentState::Failed);
    mesh.stop().await;
}

#[tokio::test]
async fn racing_approvals_and_webhooks_approve_each_payment_exactly_once() {
    let mesh = spawn_with(Options {
        duplicate_webhooks: 100,
        ..Options::default()
    })
    .await;
    let orders = join_all((0..50).map(|i| mesh.order(10_000 + i))).await;
    // The time-out card: paid, but no browser return; only our calls and the PG's webhooks race.
    join_all(orders.iter().map(|o| mesh.checkout(o, TIME_OUT))).await;
    // Two ApprovePayment + webhook pairs per payment, all at once.
    let shared = &mesh;
    let calls = orders.iter().chain(&orders).flat_map(|order| {
        let (body, headers) = Mesh::signed_webhook(order, WEBHOOK_SECRET, 0);
        [
            futures::future::Either::Left(async move {
                let paid = shared
                    .approve(&order.key(), &order.payment.order_id, None)
                    .await
                    .unwrap();
                assert_eq!(paid.state(), pb::PaymentState::Paid);
            }),
            futures::future::Either::Right(async move {
                assert_eq!(shared.post_webhook(&body, &headers).await, 200);
            }),
        ]
    });
    join_all(calls).await;
    // The sandbox's own webhooks (each sent twice) arrive too.
    for order in &orders {
        mesh.webhooks_delivered(order).await;
    }
    for order in &orders {
        assert_eq!(mesh.payment(order).await.state(), pb::PaymentState::Paid);
        assert_eq!(
            mesh.approvals(order.booking).await.len(),
            1,
            "one PaymentApproved for {}",
            order.booking
        );
    }
    mesh.stop().await;
}

#[tokio::test]
async fn a_payment_made_while_the_pg_is_down_is_approved_once_it_answers() {
    let mesh = spawn_with(Options {
        reconcile_every: Duration::from_millis(300),
        pg_timeout: Duration::from_millis(500),
        ..Options::default()
    })
    .await;
    let order = mesh.order(70_000).await;
    mesh.checkout(&order, TIME_OUT).await;
    mesh.faults(json!({"failAll": true})).await;
    let down = mesh
        .approve(&order.key(), &order.payment.order_id, None)
        .await
        .unwrap_err();
    assert_eq!(down.code(), Code::Unavailable, "{down:?}");
    assert_eq!(mesh.payment(&order).await.state(), pb::PaymentState::Ready);
    mesh.faults(json!({"failAll": false})).await;
    eventually(
        Duration::from_secs(20),
        "approved after the PG is back",
        || async { mesh.payment(&order).await.state() == pb::PaymentState::Paid },
    )
    .await;
    assert_eq!(mesh.approvals(order.booking).await.len(), 1);
    mesh.stop().await;
}

#[tokio::test]
async fn an_abandoned_payment_is_refused_at_the_pg_and_expired_ones_are_cancelled() {
    let mesh = spawn_with(Options {
        reconcile_every: Duration::from_millis(300),
        ..Options::default()
    })
    .await;
    let order = mesh.order(40_000).await;
    let cancelled = mesh
        .bookings
        .clone()
        .cancel_payment(pb::CancelPaymentRequest {
            booking_id: order.booking.to_string(),
            reason: "the guest gave up".into(),
        })
        .await
        .unwrap()
        .into_inner()
        .payment
        .unwrap();
    assert_eq!(cancelled.state(), pb::PaymentState::Cancelled);
    let (status, redirect) = mesh.checkout(&order, APPROVE).await;
    let refused =
        status == 409 || redirect.is_some_and(|q| param(&q, "code") == "PAYMENT_NOT_READY");
    assert!(refused, "a later checkout is refused ({status})");
    assert_eq!(mesh.at_pg(&order).await["status"], "CANCELLED");

    // Left unpaid past its expiry: the reconciler cancels it at the PG too.
    let (booking, guest, host) = (
        uuid::Uuid::now_v7(),
        uuid::Uuid::now_v7(),
        uuid::Uuid::now_v7(),
    );
    let mut request = create_request(booking, guest, host, 20_000);
    request.expires_at = Some(staymesh_platform::convert::timestamp(
        chrono::Utc::now() + chrono::Duration::seconds(1),
    ));
    let expiring = mesh
        .bookings
        .clone()
        .create_payment(request)
        .await
        .unwrap()
        .into_inner()
        .payment
        .unwrap();
    eventually(
        Duration::from_secs(20),
        "the expired payment is cancelled",
        || async {
            let read = mesh
                .api
                .clone()
                .get_payment(authed(
                    pb::GetPaymentRequest {
                        payment_id: expiring.payment_id.clone(),
                    },
                    ADMIN,
                ))
                .await
                .unwrap()
                .into_inner()
                .payment
                .unwrap();
            read.state() == pb::PaymentState::Cancelled
        },
    )
    .await;
    mesh.stop().await;
}

#[tokio::test]
async fn bad_input_names_the_field() {
    let mesh = spawn().await;
    // The contract's rules (the id) are checked before the service's (the amount).
    let ids = || {
        (
            uuid::Uuid::now_v7(),
            uuid::Uuid::now_v7(),
            uuid::Uuid::now_v7(),
        )
    };
    let (booking, guest, host) = ids();
    let bad_id = pb::CreatePaymentRequest {
        booking_id: "not-a-uuid".into(),
        ..create_request(booking, guest, host, 1_000)
    };
    let (booking, guest, host) = ids();
    for (request, field) in [
        (bad_id, "booking_id"),
        (create_request(booking, guest, host, 0), "amount"),
    ] {
        let bad = mesh
            .bookings
            .clone()
            .create_payment(request)
            .await
            .unwrap_err();
        assert_eq!(bad.code(), Code::InvalidArgument);
        assert_eq!(violated_fields(&bad), [field]);
    }

    let unknown = mesh
        .approve("pay_unknown", "order-unknown", None)
        .await
        .unwrap_err();
    assert_eq!(unknown.code(), Code::NotFound);
    assert!(unknown.message().contains("order"), "{unknown:?}");
    let order = mesh.order(1_000).await;
    let unknown_key = mesh
        .approve("pay_unknown", &order.payment.order_id, None)
        .await
        .unwrap_err();
    assert_eq!(unknown_key.code(), Code::NotFound);
    assert!(unknown_key.message().contains("payment_key"));

    let refund = mesh
        .bookings
        .clone()
        .refund_payment(pb::RefundPaymentRequest {
            booking_id: order.booking.to_string(),
            amount: Some(won(0)),
            reason: String::new(),
        })
        .await
        .unwrap_err();
    assert_eq!(refund.code(), Code::InvalidArgument);
    assert_eq!(violated_fields(&refund), ["amount"]);
    let malformed = mesh
        .api
        .clone()
        .get_payment(authed(
            pb::GetPaymentRequest {
                payment_id: "42".into(),
            },
            ADMIN,
        ))
        .await
        .unwrap_err();
    assert_eq!(violated_fields(&malformed), ["payment_id"]);
    mesh.stop().await;
}
