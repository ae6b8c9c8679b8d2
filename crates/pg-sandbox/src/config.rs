//! The sandbox's settings, from `STAYMESH_PG_SANDBOX_*` variables or flags,
//! and their validation at start-up (a bad secret or URL fails before the
//! sandbox listens, not at the first webhook).

use std::sync::Arc;
use std::time::Duration;

use reqwest::Url;
use staymesh_platform::config::parse_duration;

use crate::error::Error;

/// How the sandbox PG answers, signs and delivers.
#[derive(Debug, Clone, clap::Args)]
pub struct SandboxArgs {
    /// Port of the sandbox PG's HTTP server.
    #[arg(long, env = "STAYMESH_PG_SANDBOX_PORT", default_value_t = 8090)]
    pub pg_sandbox_port: u16,

    /// The API secret callers send as `Authorization: PortOne <secret>`.
    #[arg(
        long,
        env = "STAYMESH_PG_SANDBOX_API_SECRET",
        default_value = "sandbox-secret"
    )]
    pub pg_sandbox_api_secret: String,

    /// The Standard Webhooks signing secret: `whsec_` followed by the base64 of the key.
    #[arg(
        long,
        env = "STAYMESH_PG_SANDBOX_WEBHOOK_SECRET",
        default_value = "whsec_c3RheW1lc2gtc2FuZGJveC13ZWJob29rLXNlY3JldA=="
    )]
    pub pg_sandbox_webhook_secret: String,

    /// Where webhooks are posted (http only); empty sends none.
    #[arg(
        long,
        env = "STAYMESH_PG_SANDBOX_WEBHOOK_URL",
        default_value = "http://127.0.0.1:8080/v1/webhooks/payments"
    )]
    pub pg_sandbox_webhook_url: String,

    /// The sandbox's address as browsers reach it; checkout URLs are `<this>/checkout/<paymentKey>`.
    #[arg(
        long,
        env = "STAYMESH_PG_SANDBOX_PUBLIC_URL",
        default_value = "http://127.0.0.1:8090"
    )]
    pub pg_sandbox_public_url: String,

    /// Percent (0-100) of delivered webhooks sent a second time, so receivers must be idempotent.
    #[arg(long, env = "STAYMESH_PG_SANDBOX_DUPLICATE_WEBHOOKS", default_value_t = 0,
          value_parser = clap::value_parser!(u8).range(0..=100))]
    pub pg_sandbox_duplicate_webhooks: u8,

    /// Delay before a failed webhook's first retry; it doubles per attempt up to 60s, 12 attempts in all.
    #[arg(long, env = "STAYMESH_PG_SANDBOX_WEBHOOK_RETRY", default_value = "1s", value_parser = parse_duration)]
    pub pg_sandbox_webhook_retry: Duration,
}

/// The settings once checked: what the handlers and the delivery loop use.
#[derive(Clone)]
pub(crate) struct Settings {
    pub(crate) api_secret: String,
    pub(crate) signer: Arc<standardwebhooks::Webhook>,
    pub(crate) webhook_url: Option<Url>,
    /// Without a trailing slash.
    pub(crate) public_url: String,
    pub(crate) duplicate_percent: u8,
    pub(crate) retry: Duration,
}

impl std::fmt::Debug for Settings {
    // The secrets stay out of logs.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Settings")
            .field("webhook_url", &self.webhook_url.as_ref().map(Url::as_str))
            .field("public_url", &self.public_url)
            .field("duplicate_percent", &self.duplicate_percent)
            .field("retry", &self.retry)
            .finish_non_exhaustive()
    }
}

