//! The Redis side of an issuance event: its window, its remaining stock and
//! who claimed. One Lua script decides a claim atomically, so no guest gets
//! two and stock never goes below zero however many claims race.
//!
//! Keys share the event id as a hash tag (`{<event>}`) so a Redis Cluster
//! keeps them in one slot. Postgres is the durable copy: when an event's keys
//! are missing (first use, a Redis restart), `restore` rebuilds them from the
//! stored user coupons before any claim is decided.

use chrono::{DateTime, Utc};
use fred::prelude::*;
use staymesh_platform::redis::RedisPool;
use uuid::Uuid;

use staymesh_platform::rpc::{Error, Result};

/// Decides one claim. KEYS: meta, claimed, stock. ARGV: user, user coupon id.
/// Returns `M` (event not loaded), `A:<id>:<ms>` (already claimed),
/// `N` (not open), `S` (sold out) or `C:<remaining>:<ms>` (claimed; -1
/// remaining when unlimited). Time comes from Redis, one clock for all replicas.
pub const CLAIM_SCRIPT: &str = r#"
local meta = redis.call('HMGET', KEYS[1], 'opens', 'closes', 'closed', 'unlimited')
if not meta[1] then return 'M' end
local held = redis.call('HGET', KEYS[2], ARGV[1])
if held then return 'A:' .. held end
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
if meta[3] == '1' or now < tonumber(meta[1]) or now >= tonumber(meta[2]) then return 'N' end
local left = -1
if meta[4] ~= '1' then
  left = tonumber(redis.call('GET', KEYS[3]) or '0')
  if left <= 0 then return 'S' end
  left = redis.call('DECR', KEYS[3])
end
redis.call('HSET', KEYS[2], ARGV[1], ARGV[2] .. ':' .. now)
return 'C:' .. left .. ':' .. now
"#;

/// Loads an event unless it is loaded. KEYS: meta, claimed, stock. ARGV:
/// opens ms, closes ms, closed, unlimited, quantity, expire-at ms. The claims
/// stored in Postgres were put into `claimed` before, so stock is what is left.
const RESTORE: &str = r#"
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
if ARGV[4] ~= '1' then
  local left = tonumber(ARGV[5]) - redis.call('HLEN', KEYS[2])
  if left < 0 then left = 0 end
  redis.call('SET', KEYS[3], left)
end
redis.call('HSET', KEYS[1], 'opens', ARGV[1], 'closes', ARGV[2], 'closed', ARGV[3], 'unlimited', ARGV[4])
for _, key in ipairs(KEYS) do redis.call('PEXPIREAT', key, ARGV[6]) end
return 1
"#;

/// Marks a loaded event closed. KEYS: meta.
const CLOSE: &str = r#"
if redis.call('EXISTS', KEYS[1]) == 1 then redis.call('HSET', KEYS[1], 'closed', '1') end
return 0
"#;

/// How long an event's keys outlive its window (reads of who claimed stay cheap
/// for a while; afterwards Postgres answers).
const KEEP_AFTER_CLOSE_MS: i64 = 7 * 24 * 3600 * 1000;

/// What the claim script decided.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Decision {
    /// The event's keys are not in Redis; restore and ask again.
    NotLoaded,
    Claimed {
        /// Left after this claim; `None` when unlimited.
        remaining: Option<i64>,
        issued_at: DateTime<Utc>,
    },
    AlreadyClaimed {
        user_coupon_id: Uuid,
        issued_at: DateTime<Utc>,
    },
    NotOpen,
    SoldOut,
}

/// A claim recorded in Redis.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Claim {
    pub(crate) user_id: String,
    pub(crate) user_coupon_id: Uuid,
    pub(crate) issued_at: DateTime<Utc>,
}

/// What `restore` needs of an event.
#[derive(Debug, Clone)]
pub(crate) struct Window {
    pub(crate) opens_at: DateTime<Utc>,
    pub(crate) closes_at: DateTime<Utc>,
    pub(crate) closed: bool,
    /// `None` when unlimited.
    pub(crate) quantity: Option<i32>,
}

/// Issuance state in Redis.
#[derive(Debug, Clone)]
pub(crate) struct Stock {
    redis: RedisPool,
    prefix: String,
}

impl Stock {
    pub(crate) fn new(redis: RedisPool, prefix: impl Into<String>) -> Self {
        Self {
            redis,
            prefix: prefix.into(),
        }
    }

    fn keys(&self, event_id: Uuid) -> Vec<String> {
        let base = format!("{}:event:{{{event_id}}}", self.prefix);
        vec![
            format!("{base}:meta"),
            format!("{base}:claimed"),
            format!("{base}:stock"),
        ]
    }

    /// Runs the claim script for `user_id`, offering `user_coupon_id`.
    pub(crate) async fn claim(
        &self,
        event_id: Uuid,
        user_id: &str,
        user_coupon_id: Uuid,
    ) -> Result<Decision> {
        let answer: String = self
            .redis
            .next()
            .eval(
                CLAIM_SCRIPT,
                self.keys(event_id),
                vec![user_id.to_owned(), user_coupon_id.to_string()],
            )
            .await?;
        parse_decision(&answer)
            .ok_or_else(|| Error::Precondition(format!("unexpected claim script answer {answer}")))
    }

    /// Whether the event's keys are loaded.
    pub(crate) async fn is_loaded(&self, event_id: Uuid) -> Result<bool> {
        let exists: i64 = self.redis.exists(self.keys(event_id)[0].clone()).await?;
        Ok(exists == 1)
    }

