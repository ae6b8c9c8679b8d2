//! The booking saga's orchestrator. It starts a saga for every
//! `BookingRequested`, sends each participant its command through the
//! outbox (hold nights, reserve the coupon and points, create the payment,
//! mark the booking awaiting payment), waits for the payment or its
//! deadline, confirms everything, and on any refusal, payment failure,
//! deadline or cancellation undoes every step that may have happened, in
//! reverse. A CONFIRMED booking's cancellation gets a saga of its own that
//! refunds per the policy and releases everything. Saga state lives in
//! Postgres; every input is applied once (inbox) with the saga row locked;
//! unanswered commands are resent with backoff; an undo is retried until it
//! succeeds, and one that keeps failing parks its saga as STUCK.
// Dev-dependencies serve the integration tests, not the unit tests.
#![cfg_attr(test, allow(unused_crate_dependencies))]

mod api;
mod commands;
mod config;
mod dlq;
mod engine;
#[cfg(test)]
mod engine_tests;
mod flow;
mod handlers;
mod inputs;
mod store;
pub mod timer;

use sqlx::migrate::Migrator;
use staymesh_platform::kafka::{Consumer, OutboxRelay, Producer, RetryPolicy};
use staymesh_platform::server::GrpcServer;
use staymesh_platform::service::{self, Descriptor, Launch, Task};
use staymesh_platform::{InfraArgs, ServerArgs, Shutdown};
use staymesh_proto::saga::saga_service_server::{self, SagaServiceServer};
use tokio::net::TcpListener;

pub use api::SagasApi;
pub use config::SagaArgs;
pub use staymesh_platform::rpc::Error;

/// The service's name: its database suffix, metrics label and log field.
pub const SERVICE: &str = "saga";

/// How the binary runs and migrates the orchestrator.
pub static DESCRIPTOR: Descriptor = Descriptor {
    name: SERVICE,
    about: "Run the booking saga orchestrator (Kafka in and out, Postgres state; gRPC: GetSaga, ListSagas)",
    port: 50059,
    grpc_services: &[saga_service_server::SERVICE_NAME],
    edge_services: &[],
    migrator: &MIGRATOR,
    args: <SagaArgs as clap::Args>::augment_args,
    prepare: |matches| {
        Ok(service::ready(
            service::own_args::<SagaArgs>(matches)?,
            launch,
        ))
    },
    seed: None,
    tasks: &[Task {
        name: "dlq",
        about: "Inspect (list) or replay (replay [--id ID]) the messages the saga's consumers dead-lettered",
        args: <dlq::DlqArgs as clap::Args>::augment_args,
        run: |run| Box::pin(dlq::task(run)),
    }],
};

async fn launch(args: SagaArgs, launch: Launch) -> Result<(), Error> {
    let settings = Settings {
        infra: launch.infra,
        server: launch.server,
        saga: args,
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
    pub saga: SagaArgs,
}

/// An input the orchestrator cannot apply yet (its database is down) is
/// retried for minutes, not dead-lettered: the saga would stop.
const INPUT_RETRY: RetryPolicy = RetryPolicy {
    max_attempts: 60,
    initial_backoff: std::time::Duration::from_millis(100),
    max_backoff: std::time::Duration::from_secs(5),
};

/// Runs the orchestrator until `shutdown`: its consumer, timer and outbox
/// relay, and the SagaService on `listener`.
pub async fn run(
    settings: Settings,
    listener: TcpListener,
    shutdown: Shutdown,
) -> Result<(), Error> {
    let infra = &settings.infra;
    staymesh_platform::telemetry::declare_counters(&[
        "staymesh_saga_stale_replies_total",
        "staymesh_saga_compensations_total",
    ]);
    let connected = DESCRIPTOR
        .connect_with_topics_when_ready(infra, &inputs::all_topics(infra), &shutdown)
        .await?;
    let Some((pool, redis)) = connected else {
        return Ok(());
    };
    let engine = engine::Engine {
        topics: commands::Topics::new(infra),
        args: settings.saga.clone(),
    };
    let mut background = tokio::task::JoinSet::new();
    let relay = OutboxRelay::new(pool.clone(), Producer::new(&infra.kafka_brokers)?);
    background.spawn(relay.run_until(shutdown.clone()));
    background.spawn(timer::run(pool.clone(), engine.clone(), shutdown.clone()));
    let group = infra.consumer_group(SERVICE);
    let topics = inputs::topics(infra);
    let topics: Vec<&str> = topics.iter().map(String::as_str).collect();
    let consumer = Consumer::join(infra, &group, &topics)?.with_retry(INPUT_RETRY);
    {
        let (pool, engine, shutdown) = (pool.clone(), engine.clone(), shutdown.clone());
        background.spawn(async move {
            consumer
                .run(
                    |incoming| {
                        inputs::handle(pool.clone(), engine.clone(), group.clone(), incoming)
                    },
                    &shutdown,
                )
                .await;
        });
    }

    let served = GrpcServer::new(SERVICE, &settings.server)
        .add_service(SagaServiceServer::new(SagasApi { pool: pool.clone() }))
        .with_stores_readiness(pool, redis)
        .serve(listener, shutdown.clone())
        .await;
    staymesh_platform::shutdown::stop_background(SERVICE, &shutdown, &mut background).await;
    served?;
    Ok(())
}
