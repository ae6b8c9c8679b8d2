//! `staymesh-bench`: loads the accommodation service's GetProperty and
//! SearchAvailability on the seeded data and prints req/s and latency next
//! to the same loop's figures for a bare tonic echo server started in this
//! run, so the numbers read as "this fraction of what tonic alone does here".
//! `staymesh-bench coupons` instead sells out a coupon issuance event through
//! ClaimCoupon, next to the same echo and redis-benchmark running the claim
//! script (see `coupons.rs`). `staymesh-bench points` loads GetBalance and
//! ReservePoints+ReleasePoints next to the same echo (see `points.rs`).
//! `staymesh-bench payments` times the browser's return from the PG to a
//! PAID payment through the edge, next to the same echo (see `payments.rs`).
//! `staymesh-bench bookings` books and pays whole stays through the saga,
//! next to pgbench's TPC-B on the same Postgres (see `bookings.rs`).
//! `staymesh-bench queue` runs a crowd through one waiting room of a queue
//! process it starts (see `queue.rs`).
//!
//! Load only ever goes to loopback addresses.

/// The same allocator as the staymesh binary, so the in-process echo
/// baseline is built the way the services are.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

mod bookings;
mod claims;
mod coupons;
mod echo;
mod load;
mod payments;
mod points;
mod queue;
mod redis_bench;
mod scenarios;
mod tokens;

use std::net::IpAddr;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context as _, bail};
use clap::{Parser, Subcommand};
use prost::Message as _;
use serde::Serialize;
use staymesh_proto::accommodation::GetPropertyRequest;

use crate::load::{Report, Settings};

/// Loads GetProperty and SearchAvailability next to a bare tonic echo baseline.
#[derive(Debug, Parser)]
#[command(
    name = "staymesh-bench",
    version,
    args_conflicts_with_subcommands = true
)]
struct Args {
    /// Another mode than the default accommodation load.
    #[command(subcommand)]
    mode: Option<Mode>,
    /// Accommodation gRPC URL; must be a loopback address.
    #[arg(long, default_value = "http://127.0.0.1:50052")]
    target: String,
    /// Decode every GetProperty and SearchAvailability answer into its
    /// message (the client's work then takes cores from the server's share);
    /// by default each worker decodes and checks its first answer only and
    /// takes the rest as bytes, as the echo client does.
    #[arg(long)]
    decode: bool,
    #[command(flatten)]
    load: LoadArgs,
}

/// How a timed mode loads its target: shared by the default and point modes.
#[derive(Debug, Clone, clap::Args)]
struct LoadArgs {
    /// Measured time per scenario, e.g. 10s, 500ms, 1m.
    #[arg(long, default_value = "10s", value_parser = parse_duration)]
    duration: Duration,
    /// Warm-up before each scenario's measurement (results dropped); 0 for none.
    #[arg(long, default_value = "2s", value_parser = parse_duration)]
    warmup: Duration,
    /// Requests in flight at once.
    #[arg(long, default_value_t = 64, value_parser = clap::value_parser!(u32).range(1..=4096))]
    concurrency: u32,
    /// HTTP/2 connections the requests share.
    #[arg(long, default_value_t = 4, value_parser = clap::value_parser!(u32).range(1..=256))]
    connections: u32,
    /// Most measured requests per scenario, whatever the duration.
    #[arg(long, default_value_t = 2_000_000, value_parser = clap::value_parser!(u64).range(1..=100_000_000))]
    max_requests: u64,
    /// Print the results as JSON instead of a table.
    #[arg(long)]
    json: bool,
}

impl LoadArgs {
    fn settings(&self) -> Settings {
        Settings {
            warmup: self.warmup,
            duration: self.duration,
            concurrency: self.concurrency as usize,
            connections: self.connections as usize,
            max_requests: self.max_requests,
            call_timeout: load::CALL_TIMEOUT,
        }
    }
}

#[derive(Debug, Subcommand)]
enum Mode {
    Coupons(coupons::CouponArgs),
    Points(points::PointArgs),
    Payments(payments::PaymentArgs),
    Bookings(bookings::BookingArgs),
    Queue(queue::QueueArgs),
}

/// One row of the results.
#[derive(Debug, Serialize)]
struct Row {
    scenario: &'static str,
    #[serde(flatten)]
    report: Report,
    /// This scenario's req/s over the echo baseline's.
    vs_echo: f64,
}

