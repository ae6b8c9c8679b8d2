//! `staymesh-bench queue`: a sale-day crowd at one waiting room. Starts one
//! `staymesh queue` process of its own (the binary next to this one, on the
//! local Postgres and Redis, under Redis keys of its own), then:
//!
//! 1. `--users` guests enter at once (`--concurrency` in flight): enters per
//!    second and latency, next to a bare tonic echo under the same load in
//!    the same run;
//! 2. every guest opens WatchPosition and keeps it open: how many streams
//!    the one process holds at once, and its RSS before and with them;
//! 3. the queue admits at `--rate`: the admission rate achieved against the
//!    configured one, and how many watchers saw their own admission.
//!
//! Load only ever goes to loopback addresses.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};
use clap::Args;
use futures::StreamExt;
use serde::Serialize;
use staymesh_platform::auth::jwt::SigningKey;
use staymesh_proto::queue as pb;
use staymesh_proto::queue::queue_service_client::QueueServiceClient;
use tonic::transport::Channel;

use crate::load::{self, Report};
use crate::{echo, parse_duration, scenarios, tokens};

/// Runs a crowd through one waiting room.
#[derive(Debug, Args)]
pub(crate) struct QueueArgs {
    /// Guests: each enters once and watches until admitted.
    #[arg(long, default_value_t = 50_000, value_parser = clap::value_parser!(u64).range(1..=200_000))]
    users: u64,
    /// Users the queue admits per second in the admission phase.
    #[arg(long, default_value_t = 2_000, value_parser = clap::value_parser!(i32).range(1..=10_000))]
    rate: i32,
    /// Enter calls in flight at once (and the echo baseline's).
    #[arg(long, default_value_t = 256, value_parser = clap::value_parser!(u32).range(1..=4096))]
    concurrency: u32,
    /// HTTP/2 connections the enters share.
    #[arg(long, default_value_t = 8, value_parser = clap::value_parser!(u32).range(1..=256))]
    connections: u32,
    /// HTTP/2 connections the watch streams share (at most a few hundred
    /// streams on each).
    #[arg(long, default_value_t = 256, value_parser = clap::value_parser!(u32).range(1..=1024))]
    watch_connections: u32,
    /// The whole run stops after this, e.g. 5m.
    #[arg(long, default_value = "5m", value_parser = parse_duration)]
    time_limit: Duration,
    /// Print the results as JSON instead of a table.
    #[arg(long)]
    json: bool,
}

/// Everything the queue mode prints.
#[derive(Debug, Serialize)]
struct Output {
    users: u64,
    cores: usize,
    echo: Report,
    enter: Report,
    enters_vs_echo: f64,
    /// Watch streams open at once in the one queue process.
    streams_held: u64,
    /// Seconds from the first watch call to the last stream's first update.
    streams_open_secs: f64,
    rss_mb_before_streams: f64,
    rss_mb_with_streams: f64,
    configured_rate: i32,
    achieved_rate: f64,
    /// Watchers whose stream showed their ADMITTED ticket.
    watchers_admitted: u64,
}

/// The queue process this run started; killed when dropped.
struct QueueProcess {
    child: tokio::process::Child,
    url: String,
}

impl QueueProcess {
    async fn start(key: &SigningKey, run: &str) -> anyhow::Result<Self> {
        let exe = std::env::current_exe()?;
        let binary = exe.with_file_name("staymesh");
        if !binary.is_file() {
            bail!(
                "{} is missing: build it with `cargo build --release -p staymesh` \
                 (`make bench-queue` does)",
                binary.display()
            );
        }
        let port = free_port()?;
        let public = key.public_key();
        let child = tokio::process::Command::new(&binary)
            .arg("queue")
            .env("STAYMESH_QUEUE_PORT", port.to_string())
            .env("STAYMESH_QUEUE_METRICS_PORT", free_port()?.to_string())
            .env("STAYMESH_REDIS_PREFIX", format!("bench-queue-{run}"))
            .env(
                "STAYMESH_JWT_PUBLIC_KEYS",
                format!("{}:{}", public.kid, public.x),
            )
            .env("RUST_LOG", "warn")
            .kill_on_drop(true)
            .spawn()
            .with_context(|| format!("starting {}", binary.display()))?;
        Ok(Self {
            child,
            url: format!("http://127.0.0.1:{port}"),
        })
    }

