//! Health, readiness, OpenAPI and router construction.

use axum::http::StatusCode;
use staymesh_gateway::{Backends, Error, GatewayOptions};
use tonic::transport::Endpoint;

use crate::helpers::{SERVICE, TestApp};

#[tokio::test]
async fn healthz_is_ok() {
    let app = TestApp::with_backend_down().await;
    let answer = app.get("/healthz").await;
    assert_eq!(answer.status, StatusCode::OK);
    assert_eq!(answer.json, serde_json::json!({ "status": "ok" }));
}

#[tokio::test]
async fn readyz_follows_backend_health() {
    let app = TestApp::spawn().await;
    let answer = app.get("/readyz").await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.json);
    assert_eq!(answer.json["backends"][SERVICE], "SERVING");

    let down = TestApp::with_backend_down().await;
    let answer = down.get("/readyz").await;
    assert_eq!(
        answer.status,
        StatusCode::SERVICE_UNAVAILABLE,
        "{}",
        answer.json
    );
    assert_eq!(answer.json["not_ready"], serde_json::json!([SERVICE]));
}

#[tokio::test]
async fn openapi_documents_the_annotated_routes() {
    let app = TestApp::spawn().await;
    let answer = app.get("/openapi.json").await;
    assert_eq!(answer.status, StatusCode::OK);
    assert_eq!(answer.headers["content-type"], "application/json");
    let doc = &answer.json;
    assert_eq!(doc["openapi"], "3.1.0");

    let get = &doc["paths"]["/v1/properties/{property_id}"]["get"];
    assert_eq!(get["operationId"], "AccommodationService_GetProperty");
    assert_eq!(get["summary"], "A property with its room types.");
    assert_eq!(get["parameters"][0]["name"], "property_id");
    assert_eq!(get["parameters"][0]["in"], "path");
    assert_eq!(
        get["responses"]["200"]["content"]["application/json"]["schema"]["$ref"],
        "#/components/schemas/staymesh.accommodation.v1.GetPropertyResponse"
    );

    let search = &doc["paths"]["/v1/search"]["get"]["parameters"];
    let check_in = search
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"] == "check_in")
        .expect("check_in parameter");
    assert_eq!(check_in["schema"]["format"], "date");

    assert!(doc["paths"]["/v1/time-sales/{time_sale_id}:end"]["post"].is_object());
    let property = &doc["components"]["schemas"]["staymesh.accommodation.v1.Property"];
    assert_eq!(property["properties"]["createdAt"]["format"], "date-time");
    assert_eq!(
        property["properties"]["region"]["description"],
        "Region, e.g. \"서울\" or \"제주\"."
    );
    // Internal services without a backend are neither routed nor documented.
    assert!(!doc.to_string().contains("HoldNights"));
}

#[tokio::test]
async fn unknown_backend_service_is_rejected() {
    let channel = Endpoint::from_static("http://127.0.0.1:1").connect_lazy();
    let backends = Backends::new().with("staymesh.nope.v1.NopeService", channel);
    let error = staymesh_gateway::router(backends, GatewayOptions::default()).unwrap_err();
    assert!(matches!(error, Error::UnknownService(name) if name == "staymesh.nope.v1.NopeService"));
}
