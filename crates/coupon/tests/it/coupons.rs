//! Coupon and event rules (each names its field), who may create what, and
//! a booking's use of a coupon: quotes, reservation, redemption, release.

use chrono::{Duration, Utc};
use futures::StreamExt;
use staymesh_proto::coupon as pb;
use tonic::Code;

use crate::support::*;

fn percent(p: i32) -> pb::CreateCouponRequest {
    pb::CreateCouponRequest {
        name: "가을 특가".into(),
        discount_type: pb::DiscountType::Percent as i32,
        discount_percent: p,
        valid_from: Some(ts(Utc::now() - Duration::hours(1))),
        valid_until: Some(ts(Utc::now() + Duration::days(30))),
        ..Default::default()
    }
}

fn amount(a: i64) -> pb::CreateCouponRequest {
    pb::CreateCouponRequest {
        discount_type: pb::DiscountType::Amount as i32,
        discount_percent: 0,
        discount_amount: Some(won(a)),
        ..percent(0)
    }
}

async fn create(
    app: &App,
    request: pb::CreateCouponRequest,
    token: &str,
) -> Result<pb::Coupon, tonic::Status> {
    app.api
        .clone()
        .create_coupon(authed(request, token))
        .await
        .map(|r| r.into_inner().coupon.expect("coupon"))
}

#[tokio::test]
async fn each_coupon_rule_names_its_field() {
    let app = spawn().await;
    let past = Some(ts(Utc::now() - Duration::days(2)));
    let cases: Vec<(pb::CreateCouponRequest, &str)> = vec![
        (
            pb::CreateCouponRequest {
                name: " ".into(),
                ..percent(10)
            },
            "name",
        ),
        (
            pb::CreateCouponRequest {
                discount_type: 0,
                ..percent(10)
            },
            "discount_type",
        ),
        (percent(0), "discount_percent"),
        (percent(101), "discount_percent"),
        (
            pb::CreateCouponRequest {
                max_discount: Some(won(0)),
                ..percent(10)
            },
            "max_discount",
        ),
        (
            pb::CreateCouponRequest {
                discount_amount: Some(won(100)),
                ..percent(10)
            },
            "discount_amount",
        ),
        (amount(0), "discount_amount"),
        (amount(-5), "discount_amount.amount"),
        (
            pb::CreateCouponRequest {
                discount_amount: None,
                ..amount(1)
            },
            "discount_amount",
        ),
        (
            pb::CreateCouponRequest {
                max_discount: Some(won(100)),
                ..amount(1_000)
            },
            "max_discount",
        ),
        (
            pb::CreateCouponRequest {
                min_booking_price: Some(won(100_000)),
                max_booking_price: Some(won(50_000)),
                ..amount(1_000)
            },
            "max_booking_price",
        ),
        (
            pb::CreateCouponRequest {
                min_booking_price: Some(staymesh_proto::common::Money {
                    amount: 1,
                    currency: "USD".into(),
                }),
                ..amount(1_000)
            },
            "min_booking_price.currency",
        ),
        (
            pb::CreateCouponRequest {
                valid_from: None,
                ..amount(1_000)
            },
            "valid_from",
        ),
        (
            pb::CreateCouponRequest {
                valid_until: past,
                ..amount(1_000)
            },
            "valid_until",
        ),
    ];
    for (request, field) in cases {
        let status = create(&app, request.clone(), ADMIN)
            .await
            .expect_err("refused");
        assert_eq!(status.code(), Code::InvalidArgument, "{field}: {status:?}");
        assert!(
            violated_fields(&status).contains(&field.to_owned()),
            "{field} not named in {:?}",
            violated_fields(&status)
        );
    }
    app.stop().await;
}

