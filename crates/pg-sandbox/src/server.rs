//! The HTTP routes and what guards them: the API secret on `/payments` and
//! `/sandbox`, the fault switches on `/payments` only; the checkout page and
//! `/healthz` are open.

use axum::Router;
use axum::extract::{FromRef, Request, State};
use axum::http::header::AUTHORIZATION;
use axum::middleware::{Next, from_fn_with_state};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};

use crate::config::Settings;
use crate::error::ApiError;
use crate::faults::{self, Faults};
use crate::store::Store;
use crate::{api, checkout, webhooks};

/// What every handler may use.
#[derive(Debug, Clone)]
pub(crate) struct AppState {
    pub(crate) store: Store,
    pub(crate) settings: Settings,
    pub(crate) faults: Faults,
}

impl FromRef<AppState> for Faults {
    fn from_ref(state: &AppState) -> Self {
        state.faults.clone()
    }
}

/// Every route of the sandbox.
pub(crate) fn router(state: AppState) -> Router {
    let payments = Router::new()
        .route("/payments", post(api::register).get(api::by_order))
        .route("/payments/{payment_key}", get(api::by_key))
        .route("/payments/{payment_key}/cancel", post(api::cancel))
        .route(
            "/payments/{payment_key}/cancellations",
            get(api::cancellations),
        )
        .layer(from_fn_with_state(state.faults.clone(), faults::apply));
    let sandbox = Router::new()
        .route(
            "/sandbox/faults",
            get(faults::show).put(faults::set).delete(faults::clear),
        )
        .route("/sandbox/webhooks", get(webhooks::list));
    // Outermost: a caller without the secret neither sees nor spends a fault.
    let authorized = payments.merge(sandbox).layer(from_fn_with_state(
        state.settings.api_secret.clone(),
        authorize,
    ));
    Router::new()
        .merge(authorized)
        .route(
            "/checkout/{payment_key}",
            get(checkout::page).post(checkout::submit),
        )
        .route("/healthz", get(|| async { "ok" }))
        .fallback(no_route)
        .method_not_allowed_fallback(wrong_method)
        .with_state(state)
}

/// Lets a request through with `Authorization: PortOne <secret>`.
async fn authorize(State(secret): State<String>, request: Request, next: Next) -> Response {
    let presented = request
        .headers()
        .get(AUTHORIZATION)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.strip_prefix("PortOne "));
    match presented {
        Some(presented) if same(presented.trim().as_bytes(), secret.as_bytes()) => {
            next.run(request).await
        }
        _ => ApiError::unauthorized().into_response(),
    }
}

/// Compares in time independent of where the inputs differ.
fn same(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0, |acc, (x, y)| acc | (x ^ y)) == 0
}

async fn no_route(request: Request) -> ApiError {
    ApiError::new(
        axum::http::StatusCode::NOT_FOUND,
        "NOT_FOUND",
        format!("no route {} {}", request.method(), request.uri().path()),
    )
}

async fn wrong_method(request: Request) -> ApiError {
    ApiError::new(
        axum::http::StatusCode::METHOD_NOT_ALLOWED,
        "METHOD_NOT_ALLOWED",
        format!(
            "{} is not allowed on {}",
            request.method(),
            request.uri().path()
        ),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_compare_whole() {
        assert!(same(b"sandbox-secret", b"sandbox-secret"));
        assert!(!same(b"sandbox-secre", b"sandbox-secret"));
        assert!(!same(b"sandbox-secreT", b"sandbox-secret"));
        assert!(!same(b"", b"x"));
    }
}
