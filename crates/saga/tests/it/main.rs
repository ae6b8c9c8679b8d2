#![allow(unused_crate_dependencies)]
