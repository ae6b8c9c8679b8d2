//! The gateway against an in-process stand-in backend, called over real HTTP.
// A panic is how a test fails: unwrap and expect are fine here.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod backend;
mod errors;
mod helpers;
mod meta;
mod transcoding;
mod web;

// Dependencies of the library that these tests do not name directly.
use futures as _;
use prost as _;
use prost_reflect as _;
use regex as _;
use rust_embed as _;
use thiserror as _;
use tracing as _;
use {chrono as _, serde as _, staymesh_platform as _, uuid as _};
