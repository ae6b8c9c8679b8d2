//! The review service's own settings, from `STAYMESH_*` variables.

use std::time::Duration;

use staymesh_platform::config::parse_duration;

/// How long after a stay it may be reviewed.
#[derive(Debug, Clone, clap::Args)]
pub struct ReviewArgs {
    /// How long after a stay is completed (its check-out) it may be reviewed.
    #[arg(long, env = "STAYMESH_REVIEW_WINDOW", default_value = "30d", value_parser = parse_duration)]
    pub review_window: Duration,
}
