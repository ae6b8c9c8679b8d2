//! What every service's integration tests share, so none of them copies it:
//! start a service in-process on 127.0.0.1:0 with a database, Redis prefix
//! and Kafka prefix of its own ([`spawn`]), stop it and surface its error,
//! tokens for any role ([`FakeTokens`]), authenticated requests, field
//! violation assertions, one [`eventually`] poll helper, a broker of a
//! test's own to kill ([`Broker`]), and commands and replies of a saga
//! participant ([`saga`]). A dev-dependency only: nothing here ships.

// A test kit fails a test by panicking: unwrap and expect are its way.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod broker;
mod process;
mod running;
pub mod saga;
mod tokens;

use std::future::Future;
use std::time::Duration;

pub use broker::Broker;
pub use process::{Process, service_command, staymesh_binary};
pub use running::{Running, isolate, own_args, spawn, stores};
pub use tokens::{FakeTokens, user_of};

use staymesh_proto::common::Money;

/// Warnings and errors of the service under test show in a failing test's
/// output (`RUST_LOG` overrides the level). Safe to call from every test.
pub fn init_logs() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_test_writer()
        .try_init();
}

/// `message` with `authorization: Bearer <token>`.
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

/// An amount of won on the wire.
pub fn won(amount: i64) -> Money {
    Money {
        amount,
        currency: "KRW".into(),
    }
}

/// Polls `condition` every 50 ms until it holds; panics naming `what`
/// after `limit`. The one way tests wait: on a condition, never a fixed sleep.
pub async fn eventually<F, Fut>(limit: Duration, what: &str, mut condition: F)
where
    F: FnMut() -> Fut,
    Fut: Future<Output = bool>,
{
    let deadline = tokio::time::Instant::now() + limit;
    loop {
        if condition().await {
            return;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "timed out after {limit:?} waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// A port on 127.0.0.1 for a process the test starts later. It is taken
/// below the kernel's ephemeral range (32768 and up), so no outgoing
/// connection (a service's own, to Postgres or Kafka) grabs it meanwhile, and
/// reserved by a file created exclusively, so tests running at once in
/// other processes never pick the same one.
pub fn free_port() -> u16 {
    const FIRST: u16 = 10_000;
    const COUNT: u16 = 22_000;
    const STALE: Duration = Duration::from_secs(15 * 60);
    let reservations = std::env::temp_dir().join("staymesh-e2e-ports");
    std::fs::create_dir_all(&reservations).expect("port reservations directory");
    loop {
        // The random tail of a UUIDv7.
        let offset = uuid::Uuid::now_v7().as_u128() % u128::from(COUNT);
        let port = FIRST + u16::try_from(offset).expect("below COUNT");
        let mark = reservations.join(port.to_string());
        let stale = std::fs::metadata(&mark)
            .and_then(|m| m.modified())
            .is_ok_and(|at| at.elapsed().is_ok_and(|age| age > STALE));
        if stale {
            let _ = std::fs::remove_file(&mark);
        }
        let reserved = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&mark)
            .is_ok();
        if reserved && std::net::TcpListener::bind(("127.0.0.1", port)).is_ok() {
            return port;
        }
    }
}
