//! End-to-end tests live in `e2e/`; this library is empty.
// The dev-dependencies serve the e2e binary; `clippy --all-targets` still
// checks this library as a test target.
#![cfg_attr(test, allow(unused_crate_dependencies))]
