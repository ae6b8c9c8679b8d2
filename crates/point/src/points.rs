//! Every change to points, callable without gRPC (the saga's Kafka handlers
//! call these too): earning, adjusting, a booking's reserve / commit /
//! release, the points a stay earns, and expiry. Each is one transaction
//! under the user's account lock, and each invalidates the user's history
//! cache before it answers.

use chrono::{DateTime, Duration, Utc};
use sqlx::{PgConnection, PgPool};
use staymesh_platform::convert::timestamp;
use staymesh_platform::db::is_unique_violation;
use staymesh_platform::redis::RedisPool;
use staymesh_platform::rpc::{Error, Result};
use staymesh_proto::point as pb;
use uuid::Uuid;

use crate::cache::HistoryCache;
use crate::config::{BasisPoints, PointArgs};
use crate::ledger::{self, Account, Entry, EntryType, NewEntry};
use crate::lots::{self, Expired};

/// How long a lot lives when the request gives no expiry.
pub(crate) const DEFAULT_LIFETIME_DAYS: i64 = 365;

/// The point store: Postgres for the truth, Redis for the history cache.
#[derive(Debug, Clone)]
pub struct Points {
    pub(crate) pool: PgPool,
    pub(crate) cache: HistoryCache,
    pub(crate) earn_share: BasisPoints,
}

/// A new lot asked for by Earn, a positive Adjust or a completed stay.
#[derive(Debug, Clone)]
pub struct Grant<'a> {
    pub user_id: Uuid,
    pub kind: EntryType,
    pub amount: i64,
    pub description: &'a str,
    pub expires_at: Option<DateTime<Utc>>,
    pub booking_id: Option<Uuid>,
    /// The caller's key and a digest of the request.
    pub idempotency: Option<(&'a str, &'a str)>,
}

/// A booking's reservation.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Reservation {
    pub booking_id: Uuid,
    /// `None` for a tombstone (released before it was reserved).
    pub user_id: Option<Uuid>,
    pub amount: i64,
    pub state: String,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl Reservation {
    pub fn to_proto(&self) -> pb::PointReservation {
        let state = match self.state.as_str() {
            "RESERVED" => pb::ReservationState::Reserved,
            "COMMITTED" => pb::ReservationState::Committed,
            "RELEASED" => pb::ReservationState::Released,
            _ => pb::ReservationState::Unspecified,
        };
        pb::PointReservation {
            booking_id: self.booking_id.to_string(),
            user_id: self.user_id.map(|u| u.to_string()).unwrap_or_default(),
            amount: self.amount,
            state: state as i32,
            created_at: Some(timestamp(self.created_at)),
            updated_at: Some(timestamp(self.updated_at)),
        }
    }

    fn is_tombstone(&self) -> bool {
        self.user_id.is_none()
    }
}

async fn reservation(
    db: &mut PgConnection,
    booking_id: Uuid,
    lock: bool,
) -> Result<Option<Reservation>> {
    let sql = format!(
        "SELECT booking_id, user_id, amount, state, created_at, updated_at \
         FROM point_reservation WHERE booking_id = $1{}",
        if lock { " FOR UPDATE" } else { "" }
    );
    Ok(sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(booking_id)
        .fetch_optional(db)
        .await?)
}

async fn set_state(db: &mut PgConnection, booking_id: Uuid, state: &str) -> Result<Reservation> {
    Ok(sqlx::query_as(
        "UPDATE point_reservation SET state = $2, updated_at = now() WHERE booking_id = $1 \
         RETURNING booking_id, user_id, amount, state, created_at, updated_at",
    )
    .bind(booking_id)
    .bind(state)
    .fetch_one(db)
    .await?)
}

/// FAILED_PRECONDITION for a use the available balance does not cover.
fn short(available: i64, wanted: i64) -> Error {
    Error::Precondition(format!(
        "the available balance is {available} points, {} short of {wanted}",
        wanted - available
    ))
}

impl Points {
    /// The store over `pool` and `redis`, its cache keys under `prefix`.
    pub fn new(pool: PgPool, redis: RedisPool, prefix: String, args: &PointArgs) -> Self {
        Self {
            pool,
            cache: HistoryCache::new(redis, prefix, args.point_history_cache_ttl),
            earn_share: args.point_earn_percent,
        }
    }

