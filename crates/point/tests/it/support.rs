//! Starts the real point service on 127.0.0.1:0 against real Postgres and
//! Redis, in a database and key prefix of its own, with a user directory
//! that knows every user but [`UNKNOWN_USER`]; and checks the invariants.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use sqlx::PgPool;
use staymesh_point::{DESCRIPTOR, Directory, PointArgs, Settings};
use staymesh_proto::point as pb;
use staymesh_proto::point::point_booking_service_client::PointBookingServiceClient;
use staymesh_proto::point::point_service_client::PointServiceClient;
use staymesh_testkit::Running;
pub use staymesh_testkit::{FakeTokens, authed, violated_fields, won};
use tonic::transport::Channel;
use uuid::Uuid;

/// The one user the directory does not know.
pub const UNKNOWN_USER: Uuid = Uuid::from_u128(0x0190c0de_0000_7000_8000_0000deadbeef);
/// An admin's token.
pub const ADMIN: &str = "admin:0190c0de-0000-7000-8000-0000000000ad";

/// The token of `user` as a guest.
pub fn guest(user: Uuid) -> String {
    format!("guest:{user}")
}

/// Knows every user but [`UNKNOWN_USER`]; insists on the admin's header.
#[derive(Debug)]
struct FakeDirectory;

#[tonic::async_trait]
impl Directory for FakeDirectory {
    async fn exists(
        &self,
        user: Uuid,
        authorization: &str,
    ) -> staymesh_platform::rpc::Result<bool> {
        assert_eq!(
            authorization,
            format!("Bearer {ADMIN}"),
            "the admin's header is forwarded"
        );
        Ok(user != UNKNOWN_USER)
    }
}

/// A running service and what a test needs to talk to it.
pub struct App {
    pub api: PointServiceClient<Channel>,
    pub bookings: PointBookingServiceClient<Channel>,
    pub pool: PgPool,
    running: Running<staymesh_point::Error>,
}

/// The service with an expiry job that never runs by itself (tests run it).
pub async fn spawn() -> App {
    let (mut infra, server) = staymesh_testkit::stores();
    infra.postgres_pool = 32;
    let mut point: PointArgs = staymesh_testkit::own_args();
    point.point_expire_every = std::time::Duration::from_secs(3600);
    let settings = Settings {
        redis_prefix: infra.redis_prefix_for(staymesh_point::SERVICE),
        infra: infra.clone(),
        server,
        point,
        token_verifier: Arc::new(FakeTokens),
        directory: Arc::new(FakeDirectory),
    };
    let running = staymesh_testkit::spawn(&DESCRIPTOR, infra, |listener, shutdown| {
        staymesh_point::run(settings, listener, shutdown)
    })
    .await;
    App {
        api: PointServiceClient::new(running.channel.clone()),
        bookings: PointBookingServiceClient::new(running.channel.clone()),
        pool: running.pool.clone(),
        running,
    }
}

impl App {
    /// Checks the invariants, then stops the service and drops its database.
    /// The stores of this service.
    pub fn infra(&self) -> &staymesh_platform::InfraArgs {
        &self.running.infra
    }

    pub async fn stop(self) {
        check_invariants(&self.pool).await;
        self.running.stop().await;
    }

    /// `staymesh point` as a process of its own on the same database and
    /// Redis, its expiry job every 50 ms, so a test can kill it mid-run.
    pub async fn expiry_process(&self) -> staymesh_testkit::Process {
        let mut command = staymesh_testkit::service_command(&DESCRIPTOR, &self.running.infra).await;
        command.env("STAYMESH_POINT_EXPIRE_EVERY", "50ms");
        staymesh_testkit::Process::spawn(command)
    }

    /// An admin's Earn of `amount` for `user`, expiring at `expires_at`.
    pub async fn earn(
        &self,
        user: Uuid,
        amount: i64,
        expires_at: Option<DateTime<Utc>>,
    ) -> pb::LedgerEntry {
        let request = pb::EarnRequest {
            user_id: user.to_string(),
            amount,
            reason: "test".into(),
            expires_at: expires_at.map(staymesh_platform::convert::timestamp),
            idempotency_key: Uuid::now_v7().to_string(),
        };
        self.api
            .clone()
            .earn(authed(request, ADMIN))
            .await
            .expect("earn")
            .into_inner()
            .entry
            .expect("entry")
    }

    pub async fn balance(&self, user: Uuid) -> pb::GetBalanceResponse {
        self.api
            .clone()
            .get_balance(authed(pb::GetBalanceRequest {}, &guest(user)))
            .await
            .expect("balance")
            .into_inner()
    }

    /// The user's whole history, newest first, through every page.
    pub async fn history(&self, user: Uuid, kind: pb::EntryType) -> Vec<pb::LedgerEntry> {
        let mut entries = Vec::new();
        let mut token = String::new();
        loop {
            let request = pb::ListHistoryRequest {
                r#type: kind as i32,
                page_size: 3,
                page_token: token,
            };
            let page = self
                .api
                .clone()
                .list_history(authed(request, &guest(user)))
                .await
                .expect("history")
                .into_inner();
            entries.extend(page.entries);
            if page.next_page_token.is_empty() {
                return entries;
            }
            token = page.next_page_token;
        }
    }

