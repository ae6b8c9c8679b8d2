//! A service started in this process the way its pod starts it, on a port of
//! its own and in stores of its own, stopped at the end of the test with its
//! error (if any) surfaced.

use std::future::Future;
use std::time::Duration;

use sqlx::PgPool;
use staymesh_platform::redis::RedisPool;
use staymesh_platform::service::Descriptor;
use staymesh_platform::{InfraArgs, ServerArgs, Shutdown};
use tokio::net::TcpListener;
use tokio::task::JoinHandle;
use tonic::transport::Channel;
use tonic_health::pb::HealthCheckRequest;
use tonic_health::pb::health_check_response::ServingStatus;
use tonic_health::pb::health_client::HealthClient;

/// How long a service may take to report SERVING (migrations included).
const START_LIMIT: Duration = Duration::from_secs(90);

/// A running service.
#[derive(Debug)]
pub struct Running<E> {
    /// A channel to its gRPC port.
    pub channel: Channel,
    /// Its infrastructure settings: a database, Redis prefix and Kafka
    /// prefix no other test uses.
    pub infra: InfraArgs,
    /// The service's database, for the test to look into.
    pub pool: PgPool,
    pub redis: RedisPool,
    service: &'static str,
    shutdown: Shutdown,
    server: JoinHandle<Result<(), E>>,
}

/// The shared settings a service reads from an empty environment, with a
/// database, Redis prefix and Kafka prefix of its own (see [`isolate`]).
pub fn stores() -> (InfraArgs, ServerArgs) {
    #[derive(Debug, clap::Parser)]
    struct Shared {
        #[command(flatten)]
        infra: InfraArgs,
        #[command(flatten)]
        server: ServerArgs,
    }
    let mut shared: Shared = clap::Parser::parse_from(["test"]);
    isolate(&mut shared.infra);
    (shared.infra, shared.server)
}

/// A service's own settings (`T: clap::Args`) as an empty environment gives them.
pub fn own_args<T: clap::Args + clap::FromArgMatches>() -> T {
    let matches = T::augment_args(clap::Command::new("test")).get_matches_from(["test"]);
    T::from_arg_matches(&matches).expect("default settings")
}

/// Gives `infra` a database prefix, Redis prefix and Kafka prefix of its
/// own, so tests running at once never see each other's data.
pub fn isolate(infra: &mut InfraArgs) {
    let tag = uuid::Uuid::now_v7().simple().to_string();
    let tag = &tag[tag.len() - 16..];
    infra.database_prefix = format!("t{tag}");
    infra.redis_prefix = format!("test:{tag}");
    infra.kafka_prefix = format!("t{tag}");
}

/// Starts `service` with `run(listener, shutdown)` on 127.0.0.1:0, waits
/// until its health says SERVING and connects to its stores. `infra` is what
/// `run` was configured with (see [`stores`]); its database is dropped by
/// [`Running::stop`].
pub async fn spawn<E, F, Fut>(service: &'static Descriptor, infra: InfraArgs, run: F) -> Running<E>
where
    F: FnOnce(TcpListener, Shutdown) -> Fut,
    Fut: Future<Output = Result<(), E>> + Send + 'static,
    E: std::fmt::Debug + Send + 'static,
{
    crate::init_logs();
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    let shutdown = Shutdown::new();
    let server = tokio::spawn(run(listener, shutdown.clone()));
    let channel = Channel::from_shared(format!("http://{addr}"))
        .expect("uri")
        .connect_lazy();
    let mut starting = Starting {
        channel: channel.clone(),
        service: service.name,
        server,
    };
    starting.wait_serving().await;
    let (pool, redis) = service.connect(&infra).await.expect("connect");
    Running {
        channel,
        infra,
        pool,
        redis,
        service: service.name,
        shutdown,
        server: starting.server,
    }
}

/// A service until it says SERVING.
struct Starting<E> {
    channel: Channel,
    service: &'static str,
    server: JoinHandle<Result<(), E>>,
}

impl<E: std::fmt::Debug + Send + 'static> Starting<E> {
    async fn wait_serving(&mut self) {
        let mut health = HealthClient::new(self.channel.clone());
        let deadline = tokio::time::Instant::now() + START_LIMIT;
        loop {
            if self.server.is_finished() {
                let outcome = (&mut self.server).await;
                panic!("{} stopped during start-up: {outcome:?}", self.service);
            }
            let request = HealthCheckRequest {
                service: String::new(),
            };
            if let Ok(response) = health.check(request).await
                && response.get_ref().status == ServingStatus::Serving as i32
            {
                return;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "{} never became SERVING",
                self.service
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

impl<E: std::fmt::Debug + Send + 'static> Running<E> {
    /// Stops the service (panicking with its error if it failed) and drops
    /// its database.
    pub async fn stop(self) {
        let (infra, service) = (self.infra.clone(), self.service);
        self.stop_replica().await;
        staymesh_platform::db::drop_database(&infra.postgres_url, &infra.database_for(service))
            .await
            .expect("drop test database");
    }

    /// Stops the service (panicking with its error if it failed) and leaves
    /// its database to the other replicas that share it.
    pub async fn stop_replica(self) {
        self.pool.close().await;
        self.shutdown.trigger();
        match self.server.await {
            Ok(Ok(())) => {}
            Ok(Err(error)) => panic!("{} failed: {error:?}", self.service),
            Err(panic) => panic!("{} panicked: {panic:?}", self.service),
        }
    }
}
