//! End-to-end tests: the real `staymesh` binary as separate processes on
//! loopback, the way pods run, against the local Postgres, Redis and broker.
//! One binary, one module per scenario.
// A panic is how a test fails: unwrap and expect are fine here.
#![allow(
    unused_crate_dependencies,
    unreachable_pub,
    clippy::unwrap_used,
    clippy::expect_used
)]

mod auth;
mod booking_kit;
mod bookings;
mod contention;
mod crashes;
mod fuzz;
mod journey;
mod mesh;
mod payments;
mod pods;
mod reviews;
mod stays;
mod support;
mod waiting_room;
mod web;