impl Settings {
    /// Checks `args`, naming the variable at fault.
    pub(crate) fn from_args(args: &SandboxArgs) -> Result<Self, Error> {
        if args.pg_sandbox_api_secret.is_empty() {
            return Err(Error::Config(
                "STAYMESH_PG_SANDBOX_API_SECRET must not be empty".into(),
            ));
        }
        let signer = parse_webhook_secret(&args.pg_sandbox_webhook_secret)?;
        let webhook_url = match args.pg_sandbox_webhook_url.trim() {
            "" => None,
            url => Some(parse_http_url("STAYMESH_PG_SANDBOX_WEBHOOK_URL", url)?),
        };
        let public_url = parse_http_url(
            "STAYMESH_PG_SANDBOX_PUBLIC_URL",
            args.pg_sandbox_public_url.trim(),
        )?;
        if args.pg_sandbox_duplicate_webhooks > 100 {
            return Err(Error::Config(
                "STAYMESH_PG_SANDBOX_DUPLICATE_WEBHOOKS must be from 0 to 100".into(),
            ));
        }
        Ok(Self {
            api_secret: args.pg_sandbox_api_secret.clone(),
            signer: Arc::new(signer),
            webhook_url,
            public_url: public_url.as_str().trim_end_matches('/').to_owned(),
            duplicate_percent: args.pg_sandbox_duplicate_webhooks,
            retry: args.pg_sandbox_webhook_retry,
        })
    }
}

/// `whsec_<base64 of a non-empty key>`, the form Standard Webhooks secrets take.
fn parse_webhook_secret(secret: &str) -> Result<standardwebhooks::Webhook, Error> {
    let bad = |why: &str| {
        Error::Config(format!(
            "STAYMESH_PG_SANDBOX_WEBHOOK_SECRET must be whsec_ followed by the base64 of the key: {why}"
        ))
    };
    let Some(encoded) = secret.strip_prefix("whsec_") else {
        return Err(bad("the whsec_ prefix is missing"));
    };
    if encoded.is_empty() {
        return Err(bad("the key is empty"));
    }
    standardwebhooks::Webhook::new(secret).map_err(|e| bad(&e.to_string()))
}

/// An absolute `http://` URL: the client has no TLS backend, so https would
/// only fail later, at the first request.
fn parse_http_url(variable: &str, text: &str) -> Result<Url, Error> {
    let url = Url::parse(text).map_err(|e| Error::Config(format!("{variable}: {e}")))?;
    if url.scheme() != "http" {
        return Err(Error::Config(format!(
            "{variable} must be an http:// URL (the sandbox has no TLS client)"
        )));
    }
    Ok(url)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn defaults() -> SandboxArgs {
        let matches = <SandboxArgs as clap::Args>::augment_args(clap::Command::new("t"))
            .get_matches_from(["t"]);
        <SandboxArgs as clap::FromArgMatches>::from_arg_matches(&matches).unwrap()
    }

    #[test]
    fn defaults_are_valid() {
        let settings = Settings::from_args(&defaults()).unwrap();
        assert_eq!(settings.public_url, "http://127.0.0.1:8090");
        assert_eq!(settings.retry, Duration::from_secs(1));
        assert!(settings.webhook_url.is_some());
    }

    #[test]
    fn bad_webhook_secrets_are_refused_by_name() {
        for secret in ["c2VjcmV0", "whsec_", "whsec_not base64!"] {
            let mut args = defaults();
            args.pg_sandbox_webhook_secret = secret.into();
            let error = Settings::from_args(&args).unwrap_err().to_string();
            assert!(
                error.contains("STAYMESH_PG_SANDBOX_WEBHOOK_SECRET"),
                "{error}"
            );
        }
    }

    #[test]
    fn urls_must_be_http_and_an_empty_webhook_url_sends_none() {
        let mut args = defaults();
        args.pg_sandbox_webhook_url = String::new();
        assert!(Settings::from_args(&args).unwrap().webhook_url.is_none());
        args.pg_sandbox_webhook_url = "https://example.com/hook".into();
        assert!(Settings::from_args(&args).is_err());
        let mut args = defaults();
        args.pg_sandbox_public_url = "not a url".into();
        assert!(Settings::from_args(&args).is_err());
    }
}
