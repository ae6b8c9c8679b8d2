//! Bad input, backend errors and outages, all as JSON with the right status.

use std::time::Duration;

use axum::http::{Method, StatusCode};
use staymesh_gateway::GatewayOptions;

use crate::backend::{KNOWN_ID, SLOW_ID, UNKNOWN_ID};
use crate::helpers::{TestApp, violated_field};

#[tokio::test]
async fn unknown_property_is_404_json() {
    let app = TestApp::spawn().await;
    let answer = app.get(&format!("/v1/properties/{UNKNOWN_ID}")).await;
    assert_eq!(answer.status, StatusCode::NOT_FOUND);
    assert_eq!(answer.json["error"]["code"], "NOT_FOUND");
    assert_eq!(
        answer.json["error"]["message"],
        format!("property {UNKNOWN_ID} not found")
    );
}

#[tokio::test]
async fn backend_field_violation_becomes_400_details() {
    let app = TestApp::spawn().await;
    let answer = app
        .get("/v1/search?check_in=2026-12-24&check_out=2026-12-26&guests=0")
        .await;
    assert_eq!(answer.status, StatusCode::BAD_REQUEST, "{}", answer.json);
    assert_eq!(answer.json["error"]["code"], "INVALID_ARGUMENT");
    assert_eq!(violated_field(&answer), "guests");
    assert_eq!(
        answer.json["error"]["details"][0]["description"],
        "must be at least 1"
    );
}

#[tokio::test]
async fn malformed_query_values_are_400_naming_the_field() {
    let app = TestApp::spawn().await;
    for (query, field) in [
        ("check_in=2026-13-40&guests=2", "check_in"),
        ("check_out=tomorrow&guests=2", "check_out"),
        ("guests=two", "guests"),
        ("guests=99999999999", "guests"),
        ("sort=CHEAPEST&guests=2", "sort"),
        ("colour=red&guests=2", "colour"),
        ("guests=1&guests=2", "guests"),
    ] {
        let answer = app.get(&format!("/v1/search?{query}")).await;
        assert_eq!(
            answer.status,
            StatusCode::BAD_REQUEST,
            "{query}: {}",
            answer.json
        );
        assert_eq!(answer.json["error"]["code"], "INVALID_ARGUMENT");
        assert_eq!(violated_field(&answer), field, "{query}");
    }
}

#[tokio::test]
async fn malformed_bodies_are_400() {
    let app = TestApp::spawn().await;
    let post = |body: &'static str| app.send(Method::POST, "/v1/properties", &[], Some(body));

    let answer = post(r#"{"property":{"name":"x""#).await;
    assert_eq!(answer.status, StatusCode::BAD_REQUEST, "{}", answer.json);

    // Whitespace alone is not a JSON document (no bytes at all is no body).
    let answer = post("\n").await;
    assert_eq!(answer.status, StatusCode::BAD_REQUEST, "{}", answer.json);
    assert_eq!(violated_field(&answer), "body");

    let answer = post(r#"{"property":{"name":"x","stars":5}}"#).await;
    assert_eq!(answer.status, StatusCode::BAD_REQUEST, "{}", answer.json);
    assert_eq!(violated_field(&answer), "property.stars");

    let answer = post(r#"{"property":{"name":"x","amenities":"wifi"}}"#).await;
    assert_eq!(answer.status, StatusCode::BAD_REQUEST, "{}", answer.json);
    assert_eq!(violated_field(&answer), "property.amenities");

    let answer = app
        .send(
            Method::POST,
            &format!("/v1/properties/{KNOWN_ID}/time-sales"),
            &[],
            Some(r#"{"startsAt":"soon"}"#),
        )
        .await;
    assert_eq!(answer.status, StatusCode::BAD_REQUEST, "{}", answer.json);
    assert_eq!(violated_field(&answer), "startsAt");
}

#[tokio::test]
async fn unknown_path_is_404_json_and_wrong_method_405() {
    let app = TestApp::spawn().await;
    let answer = app.get("/v1/nothing/here").await;
    assert_eq!(answer.status, StatusCode::NOT_FOUND);
    assert_eq!(answer.json["error"]["code"], "NOT_FOUND");

    let answer = app
        .send(
            Method::DELETE,
            &format!("/v1/properties/{KNOWN_ID}"),
            &[],
            None,
        )
        .await;
    assert_eq!(answer.status, StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(answer.headers["allow"], "PATCH, GET");
}

#[tokio::test]
async fn internal_errors_do_not_leak() {
    let app = TestApp::spawn().await;
    let answer = app
        .get(&format!("/v1/properties/{KNOWN_ID}/lowest-price"))
        .await;
    assert_eq!(answer.status, StatusCode::INTERNAL_SERVER_ERROR);
    assert_eq!(answer.json["error"]["code"], "INTERNAL");
    assert!(
        !answer.json.to_string().contains("secret"),
        "{}",
        answer.json
    );
}

#[tokio::test]
async fn slow_backend_is_504() {
    let options = GatewayOptions::default().with_deadline(Duration::from_millis(300));
    let app = TestApp::spawn_with(options).await;
    let answer = app
        .get(&format!("/v1/properties/{SLOW_ID}/lowest-price"))
        .await;
    assert_eq!(
        answer.status,
        StatusCode::GATEWAY_TIMEOUT,
        "{}",
        answer.json
    );
    assert_eq!(answer.json["error"]["code"], "DEADLINE_EXCEEDED");
}

#[tokio::test]
async fn backend_down_is_503_json() {
    let app = TestApp::with_backend_down().await;
    let answer = app.get(&format!("/v1/properties/{KNOWN_ID}")).await;
    assert_eq!(
        answer.status,
        StatusCode::SERVICE_UNAVAILABLE,
        "{}",
        answer.json
    );
    assert_eq!(answer.json["error"]["code"], "UNAVAILABLE");
}
