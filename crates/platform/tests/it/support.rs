//! Shared test helpers: a fresh migrated database per test, unique Kafka
//! topics, a small protobuf message, and waiting on a condition with a deadline.

use std::time::Duration;

use sqlx::PgPool;
use sqlx::migrate::Migrator;
use staymesh_platform::db::{self, DbSettings};
use uuid::Uuid;

/// Postgres admin URL of the test server.
pub(crate) fn postgres_url() -> String {
    std::env::var("STAYMESH_POSTGRES_URL")
        .unwrap_or_else(|_| "postgres://staymesh:staymesh@127.0.0.1:5432/postgres".to_owned())
}

/// Kafka bootstrap servers of the test broker.
pub(crate) fn brokers() -> String {
    std::env::var("STAYMESH_KAFKA_BROKERS").unwrap_or_else(|_| "127.0.0.1:9092".to_owned())
}

/// A database of its own for one test, with the platform's migrations applied.
#[derive(Debug)]
pub(crate) struct TestDb {
    pub(crate) pool: PgPool,
    name: String,
}

impl TestDb {
    /// Creates and migrates `test_<uuid>`.
    pub(crate) async fn new() -> Self {
        let name = format!("test_{}", Uuid::now_v7().simple());
        let settings = DbSettings {
            admin_url: postgres_url(),
            database: name.clone(),
            max_connections: 10,
        };
        let service = Migrator::with_migrations(Vec::new());
        let pool = db::connect(&settings, &service)
            .await
            .expect("test database (is Postgres up? scripts/infra.sh)");
        Self { pool, name }
    }

    /// Closes the pool and drops the database.
    pub(crate) async fn drop(self) {
        self.pool.close().await;
        db::drop_database(&postgres_url(), &self.name)
            .await
            .expect("drop test database");
    }
}

/// A topic name no other test uses, created with its dead-letter twin.
pub(crate) async fn fresh_topic(prefix: &str, partitions: i32) -> String {
    let topic = format!("staymesh.test.{prefix}.{}", Uuid::now_v7().simple());
    let dlq = staymesh_platform::kafka::dlq_topic(&topic);
    staymesh_platform::kafka::ensure_topics(&brokers(), &[&topic, &dlq], partitions)
        .await
        .expect("create topics (is the broker up? scripts/infra.sh)");
    topic
}

/// A consumer group no other test uses.
pub(crate) fn fresh_group(prefix: &str) -> String {
    format!("test-{prefix}-{}", Uuid::now_v7().simple())
}

/// The message the tests send.
#[derive(Clone, PartialEq, prost::Message)]
pub(crate) struct Ping {
    #[prost(string, tag = "1")]
    pub(crate) text: String,
}

impl prost::Name for Ping {
    const NAME: &'static str = "Ping";
    const PACKAGE: &'static str = "staymesh.test.v1";
}

pub(crate) use staymesh_testkit::eventually;

/// How long broker round trips (including a consumer group join) may take.
pub(crate) const KAFKA_TIMEOUT: Duration = Duration::from_secs(60);
