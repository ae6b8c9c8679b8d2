//! The queue service: a waiting room per hot event (an issuance event or a
//! time sale) in Redis. Users enter once (entering again keeps the place),
//! are admitted in entry order at a configured rate under a cap on users in
//! at once, and get a signed, short-lived admission token that the guarded
//! call spends through AdmissionService.VerifyAdmission.
// Dev-dependencies serve the integration tests, not the unit tests.
#![cfg_attr(test, allow(unused_crate_dependencies))]

mod api;
mod config;
mod handlers;
mod line;
mod queues;
mod store;
mod ticker;
mod token;
mod watch;

use std::sync::Arc;

use sqlx::migrate::Migrator;
use staymesh_platform::auth::TokenVerifier;
use staymesh_platform::server::GrpcServer;
use staymesh_platform::service::{self, Descriptor, Launch};
use staymesh_platform::{InfraArgs, ServerArgs, Shutdown};
use staymesh_proto::queue::admission_service_server::{self, AdmissionServiceServer};
use staymesh_proto::queue::queue_service_server::{self, QueueServiceServer};
use tokio::net::TcpListener;

pub use config::QueueArgs;
pub use staymesh_platform::rpc::Error;

/// The service's name: its database suffix, metrics label and log field.
pub const SERVICE: &str = "queue";

/// How the binary runs and migrates this service.
pub static DESCRIPTOR: Descriptor = Descriptor {
    name: SERVICE,
    about: "Run the queue service (gRPC): waiting rooms in front of hot sales, admission tokens",
    port: 50058,
    grpc_services: &[
        queue_service_server::SERVICE_NAME,
        admission_service_server::SERVICE_NAME,
    ],
    edge_services: &[queue_service_server::SERVICE_NAME],
    migrator: &MIGRATOR,
    args: <QueueArgs as clap::Args>::augment_args,
    prepare: |matches| {
        Ok(service::ready(
            service::own_args::<QueueArgs>(matches)?,
            launch,
        ))
    },
    seed: None,
    tasks: &[],
};

async fn launch(args: QueueArgs, launch: Launch) -> Result<(), Error> {
    let settings = Settings {
        redis_prefix: launch.infra.redis_prefix_for(SERVICE),
        infra: launch.infra,
        server: launch.server,
        queue: args,
        token_verifier: launch.token_verifier,
    };
    run(settings, launch.listener, launch.shutdown).await
}

/// This service's schema: the queues' settings.
pub static MIGRATOR: Migrator = sqlx::migrate!("./migrations");

/// Everything `run` needs.
#[derive(Debug, Clone)]
pub struct Settings {
    pub infra: InfraArgs,
    pub server: ServerArgs,
    pub queue: QueueArgs,
    pub token_verifier: Arc<dyn TokenVerifier>,
    /// Prefix of this service's Redis keys.
    pub redis_prefix: String,
}

/// Serves the queue services on `listener` until `shutdown`, with the
/// admission ticker and the watchers' loop beside them.
pub async fn run(
    settings: Settings,
    listener: TcpListener,
    shutdown: Shutdown,
) -> Result<(), Error> {
    staymesh_platform::telemetry::declare_counters(&["queue_admitted_total"]);
    let connected = DESCRIPTOR
        .connect_when_ready(&settings.infra, &shutdown)
        .await?;
    let Some((pool, redis)) = connected else {
        return Ok(());
    };
    let queues = queues::Queues {
        pool: pool.clone(),
        lines: line::Lines::new(redis.clone(), settings.redis_prefix.clone()),
        signer: token::Signer::new(&settings.queue.queue_token_secret),
        watchers: watch::Watchers::default(),
    };
    let mut background = tokio::task::JoinSet::new();
    background.spawn(ticker::run(
        queues.lines.clone(),
        pool.clone(),
        settings.queue.queue_tick,
        shutdown.clone(),
    ));
    background.spawn(queues.watchers.clone().run(
        queues.clone(),
        settings.queue.queue_watch_every,
        shutdown.clone(),
    ));
    let served = GrpcServer::new(SERVICE, &settings.server)
        .add_service(QueueServiceServer::new(queues.clone()))
        .add_service(AdmissionServiceServer::new(queues))
        .with_token_verifier(settings.token_verifier.clone())
        .with_stores_readiness(pool, redis)
        .serve(listener, shutdown.clone())
        .await;
    staymesh_platform::shutdown::stop_background(SERVICE, &shutdown, &mut background).await;
    served?;
    Ok(())
}
