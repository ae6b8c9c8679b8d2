//! Command line and environment: every flag also reads a `STAYMESH_*` variable.
//! The fixed part is derived here; each service adds its subcommand, its own
//! settings and its `STAYMESH_<NAME>_PORT`, `_METRICS_PORT` and `_URL`.

use clap::{Arg, ArgMatches, Args, CommandFactory, FromArgMatches, Parser, Subcommand};
use staymesh_platform::auth::jwks::AuthArgs;
use staymesh_platform::service::Descriptor;
use staymesh_platform::telemetry::LogFormat;
use staymesh_platform::{InfraArgs, ServerArgs};

use crate::services::SERVICES;

/// staymesh: an accommodation-booking platform as a gRPC service mesh.
#[derive(Debug, Parser)]
#[command(name = "staymesh", version)]
pub(crate) struct Cli {
    #[command(flatten)]
    pub(crate) infra: InfraArgs,
    #[command(flatten)]
    pub(crate) server: ServerArgs,
    #[command(flatten)]
    pub(crate) auth: AuthArgs,
    #[command(flatten)]
    pub(crate) edge: EdgeArgs,
    #[command(flatten)]
    pub(crate) pg_sandbox: staymesh_pg_sandbox::SandboxArgs,
    #[command(flatten)]
    pub(crate) media: staymesh_platform::media::MediaArgs,
    /// Log format.
    #[arg(
        long,
        env = "STAYMESH_LOG_FORMAT",
        value_enum,
        default_value = "json",
        global = true
    )]
    pub(crate) log_format: LogFormat,
    /// `None` when the subcommand is a service's (`staymesh coupon`).
    #[command(subcommand)]
    pub(crate) command: Option<Command>,
}

#[derive(Debug, Subcommand)]
pub(crate) enum Command {
    /// Run the HTTP edge (REST/JSON to gRPC, OpenAPI).
    Gateway,
    /// Run every service, the edge and the sandbox PG in one process.
    All,
    /// Run the sandbox payment gateway (PortOne-style REST API, checkout
    /// page and signed webhooks) for development, tests and benchmarks.
    PgSandbox,
    /// Create and migrate every service's database, then exit.
    Migrate,
    /// Load demo data (idempotent), then exit.
    Seed(SeedArgs),
    /// Print a new token signing key for STAYMESH_JWT_SIGNING_KEYS, then exit.
    Keygen(KeygenArgs),
    /// List the services with their ports, URLs and gRPC services, then exit.
    Services(ServicesArgs),
    /// Print every setting with its variable and default, then exit.
    Config(ConfigArgs),
}

impl Command {
    /// The service name telemetry reports.
    pub(crate) fn telemetry_name(&self) -> &'static str {
        match self {
            Self::Gateway => "staymesh-gateway",
            Self::All => "staymesh",
            Self::PgSandbox => "staymesh-pg-sandbox",
            Self::Migrate => "staymesh-migrate",
            Self::Seed(_) => "staymesh-seed",
            Self::Keygen(_) => "staymesh-keygen",
            Self::Services(_) => "staymesh-services",
            Self::Config(_) => "staymesh-config",
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

#[derive(Debug, Args)]
pub(crate) struct ServicesArgs {
    /// Only the names, one a line (for scripts).
    #[arg(long)]
    pub(crate) names: bool,
}

#[derive(Debug, Args)]
pub(crate) struct ConfigArgs {
    /// As the Markdown table README.md carries.
    #[arg(long)]
    pub(crate) markdown: bool,
}

/// Where the HTTP edge listens.
#[derive(Debug, Clone, Args)]
pub(crate) struct EdgeArgs {
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
}

/// The whole command line: the derived part plus every service's.
pub(crate) fn command() -> clap::Command {
    let base = Cli::command();
    let about = base.get_about().cloned().unwrap_or_default();
    let mut command = base.subcommand_required(true).arg_required_else_help(true);
    for service in SERVICES {
        command = (service.args)(command)
            .args(endpoint_args(service))
            .subcommand(
                clap::Command::new(service.name)
                    .about(service.about)
                    .subcommands(service.tasks.iter().map(|task| {
                        // The task's settings group carries a doc line of its own.
                        (task.args)(clap::Command::new(task.name)).about(task.about)
                    })),
            );
    }
    // A service's settings group carries its own doc line; the binary keeps its.
    command.about(about).long_about(None::<&str>)
}

/// Parses the command line; the matches also hold every service's settings.
pub(crate) fn parse() -> Result<(Cli, ArgMatches), clap::Error> {
    let matches = command().try_get_matches()?;
    let cli = Cli::from_arg_matches(&matches)?;
    Ok((cli, matches))
}

/// `--<name>-port`, `--<name>-metrics-port` and `--<name>-url` of a service.
fn endpoint_args(service: &Descriptor) -> [Arg; 3] {
    let (name, env) = (service.name, service.env_name());
    let port = service.port;
    [
        Arg::new(format!("{name}_port"))
            .long(format!("{name}-port"))
            .env(format!("STAYMESH_{env}_PORT"))
            .value_parser(clap::value_parser!(u16))
            .value_name("PORT")
            .default_value(port.to_string())
            .global(true)
            .help(format!("gRPC port of the {name} service")),
        Arg::new(format!("{name}_metrics_port"))
            .long(format!("{name}-metrics-port"))
            .env(format!("STAYMESH_{env}_METRICS_PORT"))
            .value_parser(clap::value_parser!(u16))
            .value_name("PORT")
            .global(true)
            .help(format!(
                "Metrics port of the {name} service (default 91xx, xx the gRPC port's last two digits)"
            )),
        Arg::new(format!("{name}_url"))
            .long(format!("{name}-url"))
            .env(format!("STAYMESH_{env}_URL"))
            .value_name("URL")
            .default_value(format!("http://127.0.0.1:{port}"))
            .global(true)
            .help(format!(
                "Where the edge and the other services reach the {name} service"
            )),
    ]
}

/// Where one service listens and answers, as configured.
#[derive(Debug, Clone)]
pub(crate) struct Endpoint {
    pub(crate) port: u16,
    pub(crate) metrics_port: u16,
    pub(crate) url: String,
}

impl Endpoint {
    pub(crate) fn of(service: &Descriptor, matches: &ArgMatches) -> Self {
        let name = service.name;
        let port = matches
            .get_one::<u16>(&format!("{name}_port"))
            .copied()
            .unwrap_or(service.port);
        Self {
            port,
            metrics_port: matches
                .get_one::<u16>(&format!("{name}_metrics_port"))
                .copied()
                .unwrap_or_else(|| Descriptor::metrics_port_of(port)),
            url: matches
                .get_one::<String>(&format!("{name}_url"))
                .cloned()
                .unwrap_or_else(|| format!("http://127.0.0.1:{port}")),
        }
    }
}
