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

/// `prost::Name` for a message written by hand (mapped with `extern_path`),
/// as prost generates it for the others.
macro_rules! hand_written_name {
    ($message:ident, $package:literal) => {
        impl prost::Name for $message {
            const NAME: &'static str = stringify!($message);
            const PACKAGE: &'static str = $package;

            fn full_name() -> String {
                concat!($package, ".", stringify!($message)).into()
            }

            fn type_url() -> String {
                concat!("/", $package, ".", stringify!($message)).into()
            }
        }
    };
}
pub(crate) use hand_written_name;

mod property_answer;
pub mod rules;
mod search_answer;
pub mod validation;

/// The encoded `FileDescriptorSet` of every staymesh proto and its imports,
/// with comments and extension options (`google.api.http`) kept.
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
            pub use crate::property_answer::{EncodedProperty, GetPropertyResponse};
            pub use crate::search_answer::{
                AvailableRoomHead, EncodedResults, RoomOffer, SearchAvailabilityResponse,
                SearchResultHead,
            };
        }
    }
    pub mod user {
        pub mod v1 {
            tonic::include_proto!("staymesh.user.v1");
        }
    }
    pub mod booking {
        pub mod v1 {
            tonic::include_proto!("staymesh.booking.v1");
        }
    }
    pub mod coupon {
        pub mod v1 {
            tonic::include_proto!("staymesh.coupon.v1");
        }
    }
    pub mod point {
        pub mod v1 {
            tonic::include_proto!("staymesh.point.v1");
        }
    }
    pub mod payment {
        pub mod v1 {
            tonic::include_proto!("staymesh.payment.v1");
        }
    }
    pub mod review {
        pub mod v1 {
            tonic::include_proto!("staymesh.review.v1");
        }
    }
    pub mod queue {
        pub mod v1 {
            tonic::include_proto!("staymesh.queue.v1");
        }
    }
    pub mod saga {
        pub mod v1 {
            tonic::include_proto!("staymesh.saga.v1");
        }
    }
}

pub use staymesh::accommodation::v1 as accommodation;
pub use staymesh::booking::v1 as booking;
pub use staymesh::common::v1 as common;
pub use staymesh::coupon::v1 as coupon;
pub use staymesh::payment::v1 as payment;
pub use staymesh::point::v1 as point;
pub use staymesh::queue::v1 as queue;
pub use staymesh::review::v1 as review;
pub use staymesh::saga::v1 as saga;
pub use staymesh::user::v1 as user;
