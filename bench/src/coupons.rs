//! `staymesh-bench coupons`: how fast ClaimCoupon sells out an issuance
//! event through gRPC, between two references measured in the same run: a
//! bare tonic echo server (the floor of any unary call here) and
//! redis-benchmark running the claim script itself (the ceiling, since every
//! claim runs that script once).
//!
//! Load only ever goes to loopback addresses.

use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context as _, bail};
use clap::Args;
use prost::Message as _;
use serde::Serialize;
use staymesh_proto::coupon::ClaimCouponRequest;

use crate::claims::{self, Counts, Tally};
use crate::load::{self, Report, Settings};
use crate::redis_bench::{self, Measured, Plan};
use crate::{echo, ensure_loopback, loopback_host, parse_duration, scenarios, tokens};

/// The echo baseline's warm-up, as in the default mode; bounded by the
/// request count as well.
const ECHO_WARMUP: Duration = Duration::from_secs(2);

/// Sells out a coupon issuance event through ClaimCoupon, next to a bare
/// tonic echo and redis-benchmark running the claim script.
#[derive(Debug, Args)]
pub(crate) struct CouponArgs {
    /// Coupon gRPC URL; must be a loopback address.
    #[arg(long, default_value = "http://127.0.0.1:50054")]
    coupon_target: String,
    /// Redis the coupon service uses (redis-benchmark loads it); loopback only.
    #[arg(long, default_value = "redis://127.0.0.1:6379")]
    redis_url: String,
    /// The redis-benchmark binary.
    #[arg(long, default_value = "redis-benchmark")]
    redis_benchmark: String,
    /// Claims, each by a different guest; also the echo and redis-benchmark request count.
    #[arg(long, default_value_t = 300_000, value_parser = clap::value_parser!(u64).range(1..=2_000_000))]
    claims: u64,
    /// Coupons in the issuance event; at most `--claims`.
    #[arg(long, default_value_t = 100_000, value_parser = clap::value_parser!(u64).range(1..=1_000_000))]
    quantity: u64,
    /// Requests in flight at once (redis-benchmark's `-c` too).
    #[arg(long, default_value_t = 64, value_parser = clap::value_parser!(u32).range(1..=4096))]
    concurrency: u32,
    /// HTTP/2 connections the requests share.
    #[arg(long, default_value_t = 4, value_parser = clap::value_parser!(u32).range(1..=256))]
    connections: u32,
    /// Each of the three loads stops after this even if not done, e.g. 10m, 90s.
    #[arg(long, default_value = "10m", value_parser = parse_duration)]
    time_limit: Duration,
    /// Print the results as JSON instead of a table.
    #[arg(long)]
    json: bool,
}

/// One row of the table; redis-benchmark reports p95 rather than p90 and no errors.
#[derive(Debug, Serialize)]
struct Row {
    scenario: String,
    requests: u64,
    req_per_sec: f64,
    p50_ms: f64,
    p90_ms: Option<f64>,
    p95_ms: Option<f64>,
    p99_ms: f64,
    max_ms: f64,
    errors: Option<u64>,
    first_error: Option<String>,
    /// This row's req/s over the echo baseline's.
    vs_echo: f64,
}

/// Everything the coupon mode prints.
#[derive(Debug, Serialize)]
struct Output {
    coupon_target: String,
    redis: String,
    cores: usize,
    claims: u64,
    quantity: u64,
    /// The claims' settings; the echo run also warms up for `echo_warmup_secs`.
    settings: Settings,
    echo_warmup_secs: f64,
    token_presign_secs: f64,
    event_id: String,
    scenarios: Vec<Row>,
    /// From the first claim sent to the answer handing out the last coupon.
    sell_out_secs: Option<f64>,
    results: Counts,
    /// What GetIssuanceEvent says after the run.
    event_state: String,
    event_issued: i32,
    /// What redis-benchmark's run left in its bench event.
    redis_benchmark_claimed: u64,
    redis_benchmark_stock_left: i64,
}

