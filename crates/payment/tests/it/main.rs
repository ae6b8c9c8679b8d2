//! Integration tests of the payment service against the sandbox PG over real
//! HTTP, real Postgres and Kafka, and the real HTTP edge that passes the PG's
//! webhooks on. One binary, one module per concern.
// The library's dependencies are all visible here, and helpers are shared between modules.
// A panic is how a test fails: unwrap and expect are fine here.
#![allow(
    unused_crate_dependencies,
    unreachable_pub,
    clippy::unwrap_used,
    clippy::expect_used
)]

mod approval;
mod commands;
mod crash;
mod refunds;
mod settlement;
mod support;
mod webhooks;
