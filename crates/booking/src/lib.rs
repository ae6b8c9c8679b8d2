//! The booking service: a booking is priced by the services that know (the
//! stay, the coupon, the guest's points), stored PENDING with the
//! `BookingRequested` that starts its saga in one transaction, moved by the
//! saga's commands to AWAITING_PAYMENT and CONFIRMED or CANCELLED, watched
//! live (WatchBooking, woken by Postgres notifications on every replica),
//! cancelled per a policy kept in data, and COMPLETED by a job after
//! check-out.
// Dev-dependencies serve the integration tests, not the unit tests.
#![cfg_attr(test, allow(unused_crate_dependencies))]

mod api;
mod bookings;
mod cancel;
mod commands;
pub mod completion;
mod config;
mod create;
mod handlers;
mod pricing;
mod seed;
mod store;
mod watch;

use std::sync::Arc;

use sqlx::migrate::Migrator;
use staymesh_platform::admission::QueueGate;
use staymesh_platform::auth::TokenVerifier;
use staymesh_platform::kafka::participant::Participant;
use staymesh_platform::kafka::{self, OutboxRelay, Producer};
use staymesh_platform::server::GrpcServer;
use staymesh_platform::service::{self, Descriptor, Launch, ServiceUrls, Task, TaskRun};
use staymesh_platform::{InfraArgs, ServerArgs, Shutdown};
use staymesh_proto::booking::booking_service_server::{self, BookingServiceServer};
use tokio::net::TcpListener;

pub use api::{BookingsApi, WatchStream};
pub use config::BookingArgs;
pub use staymesh_platform::rpc::Error;

/// The service's name: its database suffix, metrics label and log field.
pub const SERVICE: &str = "booking";

/// How the binary runs, migrates and completes this service.
pub static DESCRIPTOR: Descriptor = Descriptor {
    name: SERVICE,
    about: "Run the booking service (gRPC): bookings, their saga's first event, watch, cancellation, completion",
    port: 50053,
    grpc_services: &[booking_service_server::SERVICE_NAME],
    edge_services: &[booking_service_server::SERVICE_NAME],
    migrator: &MIGRATOR,
    args: <BookingArgs as clap::Args>::augment_args,
    prepare: |matches| {
        Ok(service::ready(
            service::own_args::<BookingArgs>(matches)?,
            launch,
        ))
    },
    seed: Some(|seeding| Box::pin(seed::demo(seeding))),
    tasks: &[Task {
        name: "complete",
        about: "Complete every confirmed stay past check-out now (the job's round), then exit",
        args: service::no_args,
        run: |run| Box::pin(complete_task(run)),
    }],
};

async fn complete_task(run: TaskRun) -> Result<Vec<String>, service::BoxError> {
    let (pool, _redis) = DESCRIPTOR.connect(&run.infra).await?;
    let completed = completion::complete_due(&pool, &run.infra.events_topic(SERVICE)).await?;
    Ok(vec![format!("completed {completed} stay(s)")])
}

async fn launch(args: BookingArgs, launch: Launch) -> Result<(), Error> {
    let settings = Settings {
        infra: launch.infra,
        server: launch.server,
        booking: args,
        token_verifier: launch.token_verifier,
        urls: launch.urls,
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
    pub booking: BookingArgs,
    pub token_verifier: Arc<dyn TokenVerifier>,
    /// Where the accommodation, coupon and point services are.
    pub urls: ServiceUrls,
}

/// Serves the booking service on `listener` until `shutdown`, with the
/// saga's command handler, the outbox relay, the change listener and the
/// completion job beside it.
pub async fn run(
    settings: Settings,
    listener: TcpListener,
    shutdown: Shutdown,
) -> Result<(), Error> {
    let infra = &settings.infra;
    let events_topic = infra.events_topic(SERVICE);
    let mut topics = Participant::topics(infra, SERVICE);
    topics.extend([events_topic.clone(), kafka::dlq_topic(&events_topic)]);
    let connected = DESCRIPTOR
        .connect_with_topics_when_ready(infra, &topics, &shutdown)
        .await?;
    let Some((pool, redis)) = connected else {
        return Ok(());
    };
    let watchers = watch::Watchers::new(shutdown.clone());
    let bookings = bookings::Bookings {
        pool: pool.clone(),
        pricing: pricing::Pricing::new(&settings.urls)?,
        events_topic: events_topic.clone(),
        payment_window: settings.booking.booking_payment_window,
        watchers: watchers.clone(),
        gate: Arc::new(QueueGate::new(settings.urls.get("queue")?)?),
    };

    let mut background = tokio::task::JoinSet::new();
    background.spawn(watchers.listen(pool.clone()));
    let relay = OutboxRelay::new(pool.clone(), Producer::new(&infra.kafka_brokers)?);
    background.spawn(relay.run_until(shutdown.clone()));
    let participant = Participant::new(pool.clone(), infra, SERVICE)?;
    let handled = commands::Commands {
        pool: pool.clone(),
        events_topic: events_topic.clone(),
    };
    background.spawn(participant.run(
        move |incoming| handled.clone().handle(incoming),
        shutdown.clone(),
    ));
    background.spawn(completion::run(
        pool.clone(),
        events_topic,
        settings.booking.booking_complete_every,
        shutdown.clone(),
    ));

    let served = GrpcServer::new(SERVICE, &settings.server)
        .add_service(BookingServiceServer::new(BookingsApi { bookings }))
        .with_token_verifier(settings.token_verifier.clone())
        .with_stores_readiness(pool, redis)
        .serve(listener, shutdown.clone())
        .await;
    staymesh_platform::shutdown::stop_background(SERVICE, &shutdown, &mut background).await;
    served?;
    Ok(())
}
