//! The payment service: payments registered with a PortOne-style payment
//! gateway (PG) and approved only once the PG itself confirms the status,
//! amount, currency and order (the browser's return and the PG's signed
//! webhook are hints, never proof); refunds that never exceed what was paid
//! and never happen twice; a reconciler that repairs what a lost webhook or
//! a crash left behind from the PG; and daily host settlement in Asia/Seoul
//! days. Every state change leaves through the outbox as an event for the
//! saga (`PaymentApproved`, `PaymentFailed`, `PaymentRefunded`).
// Dev-dependencies serve the integration tests, not the unit tests.
#![cfg_attr(test, allow(unused_crate_dependencies))]

mod api;
mod commands;
mod config;
mod events;
mod handlers;
mod payments;
pub mod pg;
mod reconcile;
mod refunds;
pub mod settlement;
mod store;
mod webhook;

use std::sync::Arc;

use chrono::NaiveDate;
use sqlx::migrate::Migrator;
use staymesh_platform::auth::TokenVerifier;
use staymesh_platform::kafka::participant::Participant;
use staymesh_platform::kafka::{self, OutboxRelay, Producer};
use staymesh_platform::server::GrpcServer;
use staymesh_platform::service::{self, Descriptor, Launch, Task, TaskRun};
use staymesh_platform::{InfraArgs, ServerArgs, Shutdown};
use staymesh_proto::payment::payment_booking_service_server::{self, PaymentBookingServiceServer};
use staymesh_proto::payment::payment_service_server::{self, PaymentServiceServer};
use tokio::net::TcpListener;

pub use api::PaymentsApi;
pub use config::PaymentArgs;
pub use payments::Payments;
pub use pg::{HttpPg, Pg};
pub use staymesh_platform::rpc::Error;

/// The service's name: its database suffix, metrics label and log field.
pub const SERVICE: &str = "payment";

/// How the binary runs, migrates and settles this service.
pub static DESCRIPTOR: Descriptor = Descriptor {
    name: SERVICE,
    about: "Run the payment service (gRPC): PG payments, webhooks, refunds, reconciler, settlement",
    port: 50056,
    grpc_services: &[
        payment_service_server::SERVICE_NAME,
        payment_booking_service_server::SERVICE_NAME,
    ],
    edge_services: &[payment_service_server::SERVICE_NAME],
    migrator: &MIGRATOR,
    args: <PaymentArgs as clap::Args>::augment_args,
    prepare: |matches| {
        Ok(service::ready(
            service::own_args::<PaymentArgs>(matches)?,
            launch,
        ))
    },
    seed: None,
    tasks: &[Task {
        name: "settle",
        about: "Settle one Asia/Seoul day per host (idempotent: a rerun replaces the day), then exit",
        args: <SettleArgs as clap::Args>::augment_args,
        run: |run| Box::pin(settle_task(run)),
    }],
};

/// `staymesh payment settle --day D`.
#[derive(Debug, Clone, clap::Args)]
struct SettleArgs {
    /// The day to settle (YYYY-MM-DD, Asia/Seoul); yesterday by default.
    #[arg(long)]
    day: Option<NaiveDate>,
}

async fn settle_task(run: TaskRun) -> Result<Vec<String>, service::BoxError> {
    use clap::FromArgMatches;
    let args = PaymentArgs::from_arg_matches(&run.matches)?;
    let settle = SettleArgs::from_arg_matches(&run.task)?;
    let day = settle
        .day
        .unwrap_or_else(|| staymesh_platform::convert::today() - chrono::Days::new(1));
    let (pool, _redis) = DESCRIPTOR.connect(&run.infra).await?;
    let lines = settlement::settle(&pool, day, args.payment_fee_percent).await?;
    let mut out = vec![format!("settled {day} for {} host(s)", lines.len())];
    for line in lines
        .iter()
        .chain(std::iter::once(&settlement::total(&lines)))
    {
        out.push(format!(
            "{:<36}  payments {:>5}  paid {:>12}  refunded {:>12}  net {:>12}  fee {:>10}  payout {:>12}",
            line.host_id.map_or_else(|| "total".to_owned(), |h| h.to_string()),
            line.payment_count,
            line.paid,
            line.refunded,
            line.net,
            line.fee,
            line.payout
        ));
    }
    Ok(out)
}

