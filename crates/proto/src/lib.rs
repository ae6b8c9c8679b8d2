//! Generated protobuf types, tonic clients and servers for every staymesh
//! contract under `proto/`, mirrored as modules by package, plus the encoded
//! descriptor set that reflection and the HTTP edge read.
//!
//! Lint exemptions for generated code live here and nowhere else.
#![allow(
    unreachable_pub,
    missing_debug_implementations,
    clippy::all,
    clippy::pedantic
)]

/// The encoded `FileDescriptorSet` of every staymesh proto (and its imports).
pub const FILE_DESCRIPTOR_SET: &[u8] =
    include_bytes!(concat!(env!("OUT_DIR"), "/staymesh_descriptor.bin"));

/// `google.api`: the HTTP annotations.
pub mod google {
    pub mod api {
        tonic::include_proto!("google.api");
    }
}

/// `staymesh.*.v1` packages.
pub mod staymesh {
    pub mod common {
        pub mod v1 {
            tonic::include_proto!("staymesh.common.v1");
        }
    }
    pub mod accommodation {
        pub mod v1 {
            tonic::include_proto!("staymesh.accommodation.v1");
        }
    }
}

pub use staymesh::accommodation::v1 as accommodation;
pub use staymesh::common::v1 as common;
