//! Graceful shutdown: one token that SIGTERM, SIGINT or a test cancels, and
//! that every server and background loop of a process watches.

use tokio_util::sync::CancellationToken;

/// A cloneable shutdown signal. Cancelling any clone stops them all.
#[derive(Debug, Clone, Default)]
pub struct Shutdown(CancellationToken);

impl Shutdown {
    /// A signal that only `trigger` fires (tests, embedded use).
    pub fn new() -> Self {
        Self(CancellationToken::new())
    }

    /// A signal that also fires on SIGTERM (what Kubernetes sends) or SIGINT (Ctrl-C).
    pub fn on_os_signals() -> Self {
        let shutdown = Self::new();
        let token = shutdown.0.clone();
        tokio::spawn(async move {
            wait_for_os_signal().await;
            tracing::info!("shutdown signal received, draining");
            token.cancel();
        });
        shutdown
    }

    /// Starts the shutdown.
    pub fn trigger(&self) {
        self.0.cancel();
    }

    /// Whether the shutdown has started.
    pub fn is_triggered(&self) -> bool {
        self.0.is_cancelled()
    }

    /// Completes when the shutdown starts.
    pub async fn wait(&self) {
        self.0.cancelled().await;
    }

    /// Sleeps for `period`; false if the shutdown started first. The beat of
    /// every periodic job: `while shutdown.sleep(every).await { ... }`.
    pub async fn sleep(&self, period: std::time::Duration) -> bool {
        tokio::select! {
            () = self.wait() => false,
            () = tokio::time::sleep(period) => true,
        }
    }

    /// An owned future that completes when the shutdown starts.
    pub fn wait_owned(&self) -> tokio_util::sync::WaitForCancellationFutureOwned {
        self.0.clone().cancelled_owned()
    }
}

#[cfg(unix)]
async fn wait_for_os_signal() {
    use tokio::signal::unix::{SignalKind, signal};
    match (
        signal(SignalKind::terminate()),
        signal(SignalKind::interrupt()),
    ) {
        (Ok(mut term), Ok(mut int)) => {
            tokio::select! {
                _ = term.recv() => {}
                _ = int.recv() => {}
            }
        }
        // Without signal handlers the process still stops on the default action.
        _ => std::future::pending::<()>().await,
    }
}

#[cfg(not(unix))]
async fn wait_for_os_signal() {
    let _ = tokio::signal::ctrl_c().await;
}

/// Calls `attempt` until it succeeds, backing off from 100 ms to 5 s and
/// logging each transient failure; `Ok(None)` if the shutdown starts first.
/// Pods start before their databases, so start-up waits instead of crashing,
/// but a configuration or migration error fails at once.
pub async fn retry_until_ready<T, F, Fut>(
    what: &str,
    shutdown: &Shutdown,
    mut attempt: F,
) -> Result<Option<T>, crate::Error>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<T, crate::Error>>,
{
    let mut backoff = std::time::Duration::from_millis(100);
    loop {
        match attempt().await {
            Ok(value) => return Ok(Some(value)),
            Err(error) if error.is_transient() => {
                tracing::warn!(%error, retry_in_ms = u64::try_from(backoff.as_millis()).unwrap_or(u64::MAX), "{what} not ready");
            }
            Err(error) => return Err(error),
        }
        if !shutdown.sleep(backoff).await {
            return Ok(None);
        }
        backoff = (backoff * 2).min(std::time::Duration::from_secs(5));
    }
}

/// After a service's server stopped: stops its background tasks too (the
/// shutdown is triggered, whatever stopped the server) and waits for each,
/// logging one that panicked.
pub async fn stop_background(
    service: &str,
    shutdown: &Shutdown,
    background: &mut tokio::task::JoinSet<()>,
) {
    shutdown.trigger();
    while let Some(done) = background.join_next().await {
        if let Err(error) = done {
            tracing::error!(%error, service, "a background task panicked");
        }
    }
}
