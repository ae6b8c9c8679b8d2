//! The accommodation service: hosts list properties and room types and keep a
//! nightly calendar; guests search availability and read property details;
//! time sales discount nights for a window, with the lowest price per
//! property cached in Redis; the booking saga holds, confirms and releases
//! nights without ever overbooking (`held + sold <= total`, also a CHECK).
// Dev-dependencies serve the integration tests, not the unit tests.
#![cfg_attr(test, allow(unused_crate_dependencies))]

mod api;
mod calendar;
mod catalog;
mod commands;
mod convert;
mod handlers;
mod index;
mod inventory;
mod inventory_api;
mod lowest_price;
mod quote;
mod ratings;
mod search;
pub mod seed;
pub mod terms;
mod time_sale;

use std::sync::Arc;

use index::Index;
use sqlx::migrate::Migrator;
use staymesh_platform::auth::TokenVerifier;
use staymesh_platform::kafka::participant::Participant;
use staymesh_platform::kafka::{OutboxRelay, Producer};
use staymesh_platform::server::GrpcServer;
use staymesh_platform::service::{self, Descriptor, Launch};
use staymesh_platform::{InfraArgs, ServerArgs, Shutdown};
use staymesh_proto::accommodation::accommodation_service_server::{
    self, AccommodationServiceServer,
};
use staymesh_proto::accommodation::inventory_service_server::{self, InventoryServiceServer};
use tokio::net::TcpListener;

pub use api::Accommodation;
pub use lowest_price::LowestPrices;
pub use staymesh_platform::rpc::Error;

/// The service's name: its database suffix, metrics label and log field.
pub const SERVICE: &str = "accommodation";

/// How the binary runs, migrates and seeds this service.
pub static DESCRIPTOR: Descriptor = Descriptor {
    name: SERVICE,
    about: "Run the accommodation service (gRPC): listings, calendar, search, holds",
    port: 50052,
    grpc_services: &[
        accommodation_service_server::SERVICE_NAME,
        inventory_service_server::SERVICE_NAME,
    ],
    edge_services: &[accommodation_service_server::SERVICE_NAME],
    migrator: &MIGRATOR,
    args: service::no_args,
    prepare: |_| Ok(service::ready((), launch)),
    seed: Some(|seeding| Box::pin(seed::demo(seeding))),
    tasks: &[],
};

async fn launch((): (), launch: Launch) -> Result<(), Error> {
    let settings = Settings {
        redis_prefix: launch.infra.redis_prefix_for(SERVICE),
        infra: launch.infra,
        server: launch.server,
        token_verifier: launch.token_verifier,
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
    pub token_verifier: Arc<dyn TokenVerifier>,
    /// Prefix of this service's Redis keys.
    pub redis_prefix: String,
}

/// Serves the accommodation and inventory services on `listener` until
/// `shutdown`, with the saga's command handler (and its outbox relay) beside them.
pub async fn run(
    settings: Settings,
    listener: TcpListener,
    shutdown: Shutdown,
) -> Result<(), Error> {
    let infra = &settings.infra;
    let mut topics = Participant::topics(infra, SERVICE);
    topics.extend(ratings::topics(infra));
    let connected = DESCRIPTOR
        .connect_with_topics_when_ready(infra, &topics, &shutdown)
        .await?;
    let Some((pool, redis)) = connected else {
        return Ok(());
    };
    // The saga's commands, and the relay that sends their replies.
    let mut background = tokio::task::JoinSet::new();
    let participant = Participant::new(pool.clone(), infra, SERVICE)?;
    let handled = pool.clone();
    background.spawn(participant.run(
        move |incoming| commands::handle(handled.clone(), incoming),
        shutdown.clone(),
    ));
    let relay = OutboxRelay::new(pool.clone(), Producer::new(&infra.kafka_brokers)?);
    background.spawn(relay.run_until(shutdown.clone()));
    // Ratings follow the review service's aggregates.
    let rated = ratings::consumer(infra)?;
    let (rating_pool, stopping) = (pool.clone(), shutdown.clone());
    background.spawn(async move {
        rated
            .run(
                |incoming| ratings::handle(rating_pool.clone(), incoming),
                &stopping,
            )
            .await;
    });
    // The search index builds while the server answers NOT_SERVING.
    let index = Index::new(pool.clone());
    background.spawn(index::follow(index.clone(), shutdown.clone()));
    let service = Accommodation {
        pool: pool.clone(),
        prices: LowestPrices::new(redis.clone(), settings.redis_prefix.clone()),
        index: index.clone(),
    };
    let served = GrpcServer::new(SERVICE, &settings.server)
        .add_service(AccommodationServiceServer::new(service.clone()))
        .add_service(InventoryServiceServer::new(service))
        .with_token_verifier(settings.token_verifier.clone())
        .with_readiness(move || {
            let (pool, redis, index) = (pool.clone(), redis.clone(), index.clone());
            async move {
                staymesh_platform::stores::ping(&pool, &redis).await?;
                if index.is_ready() {
                    Ok(())
                } else {
                    Err(staymesh_platform::Error::Config(
                        "the search index is still being built".into(),
                    ))
                }
            }
        })
        .serve(listener, shutdown.clone())
        .await;
    staymesh_platform::shutdown::stop_background(SERVICE, &shutdown, &mut background).await;
    served?;
    Ok(())
}
