//! `/healthz` (the process is alive) and `/readyz` (every backend is SERVING).

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use serde_json::json;
use tonic::Code;
use tonic::transport::Channel;
use tonic_health::pb::{HealthCheckRequest, health_client::HealthClient};

use crate::Gateway;

/// Liveness: answers as long as the process serves HTTP; never checks backends,
/// so a backend outage does not get the gateway restarted.
pub(crate) async fn live() -> impl IntoResponse {
    Json(json!({ "status": "ok" }))
}

/// Readiness: 200 when every configured backend's health service says SERVING,
/// else 503 with the state of each.
pub(crate) async fn ready(State(gateway): State<Arc<Gateway>>) -> impl IntoResponse {
    let mut checks = tokio::task::JoinSet::new();
    for (service, channel) in gateway.backends.iter() {
        let (service, channel) = (service.to_owned(), channel.clone());
        let timeout = gateway.options.readiness_timeout;
        checks.spawn(async move {
            let state = tokio::time::timeout(timeout, check(channel, &service))
                .await
                .unwrap_or_else(|_| "TIMEOUT".to_owned());
            (service, state)
        });
    }
    let mut backends = BTreeMap::new();
    while let Some(joined) = checks.join_next().await {
        match joined {
            Ok((service, state)) => {
                backends.insert(service, state);
            }
            Err(e) => tracing::error!(error = %e, "readiness check panicked"),
        }
    }
    let not_ready: Vec<&String> = backends
        .iter()
        .filter(|(_, state)| *state != "SERVING")
        .map(|(service, _)| service)
        .collect();
    // A panicked check leaves a backend out of `backends`: count it as not ready.
    let all_checked = backends.len() == gateway.backends.len();
    if not_ready.is_empty() && all_checked {
        (
            StatusCode::OK,
            Json(json!({ "status": "ok", "backends": backends })),
        )
    } else {
        tracing::warn!(?not_ready, "not ready");
        let body = json!({ "status": "unavailable", "not_ready": not_ready, "backends": backends });
        (StatusCode::SERVICE_UNAVAILABLE, Json(body))
    }
}

/// The serving state of `service`: asks for the service by name, and for the
/// server as a whole ("") when the backend does not report that name.
async fn check(channel: Channel, service: &str) -> String {
    let mut client = HealthClient::new(channel);
    let mut answer = client
        .check(HealthCheckRequest {
            service: service.to_owned(),
        })
        .await;
    if matches!(&answer, Err(s) if s.code() == Code::NotFound) {
        answer = client
            .check(HealthCheckRequest {
                service: String::new(),
            })
            .await;
    }
    match answer {
        Ok(response) => response.get_ref().status().as_str_name().to_owned(),
        Err(status) if status.code() == Code::Unavailable => "UNREACHABLE".to_owned(),
        Err(status) => {
            tracing::debug!(%service, ?status, "health check failed");
            format!("ERROR_{:?}", status.code()).to_uppercase()
        }
    }
}
