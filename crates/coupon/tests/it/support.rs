//! Starts the real coupon service on 127.0.0.1:0 against real Postgres, Redis
//! and a Kafka-protocol broker, in a database, key prefix and topic of its
//! own, and hands out clients, tokens and helpers.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use clap::Parser;
use sqlx::PgPool;
use staymesh_coupon::{CouponArgs, Settings};
use staymesh_platform::auth::{AuthError, Caller, Role, TokenVerifier};
use staymesh_platform::redis::RedisPool;
use staymesh_platform::{InfraArgs, ServerArgs, Shutdown};
use staymesh_proto::common::Money;
use staymesh_proto::coupon as pb;
use staymesh_proto::coupon::coupon_booking_service_client::CouponBookingServiceClient;
use staymesh_proto::coupon::coupon_service_client::CouponServiceClient;
use tonic::transport::Channel;

pub const ADMIN: &str = "admin:0190c0de-0000-7000-8000-0000000000ad";
pub const HOST: &str = "host:0190c0de-0000-7000-8000-0000000000b1";
pub const OTHER_HOST: &str = "host:0190c0de-0000-7000-8000-0000000000b2";

/// Tokens of the form `role:user-id`: a test can be any number of guests.
#[derive(Debug)]
struct TestTokens;

impl TokenVerifier for TestTokens {
    fn verify(&self, token: &str) -> Result<Caller, AuthError> {
        let (role, user_id) = token
            .split_once(':')
            .ok_or_else(|| AuthError::Invalid("not role:user".into()))?;
        Ok(Caller {
            user_id: user_id.to_owned(),
            role: Role::parse(role).ok_or_else(|| AuthError::Invalid("role".into()))?,
        })
    }
}

/// The token of guest number `n`.
pub fn guest(n: usize) -> String {
    format!("guest:guest-{n:06}")
}

/// The user id behind a `role:user` token.
pub fn user_of(token: &str) -> &str {
    token.split_once(':').map_or(token, |(_, user)| user)
}

/// Warnings and errors of the service show in a failing test's output
/// (`RUST_LOG` overrides the level).
fn init_logs() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_test_writer()
        .try_init();
}

#[derive(Debug, Parser)]
struct Args {
    #[command(flatten)]
    infra: InfraArgs,
    #[command(flatten)]
    server: ServerArgs,
    #[command(flatten)]
    coupon: CouponArgs,
}

/// A running service and what a test needs to talk to it.
pub struct App {
    pub api: CouponServiceClient<Channel>,
    pub bookings: CouponBookingServiceClient<Channel>,
    pub pool: PgPool,
    pub redis: RedisPool,
    pub settings: Settings,
    shutdown: Shutdown,
    server: tokio::task::JoinHandle<Result<(), staymesh_coupon::Error>>,
}

pub async fn spawn() -> App {
    spawn_with(|_| {}).await
}

