//! A service as the one binary sees it. Each service crate exports one
//! [`Descriptor`] (its name, default port, the gRPC services it serves and
//! which of them the HTTP edge exposes, its schema, its own settings, how it
//! runs and what demo data it seeds), and the binary keeps one list of them.
//! `staymesh <service>`, `staymesh all`, `migrate`, `seed`, `services`, the
//! edge's backend table, the metrics ports, the service URLs and the
//! end-to-end harness all come from that list, so a new service is its crate
//! and one line.

use std::collections::BTreeMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use sqlx::migrate::Migrator;
use tokio::net::TcpListener;

use crate::auth::TokenVerifier;
use crate::{InfraArgs, ServerArgs, Shutdown};

/// A boxed future that can move between threads.
pub type BoxFuture<T> = Pin<Box<dyn Future<Output = T> + Send>>;
/// Whatever a service's start-up or seed fails with.
pub type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// Loads a service's demo data; returns lines for the terminal.
pub type SeedFn = fn(Seeding) -> BoxFuture<Result<Vec<String>, BoxError>>;

/// Everything the binary knows of one service.
#[derive(Debug)]
pub struct Descriptor {
    /// Its subcommand, database suffix, metrics label and the `<NAME>` of
    /// `STAYMESH_<NAME>_PORT`, `_METRICS_PORT` and `_URL`.
    pub name: &'static str,
    /// One line for `staymesh --help`.
    pub about: &'static str,
    /// Its gRPC port unless `STAYMESH_<NAME>_PORT` says otherwise; metrics
    /// listen on 91xx, xx the gRPC port's last two digits.
    pub port: u16,
    /// The fully-qualified gRPC services it serves (health and reflection aside).
    pub grpc_services: &'static [&'static str],
    /// Those of them the HTTP edge routes (public APIs, not internal ones).
    pub edge_services: &'static [&'static str],
    /// Its schema, applied by `staymesh migrate` and at start-up.
    pub migrator: &'static Migrator,
    /// Adds its own settings (a `clap::Args` type's `augment_args`) to the CLI.
    pub args: fn(clap::Command) -> clap::Command,
    /// Reads its settings from the parsed CLI, failing on a bad value before
    /// anything listens.
    pub prepare: fn(&clap::ArgMatches) -> Result<Box<dyn Prepared>, BoxError>,
    /// Loads its demo data, idempotently; returns lines for the terminal.
    pub seed: Option<SeedFn>,
    /// Its one-shot commands, `staymesh <name> <task>` (e.g. `payment settle`).
    pub tasks: &'static [Task],
}

/// A one-shot command of a service, run against its stores and exited.
#[derive(Debug)]
pub struct Task {
    /// Its subcommand under the service's.
    pub name: &'static str,
    /// One line for `staymesh <service> --help`.
    pub about: &'static str,
    /// Adds its own flags (a `clap::Args` type's `augment_args`).
    pub args: fn(clap::Command) -> clap::Command,
    /// Runs it; returns lines for the terminal.
    pub run: fn(TaskRun) -> BoxFuture<Result<Vec<String>, BoxError>>,
}

/// What a task gets.
#[derive(Debug, Clone)]
pub struct TaskRun {
    pub infra: InfraArgs,
    /// The whole command line, for the service's own settings.
    pub matches: clap::ArgMatches,
    /// The task's own flags.
    pub task: clap::ArgMatches,
}

impl Descriptor {
    /// `NAME` as in `STAYMESH_<NAME>_PORT`.
    pub fn env_name(&self) -> String {
        self.name.to_ascii_uppercase().replace('-', "_")
    }

    /// Connects to (and migrates) the service's own database, and to Redis.
    pub async fn connect(
        &self,
        infra: &InfraArgs,
    ) -> Result<(sqlx::PgPool, crate::redis::RedisPool), crate::Error> {
        crate::stores::connect(infra, self.name, self.migrator).await
    }

    /// Creates and migrates its database (no Redis, no pool kept).
    pub async fn migrate(&self, infra: &InfraArgs) -> Result<(), crate::Error> {
        crate::stores::migrate(infra, self.name, self.migrator).await
    }

    /// Connects to its stores, retrying while they do not answer yet (pods
    /// start before their dependencies); `None` if the shutdown came first.
    pub async fn connect_when_ready(
        &self,
        infra: &InfraArgs,
        shutdown: &Shutdown,
    ) -> Result<Option<(sqlx::PgPool, crate::redis::RedisPool)>, crate::Error> {
        let what = format!("{} database and redis", self.name);
        crate::shutdown::retry_until_ready(&what, shutdown, || self.connect(infra)).await
    }