    pub async fn reserve(
        &self,
        booking: Uuid,
        user: Uuid,
        amount: i64,
    ) -> Result<pb::PointReservation, tonic::Status> {
        let request = pb::ReservePointsRequest {
            booking_id: booking.to_string(),
            user_id: user.to_string(),
            amount,
        };
        let reply = self.bookings.clone().reserve_points(request).await?;
        Ok(reply.into_inner().reservation.expect("reservation"))
    }

    pub async fn commit(&self, booking: Uuid) -> Result<pb::PointReservation, tonic::Status> {
        let request = pb::CommitPointsRequest {
            booking_id: booking.to_string(),
        };
        let reply = self.bookings.clone().commit_points(request).await?;
        Ok(reply.into_inner().reservation.expect("reservation"))
    }

    pub async fn release(&self, booking: Uuid) -> Result<pb::PointReservation, tonic::Status> {
        let request = pb::ReleasePointsRequest {
            booking_id: booking.to_string(),
        };
        let reply = self.bookings.clone().release_points(request).await?;
        Ok(reply.into_inner().reservation.expect("reservation"))
    }

    /// Moves every lot of `user` expiring before `before` to a minute ago
    /// (time passing, without waiting for it).
    pub async fn age_lots(&self, user: Uuid, before: DateTime<Utc>) {
        sqlx::query(
            "UPDATE point_lot SET expires_at = now() - interval '1 minute' \
             WHERE user_id = $1 AND expires_at < $2",
        )
        .bind(user)
        .bind(before)
        .execute(&self.pool)
        .await
        .unwrap();
    }
}

/// A time `days` from now.
pub fn in_days(days: i64) -> DateTime<Utc> {
    Utc::now() + chrono::Duration::days(days)
}

/// The invariants of DESIGN.md and the point issue, for every user, in SQL:
/// the balance is the sum of the ledger and of the lots' remaining points
/// and the last entry's `balance_after`; reserved points are what lots hold
/// and what RESERVED reservations set aside; every lot's remaining amount
/// is what its entries left of it, between 0 and its amount.
pub async fn check_invariants(pool: &PgPool) {
    let broken: Vec<(Uuid, String)> = sqlx::query_as(
        "WITH ledger AS (SELECT user_id, sum(amount) AS total FROM point_entry GROUP BY user_id), \
              last AS (SELECT DISTINCT ON (user_id) user_id, balance_after FROM point_entry \
                       ORDER BY user_id, seq DESC), \
              lots AS (SELECT user_id, sum(remaining) AS remaining, sum(held) AS held \
                       FROM point_lot GROUP BY user_id), \
              reserved AS (SELECT user_id, sum(amount) AS amount FROM point_reservation \
                           WHERE state = 'RESERVED' GROUP BY user_id) \
         SELECT a.user_id, format('balance %s ledger %s last %s lots %s reserved %s held %s reservations %s', \
                a.balance, l.total, t.balance_after, o.remaining, a.reserved, o.held, r.amount) \
         FROM point_account a \
         LEFT JOIN ledger l USING (user_id) LEFT JOIN last t USING (user_id) \
         LEFT JOIN lots o USING (user_id) LEFT JOIN reserved r USING (user_id) \
         WHERE a.balance < 0 \
            OR a.balance <> coalesce(l.total, 0) \
            OR a.balance <> coalesce(t.balance_after, 0) \
            OR a.balance <> coalesce(o.remaining, 0) \
            OR a.reserved <> coalesce(o.held, 0) \
            OR a.reserved <> coalesce(r.amount, 0)",
    )
    .fetch_all(pool)
    .await
    .unwrap();
    assert!(
        broken.is_empty(),
        "accounts the ledger does not explain: {broken:?}"
    );
    let lots: Vec<(Uuid, i64, i64, i64)> = sqlx::query_as(
        "SELECT l.id, l.amount, l.remaining, l.amount + coalesce(sum(e.amount), 0)::bigint \
         FROM point_lot l LEFT JOIN point_entry_lot e ON e.lot_id = l.id \
         GROUP BY l.id HAVING l.remaining < 0 OR l.remaining > l.amount \
            OR l.remaining <> l.amount + coalesce(sum(e.amount), 0)",
    )
    .fetch_all(pool)
    .await
    .unwrap();
    assert!(
        lots.is_empty(),
        "lots their entries do not explain (id, amount, remaining, explained): {lots:?}"
    );
    let holds: Vec<(Uuid, i64, i64)> = sqlx::query_as(
        "SELECT r.booking_id, r.amount, coalesce(sum(h.amount), 0)::bigint FROM point_reservation r \
         LEFT JOIN point_hold h USING (booking_id) WHERE r.state = 'RESERVED' \
         GROUP BY r.booking_id HAVING r.amount <> coalesce(sum(h.amount), 0)",
    )
    .fetch_all(pool)
    .await
    .unwrap();
    assert!(
        holds.is_empty(),
        "reservations their holds do not cover: {holds:?}"
    );
}
