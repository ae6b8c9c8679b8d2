//! Integration tests of the sandbox PG: the real server on 127.0.0.1:0
//! against real Postgres, spoken to over real HTTP, each test in a database
//! of its own; webhooks go to a small receiver the tests run.
// The library's dependencies are all visible here, and helpers are shared between modules.
// A panic is how a test fails: unwrap and expect are fine here.
#![allow(
    unused_crate_dependencies,
    unreachable_pub,
    clippy::unwrap_used,
    clippy::expect_used
)]

mod cancel;
mod checkout;
mod faults;
mod payments;
mod receiver;
mod restart;
mod support;
mod webhooks;
