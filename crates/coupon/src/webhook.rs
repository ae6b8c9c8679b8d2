//! The optional notification webhook: a JSON POST when an event opens and
//! when it sells out (the systems this replaces posted these to a chat room).
//! Plain HTTP only: no TLS client is built in, so an https URL is refused at
//! start-up rather than failing at the first sale.

use std::time::Duration;

use http_body_util::Full;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use tonic::codegen::Bytes;

/// Where notifications go.
#[derive(Debug, Clone)]
pub(crate) struct Webhook {
    url: hyper::Uri,
    client: Client<HttpConnector, Full<Bytes>>,
}

const ATTEMPTS: u32 = 3;
const TIMEOUT: Duration = Duration::from_secs(5);

impl Webhook {
    /// A webhook for `url`, or `None` when it is empty.
    pub(crate) fn from_config(url: &str) -> Result<Option<Self>, String> {
        if url.trim().is_empty() {
            return Ok(None);
        }
        let parsed: hyper::Uri = url
            .trim()
            .parse()
            .map_err(|e| format!("STAYMESH_COUPON_WEBHOOK_URL: {e}"))?;
        if parsed.scheme_str() != Some("http") {
            return Err("STAYMESH_COUPON_WEBHOOK_URL must be an http:// URL".into());
        }
        Ok(Some(Self {
            url: parsed,
            client: Client::builder(TokioExecutor::new()).build_http(),
        }))
    }

    /// Posts `body`, retrying a few times; failures are logged, never raised:
    /// a notification must not hold up a sale.
    pub(crate) async fn post(&self, body: serde_json::Value) {
        let payload = Bytes::from(body.to_string());
        for attempt in 1..=ATTEMPTS {
            let request = hyper::Request::post(self.url.clone())
                .header("content-type", "application/json")
                .body(Full::new(payload.clone()));
            let Ok(request) = request else { return };
            match tokio::time::timeout(TIMEOUT, self.client.request(request)).await {
                Ok(Ok(response)) if response.status().is_success() => {
                    metrics::counter!("coupon_webhook_sent_total").increment(1);
                    return;
                }
                Ok(Ok(response)) => {
                    tracing::warn!(status = %response.status(), attempt, "webhook refused the notification");
                }
                Ok(Err(error)) => tracing::warn!(%error, attempt, "webhook unreachable"),
                Err(_) => tracing::warn!(attempt, "webhook timed out"),
            }
            tokio::time::sleep(Duration::from_millis(200 * u64::from(attempt))).await;
        }
        metrics::counter!("coupon_webhook_failed_total").increment(1);
    }
}
