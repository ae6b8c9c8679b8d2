//! The Redis side of a waiting room: one line per event, decided by Lua
//! scripts so that entering, admitting, leaving and spending a token are
//! each atomic however many replicas and users race.
//!
//! Keys of one event share its id as a hash tag (`{<event>}`), so a Redis
//! Cluster keeps them in one slot:
//! - `cfg` (hash): `active`, `rate`, `ttl`, `max`; the ticker's `credit` and
//!   `last` (ms); `admitted_total`.
//! - `seq` (string): the entry counter; a ticket's place is its number.
//! - `wait` (sorted set): waiting users scored by their number, so a
//!   position is a rank and only ever falls (nobody enters ahead).
//! - `tickets` (hash): user → `<ticket id>:<number>:<entered ms>`.
//! - `states` (hash): user → `A:<expires ms>` (admitted), `S:<expires ms>`
//!   (admitted, token spent), `E` (expired), `L` (left); absent while waiting.
//! - `live` (sorted set): admitted users whose token is neither spent nor
//!   expired, scored by expiry: what `max_admitted` caps.
//!
//! Time comes from Redis (`TIME`), one clock for every replica.

use chrono::{DateTime, Utc};
use fred::prelude::*;
use staymesh_platform::redis::RedisPool;
use staymesh_platform::rpc::{Error, Result};
use uuid::Uuid;

/// Helpers every script starts with.
const PRELUDE: &str = r#"
local function now_ms()
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end
-- A user's ticket: its value (or ''), its state (or '') and its rank in
-- line, 1-based (0 when not waiting).
local function ticket(k_tickets, k_states, k_wait, user)
  local held = redis.call('HGET', k_tickets, user)
  if not held then return {'', '', '0'} end
  local st = redis.call('HGET', k_states, user) or ''
  local rank = '0'
  if st == '' then
    local r = redis.call('ZRANK', k_wait, user)
    if r then rank = tostring(r + 1) end
  end
  return {held, st, rank}
end
local function queue_head(k_cfg, k_wait, now)
  local cfg = redis.call('HMGET', k_cfg, 'active', 'rate')
  return {cfg[1] or '0', tostring(redis.call('ZCARD', k_wait)), tostring(now), cfg[2] or '0'}
end
"#;

/// Puts a user in line unless they hold a ticket that still counts (waiting,
/// or admitted with a live token). KEYS: cfg, seq, wait, tickets, states,
/// live. ARGV: user, a fresh ticket id. Returns `{'X'}` when the queue is not
/// active, else the head and the user's ticket (as `POSITIONS` does).
const ENTER: &str = r#"
local now = now_ms()
if redis.call('HGET', KEYS[1], 'active') ~= '1' then return {'X'} end
local user = ARGV[1]
local t = ticket(KEYS[4], KEYS[5], KEYS[3], user)
local keep = false
if t[1] ~= '' then
  if t[2] == '' and t[3] ~= '0' then keep = true end
  if string.sub(t[2], 1, 2) == 'A:' and tonumber(string.sub(t[2], 3)) > now then keep = true end
end
if not keep then
  local seq = redis.call('INCR', KEYS[2])
  redis.call('HSET', KEYS[4], user, ARGV[2] .. ':' .. seq .. ':' .. now)
  redis.call('HDEL', KEYS[5], user)
  -- An old admission that ran out but was not swept yet must not expire
  -- the new ticket when the sweep comes.
  redis.call('ZREM', KEYS[6], user)
  redis.call('ZADD', KEYS[3], seq, user)
  t = ticket(KEYS[4], KEYS[5], KEYS[3], user)
end
local out = queue_head(KEYS[1], KEYS[3], now)
for _, v in ipairs(t) do table.insert(out, v) end
return out
"#;

