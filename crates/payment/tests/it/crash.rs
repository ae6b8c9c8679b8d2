//! A payment process SIGKILLed in the middle of its work: the reconciler
//! approving payments whose webhook was lost, and refunds between their
//! reservation and the PG's answer. A new process repairs everything from
//! the PG, and nothing is approved or refunded twice.

use std::time::Duration;

use futures::future::join_all;
use staymesh_payment::DESCRIPTOR;
use staymesh_proto::payment as pb;
use staymesh_proto::payment::payment_booking_service_client::PaymentBookingServiceClient;
use staymesh_testkit::Process;
use tonic::transport::Channel;

use crate::support::*;

/// The unreturned payments (under 30,000 won) that are PAID.
const APPROVED: &str = "SELECT count(*) FROM payment WHERE amount < 30000 AND state = 'PAID'";

/// `staymesh payment` on the mesh's stores and PG, reconciling every 50 ms,
/// once it listens, with a client of its PaymentBookingService.
async fn payment_process(mesh: &Mesh) -> (Process, PaymentBookingServiceClient<Channel>) {
    let port = staymesh_testkit::free_port();
    let mut command = staymesh_testkit::service_command(&DESCRIPTOR, mesh.infra()).await;
    command
        .env("STAYMESH_PAYMENT_PORT", port.to_string())
        .env("STAYMESH_PAYMENT_PG_URL", &mesh.pg)
        .env("STAYMESH_PAYMENT_PG_API_SECRET", API_SECRET)
        .env("STAYMESH_PAYMENT_PG_WEBHOOK_SECRET", WEBHOOK_SECRET)
        .env("STAYMESH_PAYMENT_RECONCILE_EVERY", "50ms");
    let mut process = Process::spawn(command);
    let url = format!("http://127.0.0.1:{port}");
    for _ in 0..1200 {
        if let Ok(client) = PaymentBookingServiceClient::connect(url.clone()).await {
            return (process, client);
        }
        assert!(process.exited().is_none(), "{}", process.output());
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("the payment process never listened:\n{}", process.output());
}

async fn count(mesh: &Mesh, sql: &'static str) -> i64 {
    sqlx::query_scalar(sql).fetch_one(&mesh.pool).await.unwrap()
}

#[tokio::test]
async fn a_killed_payment_process_leaves_nothing_the_next_one_cannot_repair_once() {
    let mesh = spawn_with(Options {
        webhooks: false,
        ..Options::default()
    })
    .await;
    // Paid at the PG, never returned: only the reconciler can approve these.
    let unreturned = join_all((0..100).map(|i| mesh.order(20_000 + i))).await;
    join_all(unreturned.iter().map(|o| mesh.checkout(o, TIME_OUT))).await;
    // Paid and approved: these get refunded while the process dies.
    let paid = join_all((0..40).map(|i| mesh.order(30_000 + i))).await;
    join_all(paid.iter().map(|o| mesh.checkout(o, APPROVE))).await;
    for order in &paid {
        mesh.approve(&order.key(), &order.payment.order_id, None)
            .await
            .unwrap();
    }

    // Killed while its reconciler approves the unreturned payments.
    let (mut first, _) = payment_process(&mesh).await;
    eventually(
        Duration::from_secs(30),
        "the reconciler is approving",
        || async { count(&mesh, APPROVED).await > 0 },
    )
    .await;
    first.sigkill().await;
    let approved = count(&mesh, APPROVED).await;
    mesh.assert_money_invariants().await;

    // Killed while refunds are between their reservation and the PG's answer.
    let (mut second, client) = payment_process(&mesh).await;
    let refunds: Vec<_> = paid
        .iter()
        .map(|order| {
            let mut client = client.clone();
            let request = pb::RefundPaymentRequest {
                booking_id: order.booking.to_string(),
                amount: None,
                reason: "crash test".into(),
            };
            tokio::spawn(async move { client.refund_payment(request).await })
        })
        .collect();
    eventually(Duration::from_secs(30), "refunds are under way", || async {
        count(&mesh, "SELECT count(*) FROM refund").await > 0
    })
    .await;
    second.sigkill().await;
    for refund in refunds {
        // Answered or cut off by the kill: either way the PG decides.
        let _ = refund.await;
    }
    let pending = count(&mesh, "SELECT count(*) FROM refund WHERE state = 'PENDING'").await;
    eprintln!("killed with {approved}/100 approved, then with {pending} refunds pending");
    mesh.assert_money_invariants().await;

    // The next process finishes the work from what the PG says.
    let (mut third, _) = payment_process(&mesh).await;
    let repaired = || async {
        count(&mesh, APPROVED).await == 100
            && count(&mesh, "SELECT count(*) FROM refund WHERE state = 'PENDING'").await == 0
    };
    eventually(
        Duration::from_secs(60),
        "every payment approved, no refund pending",
        repaired,
    )
    .await;
    assert!(third.exited().is_none(), "{}", third.output());
    for order in &unreturned {
        assert_eq!(
            mesh.approvals(order.booking).await.len(),
            1,
            "{}",
            order.booking
        );
    }
    for order in &paid {
        let ours = mesh
            .payment(order)
            .await
            .refunded_amount
            .unwrap_or_default()
            .amount;
        let at_pg = mesh.at_pg(order).await["cancelledAmount"].as_i64().unwrap();
        assert_eq!(
            ours, at_pg,
            "ours and the PG's refunds agree for {}",
            order.booking
        );
        let refunded_events = mesh
            .events(order.booking)
            .await
            .iter()
            .filter(|e| *e == "PaymentRefunded")
            .count();
        assert_eq!(refunded_events, usize::from(ours > 0));
        assert!(ours == 0 || ours == order.payment.amount.as_ref().unwrap().amount);
    }
    third.sigterm().await;
    third.wait().await;
    mesh.stop().await;
}