#[tokio::test]
async fn admins_and_hosts_create_coupons_guests_do_not() {
    let app = spawn().await;
    let any = create(&app, amount(3_000), ADMIN).await.expect("admin");
    assert_eq!(any.host_id, "");
    let own = create(&app, amount(3_000), HOST).await.expect("host");
    assert_eq!(
        own.host_id,
        user_of(HOST),
        "a host's coupon is limited to the host"
    );
    let for_other = create(
        &app,
        pb::CreateCouponRequest {
            host_id: user_of(OTHER_HOST).into(),
            ..amount(3_000)
        },
        HOST,
    )
    .await
    .expect_err("other host");
    assert_eq!(violated_fields(&for_other), ["host_id"]);
    let by_guest = create(&app, amount(3_000), &guest(1))
        .await
        .expect_err("guest");
    assert_eq!(by_guest.code(), Code::PermissionDenied);
    let anonymous = app
        .api
        .clone()
        .create_coupon(amount(3_000))
        .await
        .expect_err("anonymous");
    assert_eq!(anonymous.code(), Code::Unauthenticated);

    // Hosts list their own coupons, admins everything.
    let listed = app
        .api
        .clone()
        .list_coupons(authed(pb::ListCouponsRequest::default(), HOST))
        .await
        .expect("list")
        .into_inner()
        .coupons;
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].coupon_id, own.coupon_id);

    // Only the coupon's creator (or an admin) opens events for it.
    let event = |coupon_id: &str| pb::CreateIssuanceEventRequest {
        coupon_id: coupon_id.into(),
        quantity: 10,
        opens_at: Some(ts(Utc::now())),
        closes_at: Some(ts(Utc::now() + Duration::hours(1))),
        ..Default::default()
    };
    let denied = app
        .api
        .clone()
        .create_issuance_event(authed(event(&own.coupon_id), OTHER_HOST))
        .await
        .expect_err("other host");
    assert_eq!(denied.code(), Code::PermissionDenied);
    app.api
        .clone()
        .create_issuance_event(authed(event(&own.coupon_id), HOST))
        .await
        .expect("owner");
    app.stop().await;
}

#[tokio::test]
async fn each_event_rule_names_its_field() {
    let mut app = spawn().await;
    let coupon = app.coupon().await;
    let valid = pb::CreateIssuanceEventRequest {
        coupon_id: coupon.coupon_id.clone(),
        quantity: 100,
        unlimited: false,
        opens_at: Some(ts(Utc::now())),
        closes_at: Some(ts(Utc::now() + Duration::hours(1))),
        waiting_room: false,
    };
    let cases = [
        (
            pb::CreateIssuanceEventRequest {
                quantity: 0,
                ..valid.clone()
            },
            "quantity",
        ),
        (
            pb::CreateIssuanceEventRequest {
                quantity: 1_000_001,
                ..valid.clone()
            },
            "quantity",
        ),
        (
            pb::CreateIssuanceEventRequest {
                unlimited: true,
                ..valid.clone()
            },
            "quantity",
        ),
        (
            pb::CreateIssuanceEventRequest {
                opens_at: Some(ts(Utc::now() - Duration::hours(2))),
                ..valid.clone()
            },
            "opens_at",
        ),
        (
            pb::CreateIssuanceEventRequest {
                closes_at: Some(ts(Utc::now() - Duration::seconds(1))),
                ..valid.clone()
            },
            "closes_at",
        ),
        (
            pb::CreateIssuanceEventRequest {
                closes_at: Some(ts(Utc::now() + Duration::days(8))),
                ..valid.clone()
            },
            "closes_at",
        ),
        (
            pb::CreateIssuanceEventRequest {
                coupon_id: "x".into(),
                ..valid.clone()
            },
            "coupon_id",
        ),
    ];
    for (request, field) in cases {
        let status = app
            .api
            .create_issuance_event(authed(request, ADMIN))
            .await
            .expect_err("refused");
        assert_eq!(violated_fields(&status), [field], "{status:?}");
    }
    let max = app
        .api
        .create_issuance_event(authed(
            pb::CreateIssuanceEventRequest {
                quantity: 1_000_000,
                ..valid
            },
            ADMIN,
        ))
        .await
        .expect("a million")
        .into_inner()
        .event
        .expect("event");
    assert_eq!((max.quantity, max.remaining), (1_000_000, 1_000_000));
    app.stop().await;
}

#[tokio::test]
async fn an_event_with_a_waiting_room_refuses_a_claim_without_an_admission_token() {
    let mut app = spawn().await;
    let coupon = app.coupon().await;
    let event = app
        .api
        .create_issuance_event(authed(
            pb::CreateIssuanceEventRequest {
                coupon_id: coupon.coupon_id,
                quantity: 10,
                opens_at: Some(ts(Utc::now())),
                closes_at: Some(ts(Utc::now() + Duration::hours(1))),
                waiting_room: true,
                ..Default::default()
            },
            ADMIN,
        ))
        .await
        .expect("an event with a waiting room")
        .into_inner()
        .event
        .expect("event");
    assert!(event.waiting_room);
    let refused = app
        .claim(&event.event_id, &guest(1))
        .await
        .expect_err("no token");
    assert_eq!(refused.code(), Code::FailedPrecondition, "{refused:?}");
    assert!(
        refused
            .message()
            .contains(&format!("queue {}", event.event_id)),
        "{refused:?}"
    );
    // Nothing was taken from the stock.
    let read = app
        .api
        .clone()
        .get_issuance_event(authed(
            pb::GetIssuanceEventRequest {
                event_id: event.event_id.clone(),
            },
            ADMIN,
        ))
        .await
        .expect("read")
        .into_inner()
        .event
        .expect("event");
    assert_eq!((read.issued, read.remaining), (0, 10));
    app.stop().await;
}