    /// Resident memory in MB, from /proc.
    fn rss_mb(&self) -> anyhow::Result<f64> {
        let pid = self.child.id().context("the queue process ended")?;
        let status = std::fs::read_to_string(format!("/proc/{pid}/status"))?;
        let kb: f64 = status
            .lines()
            .find_map(|l| l.strip_prefix("VmRSS:"))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
            .context("no VmRSS")?;
        Ok(kb / 1024.0)
    }
}

fn free_port() -> anyhow::Result<u16> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port())
}

fn authed<T>(message: T, bearer: &tokens::Bearer) -> tonic::Request<T> {
    let mut request = tonic::Request::new(message);
    request
        .metadata_mut()
        .insert("authorization", bearer.clone());
    request
}

async fn configure(
    channel: &Channel,
    admin: &tokens::Bearer,
    event: &str,
    rate: i32,
) -> Result<(), tonic::Status> {
    QueueServiceClient::new(channel.clone())
        .configure_queue(authed(
            pb::ConfigureQueueRequest {
                event_id: event.to_owned(),
                config: Some(pb::QueueConfig {
                    active: true,
                    admit_per_second: rate,
                    admission_ttl_seconds: 600,
                    max_admitted: 0,
                    ..Default::default()
                }),
            },
            admin,
        ))
        .await
        .map(drop)
}

async fn admitted_total(
    channel: &Channel,
    admin: &tokens::Bearer,
    event: &str,
) -> anyhow::Result<(i64, i64)> {
    let queue = QueueServiceClient::new(channel.clone())
        .get_queue(authed(
            pb::GetQueueRequest {
                event_id: event.to_owned(),
            },
            admin,
        ))
        .await?
        .into_inner();
    Ok((queue.admitted_total, queue.waiting))
}

