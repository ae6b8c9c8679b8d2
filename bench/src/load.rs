//! The one load loop every scenario runs through, so echo and the real RPCs
//! are measured the same way: `concurrency` workers, each issuing one call at
//! a time back to back, a warm-up whose results are dropped, then a measured
//! phase that ends at a deadline or a request budget, whichever comes first.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use anyhow::Context as _;
use futures::future::BoxFuture;
use serde::Serialize;
use tokio::task::JoinSet;
use tonic::Status;

/// The call timeout of every mode but bookings: an RPC answers well within it.
pub(crate) const CALL_TIMEOUT: Duration = Duration::from_secs(5);

/// One request of a scenario, made by a worker's own closure.
pub(crate) type Call = Box<dyn FnMut() -> BoxFuture<'static, Result<(), Status>> + Send>;

/// How long and how hard to load.
#[derive(Debug, Clone, Copy, Serialize)]
pub(crate) struct Settings {
    /// Calls whose results are dropped, before measuring.
    #[serde(rename = "warmup_secs", serialize_with = "as_secs")]
    pub(crate) warmup: Duration,
    /// The measured phase.
    #[serde(rename = "duration_secs", serialize_with = "as_secs")]
    pub(crate) duration: Duration,
    /// Calls in flight at once: one per worker.
    pub(crate) concurrency: usize,
    /// HTTP/2 connections the workers share.
    pub(crate) connections: usize,
    /// Most measured calls per scenario; warm-up has the same budget.
    pub(crate) max_requests: u64,
    /// A call never waits longer than this, so a stuck server cannot stall
    /// a worker past its deadline by more than one timeout.
    #[serde(rename = "call_timeout_secs", serialize_with = "as_secs")]
    pub(crate) call_timeout: Duration,
}

fn as_secs<S: serde::Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_f64(d.as_secs_f64())
}

/// What one scenario measured.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct Report {
    /// Calls that ended with status OK.
    pub(crate) ok: u64,
    /// Calls that ended with any other status or timed out.
    pub(crate) errors: u64,
    /// From the first measured call's start to the last one's end.
    pub(crate) elapsed_secs: f64,
    /// Successful calls per second.
    pub(crate) req_per_sec: f64,
    /// Latency percentiles of the successful calls, in milliseconds.
    pub(crate) p50_ms: f64,
    pub(crate) p90_ms: f64,
    pub(crate) p99_ms: f64,
    pub(crate) max_ms: f64,
    /// The first failure seen, to tell a slow run from a broken one.
    pub(crate) first_error: Option<String>,
}

/// What one worker saw in the measured phase.
#[derive(Debug, Default)]
struct Tally {
    latencies_us: Vec<u32>,
    errors: u64,
    first_error: Option<String>,
    started: Option<Instant>,
    finished: Option<Instant>,
}

/// Runs `settings.concurrency` workers, worker `i` calling `make_call(i)`'s
/// closure back to back, and merges what they measured.
pub(crate) async fn run<F>(settings: &Settings, mut make_call: F) -> anyhow::Result<Report>
where
    F: FnMut(usize) -> Call,
{
    let warm_until = Instant::now() + settings.warmup;
    let measure_until = warm_until + settings.duration;
    let warm_budget = Arc::new(AtomicU64::new(0));
    let budget = Arc::new(AtomicU64::new(0));
    let max = settings.max_requests;
    let call_timeout = settings.call_timeout;

    let mut workers = JoinSet::new();
    for worker in 0..settings.concurrency {
        let call = make_call(worker);
        let warm_budget = Arc::clone(&warm_budget);
        let budget = Arc::clone(&budget);
        workers.spawn(async move {
            let mut call = call;
            while Instant::now() < warm_until && warm_budget.fetch_add(1, Ordering::Relaxed) < max {
                let _ = tokio::time::timeout(call_timeout, call()).await;
            }
            let mut tally = Tally::default();
            loop {
                let start = Instant::now();
                if start >= measure_until || budget.fetch_add(1, Ordering::Relaxed) >= max {
                    break;
                }
                tally.started.get_or_insert(start);
                let outcome = tokio::time::timeout(call_timeout, call()).await;
                let took = start.elapsed();
                let failure = match outcome {
                    Ok(Ok(())) => {
                        tally.latencies_us.push(micros(took));
                        continue;
                    }
                    Ok(Err(status)) => format!("{:?}: {}", status.code(), status.message()),
                    Err(_) => format!("no answer within {call_timeout:?}"),
                };
                tally.errors += 1;
                tally.first_error.get_or_insert(failure);
            }
            tally.finished = Some(Instant::now());
            tally
        });
    }

    let mut latencies = Vec::new();
    let mut errors = 0;
    let mut first_error = None;
    let mut started: Option<Instant> = None;
    let mut finished: Option<Instant> = None;
    while let Some(joined) = workers.join_next().await {
        let tally = joined.context("a load worker panicked")?;
        latencies.extend_from_slice(&tally.latencies_us);
        errors += tally.errors;
        first_error = first_error.or(tally.first_error);
        started = earliest(started, tally.started);
        finished = finished.max(tally.finished);
    }
    latencies.sort_unstable();

    let elapsed = match (started, finished) {
        (Some(s), Some(f)) => f.duration_since(s).as_secs_f64(),
        _ => 0.0,
    };
    let ok = latencies.len() as u64;
    Ok(Report {
        ok,
        errors,
        elapsed_secs: elapsed,
        req_per_sec: if elapsed > 0.0 {
            ok as f64 / elapsed
        } else {
            0.0
        },
        p50_ms: percentile_ms(&latencies, 50.0),
        p90_ms: percentile_ms(&latencies, 90.0),
        p99_ms: percentile_ms(&latencies, 99.0),
        max_ms: latencies.last().map_or(0.0, |&us| f64::from(us) / 1000.0),
        first_error,
    })
}

fn micros(d: Duration) -> u32 {
    u32::try_from(d.as_micros()).unwrap_or(u32::MAX)
}

fn earliest(a: Option<Instant>, b: Option<Instant>) -> Option<Instant> {
    match (a, b) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    }
}

/// Nearest-rank percentile of sorted microseconds, in milliseconds; 0 when empty.
#[allow(
    clippy::cast_possible_truncation,
    reason = "a rank between 0 and the sample count"
)]
fn percentile_ms(sorted_us: &[u32], p: f64) -> f64 {
    if sorted_us.is_empty() {
        return 0.0;
    }
    let rank = ((p / 100.0) * sorted_us.len() as f64).ceil() as usize;
    let index = rank.clamp(1, sorted_us.len()) - 1;
    f64::from(sorted_us[index]) / 1000.0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nearest_rank_percentiles() {
        let us: Vec<u32> = (1..=100).map(|i| i * 1000).collect();
        assert_eq!(percentile_ms(&us, 50.0), 50.0);
        assert_eq!(percentile_ms(&us, 99.0), 99.0);
        assert_eq!(percentile_ms(&us, 100.0), 100.0);
        assert_eq!(percentile_ms(&[7000], 1.0), 7.0);
        assert_eq!(percentile_ms(&[], 50.0), 0.0);
    }
}