/// Starts the service after `configure` adjusted its settings.
pub async fn spawn_with(configure: impl FnOnce(&mut Settings)) -> App {
    init_logs();
    let mut args = Args::parse_from(["test"]);
    let redis_prefix = staymesh_platform::testing::isolate(&mut args.infra);
    args.infra.postgres_pool = 32;
    args.coupon.coupon_tick = Duration::from_millis(200);
    let tag = args.infra.database_prefix.clone();
    let mut settings = Settings::new(args.infra, args.server, args.coupon, Arc::new(TestTokens));
    settings.redis_prefix = redis_prefix;
    settings.events_topic = format!("test.coupon.{tag}");
    settings.consumer_group = format!("test-coupon-{tag}");
    configure(&mut settings);

    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    let shutdown = Shutdown::new();
    let server = tokio::spawn(staymesh_coupon::run(
        settings.clone(),
        listener,
        shutdown.clone(),
    ));
    let channel = Channel::from_shared(format!("http://{addr}"))
        .expect("uri")
        .connect_lazy();
    let running = &server;
    staymesh_platform::testing::wait_serving(
        channel.clone(),
        || running.is_finished(),
        Duration::from_secs(90),
    )
    .await;
    let (pool, redis) = staymesh_coupon::connect(&settings.infra)
        .await
        .expect("connect");
    App {
        api: CouponServiceClient::new(channel.clone()),
        bookings: CouponBookingServiceClient::new(channel),
        pool,
        redis,
        settings,
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
            &self.settings.infra.postgres_url,
            &self.settings.infra.database_for("coupon"),
        )
        .await
        .expect("drop test database");
    }

    /// A 10% coupon (at most 5,000 won) valid for a week, created by the admin.
    pub async fn coupon(&mut self) -> pb::Coupon {
        let request = authed(
            pb::CreateCouponRequest {
                name: "여름 특가 10%".into(),
                discount_type: pb::DiscountType::Percent as i32,
                discount_percent: 10,
                max_discount: Some(won(5_000)),
                valid_from: Some(ts(Utc::now() - chrono::Duration::hours(1))),
                valid_until: Some(ts(Utc::now() + chrono::Duration::days(7))),
                ..Default::default()
            },
            ADMIN,
        );
        self.api
            .create_coupon(request)
            .await
            .expect("create coupon")
            .into_inner()
            .coupon
            .expect("coupon")
    }

    /// An event of `quantity` (0: unlimited) open from `opens_at` to `closes_at`.
    pub async fn event_between(
        &mut self,
        quantity: i32,
        opens_at: DateTime<Utc>,
        closes_at: DateTime<Utc>,
    ) -> pb::IssuanceEvent {
        let coupon = self.coupon().await;
        let request = authed(
            pb::CreateIssuanceEventRequest {
                coupon_id: coupon.coupon_id,
                quantity,
                unlimited: quantity == 0,
                opens_at: Some(ts(opens_at)),
                closes_at: Some(ts(closes_at)),
                waiting_room: false,
            },
            ADMIN,
        );
        self.api
            .create_issuance_event(request)
            .await
            .expect("create event")
            .into_inner()
            .event
            .expect("event")
    }

    /// An event of `quantity` open now for an hour.
    pub async fn open_event(&mut self, quantity: i32) -> pb::IssuanceEvent {
        self.event_between(
            quantity,
            Utc::now(),
            Utc::now() + chrono::Duration::hours(1),
        )
        .await
    }

    pub async fn claim(
        &self,
        event_id: &str,
        token: &str,
    ) -> Result<pb::ClaimCouponResponse, tonic::Status> {
        let mut api = self.api.clone();
        api.claim_coupon(authed(
            pb::ClaimCouponRequest {
                event_id: event_id.into(),
                admission_token: String::new(),
            },
            token,
        ))
        .await
        .map(|r| r.into_inner())
    }

    pub async fn my_coupons(&self, token: &str) -> Vec<pb::UserCoupon> {
        let mut api = self.api.clone();
        api.list_my_coupons(authed(
            pb::ListMyCouponsRequest {
                page_size: 100,
                ..Default::default()
            },
            token,
        ))
        .await
        .expect("list my coupons")
        .into_inner()
        .user_coupons
    }

    /// User coupons stored for the event.
    pub async fn stored(&self, event_id: &str) -> i64 {
        sqlx::query_scalar("SELECT count(*) FROM user_coupon WHERE event_id = $1::uuid")
            .bind(event_id)
            .fetch_one(&self.pool)
            .await
            .expect("count")
    }

    /// Waits until `want` user coupons are stored for the event, failing after `limit`.
    pub async fn wait_stored(&self, event_id: &str, want: i64, limit: Duration) {
        let deadline = tokio::time::Instant::now() + limit;
        loop {
            let stored = self.stored(event_id).await;
            if stored == want {
                return;
            }
            assert!(stored <= want, "{stored} stored, more than {want}");
            assert!(
                tokio::time::Instant::now() < deadline,
                "only {stored} of {want} stored after {limit:?}"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// The Redis key of the event's claimed hash (`<prefix>:event:{id}:claimed`).
    pub fn claimed_key(&self, event_id: &str) -> String {
        format!(
            "{}:event:{{{event_id}}}:claimed",
            self.settings.redis_prefix
        )
    }

    /// Every Redis key of the event.
    pub fn event_keys(&self, event_id: &str) -> Vec<String> {
        ["meta", "claimed", "stock"]
            .iter()
            .map(|k| format!("{}:event:{{{event_id}}}:{k}", self.settings.redis_prefix))
            .collect()
    }
}

pub fn authed<T>(message: T, token: &str) -> tonic::Request<T> {
    let mut request = tonic::Request::new(message);
    request.metadata_mut().insert(
        "authorization",
        format!("Bearer {token}").parse().expect("header"),
    );
    request
}

pub fn won(amount: i64) -> Money {
    Money {
        amount,
        currency: "KRW".into(),
    }
}

pub fn ts(at: DateTime<Utc>) -> prost_types::Timestamp {
    staymesh_platform::convert::timestamp(at)
}

/// The field names of an INVALID_ARGUMENT's violations.
pub fn violated_fields(status: &tonic::Status) -> Vec<String> {
    use tonic_types::StatusExt;
    status
        .get_details_bad_request()
        .map(|b| b.field_violations.into_iter().map(|v| v.field).collect())
        .unwrap_or_default()
}

/// A Kafka-protocol broker of a test's own (Tansu with SQLite storage), so a
/// test can stop and restart it without disturbing the others; its data
/// (offsets included) survives a restart.
pub struct Broker {
    pub port: u16,
    dir: PathBuf,
    child: Option<tokio::process::Child>,
}

impl Broker {
    pub async fn start() -> Self {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .map(|a| a.port())
            .expect("free port");
        let dir = std::env::temp_dir().join(format!("staymesh-tansu-{}", uuid::Uuid::now_v7()));
        std::fs::create_dir_all(&dir).expect("broker dir");
        let mut broker = Self {
            port,
            dir,
            child: None,
        };
        broker.restart().await;
        broker
    }

    pub fn address(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    /// Starts the broker process (again) and waits until it accepts connections.
    pub async fn restart(&mut self) {
        self.kill().await;
        let url = format!("tcp://127.0.0.1:{}", self.port);
        let child = tokio::process::Command::new("tansu")
            .args([
                "broker",
                "--cluster-id",
                "staymesh-test",
                "--listener-url",
                &url,
                "--advertised-listener-url",
                &url,
                "--storage-engine",
                "sqlite://broker.db",
            ])
            .current_dir(&self.dir)
            .env_remove("OTEL_EXPORTER_OTLP_ENDPOINT")
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .expect("tansu on PATH (scripts/infra.sh installs it)");
        self.child = Some(child);
        let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
        while tokio::net::TcpStream::connect(self.address())
            .await
            .is_err()
        {
            assert!(
                tokio::time::Instant::now() < deadline,
                "broker never listened"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Kills the broker (SIGKILL: no clean shutdown).
    pub async fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill().await;
        }
    }
}

impl Drop for Broker {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