/// Reads tickets. KEYS: cfg, wait, tickets, states. ARGV: users. Returns the
/// head (active, waiting, now ms, rate) and three strings per user.
const POSITIONS: &str = r#"
local now = now_ms()
local out = queue_head(KEYS[1], KEYS[2], now)
for _, user in ipairs(ARGV) do
  for _, v in ipairs(ticket(KEYS[3], KEYS[4], KEYS[2], user)) do table.insert(out, v) end
end
return out
"#;

/// Expires tokens that ran out, then admits the next users in line: by the
/// rate since the last tick (ARGV[1] = '0'), or ARGV[1] users at once (an
/// operator's Admit); never more than `max` live tokens. The rate is kept by
/// Redis time and a stored credit, so however many replicas tick, users are
/// admitted at the configured rate. KEYS: cfg, wait, states, live.
/// Returns how many were admitted.
const ADMIT: &str = r#"
local now = now_ms()
local gone = redis.call('ZRANGEBYSCORE', KEYS[4], '-inf', now)
for _, user in ipairs(gone) do redis.call('HSET', KEYS[3], user, 'E') end
if #gone > 0 then redis.call('ZREMRANGEBYSCORE', KEYS[4], '-inf', now) end
local cfg = redis.call('HMGET', KEYS[1], 'active', 'rate', 'ttl', 'max', 'credit', 'last')
if cfg[1] ~= '1' then
  redis.call('HSET', KEYS[1], 'credit', 0, 'last', now)
  return 0
end
local rate, ttl, max = tonumber(cfg[2]), tonumber(cfg[3]), tonumber(cfg[4])
local credit, last = tonumber(cfg[5] or '0'), tonumber(cfg[6] or tostring(now))
local forced = tonumber(ARGV[1])
local n
if forced > 0 then
  n = forced
else
  -- At most a second's worth saved up: a queue that was idle does not
  -- let a crowd in at once.
  credit = math.min(credit + rate * math.max(now - last, 0) / 1000, rate)
  n = math.floor(credit)
end
if max > 0 then n = math.min(n, max - redis.call('ZCARD', KEYS[4])) end
local admitted = 0
if n > 0 then
  local popped = redis.call('ZPOPMIN', KEYS[2], n)
  local expires = now + ttl * 1000
  for i = 1, #popped, 2 do
    redis.call('HSET', KEYS[3], popped[i], 'A:' .. expires)
    redis.call('ZADD', KEYS[4], expires, popped[i])
    admitted = admitted + 1
  end
  if admitted > 0 then redis.call('HINCRBY', KEYS[1], 'admitted_total', admitted) end
end
if forced == 0 then
  if admitted < n then credit = credit - math.floor(credit) else credit = credit - admitted end
end
redis.call('HSET', KEYS[1], 'credit', tostring(credit), 'last', now)
return admitted
"#;

