//! The first page of each user's history, cached in Redis, never served
//! stale after a write returns.
//!
//! One hash per user holds a version `v` and the cached pages, each stored
//! as `<version>|<encoded page>`. A write bumps `v` after its transaction
//! commits and before it answers, so every later read misses the old pages.
//! A read that missed fills the cache only if `v` is still the version it
//! read before querying Postgres (a script checks and sets at once): a page
//! read before a concurrent write committed is never stored under the
//! version that write created.

use std::time::Duration;

use fred::prelude::*;
use staymesh_platform::redis::RedisPool;
use uuid::Uuid;

/// Stores a page if the version is unchanged. KEYS: the user's hash.
/// ARGV: version read, field, page, ttl ms.
const FILL: &str = r#"
local v = redis.call('HGET', KEYS[1], 'v') or '0'
if v ~= ARGV[1] then return 0 end
redis.call('HSET', KEYS[1], ARGV[2], ARGV[1] .. '|' .. ARGV[3])
redis.call('PEXPIRE', KEYS[1], ARGV[4])
return 1
"#;

/// Bumps the version. KEYS: the user's hash. ARGV: ttl ms.
const INVALIDATE: &str = r#"
redis.call('HINCRBY', KEYS[1], 'v', 1)
redis.call('PEXPIRE', KEYS[1], ARGV[1])
return 0
"#;

/// The history cache of every user.
#[derive(Debug, Clone)]
pub(crate) struct HistoryCache {
    redis: RedisPool,
    prefix: String,
    ttl: Duration,
}

/// What a lookup found: the cached page, or the version to fill under.
#[derive(Debug)]
pub(crate) enum Lookup {
    Hit(Vec<u8>),
    Miss { version: String },
}

impl HistoryCache {
    pub(crate) fn new(redis: RedisPool, prefix: String, ttl: Duration) -> Self {
        Self { redis, prefix, ttl }
    }

    fn key(&self, user: Uuid) -> String {
        format!("{}:history:{{{user}}}", self.prefix)
    }

    fn ttl_ms(&self) -> String {
        self.ttl.as_millis().to_string()
    }

    /// The cached page `field` of `user` if current.
    pub(crate) async fn get(&self, user: Uuid, field: &str) -> Result<Lookup, fred::error::Error> {
        let (version, page): (Option<String>, Option<Vec<u8>>) =
            self.redis.hmget(self.key(user), vec!["v", field]).await?;
        let version = version.unwrap_or_else(|| "0".into());
        let current = page.and_then(|page| {
            let split = page.iter().position(|b| *b == b'|')?;
            (page[..split] == *version.as_bytes()).then(|| page[split + 1..].to_vec())
        });
        Ok(match current {
            Some(page) => Lookup::Hit(page),
            None => Lookup::Miss { version },
        })
    }

    /// Stores a page read from Postgres after `get` gave `version`.
    pub(crate) async fn fill(
        &self,
        user: Uuid,
        field: &str,
        version: &str,
        page: Vec<u8>,
    ) -> Result<(), fred::error::Error> {
        let args: Vec<Value> = vec![
            version.into(),
            field.into(),
            Value::Bytes(page.into()),
            self.ttl_ms().into(),
        ];
        let _: i64 = self
            .redis
            .next()
            .eval(FILL, vec![self.key(user)], args)
            .await?;
        Ok(())
    }

    /// Makes every cached page of `user` stale; called after each write commits.
    pub(crate) async fn invalidate(&self, user: Uuid) -> Result<(), fred::error::Error> {
        let _: i64 = self
            .redis
            .next()
            .eval(INVALIDATE, vec![self.key(user)], vec![self.ttl_ms()])
            .await?;
        Ok(())
    }
}
