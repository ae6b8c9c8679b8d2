//! The ceiling for ClaimCoupon: the coupon service's own claim script, run
//! by the real `redis-benchmark` against the same Redis with EVALSHA, one
//! random guest per call, on a bench-only event loaded here. Every claim
//! through gRPC runs this script once, so no claim rate can beat this one.

use std::process::Stdio;
use std::time::Duration;

use anyhow::{Context as _, bail};
use chrono::Utc;
use fred::prelude::*;
use serde::Serialize;
use staymesh_platform::redis::RedisPool;
use tokio::process::Command;

/// Guests are `user:<n>` with `n` below this: wide enough that the random
/// users of one run hardly repeat, so the stock sells out to distinct guests.
const USER_SPACE: u64 = 100_000_000;
/// The bench keys expire on their own after this, should a run die before
/// deleting them.
const KEYS_TTL_MS: i64 = 3_600_000;

/// What redis-benchmark measured and what the script left behind.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct Measured {
    /// Requests sent (`-n`).
    pub(crate) requests: u64,
    /// Parallel connections (`-c`).
    pub(crate) clients: u32,
    pub(crate) req_per_sec: f64,
    pub(crate) p50_ms: f64,
    pub(crate) p95_ms: f64,
    pub(crate) p99_ms: f64,
    pub(crate) max_ms: f64,
    /// Guests recorded in the bench event's claimed hash.
    pub(crate) claimed: u64,
    /// The stock left.
    pub(crate) stock_left: i64,
}

/// Where and how hard to run it.
#[derive(Debug, Clone)]
pub(crate) struct Plan<'a> {
    /// The redis-benchmark binary.
    pub(crate) program: &'a str,
    pub(crate) host: &'a str,
    pub(crate) port: u16,
    pub(crate) requests: u64,
    pub(crate) clients: u32,
    pub(crate) quantity: u64,
    /// redis-benchmark is killed after this.
    pub(crate) time_limit: Duration,
}

/// The three keys of a bench event under `bench:<run>`, as the claim script
/// takes them: meta, claimed, stock.
fn keys(run: &str) -> [String; 3] {
    let base = format!("bench:{run}:event:{{{}}}", uuid::Uuid::now_v7());
    [
        format!("{base}:meta"),
        format!("{base}:claimed"),
        format!("{base}:stock"),
    ]
}

/// Loads a bench event open for the next hour with `plan.quantity` in
/// stock, runs redis-benchmark on it, checks what the script left, and
/// deletes the keys whatever happened.
pub(crate) async fn run(redis: &RedisPool, run: &str, plan: &Plan<'_>) -> anyhow::Result<Measured> {
    let keys = keys(run);
    let measured = load_and_measure(redis, &keys, plan).await;
    let deleted: Result<i64, _> = redis.del(keys.to_vec()).await;
    let measured = measured?;
    deleted.context("deleting the bench keys")?;
    Ok(measured)
}

async fn load_and_measure(
    redis: &RedisPool,
    keys: &[String; 3],
    plan: &Plan<'_>,
) -> anyhow::Result<Measured> {
    let [meta, claimed, stock] = keys;
    let now_ms = Utc::now().timestamp_millis();
    let () = redis
        .hset(
            meta,
            [
                ("opens", (now_ms - 60_000).to_string()),
                ("closes", (now_ms + KEYS_TTL_MS).to_string()),
                ("closed", "0".to_owned()),
                ("unlimited", "0".to_owned()),
            ],
        )
        .await
        .context("loading the bench event")?;
    let () = redis
        .set(stock, plan.quantity, None, None, false)
        .await
        .context("setting the bench stock")?;
    for key in [meta, stock] {
        let _: bool = redis.pexpire(key, KEYS_TTL_MS, None).await?;
    }
    let sha: String = redis
        .next()
        .script_load(staymesh_coupon::CLAIM_SCRIPT)
        .await
        .context("SCRIPT LOAD of the claim script")?;

    let csv = redis_benchmark(plan, &sha, keys).await?;
    let (req_per_sec, latencies) = parse_csv(&csv)?;

    let claimed_now: u64 = redis.hlen(claimed).await?;
    let stock_left: Option<i64> = redis.get(stock).await?;
    let stock_left = stock_left.context("the bench stock key disappeared")?;
    if claimed_now == 0 {
        bail!("redis-benchmark ran but the script recorded no claim; its output:\n{csv}");
    }
    if claimed_now > plan.quantity || stock_left < 0 {
        bail!(
            "the claim script oversold: {claimed_now} claims recorded for {} coupons, \
             {stock_left} left",
            plan.quantity
        );
    }
    Ok(Measured {
        requests: plan.requests,
        clients: plan.clients,
        req_per_sec,
        p50_ms: latencies[0],
        p95_ms: latencies[1],
        p99_ms: latencies[2],
        max_ms: latencies[3],
        claimed: claimed_now,
        stock_left,
    })
}

