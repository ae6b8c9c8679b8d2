//! The webhook delivery loop: signs each due webhook the Standard Webhooks
//! way and POSTs it, retrying with a doubling delay, losing or duplicating
//! some on demand. It wakes when a change commits and polls anyway, so a
//! webhook written by another process (or before a restart) goes out too.

use std::time::Duration;

use chrono::Utc;
use reqwest::Url;
use staymesh_platform::Shutdown;

use crate::config::Settings;
use crate::error::Error;
use crate::faults::Faults;
use crate::store::Store;
use crate::webhooks::{self, Due, Outcome};

/// How often the loop looks for due webhooks when nothing woke it.
const POLL: Duration = Duration::from_millis(200);
/// Longest one POST may take.
const TIMEOUT: Duration = Duration::from_secs(5);
/// Attempts before a webhook is given up.
const ATTEMPTS: i32 = 12;
/// The longest wait between two attempts.
const MAX_BACKOFF: Duration = Duration::from_secs(60);
/// Webhooks taken (and sent concurrently) at once.
const BATCH: u8 = 32;

/// Sends webhooks to one URL.
#[derive(Debug, Clone)]
pub(crate) struct Delivery {
    store: Store,
    settings: Settings,
    faults: Faults,
    url: Url,
    client: reqwest::Client,
}

impl Delivery {
    /// `None` when no webhook URL is configured.
    pub(crate) fn new(
        store: Store,
        settings: Settings,
        faults: Faults,
    ) -> Result<Option<Self>, Error> {
        let Some(url) = settings.webhook_url.clone() else {
            return Ok(None);
        };
        // Proxies from the environment would reroute loopback receivers in tests.
        let client = reqwest::Client::builder()
            .timeout(TIMEOUT)
            .no_proxy()
            .build()
            .map_err(|e| Error::Config(format!("webhook http client: {e}")))?;
        Ok(Some(Self {
            store,
            settings,
            faults,
            url,
            client,
        }))
    }

    /// Delivers until `shutdown`; a batch in flight is finished first, so
    /// nothing taken is left leased.
    pub(crate) async fn run(self, shutdown: Shutdown) {
        let wake = self.store.wake.clone();
        while !shutdown.is_triggered() {
            let full = match webhooks::take_due(&self.store.pool, i64::from(BATCH)).await {
                Ok(due) => {
                    let taken = due.len();
                    futures::future::join_all(due.into_iter().map(|d| self.deliver(d))).await;
                    taken == usize::from(BATCH)
                }
                Err(error) => {
                    tracing::warn!(%error, "could not take due webhooks");
                    false
                }
            };
            if full {
                continue;
            }
            tokio::select! {
                () = shutdown.wait() => {}
                () = wake.notified() => {}
                () = tokio::time::sleep(POLL) => {}
            }
        }
    }

    async fn deliver(&self, due: Due) {
        let outcome = if self.faults.take_webhook_drop() {
            tracing::info!(
                webhook_id = due.webhook_id,
                "webhook dropped by the fault switch"
            );
            Outcome::Dropped
        } else {
            self.send(&due).await
        };
        if let Err(error) = webhooks::record(&self.store.pool, &due.webhook_id, &outcome).await {
            // The lease runs out and the webhook is sent again: a duplicate,
            // which receivers must bear anyway.
            tracing::warn!(%error, webhook_id = due.webhook_id, "could not record a webhook delivery");
        }
    }

    async fn send(&self, due: &Due) -> Outcome {
        let attempts = due.attempts.saturating_add(1);
        let (status, error) = match self.post(due).await {
            Ok(status) if (200..300).contains(&status) => {
                if self.duplicate() {
                    // Same id and body: a receiver that is not idempotent pays twice.
                    if let Err(error) = self.post(due).await {
                        tracing::info!(%error, "the duplicate of a webhook was not delivered");
                    }
                }
                return Outcome::Delivered { status };
            }
            Ok(status) => (Some(status), format!("the receiver answered {status}")),
            Err(error) => (None, error),
        };
        let retry_at = (attempts < ATTEMPTS).then(|| {
            let delay = backoff(self.settings.retry, attempts);
            Utc::now() + chrono::Duration::from_std(delay).unwrap_or(chrono::Duration::MAX)
        });
        if retry_at.is_none() {
            tracing::warn!(webhook_id = due.webhook_id, error, "webhook given up");
        }
        Outcome::Failed {
            status,
            error,
            retry_at,
        }
    }

    /// One signed POST; the receiver's status, or why there was none.
    async fn post(&self, due: &Due) -> Result<u16, String> {
        let timestamp = Utc::now().timestamp();
        let signature = self
            .settings
            .signer
            .sign(&due.webhook_id, timestamp, due.body.as_bytes())
            .map_err(|e| format!("signing: {e}"))?;
        let response = self
            .client
            .post(self.url.clone())
            .header("content-type", "application/json")
            .header("webhook-id", &due.webhook_id)
            .header("webhook-timestamp", timestamp.to_string())
            .header("webhook-signature", signature)
            .body(due.body.clone())
            .send()
            .await
            .map_err(|e| describe(&e))?;
        Ok(response.status().as_u16())
    }

    fn duplicate(&self) -> bool {
        let percent = self.settings.duplicate_percent;
        percent > 0 && rand::random_range(0..100u8) < percent
    }
}

/// The wait after the `attempts`-th failed attempt: `first * 2^(attempts-1)`, at most a minute.
fn backoff(first: Duration, attempts: i32) -> Duration {
    let doublings = u32::try_from(attempts.saturating_sub(1))
        .unwrap_or(0)
        .min(20);
    first.saturating_mul(1 << doublings).min(MAX_BACKOFF)
}

/// A reqwest error with its cause (its own text is only "error sending request").
fn describe(error: &reqwest::Error) -> String {
    let mut text = error.to_string();
    let mut source = std::error::Error::source(error);
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_from_the_first_delay_up_to_a_minute() {
        let first = Duration::from_secs(1);
        assert_eq!(backoff(first, 1), Duration::from_secs(1));
        assert_eq!(backoff(first, 2), Duration::from_secs(2));
        assert_eq!(backoff(first, 4), Duration::from_secs(8));
        assert_eq!(backoff(first, 7), Duration::from_secs(60));
        assert_eq!(backoff(first, 40), Duration::from_secs(60));
        assert_eq!(
            backoff(Duration::from_millis(50), 3),
            Duration::from_millis(200)
        );
    }
}