pub(crate) async fn run(args: CouponArgs) -> anyhow::Result<()> {
    ensure_loopback("--coupon-target", &args.coupon_target)?;
    let (redis_host, redis_port) = redis_address(&args.redis_url)?;
    if args.quantity > args.claims {
        bail!(
            "--quantity {} is more than --claims {}: the event could not sell out",
            args.quantity,
            args.claims
        );
    }
    let claims = usize::try_from(args.claims).context("--claims does not fit in memory")?;
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let run_id = uuid::Uuid::now_v7().simple().to_string();

    let channels = scenarios::connect(&args.coupon_target, args.connections as usize)
        .await
        .with_context(|| {
            format!(
                "cannot reach {} (is staymesh running? `make up` starts it)",
                args.coupon_target
            )
        })?;
    let redis = staymesh_platform::redis::connect(&args.redis_url, 1)
        .await
        .with_context(|| format!("cannot reach Redis at {}", args.redis_url))?;

    let key = tokens::signing_key()?;
    let admin = tokens::admin(&key)?;
    eprintln!("signing {claims} guest tokens (kid {})...", key.kid());
    let (guests, presign) = tokens::guests(&key, &run_id, claims)?;
    eprintln!("signed in {:.2}s", presign.as_secs_f64());

    // Counted, not timed: every load ends after its count, or at the limit.
    let settings = Settings {
        warmup: Duration::ZERO,
        duration: args.time_limit,
        concurrency: args.concurrency as usize,
        connections: args.connections as usize,
        max_requests: args.claims,
        call_timeout: load::CALL_TIMEOUT,
    };

    // Only echo warms up: a claim warm-up would take coupons.
    let echo_settings = Settings {
        warmup: ECHO_WARMUP,
        ..settings
    };
    // The references first, while the mesh is idle: after a sell-out its
    // batch writer is still storing coupons for a while.
    let payload = ClaimCouponRequest {
        event_id: uuid::Uuid::now_v7().to_string(),
        admission_token: String::new(),
    }
    .encode_to_vec()
    .into();
    let server = echo::start().await?;
    let echo_channels =
        scenarios::connect(&format!("http://{}", server.addr), settings.connections).await?;
    eprintln!("echo (in-process, {})...", server.addr);
    let echo = load::run(&echo_settings, scenarios::echo(&echo_channels, payload)).await?;
    drop(echo_channels);
    server.stop().await?;

    eprintln!("redis-benchmark EVALSHA claim script on {redis_host}:{redis_port}...");
    let plan = Plan {
        program: &args.redis_benchmark,
        host: &redis_host,
        port: redis_port,
        requests: args.claims,
        clients: args.concurrency,
        quantity: args.quantity,
        time_limit: args.time_limit,
    };
    let ceiling = redis_bench::run(&redis, &run_id, &plan).await?;

    let event_id =
        claims::create_event(channels[0].clone(), &admin, &run_id, args.quantity).await?;
    eprintln!(
        "ClaimCoupon: {} claims for {} coupons of event {event_id}...",
        args.claims, args.quantity
    );
    let tally = Arc::new(Tally::default());
    let scenario = claims::claim(
        &channels,
        event_id.clone(),
        guests.into(),
        Arc::clone(&tally),
        args.quantity,
    );
    let report = load::run(&settings, scenario).await?;
    let event = claims::event(channels[0].clone(), &event_id).await?;

    let baseline = echo.req_per_sec;
    let output = Output {
        coupon_target: args.coupon_target,
        redis: format!("{redis_host}:{redis_port}"),
        cores,
        claims: args.claims,
        quantity: args.quantity,
        settings,
        echo_warmup_secs: ECHO_WARMUP.as_secs_f64(),
        token_presign_secs: presign.as_secs_f64(),
        event_id,
        scenarios: vec![
            grpc_row("echo (bare tonic)".to_owned(), echo, baseline),
            grpc_row(
                format!(
                    "ClaimCoupon ({} claims, {} coupons)",
                    thousands(args.claims),
                    thousands(args.quantity)
                ),
                report,
                baseline,
            ),
            redis_row(&ceiling, baseline),
        ],
        sell_out_secs: tally.sell_out().map(|d| d.as_secs_f64()),
        results: tally.counts(),
        event_state: event
            .state()
            .as_str_name()
            .trim_start_matches("ISSUANCE_EVENT_STATE_")
            .to_owned(),
        event_issued: event.issued,
        redis_benchmark_claimed: ceiling.claimed,
        redis_benchmark_stock_left: ceiling.stock_left,
    };
    if args.json {
        println!("{}", serde_json::to_string_pretty(&output)?);
    } else {
        print_table(&output);
    }

    let claimed = output.results.claimed;
    if claimed != args.quantity {
        let claim_row = &output.scenarios[1];
        let made = claim_row.requests + claim_row.errors.unwrap_or_default();
        bail!(
            "!!! CLAIMED {claimed} times, not exactly {}: the event {} !!! \
             ({made} of {} claims answered within --time-limit {:?})",
            args.quantity,
            if claimed > args.quantity {
                "was OVERSOLD"
            } else {
                "did not sell out"
            },
            args.claims,
            args.time_limit
        );
    }
    claims::check_event(&event, args.quantity)
}

/// `127.0.0.1` and `6379` of `redis://127.0.0.1:6379`; loopback only, like
/// the gRPC targets.
fn redis_address(url: &str) -> anyhow::Result<(String, u16)> {
    let uri: http::Uri = url
        .parse()
        .with_context(|| format!("--redis-url {url:?} is not a URL"))?;
    if uri.scheme_str() != Some("redis") {
        bail!("--redis-url must start with redis://, got {url:?}");
    }
    let host = uri.host().unwrap_or_default();
    if !loopback_host(host) {
        bail!(
            "--redis-url host {host:?} is not loopback; this tool only loads 127.0.0.0/8, localhost or [::1]"
        );
    }
    // redis-benchmark's -h takes `::1`, not `[::1]`.
    let bare = host.trim_start_matches('[').trim_end_matches(']');
    Ok((bare.to_owned(), uri.port_u16().unwrap_or(6379)))
}

