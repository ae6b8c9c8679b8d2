//! Starts the real coupon service on 127.0.0.1:0 against real Postgres, Redis
//! and a Kafka-protocol broker, in a database, key prefix and topic of its
//! own, and hands out clients, tokens and helpers.

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use sqlx::PgPool;
use staymesh_coupon::{CouponArgs, DESCRIPTOR, Settings};
use staymesh_platform::admission::QueueGate;
use staymesh_platform::redis::RedisPool;
use staymesh_proto::coupon as pb;
use staymesh_proto::coupon::coupon_booking_service_client::CouponBookingServiceClient;
use staymesh_proto::coupon::coupon_service_client::CouponServiceClient;
pub use staymesh_testkit::{Broker, FakeTokens, authed, eventually, user_of, violated_fields, won};
use staymesh_testkit::{Process, Running};
use tonic::transport::Channel;

pub const ADMIN: &str = "admin:0190c0de-0000-7000-8000-0000000000ad";
pub const HOST: &str = "host:0190c0de-0000-7000-8000-0000000000b1";
pub const OTHER_HOST: &str = "host:0190c0de-0000-7000-8000-0000000000b2";

/// The token of guest number `n`.
pub fn guest(n: usize) -> String {
    format!("guest:guest-{n:06}")
}

/// A running service and what a test needs to talk to it.
pub struct App {
    pub api: CouponServiceClient<Channel>,
    pub bookings: CouponBookingServiceClient<Channel>,
    pub pool: PgPool,
    pub redis: RedisPool,
    pub settings: Settings,
    running: Running<staymesh_coupon::Error>,
}

pub async fn spawn() -> App {
    spawn_with(|_| {}).await
}

/// Starts the service after `configure` adjusted its settings.
pub async fn spawn_with(configure: impl FnOnce(&mut Settings)) -> App {
    let (mut infra, server) = staymesh_testkit::stores();
    infra.postgres_pool = 32;
    let mut coupon: CouponArgs = staymesh_testkit::own_args();
    coupon.coupon_tick = Duration::from_millis(200);
    // The queue service is not running here: events with a waiting room
    // are refused before it would be asked (no token), or by its absence.
    let gate = QueueGate::new("http://127.0.0.1:9").expect("gate");
    let mut settings = Settings::new(infra, server, coupon, Arc::new(FakeTokens), Arc::new(gate));
    configure(&mut settings);
    let running = {
        let settings = settings.clone();
        staymesh_testkit::spawn(&DESCRIPTOR, settings.infra.clone(), |listener, shutdown| {
            staymesh_coupon::run(settings, listener, shutdown)
        })
        .await
    };
    App {
        api: CouponServiceClient::new(running.channel.clone()),
        bookings: CouponBookingServiceClient::new(running.channel.clone()),
        pool: running.pool.clone(),
        redis: running.redis.clone(),
        settings,
        running,
    }
}

impl App {
    /// Stops the service (surfacing its error) and drops its database.
    pub async fn stop(self) {
        self.running.stop().await;
    }

    /// The batch writer as a process of its own (`staymesh coupon`, the same
    /// database, Redis and topics as this service), so a test can kill it.
    /// Its reconciler waits an hour: only the writer stores here.
    pub async fn writer_process(&self, broker: &Broker) -> Process {
        let mut command =
            staymesh_testkit::service_command(&DESCRIPTOR, &self.settings.infra).await;
        command
            .env("STAYMESH_KAFKA_BROKERS", broker.address())
            .env("STAYMESH_COUPON_BATCH_SIZE", "50")
            .env("STAYMESH_COUPON_RECONCILE_EVERY", "1h");
        Process::spawn(command)
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

pub fn ts(at: DateTime<Utc>) -> prost_types::Timestamp {
    staymesh_platform::convert::timestamp(at)
}
