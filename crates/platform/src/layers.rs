//! Tower layers every gRPC server runs: a span per RPC (joined to the
//! caller's trace through W3C `traceparent`), and Prometheus metrics per RPC
//! (request count by status code, latency histogram).

use std::future::Future;
use std::pin::Pin;
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
}

impl RpcTelemetryLayer {
    /// `service` labels the metrics, e.g. "accommodation".
    pub fn new(service: &'static str) -> Self {
        Self { service }
    }
}

impl<S> Layer<S> for RpcTelemetryLayer {
    type Service = RpcTelemetry<S>;

    fn layer(&self, inner: S) -> Self::Service {
        RpcTelemetry {
            inner,
            service: self.service,
        }
    }
}

/// The service `RpcTelemetryLayer` wraps around a server.
#[derive(Debug, Clone)]
pub struct RpcTelemetry<S> {
    inner: S,
    service: &'static str,
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
            grpc.code = tracing::field::Empty,
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
        // Started and in flight: what a drain waits for, and what an
        // autoscaler or an operator reads as load.
        metrics::counter!("grpc_server_requests_started_total",
            "service" => service, "method" => method.clone())
        .increment(1);
        let in_flight = InFlight::start(service, method.clone());
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
                tracing::Span::current().record("grpc.code", format!("{code:?}").as_str());
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
                let code_label = format!("{code:?}");
                metrics::counter!("grpc_server_requests_total",
                    "service" => service, "method" => method.clone(), "code" => code_label)
                .increment(1);
                if code != tonic::Code::Ok {
                    metrics::counter!("grpc_server_errors_total",
                        "service" => service, "method" => method.clone())
                    .increment(1);
                }
                metrics::histogram!("grpc_server_request_duration_seconds",
                    "service" => service, "method" => method)
                .record(elapsed);
                result
            }
            .instrument(span),
        )
    }
}

/// One RPC in `grpc_server_requests_in_flight`, until dropped (also when the
/// request is cancelled).
struct InFlight {
    service: &'static str,
    method: String,
}

impl InFlight {
    fn start(service: &'static str, method: String) -> Self {
        metrics::gauge!("grpc_server_requests_in_flight",
            "service" => service, "method" => method.clone())
        .increment(1.0);
        Self { service, method }
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        metrics::gauge!("grpc_server_requests_in_flight",
            "service" => self.service, "method" => std::mem::take(&mut self.method))
        .decrement(1.0);
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
