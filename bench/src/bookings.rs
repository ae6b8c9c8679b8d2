//! `staymesh-bench bookings`: whole bookings per second, the way guests make
//! them: CreateBooking, WatchBooking until AWAITING_PAYMENT, pay at the
//! sandbox PG's checkout (which approves at once and sends the browser back
//! to the edge), and watch on until CONFIRMED. A call is one booking from
//! CreateBooking to CONFIRMED, so req/s is confirmed sagas per second and
//! the latencies are a guest's wait. Each worker is a guest of its own,
//! booking a random room type of the seeded properties for 1-2 nights
//! 30-330 days ahead, so bookings rarely meet on one night.
//!
//! In the same run pgbench runs its TPC-B transaction on the same Postgres
//! (a scratch database it creates and drops): a booking is worth comparing
//! with a handful of small write transactions, since each saga commits
//! about twenty across the services.
//!
//! Load only ever goes to loopback addresses. Every measured booking stays
//! in the deployment's data as a CONFIRMED booking of a bench guest.

use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context as _, bail};
use clap::Args;
use rand::rngs::StdRng;
use rand::{Rng as _, SeedableRng as _};
use serde::Serialize;
use staymesh_platform::convert::{to_proto_date, today};
use staymesh_proto::accommodation::GetPropertyRequest;
use staymesh_proto::accommodation::accommodation_service_client::AccommodationServiceClient;
use staymesh_proto::booking::booking_service_client::BookingServiceClient;
use staymesh_proto::booking::{BookingState, CreateBookingRequest, WatchBookingRequest};
use tonic::Status;
use tonic::transport::Channel;

use crate::load::{self, Call, Settings};
use crate::tokens::{self, Bearer};
use crate::{LoadArgs, Row, ensure_loopback, loopback_host, print_results, row, scenarios};

/// The sandbox card that is approved at once.
const CARD_OK: &str = "4242424242424242";
/// A whole booking may take this long before it counts as failed.
const BOOKING_TIMEOUT: Duration = Duration::from_secs(60);
/// pgbench's scale: 10 branches, a million accounts.
const PGBENCH_SCALE: &str = "10";

/// Books and pays whole stays, next to pgbench's TPC-B on the same Postgres.
#[derive(Debug, Args)]
pub(crate) struct BookingArgs {
    /// Booking gRPC URL; must be a loopback address.
    #[arg(long, default_value = "http://127.0.0.1:50053")]
    booking_target: String,
    /// Accommodation gRPC URL, for the seeded room types; loopback only.
    #[arg(long, default_value = "http://127.0.0.1:50052")]
    accommodation_target: String,
    /// The Postgres pgbench loads (a scratch database next to this one).
    #[arg(
        long,
        env = "STAYMESH_POSTGRES_URL",
        default_value = "postgres://staymesh:staymesh@127.0.0.1:5432/postgres"
    )]
    postgres_url: String,
    /// pgbench's clients.
    #[arg(long, default_value_t = 16, value_parser = clap::value_parser!(u32).range(1..=256))]
    pgbench_clients: u32,
    #[command(flatten)]
    load: LoadArgs,
}

/// Everything the booking mode prints.
#[derive(Debug, Serialize)]
struct Output {
    booking_target: String,
    cores: usize,
    room_types: usize,
    settings: Settings,
    scenarios: Vec<Row>,
    pgbench_tps: f64,
    /// Confirmed bookings per second over pgbench's transactions per second.
    confirmed_per_pgbench_tx: f64,
}

pub(crate) async fn run(args: BookingArgs) -> anyhow::Result<()> {
    ensure_loopback("--booking-target", &args.booking_target)?;
    ensure_loopback("--accommodation-target", &args.accommodation_target)?;
    ensure_loopback_postgres(&args.postgres_url)?;
    let mut settings = args.load.settings();
    settings.call_timeout = BOOKING_TIMEOUT;
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let unreachable =
        |target: &str| format!("cannot reach {target} (is staymesh running? `make up` starts it)");
    let accommodation = scenarios::connect(&args.accommodation_target, 1)
        .await
        .with_context(|| unreachable(&args.accommodation_target))?
        .remove(0);
    let channels = scenarios::connect(&args.booking_target, settings.connections)
        .await
        .with_context(|| unreachable(&args.booking_target))?;
    let room_types: Arc<[String]> = room_types(accommodation).await?.into();
    eprintln!("{} seeded room types", room_types.len());
    let key = tokens::signing_key()?;
    let guests = (0..settings.concurrency)
        .map(|_| tokens::guest(&key, &uuid::Uuid::now_v7().to_string()))
        .collect::<anyhow::Result<Vec<_>>>()?;
    // Without redirects: the PG's 303 back to the edge is followed by hand,
    // as a GET, which is what the browser does.
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .pool_max_idle_per_host(settings.concurrency)
        .build()?;

    eprintln!(
        "booking and paying through {} ({} guests at once)...",
        args.booking_target, settings.concurrency
    );
    let report = load::run(&settings, bookings(&channels, &guests, &room_types, &http)).await?;
    eprintln!("pgbench TPC-B, scale {PGBENCH_SCALE}...");
    let pgbench_tps = pgbench(&args.postgres_url, args.pgbench_clients, settings.duration).await?;
    let confirmed_per_pgbench_tx = if pgbench_tps > 0.0 {
        report.req_per_sec / pgbench_tps
    } else {
        0.0
    };
    // The booking row's "vs echo" column is its ratio to pgbench here.
    let output = Output {
        booking_target: args.booking_target,
        cores,
        room_types: room_types.len(),
        settings,
        scenarios: vec![row("booking -> CONFIRMED", report, pgbench_tps)],
        pgbench_tps,
        confirmed_per_pgbench_tx,
    };
    print_results(
        &output,
        &output.scenarios,
        &output.settings,
        args.load.json,
        &format!(
            "booking {}  cores {}  room types {}  pgbench TPC-B {:.0} tps ({} clients, same Postgres)",
            output.booking_target,
            output.cores,
            output.room_types,
            output.pgbench_tps,
            args.pgbench_clients
        ),
        "req/s = confirmed bookings per second; latency from CreateBooking to CONFIRMED; \
         'vs echo' is the ratio to pgbench's TPC-B transactions per second",
    )
}

