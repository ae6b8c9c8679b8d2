//! The one handler behind every annotated RPC: match, transcode, call, answer.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Instant;

use axum::extract::{ConnectInfo, Query, Request, State};
use axum::http::{HeaderMap, header, uri::PathAndQuery};
use axum::response::{IntoResponse, Response};
use tonic::metadata::{AsciiMetadataValue, MetadataMap};
use tracing::Instrument;

use crate::Gateway;
use crate::codec::DynamicCodec;
use crate::error::ApiError;
use crate::transcode::{request_message, response_json};

/// Headers passed to the backend as gRPC metadata: credentials, W3C trace
/// context and the request id, so auth and tracing work across the hop, and
/// the Standard Webhooks signature headers, so a webhook's receiver can
/// check who sent it.
const FORWARDED_HEADERS: [&str; 7] = [
    "authorization",
    "traceparent",
    "tracestate",
    "x-request-id",
    "webhook-id",
    "webhook-timestamp",
    "webhook-signature",
];

/// Handles every request no fixed route took.
pub(crate) async fn handle(
    State(gateway): State<Arc<Gateway>>,
    request: Request,
) -> Result<Response, ApiError> {
    let (parts, body) = request.into_parts();
    let (route, path_values) = gateway.routes.find(&parts.method, parts.uri.path())?;
    let rpc = &route.binding.rpc;
    let span = tracing::info_span!(
        "transcode",
        rpc = rpc.full_name(),
        http.method = %parts.method,
        http.path = parts.uri.path(),
    );
    async {
        let started = Instant::now();
        let Query(query) = Query::<Vec<(String, String)>>::try_from_uri(&parts.uri)
            .map_err(|e| ApiError::bad_field("query", e.body_text()))?;
        let limit = gateway.options.max_body_bytes;
        let body = axum::body::to_bytes(body, limit)
            .await
            .map_err(|_| ApiError::payload_too_large(limit))?;
        let message = request_message(&route.binding, &path_values, query, &body)?;

        let mut request = tonic::Request::new(message);
        copy_headers(&parts.headers, request.metadata_mut());
        let peer = parts.extensions.get::<ConnectInfo<SocketAddr>>().map(|c| c.0.ip());
        forwarded_for(&parts.headers, peer, request.metadata_mut());
        if rpc.is_server_streaming() {
            return crate::events::stream(&gateway, route, request).await;
        }
        // Tells the backend the deadline (grpc-timeout); the local timeout below
        // also covers a backend that ignores it or never answers.
        request.set_timeout(gateway.options.deadline);

        let path = format!("/{}/{}", rpc.parent_service().full_name(), rpc.name());
        let path = PathAndQuery::try_from(path).map_err(ApiError::internal)?;
        let mut client = tonic::client::Grpc::new(route.channel.clone());
        let call = async {
            client
                .ready()
                .await
                .map_err(|e| tonic::Status::unavailable(format!("backend not ready: {e}")))?;
            client
                .unary(request, path, DynamicCodec::new(rpc.output()))
                .await
        };
        let deadline = gateway.options.deadline;
        let response = tokio::time::timeout(deadline, call)
            .await
            .map_err(|_| tonic::Status::deadline_exceeded("gateway deadline exceeded"))
            .flatten()
            .map_err(|status| deadline_or(status, started.elapsed() >= deadline))
            .inspect_err(|status| {
                tracing::info!(grpc.code = ?status.code(), elapsed = ?started.elapsed(), "backend error");
            })?;
        let json = response_json(&route.binding, response.get_ref())?;
        tracing::debug!(elapsed = ?started.elapsed(), "ok");
        Ok(([(header::CONTENT_TYPE, "application/json")], json).into_response())
    }
    .instrument(span)
    .await
}

/// A backend that honours `grpc-timeout` gives up when our deadline passes, and
/// tonic servers report that as CANCELLED ("Timeout expired") rather than
/// DEADLINE_EXCEEDED; whichever side noticed first, the client sees a 504.
fn deadline_or(status: tonic::Status, deadline_passed: bool) -> tonic::Status {
    if deadline_passed && status.code() == tonic::Code::Cancelled {
        tonic::Status::deadline_exceeded("gateway deadline exceeded")
    } else {
        status
    }
}

/// Appends the TCP peer to `x-forwarded-for`, so backends that limit or log
/// by client address see the client rather than the edge.
fn forwarded_for(headers: &HeaderMap, peer: Option<IpAddr>, metadata: &mut MetadataMap) {
    let Some(peer) = peer else { return };
    let value = match headers
        .get("x-forwarded-for")
        .and_then(|v| v.to_str().ok())
        .filter(|v| !v.trim().is_empty())
    {
        Some(earlier) => format!("{earlier}, {peer}"),
        None => peer.to_string(),
    };
    if let Ok(value) = AsciiMetadataValue::try_from(value) {
        metadata.insert("x-forwarded-for", value);
    }
}

fn copy_headers(headers: &HeaderMap, metadata: &mut MetadataMap) {
    for name in FORWARDED_HEADERS {
        // Values that are not valid ASCII metadata cannot be forwarded as-is;
        // dropping them lets the backend answer UNAUTHENTICATED rather than 500.
        if let Some(value) = headers
            .get(name)
            .and_then(|v| AsciiMetadataValue::try_from(v.as_bytes()).ok())
        {
            metadata.insert(name, value);
        }
    }
}