/// Checks (and with ARGV[4] = '1' spends) an admission. KEYS: tickets,
/// states, live. ARGV: user, ticket id, expires ms, consume. Returns 'OK' or
/// why not.
const VERIFY: &str = r#"
local now = now_ms()
local user = ARGV[1]
local held = redis.call('HGET', KEYS[1], user)
if not held or string.sub(held, 1, #ARGV[2] + 1) ~= ARGV[2] .. ':' then return 'not admitted' end
local st = redis.call('HGET', KEYS[2], user) or ''
if st == 'S:' .. ARGV[3] then return 'already used' end
if st == 'L' then return 'left the queue' end
if st == 'E' then return 'expired' end
if st ~= 'A:' .. ARGV[3] then return 'not admitted' end
if tonumber(ARGV[3]) <= now then return 'expired' end
if ARGV[4] == '1' then
  redis.call('HSET', KEYS[2], user, 'S:' .. ARGV[3])
  redis.call('ZREM', KEYS[3], user)
end
return 'OK'
"#;

/// Takes a user out of line (or gives up their admission). KEYS: tickets,
/// states, wait, live. ARGV: user, ticket id. Returns 0 when the user holds
/// no such ticket.
const LEAVE: &str = r#"
local held = redis.call('HGET', KEYS[1], ARGV[1])
if not held or string.sub(held, 1, #ARGV[2] + 1) ~= ARGV[2] .. ':' then return 0 end
local st = redis.call('HGET', KEYS[2], ARGV[1]) or ''
if string.sub(st, 1, 2) ~= 'S:' then
  redis.call('ZREM', KEYS[3], ARGV[1])
  redis.call('ZREM', KEYS[4], ARGV[1])
  redis.call('HSET', KEYS[2], ARGV[1], 'L')
end
return 1
"#;

/// Waiting users, live tokens (not expired by Redis's clock: the ticker
/// sweeps expired ones only every tick) and everyone admitted so far.
/// KEYS: cfg, wait, live.
const COUNTS: &str = r#"
local now = now_ms()
return {
  redis.call('ZCARD', KEYS[2]),
  redis.call('ZCOUNT', KEYS[3], '(' .. now, '+inf'),
  tonumber(redis.call('HGET', KEYS[1], 'admitted_total') or '0')
}
"#;

/// Holds the ticker's lease of one queue for ARGV[2] ms if it is free or
/// already ARGV[1]'s. KEYS: lease. Returns 1 when held.
const LEASE: &str = r#"
local holder = redis.call('GET', KEYS[1])
if holder == ARGV[1] then redis.call('PEXPIRE', KEYS[1], ARGV[2]) return 1 end
if not holder then redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2]) return 1 end
return 0
"#;

/// How a queue admits (the Redis copy of its row).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Settings {
    pub(crate) active: bool,
    pub(crate) admit_per_second: i32,
    pub(crate) admission_ttl_seconds: i32,
    pub(crate) max_admitted: i32,
}

/// Where one ticket is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Place {
    /// In line, 1-based.
    Waiting(i64),
    /// Let in until `expires`; `spent` once a guarded call used the token.
    Admitted {
        expires: DateTime<Utc>,
        spent: bool,
    },
    Expired,
    Left,
}

/// A user's ticket as Redis holds it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Ticket {
    pub(crate) ticket_id: Uuid,
    pub(crate) user_id: String,
    pub(crate) entered_at: DateTime<Utc>,
    pub(crate) place: Place,
}

/// The queue around a ticket when it was read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Head {
    pub(crate) active: bool,
    pub(crate) waiting: i64,
    pub(crate) now: DateTime<Utc>,
    pub(crate) admit_per_second: i64,
}

/// Live counts of a queue.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Counts {
    pub(crate) waiting: i64,
    pub(crate) admitted: i64,
    pub(crate) admitted_total: i64,
}

/// The waiting rooms in Redis.
#[derive(Debug, Clone)]
pub(crate) struct Lines {
    redis: RedisPool,
    prefix: String,
}

struct Keys {
    cfg: String,
    seq: String,
    wait: String,
    tickets: String,
    states: String,
    live: String,
    lease: String,
}

impl Lines {
    pub(crate) fn new(redis: RedisPool, prefix: impl Into<String>) -> Self {
        Self {
            redis,
            prefix: prefix.into(),
        }
    }

    fn keys(&self, event: Uuid) -> Keys {
        let base = format!("{}:queue:{{{event}}}", self.prefix);
        Keys {
            cfg: format!("{base}:cfg"),
            seq: format!("{base}:seq"),
            wait: format!("{base}:wait"),
            tickets: format!("{base}:tickets"),
            states: format!("{base}:states"),
            live: format!("{base}:live"),
            lease: format!("{base}:lease"),
        }
    }

    async fn eval<R: FromValue>(
        &self,
        script: &str,
        keys: Vec<String>,
        args: Vec<String>,
    ) -> Result<R> {
        let body = format!("{PRELUDE}{script}");
        Ok(self.redis.next().eval(body, keys, args).await?)
    }

