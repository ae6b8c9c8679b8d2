//! Starts the real user service on 127.0.0.1:0 against real Postgres and
//! Redis, in a database of its own, and hands out clients and accounts.

use sqlx::PgPool;
use staymesh_platform::auth::jwt::SigningKey;
use staymesh_proto::user as pb;
use staymesh_proto::user::user_service_client::UserServiceClient;
use staymesh_testkit::Running;
pub use staymesh_testkit::{authed, violated_fields};
use staymesh_user::{DESCRIPTOR, Keyring, SERVICE, Settings, UserArgs};
use tonic::transport::Channel;

pub const PASSWORD: &str = "correct-horse-42";

/// A running service and what a test needs to talk to it.
pub struct App {
    pub api: UserServiceClient<Channel>,
    pub pool: PgPool,
    /// The key that signs (the keyring's first).
    pub signing_key: SigningKey,
    running: Running<staymesh_user::Error>,
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
    let (infra, server) = staymesh_testkit::stores();
    let mut user: UserArgs = staymesh_testkit::own_args();
    // Cheap hashes: the tests exercise the flow, not the cost.
    user.argon2_memory_kib = 256;
    user.argon2_iterations = 1;
    let mut options = Options {
        user,
        retired_keys: Vec::new(),
    };
    configure(&mut options);
    let signing_key = SigningKey::generate(format!("test-{}", infra.database_prefix));
    let keys: Vec<String> = std::iter::once(&signing_key)
        .chain(&options.retired_keys)
        .map(SigningKey::to_config)
        .collect();
    let keyring = Keyring::from_config(&keys.join(",")).expect("keyring");
    let settings = Settings {
        redis_prefix: infra.redis_prefix_for(SERVICE),
        infra: infra.clone(),
        server,
        user: options.user,
        keyring,
    };
    let running = staymesh_testkit::spawn(&DESCRIPTOR, infra, |listener, shutdown| {
        staymesh_user::run(settings, listener, shutdown)
    })
    .await;
    App {
        api: UserServiceClient::new(running.channel.clone()),
        pool: running.pool.clone(),
        signing_key,
        running,
    }
}

impl App {
    /// Stops the service (surfacing its error) and drops its database.
    pub async fn stop(self) {
        self.running.stop().await;
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
