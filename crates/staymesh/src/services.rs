//! The one list of services. Everything the binary does for "every service"
//! (subcommands, `all`, `migrate`, `seed`, `services`, ports, URLs, the edge's
//! backends) reads this list; a new service is its crate and one line here.

use staymesh_platform::service::Descriptor;

/// Every service, in start-up and seed order (the user service first: it
/// issues the tokens and accounts the others refer to).
pub(crate) static SERVICES: &[&Descriptor] = &[
    &staymesh_user::DESCRIPTOR,
    &staymesh_accommodation::DESCRIPTOR,
    &staymesh_coupon::DESCRIPTOR,
    &staymesh_point::DESCRIPTOR,
    &staymesh_payment::DESCRIPTOR,
    &staymesh_booking::DESCRIPTOR,
    &staymesh_saga::DESCRIPTOR,
    &staymesh_queue::DESCRIPTOR,
    &staymesh_review::DESCRIPTOR,
];

/// The service called `name`.
pub(crate) fn find(name: &str) -> Option<&'static Descriptor> {
    SERVICES.iter().copied().find(|d| d.name == name)
}
