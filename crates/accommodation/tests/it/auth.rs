//! Only hosts create listings; only the owner changes them; reads are public.

use staymesh_proto::accommodation as pb;

use crate::support::*;

fn input(name: &str) -> pb::PropertyInput {
    pb::PropertyInput {
        name: name.into(),
        region: "서울".into(),
        address: "서울 중구 1".into(),
        ..Default::default()
    }
}

#[tokio::test]
async fn hosts_own_their_listings() {
    let mut app = spawn().await;
    let anonymous = app
        .api
        .create_property(pb::CreatePropertyRequest {
            property: Some(input("익명")),
        })
        .await;
    assert_eq!(
        anonymous.expect_err("anonymous").code(),
        tonic::Code::Unauthenticated
    );
    let forged = app
        .api
        .create_property(authed(
            pb::CreatePropertyRequest {
                property: Some(input("위조")),
            },
            "forged",
        ))
        .await;
    assert_eq!(
        forged.expect_err("forged").code(),
        tonic::Code::Unauthenticated
    );
    let guest = app
        .api
        .create_property(authed(
            pb::CreatePropertyRequest {
                property: Some(input("게스트")),
            },
            GUEST,
        ))
        .await;
    assert_eq!(
        guest.expect_err("guest").code(),
        tonic::Code::PermissionDenied
    );

    let property = app.listing("명동 시티 호텔", "서울", "쇼핑").await;
    assert_eq!(property.host_id, HOST_ID);
    let update = pb::UpdatePropertyRequest {
        property_id: property.property_id.clone(),
        property: Some(input("남의 호텔")),
    };
    let other = app
        .api
        .update_property(authed(update.clone(), OTHER_HOST))
        .await;
    assert_eq!(
        other.expect_err("other host").code(),
        tonic::Code::PermissionDenied
    );
    let room = app.room_type(&property.property_id, 2, 2).await;
    let calendar = pb::SetCalendarRequest {
        room_type_id: room.room_type_id.clone(),
        range: Some(staymesh_proto::common::DateRange {
            start: Some(date(future(1))),
            end: Some(date(future(2))),
        }),
        price: Some(won(1)),
        rooms_for_sale: 1,
        closed: false,
    };
    let other_calendar = app
        .api
        .set_calendar(authed(calendar.clone(), OTHER_HOST))
        .await;
    assert_eq!(
        other_calendar.expect_err("other host calendar").code(),
        tonic::Code::PermissionDenied
    );
    // An admin may change any host's listing and calendar.
    app.api
        .set_calendar(authed(calendar, ADMIN))
        .await
        .expect("admin sets the calendar");
    let by_admin = pb::UpdatePropertyRequest {
        property_id: property.property_id.clone(),
        property: Some(pb::PropertyInput {
            description: "관리자 수정".into(),
            ..Default::default()
        }),
    };
    let by_admin = app
        .api
        .update_property(authed(by_admin, ADMIN))
        .await
        .expect("admin updates")
        .into_inner()
        .property
        .expect("property");
    assert_eq!(by_admin.host_id, HOST_ID, "the owner stays the host");

    let mine = app
        .api
        .update_property(authed(update, HOST))
        .await
        .expect("owner updates")
        .into_inner();
    let updated = mine.property.expect("property");
    assert_eq!(updated.name, "남의 호텔");
    assert_eq!(
        updated.description, "관리자 수정",
        "empty fields keep their value"
    );

    // Public read, no token; the room type is listed.
    let detail = app
        .api
        .get_property(pb::GetPropertyRequest {
            property_id: property.property_id.clone(),
        })
        .await
        .expect("public read");
    assert_eq!(
        detail
            .into_inner()
            .property
            .expect("property")
            .room_types
            .len(),
        1
    );
    let listed = app
        .api
        .list_host_properties(pb::ListHostPropertiesRequest {
            host_id: HOST_ID.into(),
            page_size: 10,
            page_token: String::new(),
        })
        .await
        .expect("list");
    assert_eq!(listed.into_inner().properties.len(), 1);
    app.stop().await;
}
