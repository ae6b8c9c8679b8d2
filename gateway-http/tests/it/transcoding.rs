//! Requests mapped into messages, responses mapped into JSON.

use axum::http::{Method, StatusCode};

use crate::backend::{KNOWN_ID, ROOM_TYPE_ID, TIME_SALE_ID};
use crate::helpers::TestApp;

#[tokio::test]
async fn get_property_answers_proto3_json_with_defaults() {
    let app = TestApp::spawn().await;
    let answer = app.get(&format!("/v1/properties/{KNOWN_ID}")).await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.json);
    assert_eq!(answer.headers["content-type"], "application/json");
    let property = &answer.json["property"];
    assert_eq!(property["propertyId"], KNOWN_ID);
    assert_eq!(property["name"], "제주 바다 펜션");
    assert_eq!(
        property["amenities"],
        serde_json::json!(["wifi", "parking"])
    );
    assert_eq!(property["rating"], 4.5);
    // Default values are present, so clients need no fallback for missing fields.
    assert_eq!(property["reviewCount"], 0);
    assert_eq!(property["address"], "");
    assert_eq!(property["createdAt"], "2026-09-21T14:13:20Z");
    let room = &property["roomTypes"][0];
    assert_eq!(room["roomTypeId"], "rt-1");
    // int64 is a string in proto3 JSON.
    assert_eq!(room["extraGuestFee"]["amount"], "20000");
}

#[tokio::test]
async fn search_maps_query_parameters() {
    let app = TestApp::spawn().await;
    // keyword=제주 percent-encoded; sort by enum name; dates as YYYY-MM-DD.
    let answer = app
        .get(
            "/v1/search?check_in=2026-12-24&check_out=2026-12-26&guests=2\
             &keyword=%EC%A0%9C%EC%A3%BC&region=%EC%A0%9C%EC%A3%BC\
             &sort=SEARCH_SORT_PRICE_ASC&min_price=50000&pageToken=next",
        )
        .await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.json);
    let result = &answer.json["results"][0];
    assert_eq!(result["name"], "제주");
    assert_eq!(result["region"], "제주");
    assert_eq!(result["address"], "2026-12-24..2026-12-26");
    assert_eq!(result["thumbnailUrl"], "SEARCH_SORT_PRICE_ASC");
    assert_eq!(result["reviewCount"], 2);
    assert_eq!(result["lowestTotalPrice"]["amount"], "50000");
    // JSON names are accepted as well as proto names.
    assert_eq!(answer.json["nextPageToken"], "next");
}

#[tokio::test]
async fn search_takes_enum_numbers_and_plus_as_space() {
    let app = TestApp::spawn().await;
    let answer = app
        .get("/v1/search?check_in=2026-12-24&check_out=2026-12-26&guests=1&sort=4&keyword=ocean+view")
        .await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.json);
    assert_eq!(
        answer.json["results"][0]["thumbnailUrl"],
        "SEARCH_SORT_RATING"
    );
    assert_eq!(answer.json["results"][0]["name"], "ocean view");
}

#[tokio::test]
async fn dotted_query_parameters_fill_nested_messages() {
    let app = TestApp::spawn().await;
    let answer = app
        .get(&format!("/v1/room-types/{ROOM_TYPE_ID}/calendar?range.start=2026-12-24&range.end.year=2027&range.end.month=1&range.end.day=2"))
        .await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.json);
    let nights = &answer.json["nights"];
    assert_eq!(
        nights[0]["date"],
        serde_json::json!({"year": 2026, "month": 12, "day": 24})
    );
    assert_eq!(
        nights[1]["date"],
        serde_json::json!({"year": 2027, "month": 1, "day": 2})
    );
}

#[tokio::test]
async fn post_body_maps_into_request_and_forwards_headers() {
    let app = TestApp::spawn().await;
    let body = r#"{"property":{"name":"한옥 스테이","region":"서울","amenities":["wifi"]}}"#;
    let headers = [
        ("authorization", "Bearer test-token"),
        (
            "traceparent",
            "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",
        ),
        ("x-request-id", "req-42"),
    ];
    let answer = app
        .send(Method::POST, "/v1/properties", &headers, Some(body))
        .await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.json);
    let property = &answer.json["property"];
    assert_eq!(property["propertyId"], "p-new");
    assert_eq!(property["name"], "한옥 스테이");
    assert_eq!(property["region"], "서울");
    assert_eq!(property["amenities"], serde_json::json!(["wifi"]));
    assert_eq!(
        property["description"],
        "auth=Bearer test-token;trace=00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01;rid=req-42"
    );
}

#[tokio::test]
async fn path_variable_wins_over_body() {
    let app = TestApp::spawn().await;
    let body = r#"{"property_id":"from-body","property":{"name":"renamed"}}"#;
    let answer = app
        .send(
            Method::PATCH,
            "/v1/properties/0190c0de%2D0000-7000-8000-00000000a009",
            &[],
            Some(body),
        )
        .await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.json);
    assert_eq!(
        answer.json["property"]["propertyId"],
        "0190c0de-0000-7000-8000-00000000a009"
    );
    assert_eq!(answer.json["property"]["name"], "renamed");
}

#[tokio::test]
async fn custom_verb_and_timestamps() {
    let app = TestApp::spawn().await;
    let answer = app
        .send(
            Method::POST,
            &format!("/v1/time-sales/{TIME_SALE_ID}:end"),
            &[],
            None,
        )
        .await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.json);
    assert_eq!(answer.json["timeSale"]["timeSaleId"], TIME_SALE_ID);

    let body = r#"{"discountPercent":30,"startsAt":"2026-12-01T09:00:00+09:00","endsAt":"2026-12-02T00:00:00Z"}"#;
    let answer = app
        .send(
            Method::POST,
            &format!("/v1/properties/{KNOWN_ID}/time-sales"),
            &[],
            Some(body),
        )
        .await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.json);
    let sale = &answer.json["timeSale"];
    assert_eq!(sale["propertyId"], KNOWN_ID);
    assert_eq!(sale["discountPercent"], 30);
    assert_eq!(sale["startsAt"], "2026-12-01T00:00:00Z");
}
