//! The payment service's own settings, from `STAYMESH_*` variables.

use std::time::Duration;

use staymesh_platform::config::parse_duration;

/// Where the PG is, how it is called and how money is settled.
#[derive(Debug, Clone, clap::Args)]
pub struct PaymentArgs {
    /// Base URL of the PG's REST API (the sandbox PG by default).
    #[arg(
        long,
        env = "STAYMESH_PAYMENT_PG_URL",
        default_value = "http://127.0.0.1:8090"
    )]
    pub payment_pg_url: String,

    /// The PG's API secret (sent as `Authorization: PortOne <secret>`).
    #[arg(
        long,
        env = "STAYMESH_PAYMENT_PG_API_SECRET",
        default_value = "sandbox-secret"
    )]
    pub payment_pg_api_secret: String,

    /// The secret the PG signs webhooks with (Standard Webhooks: `whsec_` and base64).
    #[arg(
        long,
        env = "STAYMESH_PAYMENT_PG_WEBHOOK_SECRET",
        default_value = "whsec_c3RheW1lc2gtc2FuZGJveC13ZWJob29rLXNlY3JldA=="
    )]
    pub payment_pg_webhook_secret: String,

    /// How long one call to the PG may take before it is given up (and, where
    /// the call is idempotent, retried).
    #[arg(long, env = "STAYMESH_PAYMENT_PG_TIMEOUT", default_value = "3s", value_parser = parse_duration)]
    pub payment_pg_timeout: Duration,

    /// Where the PG sends the guest's browser after checkout.
    #[arg(
        long,
        env = "STAYMESH_PAYMENT_RETURN_URL",
        default_value = "http://127.0.0.1:8080/payment-return"
    )]
    pub payment_return_url: String,

    /// How often the reconciler compares unfinished payments and refunds with
    /// the PG, and cancels payments left unpaid past their expiry.
    #[arg(long, env = "STAYMESH_PAYMENT_RECONCILE_EVERY", default_value = "30s", value_parser = parse_duration)]
    pub payment_reconcile_every: Duration,

    /// The platform's commission on each host's net, in whole percent.
    #[arg(long, env = "STAYMESH_PAYMENT_FEE_PERCENT", default_value_t = 10,
          value_parser = clap::value_parser!(u8).range(0..=100))]
    pub payment_fee_percent: u8,
}
