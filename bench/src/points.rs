//! `staymesh-bench points`: GetBalance and a booking's ReservePoints +
//! ReleasePoints on the point service, next to a bare tonic echo measured in
//! the same run. Each run funds its own users first (EarnForBooking, the
//! internal earn of a completed stay), so the load spreads over many
//! accounts as real traffic does; every worker reads and reserves for the
//! users of its own share.
//!
//! Load only ever goes to loopback addresses.

use std::sync::Arc;

use anyhow::{Context as _, bail};
use clap::Args;
use prost::Message as _;
use serde::Serialize;
use staymesh_proto::point::point_booking_service_client::PointBookingServiceClient;
use staymesh_proto::point::point_service_client::PointServiceClient;
use staymesh_proto::point::{
    EarnForBookingRequest, GetBalanceRequest, ReleasePointsRequest, ReservePointsRequest,
};
use tonic::transport::Channel;
use uuid::Uuid;

use crate::load::{self, Call, Settings};
use crate::tokens::{self, Bearer};
use crate::{LoadArgs, Row, echo, ensure_loopback, print_results, row, scenarios};

/// Paid per bench user's funding earn: at the default 1% it earns
/// 1,000,000 points, far more than any run reserves at once.
const FUNDING_PAID: i64 = 100_000_000;
/// Points each reservation sets aside (and its release gives back).
const RESERVED: i64 = 100;

/// Loads GetBalance and ReservePoints+ReleasePoints next to a bare tonic echo.
#[derive(Debug, Args)]
pub(crate) struct PointArgs {
    /// Point gRPC URL; must be a loopback address.
    #[arg(long, default_value = "http://127.0.0.1:50055")]
    point_target: String,
    /// Users this run funds and loads (fresh ids each run).
    #[arg(long, default_value_t = 1_000, value_parser = clap::value_parser!(u32).range(1..=100_000))]
    users: u32,
    #[command(flatten)]
    load: LoadArgs,
}

/// Everything the point mode prints.
#[derive(Debug, Serialize)]
struct Output {
    point_target: String,
    cores: usize,
    users: usize,
    settings: Settings,
    scenarios: Vec<Row>,
}

/// A bench user: its id and its guest token.
#[derive(Debug, Clone)]
struct User {
    id: String,
    bearer: Bearer,
}

pub(crate) async fn run(args: PointArgs) -> anyhow::Result<()> {
    ensure_loopback("--point-target", &args.point_target)?;
    let settings = args.load.settings();
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let channels = scenarios::connect(&args.point_target, settings.connections)
        .await
        .with_context(|| {
            format!(
                "cannot reach {} (is staymesh running? `make up` starts it)",
                args.point_target
            )
        })?;
    let key = tokens::signing_key()?;
    let users: Arc<[User]> = (0..args.users)
        .map(|_| {
            let id = Uuid::now_v7().to_string();
            let bearer = tokens::guest(&key, &id)?;
            Ok(User { id, bearer })
        })
        .collect::<anyhow::Result<Vec<_>>>()?
        .into();
    eprintln!("funding {} users on {}...", users.len(), args.point_target);
    fund(&channels, &users).await?;

    let payload = ReservePointsRequest {
        booking_id: Uuid::now_v7().to_string(),
        user_id: users[0].id.clone(),
        amount: RESERVED,
    }
    .encode_to_vec()
    .into();
    let server = echo::start().await?;
    let echo_channels =
        scenarios::connect(&format!("http://{}", server.addr), settings.connections).await?;
    eprintln!("echo (in-process, {})...", server.addr);
    let echo = load::run(&settings, scenarios::echo(&echo_channels, payload)).await?;
    drop(echo_channels);
    server.stop().await?;
    let baseline = echo.req_per_sec;
    let mut rows = vec![row("echo (bare tonic)", echo, baseline)];
    eprintln!("GetBalance...");
    let report = load::run(
        &settings,
        get_balance(&channels, &users, settings.concurrency),
    )
    .await?;
    rows.push(row("GetBalance", report, baseline));
    eprintln!("ReservePoints+ReleasePoints...");
    let report = load::run(
        &settings,
        reserve_release(&channels, &users, settings.concurrency),
    )
    .await?;
    rows.push(row("Reserve+Release", report, baseline));

    let output = Output {
        point_target: args.point_target,
        cores,
        users: users.len(),
        settings,
        scenarios: rows,
    };
    print_results(
        &output,
        &output.scenarios,
        &output.settings,
        args.load.json,
        &format!(
            "target {}  cores {}  users {}",
            output.point_target, output.cores, output.users
        ),
        "Reserve+Release counts one reservation and its release as one request",
    )
}