    /// Writes a queue's settings (leaving its counters alone).
    pub(crate) async fn configure(&self, event: Uuid, s: Settings) -> Result<()> {
        let k = self.keys(event);
        let _: () = self
            .redis
            .next()
            .hset(
                k.cfg,
                [
                    ("active", if s.active { "1" } else { "0" }.to_owned()),
                    ("rate", s.admit_per_second.to_string()),
                    ("ttl", s.admission_ttl_seconds.to_string()),
                    ("max", s.max_admitted.to_string()),
                ],
            )
            .await?;
        Ok(())
    }

    /// Enters `user` (keeping a ticket that still counts). `None` when the
    /// queue is not active.
    pub(crate) async fn enter(&self, event: Uuid, user: &str) -> Result<Option<(Head, Ticket)>> {
        let k = self.keys(event);
        let answer: Vec<String> = self
            .eval(
                ENTER,
                vec![k.cfg, k.seq, k.wait, k.tickets, k.states, k.live],
                vec![user.to_owned(), Uuid::now_v7().to_string()],
            )
            .await?;
        if answer.first().map(String::as_str) == Some("X") {
            return Ok(None);
        }
        let (head, mut tickets) = parse_positions(&answer, &[user])?;
        let ticket = tickets
            .pop()
            .flatten()
            .ok_or_else(|| unexpected("enter", &answer))?;
        Ok(Some((head, ticket)))
    }

    /// The tickets of `users` (`None` for one without a ticket).
    pub(crate) async fn positions(
        &self,
        event: Uuid,
        users: &[&str],
    ) -> Result<(Head, Vec<Option<Ticket>>)> {
        let k = self.keys(event);
        let answer: Vec<String> = self
            .eval(
                POSITIONS,
                vec![k.cfg, k.wait, k.tickets, k.states],
                users.iter().map(|u| (*u).to_owned()).collect(),
            )
            .await?;
        parse_positions(&answer, users)
    }

    /// Expires and admits (see `ADMIT`); `forced` users at once when above 0.
    pub(crate) async fn admit(&self, event: Uuid, forced: i32) -> Result<i64> {
        let k = self.keys(event);
        self.eval(
            ADMIT,
            vec![k.cfg, k.wait, k.states, k.live],
            vec![forced.to_string()],
        )
        .await
    }

    /// 'OK' or why the token of `ticket` (expiring at `expires_ms`) does not
    /// admit `user`; spends it when `consume`.
    pub(crate) async fn verify(
        &self,
        event: Uuid,
        user: &str,
        ticket: Uuid,
        expires_ms: i64,
        consume: bool,
    ) -> Result<String> {
        let k = self.keys(event);
        self.eval(
            VERIFY,
            vec![k.tickets, k.states, k.live],
            vec![
                user.to_owned(),
                ticket.to_string(),
                expires_ms.to_string(),
                if consume { "1" } else { "0" }.to_owned(),
            ],
        )
        .await
    }

    /// Takes `user` out; false when they hold no such ticket.
    pub(crate) async fn leave(&self, event: Uuid, user: &str, ticket: Uuid) -> Result<bool> {
        let k = self.keys(event);
        let left: i64 = self
            .eval(
                LEAVE,
                vec![k.tickets, k.states, k.wait, k.live],
                vec![user.to_owned(), ticket.to_string()],
            )
            .await?;
        Ok(left == 1)
    }

    /// Holds (or renews) this replica's lease on ticking the queue.
    pub(crate) async fn lease(&self, event: Uuid, holder: &str, ms: u64) -> Result<bool> {
        let k = self.keys(event);
        let held: i64 = self
            .eval(
                LEASE,
                vec![k.lease],
                vec![holder.to_owned(), ms.to_string()],
            )
            .await?;
        Ok(held == 1)
    }

    /// Waiting users, live tokens and everyone admitted so far.
    pub(crate) async fn counts(&self, event: Uuid) -> Result<Counts> {
        let k = self.keys(event);
        let (waiting, admitted, admitted_total): (i64, i64, i64) = self
            .eval(COUNTS, vec![k.cfg, k.wait, k.live], Vec::new())
            .await?;
        Ok(Counts {
            waiting,
            admitted,
            admitted_total,
        })
    }
}

