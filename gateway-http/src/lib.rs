//! The HTTP edge of staymesh: REST/JSON for browsers, transcoded to unary gRPC
//! calls on the backend services.
//!
//! No handler is written per endpoint. The routes come from the `google.api.http`
//! annotations in the protos: [`router`] reads them from the protos' descriptor set
//! with prost-reflect, builds each request
//! as a `DynamicMessage` from path variables, query parameters and the JSON body,
//! calls the backend with a codec for dynamic messages, and answers the response in
//! proto3 JSON. The JSON is canonical proto3: lowerCamelCase names on output (proto
//! names accepted on input), default values always emitted, enums by name, 64-bit
//! integers as strings. Query strings also take `YYYY-MM-DD` for date messages.
//! Errors are `{"error":{"code","message","details":[{"field","description"}]}}`
//! with Google's gRPC-to-HTTP status mapping (FAILED_PRECONDITION is 400).
//!
//! Besides the API: `/healthz` (liveness), `/readyz` (every backend's
//! `grpc.health.v1` says SERVING), `/openapi.json`, generated from the same
//! descriptors, and the web page for guests and hosts at `/` ([`web`]).

mod bindings;
mod codec;
mod error;
mod events;
mod fields;
mod forward;
mod health;
pub mod media;
mod openapi;
mod routes;
mod rules;
mod template;
mod transcode;
mod web;

// The unit tests link the dev-dependencies the integration tests use.
#[cfg(test)]
use {http_body_util as _, hyper_util as _, prost_types as _, tokio_stream as _};

use std::collections::BTreeMap;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::http::header;
use axum::routing::get;
use prost_reflect::DescriptorPool;
use tonic::transport::Channel;

pub use error::{ApiError, Error};

use routes::{Route, Routes};

/// The backend of each routed gRPC service, by fully-qualified service name
/// (e.g. `staymesh.accommodation.v1.AccommodationService`). Services without a
/// backend are not routed.
#[derive(Debug, Clone, Default)]
pub struct Backends(BTreeMap<String, Channel>);

impl Backends {
    /// No backends.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds (or replaces) the backend of `service`; a lazily connecting channel
    /// (`Endpoint::connect_lazy`) lets the gateway start before its backends.
    pub fn with(mut self, service: impl Into<String>, channel: Channel) -> Self {
        self.insert(service, channel);
        self
    }

    /// Adds (or replaces) the backend of `service`.
    pub fn insert(&mut self, service: impl Into<String>, channel: Channel) {
        self.0.insert(service.into(), channel);
    }

    /// The configured services and their channels, by name.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &Channel)> {
        self.0
            .iter()
            .map(|(service, channel)| (service.as_str(), channel))
    }

    /// How many services have a backend.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether no service has a backend.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

/// Tunables of the gateway; `GatewayOptions::default()` suits production.
#[derive(Debug, Clone)]
pub struct GatewayOptions {
    deadline: Duration,
    readiness_timeout: Duration,
    max_body_bytes: usize,
    /// The local store of review images, when the edge serves it.
    media: Option<media::MediaStore>,
}

impl Default for GatewayOptions {
    fn default() -> Self {
        Self {
            deadline: Duration::from_secs(10),
            readiness_timeout: Duration::from_secs(2),
            max_body_bytes: 1024 * 1024,
            media: None,
        }
    }
}

impl GatewayOptions {
    /// The deadline of each backend call (default 10 s); past it the client gets 504.
    pub fn with_deadline(mut self, deadline: Duration) -> Self {
        self.deadline = deadline;
        self
    }

    /// How long `/readyz` waits for each backend's health check (default 2 s).
    pub fn with_readiness_timeout(mut self, timeout: Duration) -> Self {
        self.readiness_timeout = timeout;
        self
    }

    /// Serves the local store of review images at `/media/` (uploads under
    /// the review service's signed grants, and the stored images).
    pub fn with_media(mut self, store: media::MediaStore) -> Self {
        self.media = Some(store);
        self
    }

    /// The largest request body accepted (default 1 MiB); larger ones get 413.
    pub fn with_max_body_bytes(mut self, bytes: usize) -> Self {
        self.max_body_bytes = bytes;
        self
    }
}

/// The descriptors of every proto, with their `google.api.http` options.
const DESCRIPTORS: &[u8] = staymesh_proto::FILE_DESCRIPTOR_SET;

/// What every handler shares.
#[derive(Debug)]
struct Gateway {
    routes: Routes,
    backends: Backends,
    options: GatewayOptions,
    openapi: Bytes,
}

/// Builds the HTTP router for the services in `backends`.
///
/// Fails if the descriptor set does not decode, a backend names a service it does
/// not contain, or an annotated method's rule cannot be served (a bad template, a
/// field that does not exist).
pub fn router(backends: Backends, options: GatewayOptions) -> Result<Router, Error> {
    let pool = DescriptorPool::decode(DESCRIPTORS)?;
    if let Some((unknown, _)) = backends
        .iter()
        .find(|(service, _)| pool.get_service_by_name(service).is_none())
    {
        return Err(Error::UnknownService(unknown.to_owned()));
    }
    let bindings = bindings::read(&pool, |service| backends.0.contains_key(service))?;
    let openapi = serde_json::to_vec_pretty(&openapi::document(&pool, &bindings)).map_err(|e| {
        Error::HttpRule {
            method: "*".to_owned(),
            reason: format!("OpenAPI document does not serialize: {e}"),
        }
    })?;
    let routes = bindings
        .into_iter()
        .filter_map(|binding| {
            let channel = backends
                .0
                .get(binding.rpc.parent_service().full_name())?
                .clone();
            Some(Route { binding, channel })
        })
        .collect();
    let media = options.media.clone();
    let gateway = Arc::new(Gateway {
        routes: Routes::new(routes),
        backends,
        options,
        openapi: Bytes::from(openapi),
    });
    let api = Router::new()
        .route("/healthz", get(health::live))
        .route("/readyz", get(health::ready))
        .route("/openapi.json", get(openapi_json))
        .fallback(forward::handle)
        .with_state(gateway);
    let api = web::routes().merge(api);
    Ok(match media {
        Some(store) => media::routes(store).merge(api),
        None => api,
    })
}

async fn openapi_json(
    axum::extract::State(gateway): axum::extract::State<Arc<Gateway>>,
) -> impl axum::response::IntoResponse {
    (
        [(header::CONTENT_TYPE, "application/json")],
        gateway.openapi.clone(),
    )
}

/// Serves `router` on `listener` until `shutdown` completes, then stops accepting
/// and waits for in-flight requests to finish.
pub async fn serve(
    listener: tokio::net::TcpListener,
    router: Router,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    tracing::info!(addr = ?listener.local_addr().ok(), "HTTP gateway listening");
    // The peer address reaches backends as `x-forwarded-for`.
    let service = router.into_make_service_with_connect_info::<std::net::SocketAddr>();
    // Without TCP_NODELAY, Nagle and delayed ACKs stall small responses ~40 ms.
    let listener = axum::serve::ListenerExt::tap_io(listener, |tcp| {
        if let Err(error) = tcp.set_nodelay(true) {
            tracing::warn!(%error, "cannot set TCP_NODELAY");
        }
    });
    axum::serve(listener, service)
        .with_graceful_shutdown(shutdown)
        .await
}
