//! Settlement: per host, the day's payments and refunds, summed exactly;
//! settling a day again changes nothing.

use staymesh_payment::settlement;
use staymesh_platform::convert::{to_proto_date, today};
use staymesh_proto::common::DateRange;
use staymesh_proto::payment as pb;
use tonic::Code;
use uuid::Uuid;

use crate::support::*;

fn report(
    start: chrono::NaiveDate,
    days: u64,
    host: Option<Uuid>,
) -> pb::GetSettlementReportRequest {
    pb::GetSettlementReportRequest {
        range: Some(DateRange {
            start: Some(to_proto_date(start)),
            end: Some(to_proto_date(start + chrono::Days::new(days))),
        }),
        host_id: host.map(|h| h.to_string()).unwrap_or_default(),
    }
}

#[tokio::test]
async fn a_day_settles_to_the_sum_of_its_payments_and_refunds_per_host() {
    let mesh = spawn().await;
    let (host_a, host_b) = (Uuid::now_v7(), Uuid::now_v7());
    let mut paid_a = 0;
    for amount in [10_000, 25_000, 40_000] {
        let order = mesh.order_at(host_a, amount).await;
        mesh.checkout(&order, APPROVE).await;
        mesh.approve(&order.key(), &order.payment.order_id, None)
            .await
            .unwrap();
        paid_a += amount;
    }
    let order_b = mesh.order_at(host_b, 60_000).await;
    mesh.checkout(&order_b, APPROVE).await;
    mesh.approve(&order_b.key(), &order_b.payment.order_id, None)
        .await
        .unwrap();
    mesh.bookings
        .clone()
        .refund_payment(pb::RefundPaymentRequest {
            booking_id: order_b.booking.to_string(),
            amount: Some(won(15_000)),
            reason: "partial".into(),
        })
        .await
        .unwrap();
    // Unpaid and failed payments count for nothing.
    mesh.order_at(host_a, 99_000).await;
    let declined = mesh.order_at(host_a, 77_000).await;
    mesh.checkout(&declined, DECLINE).await;

    let day = today();
    let lines = settlement::settle(&mesh.pool, day, 10).await.unwrap();
    let again = settlement::settle(&mesh.pool, day, 10).await.unwrap();
    assert_eq!(lines, again, "settling again changes nothing");
    let a = lines.iter().find(|l| l.host_id == Some(host_a)).unwrap();
    assert_eq!(
        (a.payment_count, a.paid, a.refunded, a.net),
        (3, paid_a, 0, paid_a)
    );
    assert_eq!((a.fee, a.payout), (paid_a / 10, paid_a - paid_a / 10));
    let b = lines.iter().find(|l| l.host_id == Some(host_b)).unwrap();
    assert_eq!(
        (b.payment_count, b.paid, b.refunded, b.net),
        (1, 60_000, 15_000, 45_000)
    );
    assert_eq!((b.fee, b.payout), (4_500, 40_500));
    let rows: i64 = sqlx::query_scalar("SELECT count(*) FROM settlement_line WHERE day = $1")
        .bind(day)
        .fetch_one(&mesh.pool)
        .await
        .unwrap();
    assert_eq!(rows, 2);

    // The report: ADMIN sees every host and the total; a host only their own line.
    let mut api = mesh.api.clone();
    let all = api
        .get_settlement_report(authed(report(day - chrono::Days::new(6), 7, None), ADMIN))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(all.lines.len(), 2);
    let total = all.total.unwrap();
    assert_eq!(total.paid, Some(won(paid_a + 60_000)));
    assert_eq!(total.refunded, Some(won(15_000)));
    let own = api
        .get_settlement_report(authed(report(day, 1, None), &format!("host:{host_b}")))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(own.lines.len(), 1);
    assert_eq!(own.lines[0].payout, Some(won(40_500)));
    let other = api
        .get_settlement_report(authed(
            report(day, 1, Some(host_a)),
            &format!("host:{host_b}"),
        ))
        .await
        .unwrap_err();
    assert_eq!(other.code(), Code::PermissionDenied);
    let guest = api
        .get_settlement_report(authed(report(day, 1, None), &format!("guest:{host_b}")))
        .await
        .unwrap_err();
    assert_eq!(guest.code(), Code::PermissionDenied);
    let too_long = api
        .get_settlement_report(authed(report(day, 94, None), ADMIN))
        .await
        .unwrap_err();
    assert_eq!(too_long.code(), Code::InvalidArgument);
    assert_eq!(violated_fields(&too_long), ["range.end"]);
    mesh.stop().await;
}
