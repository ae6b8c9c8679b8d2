//! The crate's setup error and the one error type every HTTP response goes through.

use axum::Json;
use axum::http::{HeaderName, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::json;
use tonic::Code;
use tonic_types::StatusExt;

/// Why the gateway could not be built.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The embedded descriptor set does not decode.
    #[error("invalid descriptor set: {0}")]
    Descriptors(#[from] prost_reflect::DescriptorError),
    /// A backend was configured for a service the descriptor set does not have.
    #[error("a backend is configured for unknown gRPC service `{0}`")]
    UnknownService(String),
    /// A method's `google.api.http` rule cannot be served.
    #[error("`{method}`: bad google.api.http rule: {reason}")]
    HttpRule {
        /// The fully-qualified method name.
        method: String,
        /// What is wrong with the rule.
        reason: String,
    },
}

/// One bad field of a request, as in `google.rpc.BadRequest.FieldViolation`.
#[derive(Debug, Clone)]
struct FieldViolation {
    field: String,
    description: String,
}

/// An error answered to an HTTP client as
/// `{"error":{"code":"NOT_FOUND","message":"...","details":[{"field":..,"description":..}]}}`.
///
/// `code` is the canonical gRPC code name. For 5xx answers the backend's message is
/// logged and replaced by a generic one, so internal detail never leaks.
#[derive(Debug)]
pub struct ApiError {
    status: StatusCode,
    code: Code,
    message: String,
    details: Vec<FieldViolation>,
    /// Extra response headers: `Allow` on 405, `Retry-After` on 429,
    /// `WWW-Authenticate` on 401.
    headers: Vec<(HeaderName, HeaderValue)>,
}

impl ApiError {
    /// Bad input the gateway itself found while mapping the request: always 400.
    pub(crate) fn bad_field(field: impl Into<String>, description: impl Into<String>) -> Self {
        let (field, description) = (field.into(), description.into());
        Self {
            status: StatusCode::BAD_REQUEST,
            code: Code::InvalidArgument,
            message: format!("invalid request field `{field}`: {description}"),
            details: vec![FieldViolation { field, description }],
            headers: Vec::new(),
        }
    }

    pub(crate) fn payload_too_large(limit: usize) -> Self {
        Self::plain(
            StatusCode::PAYLOAD_TOO_LARGE,
            Code::InvalidArgument,
            format!("request body larger than {limit} bytes"),
        )
    }

    pub(crate) fn no_route(path: &str) -> Self {
        Self::plain(
            StatusCode::NOT_FOUND,
            Code::NotFound,
            format!("no route for {path}"),
        )
    }

    /// The path exists with other methods; `allow` lists them, comma-separated.
    pub(crate) fn method_not_allowed(allow: &str) -> Self {
        let mut error = Self::plain(
            StatusCode::METHOD_NOT_ALLOWED,
            Code::Unimplemented,
            format!("method not allowed; allowed: {allow}"),
        );
        if let Ok(value) = HeaderValue::from_str(allow) {
            error.headers.push((header::ALLOW, value));
        }
        error
    }

    /// Something wrong inside the gateway; `detail` is only logged.
    pub(crate) fn internal(detail: impl std::fmt::Display) -> Self {
        Self::plain(
            StatusCode::INTERNAL_SERVER_ERROR,
            Code::Internal,
            detail.to_string(),
        )
    }

    /// An answer of the edge's own, with no field details.
    pub(crate) fn plain(status: StatusCode, code: Code, message: String) -> Self {
        Self {
            status,
            code,
            message,
            details: Vec::new(),
            headers: Vec::new(),
        }
    }
}

/// A gRPC status from a backend (or from tonic's transport: an unreachable backend
/// is `UNAVAILABLE`), mapped per google.rpc.Code's documented HTTP equivalents.
impl From<tonic::Status> for ApiError {
    fn from(status: tonic::Status) -> Self {
        let details = status
            .get_details_bad_request()
            .map(|bad| {
                bad.field_violations
                    .into_iter()
                    .map(|v| FieldViolation {
                        field: v.field,
                        description: v.description,
                    })
                    .collect()
            })
            .unwrap_or_default();
        let mut headers = Vec::new();
        if status.code() == Code::ResourceExhausted {
            // Backends say how long to wait as `retry-after` metadata (seconds).
            if let Some(value) = status
                .metadata()
                .get("retry-after")
                .and_then(|v| HeaderValue::from_bytes(v.as_bytes()).ok())
            {
                headers.push((header::RETRY_AFTER, value));
            }
        }
        if status.code() == Code::Unauthenticated {
            headers.push((header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer")));
        }
        Self {
            status: http_status(status.code()),
            code: status.code(),
            message: status.message().to_owned(),
            details,
            headers,
        }
    }
}

/// Google's mapping. FAILED_PRECONDITION is 400, as google.rpc.Code documents it
/// (the state of the system, not a conflict of this request, is at fault); a
/// request that lost a race is ABORTED, which is 409.
fn http_status(code: Code) -> StatusCode {
    match code {
        Code::Ok => StatusCode::OK,
        Code::InvalidArgument | Code::FailedPrecondition | Code::OutOfRange => {
            StatusCode::BAD_REQUEST
        }
        Code::Unauthenticated => StatusCode::UNAUTHORIZED,
        Code::PermissionDenied => StatusCode::FORBIDDEN,
        Code::NotFound => StatusCode::NOT_FOUND,
        Code::AlreadyExists | Code::Aborted => StatusCode::CONFLICT,
        Code::ResourceExhausted => StatusCode::TOO_MANY_REQUESTS,
        // 499 "Client Closed Request" has no constant; it is always valid.
        Code::Cancelled => StatusCode::from_u16(499).unwrap_or(StatusCode::BAD_REQUEST),
        Code::Unimplemented => StatusCode::NOT_IMPLEMENTED,
        Code::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
        Code::DeadlineExceeded => StatusCode::GATEWAY_TIMEOUT,
        Code::Unknown | Code::Internal | Code::DataLoss => StatusCode::INTERNAL_SERVER_ERROR,
    }
}

/// The canonical name of a gRPC code, as clients switch on it.
fn code_name(code: Code) -> &'static str {
    match code {
        Code::Ok => "OK",
        Code::Cancelled => "CANCELLED",
        Code::Unknown => "UNKNOWN",
        Code::InvalidArgument => "INVALID_ARGUMENT",
        Code::DeadlineExceeded => "DEADLINE_EXCEEDED",
        Code::NotFound => "NOT_FOUND",
        Code::AlreadyExists => "ALREADY_EXISTS",
        Code::PermissionDenied => "PERMISSION_DENIED",
        Code::ResourceExhausted => "RESOURCE_EXHAUSTED",
        Code::FailedPrecondition => "FAILED_PRECONDITION",
        Code::Aborted => "ABORTED",
        Code::OutOfRange => "OUT_OF_RANGE",
        Code::Unimplemented => "UNIMPLEMENTED",
        Code::Internal => "INTERNAL",
        Code::Unavailable => "UNAVAILABLE",
        Code::DataLoss => "DATA_LOSS",
        Code::Unauthenticated => "UNAUTHENTICATED",
    }
}

impl ApiError {
    /// The JSON error body clients read (server errors say nothing of their
    /// cause, which is logged instead).
    pub(crate) fn body(&self) -> serde_json::Value {
        let message = if self.status.is_server_error() {
            tracing::error!(
                http.status = self.status.as_u16(),
                grpc.code = code_name(self.code),
                detail = %self.message,
                "request failed"
            );
            match self.status {
                StatusCode::SERVICE_UNAVAILABLE => "the service is unavailable; try again later",
                StatusCode::GATEWAY_TIMEOUT => "the service did not answer in time",
                StatusCode::NOT_IMPLEMENTED => "not implemented",
                _ => "internal error",
            }
            .to_owned()
        } else {
            self.message.clone()
        };
        let details: Vec<_> = self
            .details
            .iter()
            .map(|v| json!({ "field": v.field, "description": v.description }))
            .collect();
        json!({
            "error": { "code": code_name(self.code), "message": message, "details": details }
        })
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = self.body();
        let mut response = (self.status, Json(body)).into_response();
        response.headers_mut().extend(self.headers);
        response
    }
}
