//! Fault switches: a PG that fails, answers late or loses webhooks, on
//! demand, so tests can prove the merchant side survives it. They live in
//! memory only (a restart clears them) and apply to the `/payments` API.

use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use axum::Json;
use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use serde::Serialize;

use crate::error::ApiError;
use crate::request::Fields;

/// The switches, as the API shows them.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct FaultSet {
    /// Every API response waits this long after its effect is committed.
    delay_ms: u64,
    /// The next N API requests answer 500 without doing anything.
    fail_requests: u64,
    /// Every API request answers 500 without doing anything.
    fail_all: bool,
    /// The next N webhook deliveries are marked delivered but never sent.
    drop_webhooks: u64,
}

/// The switches, shared by the API, the checkout and the delivery loop.
#[derive(Debug, Clone, Default)]
pub(crate) struct Faults(Arc<Mutex<FaultSet>>);

impl Faults {
    fn with<T>(&self, f: impl FnOnce(&mut FaultSet) -> T) -> T {
        // A poisoned lock still holds valid switches (plain numbers).
        let mut set = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        f(&mut set)
    }

    fn current(&self) -> FaultSet {
        self.with(|set| *set)
    }

    /// Whether this request must fail, counting a `failRequests` down.
    fn take_failure(&self) -> bool {
        self.with(|set| {
            if set.fail_all {
                true
            } else if set.fail_requests > 0 {
                set.fail_requests -= 1;
                true
            } else {
                false
            }
        })
    }

    /// Whether the next webhook delivery is to be lost, counting it down.
    pub(crate) fn take_webhook_drop(&self) -> bool {
        self.with(|set| {
            let drop = set.drop_webhooks > 0;
            set.drop_webhooks = set.drop_webhooks.saturating_sub(1);
            drop
        })
    }
}

/// Middleware of the `/payments` routes: injected failures before the
/// handler, the injected delay after it (the PG did the work; the answer is late).
pub(crate) async fn apply(State(faults): State<Faults>, request: Request, next: Next) -> Response {
    if faults.take_failure() {
        return ApiError::internal_fault("injected failure (sandbox fault switch)").into_response();
    }
    let response = next.run(request).await;
    let delay = faults.current().delay_ms;
    if delay > 0 {
        tokio::time::sleep(Duration::from_millis(delay)).await;
    }
    response
}

/// `GET /sandbox/faults`.
pub(crate) async fn show(State(faults): State<Faults>) -> Json<FaultSet> {
    Json(faults.current())
}

/// `PUT /sandbox/faults`: sets the switches named in the body, keeps the others.
pub(crate) async fn set(
    State(faults): State<Faults>,
    body: axum::body::Bytes,
) -> Result<Json<FaultSet>, ApiError> {
    let fields = Fields::parse(&body)?;
    let count = |name: &str| -> Result<Option<u64>, ApiError> {
        fields
            .optional_integer(name)?
            .map(|n| {
                u64::try_from(n)
                    .map_err(|_| ApiError::invalid(format!("{name}: must be 0 or more")))
            })
            .transpose()
    };
    let delay_ms = count("delayMs")?;
    let fail_requests = count("failRequests")?;
    let drop_webhooks = count("dropWebhooks")?;
    let fail_all = fields.optional_bool("failAll")?;
    Ok(Json(faults.with(|set| {
        set.delay_ms = delay_ms.unwrap_or(set.delay_ms);
        set.fail_requests = fail_requests.unwrap_or(set.fail_requests);
        set.drop_webhooks = drop_webhooks.unwrap_or(set.drop_webhooks);
        set.fail_all = fail_all.unwrap_or(set.fail_all);
        *set
    })))
}

/// `DELETE /sandbox/faults`: no faults.
pub(crate) async fn clear(State(faults): State<Faults>) -> Json<FaultSet> {
    Json(faults.with(|set| {
        *set = FaultSet::default();
        *set
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn failures_and_drops_count_down() {
        let faults = Faults::default();
        faults.with(|set| {
            set.fail_requests = 2;
            set.drop_webhooks = 1;
        });
        assert!(faults.take_failure());
        assert!(faults.take_failure());
        assert!(!faults.take_failure());
        assert!(faults.take_webhook_drop());
        assert!(!faults.take_webhook_drop());
        faults.with(|set| set.fail_all = true);
        assert!(faults.take_failure());
        assert!(faults.take_failure());
    }
}