/// A coupon with `request`'s terms, claimed by `token`; returns the user coupon id.
async fn held(app: &mut App, request: pb::CreateCouponRequest, token: &str) -> String {
    let coupon = create(app, request, ADMIN).await.expect("coupon");
    let event = app
        .api
        .create_issuance_event(authed(
            pb::CreateIssuanceEventRequest {
                coupon_id: coupon.coupon_id,
                quantity: 10,
                opens_at: Some(ts(Utc::now())),
                closes_at: coupon.valid_until,
                ..Default::default()
            },
            ADMIN,
        ))
        .await
        .expect("event")
        .into_inner()
        .event
        .expect("event");
    let id = app
        .claim(&event.event_id, token)
        .await
        .expect("claim")
        .user_coupon
        .expect("coupon")
        .user_coupon_id;
    // Bookings use coupons from the coupon box, which the writer fills.
    app.wait_stored(&event.event_id, 1, std::time::Duration::from_secs(10))
        .await;
    id
}

fn quote_request(
    token: &str,
    user_coupon_id: &str,
    price: i64,
    host: &str,
) -> pb::QuoteDiscountRequest {
    pb::QuoteDiscountRequest {
        booking_id: uuid::Uuid::now_v7().to_string(),
        user_id: user_of(token).into(),
        user_coupon_id: user_coupon_id.into(),
        host_id: host.into(),
        price: Some(won(price)),
    }
}

#[tokio::test]
async fn quotes_apply_the_discount_arithmetic() {
    let mut app = spawn().await;
    let me = guest(7);
    let capped = held(
        &mut app,
        pb::CreateCouponRequest {
            max_discount: Some(won(5_000)),
            ..percent(10)
        },
        &me,
    )
    .await;
    let flat = held(&mut app, amount(10_000), &me).await;
    let bounded = held(
        &mut app,
        pb::CreateCouponRequest {
            min_booking_price: Some(won(50_000)),
            max_booking_price: Some(won(300_000)),
            ..amount(10_000)
        },
        &me,
    )
    .await;
    let later = held(
        &mut app,
        pb::CreateCouponRequest {
            valid_from: Some(ts(Utc::now() + Duration::days(1))),
            ..amount(10_000)
        },
        &me,
    )
    .await;
    let cases = [
        (&capped, 40_000, Some(4_000)),
        (&capped, 120_000, Some(5_000)),
        (&flat, 50_000, Some(10_000)),
        (&flat, 8_000, Some(8_000)),
        (&bounded, 49_999, None),
        (&bounded, 50_000, Some(10_000)),
        (&bounded, 300_001, None),
        (&later, 100_000, None),
    ];
    for (coupon, price, expected) in cases {
        let quote = app
            .bookings
            .quote_discount(quote_request(&me, coupon, price, "any-host"))
            .await
            .expect("quote")
            .into_inner();
        match expected {
            Some(discount) => {
                assert!(quote.applicable, "{price}: {}", quote.reason);
                assert_eq!(
                    quote.discount.expect("discount").amount,
                    discount,
                    "{price}"
                );
            }
            None => {
                assert!(!quote.applicable, "{price} should not apply");
                assert!(!quote.reason.is_empty());
            }
        }
    }
    // Somebody else's coupon is not found, however it is asked for.
    let stranger = app
        .bookings
        .quote_discount(quote_request(&guest(8), &flat, 50_000, "any-host"))
        .await
        .expect_err("stranger");
    assert_eq!(stranger.code(), Code::NotFound);
    app.stop().await;
}

