//! The booking service's own settings, from `STAYMESH_*` variables.

use std::time::Duration;

use staymesh_platform::config::parse_duration;

/// How long guests have to pay and how often stays are completed.
#[derive(Debug, Clone, clap::Args)]
pub struct BookingArgs {
    /// How long a new booking waits for its payment before the saga cancels
    /// it (PAYMENT_EXPIRED) and releases everything it held.
    #[arg(long, env = "STAYMESH_BOOKING_PAYMENT_WINDOW", default_value = "10m", value_parser = parse_duration)]
    pub booking_payment_window: Duration,

    /// How often the completion job marks confirmed stays past check-out
    /// COMPLETED.
    #[arg(long, env = "STAYMESH_BOOKING_COMPLETE_EVERY", default_value = "1m", value_parser = parse_duration)]
    pub booking_complete_every: Duration,
}