    /// Bumps the user's history cache version: without it the write must not
    /// answer (a retry is idempotent and invalidates again).
    async fn invalidate(&self, user: Uuid) -> Result<()> {
        self.cache.invalidate(user).await.map_err(Error::from)
    }

    /// A new lot and its EARN or ADJUST entry; a repeat of the same key (or
    /// of the same booking's earn) returns the first entry.
    pub async fn grant(&self, grant: Grant<'_>) -> Result<Entry> {
        // A second attempt follows a lost race on the key: it finds the winner's entry.
        for _ in 0..2 {
            let mut tx = self.pool.begin().await?;
            if let Some(first) = self.earlier(&mut tx, &grant).await? {
                return Ok(first);
            }
            let mut account = ledger::lock(&mut tx, grant.user_id).await?;
            let expires_at = grant
                .expires_at
                .unwrap_or_else(|| Utc::now() + Duration::days(DEFAULT_LIFETIME_DAYS));
            let new = NewEntry {
                kind: grant.kind,
                amount: grant.amount,
                booking_id: grant.booking_id,
                description: grant.description,
                expires_at: Some(expires_at),
                idempotency: grant.idempotency,
            };
            let entry = match account.append(&mut tx, new).await {
                Err(Error::Infra(staymesh_platform::Error::Postgres(e)))
                    if is_unique_violation(&e) =>
                {
                    continue;
                }
                other => other?,
            };
            lots::create(&mut tx, &entry, expires_at).await?;
            tx.commit().await?;
            self.invalidate(grant.user_id).await?;
            return Ok(entry);
        }
        Err(Error::Precondition(
            "the request raced with itself; try again".into(),
        ))
    }

    /// The entry an earlier request with the same key or booking made.
    async fn earlier(&self, db: &mut PgConnection, grant: &Grant<'_>) -> Result<Option<Entry>> {
        if let Some((key, digest)) = grant.idempotency {
            let Some(first) = ledger::by_key(db, key).await? else {
                return Ok(None);
            };
            if first.request_digest.as_deref() != Some(digest) {
                return Err(Error::AlreadyExists(
                    "idempotency_key was already used for a different request".into(),
                ));
            }
            return Ok(Some(first));
        }
        match grant.booking_id {
            Some(booking) => ledger::of_booking(db, booking, EntryType::Earn).await,
            None => Ok(None),
        }
    }

    /// A negative adjustment: takes `amount` (> 0) of available points,
    /// soonest expiry first, never below zero.
    pub async fn deduct(
        &self,
        user_id: Uuid,
        amount: i64,
        description: &str,
        idempotency: (&str, &str),
    ) -> Result<Entry> {
        let grant = Grant {
            user_id,
            kind: EntryType::Adjust,
            amount: -amount,
            description,
            expires_at: None,
            booking_id: None,
            idempotency: Some(idempotency),
        };
        for _ in 0..2 {
            let mut tx = self.pool.begin().await?;
            if let Some(first) = self.earlier(&mut tx, &grant).await? {
                return Ok(first);
            }
            let mut account = ledger::lock(&mut tx, user_id).await?;
            let now = Utc::now();
            lots::expire_due(&mut tx, &mut account, now, None).await?;
            if amount > account.available() {
                return Err(short(account.available(), amount));
            }
            let parts = lots::consume(&mut tx, user_id, amount, now).await?;
            let mut new = NewEntry::new(EntryType::Adjust, -amount, description);
            new.idempotency = Some(idempotency);
            let entry = match account.append(&mut tx, new).await {
                Err(Error::Infra(staymesh_platform::Error::Postgres(e)))
                    if is_unique_violation(&e) =>
                {
                    continue;
                }
                other => other?,
            };
            lots::record(&mut tx, &entry, &parts).await?;
            tx.commit().await?;
            self.invalidate(user_id).await?;
            return Ok(entry);
        }
        Err(Error::Precondition(
            "the request raced with itself; try again".into(),
        ))
    }

