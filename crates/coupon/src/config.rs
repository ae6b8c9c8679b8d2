//! The coupon service's own settings, from `STAYMESH_*` variables.

use std::time::Duration;

use staymesh_platform::config::parse_duration;

/// How claims are persisted, checked and announced.
#[derive(Debug, Clone, clap::Args)]
pub struct CouponArgs {
    /// User coupons written per batch by the claim consumer.
    #[arg(long, env = "STAYMESH_COUPON_BATCH_SIZE", default_value_t = 500,
          value_parser = clap::value_parser!(u32).range(1..=5000))]
    pub coupon_batch_size: u32,

    /// Longest wait for a batch to fill once its first claim arrived.
    #[arg(long, env = "STAYMESH_COUPON_BATCH_WAIT", default_value = "50ms", value_parser = parse_duration)]
    pub coupon_batch_wait: Duration,

    /// How long a claim's CouponIssued message may wait for Kafka's
    /// acknowledgement before the coupon is written to Postgres directly.
    #[arg(long, env = "STAYMESH_COUPON_PUBLISH_TIMEOUT", default_value = "2s", value_parser = parse_duration)]
    pub coupon_publish_timeout: Duration,

    /// How often open and recently closed events are reconciled: claims in
    /// Redis missing from Postgres (older than the grace below) are persisted.
    #[arg(long, env = "STAYMESH_COUPON_RECONCILE_EVERY", default_value = "30s", value_parser = parse_duration)]
    pub coupon_reconcile_every: Duration,

    /// How old a claim must be before the reconciler persists it itself
    /// rather than waiting for the consumer.
    #[arg(long, env = "STAYMESH_COUPON_RECONCILE_GRACE", default_value = "10s", value_parser = parse_duration)]
    pub coupon_reconcile_grace: Duration,

    /// How often the scheduler looks for events that opened or ended.
    #[arg(long, env = "STAYMESH_COUPON_TICK", default_value = "1s", value_parser = parse_duration)]
    pub coupon_tick: Duration,

    /// An http:// URL that receives a JSON message when an event opens and
    /// when it sells out (a chat webhook, for instance). Empty: no webhook.
    #[arg(long, env = "STAYMESH_COUPON_WEBHOOK_URL", default_value = "")]
    pub coupon_webhook_url: String,
}
