//! Integration tests of the review service against real Postgres and a
//! Kafka-protocol broker, over real gRPC on loopback. One binary, one module
//! per concern.
// The library's dependencies are all visible here, and helpers are shared between modules.
// A panic is how a test fails: unwrap and expect are fine here.
#![allow(
    unused_crate_dependencies,
    unreachable_pub,
    clippy::unwrap_used,
    clippy::expect_used
)]

mod aggregate;
mod images;
mod reviews;
mod s3;
mod support;
