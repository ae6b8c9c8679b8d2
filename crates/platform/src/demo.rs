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

/// The demo guest's completed stay (booked at the first demo property's
/// first room type): the booking service's seed records it as a COMPLETED
/// booking and the review service's as reviewable, so that a review can be
/// tried at once.
pub const COMPLETED_STAY_ID: Uuid = Uuid::from_u128(0x0190c0de_0000_7000_8000_0000000b0001);

/// Deterministic UUIDv7-shaped ids of seeded rows of `kind` (1 properties,
/// 2 room types, 3 time sales), so re-running the seed finds its rows and
/// other services' seeds can name them.
pub fn seeded_id(kind: u8, index: usize) -> Uuid {
    use rand::rngs::StdRng;
    use rand::{Rng, SeedableRng};
    let mut rng = StdRng::seed_from_u64((u64::from(kind) << 32) | index as u64);
    let random: [u8; 10] = rng.random();
    // 2024-07-01T00:00:00Z plus the index keeps seeded ids ordered.
    uuid::Builder::from_unix_timestamp_millis(1_719_792_000_000 + index as u64, &random).into_uuid()
}

/// The id of demo property `index`.
pub fn property_id(index: usize) -> Uuid {
    seeded_id(1, index)
}

/// The id of room type `room` (0 to 3) of demo property `index`.
pub fn room_type_id(index: usize, room: usize) -> Uuid {
    seeded_id(2, index * 4 + room)
}