    /// Like [`Descriptor::connect_when_ready`], first creating the Kafka
    /// `topics` it uses (brokers such as Tansu do not create them).
    pub async fn connect_with_topics_when_ready(
        &self,
        infra: &InfraArgs,
        topics: &[String],
        shutdown: &Shutdown,
    ) -> Result<Option<(sqlx::PgPool, crate::redis::RedisPool)>, crate::Error> {
        let what = format!("{} database, redis and kafka", self.name);
        let names: Vec<&str> = topics.iter().map(String::as_str).collect();
        crate::shutdown::retry_until_ready(&what, shutdown, || async {
            crate::kafka::ensure_topics(&infra.kafka_brokers, &names, 3).await?;
            self.connect(infra).await
        })
        .await
    }

    /// The metrics port that goes with a gRPC port: 91xx, xx its last two digits.
    pub fn metrics_port_of(grpc_port: u16) -> u16 {
        9100 + grpc_port % 100
    }
}

/// A service whose settings have been read, ready to run.
pub trait Prepared: Send {
    /// A verifier for the tokens this service issues, so the other services
    /// of the same process can check them without fetching keys.
    fn token_verifier(&self) -> Option<Arc<dyn TokenVerifier>> {
        None
    }

    /// Serves on `launch.listener` until `launch.shutdown`.
    fn run(self: Box<Self>, launch: Launch) -> BoxFuture<Result<(), BoxError>>;
}

/// What a service gets from the process that runs it.
#[derive(Debug)]
pub struct Launch {
    pub infra: InfraArgs,
    pub server: ServerArgs,
    pub listener: TcpListener,
    pub shutdown: Shutdown,
    /// How to verify callers' tokens.
    pub token_verifier: Arc<dyn TokenVerifier>,
    /// Where the other services are.
    pub urls: ServiceUrls,
}

/// Where each service answers, by name (`STAYMESH_<NAME>_URL`, or the port
/// just bound when one process runs them all).
#[derive(Debug, Clone, Default)]
pub struct ServiceUrls(BTreeMap<String, String>);

impl ServiceUrls {
    pub fn insert(&mut self, service: &str, url: String) {
        self.0.insert(service.to_owned(), url);
    }

    /// The URL of `service`.
    pub fn get(&self, service: &str) -> Result<&str, crate::Error> {
        self.0
            .get(service)
            .map(String::as_str)
            .ok_or_else(|| crate::Error::Config(format!("no URL for the {service} service")))
    }
}

/// What a service's seed gets.
#[derive(Clone)]
pub struct Seeding {
    pub infra: InfraArgs,
    /// The parsed CLI, for the service's own settings.
    pub matches: clap::ArgMatches,
    /// How many demo properties the user asked for.
    pub properties: u32,
    /// Reports progress of a long seed: (done, total).
    pub progress: Arc<dyn Fn(u64, u64) + Send + Sync>,
}

impl std::fmt::Debug for Seeding {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Seeding")
            .field("properties", &self.properties)
            .finish_non_exhaustive()
    }
}

/// Reads a service's own settings (`T: clap::Args`) from the parsed CLI.
pub fn own_args<T: clap::FromArgMatches>(matches: &clap::ArgMatches) -> Result<T, BoxError> {
    Ok(T::from_arg_matches(matches)?)
}

/// For a service with no settings of its own.
pub fn no_args(command: clap::Command) -> clap::Command {
    command
}

/// A service prepared from its own settings `A`, started by `start`: what
/// most services' `prepare` returns.
pub fn ready<A, F, Fut, E>(args: A, start: F) -> Box<dyn Prepared>
where
    A: Send + 'static,
    F: FnOnce(A, Launch) -> Fut + Send + 'static,
    Fut: Future<Output = Result<(), E>> + Send + 'static,
    E: Into<BoxError>,
{
    Box::new(Ready { args, start })
}

struct Ready<A, F> {
    args: A,
    start: F,
}

impl<A, F, Fut, E> Prepared for Ready<A, F>
where
    A: Send + 'static,
    F: FnOnce(A, Launch) -> Fut + Send + 'static,
    Fut: Future<Output = Result<(), E>> + Send + 'static,
    E: Into<BoxError>,
{
    fn run(self: Box<Self>, launch: Launch) -> BoxFuture<Result<(), BoxError>> {
        let Ready { args, start } = *self;
        Box::pin(async move { start(args, launch).await.map_err(Into::into) })
    }
}
