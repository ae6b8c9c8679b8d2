//! Integration tests of the user service against real Postgres and Redis,
//! over real gRPC on loopback. One binary, one module per concern.
// The library's dependencies are all visible here, and helpers are shared between modules.
#![allow(unused_crate_dependencies, unreachable_pub)]

mod login;
mod sessions;
mod signup;
mod support;
mod tokens;
