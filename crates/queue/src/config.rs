//! The queue service's own settings, from `STAYMESH_*` variables.

use std::time::Duration;

use staymesh_platform::config::parse_duration;

/// How tokens are signed and how often queues admit and watchers hear.
#[derive(Debug, Clone, clap::Args)]
pub struct QueueArgs {
    /// The secret admission tokens are signed with (HMAC-SHA256). Set your
    /// own in production: whoever knows it can mint tokens.
    #[arg(
        long,
        env = "STAYMESH_QUEUE_TOKEN_SECRET",
        default_value = "staymesh-dev-queue-secret"
    )]
    pub queue_token_secret: String,

    /// How often the ticker admits the next users of each active queue.
    #[arg(long, env = "STAYMESH_QUEUE_TICK", default_value = "100ms", value_parser = parse_duration)]
    pub queue_tick: Duration,

    /// How often the watch streams of this process are brought up to date.
    #[arg(long, env = "STAYMESH_QUEUE_WATCH_EVERY", default_value = "1s", value_parser = parse_duration)]
    pub queue_watch_every: Duration,
}
