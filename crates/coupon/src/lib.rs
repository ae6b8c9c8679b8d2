//! The coupon service: coupon definitions, first-come-first-served issuance
//! events decided by one Redis Lua script, `CouponIssued` messages persisted
//! in batches by a Kafka consumer (with a direct write when Kafka does not
//! acknowledge, and a reconciler for anything still missing), state changes
//! announced through the outbox and an optional webhook, and the reserve /
//! redeem / release steps a booking takes with a user's coupon.
// Dev-dependencies serve the integration tests, not the unit tests.
#![cfg_attr(test, allow(unused_crate_dependencies))]

mod api;
mod bookings;
mod claims;
mod commands;
mod config;
mod consumer;
mod coupons;
mod discount;
mod events;
mod handlers;
mod lifecycle;
mod reconcile;
pub mod seed;
mod stock;
mod user_coupons;
mod webhook;

use std::sync::Arc;

use sqlx::PgPool;
use sqlx::migrate::Migrator;
use staymesh_platform::admission::{Gate, QueueGate};
use staymesh_platform::auth::TokenVerifier;
use staymesh_platform::kafka::participant::Participant;
use staymesh_platform::kafka::{self, BatchSettings, Consumer, OutboxRelay, Producer};
use staymesh_platform::redis::RedisPool;
use staymesh_platform::server::GrpcServer;
use staymesh_platform::service::{self, Descriptor, Launch};
use staymesh_platform::{InfraArgs, ServerArgs, Shutdown};
use staymesh_proto::coupon::coupon_booking_service_server::{self, CouponBookingServiceServer};
use staymesh_proto::coupon::coupon_service_server::{self, CouponServiceServer};
use tokio::net::TcpListener;

pub use api::Coupons;
pub use config::CouponArgs;
pub use staymesh_platform::rpc::Error;
// Public so `staymesh-bench` can run the very script claims run, under
// redis-benchmark, as the ceiling for ClaimCoupon.
pub use stock::CLAIM_SCRIPT;

/// The service's name: its database suffix, metrics label and log field.
pub const SERVICE: &str = "coupon";

/// How the binary runs, migrates and seeds this service.
pub static DESCRIPTOR: Descriptor = Descriptor {
    name: SERVICE,
    about: "Run the coupon service (gRPC, with its Kafka batch writer)",
    port: 50054,
    grpc_services: &[
        coupon_service_server::SERVICE_NAME,
        coupon_booking_service_server::SERVICE_NAME,
    ],
    edge_services: &[coupon_service_server::SERVICE_NAME],
    migrator: &MIGRATOR,
    args: <CouponArgs as clap::Args>::augment_args,
    prepare: |matches| {
        Ok(service::ready(
            service::own_args::<CouponArgs>(matches)?,
            launch,
        ))
    },
    seed: Some(|seeding| Box::pin(seed::demo(seeding))),
    tasks: &[],
};

async fn launch(args: CouponArgs, launch: Launch) -> Result<(), Error> {
    let gate = QueueGate::new(launch.urls.get("queue")?)?;
    let settings = Settings::new(
        launch.infra,
        launch.server,
        args,
        launch.token_verifier,
        Arc::new(gate),
    );
    run(settings, launch.listener, launch.shutdown).await
}

/// This service's schema.
pub static MIGRATOR: Migrator = sqlx::migrate!("./migrations");

/// Everything `run` needs.
#[derive(Debug, Clone)]
pub struct Settings {
    pub infra: InfraArgs,
    pub server: ServerArgs,
    pub coupon: CouponArgs,
    pub token_verifier: Arc<dyn TokenVerifier>,
    /// Prefix of this service's Redis keys.
    pub redis_prefix: String,
    /// Where claims and state changes are published (`<prefix>.coupon.events`).
    pub events_topic: String,
    /// The batch writer's consumer group.
    pub consumer_group: String,
    /// Whether this process runs the batch writer (tests run it apart to
    /// stop and restart it).
    pub run_consumer: bool,
    /// Spends the admission tokens of events with a waiting room.
    pub gate: Arc<dyn Gate>,
}

impl Settings {
    /// The settings of a deployment: the conventional topic and group.
    pub fn new(
        infra: InfraArgs,
        server: ServerArgs,
        coupon: CouponArgs,
        token_verifier: Arc<dyn TokenVerifier>,
        gate: Arc<dyn Gate>,
    ) -> Self {
        Self {
            redis_prefix: infra.redis_prefix_for(SERVICE),
            events_topic: infra.events_topic(SERVICE),
            consumer_group: infra.consumer_group("coupon-writer"),
            run_consumer: true,
            infra,
            server,
            coupon,
            token_verifier,
            gate,
        }
    }

