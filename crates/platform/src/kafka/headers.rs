//! Kafka headers as a small text map, and the W3C trace context they carry
//! (`traceparent`, `tracestate`) between the producing and the handling span.

use std::collections::BTreeMap;

use opentelemetry::propagation::{Extractor, Injector};
use opentelemetry::trace::{SpanContext, TraceContextExt};
use rdkafka::message::{Header, Headers, OwnedHeaders};
use tracing_opentelemetry::OpenTelemetrySpanExt;

/// Text headers of a Kafka message, keyed by name (a later duplicate wins).
pub type HeaderMap = BTreeMap<String, String>;

/// The trace context of the current tracing span, as headers to send along.
/// Empty when no OpenTelemetry propagator or layer is installed.
pub fn current_trace_headers() -> HeaderMap {
    let context = tracing::Span::current().context();
    let mut headers = HeaderMap::new();
    opentelemetry::global::get_text_map_propagator(|propagator| {
        propagator.inject_context(&context, &mut MapCarrier(&mut headers));
    });
    headers
}

/// Makes `span` a child of the trace context found in `headers`, if any.
pub fn set_parent_from(span: &tracing::Span, headers: &HeaderMap) {
    let parent = opentelemetry::global::get_text_map_propagator(|propagator| {
        propagator.extract(&MapCarrier::read(headers))
    });
    // Fails only when no OpenTelemetry layer is installed; then there is nothing to link.
    let _ = span.set_parent(parent);
}

/// The remote span context in `headers`, if they carry a valid one.
pub(crate) fn remote_span_context(headers: &HeaderMap) -> Option<SpanContext> {
    let context = opentelemetry::global::get_text_map_propagator(|propagator| {
        propagator.extract(&MapCarrier::read(headers))
    });
    let span_context = context.span().span_context().clone();
    span_context.is_valid().then_some(span_context)
}

pub(crate) fn to_kafka(headers: &HeaderMap) -> OwnedHeaders {
    headers.iter().fold(
        OwnedHeaders::new_with_capacity(headers.len()),
        |acc, (key, value)| {
            acc.insert(Header {
                key,
                value: Some(value.as_str()),
            })
        },
    )
}

pub(crate) fn from_kafka<H: Headers>(headers: Option<&H>) -> HeaderMap {
    let Some(headers) = headers else {
        return HeaderMap::new();
    };
    headers
        .iter()
        .map(|h| {
            let value = h.value.map(String::from_utf8_lossy).unwrap_or_default();
            (h.key.to_owned(), value.into_owned())
        })
        .collect()
}

/// Lets OpenTelemetry propagators read and write a [`HeaderMap`].
struct MapCarrier<'a>(&'a mut HeaderMap);

struct MapReader<'a>(&'a HeaderMap);

impl MapCarrier<'_> {
    fn read(headers: &HeaderMap) -> MapReader<'_> {
        MapReader(headers)
    }
}

impl Injector for MapCarrier<'_> {
    fn set(&mut self, key: &str, value: String) {
        self.0.insert(key.to_owned(), value);
    }
}

impl Extractor for MapReader<'_> {
    fn get(&self, key: &str) -> Option<&str> {
        self.0.get(key).map(String::as_str)
    }

    fn keys(&self) -> Vec<&str> {
        self.0.keys().map(String::as_str).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn headers_survive_the_kafka_representation() {
        let mut map = HeaderMap::new();
        map.insert("traceparent".into(), "00-abc-def-01".into());
        map.insert("tracestate".into(), "k=v".into());
        let owned = to_kafka(&map);
        assert_eq!(from_kafka(Some(&owned)), map);
        assert!(from_kafka::<OwnedHeaders>(None).is_empty());
    }
}
