//! The sandbox's errors: [`Error`] stops `run`; [`ApiError`] is one JSON
//! answer of the API, `{"type": "<CODE>", "message": "..."}`, the shape
//! PortOne's errors take.

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};

/// Why the sandbox could not start or stopped.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A setting is invalid; the message names its variable.
    #[error("configuration: {0}")]
    Config(String),
    /// Postgres (connecting, migrating) failed for good.
    #[error(transparent)]
    Platform(#[from] staymesh_platform::Error),
    /// The HTTP server failed.
    #[error("http server: {0}")]
    Io(#[from] std::io::Error),
}

/// One error answer of the API.
#[derive(Debug)]
pub(crate) struct ApiError {
    status: StatusCode,
    code: &'static str,
    message: String,
}

impl ApiError {
    pub(crate) fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        Self {
            status,
            code,
            message: message.into(),
        }
    }

    /// 400 INVALID_REQUEST; `message` names the field.
    pub(crate) fn invalid(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "INVALID_REQUEST", message)
    }

    pub(crate) fn unauthorized() -> Self {
        Self::new(
            StatusCode::UNAUTHORIZED,
            "UNAUTHORIZED",
            "send the API secret as `Authorization: PortOne <secret>`",
        )
    }

    pub(crate) fn payment_not_found(key: &str) -> Self {
        Self::new(
            StatusCode::NOT_FOUND,
            "PAYMENT_NOT_FOUND",
            format!("no payment {key}"),
        )
    }

    pub(crate) fn conflict(code: &'static str, message: impl Into<String>) -> Self {
        Self::new(StatusCode::CONFLICT, code, message)
    }

    /// 500 INTERNAL_ERROR, the cause logged and not told.
    pub(crate) fn internal(cause: &dyn std::fmt::Display) -> Self {
        tracing::error!(error = %cause, "pg sandbox internal error");
        Self::internal_fault("internal error")
    }

    /// 500 INTERNAL_ERROR on purpose (a fault switch).
    pub(crate) fn internal_fault(message: &str) -> Self {
        Self::new(StatusCode::INTERNAL_SERVER_ERROR, "INTERNAL_ERROR", message)
    }

    #[cfg(test)]
    pub(crate) fn message(&self) -> &str {
        &self.message
    }
}

impl From<sqlx::Error> for ApiError {
    fn from(error: sqlx::Error) -> Self {
        Self::internal(&error)
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = serde_json::json!({ "type": self.code, "message": self.message });
        (self.status, Json(body)).into_response()
    }
}