    fn batch(&self) -> BatchSettings {
        BatchSettings {
            max_messages: self.coupon.coupon_batch_size as usize,
            max_wait: self.coupon.coupon_batch_wait,
        }
    }
}

/// The Kafka topics the service uses: its events, the saga's commands and
/// replies, and their dead-letter topics.
fn topics(settings: &Settings) -> Vec<String> {
    let mut topics = Participant::topics(&settings.infra, SERVICE);
    topics.extend([
        settings.events_topic.clone(),
        kafka::dlq_topic(&settings.events_topic),
    ]);
    topics
}

/// Waits until Postgres, Redis and Kafka answer (pods start before their
/// dependencies); `None` if the shutdown came first.
async fn wait_for_dependencies(
    settings: &Settings,
    shutdown: &Shutdown,
) -> Result<Option<(PgPool, RedisPool)>, Error> {
    Ok(DESCRIPTOR
        .connect_with_topics_when_ready(&settings.infra, &topics(settings), shutdown)
        .await?)
}

/// Runs the batch writer alone until `shutdown` (what `run` starts unless
/// `run_consumer` is off).
pub async fn run_consumer(settings: Settings, shutdown: Shutdown) -> Result<(), Error> {
    let connected = wait_for_dependencies(&settings, &shutdown).await?;
    let Some((pool, _redis)) = connected else {
        return Ok(());
    };
    let consumer = Consumer::join(
        &settings.infra,
        &settings.consumer_group,
        &[settings.events_topic.as_str()],
    )?;
    consumer::run(consumer, pool, settings.batch(), shutdown).await;
    Ok(())
}

/// Serves the coupon services on `listener` until `shutdown`, with the batch
/// writer, the outbox relay, the scheduler and the reconciler beside them.
pub async fn run(
    settings: Settings,
    listener: TcpListener,
    shutdown: Shutdown,
) -> Result<(), Error> {
    let args = &settings.coupon;
    staymesh_platform::telemetry::declare_counters(&[
        "coupon_claim_publish_fallbacks_total",
        "coupon_claim_unrecorded_total",
        "coupon_reconcile_repaired_total",
        "coupon_webhook_failed_total",
    ]);
    let webhook = webhook::Webhook::from_config(&args.coupon_webhook_url)
        .map_err(|e| Error::Infra(staymesh_platform::Error::Config(e)))?;
    let connected = wait_for_dependencies(&settings, &shutdown).await?;
    let Some((pool, redis)) = connected else {
        return Ok(());
    };
    let producer =
        Producer::with_timeout(&settings.infra.kafka_brokers, args.coupon_publish_timeout)?;
    let announcer = lifecycle::Announcer::new(pool.clone(), settings.events_topic.clone(), webhook);
    let issuer = claims::Issuer::new(
        pool.clone(),
        stock::Stock::new(redis.clone(), settings.redis_prefix.clone()),
        producer.clone(),
        settings.events_topic.clone(),
        args.coupon_publish_timeout,
        announcer.clone(),
        settings.gate.clone(),
    );

    let mut background = tokio::task::JoinSet::new();
    if settings.run_consumer {
        background.spawn(run_consumer(settings.clone(), shutdown.clone()));
    }
    {
        let relay = OutboxRelay::new(pool.clone(), Producer::new(&settings.infra.kafka_brokers)?);
        let shutdown = shutdown.clone();
        background.spawn(async move {
            relay.run(&shutdown).await;
            Ok(())
        });
    }
    let participant = Participant::new(pool.clone(), &settings.infra, SERVICE)?;
    background.spawn({
        let handled = pool.clone();
        let run = participant.run(
            move |incoming| commands::handle(handled.clone(), incoming),
            shutdown.clone(),
        );
        async move {
            run.await;
            Ok(())
        }
    });
    background.spawn({
        let shutdown = shutdown.clone();
        let every = args.coupon_tick;
        async move {
            lifecycle::run(announcer, every, shutdown).await;
            Ok(())
        }
    });
    background.spawn({
        let (issuer, shutdown) = (issuer.clone(), shutdown.clone());
        let (every, grace) = (args.coupon_reconcile_every, args.coupon_reconcile_grace);
        async move {
            reconcile::run(issuer, every, grace, shutdown).await;
            Ok(())
        }
    });

    let service = Coupons { issuer };
    let served = GrpcServer::new(SERVICE, &settings.server)
        .add_service(CouponServiceServer::new(service.clone()))
        .add_service(CouponBookingServiceServer::new(service))
        .with_token_verifier(settings.token_verifier.clone())
        .with_stores_readiness(pool, redis)
        .serve(listener, shutdown.clone())
        .await;
    shutdown.trigger();
    while let Some(done) = background.join_next().await {
        if let Ok(Err(error)) = done {
            tracing::error!(%error, "a coupon background task failed");
        }
    }
    served?;
    Ok(())
}