async fn launch(args: PaymentArgs, launch: Launch) -> Result<(), Error> {
    let settings = Settings::new(launch.infra, launch.server, args, launch.token_verifier);
    run(settings, launch.listener, launch.shutdown).await
}

/// This service's schema.
pub static MIGRATOR: Migrator = sqlx::migrate!("./migrations");

/// Everything `run` needs.
#[derive(Debug, Clone)]
pub struct Settings {
    pub infra: InfraArgs,
    pub server: ServerArgs,
    pub payment: PaymentArgs,
    pub token_verifier: Arc<dyn TokenVerifier>,
    /// Where payment events go (`<prefix>.payment.events`).
    pub events_topic: String,
}

impl Settings {
    /// The settings of a deployment: the conventional topic.
    pub fn new(
        infra: InfraArgs,
        server: ServerArgs,
        payment: PaymentArgs,
        token_verifier: Arc<dyn TokenVerifier>,
    ) -> Self {
        Self {
            events_topic: infra.events_topic(SERVICE),
            infra,
            server,
            payment,
            token_verifier,
        }
    }
}

fn config_error(message: String) -> Error {
    Error::Infra(staymesh_platform::Error::Config(message))
}

/// Serves the payment services on `listener` until `shutdown`, with the
/// saga's command handler, the outbox relay, the reconciler and the daily
/// settlement beside them.
pub async fn run(
    settings: Settings,
    listener: TcpListener,
    shutdown: Shutdown,
) -> Result<(), Error> {
    let args = &settings.payment;
    staymesh_platform::telemetry::declare_counters(&[
        "payment_failed_total",
        "payment_tampering_refused_total",
        "payment_webhook_refused_total",
        "payment_pg_retries_total",
    ]);
    let verifier = webhook::Verifier::new(&args.payment_pg_webhook_secret).map_err(config_error)?;
    let pg = HttpPg::new(
        &args.payment_pg_url,
        &args.payment_pg_api_secret,
        args.payment_pg_timeout,
        "sandbox",
    )
    .map_err(config_error)?;
    let mut topics = Participant::topics(&settings.infra, SERVICE);
    topics.extend([
        settings.events_topic.clone(),
        kafka::dlq_topic(&settings.events_topic),
    ]);
    let connected = DESCRIPTOR
        .connect_with_topics_when_ready(&settings.infra, &topics, &shutdown)
        .await?;
    let Some((pool, redis)) = connected else {
        return Ok(());
    };
    let payments = Payments::new(
        pool.clone(),
        Arc::new(pg),
        settings.events_topic.clone(),
        args.payment_return_url.clone(),
    );

    let mut background = tokio::task::JoinSet::new();
    let relay = OutboxRelay::new(pool.clone(), Producer::new(&settings.infra.kafka_brokers)?);
    background.spawn(relay.run_until(shutdown.clone()));
    let participant = Participant::new(pool.clone(), &settings.infra, SERVICE)?;
    let handled = commands::Commands {
        payments: payments.clone(),
    };
    background.spawn(participant.run(
        move |incoming| handled.clone().handle(incoming),
        shutdown.clone(),
    ));
    background.spawn(reconcile::run(
        payments.clone(),
        args.payment_reconcile_every,
        shutdown.clone(),
    ));
    background.spawn(settlement::run(
        pool.clone(),
        args.payment_fee_percent,
        shutdown.clone(),
    ));

    let service = PaymentsApi {
        payments,
        webhooks: Arc::new(verifier),
        fee_percent: args.payment_fee_percent,
    };
    let served = GrpcServer::new(SERVICE, &settings.server)
        .add_service(PaymentServiceServer::new(service.clone()))
        .add_service(PaymentBookingServiceServer::new(service))
        .with_token_verifier(settings.token_verifier.clone())
        .with_stores_readiness(pool, redis)
        .serve(listener, shutdown.clone())
        .await;
    staymesh_platform::shutdown::stop_background(SERVICE, &shutdown, &mut background).await;
    served?;
    Ok(())
}
