//! Server-streaming RPCs as Server-Sent Events (`text/event-stream`): each
//! message of the stream is one `message` event whose data is the message as
//! JSON (the same shape a unary call answers with); a status the stream ends
//! with is an `error` event with the usual error body; a clean end is an
//! `end` event, so a client knows not to reconnect. Comments keep idle
//! connections alive through proxies. A refusal before the first message
//! (bad input, not found) is a normal HTTP error, not a stream.

use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use axum::http::uri::PathAndQuery;
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use futures::StreamExt;
use prost_reflect::DynamicMessage;

use crate::Gateway;
use crate::codec::DynamicCodec;
use crate::error::ApiError;
use crate::routes::Route;
use crate::transcode::response_json;

/// How often an idle stream sends a keep-alive comment.
const KEEP_ALIVE: Duration = Duration::from_secs(15);

/// Opens the stream within the gateway's deadline, then relays it for as
/// long as the backend and the client keep it open.
pub(crate) async fn stream(
    gateway: &Arc<Gateway>,
    route: &Route,
    request: tonic::Request<DynamicMessage>,
) -> Result<Response, ApiError> {
    let rpc = &route.binding.rpc;
    let path = format!("/{}/{}", rpc.parent_service().full_name(), rpc.name());
    let path = PathAndQuery::try_from(path).map_err(ApiError::internal)?;
    let mut client = tonic::client::Grpc::new(route.channel.clone());
    let open = async {
        client
            .ready()
            .await
            .map_err(|e| tonic::Status::unavailable(format!("backend not ready: {e}")))?;
        client
            .server_streaming(request, path, DynamicCodec::new(rpc.output()))
            .await
    };
    let mut messages = tokio::time::timeout(gateway.options.deadline, open)
        .await
        .map_err(|_| tonic::Status::deadline_exceeded("gateway deadline exceeded"))
        .flatten()?
        .into_inner();
    // The first message decides between an HTTP error and a stream.
    let first = match messages.message().await {
        Ok(first) => first,
        Err(status) => return Err(status.into()),
    };
    let binding = route.binding.clone();
    let events = futures::stream::iter(first.map(Ok))
        .chain(messages)
        .map(move |item| {
            Ok::<_, Infallible>(match item {
                Ok(message) => match response_json(&binding, &message) {
                    Ok(json) => Event::default()
                        .event("message")
                        .data(String::from_utf8_lossy(&json)),
                    Err(error) => error_event(&error),
                },
                Err(status) => error_event(&ApiError::from(status)),
            })
        })
        .chain(futures::stream::once(async {
            Ok(Event::default().event("end").data("{}"))
        }));
    Ok(Sse::new(events)
        .keep_alive(KeepAlive::new().interval(KEEP_ALIVE))
        .into_response())
}

fn error_event(error: &ApiError) -> Event {
    Event::default()
        .event("error")
        .data(error.body().to_string())
}