#[tokio::test]
async fn a_coupon_serves_one_booking_through_reserve_redeem_and_release() {
    let mut app = spawn().await;
    let me = guest(9);
    let coupon = held(&mut app, amount(10_000), &me).await;
    let reserve = |booking: &str| pb::ReserveCouponRequest {
        booking_id: booking.into(),
        user_id: user_of(&me).into(),
        user_coupon_id: coupon.clone(),
        host_id: "any-host".into(),
        price: Some(won(80_000)),
    };

    // Twenty bookings race for the coupon: exactly one gets it.
    let bookings: Vec<String> = (0..20).map(|_| uuid::Uuid::now_v7().to_string()).collect();
    let api = app.bookings.clone();
    let results: Vec<_> = futures::stream::iter(bookings.clone())
        .map(|b| {
            let mut api = api.clone();
            let request = reserve(&b);
            async move { (b, api.reserve_coupon(request).await) }
        })
        .buffer_unordered(20)
        .collect()
        .await;
    let winners: Vec<&String> = results
        .iter()
        .filter(|(_, r)| r.is_ok())
        .map(|(b, _)| b)
        .collect();
    assert_eq!(winners.len(), 1);
    for (_, result) in &results {
        if let Err(status) = result {
            assert_eq!(status.code(), Code::FailedPrecondition, "{status:?}");
        }
    }
    let booking = winners[0].clone();
    // Idempotent: the saga may ask again.
    let again = app
        .bookings
        .reserve_coupon(reserve(&booking))
        .await
        .expect("again")
        .into_inner();
    assert_eq!(again.discount.expect("discount").amount, 10_000);
    assert_eq!(
        again.user_coupon.expect("coupon").state,
        pb::UserCouponState::Reserved as i32
    );

    for _ in 0..2 {
        let redeemed = app
            .bookings
            .redeem_coupon(pb::RedeemCouponRequest {
                booking_id: booking.clone(),
            })
            .await
            .expect("redeem")
            .into_inner()
            .user_coupon
            .expect("coupon");
        assert_eq!(redeemed.state, pb::UserCouponState::Redeemed as i32);
        assert_eq!(redeemed.booking_id, booking);
    }
    // Cancelled after payment: the coupon comes back.
    for _ in 0..2 {
        app.bookings
            .release_coupon(pb::ReleaseCouponRequest {
                booking_id: booking.clone(),
            })
            .await
            .expect("release");
    }
    let mine = app.my_coupons(&me).await;
    assert_eq!(mine[0].state, pb::UserCouponState::Available as i32);
    assert_eq!(mine[0].booking_id, "");
    let nothing = app
        .bookings
        .release_coupon(pb::ReleaseCouponRequest {
            booking_id: uuid::Uuid::now_v7().to_string(),
        })
        .await
        .expect("release of nothing")
        .into_inner();
    assert!(nothing.user_coupon.is_none());
    // A reservation overtaken by its booking's release is refused: the saga
    // may have resent ReserveCoupon and compensated before the first one landed.
    let dead = uuid::Uuid::now_v7().to_string();
    let released = app
        .bookings
        .release_coupon(pb::ReleaseCouponRequest {
            booking_id: dead.clone(),
        })
        .await
        .expect("release first")
        .into_inner();
    assert!(released.user_coupon.is_none());
    let late = app
        .bookings
        .reserve_coupon(reserve(&dead))
        .await
        .expect_err("late reserve");
    assert_eq!(late.code(), Code::FailedPrecondition, "{late:?}");
    let missing = app
        .bookings
        .redeem_coupon(pb::RedeemCouponRequest {
            booking_id: uuid::Uuid::now_v7().to_string(),
        })
        .await
        .expect_err("nothing reserved");
    assert_eq!(missing.code(), Code::NotFound);
    let bad = app
        .bookings
        .redeem_coupon(pb::RedeemCouponRequest {
            booking_id: "nope".into(),
        })
        .await
        .expect_err("bad id");
    assert_eq!(violated_fields(&bad), ["booking_id"]);
    app.stop().await;
}

