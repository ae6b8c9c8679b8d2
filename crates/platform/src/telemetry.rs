//! Telemetry for a process: JSON logs that carry the trace id of the request
//! they belong to, OpenTelemetry traces exported over OTLP when
//! `OTEL_EXPORTER_OTLP_ENDPOINT` is set, W3C trace-context propagation, and the
//! Prometheus recorder behind every service's `/metrics`.

use std::sync::OnceLock;
use std::time::Duration;

use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};
use opentelemetry::trace::TracerProvider as _;
use opentelemetry_sdk::propagation::TraceContextPropagator;
use opentelemetry_sdk::trace::{Sampler, SdkTracerProvider};
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::{EnvFilter, Layer};

use crate::error::Error;

/// How logs are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum LogFormat {
    /// One JSON object a line (production, log shippers).
    Json,
    /// Human-readable lines (a terminal).
    Pretty,
}

/// Keeps the trace exporter alive; dropping it flushes pending spans.
#[derive(Debug)]
pub struct TelemetryGuard {
    provider: Option<SdkTracerProvider>,
}

impl Drop for TelemetryGuard {
    fn drop(&mut self) {
        if let Some(provider) = self.provider.take() {
            let _ = provider.shutdown();
        }
    }
}

/// Installs logging, tracing and the metrics recorder for this process.
/// `RUST_LOG` filters (default `info`). Call once, from `main`.
pub fn init(service_name: &str, format: LogFormat) -> Result<TelemetryGuard, Error> {
    opentelemetry::global::set_text_map_propagator(TraceContextPropagator::new());

    // Spans always get OpenTelemetry ids (so logs can show them); they are
    // exported only when an OTLP endpoint is configured.
    let mut builder = SdkTracerProvider::builder().with_resource(
        opentelemetry_sdk::Resource::builder()
            .with_service_name(service_name.to_owned())
            .build(),
    );
    let exporting = std::env::var_os("OTEL_EXPORTER_OTLP_ENDPOINT").is_some();
    if !exporting {
        // Nothing would read a recorded span: keep ids (logs, `traceparent`)
        // but skip building each span's data. A caller's sampled flag is
        // still honoured, so a trace another service records stays whole.
        builder = builder.with_sampler(Sampler::ParentBased(Box::new(Sampler::AlwaysOff)));
    }
    if exporting {
        let exporter = opentelemetry_otlp::SpanExporter::builder()
            .with_tonic()
            .build()
            .map_err(|e| Error::Telemetry(format!("OTLP exporter: {e}")))?;
        builder = builder.with_batch_exporter(exporter);
    }
    let provider = builder.build();
    let tracer = provider.tracer(service_name.to_owned());
    opentelemetry::global::set_tracer_provider(provider.clone());

    // Postgres notices ("already exists, skipping") are noise at info.
    let filter = EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| EnvFilter::new("info,sqlx::postgres::notice=warn"));
    let fmt_layer = match format {
        LogFormat::Json => tracing_subscriber::fmt::layer()
            .json()
            .with_current_span(true)
            .with_span_list(false)
            .with_target(true)
            .boxed(),
        LogFormat::Pretty => tracing_subscriber::fmt::layer().compact().boxed(),
    };
    tracing_subscriber::registry()
        .with(filter)
        .with(fmt_layer)
        .with(
            tracing_opentelemetry::layer()
                .with_tracer(tracer)
                // Busy/idle timings and the thread-local OpenTelemetry context
                // cost clock reads and an attach on every poll of every RPC;
                // nothing here reads them (ids come from the span itself).
                .with_tracked_inactivity(false)
                .with_context_activation(false),
        )
        .try_init()
        .map_err(|e| Error::Telemetry(format!("tracing subscriber: {e}")))?;
    metrics_handle();
    if exporting {
        tracing::info!("exporting traces over OTLP");
    }
    Ok(TelemetryGuard {
        provider: Some(provider),
    })
}

/// The process-wide Prometheus recorder, installed on first use.
#[allow(clippy::expect_used, reason = "the buckets are a non-empty constant")]
pub fn metrics_handle() -> PrometheusHandle {
    static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();
    HANDLE
        .get_or_init(|| {
            let recorder = PrometheusBuilder::new()
                .set_buckets(&[
                    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0,
                    10.0,
                ])
                .expect("static buckets are valid")
                .build_recorder();
            let handle = recorder.handle();
            // A recorder may already be installed (several services in one
            // process, or tests); the first one wins and keeps collecting.
            let _ = metrics::set_global_recorder(recorder);
            spawn_upkeep(handle.clone());
            handle
        })
        .clone()
}

/// How often histogram samples are folded into their buckets (the
/// exporter's own default).
const UPKEEP_INTERVAL: Duration = Duration::from_secs(5);

/// Folds histogram samples into their buckets every [`UPKEEP_INTERVAL`]. The
/// recorder keeps each recorded value until then; without this only a scrape
/// drained them, so a service nobody scraped grew by every request's
/// latency sample (11 MB of RSS per 10-second bench run of the accommodation
/// service). A thread, not a task: the handle is made before, and outside
/// of, any runtime.
fn spawn_upkeep(handle: PrometheusHandle) {
    let spawned = std::thread::Builder::new()
        .name("metrics-upkeep".into())
        .spawn(move || {
            loop {
                std::thread::sleep(UPKEEP_INTERVAL);
                handle.run_upkeep();
            }
        });
    if let Err(error) = spawned {
        tracing::error!(%error, "cannot start the metrics upkeep thread");
    }
}

/// Shows `counters` in `/metrics` from the start, at zero, so dashboards
/// and alerts over faults that have not happened yet (dead letters,
/// refused webhooks, compensations) read 0 rather than "no data". Counts
/// nothing: a counter that has already counted keeps its value.
pub fn declare_counters(counters: &[&'static str]) {
    for name in counters {
        metrics::counter!(*name).increment(0);
    }
}

/// The current span's trace id in W3C hex, when it has one.
pub fn current_trace_id() -> Option<String> {
    use opentelemetry::trace::TraceContextExt;
    use tracing_opentelemetry::OpenTelemetrySpanExt;
    let context = tracing::Span::current().context();
    let span = context.span();
    let span_context = span.span_context();
    span_context
        .is_valid()
        .then(|| span_context.trace_id().to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The thread that keeps an unscraped recorder from holding every sample.
    #[test]
    fn the_recorder_folds_its_samples_without_a_scrape() {
        let handle = metrics_handle();
        metrics::histogram!("upkeep_test_seconds").record(0.5);
        // A thread names itself once it runs, a moment after it is spawned.
        let upkeep_threads = || {
            std::fs::read_dir("/proc/self/task")
                .expect("Linux /proc")
                .filter_map(|task| std::fs::read_to_string(task.ok()?.path().join("comm")).ok())
                .filter(|name| name.trim() == "metrics-upkeep")
                .count()
        };
        let deadline = std::time::Instant::now() + Duration::from_secs(5);
        while upkeep_threads() == 0 && std::time::Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(5));
        }
        assert_eq!(upkeep_threads(), 1, "one upkeep thread per process");
        assert!(handle.render().contains("upkeep_test_seconds_bucket"));
    }
}