/// Everything a run prints.
#[derive(Debug, Serialize)]
struct Output {
    target: String,
    cores: usize,
    seeded_properties: usize,
    /// Every answer decoded by the client (`--decode`), or each worker's first.
    decode_every_answer: bool,
    settings: Settings,
    scenarios: Vec<Row>,
}

#[tokio::main]
async fn main() -> ExitCode {
    let args = Args::parse();
    let outcome = match args.mode {
        Some(Mode::Coupons(coupon_args)) => coupons::run(coupon_args).await,
        Some(Mode::Points(point_args)) => points::run(point_args).await,
        Some(Mode::Payments(payment_args)) => payments::run(payment_args).await,
        Some(Mode::Bookings(booking_args)) => bookings::run(booking_args).await,
        Some(Mode::Queue(queue_args)) => queue::run(queue_args).await,
        None => run(args).await,
    };
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("staymesh-bench: {e:#}");
            ExitCode::FAILURE
        }
    }
}

async fn run(args: Args) -> anyhow::Result<()> {
    ensure_loopback("--target", &args.target)?;
    let settings = args.load.settings();
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());

    let channels = scenarios::connect(&args.target, settings.connections)
        .await
        .with_context(|| {
            format!(
                "cannot reach {} (is staymesh running? `make up` starts it)",
                args.target
            )
        })?;
    let ids = scenarios::seeded_property_ids(channels[0].clone()).await?;
    let found = scenarios::sample_search(channels[0].clone()).await?;
    eprintln!(
        "{} seeded properties on {}; a sample search returns {found} results",
        ids.len(),
        args.target
    );

    // The echo request is the size of a real GetProperty request.
    let payload = GetPropertyRequest {
        property_id: ids[0].clone(),
    }
    .encode_to_vec()
    .into();
    let server = echo::start().await?;
    let echo_channels =
        scenarios::connect(&format!("http://{}", server.addr), settings.connections).await?;
    let mut rows = Vec::new();
    eprintln!("echo (in-process, {})...", server.addr);
    let echo = load::run(&settings, scenarios::echo(&echo_channels, payload)).await?;
    drop(echo_channels);
    server.stop().await?;
    let baseline = echo.req_per_sec;
    rows.push(row("echo (bare tonic)", echo, baseline));

    let seeded_properties = ids.len();
    let ids: Arc<[String]> = ids.into();
    eprintln!("GetProperty...");
    let report = load::run(
        &settings,
        scenarios::get_property(&channels, ids, args.decode),
    )
    .await?;
    rows.push(row("GetProperty", report, baseline));
    eprintln!("SearchAvailability...");
    let report = load::run(&settings, scenarios::search(&channels, args.decode)).await?;
    rows.push(row("SearchAvailability", report, baseline));

    let output = Output {
        target: args.target,
        cores,
        seeded_properties,
        decode_every_answer: args.decode,
        settings,
        scenarios: rows,
    };
    if args.load.json {
        println!("{}", serde_json::to_string_pretty(&output)?);
    } else {
        print_table(&output);
    }
    Ok(())
}

fn row(scenario: &'static str, report: Report, echo_req_per_sec: f64) -> Row {
    let vs_echo = if echo_req_per_sec > 0.0 {
        report.req_per_sec / echo_req_per_sec
    } else {
        0.0
    };
    Row {
        scenario,
        report,
        vs_echo,
    }
}

fn print_table(output: &Output) {
    let s = &output.settings;
    println!(
        "target {}  cores {}  seeded properties {}",
        output.target, output.cores, output.seeded_properties
    );
    println!(
        "per scenario: warmup {:?}, duration {:?}, concurrency {}, connections {}, max requests {}",
        s.warmup, s.duration, s.concurrency, s.connections, s.max_requests
    );
    println!(
        "answers decoded by the client: {}",
        if output.decode_every_answer {
            "all (--decode)"
        } else {
            "each worker's first, checked; the rest taken as bytes, as echo's"
        }
    );
    println!();
    print_rows(&output.scenarios);
}

