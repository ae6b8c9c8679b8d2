//! Integration tests of staymesh-platform against a real Postgres and a real
//! Kafka-compatible broker (`STAYMESH_POSTGRES_URL`, `STAYMESH_KAFKA_BROKERS`,
//! localhost defaults; scripts/infra.sh starts both). One binary, one link.

// Integration tests see every dependency of the crate but use only a few.
// A panic is how a test fails: unwrap and expect are fine here.
#![allow(unused_crate_dependencies, clippy::unwrap_used, clippy::expect_used)]

mod support;

mod inbox;
mod kafka;
mod outbox;
mod server;
