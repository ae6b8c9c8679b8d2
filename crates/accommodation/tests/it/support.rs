//! Starts the real accommodation service on 127.0.0.1:0 against real Postgres
//! and Redis, in a database of its own, and hands out clients.

use std::sync::Arc;
use std::time::Duration;

use clap::Parser;
use sqlx::PgPool;
use staymesh_accommodation::Settings;
use staymesh_platform::auth::{Role, StaticTokens};
use staymesh_platform::redis::RedisPool;
use staymesh_platform::{InfraArgs, ServerArgs, Shutdown};
use staymesh_proto::accommodation as pb;
use staymesh_proto::accommodation::accommodation_service_client::AccommodationServiceClient;
use staymesh_proto::accommodation::inventory_service_client::InventoryServiceClient;
use staymesh_proto::common;
use tonic::transport::Channel;

pub const HOST: &str = "host-token";
pub const OTHER_HOST: &str = "other-host-token";
pub const GUEST: &str = "guest-token";
pub const ADMIN: &str = "admin-token";
pub const HOST_ID: &str = "0190c0de-0000-7000-8000-00000000aaaa";

#[derive(Debug, Parser)]
struct Args {
    #[command(flatten)]
    infra: InfraArgs,
    #[command(flatten)]
    server: ServerArgs,
}

/// A running service and what a test needs to talk to it.
pub struct App {
    pub api: AccommodationServiceClient<Channel>,
    pub inventory: InventoryServiceClient<Channel>,
    pub pool: PgPool,
    pub redis: RedisPool,
    pub redis_prefix: String,
    infra: InfraArgs,
    shutdown: Shutdown,
    server: tokio::task::JoinHandle<Result<(), staymesh_accommodation::Error>>,
}

pub async fn spawn() -> App {
    let mut args = Args::parse_from(["test"]);
    let redis_prefix = staymesh_platform::testing::isolate(&mut args.infra);
    args.infra.postgres_pool = 40;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    let tokens = StaticTokens::new()
        .with(HOST, HOST_ID, Role::Host)
        .with(
            OTHER_HOST,
            "0190c0de-0000-7000-8000-00000000bbbb",
            Role::Host,
        )
        .with(GUEST, "0190c0de-0000-7000-8000-00000000cccc", Role::Guest)
        .with(ADMIN, "0190c0de-0000-7000-8000-00000000dddd", Role::Admin);
    let settings = Settings {
        infra: args.infra.clone(),
        server: args.server.clone(),
        token_verifier: Arc::new(tokens),
        redis_prefix: redis_prefix.clone(),
    };
    let shutdown = Shutdown::new();
    let server = tokio::spawn(staymesh_accommodation::run(
        settings,
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
        Duration::from_secs(60),
    )
    .await;
    let (pool, redis) = staymesh_accommodation::connect(&args.infra)
        .await
        .expect("connect");
    App {
        api: AccommodationServiceClient::new(channel.clone()),
        inventory: InventoryServiceClient::new(channel),
        pool,
        redis,
        redis_prefix,
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
            &self.infra.database_for("accommodation"),
        )
        .await
        .expect("drop test database");
    }

    /// A host property with one room type and `nights` nights from `start` of `rooms` rooms.
    pub async fn listing(&mut self, name: &str, region: &str, description: &str) -> pb::Property {
        let input = pb::PropertyInput {
            name: name.into(),
            region: region.into(),
            address: format!("{region} 어딘가 1"),
            description: description.into(),
            image_urls: vec!["https://img.example/1.jpg".into()],
            ..Default::default()
        };
        let request = authed(
            pb::CreatePropertyRequest {
                property: Some(input),
            },
            HOST,
        );
        self.api
            .create_property(request)
            .await
            .expect("create property")
            .into_inner()
            .property
            .expect("property")
    }

    pub async fn room_type(
        &mut self,
        property_id: &str,
        total_rooms: i32,
        max_occupancy: i32,
    ) -> pb::RoomType {
        let input = pb::RoomTypeInput {
            name: "디럭스 더블".into(),
            base_occupancy: 2.min(max_occupancy),
            max_occupancy,
            extra_guest_fee: Some(won(10_000)),
            total_rooms,
        };
        let request = authed(
            pb::CreateRoomTypeRequest {
                property_id: property_id.into(),
                room_type: Some(input),
            },
            HOST,
        );
        self.api
            .create_room_type(request)
            .await
            .expect("create room type")
            .into_inner()
            .room_type
            .expect("room type")
    }

    pub async fn set_calendar(
        &mut self,
        room_type_id: &str,
        start: chrono::NaiveDate,
        nights: i64,
        price: i64,
        rooms: i32,
    ) -> Result<pb::SetCalendarResponse, tonic::Status> {
        let request = authed(
            pb::SetCalendarRequest {
                room_type_id: room_type_id.into(),
                range: Some(common::DateRange {
                    start: Some(date(start)),
                    end: Some(date(start + chrono::Duration::days(nights))),
                }),
                price: Some(won(price)),
                rooms_for_sale: rooms,
                closed: false,
            },
            HOST,
        );
        self.api.set_calendar(request).await.map(|r| r.into_inner())
    }

    pub async fn calendar(
        &mut self,
        room_type_id: &str,
        start: chrono::NaiveDate,
        nights: i64,
    ) -> Vec<pb::Night> {
        let request = pb::GetCalendarRequest {
            room_type_id: room_type_id.into(),
            range: Some(common::DateRange {
                start: Some(date(start)),
                end: Some(date(start + chrono::Duration::days(nights))),
            }),
        };
        self.api
            .get_calendar(request)
            .await
            .expect("calendar")
            .into_inner()
            .nights
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

pub fn won(amount: i64) -> common::Money {
    common::Money {
        amount,
        currency: "KRW".into(),
    }
}

pub fn date(d: chrono::NaiveDate) -> common::Date {
    use chrono::Datelike;
    common::Date {
        year: d.year(),
        month: d.month() as i32,
        day: d.day() as i32,
    }
}

/// A date comfortably in the future, so "not before today" never trips.
pub fn future(days: i64) -> chrono::NaiveDate {
    chrono::Utc::now().date_naive() + chrono::Duration::days(days)
}

/// The field names of an INVALID_ARGUMENT's violations.
pub fn violated_fields(status: &tonic::Status) -> Vec<String> {
    use tonic_types::StatusExt;
    status
        .get_details_bad_request()
        .map(|b| b.field_violations.into_iter().map(|v| v.field).collect())
        .unwrap_or_default()
}
