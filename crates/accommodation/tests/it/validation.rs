//! Bad input gets INVALID_ARGUMENT or NOT_FOUND naming the field, never INTERNAL.

use staymesh_proto::accommodation as pb;
use staymesh_proto::common;

use crate::support::*;

fn stay(
    check_in: chrono::NaiveDate,
    check_out: chrono::NaiveDate,
) -> pb::SearchAvailabilityRequest {
    pb::SearchAvailabilityRequest {
        check_in: Some(date(check_in)),
        check_out: Some(date(check_out)),
        guests: 2,
        ..Default::default()
    }
}

#[tokio::test]
async fn bad_searches_name_their_fields() {
    let mut app = spawn().await;
    let day = future(10);
    let cases: Vec<(pb::SearchAvailabilityRequest, &[&str])> = vec![
        (stay(day, day), &["check_out"]),
        (stay(day, day - chrono::Duration::days(3)), &["check_out"]),
        (stay(day, day + chrono::Duration::days(31)), &["check_out"]),
        (
            pb::SearchAvailabilityRequest {
                guests: 2,
                ..Default::default()
            },
            &["check_in", "check_out"],
        ),
        (
            pb::SearchAvailabilityRequest {
                check_in: Some(common::Date {
                    year: 2030,
                    month: 2,
                    day: 30,
                }),
                ..stay(day, day + chrono::Duration::days(1))
            },
            &["check_in"],
        ),
        (
            pb::SearchAvailabilityRequest {
                guests: 0,
                ..stay(day, day + chrono::Duration::days(1))
            },
            &["guests"],
        ),
        (
            pb::SearchAvailabilityRequest {
                page_size: 101,
                ..stay(day, day + chrono::Duration::days(1))
            },
            &["page_size"],
        ),
        (
            pb::SearchAvailabilityRequest {
                page_size: -1,
                ..stay(day, day + chrono::Duration::days(1))
            },
            &["page_size"],
        ),
        (
            pb::SearchAvailabilityRequest {
                page_token: "not-a-token".into(),
                ..stay(day, day + chrono::Duration::days(1))
            },
            &["page_token"],
        ),
        (
            pb::SearchAvailabilityRequest {
                min_price: 10,
                max_price: 5,
                ..stay(day, day + chrono::Duration::days(1))
            },
            &["max_price"],
        ),
        (
            pb::SearchAvailabilityRequest {
                sort: 99,
                ..stay(day, day + chrono::Duration::days(1))
            },
            &["sort"],
        ),
    ];
    for (request, fields) in cases {
        let status = app
            .api
            .search_availability(request.clone())
            .await
            .expect_err("must be refused");
        assert_eq!(
            status.code(),
            tonic::Code::InvalidArgument,
            "{request:?}: {status:?}"
        );
        assert_eq!(violated_fields(&status), fields, "{request:?}");
    }
    app.stop().await;
}

#[tokio::test]
async fn calendar_ranges_over_a_year_or_in_the_past_are_refused() {
    let mut app = spawn().await;
    let property = app
        .listing("전주 한옥 게스트하우스", "전주", "한옥마을")
        .await;
    let room = app.room_type(&property.property_id, 3, 2).await;

    let long = app
        .set_calendar(&room.room_type_id, future(1), 366, 100_000, 3)
        .await
        .expect_err("366 nights");
    assert_eq!(long.code(), tonic::Code::InvalidArgument);
    assert_eq!(violated_fields(&long), ["range.end"]);
    let past = app
        .set_calendar(
            &room.room_type_id,
            chrono::Utc::now().date_naive() - chrono::Duration::days(3),
            2,
            100_000,
            3,
        )
        .await
        .expect_err("past");
    assert_eq!(violated_fields(&past), ["range.start"]);
    let negative = app
        .set_calendar(&room.room_type_id, future(1), 2, -5, 3)
        .await
        .expect_err("negative price");
    assert_eq!(violated_fields(&negative), ["price.amount"]);
    app.set_calendar(&room.room_type_id, future(1), 365, 100_000, 3)
        .await
        .expect("a year is fine");

    let read_long = pb::GetCalendarRequest {
        room_type_id: room.room_type_id.clone(),
        range: Some(common::DateRange {
            start: Some(date(future(1))),
            end: Some(date(future(400))),
        }),
    };
    let status = app
        .api
        .get_calendar(read_long)
        .await
        .expect_err("read 399 nights");
    assert_eq!(violated_fields(&status), ["range.end"]);
    app.stop().await;
}