fn unexpected(script: &str, answer: &[String]) -> Error {
    Error::Infra(staymesh_platform::Error::Config(format!(
        "unexpected answer of the {script} script: {answer:?}"
    )))
}

fn millis(text: &str) -> Option<DateTime<Utc>> {
    DateTime::from_timestamp_millis(text.parse().ok()?)
}

/// Reads the head and one `(value, state, rank)` triple per user.
fn parse_positions(answer: &[String], users: &[&str]) -> Result<(Head, Vec<Option<Ticket>>)> {
    let bad = || unexpected("positions", answer);
    let [active, waiting, now, rate, rest @ ..] = answer else {
        return Err(bad());
    };
    if rest.len() != users.len() * 3 {
        return Err(bad());
    }
    let head = Head {
        active: active == "1",
        waiting: waiting.parse().map_err(|_| bad())?,
        now: millis(now).ok_or_else(bad)?,
        admit_per_second: rate.parse().unwrap_or(0),
    };
    let tickets = rest
        .chunks(3)
        .zip(users)
        .map(|(triple, user)| parse_ticket(triple, user, &head))
        .collect::<Option<Vec<_>>>()
        .ok_or_else(bad)?;
    Ok((head, tickets))
}

/// `None` inside when the user has no ticket; outer `None` when unreadable.
fn parse_ticket(triple: &[String], user: &str, head: &Head) -> Option<Option<Ticket>> {
    let [value, state, rank] = triple else {
        return None;
    };
    if value.is_empty() {
        return Some(None);
    }
    let mut parts = value.split(':');
    let ticket_id = Uuid::parse_str(parts.next()?).ok()?;
    let _number = parts.next()?;
    let entered_at = millis(parts.next()?)?;
    let place = match state.as_str() {
        "" => match rank.parse::<i64>().ok()? {
            // Waiting in a queue that was switched off: it admits nobody.
            _ if !head.active => Place::Expired,
            0 => Place::Expired,
            position => Place::Waiting(position),
        },
        "E" => Place::Expired,
        "L" => Place::Left,
        other => {
            let (kind, at) = other.split_once(':')?;
            let expires = millis(at)?;
            match kind {
                "S" => Place::Admitted {
                    expires,
                    spent: true,
                },
                "A" if expires > head.now => Place::Admitted {
                    expires,
                    spent: false,
                },
                "A" => Place::Expired,
                _ => return None,
            }
        }
    };
    Some(Some(Ticket {
        ticket_id,
        user_id: user.to_owned(),
        entered_at,
        place,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn head(active: bool) -> Head {
        Head {
            active,
            waiting: 3,
            now: millis("2000").unwrap(),
            admit_per_second: 10,
        }
    }

    fn strings(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| (*s).to_owned()).collect()
    }

    #[test]
    fn tickets_read_as_places() {
        let id = Uuid::now_v7();
        let value = format!("{id}:7:1000");
        let read = |state: &str, rank: &str, active: bool| {
            parse_ticket(&strings(&[&value, state, rank]), "u", &head(active))
                .unwrap()
                .unwrap()
                .place
        };
        assert_eq!(read("", "3", true), Place::Waiting(3));
        assert_eq!(read("", "3", false), Place::Expired);
        assert_eq!(read("E", "0", true), Place::Expired);
        assert_eq!(read("L", "0", true), Place::Left);
        assert_eq!(read("A:1999", "0", true), Place::Expired);
        assert_eq!(
            read("A:5000", "0", true),
            Place::Admitted {
                expires: millis("5000").unwrap(),
                spent: false
            }
        );
        assert!(matches!(
            read("S:1500", "0", true),
            Place::Admitted { spent: true, .. }
        ));
        assert_eq!(
            parse_ticket(&strings(&["", "", "0"]), "u", &head(true)),
            Some(None)
        );
        assert_eq!(
            parse_ticket(&strings(&["junk", "", "1"]), "u", &head(true)),
            None
        );
    }
}