/// Prints a timed mode's results: the JSON of `output`, or `header`, the
/// per-scenario settings (then `note`) and the table of `rows`. Fails, after
/// the table, when a scenario completed no request.
fn print_results<T: Serialize>(
    output: &T,
    rows: &[Row],
    settings: &Settings,
    json: bool,
    header: &str,
    note: &str,
) -> anyhow::Result<()> {
    if rows.iter().any(|r| r.report.ok == 0) {
        print_rows(rows);
        bail!("a scenario completed no request");
    }
    if json {
        println!("{}", serde_json::to_string_pretty(output)?);
        return Ok(());
    }
    let s = settings;
    println!("{header}");
    println!(
        "per scenario: warmup {:?}, duration {:?}, concurrency {}, connections {}, max requests {}; {note}",
        s.warmup, s.duration, s.concurrency, s.connections, s.max_requests
    );
    println!();
    print_rows(rows);
    Ok(())
}

/// The results table: one row a scenario, then each scenario's first error.
fn print_rows(rows: &[Row]) {
    println!(
        "{:<20} {:>10} {:>10} {:>8} {:>8} {:>8} {:>8} {:>8} {:>8}",
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
    for row in rows {
        let r = &row.report;
        println!(
            "{:<20} {:>10} {:>10.0} {:>8.2} {:>8.2} {:>8.2} {:>8.1} {:>8} {:>8.3}",
            row.scenario,
            r.ok,
            r.req_per_sec,
            r.p50_ms,
            r.p90_ms,
            r.p99_ms,
            r.max_ms,
            r.errors,
            row.vs_echo
        );
    }
    for row in rows {
        if let Some(error) = &row.report.first_error {
            println!("{}: first error: {error}", row.scenario);
        }
    }
}

/// Refuses anything but plaintext HTTP to 127.0.0.0/8, `localhost` or `[::1]`;
/// `flag` names the option in the error.
fn ensure_loopback(flag: &str, target: &str) -> anyhow::Result<()> {
    let uri: http::Uri = target
        .parse()
        .with_context(|| format!("{flag} {target:?} is not a URL"))?;
    if uri.scheme_str() != Some("http") {
        bail!("{flag} must start with http:// (plaintext gRPC), got {target:?}");
    }
    let host = uri.host().unwrap_or_default();
    if !loopback_host(host) {
        bail!(
            "{flag} host {host:?} is not loopback; this tool only loads 127.0.0.0/8, localhost or [::1]"
        );
    }
    Ok(())
}

/// Whether a URL's host is `localhost`, in 127.0.0.0/8 or `[::1]`.
fn loopback_host(host: &str) -> bool {
    let bare = host.trim_start_matches('[').trim_end_matches(']');
    bare.eq_ignore_ascii_case("localhost")
        || bare.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

/// `10s`, `500ms`, `1m`, or a bare number of seconds; at most an hour.
fn parse_duration(text: &str) -> Result<Duration, String> {
    let (number, unit) = if let Some(n) = text.strip_suffix("ms") {
        (n, 0.001)
    } else if let Some(n) = text.strip_suffix('s') {
        (n, 1.0)
    } else if let Some(n) = text.strip_suffix('m') {
        (n, 60.0)
    } else {
        (text, 1.0)
    };
    let value: f64 = number
        .trim()
        .parse()
        .map_err(|_| format!("{text:?} is not a duration like 10s, 500ms or 1m"))?;
    let secs = value * unit;
    if !(0.0..=3600.0).contains(&secs) {
        return Err(format!("{text:?} is outside 0s..=1h"));
    }
    Ok(Duration::from_secs_f64(secs))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_loopback_targets() {
        for ok in [
            "http://127.0.0.1:50052",
            "http://127.8.9.10:1",
            "http://localhost:50052",
            "http://[::1]:50052",
        ] {
            assert!(ensure_loopback("--target", ok).is_ok(), "{ok}");
        }
        for bad in [
            "http://10.0.0.1:50052",
            "http://example.com",
            "https://127.0.0.1:50052",
            "http://[::2]:1",
            "127.0.0.1:50052",
        ] {
            assert!(ensure_loopback("--target", bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn durations() {
        assert_eq!(parse_duration("10s"), Ok(Duration::from_secs(10)));
        assert_eq!(parse_duration("500ms"), Ok(Duration::from_millis(500)));
        assert_eq!(parse_duration("1m"), Ok(Duration::from_secs(60)));
        assert_eq!(parse_duration("0"), Ok(Duration::ZERO));
        assert!(parse_duration("-1s").is_err());
        assert!(parse_duration("2h").is_err());
    }
}
