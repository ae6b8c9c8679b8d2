//! Starts the real accommodation service on 127.0.0.1:0 against real Postgres
//! and Redis, in a database of its own, and hands out clients.

use std::sync::Arc;

use sqlx::PgPool;
use staymesh_accommodation::{DESCRIPTOR, SERVICE, Settings};
use staymesh_platform::redis::RedisPool;
use staymesh_proto::accommodation as pb;
use staymesh_proto::accommodation::accommodation_service_client::AccommodationServiceClient;
use staymesh_proto::accommodation::inventory_service_client::InventoryServiceClient;
use staymesh_proto::common;
use staymesh_testkit::{FakeTokens, Running};
pub use staymesh_testkit::{authed, violated_fields, won};
use tonic::transport::Channel;

/// The demo host's id and token; tokens are `role:user-id` (FakeTokens).
pub const HOST_ID: &str = "0190c0de-0000-7000-8000-00000000aaaa";
pub const HOST: &str = "host:0190c0de-0000-7000-8000-00000000aaaa";
pub const OTHER_HOST: &str = "host:0190c0de-0000-7000-8000-00000000bbbb";
pub const GUEST: &str = "guest:0190c0de-0000-7000-8000-00000000cccc";
pub const ADMIN: &str = "admin:0190c0de-0000-7000-8000-00000000dddd";

/// A running service and what a test needs to talk to it.
pub struct App {
    pub api: AccommodationServiceClient<Channel>,
    pub inventory: InventoryServiceClient<Channel>,
    pub pool: PgPool,
    pub redis: RedisPool,
    pub redis_prefix: String,
    running: Running<staymesh_accommodation::Error>,
}

pub async fn spawn() -> App {
    let (mut infra, server) = staymesh_testkit::stores();
    infra.postgres_pool = 40;
    spawn_on(infra, server).await
}

/// The service on these stores: a fresh deployment, or one more replica of
/// a running one (the same database, Redis and Kafka prefixes).
async fn spawn_on(
    infra: staymesh_platform::InfraArgs,
    server: staymesh_platform::ServerArgs,
) -> App {
    let redis_prefix = infra.redis_prefix_for(SERVICE);
    let settings = Settings {
        infra: infra.clone(),
        server,
        token_verifier: Arc::new(FakeTokens),
        redis_prefix: redis_prefix.clone(),
    };
    let running = staymesh_testkit::spawn(&DESCRIPTOR, infra, |listener, shutdown| {
        staymesh_accommodation::run(settings, listener, shutdown)
    })
    .await;
    App {
        api: AccommodationServiceClient::new(running.channel.clone()),
        inventory: InventoryServiceClient::new(running.channel.clone()),
        pool: running.pool.clone(),
        redis: running.redis.clone(),
        redis_prefix,
        running,
    }
}

impl App {
    /// The stores of this service.
    pub fn infra(&self) -> &staymesh_platform::InfraArgs {
        &self.running.infra
    }

    /// Stops the service (surfacing its error) and drops its database.
    pub async fn stop(self) {
        self.running.stop().await;
    }

    /// Waits until this replica's search index has applied every change
    /// committed before the call: a sentinel listing (bookable only on a
    /// night no test searches) is renamed, and search, which reads only the
    /// index, must find it by its new name. Notifications are applied in
    /// commit order, so everything before the rename is in too.
    pub async fn caught_up(&mut self) {
        let night = future(300);
        let name = format!("sentinel{}", uuid::Uuid::now_v7().simple());
        let mut tx = self.pool.begin().await.expect("begin");
        sqlx::query(
            "INSERT INTO property (id, host_id, name, region, address, check_in_time, check_out_time) \
             VALUES ('00000000-0000-7000-8000-00000000feed', $1, $2, '-', '-', '15:00', '11:00') \
             ON CONFLICT (id) DO UPDATE SET name = EXCLUDED.name",
        )
        .bind(HOST_ID)
        .bind(&name)
        .execute(&mut *tx)
        .await
        .expect("sentinel");
        sqlx::query(
            "INSERT INTO room_type (id, property_id, name, base_occupancy, max_occupancy, total_rooms) \
             VALUES ('00000000-0000-7000-8000-00000000beef', '00000000-0000-7000-8000-00000000feed', \
                     '-', 1, 1, 1) ON CONFLICT DO NOTHING",
        )
        .execute(&mut *tx)
        .await
        .expect("sentinel room");
        sqlx::query(
            "INSERT INTO night (room_type_id, night, price, total) \
             VALUES ('00000000-0000-7000-8000-00000000beef', $1, 1, 1) ON CONFLICT DO NOTHING",
        )
        .bind(night)
        .execute(&mut *tx)
        .await
        .expect("sentinel night");
        tx.commit().await.expect("commit");
        let api = self.api.clone();
        staymesh_testkit::eventually(
            std::time::Duration::from_secs(10),
            "the index to catch up",
            || {
                let mut api = api.clone();
                let request = pb::SearchAvailabilityRequest {
                    keyword: name.clone(),
                    check_in: Some(date(night)),
                    check_out: Some(date(night + chrono::Duration::days(1))),
                    guests: 1,
                    ..Default::default()
                };
                async move {
                    api.search_availability(request)
                        .await
                        .is_ok_and(|r| r.into_inner().results.len() == 1)
                }
            },
        )
        .await;
    }

    /// Another replica of this deployment, as a second pod would run.
    pub async fn replica(&self) -> App {
        let (_, server) = staymesh_testkit::stores();
        spawn_on(self.infra().clone(), server).await
    }

    /// Stops a replica, leaving the database to the others.
    pub async fn stop_replica(self) {
        self.running.stop_replica().await;
    }

    /// A host property with one room type and `nights` nights from `start` of `rooms` rooms.
    pub async fn listing(&mut self, name: &str, region: &str, description: &str) -> pb::Property {
        self.listing_at(name, region, &format!("{region} 어딘가 1"), description)
            .await
    }

    /// A property of the host at `address`.
    pub async fn listing_at(
        &mut self,
        name: &str,
        region: &str,
        address: &str,
        description: &str,
    ) -> pb::Property {
        let input = pb::PropertyInput {
            name: name.into(),
            region: region.into(),
            address: address.into(),
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
