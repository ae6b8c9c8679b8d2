//! The review service: one review per completed stay, by its guest, within
//! a window after check-out; update and delete by the author, hiding by an
//! admin; listings per property and per author; and each property's rating
//! aggregate, kept a recount under concurrent writes and published as
//! `PropertyRatingChanged` so the accommodation service's rating follows.
// Dev-dependencies serve the integration tests, not the unit tests.
#![cfg_attr(test, allow(unused_crate_dependencies))]

mod api;
mod config;
pub mod directory;
mod handlers;
mod images;
mod reviews;
mod seed;
mod stays;
pub mod store;

use std::sync::Arc;

use sqlx::migrate::Migrator;
use staymesh_platform::auth::TokenVerifier;
use staymesh_platform::kafka::{self, OutboxRelay, Producer};
use staymesh_platform::media::MediaArgs;
use staymesh_platform::server::GrpcServer;
use staymesh_platform::service::{self, Descriptor, Launch};
use staymesh_platform::{InfraArgs, ServerArgs, Shutdown};
use staymesh_proto::review::review_service_server::{self, ReviewServiceServer};
use tokio::net::TcpListener;

pub use api::ReviewsApi;
pub use config::ReviewArgs;
pub use directory::{Directory, MeshDirectory, Stay};
pub use staymesh_platform::rpc::Error;
pub use store::{LocalStore, ObjectStore, S3Store};

/// The service's name: its database suffix, metrics label and log field.
pub const SERVICE: &str = "review";

/// How the binary runs and migrates this service.
pub static DESCRIPTOR: Descriptor = Descriptor {
    name: SERVICE,
    about: "Run the review service (gRPC): reviews of completed stays, rating aggregates",
    port: 50057,
    grpc_services: &[review_service_server::SERVICE_NAME],
    edge_services: &[review_service_server::SERVICE_NAME],
    migrator: &MIGRATOR,
    args: <ReviewArgs as clap::Args>::augment_args,
    prepare: |matches| {
        let args = (
            service::own_args::<ReviewArgs>(matches)?,
            service::own_args::<MediaArgs>(matches)?,
        );
        // A bad S3 setting stops start-up before anything listens.
        args.0.s3_store()?;
        Ok(service::ready(args, launch))
    },
    seed: Some(|seeding| Box::pin(seed::demo(seeding))),
    tasks: &[],
};

async fn launch((args, media): (ReviewArgs, MediaArgs), launch: Launch) -> Result<(), Error> {
    let directory = MeshDirectory::new(launch.urls.get("user")?, launch.urls.get("booking")?)?;
    let store: Arc<dyn ObjectStore> = match args.s3_store() {
        Ok(Some(s3)) => Arc::new(s3),
        Ok(None) => Arc::new(LocalStore::new(&media)),
        Err(why) => return Err(Error::Infra(staymesh_platform::Error::Config(why))),
    };
    let settings = Settings {
        infra: launch.infra,
        server: launch.server,
        review: args,
        token_verifier: launch.token_verifier,
        directory: Arc::new(directory),
        store,
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
    pub review: ReviewArgs,
    pub token_verifier: Arc<dyn TokenVerifier>,
    /// Who users are and which of their bookings are completed.
    pub directory: Arc<dyn Directory>,
    /// Where review images are.
    pub store: Arc<dyn ObjectStore>,
}

/// Serves the review service on `listener` until `shutdown`, with the
/// completed stays' consumer and the outbox relay beside it.
pub async fn run(
    settings: Settings,
    listener: TcpListener,
    shutdown: Shutdown,
) -> Result<(), Error> {
    let infra = &settings.infra;
    let events_topic = infra.events_topic(SERVICE);
    let mut topics = stays::topics(infra);
    topics.extend([events_topic.clone(), kafka::dlq_topic(&events_topic)]);
    let connected = DESCRIPTOR
        .connect_with_topics_when_ready(infra, &topics, &shutdown)
        .await?;
    let Some((pool, redis)) = connected else {
        return Ok(());
    };
    let images = images::Images {
        pool: pool.clone(),
        store: settings.store.clone(),
    };
    let reviews = reviews::Reviews {
        pool: pool.clone(),
        events_topic,
        window: settings.review.review_window,
        directory: settings.directory.clone(),
        images: images.clone(),
    };
    let mut background = tokio::task::JoinSet::new();
    background.spawn(images.clean_up(
        settings.review.review_upload_cleanup_every,
        settings.review.review_upload_ttl,
        shutdown.clone(),
    ));
    let completed = stays::consumer(infra)?;
    let recording = reviews.clone();
    let stopping = shutdown.clone();
    background.spawn(async move {
        completed
            .run(
                |incoming| stays::handle(recording.clone(), incoming),
                &stopping,
            )
            .await;
    });
    let relay = OutboxRelay::new(pool.clone(), Producer::new(&infra.kafka_brokers)?);
    background.spawn(relay.run_until(shutdown.clone()));
    let served = GrpcServer::new(SERVICE, &settings.server)
        .add_service(ReviewServiceServer::new(ReviewsApi { reviews }))
        .with_token_verifier(settings.token_verifier.clone())
        .with_stores_readiness(pool, redis)
        .serve(listener, shutdown.clone())
        .await;
    staymesh_platform::shutdown::stop_background(SERVICE, &shutdown, &mut background).await;
    served?;
    Ok(())
}