pub(crate) async fn run(args: QueueArgs) -> anyhow::Result<()> {
    let deadline = Instant::now() + args.time_limit;
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let run = uuid::Uuid::now_v7().simple().to_string();
    let key = SigningKey::generate("bench");
    let admin = tokens::admin(&key)?;
    eprintln!("signing {} guest tokens...", args.users);
    let (guests, _) = tokens::guests(&key, &run[run.len() - 8..], usize::try_from(args.users)?)?;
    let guests: Arc<[tokens::Bearer]> = guests.into();

    let process = QueueProcess::start(&key, &run).await?;
    let event = uuid::Uuid::now_v7().to_string();
    let channels = loop {
        // Up once it answers ConfigureQueue (migrations run first). One a
        // second while the crowd enters and the streams open: all wait.
        if let Ok(channels) = scenarios::connect(&process.url, args.connections as usize).await
            && configure(&channels[0], &admin, &event, 1).await.is_ok()
        {
            break channels;
        }
        if Instant::now() > deadline.min(Instant::now() + Duration::from_secs(60)) {
            bail!("the queue service at {} did not start", process.url);
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    };

    let settings = load::Settings {
        warmup: Duration::ZERO,
        duration: args.time_limit,
        concurrency: args.concurrency as usize,
        connections: args.connections as usize,
        max_requests: args.users,
        call_timeout: load::CALL_TIMEOUT,
    };
    eprintln!("echo baseline ({} calls)...", args.users);
    let server = echo::start().await?;
    let echo_channels =
        scenarios::connect(&format!("http://{}", server.addr), settings.connections).await?;
    let echo = load::run(
        &settings,
        scenarios::echo(&echo_channels, vec![0u8; 40].into()),
    )
    .await?;
    drop(echo_channels);
    server.stop().await?;

    eprintln!("{} guests enter...", args.users);
    let next = Arc::new(AtomicUsize::new(0));
    let enter = load::run(&settings, |worker| {
        let channel = channels[worker % channels.len()].clone();
        let (guests, next, event) = (guests.clone(), next.clone(), event.clone());
        Box::new(move || {
            let n = next.fetch_add(1, Ordering::Relaxed) % guests.len();
            let request = authed(
                pb::EnterRequest {
                    event_id: event.clone(),
                },
                &guests[n],
            );
            let mut client = QueueServiceClient::new(channel.clone());
            Box::pin(async move { client.enter(request).await.map(drop) })
        })
    })
    .await?;
    let rss_before = process.rss_mb()?;

    eprintln!("{} guests watch their place...", args.users);
    let watch_channels = scenarios::connect(&process.url, args.watch_connections as usize).await?;
    let opened = Arc::new(AtomicU64::new(0));
    let admitted = Arc::new(AtomicU64::new(0));
    let watching_started = Instant::now();
    let mut watchers = tokio::task::JoinSet::new();
    for (n, guest) in guests.iter().enumerate() {
        let channel = watch_channels[n % watch_channels.len()].clone();
        let (guest, event) = (guest.clone(), event.clone());
        let (opened, admitted) = (opened.clone(), admitted.clone());
        watchers.spawn(async move {
            let mut client = QueueServiceClient::new(channel);
            // The ticket id comes from entering again, which keeps the place.
            let ticket = client
                .enter(authed(
                    pb::EnterRequest {
                        event_id: event.clone(),
                    },
                    &guest,
                ))
                .await
                .ok()?
                .into_inner()
                .ticket?;
            let mut stream = client
                .watch_position(authed(
                    pb::WatchPositionRequest {
                        event_id: event,
                        ticket_id: ticket.ticket_id,
                    },
                    &guest,
                ))
                .await
                .ok()?
                .into_inner();
            let mut first = true;
            while let Some(Ok(update)) = stream.next().await {
                if first {
                    opened.fetch_add(1, Ordering::Relaxed);
                    first = false;
                }
                if update
                    .ticket
                    .is_some_and(|t| t.state == pb::TicketState::Admitted as i32)
                {
                    admitted.fetch_add(1, Ordering::Relaxed);
                }
            }
            Some(())
        });
    }
    while opened.load(Ordering::Relaxed) < args.users && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let streams_open_secs = watching_started.elapsed().as_secs_f64();
    let streams_held = opened.load(Ordering::Relaxed) - admitted.load(Ordering::Relaxed);
    let rss_with = process.rss_mb()?;

    eprintln!("admitting at {}/s...", args.rate);
    let (start_total, _) = admitted_total(&channels[0], &admin, &event).await?;
    configure(&channels[0], &admin, &event, args.rate).await?;
    let admitting = Instant::now();
    let achieved = loop {
        let (total, waiting) = admitted_total(&channels[0], &admin, &event).await?;
        if waiting == 0 || Instant::now() > deadline {
            break (total - start_total) as f64 / admitting.elapsed().as_secs_f64();
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    // The streams end as their watchers hear of the admission.
    while admitted.load(Ordering::Relaxed) < opened.load(Ordering::Relaxed)
        && Instant::now() < deadline
    {
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    watchers.abort_all();

    let output = Output {
        users: args.users,
        cores,
        enters_vs_echo: if echo.req_per_sec > 0.0 {
            enter.req_per_sec / echo.req_per_sec
        } else {
            0.0
        },
        echo,
        enter,
        streams_held,
        streams_open_secs,
        rss_mb_before_streams: rss_before,
        rss_mb_with_streams: rss_with,
        configured_rate: args.rate,
        achieved_rate: achieved,
        watchers_admitted: admitted.load(Ordering::Relaxed),
    };
    if args.json {
        println!("{}", serde_json::to_string_pretty(&output)?);
    } else {
        print_table(&output);
    }
    drop(process);
    Ok(())
}

fn print_table(o: &Output) {
    println!(
        "One `staymesh queue` process, {} guests, {} cores (everything on this machine)",
        o.users, o.cores
    );
    println!(
        "{:<34} {:>12} {:>10} {:>10} {:>8}",
        "", "req/s", "p50 ms", "p99 ms", "errors"
    );
    for (name, r) in [
        ("echo (bare tonic), same load", &o.echo),
        ("Enter", &o.enter),
    ] {
        println!(
            "{name:<34} {:>12.0} {:>10.2} {:>10.2} {:>8}",
            r.req_per_sec, r.p50_ms, r.p99_ms, r.errors
        );
    }
    println!("Enter / echo: {:.2}", o.enters_vs_echo);
    println!(
        "Watch streams held at once: {} (all open after {:.1} s)",
        o.streams_held, o.streams_open_secs
    );
    println!(
        "Queue process RSS: {:.0} MB before the streams, {:.0} MB with them",
        o.rss_mb_before_streams, o.rss_mb_with_streams
    );
    println!(
        "Admission: {:.0}/s achieved, {}/s configured ({:.2}); {} watchers saw their admission",
        o.achieved_rate,
        o.configured_rate,
        o.achieved_rate / f64::from(o.configured_rate),
        o.watchers_admitted
    );
}