#[tokio::test]
async fn a_reservation_racing_its_release_never_leaves_the_coupon_held() {
    let mut app = spawn().await;
    let me = guest(10);
    let coupon = held(&mut app, amount(5_000), &me).await;
    // Reserve and release of the same booking sent at once, as a resent
    // command and the saga's compensation may arrive: whichever lands first,
    // the coupon ends up free for the next booking.
    for round in 0..40 {
        let booking = uuid::Uuid::now_v7().to_string();
        let (mut a, mut b) = (app.bookings.clone(), app.bookings.clone());
        let reserve = pb::ReserveCouponRequest {
            booking_id: booking.clone(),
            user_id: user_of(&me).into(),
            user_coupon_id: coupon.clone(),
            host_id: "any-host".into(),
            price: Some(won(80_000)),
        };
        let release = pb::ReleaseCouponRequest {
            booking_id: booking.clone(),
        };
        let (reserved, released) =
            tokio::join!(a.reserve_coupon(reserve), b.release_coupon(release));
        released.expect("release");
        if let Err(status) = reserved {
            assert_eq!(status.code(), Code::FailedPrecondition, "{status:?}");
        }
        let mine = app.my_coupons(&me).await;
        assert_eq!(
            (mine[0].state, mine[0].booking_id.as_str()),
            (pb::UserCouponState::Available as i32, ""),
            "round {round}: the coupon is held by released booking {booking}"
        );
    }
    app.stop().await;
}

#[tokio::test]
async fn the_saga_reserves_redeems_and_releases_a_coupon_by_command_once_each() {
    use staymesh_proto::saga::{self, SagaStep, StepOutcome, step_reply::Detail};
    use staymesh_testkit::saga::{command, send_command, wait_replies};

    let mut app = spawn().await;
    let me = guest(11);
    let coupon = held(&mut app, amount(7_000), &me).await;
    let infra = app.settings.infra.clone();
    let booking = uuid::Uuid::now_v7();
    let saga_id = format!("saga-{booking}");
    let reserve = command(
        &booking,
        &saga::ReserveCouponCommand {
            saga_id: saga_id.clone(),
            booking_id: booking.to_string(),
            user_id: user_of(&me).into(),
            user_coupon_id: coupon.clone(),
            host_id: "any-host".into(),
            price: Some(won(50_000)),
        },
    );
    send_command(&infra, "coupon", &reserve).await;
    send_command(&infra, "coupon", &reserve).await;
    let redeem = saga::RedeemCouponCommand {
        saga_id: saga_id.clone(),
        booking_id: booking.to_string(),
    };
    send_command(&infra, "coupon", &command(&booking, &redeem)).await;
    let replies = wait_replies(&app.pool, &infra, &booking, 2).await;
    assert_eq!(
        replies.len(),
        2,
        "the duplicate reserve is answered once: {replies:?}"
    );
    assert_eq!(replies[0].step(), SagaStep::ReserveCoupon);
    assert_eq!(
        replies[0].outcome(),
        StepOutcome::Succeeded,
        "{}",
        replies[0].reason
    );
    assert_eq!(
        replies[0].detail,
        Some(Detail::ReserveCoupon(saga::ReserveCouponResult {
            user_coupon_id: coupon.clone(),
            discount: Some(won(7_000)),
        }))
    );
    assert_eq!(replies[1].step(), SagaStep::RedeemCoupon);
    assert_eq!(replies[1].outcome(), StepOutcome::Succeeded);
    let mine = app.my_coupons(&me).await;
    assert_eq!(mine[0].state, pb::UserCouponState::Redeemed as i32);

    // The coupon serves one booking: another booking's reserve is refused.
    let other = uuid::Uuid::now_v7();
    let stolen = saga::ReserveCouponCommand {
        saga_id: format!("saga-{other}"),
        booking_id: other.to_string(),
        user_id: user_of(&me).into(),
        user_coupon_id: coupon.clone(),
        host_id: "any-host".into(),
        price: Some(won(50_000)),
    };
    send_command(&infra, "coupon", &command(&other, &stolen)).await;
    let refused = wait_replies(&app.pool, &infra, &other, 1).await;
    assert_eq!(refused[0].outcome(), StepOutcome::Failed);
    assert!(!refused[0].reason.is_empty());

    // Cancelling the booking gives the coupon back.
    let release = saga::ReleaseCouponCommand {
        saga_id,
        booking_id: booking.to_string(),
    };
    send_command(&infra, "coupon", &command(&booking, &release)).await;
    let replies = wait_replies(&app.pool, &infra, &booking, 3).await;
    assert_eq!(replies[2].step(), SagaStep::ReleaseCoupon);
    assert_eq!(
        replies[2].outcome(),
        StepOutcome::Succeeded,
        "{}",
        replies[2].reason
    );
    let mine = app.my_coupons(&me).await;
    assert_eq!(mine[0].state, pb::UserCouponState::Available as i32);
    app.stop().await;
}