/// Runs `redis-benchmark ... --csv EVALSHA <sha> 3 <keys> user:__rand_int__ id`
/// and returns its stdout.
async fn redis_benchmark(plan: &Plan<'_>, sha: &str, keys: &[String; 3]) -> anyhow::Result<String> {
    let mut command = Command::new(plan.program);
    command
        .args(["-h", plan.host, "-p", &plan.port.to_string()])
        .args(["-n", &plan.requests.to_string()])
        .args(["-c", &plan.clients.to_string()])
        .args(["-r", &USER_SPACE.to_string(), "--csv"])
        .args(["EVALSHA", sha, "3"])
        .args(keys)
        .args(["user:__rand_int__", "id"])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    let child = command.spawn().with_context(|| {
        format!(
            "cannot start {:?} (Debian: apt-get install redis-tools)",
            plan.program
        )
    })?;
    let output = tokio::time::timeout(plan.time_limit, child.wait_with_output())
        .await
        .map_err(|_| {
            anyhow::anyhow!(
                "redis-benchmark did not finish within {:?}",
                plan.time_limit
            )
        })??;
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    if !output.status.success() {
        bail!(
            "redis-benchmark failed ({}): {}{}",
            output.status,
            stdout,
            String::from_utf8_lossy(&output.stderr)
        );
    }
    Ok(stdout)
}

/// Requests per second and the p50, p95, p99 and max latency in ms from
/// redis-benchmark's `--csv` output: a header naming the columns, then a row
/// for the one command.
fn parse_csv(csv: &str) -> anyhow::Result<(f64, [f64; 4])> {
    let mut lines = csv.lines().map(|line| {
        line.split(',')
            .map(|cell| cell.trim().trim_matches('"'))
            .collect::<Vec<_>>()
    });
    let header = lines
        .next()
        .with_context(|| format!("redis-benchmark printed no CSV: {csv:?}"))?;
    let row = lines
        .next()
        .with_context(|| format!("redis-benchmark printed no result row: {csv:?}"))?;
    let column = |name: &str| -> anyhow::Result<f64> {
        let index = header
            .iter()
            .position(|h| *h == name)
            .with_context(|| format!("redis-benchmark's CSV has no {name:?} column: {csv:?}"))?;
        row.get(index)
            .and_then(|cell| cell.parse().ok())
            .with_context(|| format!("redis-benchmark's {name:?} is not a number: {csv:?}"))
    };
    Ok((
        column("rps")?,
        [
            column("p50_latency_ms")?,
            column("p95_latency_ms")?,
            column("p99_latency_ms")?,
            column("max_latency_ms")?,
        ],
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_redis_benchmark_csv() {
        let csv = "\"test\",\"rps\",\"avg_latency_ms\",\"min_latency_ms\",\"p50_latency_ms\",\
                   \"p95_latency_ms\",\"p99_latency_ms\",\"max_latency_ms\"\n\
                   \"EVALSHA abc 3 a b c user:__rand_int__ id\",\"41237.11\",\"1.1\",\"0.2\",\
                   \"1.0\",\"1.9\",\"2.5\",\"9.8\"\n";
        let (rps, latencies) = parse_csv(csv).expect("parse");
        assert_eq!(rps, 41237.11);
        assert_eq!(latencies, [1.0, 1.9, 2.5, 9.8]);
        assert!(parse_csv("").is_err());
        assert!(parse_csv("\"test\",\"rps\"\n").is_err());
    }

    #[test]
    fn keys_share_one_hash_tag_under_the_run() {
        let [meta, claimed, stock] = keys("r1");
        assert!(meta.starts_with("bench:r1:event:{") && meta.ends_with("}:meta"));
        assert_eq!(
            meta.trim_end_matches(":meta"),
            claimed.trim_end_matches(":claimed")
        );
        assert_eq!(
            meta.trim_end_matches(":meta"),
            stock.trim_end_matches(":stock")
        );
    }
}
