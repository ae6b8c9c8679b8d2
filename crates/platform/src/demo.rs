//! The fixed ids of the demo data `staymesh seed` loads, shared so that each
//! service seeds its own part without asking another: the host's account owns
//! the demo properties, the admin's account created the demo coupon.

use uuid::Uuid;

/// `guest@staymesh.dev`.
pub const GUEST_ID: Uuid = Uuid::from_u128(0x0190c0de_0000_7000_8000_000000000001);
/// `host@staymesh.dev`, owner of the demo properties.
pub const HOST_ID: Uuid = Uuid::from_u128(0x0190c0de_0000_7000_8000_000000000002);
/// `admin@staymesh.dev`, creator of the demo coupon.
pub const ADMIN_ID: Uuid = Uuid::from_u128(0x0190c0de_0000_7000_8000_000000000003);
