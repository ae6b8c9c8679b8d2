//! The point service: points live in lots with their own expiry, every
//! change is a ledger entry whose `balance_after` the lots explain, bookings
//! reserve / commit / release points idempotently by booking id, a job
//! expires due lots (safely from several replicas at once), and the first
//! page of each user's history is cached in Redis, never stale after a write.
// Dev-dependencies serve the integration tests, not the unit tests.
#![cfg_attr(test, allow(unused_crate_dependencies))]

mod api;
mod balance;
mod cache;
mod commands;
mod config;
pub mod directory;
pub mod expiry;
mod handlers;
mod history;
mod ledger;
mod lots;
mod points;
pub mod seed;
mod stays;

use std::sync::Arc;

use sqlx::migrate::Migrator;
use staymesh_platform::auth::TokenVerifier;
use staymesh_platform::kafka::participant::Participant;
use staymesh_platform::kafka::{OutboxRelay, Producer};
use staymesh_platform::server::GrpcServer;
use staymesh_platform::service::{self, Descriptor, Launch};
use staymesh_platform::{InfraArgs, ServerArgs, Shutdown};
use staymesh_proto::point::point_booking_service_server::{self, PointBookingServiceServer};
use staymesh_proto::point::point_service_server::{self, PointServiceServer};
use tokio::net::TcpListener;

pub use api::PointsApi;
pub use config::{BasisPoints, PointArgs};
pub use directory::{Directory, UserDirectory};
pub use ledger::{Entry, EntryType};
pub use lots::Expired;
pub use points::{Grant, Points, Reservation};
pub use staymesh_platform::rpc::Error;

/// The service's name: its database suffix, metrics label and log field.
pub const SERVICE: &str = "point";

/// How the binary runs, migrates and seeds this service.
pub static DESCRIPTOR: Descriptor = Descriptor {
    name: SERVICE,
    about: "Run the point service (gRPC): lots, ledger, booking reservations, expiry",
    port: 50055,
    grpc_services: &[
        point_service_server::SERVICE_NAME,
        point_booking_service_server::SERVICE_NAME,
    ],
    edge_services: &[point_service_server::SERVICE_NAME],
    migrator: &MIGRATOR,
    args: <PointArgs as clap::Args>::augment_args,
    prepare: |matches| {
        Ok(service::ready(
            service::own_args::<PointArgs>(matches)?,
            launch,
        ))
    },
    seed: Some(|seeding| Box::pin(seed::demo(seeding))),
    tasks: &[],
};

async fn launch(args: PointArgs, launch: Launch) -> Result<(), Error> {
    let directory = UserDirectory::new(launch.urls.get("user")?)?;
    let settings = Settings {
        redis_prefix: launch.infra.redis_prefix_for(SERVICE),
        infra: launch.infra,
        server: launch.server,
        point: args,
        token_verifier: launch.token_verifier,
        directory: Arc::new(directory),
    };
    run(settings, launch.listener, launch.shutdown).await
}

/// This service's schema.
pub static MIGRATOR: Migrator = sqlx::migrate!("./migrations");

/// Everything `run` needs.
#[derive(Debug, Clone)]
pub struct Settings {
    pub infra: InfraArgs,
    pub server: ServerArgs,
    pub point: PointArgs,
    pub token_verifier: Arc<dyn TokenVerifier>,
    /// Prefix of this service's Redis keys.
    pub redis_prefix: String,
    /// Tells Earn and Adjust whether the user they name exists.
    pub directory: Arc<dyn Directory>,
}

/// Serves the point services on `listener` until `shutdown`, with the
/// expiry job, the saga's command handler (and its outbox relay) and the
/// completed stays' earning beside them.
pub async fn run(
    settings: Settings,
    listener: TcpListener,
    shutdown: Shutdown,
) -> Result<(), Error> {
    let infra = &settings.infra;
    let mut topics = Participant::topics(infra, SERVICE);
    topics.extend(stays::topics(infra));
    let connected = DESCRIPTOR
        .connect_with_topics_when_ready(infra, &topics, &shutdown)
        .await?;
    let Some((pool, redis)) = connected else {
        return Ok(());
    };
    let points = Points::new(
        pool.clone(),
        redis.clone(),
        settings.redis_prefix.clone(),
        &settings.point,
    );
    let mut background = tokio::task::JoinSet::new();
    background.spawn(expiry::run(
        points.clone(),
        settings.point.point_expire_every,
        shutdown.clone(),
    ));
    // The saga's commands, and the relay that sends their replies.
    let participant = Participant::new(pool.clone(), infra, SERVICE)?;
    let handled = points.clone();
    background.spawn(participant.run(
        move |incoming| commands::handle(handled.clone(), incoming),
        shutdown.clone(),
    ));
    // Completed stays earn their points.
    let completed = stays::consumer(infra)?;
    let earning = points.clone();
    let stopping = shutdown.clone();
    background.spawn(async move {
        completed
            .run(
                |incoming| stays::handle(earning.clone(), incoming),
                &stopping,
            )
            .await;
    });
    let relay = OutboxRelay::new(pool.clone(), Producer::new(&infra.kafka_brokers)?);
    background.spawn(relay.run_until(shutdown.clone()));
    let service = PointsApi {
        points,
        directory: settings.directory.clone(),
    };
    let served = GrpcServer::new(SERVICE, &settings.server)
        .add_service(PointServiceServer::new(service.clone()))
        .add_service(PointBookingServiceServer::new(service))
        .with_token_verifier(settings.token_verifier.clone())
        .with_stores_readiness(pool, redis)
        .serve(listener, shutdown.clone())
        .await;
    staymesh_platform::shutdown::stop_background(SERVICE, &shutdown, &mut background).await;
    served?;
    Ok(())
}