fn grpc_row(scenario: String, report: Report, echo_req_per_sec: f64) -> Row {
    Row {
        scenario,
        requests: report.ok,
        req_per_sec: report.req_per_sec,
        p50_ms: report.p50_ms,
        p90_ms: Some(report.p90_ms),
        p95_ms: None,
        p99_ms: report.p99_ms,
        max_ms: report.max_ms,
        errors: Some(report.errors),
        first_error: report.first_error,
        vs_echo: ratio(report.req_per_sec, echo_req_per_sec),
    }
}

fn redis_row(measured: &Measured, echo_req_per_sec: f64) -> Row {
    Row {
        scenario: "redis-benchmark EVALSHA claim script".to_owned(),
        requests: measured.requests,
        req_per_sec: measured.req_per_sec,
        p50_ms: measured.p50_ms,
        p90_ms: None,
        p95_ms: Some(measured.p95_ms),
        p99_ms: measured.p99_ms,
        max_ms: measured.max_ms,
        errors: None,
        first_error: None,
        vs_echo: ratio(measured.req_per_sec, echo_req_per_sec),
    }
}

fn ratio(req_per_sec: f64, echo_req_per_sec: f64) -> f64 {
    if echo_req_per_sec > 0.0 {
        req_per_sec / echo_req_per_sec
    } else {
        0.0
    }
}

/// `300k` for 300000, the exact number otherwise.
fn thousands(n: u64) -> String {
    if n >= 1000 && n.is_multiple_of(1000) {
        format!("{}k", n / 1000)
    } else {
        n.to_string()
    }
}

fn print_table(output: &Output) {
    let s = &output.settings;
    println!(
        "coupon target {}  redis {}  cores {}",
        output.coupon_target, output.redis, output.cores
    );
    println!(
        "{} claims by distinct guests for {} coupons; concurrency {}, connections {}, time limit {:?}",
        output.claims, output.quantity, s.concurrency, s.connections, s.duration
    );
    println!(
        "token pre-sign: {} guest tokens in {:.2}s (not measured below)",
        output.claims, output.token_presign_secs
    );
    println!();
    println!(
        "{:<42} {:>9} {:>9} {:>7} {:>7} {:>7} {:>8} {:>7} {:>8}",
        "scenario",
        "requests",
        "req/s",
        "p50 ms",
        "p90 ms",
        "p99 ms",
        "max ms",
        "errors",
        "vs echo"
    );
    for row in &output.scenarios {
        let p90 = row
            .p90_ms
            .map_or_else(|| "-".to_owned(), |p| format!("{p:.2}"));
        let errors = row.errors.map_or_else(|| "-".to_owned(), |e| e.to_string());
        println!(
            "{:<42} {:>9} {:>9.0} {:>7.2} {:>7} {:>7.2} {:>8.1} {:>7} {:>8.3}",
            row.scenario,
            row.requests,
            row.req_per_sec,
            row.p50_ms,
            p90,
            row.p99_ms,
            row.max_ms,
            errors,
            row.vs_echo
        );
    }
    for row in &output.scenarios {
        if let Some(p95) = row.p95_ms {
            println!(
                "{}: p95 {p95:.2} ms (redis-benchmark reports p95, not p90, and counts no errors)",
                row.scenario
            );
        }
    }
    for row in &output.scenarios {
        if let Some(error) = &row.first_error {
            println!("{}: first error: {error}", row.scenario);
        }
    }
    println!();
    match output.sell_out_secs {
        Some(secs) => println!(
            "sell-out: the {}th CLAIMED answer came {secs:.3}s after the first claim was sent",
            output.quantity
        ),
        None => println!("sell-out: NEVER, the event did not sell out"),
    }
    let r = &output.results;
    println!(
        "results: CLAIMED {}  SOLD_OUT {}  ALREADY_CLAIMED {}  NOT_OPEN {}  UNSPECIFIED {}",
        r.claimed, r.sold_out, r.already_claimed, r.not_open, r.unspecified
    );
    println!(
        "event {}: {} issued, state {} (GetIssuanceEvent after the run)",
        output.event_id, output.event_issued, output.event_state
    );
    println!(
        "redis-benchmark event: {} claimed, stock left {} (keys deleted)",
        output.redis_benchmark_claimed, output.redis_benchmark_stock_left
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_loopback_redis() {
        assert_eq!(
            redis_address("redis://127.0.0.1:6379").ok(),
            Some(("127.0.0.1".to_owned(), 6379))
        );
        assert_eq!(
            redis_address("redis://localhost").ok(),
            Some(("localhost".to_owned(), 6379))
        );
        for bad in [
            "redis://10.0.0.1:6379",
            "rediss://127.0.0.1:6379",
            "http://127.0.0.1:6379",
        ] {
            assert!(redis_address(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn short_counts() {
        assert_eq!(thousands(300_000), "300k");
        assert_eq!(thousands(100_000), "100k");
        assert_eq!(thousands(1_500), "1500");
        assert_eq!(thousands(7), "7");
    }
}
