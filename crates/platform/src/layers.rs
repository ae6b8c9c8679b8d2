//! Tower layers every gRPC server runs: a span per RPC (joined to the
//! caller's trace through W3C `traceparent`), and Prometheus metrics per RPC
//! (request count by status code, latency histogram).

use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, RwLock};
use std::task::{Context, Poll};
use std::time::Instant;

use opentelemetry::propagation::Extractor;
use tower::{Layer, Service};
use tracing::Instrument;
use tracing_opentelemetry::OpenTelemetrySpanExt;

/// Adds a tracing span and metrics to every request of a server.
#[derive(Debug, Clone)]
pub struct RpcTelemetryLayer {
    service: &'static str,
    methods: Methods,
}

impl RpcTelemetryLayer {
    /// `service` labels the metrics, e.g. "accommodation".
    pub fn new(service: &'static str) -> Self {
        Self {
            service,
            methods: Methods::default(),
        }
    }
}

impl<S> Layer<S> for RpcTelemetryLayer {
    type Service = RpcTelemetry<S>;

    fn layer(&self, inner: S) -> Self::Service {
        RpcTelemetry {
            inner,
            service: self.service,
            methods: self.methods.clone(),
        }
    }
}

/// The service `RpcTelemetryLayer` wraps around a server.
#[derive(Debug, Clone)]
pub struct RpcTelemetry<S> {
    inner: S,
    service: &'static str,
    methods: Methods,
}

/// The metric handles of one method, looked up once: building a labelled
/// key and finding it in the registry five times per request cost the
/// fastest RPCs a tenth of their throughput.
#[derive(Debug)]
struct MethodMetrics {
    started: metrics::Counter,
    in_flight: metrics::Gauge,
    ok: metrics::Counter,
    /// Shown at 0 from the first request, so an error ratio reads 0, not "no data".
    errors: metrics::Counter,
    duration: metrics::Histogram,
}

impl MethodMetrics {
    fn new(service: &'static str, method: &str) -> Self {
        let label = || method.to_owned();
        Self {
            started: metrics::counter!("grpc_server_requests_started_total",
                "service" => service, "method" => label()),
            in_flight: metrics::gauge!("grpc_server_requests_in_flight",
                "service" => service, "method" => label()),
            ok: metrics::counter!("grpc_server_requests_total",
                "service" => service, "method" => label(), "code" => "Ok"),
            errors: {
                let errors = metrics::counter!("grpc_server_errors_total",
                    "service" => service, "method" => label());
                errors.increment(0);
                errors
            },
            duration: metrics::histogram!("grpc_server_request_duration_seconds",
                "service" => service, "method" => label()),
        }
    }
}

/// Handles by method path, shared by every connection of a server.
#[derive(Debug, Clone, Default)]
struct Methods(Arc<RwLock<HashMap<String, Arc<MethodMetrics>>>>);

/// Paths remembered at most: the services' own methods fit many times
/// over; a client inventing paths gets fresh handles instead of growing
/// the map.
const MAX_METHODS: usize = 512;

impl Methods {
    fn get(&self, service: &'static str, method: &str) -> Arc<MethodMetrics> {
        if let Ok(known) = self.0.read()
            && let Some(found) = known.get(method)
        {
            return Arc::clone(found);
        }
        let made = Arc::new(MethodMetrics::new(service, method));
        if let Ok(mut known) = self.0.write()
            && known.len() < MAX_METHODS
        {
            known.insert(method.to_owned(), Arc::clone(&made));
        }
        made
    }
}

impl<S, B, RB> Service<http::Request<B>> for RpcTelemetry<S>
where
    S: Service<http::Request<B>, Response = http::Response<RB>> + Send + 'static,
    S::Future: Send + 'static,
    B: Send + 'static,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = Pin<Box<dyn Future<Output = Result<Self::Response, Self::Error>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: http::Request<B>) -> Self::Future {
        let method = request.uri().path().to_owned();
        let span = tracing::info_span!(
            "rpc",
            otel.kind = "server",
            rpc.method = %method,
            trace_id = tracing::field::Empty,
        );
        let parent = opentelemetry::global::get_text_map_propagator(|propagator| {
            propagator.extract(&HeaderExtractor(request.headers()))
        });
        let _ = span.set_parent(parent);
        if let Some(trace_id) = span_trace_id(&span) {
            span.record("trace_id", trace_id.as_str());
        }
        let service = self.service;
        let started = Instant::now();
        let handles = self.methods.get(service, &method);
        // Started and in flight: what a drain waits for, and what an
        // autoscaler or an operator reads as load.
        handles.started.increment(1);
        let in_flight = InFlight::start(Arc::clone(&handles));
        let future = self.inner.call(request);
        Box::pin(
            async move {
                let result = future.await;
                drop(in_flight);
                let code = match &result {
                    // Errors come back "trailers-only", so their grpc-status is
                    // a header; a response without one is a success whose
                    // status follows in the trailers.
                    Ok(response) => response
                        .headers()
                        .get("grpc-status")
                        .and_then(|v| v.to_str().ok())
                        .and_then(|v| v.parse::<i32>().ok())
                        .map(tonic::Code::from_i32)
                        .unwrap_or(tonic::Code::Ok),
                    Err(_) => tonic::Code::Unknown,
                };
                // Straight to the OpenTelemetry span: recording a field would
                // make the JSON log layer parse and rewrite the span's fields.
                tracing::Span::current().set_attribute("rpc.grpc.status_code", code as i64);
                // Server faults are logged (with the request's trace id, a
                // field of this span); caller mistakes only at debug level.
                match code {
                    tonic::Code::Ok => {}
                    tonic::Code::Internal
                    | tonic::Code::Unknown
                    | tonic::Code::Unavailable
                    | tonic::Code::DeadlineExceeded
                    | tonic::Code::DataLoss => tracing::warn!(?code, "rpc failed"),
                    _ => tracing::debug!(?code, "rpc refused"),
                }
                let elapsed = started.elapsed().as_secs_f64();
                if code == tonic::Code::Ok {
                    handles.ok.increment(1);
                } else {
                    metrics::counter!("grpc_server_requests_total",
                        "service" => service, "method" => method.clone(),
                        "code" => format!("{code:?}"))
                    .increment(1);
                    handles.errors.increment(1);
                }
                handles.duration.record(elapsed);
                result
            }
            .instrument(span),
        )
    }
}

/// One RPC in `grpc_server_requests_in_flight`, until dropped (also when the
/// request is cancelled).
struct InFlight(Arc<MethodMetrics>);

impl InFlight {
    fn start(handles: Arc<MethodMetrics>) -> Self {
        handles.in_flight.increment(1.0);
        Self(handles)
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.in_flight.decrement(1.0);
    }
}

fn span_trace_id(span: &tracing::Span) -> Option<String> {
    use opentelemetry::trace::TraceContextExt;
    let context = span.context();
    let otel_span = context.span();
    let span_context = otel_span.span_context();
    span_context
        .is_valid()
        .then(|| span_context.trace_id().to_string())
}

/// Reads W3C trace context from HTTP/2 headers.
struct HeaderExtractor<'a>(&'a http::HeaderMap);

impl Extractor for HeaderExtractor<'_> {
    fn get(&self, key: &str) -> Option<&str> {
        self.0.get(key).and_then(|v| v.to_str().ok())
    }

    fn keys(&self) -> Vec<&str> {
        self.0.keys().map(|k| k.as_str()).collect()
    }
}
