//! The gRPC server every service runs: its own services plus gRPC health
//! (NOT_SERVING until its dependencies answer, and again from SIGTERM on),
//! reflection v1 and v1alpha (so grpcurl and ghz need no proto files), a
//! request timeout, a concurrency limit, per-RPC telemetry, the auth layer,
//! and a graceful drain bounded by a timeout.

use std::convert::Infallible;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use futures::TryStreamExt;
use tokio::net::TcpListener;
use tonic::body::Body;
use tonic::server::NamedService;
use tonic::service::RoutesBuilder;
use tonic_health::ServingStatus;
use tonic_health::server::HealthReporter;
use tower::limit::GlobalConcurrencyLimitLayer;

use crate::auth::{AuthLayer, RejectAllTokens, TokenVerifier};
use crate::coalesced_io::CoalescedIo;
use crate::config::ServerArgs;
use crate::error::Error;
use crate::layers::RpcTelemetryLayer;
use crate::shutdown::Shutdown;

type ReadinessFuture = Pin<Box<dyn Future<Output = Result<(), Error>> + Send>>;
type ReadinessCheck = Arc<dyn Fn() -> ReadinessFuture + Send + Sync>;

/// Why a server whose stores answer is not serving yet.
const NO_KEYS: &str = "no token verification keys yet";

/// How often health re-checks the dependencies.
const READINESS_INTERVAL: Duration = Duration::from_secs(2);

/// Builds and runs one service's gRPC server.
pub struct GrpcServer {
    name: &'static str,
    args: ServerArgs,
    routes: RoutesBuilder,
    service_names: Vec<&'static str>,
    verifier: Arc<dyn TokenVerifier>,
    readiness: Option<ReadinessCheck>,
}

impl std::fmt::Debug for GrpcServer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GrpcServer")
            .field("name", &self.name)
            .field("services", &self.service_names)
            .finish_non_exhaustive()
    }
}

impl GrpcServer {
    /// A server for the service `name` (labels metrics and logs).
    pub fn new(name: &'static str, args: &ServerArgs) -> Self {
        Self {
            name,
            args: args.clone(),
            routes: RoutesBuilder::default(),
            service_names: Vec::new(),
            verifier: Arc::new(RejectAllTokens),
            readiness: None,
        }
    }

    /// Adds a generated tonic service.
    pub fn add_service<S>(mut self, service: S) -> Self
    where
        S: tower::Service<http::Request<Body>, Error = Infallible>
            + NamedService
            + Clone
            + Send
            + Sync
            + 'static,
        S::Response: axum::response::IntoResponse,
        S::Future: Send + 'static,
    {
        self.routes.add_service(service);
        self.service_names.push(S::NAME);
        self
    }

    /// Sets how bearer tokens are verified (default: every token is rejected).
    pub fn with_token_verifier(mut self, verifier: Arc<dyn TokenVerifier>) -> Self {
        self.verifier = verifier;
        self
    }

    /// Sets the dependency check behind health: SERVING only while it succeeds.
    pub fn with_readiness<F, Fut>(mut self, check: F) -> Self
    where
        F: Fn() -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<(), Error>> + Send + 'static,
    {
        self.readiness = Some(Arc::new(move || Box::pin(check())));
        self
    }

    /// Health follows the service's Postgres and Redis.
    pub fn with_stores_readiness(self, pool: sqlx::PgPool, redis: crate::redis::RedisPool) -> Self {
        self.with_readiness(move || {
            let (pool, redis) = (pool.clone(), redis.clone());
            async move { crate::stores::ping(&pool, &redis).await }
        })
    }