/// Gives every user points through EarnForBooking, 32 at a time.
async fn fund(channels: &[Channel], users: &[User]) -> anyhow::Result<()> {
    for chunk in users.chunks(32) {
        let earns = chunk.iter().map(|user| {
            let mut client = PointBookingServiceClient::new(channels[0].clone());
            let request = EarnForBookingRequest {
                booking_id: Uuid::now_v7().to_string(),
                user_id: user.id.clone(),
                paid_amount: Some(staymesh_platform::convert::money(FUNDING_PAID)),
            };
            async move { client.earn_for_booking(request).await }
        });
        for earned in futures::future::join_all(earns).await {
            let entry = earned.context("EarnForBooking (funding a bench user)")?;
            if entry.into_inner().entry.is_none() {
                bail!("EarnForBooking earned nothing: is STAYMESH_POINT_EARN_PERCENT 0?");
            }
        }
    }
    Ok(())
}

/// The users worker `worker` of `workers` takes turns with.
fn share(users: &Arc<[User]>, worker: usize, workers: usize) -> Vec<User> {
    let mine: Vec<User> = users
        .iter()
        .skip(worker % users.len())
        .step_by(workers)
        .cloned()
        .collect();
    if mine.is_empty() {
        vec![users[worker % users.len()].clone()]
    } else {
        mine
    }
}

/// Worker calls for GetBalance, each as the next user of the worker's share.
fn get_balance(
    channels: &[Channel],
    users: &Arc<[User]>,
    workers: usize,
) -> impl FnMut(usize) -> Call {
    let channels = channels.to_vec();
    let users = Arc::clone(users);
    move |worker| {
        let client = PointServiceClient::new(channels[worker % channels.len()].clone());
        let mine = share(&users, worker, workers);
        let mut turn = 0;
        Box::new(move || {
            let user = &mine[turn % mine.len()];
            turn += 1;
            let mut request = tonic::Request::new(GetBalanceRequest {});
            request
                .metadata_mut()
                .insert("authorization", user.bearer.clone());
            let mut client = client.clone();
            Box::pin(async move { client.get_balance(request).await.map(drop) })
        })
    }
}

/// Worker calls for a booking's reservation and its release, back to back.
fn reserve_release(
    channels: &[Channel],
    users: &Arc<[User]>,
    workers: usize,
) -> impl FnMut(usize) -> Call {
    let channels = channels.to_vec();
    let users = Arc::clone(users);
    move |worker| {
        let client = PointBookingServiceClient::new(channels[worker % channels.len()].clone());
        let mine = share(&users, worker, workers);
        let mut turn = 0;
        Box::new(move || {
            let user_id = mine[turn % mine.len()].id.clone();
            turn += 1;
            let booking_id = Uuid::now_v7().to_string();
            let mut client = client.clone();
            Box::pin(async move {
                let reserve = ReservePointsRequest {
                    booking_id: booking_id.clone(),
                    user_id,
                    amount: RESERVED,
                };
                client.reserve_points(reserve).await?;
                client
                    .release_points(ReleasePointsRequest { booking_id })
                    .await
                    .map(drop)
            })
        })
    }
}