    /// Sets `amount` points aside for a booking. A repeat returns the
    /// reservation; a reservation after the booking's release is refused.
    pub async fn reserve(
        &self,
        booking_id: Uuid,
        user_id: Uuid,
        amount: i64,
    ) -> Result<Reservation> {
        // A second attempt follows a release that left its tombstone meanwhile.
        for _ in 0..2 {
            let mut tx = self.pool.begin().await?;
            let mut account = ledger::lock(&mut tx, user_id).await?;
            if let Some(existing) = reservation(&mut tx, booking_id, true).await? {
                return repeat_of_reserve(existing, user_id, amount);
            }
            let now = Utc::now();
            let expired = lots::expire_due(&mut tx, &mut account, now, None).await?;
            if amount > account.available() {
                tx.commit().await?;
                if expired.lots > 0 {
                    self.invalidate(user_id).await?;
                }
                return Err(short(account.available(), amount));
            }
            let inserted: Option<Reservation> = sqlx::query_as(
                "INSERT INTO point_reservation (booking_id, user_id, amount, state) \
                 VALUES ($1, $2, $3, 'RESERVED') ON CONFLICT (booking_id) DO NOTHING \
                 RETURNING booking_id, user_id, amount, state, created_at, updated_at",
            )
            .bind(booking_id)
            .bind(user_id)
            .bind(amount)
            .fetch_optional(&mut *tx)
            .await?;
            let Some(reserved) = inserted else {
                continue;
            };
            lots::hold(&mut tx, user_id, booking_id, amount, now).await?;
            account.reserved += amount;
            account.save(&mut tx).await?;
            tx.commit().await?;
            if expired.lots > 0 {
                self.invalidate(user_id).await?;
            }
            return Ok(reserved);
        }
        Err(Error::Precondition(
            "the booking's reservation raced with its release; try again".into(),
        ))
    }

    /// Locks the booking's reservation and its user's account, in the order
    /// every change takes them (account first).
    async fn lock_reservation(
        &self,
        tx: &mut PgConnection,
        booking_id: Uuid,
    ) -> Result<Option<(Account, Reservation)>> {
        let Some(found) = reservation(tx, booking_id, false).await? else {
            return Ok(None);
        };
        let Some(user_id) = found.user_id else {
            return Ok(Some((tombstone_account(), found)));
        };
        let account = ledger::lock(tx, user_id).await?;
        let locked = reservation(tx, booking_id, true).await?;
        Ok(locked.map(|r| (account, r)))
    }

    /// Spends a booking's reserved points: one USE entry. A repeat returns
    /// the committed reservation.
    pub async fn commit(&self, booking_id: Uuid) -> Result<Reservation> {
        let mut tx = self.pool.begin().await?;
        let Some((mut account, found)) = self.lock_reservation(&mut tx, booking_id).await? else {
            return Err(Error::not_found(
                "point reservation of booking",
                booking_id.to_string(),
            ));
        };
        match found.state.as_str() {
            "COMMITTED" => return Ok(found),
            "RELEASED" => {
                return Err(Error::Precondition(
                    "the booking's points were released; they can no longer be spent".into(),
                ));
            }
            _ => {}
        }
        let parts = lots::spend_holds(&mut tx, booking_id).await?;
        account.reserved -= found.amount;
        let entry = account
            .append(
                &mut tx,
                NewEntry::new(EntryType::Use, -found.amount, "Used on a booking")
                    .booking(booking_id),
            )
            .await?;
        lots::record(&mut tx, &entry, &parts).await?;
        let committed = set_state(&mut tx, booking_id, "COMMITTED").await?;
        tx.commit().await?;
        self.invalidate(account.user_id).await?;
        Ok(committed)
    }