#[tokio::test]
async fn unknown_and_malformed_ids() {
    let mut app = spawn().await;
    let unknown = uuid::Uuid::now_v7().to_string();

    let missing = app
        .api
        .get_property(pb::GetPropertyRequest {
            property_id: unknown.clone(),
        })
        .await
        .expect_err("unknown");
    assert_eq!(missing.code(), tonic::Code::NotFound);
    assert!(missing.message().contains(&unknown));
    let malformed = app
        .api
        .get_property(pb::GetPropertyRequest {
            property_id: "abc".into(),
        })
        .await
        .expect_err("malformed");
    assert_eq!(malformed.code(), tonic::Code::InvalidArgument);
    assert_eq!(violated_fields(&malformed), ["property_id"]);
    let empty = app
        .api
        .get_property(pb::GetPropertyRequest::default())
        .await
        .expect_err("empty");
    assert_eq!(violated_fields(&empty), ["property_id"]);

    let calendar = pb::GetCalendarRequest {
        room_type_id: unknown.clone(),
        range: Some(common::DateRange {
            start: Some(date(future(1))),
            end: Some(date(future(3))),
        }),
    };
    assert_eq!(
        app.api
            .get_calendar(calendar)
            .await
            .expect_err("unknown room")
            .code(),
        tonic::Code::NotFound
    );
    let set = app
        .set_calendar(&unknown, future(1), 2, 1_000, 1)
        .await
        .expect_err("unknown room");
    assert_eq!(set.code(), tonic::Code::NotFound);
    let lowest = app
        .api
        .get_lowest_price(pb::GetLowestPriceRequest {
            property_id: unknown.clone(),
        })
        .await;
    assert_eq!(
        lowest.expect_err("unknown property").code(),
        tonic::Code::NotFound
    );
    let confirm = app
        .inventory
        .confirm_hold(pb::ConfirmHoldRequest {
            booking_id: unknown.clone(),
        })
        .await;
    assert_eq!(
        confirm.expect_err("unknown booking").code(),
        tonic::Code::NotFound
    );
    // The contract's rules are checked first, all at once; the rules relating
    // fields (check-out after check-in) once those hold.
    let hold = pb::HoldNightsRequest {
        booking_id: unknown.clone(),
        room_type_id: "nope".into(),
        check_in: Some(date(future(2))),
        check_out: None,
        rooms: 0,
    };
    let status = app.inventory.hold_nights(hold).await.expect_err("bad hold");
    assert_eq!(violated_fields(&status), ["room_type_id", "check_out"]);
    let hold = pb::HoldNightsRequest {
        booking_id: unknown.clone(),
        room_type_id: unknown.clone(),
        check_in: Some(date(future(2))),
        check_out: Some(date(future(1))),
        rooms: 0,
    };
    let status = app.inventory.hold_nights(hold).await.expect_err("bad hold");
    assert_eq!(violated_fields(&status), ["check_out"]);

    let list = pb::ListHostPropertiesRequest {
        host_id: HOST_ID.into(),
        page_size: 1000,
        page_token: String::new(),
    };
    let status = app
        .api
        .list_host_properties(list)
        .await
        .expect_err("page size");
    assert_eq!(violated_fields(&status), ["page_size"]);
    app.stop().await;
}

#[tokio::test]
async fn bad_listings_name_their_fields() {
    let mut app = spawn().await;
    let input = pb::PropertyInput {
        name: "이름".into(),
        region: String::new(),
        address: "주소".into(),
        check_out_time: "noon".into(),
        ..Default::default()
    };
    let status = app
        .api
        .create_property(authed(
            pb::CreatePropertyRequest {
                property: Some(input),
            },
            HOST,
        ))
        .await
        .expect_err("bad");
    assert_eq!(status.code(), tonic::Code::InvalidArgument);
    // The contract's rules first; then what only a create requires.
    assert_eq!(violated_fields(&status), ["property.check_out_time"]);
    let input = pb::PropertyInput {
        name: "이름".into(),
        region: String::new(),
        address: "주소".into(),
        check_out_time: "11:00".into(),
        ..Default::default()
    };
    let status = app
        .api
        .create_property(authed(
            pb::CreatePropertyRequest {
                property: Some(input),
            },
            HOST,
        ))
        .await
        .expect_err("bad");
    assert_eq!(violated_fields(&status), ["property.region"]);

    let property = app.listing("춘천 호수 펜션", "춘천", "호수").await;
    let input = pb::RoomTypeInput {
        name: "룸".into(),
        base_occupancy: 3,
        max_occupancy: 2,
        extra_guest_fee: None,
        total_rooms: 0,
    };
    let request = pb::CreateRoomTypeRequest {
        property_id: property.property_id.clone(),
        room_type: Some(input.clone()),
    };
    let status = app
        .api
        .create_room_type(authed(request, HOST))
        .await
        .expect_err("bad room");
    // The contract's rule on one field first; then the rule relating two.
    assert_eq!(violated_fields(&status), ["room_type.total_rooms"]);
    let request = pb::CreateRoomTypeRequest {
        property_id: property.property_id,
        room_type: Some(pb::RoomTypeInput {
            total_rooms: 1,
            ..input
        }),
    };
    let status = app
        .api
        .create_room_type(authed(request, HOST))
        .await
        .expect_err("bad room");
    assert_eq!(violated_fields(&status), ["room_type.max_occupancy"]);
    app.stop().await;
}