/// Every room type of the seeded properties.
async fn room_types(channel: Channel) -> anyhow::Result<Vec<String>> {
    let ids = scenarios::seeded_property_ids(channel.clone()).await?;
    let mut client = AccommodationServiceClient::new(channel);
    let mut room_types = Vec::new();
    for property_id in ids {
        let property = client
            .get_property(GetPropertyRequest { property_id })
            .await
            .context("GetProperty")?
            .into_inner()
            .property
            .context("GetProperty answered no property")?;
        room_types.extend(property.room_types.into_iter().map(|r| r.room_type_id));
    }
    if room_types.is_empty() {
        bail!("the seeded properties have no room types: run `make up`");
    }
    Ok(room_types)
}

/// Worker calls: guest `worker` books a random stay and pays it; Ok once CONFIRMED.
fn bookings(
    channels: &[Channel],
    guests: &[Bearer],
    room_types: &Arc<[String]>,
    http: &reqwest::Client,
) -> impl FnMut(usize) -> Call {
    let channels = channels.to_vec();
    let guests = guests.to_vec();
    let room_types = Arc::clone(room_types);
    let http = http.clone();
    move |worker| {
        let client = BookingServiceClient::new(channels[worker % channels.len()].clone());
        let guest = guests[worker % guests.len()].clone();
        let (room_types, http) = (Arc::clone(&room_types), http.clone());
        let mut rng = StdRng::seed_from_u64(worker as u64);
        Box::new(move || {
            let room_type_id = room_types[rng.random_range(0..room_types.len())].clone();
            let check_in = today() + chrono::Duration::days(rng.random_range(30..330));
            let nights = rng.random_range(1..=2);
            let request = CreateBookingRequest {
                room_type_id,
                check_in: Some(to_proto_date(check_in)),
                check_out: Some(to_proto_date(check_in + chrono::Duration::days(nights))),
                guests: 1,
                idempotency_key: uuid::Uuid::now_v7().to_string(),
                ..Default::default()
            };
            let (client, guest, http) = (client.clone(), guest.clone(), http.clone());
            Box::pin(book_and_pay(client, guest, http, request))
        })
    }
}

/// One guest's booking from CreateBooking to CONFIRMED.
async fn book_and_pay(
    mut client: BookingServiceClient<Channel>,
    guest: Bearer,
    http: reqwest::Client,
    request: CreateBookingRequest,
) -> Result<(), Status> {
    let mut create = tonic::Request::new(request);
    create.metadata_mut().insert("authorization", guest.clone());
    let booking = client
        .create_booking(create)
        .await?
        .into_inner()
        .booking
        .ok_or_else(|| Status::internal("CreateBooking answered no booking"))?;
    let mut watch = tonic::Request::new(WatchBookingRequest {
        booking_id: booking.booking_id.clone(),
    });
    watch.metadata_mut().insert("authorization", guest);
    let mut updates = client.watch_booking(watch).await?.into_inner();
    let mut paid = false;
    while let Some(update) = updates.message().await? {
        let Some(booking) = update.booking else {
            continue;
        };
        match booking.state() {
            BookingState::AwaitingPayment if !paid => {
                pay(&http, &booking.checkout_url).await?;
                paid = true;
            }
            BookingState::Confirmed => return Ok(()),
            BookingState::Cancelled => {
                return Err(Status::aborted(format!(
                    "booking {} cancelled: {}",
                    booking.booking_id, booking.cancel_reason
                )));
            }
            _ => {}
        }
    }
    Err(Status::unknown("the watch ended before the booking did"))
}

