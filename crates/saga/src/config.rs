//! The orchestrator's own settings, from `STAYMESH_*` variables.

use std::time::Duration;

use staymesh_platform::config::parse_duration;

/// How patient the saga is with its participants.
#[derive(Debug, Clone, clap::Args)]
pub struct SagaArgs {
    /// How long a step's first command waits for its reply before it is
    /// resent; each resend waits twice as long, up to the backoff cap.
    #[arg(long, env = "STAYMESH_SAGA_STEP_TIMEOUT", default_value = "10s", value_parser = parse_duration)]
    pub saga_step_timeout: Duration,

    /// Commands sent for a forward step before it times out and the saga
    /// compensates.
    #[arg(long, env = "STAYMESH_SAGA_STEP_ATTEMPTS", default_value_t = 5)]
    pub saga_step_attempts: i32,

    /// Commands sent for a compensation before the saga is parked as STUCK
    /// (and alerted on); it is still retried at the backoff cap after that.
    #[arg(
        long,
        env = "STAYMESH_SAGA_COMPENSATION_ATTEMPTS",
        default_value_t = 10
    )]
    pub saga_compensation_attempts: i32,

    /// The longest wait between two commands of one step.
    #[arg(long, env = "STAYMESH_SAGA_MAX_BACKOFF", default_value = "1m", value_parser = parse_duration)]
    pub saga_max_backoff: Duration,

    /// How often the timer looks for steps past their deadline.
    #[arg(long, env = "STAYMESH_SAGA_TICK", default_value = "250ms", value_parser = parse_duration)]
    pub saga_tick: Duration,
}

impl SagaArgs {
    /// How long attempt `attempt` (1-based) waits for its reply.
    pub(crate) fn wait_for(&self, attempt: i32) -> Duration {
        let doublings = u32::try_from(attempt.saturating_sub(1).clamp(0, 16)).unwrap_or(0);
        self.saga_step_timeout
            .saturating_mul(2u32.saturating_pow(doublings))
            .min(self.saga_max_backoff)
    }
}
