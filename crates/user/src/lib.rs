//! The user service: sign-up, log-in, refresh, log-out and profiles; roles
//! (GUEST, HOST, ADMIN); Argon2id password hashes; EdDSA access tokens with a
//! `kid`, signed by a rotating keyring whose public keys the JWKS serves to
//! every other service; opaque refresh tokens stored hashed and rotated on
//! use, with reuse revoking the whole session; and a Redis-backed limit on
//! failed log-ins per account and per client address.
// Dev-dependencies serve the integration tests, not the unit tests.
#![cfg_attr(test, allow(unused_crate_dependencies))]

mod accounts;
mod api;
mod config;
mod error;
mod handlers;
mod keyring;
mod login_limit;
mod password;
pub mod seed;
mod sessions;
mod validate;

use std::sync::Arc;
use std::time::Duration;

use sqlx::PgPool;
use sqlx::migrate::Migrator;
use staymesh_platform::auth::TokenVerifier;
use staymesh_platform::server::GrpcServer;
use staymesh_platform::service::{self, BoxError, BoxFuture, Descriptor, Launch};
use staymesh_platform::{InfraArgs, ServerArgs, Shutdown};
use staymesh_proto::user::user_service_server::{self, UserServiceServer};
use tokio::net::TcpListener;

pub use api::Users;
pub use config::UserArgs;
pub use error::Error;
pub use keyring::Keyring;

/// The service's name: its database suffix, metrics label and log field.
pub const SERVICE: &str = "user";

/// How the binary runs, migrates and seeds this service.
pub static DESCRIPTOR: Descriptor = Descriptor {
    name: SERVICE,
    about: "Run the user service (gRPC): accounts, log-in, tokens, JWKS",
    port: 50051,
    grpc_services: &[user_service_server::SERVICE_NAME],
    edge_services: &[user_service_server::SERVICE_NAME],
    migrator: &MIGRATOR,
    args: <UserArgs as clap::Args>::augment_args,
    prepare: |matches| {
        let user: UserArgs = service::own_args(matches)?;
        let keyring = Keyring::from_config(&user.jwt_signing_keys)?;
        Ok(Box::new(Prepared { user, keyring }))
    },
    seed: Some(|seeding| Box::pin(seed::demo(seeding))),
    tasks: &[],
};

/// The user service with its signing keys: made once per process, so the
/// other services of the process verify with the very keys that sign.
struct Prepared {
    user: UserArgs,
    keyring: Keyring,
}

impl service::Prepared for Prepared {
    fn token_verifier(&self) -> Option<Arc<dyn TokenVerifier>> {
        let verifier: Arc<dyn TokenVerifier> = self.keyring.verifier();
        Some(verifier)
    }

    fn run(self: Box<Self>, launch: Launch) -> BoxFuture<Result<(), BoxError>> {
        let settings = Settings {
            redis_prefix: launch.infra.redis_prefix_for(SERVICE),
            infra: launch.infra,
            server: launch.server,
            user: self.user,
            keyring: self.keyring,
        };
        Box::pin(async move { Ok(run(settings, launch.listener, launch.shutdown).await?) })
    }
}

/// This service's schema.
pub static MIGRATOR: Migrator = sqlx::migrate!("./migrations");

/// How often expired refresh tokens are deleted, and how long after expiry.
const PRUNE_EVERY: Duration = Duration::from_secs(3600);
const PRUNE_AFTER: Duration = Duration::from_secs(86_400);

/// Everything `run` needs.
#[derive(Debug, Clone)]
pub struct Settings {
    pub infra: InfraArgs,
    pub server: ServerArgs,
    pub user: UserArgs,
    /// The signing keys (built by the caller, so one process can hand the
    /// same verifier to its other services).
    pub keyring: Keyring,
    /// Prefix of this service's Redis keys.
    pub redis_prefix: String,
}

/// Serves the user service on `listener` until `shutdown`.
pub async fn run(
    settings: Settings,
    listener: TcpListener,
    shutdown: Shutdown,
) -> Result<(), Error> {
    let args = &settings.user;
    let passwords = password::Passwords::new(
        args.argon2_memory_kib,
        args.argon2_iterations,
        args.argon2_parallelism,
    )?;
    let connected = DESCRIPTOR
        .connect_when_ready(&settings.infra, &shutdown)
        .await?;
    let Some((pool, redis)) = connected else {
        return Ok(());
    };
    let users = Users {
        pool: pool.clone(),
        keyring: settings.keyring.clone(),
        passwords,
        login_limit: login_limit::LoginLimit::new(
            redis.clone(),
            settings.redis_prefix.clone(),
            args.login_max_failures,
            args.login_max_failures_per_address,
            args.login_failure_window,
        ),
        access_ttl: args.access_token_ttl,
        refresh_ttl: args.refresh_token_ttl,
        trust_forwarded_for: args.trust_forwarded_for,
    };
    tokio::spawn(prune_sessions(pool.clone(), shutdown.clone()));
    GrpcServer::new(SERVICE, &settings.server)
        .add_service(UserServiceServer::new(users))
        .with_token_verifier(settings.keyring.verifier())
        .with_stores_readiness(pool, redis)
        .serve(listener, shutdown)
        .await?;
    Ok(())
}

async fn prune_sessions(pool: PgPool, shutdown: Shutdown) {
    while shutdown.sleep(PRUNE_EVERY).await {
        match sessions::prune(&pool, PRUNE_AFTER).await {
            Ok(deleted) => tracing::info!(deleted, "pruned expired refresh tokens"),
            Err(error) => tracing::warn!(%error, "pruning refresh tokens failed"),
        }
    }
}
