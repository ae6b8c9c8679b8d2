//! End-to-end tests: the real `staymesh` binary as separate processes on
//! loopback, the way pods run, against the local Postgres, Redis and broker.
//! One binary, one module per scenario.
#![allow(unused_crate_dependencies, unreachable_pub)]

mod auth;
mod mesh;
mod support;