    /// Loads an event from its stored claims, unless another replica already
    /// did. Safe to race: the claims are set with HSETNX and the script only
    /// runs where the meta key is still missing.
    pub(crate) async fn restore(
        &self,
        event_id: Uuid,
        window: &Window,
        stored: &[Claim],
    ) -> Result<()> {
        let keys = self.keys(event_id);
        for chunk in stored.chunks(1000) {
            let pipeline = self.redis.next().pipeline();
            for claim in chunk {
                let _: () = pipeline
                    .hsetnx(&keys[1], &claim.user_id, claim_value(claim))
                    .await?;
            }
            let _: Vec<i64> = pipeline.all().await?;
        }
        let expire_at = window.closes_at.timestamp_millis() + KEEP_AFTER_CLOSE_MS;
        let _: i64 = self
            .redis
            .next()
            .eval(
                RESTORE,
                keys,
                vec![
                    window.opens_at.timestamp_millis().to_string(),
                    window.closes_at.timestamp_millis().to_string(),
                    flag(window.closed),
                    flag(window.quantity.is_none()),
                    window.quantity.unwrap_or(0).to_string(),
                    expire_at.to_string(),
                ],
            )
            .await?;
        Ok(())
    }

    /// Stops claims of a loaded event.
    pub(crate) async fn close(&self, event_id: Uuid) -> Result<()> {
        let mut keys = self.keys(event_id);
        keys.truncate(1);
        let _: i64 = self
            .redis
            .next()
            .eval(CLOSE, keys, Vec::<String>::new())
            .await?;
        Ok(())
    }

    /// Coupons the event has left: `None` when it is unlimited or not loaded.
    pub(crate) async fn remaining(&self, event_id: Uuid) -> Result<Option<i64>> {
        let left: Option<i64> = self.redis.get(self.keys(event_id)[2].clone()).await?;
        Ok(left)
    }

    /// How many claims Redis holds for the event.
    pub(crate) async fn claimed_count(&self, event_id: Uuid) -> Result<i64> {
        Ok(self.redis.hlen(self.keys(event_id)[1].clone()).await?)
    }

    /// Every claim Redis holds for the event, read in slices (HSCAN) so a
    /// million claims do not block Redis.
    pub(crate) async fn claims(&self, event_id: Uuid) -> Result<Vec<Claim>> {
        let key = self.keys(event_id)[1].clone();
        let mut cursor = "0".to_owned();
        let mut claims = Vec::new();
        loop {
            let (next, page): (String, Vec<String>) = self
                .redis
                .next()
                .custom(
                    fred::cmd!("HSCAN"),
                    vec![key.clone(), cursor, "COUNT".into(), "1000".into()],
                )
                .await?;
            for pair in page.chunks(2) {
                if let [user_id, value] = pair
                    && let Some((user_coupon_id, issued_at)) = parse_claim_value(value)
                {
                    claims.push(Claim {
                        user_id: user_id.clone(),
                        user_coupon_id,
                        issued_at,
                    });
                }
            }
            if next == "0" {
                return Ok(claims);
            }
            cursor = next;
        }
    }
}

fn flag(on: bool) -> String {
    if on { "1" } else { "0" }.to_owned()
}

fn claim_value(claim: &Claim) -> String {
    format!(
        "{}:{}",
        claim.user_coupon_id,
        claim.issued_at.timestamp_millis()
    )
}

fn millis(text: &str) -> Option<DateTime<Utc>> {
    DateTime::from_timestamp_millis(text.parse().ok()?)
}

/// `<user coupon id>:<issued ms>`, as the claimed hash stores it.
fn parse_claim_value(value: &str) -> Option<(Uuid, DateTime<Utc>)> {
    let (id, at) = value.split_once(':')?;
    Some((Uuid::parse_str(id).ok()?, millis(at)?))
}

fn parse_decision(answer: &str) -> Option<Decision> {
    Some(match answer {
        "M" => Decision::NotLoaded,
        "N" => Decision::NotOpen,
        "S" => Decision::SoldOut,
        _ => {
            let (kind, rest) = answer.split_once(':')?;
            match kind {
                "A" => {
                    let (user_coupon_id, issued_at) = parse_claim_value(rest)?;
                    Decision::AlreadyClaimed {
                        user_coupon_id,
                        issued_at,
                    }
                }
                "C" => {
                    let (left, at) = rest.split_once(':')?;
                    let left: i64 = left.parse().ok()?;
                    Decision::Claimed {
                        remaining: (left >= 0).then_some(left),
                        issued_at: millis(at)?,
                    }
                }
                _ => return None,
            }
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn script_answers_parse() {
        let id = Uuid::now_v7();
        assert_eq!(parse_decision("M"), Some(Decision::NotLoaded));
        assert_eq!(parse_decision("N"), Some(Decision::NotOpen));
        assert_eq!(parse_decision("S"), Some(Decision::SoldOut));
        assert_eq!(
            parse_decision("C:41:1700000000123"),
            Some(Decision::Claimed {
                remaining: Some(41),
                issued_at: DateTime::from_timestamp_millis(1_700_000_000_123).expect("ms"),
            })
        );
        assert!(matches!(
            parse_decision("C:-1:1700000000123"),
            Some(Decision::Claimed {
                remaining: None,
                ..
            })
        ));
        assert_eq!(
            parse_decision(&format!("A:{id}:1700000000000")),
            Some(Decision::AlreadyClaimed {
                user_coupon_id: id,
                issued_at: DateTime::from_timestamp_millis(1_700_000_000_000).expect("ms"),
            })
        );
        assert_eq!(parse_decision("A:nonsense"), None);
        assert_eq!(parse_decision("X"), None);
    }
}
