//! Postgres: one database per service, created when missing, migrated at
//! start-up. sqlx's migrator holds a Postgres advisory lock while it runs, so
//! many replicas starting at once apply each migration exactly once.

use std::time::Duration;

use sqlx::migrate::Migrator;
use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions};
use sqlx::{AssertSqlSafe, ConnectOptions, Connection};

use crate::error::Error;

/// The tables every service has: the Kafka outbox and inbox. Their versions
/// (10001 and up) never collide with a service's timestamped migrations.
pub static PLATFORM_MIGRATOR: Migrator = sqlx::migrate!("./migrations");

/// Where and how a service connects.
#[derive(Debug, Clone)]
pub struct DbSettings {
    /// Any database on the server, used to create the service's own.
    pub admin_url: String,
    /// The service's database name (a safe identifier, see `config::parse_identifier`).
    pub database: String,
    pub max_connections: u32,
}

/// Creates the database if missing, connects a pool, and applies the platform's
/// and the service's migrations.
pub async fn connect(settings: &DbSettings, migrator: &Migrator) -> Result<PgPool, Error> {
    crate::config::parse_identifier(&settings.database).map_err(Error::Config)?;
    let admin: PgConnectOptions = settings
        .admin_url
        .parse()
        .map_err(|e| Error::Config(format!("STAYMESH_POSTGRES_URL: {e}")))?;
    create_database_if_missing(&admin, &settings.database).await?;

    let pool = PgPoolOptions::new()
        .max_connections(settings.max_connections)
        .acquire_timeout(Duration::from_secs(5))
        .connect_with(admin.database(&settings.database))
        .await?;
    migrate(&pool, migrator).await?;
    Ok(pool)
}

/// Applies the platform's migrations, then the service's.
pub async fn migrate(pool: &PgPool, migrator: &Migrator) -> Result<(), Error> {
    // The platform's tables keep their own history table, so neither migrator
    // sees the other's rows as "applied but missing".
    let mut platform = Migrator::with_migrations(PLATFORM_MIGRATOR.migrations.to_vec());
    platform.dangerous_set_table_name("_staymesh_platform_migrations");
    platform.run(pool).await?;
    migrator.run(pool).await?;
    Ok(())
}

async fn create_database_if_missing(admin: &PgConnectOptions, database: &str) -> Result<(), Error> {
    let mut conn = admin.connect().await?;
    let exists: bool =
        sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)")
            .bind(database)
            .fetch_one(&mut conn)
            .await?;
    if !exists {
        // The name was validated as a plain identifier, so quoting it is safe.
        let created = sqlx::query(AssertSqlSafe(format!(r#"CREATE DATABASE "{database}""#)))
            .execute(&mut conn)
            .await;
        match created {
            Ok(_) => tracing::info!(database, "created database"),
            // Another replica created it between our check and our CREATE.
            Err(sqlx::Error::Database(e))
                if matches!(e.code().as_deref(), Some("42P04") | Some("23505")) => {}
            Err(e) => return Err(e.into()),
        }
    }
    conn.close().await?;
    Ok(())
}

/// Drops a database (tests use it to clean up after themselves).
pub async fn drop_database(admin_url: &str, database: &str) -> Result<(), Error> {
    crate::config::parse_identifier(database).map_err(Error::Config)?;
    let admin: PgConnectOptions = admin_url
        .parse()
        .map_err(|e| Error::Config(format!("postgres url: {e}")))?;
    let mut conn = admin.connect().await?;
    sqlx::query(AssertSqlSafe(format!(
        r#"DROP DATABASE IF EXISTS "{database}" WITH (FORCE)"#
    )))
    .execute(&mut conn)
    .await?;
    conn.close().await?;
    Ok(())
}

/// Checks that the database answers (readiness).
pub async fn ping(pool: &PgPool) -> Result<(), Error> {
    sqlx::query("SELECT 1").execute(pool).await?;
    Ok(())
}

/// Whether an error is a unique-constraint violation (a duplicate).
pub fn is_unique_violation(error: &sqlx::Error) -> bool {
    matches!(error, sqlx::Error::Database(e) if e.code().as_deref() == Some("23505"))
}

/// Whether an error is a CHECK-constraint violation.
pub fn is_check_violation(error: &sqlx::Error) -> bool {
    matches!(error, sqlx::Error::Database(e) if e.code().as_deref() == Some("23514"))
}
