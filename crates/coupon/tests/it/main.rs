//! Integration tests of the coupon service against real Postgres, Redis and
//! Kafka (Tansu), over real gRPC on loopback. One binary, one module per concern.
// The library's dependencies are all visible here, and helpers are shared between modules.
#![allow(unused_crate_dependencies, unreachable_pub)]

mod claims;
mod coupons;
mod durability;
mod lifecycle;
mod recovery;
mod support;