/// Pays at the sandbox checkout and follows the PG's redirect to the edge.
async fn pay(http: &reqwest::Client, checkout_url: &str) -> Result<(), Status> {
    let unavailable = |e: reqwest::Error| Status::unavailable(e.to_string());
    let form = http
        .post(checkout_url)
        .form(&[("cardNumber", CARD_OK), ("action", "pay")])
        .send()
        .await
        .map_err(unavailable)?;
    let back = form
        .headers()
        .get("location")
        .and_then(|l| l.to_str().ok())
        .ok_or_else(|| Status::unknown(format!("the checkout answered {}", form.status())))?
        .to_owned();
    let approved = http.get(&back).send().await.map_err(unavailable)?;
    if approved.status().is_success() {
        Ok(())
    } else {
        Err(Status::unknown(format!(
            "the return to the edge answered {}",
            approved.status()
        )))
    }
}

/// The scratch database pgbench fills, created and dropped by this run.
const SCRATCH: &str = "staymesh_bench_pgbench";

/// Refuses a Postgres URL whose host is not loopback: pgbench writes.
fn ensure_loopback_postgres(url: &str) -> anyhow::Result<()> {
    let uri: http::Uri = url
        .parse()
        .with_context(|| format!("--postgres-url {url:?} is not a URL"))?;
    if !matches!(uri.scheme_str(), Some("postgres" | "postgresql")) {
        bail!("--postgres-url must start with postgres://, got {url:?}");
    }
    let host = uri.host().unwrap_or_default();
    if !loopback_host(host) {
        bail!(
            "--postgres-url host {host:?} is not loopback; pgbench only runs on a local Postgres"
        );
    }
    Ok(())
}

/// `url` with its database name replaced by `database`, query kept.
fn with_database(url: &str, database: &str) -> String {
    let (base, query) = url
        .split_once('?')
        .map_or((url, None), |(b, q)| (b, Some(q)));
    let server = match base.rsplit_once('/') {
        // `postgres://host/db`: the last slash is after the authority.
        Some((server, _)) if server.contains("//") && !server.ends_with('/') => server,
        _ => base.trim_end_matches('/'),
    };
    match query {
        Some(query) => format!("{server}/{database}?{query}"),
        None => format!("{server}/{database}"),
    }
}

/// pgbench's TPC-B on a scratch database next to `postgres`, for
/// `duration`; its transactions per second.
async fn pgbench(postgres: &str, clients: u32, duration: Duration) -> anyhow::Result<f64> {
    let scratch = with_database(postgres, SCRATCH);
    let admin = postgres;
    let psql = |sql: String| {
        let mut command = tokio::process::Command::new("psql");
        command.args(["-X", "-q", "-v", "ON_ERROR_STOP=1", admin, "-c", &sql]);
        command
    };
    command_output(psql(format!("DROP DATABASE IF EXISTS {SCRATCH}"))).await?;
    command_output(psql(format!("CREATE DATABASE {SCRATCH}"))).await?;
    let mut init = tokio::process::Command::new("pgbench");
    init.args(["-i", "-q", "-s", PGBENCH_SCALE, &scratch]);
    command_output(init).await?;
    let mut bench = tokio::process::Command::new("pgbench");
    let seconds = duration.as_secs().max(1).to_string();
    let clients = clients.to_string();
    let threads = std::thread::available_parallelism()
        .map_or(1, |n| n.get())
        .to_string();
    bench.args([
        "-n", "-c", &clients, "-j", &threads, "-T", &seconds, &scratch,
    ]);
    let printed = command_output(bench).await;
    command_output(psql(format!("DROP DATABASE IF EXISTS {SCRATCH}"))).await?;
    let printed = printed?;
    printed
        .lines()
        .find_map(|line| {
            let rest = line.strip_prefix("tps = ")?;
            rest.split_whitespace().next()?.parse::<f64>().ok()
        })
        .with_context(|| format!("no `tps = ` line in pgbench's output:\n{printed}"))
}

/// Runs `command`; its standard output, or an error with its standard error.
async fn command_output(mut command: tokio::process::Command) -> anyhow::Result<String> {
    let program = format!("{:?}", command.as_std().get_program());
    let output = command
        .kill_on_drop(true)
        .output()
        .await
        .with_context(|| format!("cannot run {program} (is Postgres installed? `make up`)"))?;
    if !output.status.success() {
        bail!(
            "{program} failed: {}",
            String::from_utf8_lossy(&output.stderr)
        );
    }
    Ok(String::from_utf8_lossy(&output.stdout).into_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_scratch_database_replaces_the_url_s_own() {
        let scratch = |url| with_database(url, "scratch");
        assert_eq!(
            scratch("postgres://u:p@127.0.0.1:5432/postgres"),
            "postgres://u:p@127.0.0.1:5432/scratch"
        );
        assert_eq!(
            scratch("postgres://127.0.0.1/app?sslmode=disable"),
            "postgres://127.0.0.1/scratch?sslmode=disable"
        );
        assert_eq!(
            scratch("postgres://127.0.0.1"),
            "postgres://127.0.0.1/scratch"
        );
    }

    #[test]
    fn pgbench_only_loads_a_local_postgres() {
        assert!(ensure_loopback_postgres("postgres://u:p@127.0.0.1:5432/postgres").is_ok());
        assert!(ensure_loopback_postgres("postgres://u:p@db.example.com/postgres").is_err());
        assert!(ensure_loopback_postgres("http://127.0.0.1/postgres").is_err());
    }
}
