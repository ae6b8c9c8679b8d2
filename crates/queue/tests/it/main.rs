//! Integration tests of the queue service against real Postgres and Redis,
//! over real gRPC on loopback. One binary, one module per concern.
// The library's dependencies are all visible here, and helpers are shared between modules.
// A panic is how a test fails: unwrap and expect are fine here.
#![allow(
    unused_crate_dependencies,
    unreachable_pub,
    clippy::unwrap_used,
    clippy::expect_used
)]

mod admission;
mod line;
mod refusals;
mod support;
mod watch;
