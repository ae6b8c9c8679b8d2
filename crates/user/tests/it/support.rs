//! Starts the real user service on 127.0.0.1:0 against real Postgres and
//! Redis, in a database of its own, and hands out clients and accounts.

use std::time::Duration;

use clap::Parser;
use sqlx::PgPool;
use staymesh_platform::auth::jwt::SigningKey;
use staymesh_platform::{InfraArgs, ServerArgs, Shutdown};
use staymesh_proto::user as pb;
use staymesh_proto::user::user_service_client::UserServiceClient;
use staymesh_user::{Keyring, Settings, UserArgs};
use tonic::transport::Channel;

pub const PASSWORD: &str = "correct-horse-42";

#[derive(Debug, Parser)]
struct Args {
    #[command(flatten)]
    infra: InfraArgs,
    #[command(flatten)]
    server: ServerArgs,
    #[command(flatten)]
    user: UserArgs,
}

/// A running service and what a test needs to talk to it.
pub struct App {
    pub api: UserServiceClient<Channel>,
    pub pool: PgPool,
    /// The key that signs (the keyring's first).
    pub signing_key: SigningKey,
    infra: InfraArgs,
    shutdown: Shutdown,
    server: tokio::task::JoinHandle<Result<(), staymesh_user::Error>>,
}

/// Settings a test may change before the service starts.
pub struct Options {
    pub user: UserArgs,
    /// Keys for STAYMESH_JWT_SIGNING_KEYS after the fresh signing key.
    pub retired_keys: Vec<SigningKey>,
}

pub async fn spawn() -> App {
    spawn_with(|_| {}).await
}

pub async fn spawn_with(configure: impl FnOnce(&mut Options)) -> App {
    let mut args = Args::parse_from(["test"]);
    let redis_prefix = staymesh_platform::testing::isolate(&mut args.infra);
    // Cheap hashes: the tests exercise the flow, not the cost.
    args.user.argon2_memory_kib = 256;
    args.user.argon2_iterations = 1;
    let mut options = Options {
        user: args.user.clone(),
        retired_keys: Vec::new(),
    };
    configure(&mut options);
    let signing_key = SigningKey::generate(format!("test-{}", args.infra.database_prefix));
    let keys: Vec<String> = std::iter::once(&signing_key)
        .chain(&options.retired_keys)
        .map(SigningKey::to_config)
        .collect();
    let keyring = Keyring::from_config(&keys.join(",")).expect("keyring");

    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    let settings = Settings {
        infra: args.infra.clone(),
        server: args.server.clone(),
        user: options.user,
        keyring,
        redis_prefix,
    };
    let shutdown = Shutdown::new();
    let server = tokio::spawn(staymesh_user::run(settings, listener, shutdown.clone()));
    let channel = Channel::from_shared(format!("http://{addr}"))
        .expect("uri")
        .connect_lazy();
    let running = &server;
    staymesh_platform::testing::wait_serving(
        channel.clone(),
        || running.is_finished(),
        Duration::from_secs(60),
    )
    .await;
    let (pool, _redis) = staymesh_user::connect(&args.infra).await.expect("connect");
    App {
        api: UserServiceClient::new(channel),
        pool,
        signing_key,
        infra: args.infra,
        shutdown,
        server,
    }
}

impl App {
    /// Stops the service and drops its database.
    pub async fn stop(self) {
        self.shutdown.trigger();
        let _ = self.server.await;
        self.pool.close().await;
        staymesh_platform::db::drop_database(
            &self.infra.postgres_url,
            &self.infra.database_for("user"),
        )
        .await
        .expect("drop test database");
    }

    /// Signs up a fresh account with `PASSWORD`.
    pub async fn sign_up(&mut self, email: &str) -> pb::SignUpResponse {
        self.api
            .sign_up(pb::SignUpRequest {
                email: email.into(),
                password: PASSWORD.into(),
                name: "김민수".into(),
                phone: String::new(),
            })
            .await
            .expect("sign up")
            .into_inner()
    }

    pub async fn log_in(
        &mut self,
        email: &str,
        password: &str,
    ) -> Result<pb::LogInResponse, tonic::Status> {
        self.api
            .log_in(pb::LogInRequest {
                email: email.into(),
                password: password.into(),
            })
            .await
            .map(|r| r.into_inner())
    }

    pub async fn refresh(&mut self, refresh_token: &str) -> Result<pb::Tokens, tonic::Status> {
        self.api
            .refresh(pb::RefreshRequest {
                refresh_token: refresh_token.into(),
            })
            .await
            .map(|r| r.into_inner().tokens.expect("tokens"))
    }

    pub async fn me(&mut self, access_token: &str) -> Result<pb::User, tonic::Status> {
        self.api
            .get_me(authed(pb::GetMeRequest {}, access_token))
            .await
            .map(|r| r.into_inner().user.expect("user"))
    }

    /// An account made ADMIN directly in the database (nobody can sign up as one).
    pub async fn admin(&mut self, email: &str) -> pb::Tokens {
        let user = self.sign_up(email).await.user.expect("user");
        sqlx::query("UPDATE app_user SET roles = '{GUEST,ADMIN}' WHERE user_id = $1::uuid")
            .bind(&user.user_id)
            .execute(&self.pool)
            .await
            .expect("make admin");
        self.log_in(email, PASSWORD)
            .await
            .expect("admin log-in")
            .tokens
            .expect("tokens")
    }
}

/// A unique email for this test run.
pub fn email(name: &str) -> String {
    format!("{name}.{}@example.com", uuid::Uuid::now_v7().simple())
}

pub fn authed<T>(message: T, token: &str) -> tonic::Request<T> {
    let mut request = tonic::Request::new(message);
    request.metadata_mut().insert(
        "authorization",
        format!("Bearer {token}").parse().expect("header"),
    );
    request
}

/// The field names of an INVALID_ARGUMENT's violations.
pub fn violated_fields(status: &tonic::Status) -> Vec<String> {
    use tonic_types::StatusExt;
    status
        .get_details_bad_request()
        .map(|b| b.field_violations.into_iter().map(|v| v.field).collect())
        .unwrap_or_default()
}

/// The JSON claims of a JWT (no verification: the tests look inside).
pub fn claims(token: &str) -> serde_json::Value {
    part(token, 1)
}

/// The JSON header of a JWT.
pub fn header(token: &str) -> serde_json::Value {
    part(token, 0)
}

fn part(token: &str, index: usize) -> serde_json::Value {
    use base64::Engine;
    let encoded = token.split('.').nth(index).expect("jwt part");
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(encoded)
        .expect("base64url");
    serde_json::from_slice(&bytes).expect("json")
}