    /// Serves on `listener` until `shutdown`, then drains in-flight RPCs for at
    /// most the configured drain timeout.
    pub async fn serve(self, listener: TcpListener, shutdown: Shutdown) -> Result<(), Error> {
        let (reporter, health_service) = tonic_health::server::health_reporter();
        let reflection_v1 = reflection(&self.service_names)
            .build_v1()
            .map_err(|e| Error::Config(format!("reflection: {e}")))?;
        let reflection_v1alpha = reflection(&self.service_names)
            .build_v1alpha()
            .map_err(|e| Error::Config(format!("reflection: {e}")))?;

        let mut routes = self.routes;
        routes
            .add_service(health_service)
            .add_service(reflection_v1)
            .add_service(reflection_v1alpha);

        let names = self.service_names.clone();
        set_all(&reporter, &names, ServingStatus::NotServing).await;
        let health_task = tokio::spawn(watch_readiness(
            reporter.clone(),
            names.clone(),
            self.readiness.clone(),
            self.verifier.clone(),
            shutdown.clone(),
        ));

        let addr = listener.local_addr()?;
        tracing::info!(service = self.name, %addr, "gRPC server listening");
        let layers = tower::ServiceBuilder::new()
            .layer(GlobalConcurrencyLimitLayer::new(
                self.args.concurrency_limit as usize,
            ))
            .layer(RpcTelemetryLayer::new(self.name))
            .layer(AuthLayer::new(self.verifier.clone()));
        // `Server::tcp_nodelay` only covers listeners tonic binds itself; without
        // TCP_NODELAY here, Nagle and delayed ACKs add ~40 ms to every response.
        // Each connection coalesces h2's writes (see `coalesced_io`).
        let incoming = tonic::transport::server::TcpIncoming::from(listener)
            .with_nodelay(Some(true))
            .map_ok(CoalescedIo::new);
        let drain_signal = {
            let shutdown = shutdown.clone();
            let reporter = reporter.clone();
            let names = names.clone();
            async move {
                shutdown.wait().await;
                // Tell load balancers first, then stop taking connections.
                set_all(&reporter, &names, ServingStatus::NotServing).await;
            }
        };
        let server = tonic::transport::Server::builder()
            .timeout(self.args.request_timeout)
            .layer(layers)
            .add_routes(routes.routes())
            .serve_with_incoming_shutdown(incoming, drain_signal);
        tokio::pin!(server);

        let result = tokio::select! {
            result = &mut server => result.map_err(Error::from),
            () = drain_deadline(&shutdown, self.args.drain_timeout) => {
                tracing::warn!(service = self.name, "drain timeout reached, dropping in-flight RPCs");
                Ok(())
            }
        };
        health_task.abort();
        tracing::info!(service = self.name, "gRPC server stopped");
        result
    }
}

/// Reflection that lists only what this server serves (the descriptor set
/// holds every staymesh contract), health included.
fn reflection(names: &[&'static str]) -> tonic_reflection::server::Builder<'static> {
    let mut builder = tonic_reflection::server::Builder::configure()
        .register_encoded_file_descriptor_set(staymesh_proto::FILE_DESCRIPTOR_SET)
        .register_encoded_file_descriptor_set(tonic_health::pb::FILE_DESCRIPTOR_SET)
        .with_service_name("grpc.health.v1.Health");
    for name in names {
        builder = builder.with_service_name(*name);
    }
    builder
}

async fn drain_deadline(shutdown: &Shutdown, drain: Duration) {
    shutdown.wait().await;
    tokio::time::sleep(drain).await;
}

async fn set_all(reporter: &HealthReporter, names: &[&'static str], status: ServingStatus) {
    reporter.set_service_status("", status).await;
    for name in names {
        reporter.set_service_status(*name, status).await;
    }
}

/// Keeps health in step with the dependencies until shutdown.
async fn watch_readiness(
    reporter: HealthReporter,
    names: Vec<&'static str>,
    check: Option<ReadinessCheck>,
    verifier: Arc<dyn TokenVerifier>,
    shutdown: Shutdown,
) {
    let mut last = None;
    // Why the server is not serving is logged when it starts or changes, not
    // at every check: a replica building its search index, or waiting for
    // the user service's keys, looks again every 250 ms.
    let mut last_reason = None;
    loop {
        if shutdown.is_triggered() {
            return;
        }
        let dependencies = match &check {
            None => Ok(()),
            Some(check) => check().await,
        };
        let reason = match &dependencies {
            Err(error) => Some(error.to_string()),
            Ok(()) if !verifier.is_ready() => Some(NO_KEYS.to_owned()),
            Ok(()) => None,
        };
        if reason.is_some() && reason != last_reason {
            match &dependencies {
                Err(error) => tracing::warn!(%error, "dependency check failed, NOT_SERVING"),
                Ok(()) => tracing::info!("{NO_KEYS}, NOT_SERVING"),
            }
        }
        let status = if reason.is_some() {
            ServingStatus::NotServing
        } else {
            ServingStatus::Serving
        };
        last_reason = reason;
        if last != Some(status) && !shutdown.is_triggered() {
            if status == ServingStatus::Serving {
                tracing::info!(services = ?names, "SERVING");
            }
            set_all(&reporter, &names, status).await;
            last = Some(status);
        }
        tokio::select! {
            () = shutdown.wait() => return,
            // Until SERVING, look again soon: start-up should not wait a full interval.
            () = tokio::time::sleep(if last == Some(ServingStatus::Serving) {
                READINESS_INTERVAL
            } else {
                READINESS_INTERVAL / 8
            }) => {}
        }
    }
}
