//! Conversions between chrono and the well-known protobuf types every
//! service's contracts use.

use chrono::{DateTime, Utc};

/// A `google.protobuf.Timestamp` of a UTC instant.
pub fn timestamp(at: DateTime<Utc>) -> prost_types::Timestamp {
    prost_types::Timestamp {
        seconds: at.timestamp(),
        nanos: at.timestamp_subsec_nanos() as i32,
    }
}