    /// Gives a booking's points back: reserved ones are unheld, committed
    /// ones come back by a USE_CANCELLED entry to the very lots they came
    /// from (points of a lot expired meanwhile expire again at once). With
    /// no reservation yet, the answer is a tombstone (RELEASED, no user)
    /// that makes a late reserve fail.
    pub async fn release(&self, booking_id: Uuid) -> Result<Reservation> {
        let mut tx = self.pool.begin().await?;
        let Some((mut account, found)) = self.lock_reservation(&mut tx, booking_id).await? else {
            let tombstone: Option<Reservation> = sqlx::query_as(
                "INSERT INTO point_reservation (booking_id, user_id, amount, state) \
                 VALUES ($1, NULL, 0, 'RELEASED') ON CONFLICT (booking_id) DO NOTHING \
                 RETURNING booking_id, user_id, amount, state, created_at, updated_at",
            )
            .bind(booking_id)
            .fetch_optional(&mut *tx)
            .await?;
            tx.commit().await?;
            return match tombstone {
                Some(tombstone) => Ok(tombstone),
                // A reservation arrived meanwhile: release that.
                None => Box::pin(self.release(booking_id)).await,
            };
        };
        if found.is_tombstone() {
            return Ok(found);
        }
        let now = Utc::now();
        let given_back = match found.state.as_str() {
            "RELEASED" => return Ok(found),
            "RESERVED" => {
                let parts = lots::unhold(&mut tx, booking_id).await?;
                account.reserved -= found.amount;
                account.save(&mut tx).await?;
                parts
            }
            _ => {
                let Some(used) = ledger::of_booking(&mut tx, booking_id, EntryType::Use).await?
                else {
                    return Err(Error::Precondition(
                        "the booking's use of points is missing".into(),
                    ));
                };
                let parts = lots::restore(&mut tx, used.id).await?;
                let entry = account
                    .append(
                        &mut tx,
                        NewEntry::new(
                            EntryType::UseCancelled,
                            -used.amount,
                            "Given back: booking cancelled",
                        )
                        .booking(booking_id),
                    )
                    .await?;
                lots::record(&mut tx, &entry, &parts).await?;
                parts
            }
        };
        let expired =
            lots::expire_due(&mut tx, &mut account, now, Some((booking_id, &given_back))).await?;
        let released = set_state(&mut tx, booking_id, "RELEASED").await?;
        tx.commit().await?;
        // Releasing unspent points writes no entry: the history is unchanged.
        if found.state != "RESERVED" || expired.lots > 0 {
            self.invalidate(account.user_id).await?;
        }
        Ok(released)
    }

    /// The points a completed stay earns: the configured share of what was
    /// paid, once per booking; `None` when the share rounds to zero.
    pub async fn earn_for_booking(
        &self,
        booking_id: Uuid,
        user_id: Uuid,
        paid: i64,
    ) -> Result<Option<Entry>> {
        let amount = self.earn_share.of(paid);
        if amount == 0 {
            return Ok(None);
        }
        let description = format!("Earned: {amount} points for a completed stay");
        let entry = self
            .grant(Grant {
                user_id,
                kind: EntryType::Earn,
                amount,
                description: &description,
                expires_at: None,
                booking_id: Some(booking_id),
                idempotency: None,
            })
            .await?;
        Ok(Some(entry))
    }

    /// Expires the due lots of one user, if no other transaction holds the
    /// account (`None` then: someone else is at it, or will be).
    pub(crate) async fn expire_user(&self, user_id: Uuid, wait: bool) -> Result<Option<Expired>> {
        let mut tx = self.pool.begin().await?;
        let account = if wait {
            Some(ledger::lock(&mut tx, user_id).await?)
        } else {
            ledger::try_lock(&mut tx, user_id).await?
        };
        let Some(mut account) = account else {
            return Ok(None);
        };
        let expired = lots::expire_due(&mut tx, &mut account, Utc::now(), None).await?;
        tx.commit().await?;
        if expired.lots > 0 {
            self.invalidate(user_id).await?;
        }
        Ok(Some(expired))
    }
}

/// The answer to a reserve that finds the booking's reservation.
fn repeat_of_reserve(existing: Reservation, user_id: Uuid, amount: i64) -> Result<Reservation> {
    if existing.is_tombstone() {
        return Err(Error::Precondition(
            "the booking's points were released before this reservation arrived".into(),
        ));
    }
    if existing.user_id != Some(user_id) || existing.amount != amount {
        return Err(Error::Precondition(format!(
            "the booking already reserved {} points for another request",
            existing.amount
        )));
    }
    Ok(existing)
}

/// Stands in for the account of a tombstone, which has none.
fn tombstone_account() -> Account {
    Account {
        user_id: Uuid::nil(),
        balance: 0,
        reserved: 0,
        last_seq: 0,
    }
}
