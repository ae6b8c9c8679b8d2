//! Brute-force protection: failed log-ins are counted in Redis per account
//! and per client address, each in a window that starts at its first failure.
//! Once either count reaches its limit, log-ins for that account (or from
//! that address) are refused until the window ends, before any password is
//! checked. A successful log-in clears the account's count; the address only
//! gets that one attempt back (an attacker must not reset it with an account
//! of their own).
//!
//! Unknown emails are counted like known ones, so the limit reveals nothing
//! about which accounts exist.

use std::net::IpAddr;
use std::time::Duration;

use fred::prelude::*;
use staymesh_platform::redis::RedisPool;

use crate::error::{Error, Result};

/// Counts an attempt unless a key is at its limit. Returns the longest wait
/// in ms among the keys at or over their limit (nothing counted), or 0 (the
/// attempt counted on every key; the first count starts the key's window).
/// Counting before the password is checked, in one script, means a burst of
/// parallel guesses cannot all slip in under the limit.
const ATTEMPT: &str = r#"
local wait = 0
for i, key in ipairs(KEYS) do
  local count = tonumber(redis.call('GET', key) or '0')
  if count >= tonumber(ARGV[i + 1]) then
    local ttl = redis.call('PTTL', key)
    if ttl > wait then wait = ttl end
  end
end
if wait > 0 then return wait end
for _, key in ipairs(KEYS) do
  if redis.call('INCR', key) == 1 then
    redis.call('PEXPIRE', key, ARGV[1])
  end
end
return 0
"#;

/// A successful attempt: the account starts afresh, and the address gets back
/// the attempt it was charged.
const SUCCEEDED: &str = r#"
redis.call('DEL', KEYS[1])
if KEYS[2] and tonumber(redis.call('GET', KEYS[2]) or '0') > 0 then
  redis.call('DECR', KEYS[2])
end
return 0
"#;

/// The limits and where their counters live.
#[derive(Debug, Clone)]
pub(crate) struct LoginLimit {
    redis: RedisPool,
    prefix: String,
    per_account: u32,
    per_address: u32,
    window: Duration,
}

impl LoginLimit {
    pub(crate) fn new(
        redis: RedisPool,
        prefix: impl Into<String>,
        per_account: u32,
        per_address: u32,
        window: Duration,
    ) -> Self {
        Self {
            redis,
            prefix: prefix.into(),
            per_account,
            per_address,
            window,
        }
    }

    fn account_key(&self, email: &str) -> String {
        format!("{}:login-failures:account:{email}", self.prefix)
    }

    fn address_key(&self, address: Option<IpAddr>) -> Option<String> {
        address.map(|a| format!("{}:login-failures:address:{a}", self.prefix))
    }

    fn keys_and_limits(&self, email: &str, address: Option<IpAddr>) -> (Vec<String>, Vec<String>) {
        let mut keys = vec![self.account_key(email)];
        let mut limits = vec![self.per_account.to_string()];
        if let Some(key) = self.address_key(address) {
            keys.push(key);
            limits.push(self.per_address.to_string());
        }
        (keys, limits)
    }

    /// Charges one log-in attempt to the account and the address, or
    /// RESOURCE_EXHAUSTED (with how long to wait) when either has used up its
    /// attempts. A failed attempt stays charged until the window ends.
    pub(crate) async fn attempt(&self, email: &str, address: Option<IpAddr>) -> Result<()> {
        let (keys, limits) = self.keys_and_limits(email, address);
        let window_ms = self.window.as_millis().max(1).to_string();
        let args: Vec<String> = std::iter::once(window_ms).chain(limits).collect();
        let wait_ms: i64 = self.redis.next().eval(ATTEMPT, keys, args).await?;
        if wait_ms > 0 {
            metrics::counter!("user_login_rate_limited_total").increment(1);
            return Err(Error::RateLimited {
                retry_after: Duration::from_millis(wait_ms as u64),
            });
        }
        Ok(())
    }

    /// The attempt succeeded: forget the account's failures and refund the address.
    pub(crate) async fn succeeded(&self, email: &str, address: Option<IpAddr>) -> Result<()> {
        let (keys, _) = self.keys_and_limits(email, address);
        let _: i64 = self
            .redis
            .next()
            .eval(SUCCEEDED, keys, Vec::<String>::new())
            .await?;
        Ok(())
    }
}
