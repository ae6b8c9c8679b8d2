//! The user service's own settings: signing keys, token lifetimes, Argon2id
//! cost and the log-in rate limits, all from `STAYMESH_*` variables.

use std::time::Duration;

use staymesh_platform::config::parse_duration;

/// How the user service signs tokens, hashes passwords and limits log-ins.
#[derive(Debug, Clone, clap::Args)]
pub struct UserArgs {
    /// Signing keys, comma separated `kid:base64url-seed` (`staymesh keygen`
    /// prints one). The first signs new tokens; the others only verify, so a
    /// key rotates out without logging anybody out. When empty, a random key is
    /// made at start-up and tokens do not survive a restart (development only).
    #[arg(
        long,
        env = "STAYMESH_JWT_SIGNING_KEYS",
        default_value = "",
        hide_env_values = true
    )]
    pub jwt_signing_keys: String,

    /// Lifetime of an access token.
    #[arg(long, env = "STAYMESH_ACCESS_TOKEN_TTL", default_value = "15m", value_parser = parse_duration)]
    pub access_token_ttl: Duration,

    /// Lifetime of a refresh token (a session that is not refreshed ends then).
    #[arg(long, env = "STAYMESH_REFRESH_TOKEN_TTL", default_value = "14d", value_parser = parse_duration)]
    pub refresh_token_ttl: Duration,

    /// Argon2id memory cost in KiB (OWASP's minimum is 19456).
    #[arg(long, env = "STAYMESH_ARGON2_MEMORY_KIB", default_value_t = 19_456,
          value_parser = clap::value_parser!(u32).range(8..=4_194_304))]
    pub argon2_memory_kib: u32,

    /// Argon2id iterations.
    #[arg(long, env = "STAYMESH_ARGON2_ITERATIONS", default_value_t = 2,
          value_parser = clap::value_parser!(u32).range(1..=100))]
    pub argon2_iterations: u32,

    /// Argon2id lanes.
    #[arg(long, env = "STAYMESH_ARGON2_PARALLELISM", default_value_t = 1,
          value_parser = clap::value_parser!(u32).range(1..=64))]
    pub argon2_parallelism: u32,

    /// Failed log-ins per account within the window before log-ins are refused.
    #[arg(long, env = "STAYMESH_LOGIN_MAX_FAILURES", default_value_t = 5,
          value_parser = clap::value_parser!(u32).range(1..))]
    pub login_max_failures: u32,

    /// Failed log-ins per client address within the window before log-ins are refused.
    #[arg(long, env = "STAYMESH_LOGIN_MAX_FAILURES_PER_ADDRESS", default_value_t = 50,
          value_parser = clap::value_parser!(u32).range(1..))]
    pub login_max_failures_per_address: u32,

    /// The window failed log-ins are counted in, from the first failure.
    #[arg(long, env = "STAYMESH_LOGIN_FAILURE_WINDOW", default_value = "15m", value_parser = parse_duration)]
    pub login_failure_window: Duration,

    /// Take the client address from the last `x-forwarded-for` entry (set by
    /// the HTTP edge) instead of the TCP peer. Turn off when untrusted clients
    /// can reach the gRPC port directly.
    #[arg(long, env = "STAYMESH_TRUST_FORWARDED_FOR", default_value_t = true, action = clap::ArgAction::Set)]
    pub trust_forwarded_for: bool,
}
