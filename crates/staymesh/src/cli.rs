//! Command line and environment: every flag also reads a `STAYMESH_*` variable.

use clap::{Args, Parser, Subcommand};
use staymesh_coupon::CouponArgs;
use staymesh_platform::auth::jwks::AuthArgs;
use staymesh_platform::telemetry::LogFormat;
use staymesh_platform::{InfraArgs, ServerArgs};
use staymesh_user::UserArgs;

/// staymesh: an accommodation-booking platform as a gRPC service mesh.
#[derive(Debug, Parser)]
#[command(name = "staymesh", version)]
pub(crate) struct Cli {
    #[command(flatten)]
    pub(crate) infra: InfraArgs,
    #[command(flatten)]
    pub(crate) server: ServerArgs,
    #[command(flatten)]
    pub(crate) ports: Ports,
    #[command(flatten)]
    pub(crate) auth: AuthArgs,
    #[command(flatten)]
    pub(crate) user: UserArgs,
    #[command(flatten)]
    pub(crate) coupon: CouponArgs,
    /// Log format.
    #[arg(
        long,
        env = "STAYMESH_LOG_FORMAT",
        value_enum,
        default_value = "json",
        global = true
    )]
    pub(crate) log_format: LogFormat,
    #[command(subcommand)]
    pub(crate) command: Command,
}

#[derive(Debug, Subcommand)]
pub(crate) enum Command {
    /// Run the user service (gRPC): accounts, log-in, tokens, JWKS.
    User,
    /// Run the accommodation service (gRPC).
    Accommodation,
    /// Run the coupon service (gRPC, with its Kafka batch writer).
    Coupon,
    /// Run the HTTP edge (REST/JSON to gRPC, OpenAPI).
    Gateway,
    /// Run every service and the edge in one process.
    All,
    /// Create and migrate every service's database, then exit.
    Migrate,
    /// Load demo data (idempotent), then exit.
    Seed(SeedArgs),
    /// Print a new token signing key for STAYMESH_JWT_SIGNING_KEYS, then exit.
    Keygen(KeygenArgs),
}

impl Command {
    /// The service name telemetry reports.
    pub(crate) fn name(&self) -> &'static str {
        match self {
            Self::User => "staymesh-user",
            Self::Accommodation => "staymesh-accommodation",
            Self::Coupon => "staymesh-coupon",
            Self::Gateway => "staymesh-gateway",
            Self::All => "staymesh",
            Self::Migrate => "staymesh-migrate",
            Self::Seed(_) => "staymesh-seed",
            Self::Keygen(_) => "staymesh-keygen",
        }
    }
}

#[derive(Debug, Args)]
pub(crate) struct SeedArgs {
    /// How many demo properties.
    #[arg(long, env = "STAYMESH_SEED_PROPERTIES", default_value_t = 1000,
          value_parser = clap::value_parser!(u32).range(1..=100_000))]
    pub(crate) properties: u32,
}

#[derive(Debug, Args)]
pub(crate) struct KeygenArgs {
    /// The key id (`kid`); by default today's date and a random suffix.
    #[arg(long)]
    pub(crate) kid: Option<String>,
}

/// Where each part listens, and where the edge finds the services.
#[derive(Debug, Clone, Args)]
pub(crate) struct Ports {
    /// gRPC port of the user service (metrics on 91xx, xx its last two digits).
    #[arg(
        long,
        env = "STAYMESH_USER_PORT",
        default_value_t = 50051,
        global = true
    )]
    pub(crate) user_port: u16,
    /// Metrics port of the user service (default 91xx, xx the gRPC port's last two digits).
    #[arg(long, env = "STAYMESH_USER_METRICS_PORT", global = true)]
    pub(crate) user_metrics_port: Option<u16>,
    /// gRPC port of the accommodation service (metrics on 91xx, xx its last two digits).
    #[arg(
        long,
        env = "STAYMESH_ACCOMMODATION_PORT",
        default_value_t = 50052,
        global = true
    )]
    pub(crate) accommodation_port: u16,
    /// Metrics port of the accommodation service (default 91xx, xx the gRPC port's last two digits).
    #[arg(long, env = "STAYMESH_ACCOMMODATION_METRICS_PORT", global = true)]
    pub(crate) accommodation_metrics_port: Option<u16>,
    /// gRPC port of the coupon service (metrics on 91xx, xx its last two digits).
    #[arg(
        long,
        env = "STAYMESH_COUPON_PORT",
        default_value_t = 50054,
        global = true
    )]
    pub(crate) coupon_port: u16,
    /// Metrics port of the coupon service (default 91xx, xx the gRPC port's last two digits).
    #[arg(long, env = "STAYMESH_COUPON_METRICS_PORT", global = true)]
    pub(crate) coupon_metrics_port: Option<u16>,
    /// Where the edge reaches the coupon service.
    #[arg(
        long,
        env = "STAYMESH_COUPON_URL",
        default_value = "http://127.0.0.1:50054",
        global = true
    )]
    pub(crate) coupon_url: String,
    /// HTTP port of the edge.
    #[arg(
        long,
        env = "STAYMESH_HTTP_PORT",
        default_value_t = 8080,
        global = true
    )]
    pub(crate) http_port: u16,
    /// Metrics port of the edge.
    #[arg(
        long,
        env = "STAYMESH_GATEWAY_METRICS_PORT",
        default_value_t = 9180,
        global = true
    )]
    pub(crate) gateway_metrics_port: u16,
    /// Where the edge reaches the accommodation service.
    #[arg(
        long,
        env = "STAYMESH_ACCOMMODATION_URL",
        default_value = "http://127.0.0.1:50052",
        global = true
    )]
    pub(crate) accommodation_url: String,
}

impl Ports {
    pub(crate) fn user_metrics(&self) -> u16 {
        self.user_metrics_port
            .unwrap_or_else(|| metrics_port(self.user_port))
    }

    pub(crate) fn coupon_metrics(&self) -> u16 {
        self.coupon_metrics_port
            .unwrap_or_else(|| metrics_port(self.coupon_port))
    }

    pub(crate) fn accommodation_metrics(&self) -> u16 {
        self.accommodation_metrics_port
            .unwrap_or_else(|| metrics_port(self.accommodation_port))
    }
}

/// The metrics port of a gRPC port: 91xx, xx its last two digits.
fn metrics_port(grpc_port: u16) -> u16 {
    9100 + grpc_port % 100
}
