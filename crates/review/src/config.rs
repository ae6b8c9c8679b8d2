//! The review service's own settings, from `STAYMESH_*` variables.

use std::time::Duration;

use staymesh_platform::config::parse_duration;

/// How long after a stay it may be reviewed.
#[derive(Debug, Clone, clap::Args)]
pub struct ReviewArgs {
    /// How long after a stay is completed (its check-out) it may be reviewed.
    #[arg(long, env = "STAYMESH_REVIEW_WINDOW", default_value = "30d", value_parser = parse_duration)]
    pub review_window: Duration,

    /// How long an image upload may wait for a review to take it before
    /// it is deleted with its file.
    #[arg(long, env = "STAYMESH_REVIEW_UPLOAD_TTL", default_value = "1d", value_parser = parse_duration)]
    pub review_upload_ttl: Duration,

    /// How often unused image uploads are looked for.
    #[arg(long, env = "STAYMESH_REVIEW_UPLOAD_CLEANUP_EVERY", default_value = "1h", value_parser = parse_duration)]
    pub review_upload_cleanup_every: Duration,
}
