//! What every staymesh service shares, so no service copies it: configuration
//! from `STAYMESH_*` variables, telemetry (JSON logs, Prometheus metrics,
//! OpenTelemetry traces), graceful shutdown, the gRPC server builder (health,
//! reflection, tower layers), Postgres with embedded migrations, Redis, Kafka
//! (idempotent producer, consumer, transactional outbox and inbox), the auth
//! seam, and the mapping from errors to gRPC statuses.
// Dev-dependencies serve the integration tests, not the unit tests.
#![cfg_attr(test, allow(unused_crate_dependencies))]

pub mod admission;
pub mod auth;
pub mod client;
pub mod client_addr;
pub mod coalesced_io;
pub mod config;
pub mod convert;
pub mod db;
pub mod demo;
pub mod error;
pub mod kafka;
pub mod layers;
pub mod media;
pub mod metrics_http;
pub mod redis;
pub mod rpc;
pub mod server;
pub mod service;
pub mod shutdown;
pub mod signature;
pub mod stores;
pub mod telemetry;

pub use config::{InfraArgs, ServerArgs};
pub use error::{Error, FieldViolations};
pub use shutdown::Shutdown;
