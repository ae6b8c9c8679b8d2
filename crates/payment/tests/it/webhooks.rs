//! Webhooks: only the PG's signature over the exact body, made in the last
//! 5 minutes, gets in; a genuine duplicate changes nothing.

use staymesh_proto::payment as pb;

use crate::support::*;

#[tokio::test]
async fn forged_and_stale_webhooks_are_refused_and_genuine_ones_approve_once() {
    let mesh = spawn_with(Options {
        webhooks: false,
        ..Options::default()
    })
    .await;
    let order = mesh.order(55_000).await;
    mesh.checkout(&order, TIME_OUT).await;

    let forger = "whsec_Zm9yZ2VkLXNlY3JldC1vZi1zb21lb25lLWVsc2U=";
    let (body, headers) = Mesh::signed_webhook(&order, forger, 0);
    assert_eq!(mesh.post_webhook(&body, &headers).await, 401, "forged");
    let (body, headers) = Mesh::signed_webhook(&order, WEBHOOK_SECRET, 301);
    assert_eq!(mesh.post_webhook(&body, &headers).await, 401, "stale");
    let (body, headers) = Mesh::signed_webhook(&order, WEBHOOK_SECRET, 0);
    let tampered = body.replace("PAID", "PAYED");
    assert_eq!(
        mesh.post_webhook(&tampered, &headers).await,
        401,
        "body changed"
    );
    assert_eq!(mesh.post_webhook(&body, &[]).await, 401, "unsigned");
    assert_eq!(mesh.payment(&order).await.state(), pb::PaymentState::Ready);

    // The genuine one, then a replay of it within the 5 minutes: one approval.
    assert_eq!(mesh.post_webhook(&body, &headers).await, 200);
    assert_eq!(mesh.post_webhook(&body, &headers).await, 200);
    assert_eq!(mesh.payment(&order).await.state(), pb::PaymentState::Paid);
    assert_eq!(mesh.approvals(order.booking).await.len(), 1);

    // Signed but not a notification: the body is named.
    let (_, headers) = Mesh::signed_webhook(&order, WEBHOOK_SECRET, 0);
    let junk = "{\"hello\":1}";
    let id = headers[0].1.clone();
    let at: i64 = headers[1].1.parse().unwrap();
    let signature = standardwebhooks::Webhook::new(WEBHOOK_SECRET)
        .unwrap()
        .sign(&id, at, junk.as_bytes())
        .unwrap();
    let signed_junk = [
        ("webhook-id", id),
        ("webhook-timestamp", at.to_string()),
        ("webhook-signature", signature),
    ];
    assert_eq!(mesh.post_webhook(junk, &signed_junk).await, 400);
    mesh.stop().await;
}

#[tokio::test]
async fn the_pg_webhook_alone_approves_a_payment_whose_browser_never_returned() {
    let mesh = spawn_with(Options {
        duplicate_webhooks: 100,
        ..Options::default()
    })
    .await;
    let order = mesh.order(33_000).await;
    let (status, redirect) = mesh.checkout(&order, TIME_OUT).await;
    assert_eq!((status, redirect), (200, None), "no browser return");
    mesh.webhooks_delivered(&order).await;
    assert_eq!(mesh.payment(&order).await.state(), pb::PaymentState::Paid);
    assert_eq!(mesh.approvals(order.booking).await.len(), 1);
    mesh.stop().await;
}
