//! Accounts and the ledger. Every change to a user's points happens inside a
//! transaction that first locks the user's account row ([`lock`]): that one
//! lock orders all changes to the user's balance, lots and reservations, so
//! lots need no locks of their own and `balance_after` is exact.

use chrono::{DateTime, Utc};
use sqlx::PgConnection;
use staymesh_platform::convert::timestamp;
use staymesh_platform::rpc::Result;
use staymesh_proto::point as pb;
use uuid::Uuid;

/// What a ledger entry records (the `type` column).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EntryType {
    Earn,
    Use,
    UseCancelled,
    Expire,
    Adjust,
}

impl EntryType {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Earn => "EARN",
            Self::Use => "USE",
            Self::UseCancelled => "USE_CANCELLED",
            Self::Expire => "EXPIRE",
            Self::Adjust => "ADJUST",
        }
    }

    /// The type a list filter names; `None` for unspecified (all types).
    pub fn from_proto(value: pb::EntryType) -> Option<Self> {
        match value {
            pb::EntryType::Unspecified => None,
            pb::EntryType::Earn => Some(Self::Earn),
            pb::EntryType::Use => Some(Self::Use),
            pb::EntryType::UseCancelled => Some(Self::UseCancelled),
            pb::EntryType::Expire => Some(Self::Expire),
            pb::EntryType::Adjust => Some(Self::Adjust),
        }
    }

    fn to_proto(text: &str) -> pb::EntryType {
        match text {
            "EARN" => pb::EntryType::Earn,
            "USE" => pb::EntryType::Use,
            "USE_CANCELLED" => pb::EntryType::UseCancelled,
            "EXPIRE" => pb::EntryType::Expire,
            "ADJUST" => pb::EntryType::Adjust,
            _ => pb::EntryType::Unspecified,
        }
    }
}

/// One stored ledger entry.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Entry {
    pub id: Uuid,
    pub user_id: Uuid,
    /// The user's entries are numbered 1, 2, ... in the order they happened.
    pub seq: i64,
    #[sqlx(rename = "type")]
    pub kind: String,
    pub amount: i64,
    pub balance_after: i64,
    pub booking_id: Option<Uuid>,
    pub description: String,
    pub expires_at: Option<DateTime<Utc>>,
    pub occurred_at: DateTime<Utc>,
    pub request_digest: Option<String>,
}

/// The columns of [`Entry`].
pub(crate) const ENTRY_COLUMNS: &str = "id, user_id, seq, type, amount, balance_after, booking_id, \
     description, expires_at, occurred_at, request_digest";

impl Entry {
    pub fn to_proto(&self) -> pb::LedgerEntry {
        pb::LedgerEntry {
            entry_id: self.id.to_string(),
            user_id: self.user_id.to_string(),
            r#type: EntryType::to_proto(&self.kind) as i32,
            amount: self.amount,
            balance_after: self.balance_after,
            booking_id: self.booking_id.map(|b| b.to_string()).unwrap_or_default(),
            description: self.description.clone(),
            expires_at: self.expires_at.map(timestamp),
            occurred_at: Some(timestamp(self.occurred_at)),
        }
    }
}

/// A user's account, locked for the rest of the transaction.
#[derive(Debug, Clone, sqlx::FromRow)]
pub(crate) struct Account {
    pub(crate) user_id: Uuid,
    pub(crate) balance: i64,
    pub(crate) reserved: i64,
    pub(crate) last_seq: i64,
}

impl Account {
    /// What a new use may take: the balance less what bookings set aside.
    pub(crate) fn available(&self) -> i64 {
        self.balance - self.reserved
    }
}

/// An entry about to be appended.
#[derive(Debug, Clone)]
pub(crate) struct NewEntry<'a> {
    pub(crate) kind: EntryType,
    pub(crate) amount: i64,
    pub(crate) booking_id: Option<Uuid>,
    pub(crate) description: &'a str,
    pub(crate) expires_at: Option<DateTime<Utc>>,
    /// Earn and Adjust: the caller's idempotency key and the request's digest.
    pub(crate) idempotency: Option<(&'a str, &'a str)>,
}

impl<'a> NewEntry<'a> {
    pub(crate) fn new(kind: EntryType, amount: i64, description: &'a str) -> Self {
        Self {
            kind,
            amount,
            booking_id: None,
            description,
            expires_at: None,
            idempotency: None,
        }
    }

    pub(crate) fn booking(self, booking_id: Uuid) -> Self {
        Self {
            booking_id: Some(booking_id),
            ..self
        }
    }
}

/// Locks `user`'s account, opening it (empty) on first use: one round
/// trip, since an upsert that updates locks the row as FOR UPDATE does.
pub(crate) async fn lock(db: &mut PgConnection, user: Uuid) -> Result<Account> {
    Ok(sqlx::query_as(
        "INSERT INTO point_account (user_id) VALUES ($1) \
         ON CONFLICT (user_id) DO UPDATE SET user_id = EXCLUDED.user_id \
         RETURNING user_id, balance, reserved, last_seq",
    )
    .bind(user)
    .fetch_one(&mut *db)
    .await?)
}

/// Locks `user`'s account unless another transaction holds it (the expiry
/// job skips busy users and comes back to them).
pub(crate) async fn try_lock(db: &mut PgConnection, user: Uuid) -> Result<Option<Account>> {
    Ok(sqlx::query_as(
        "SELECT user_id, balance, reserved, last_seq FROM point_account WHERE user_id = $1 \
         FOR UPDATE SKIP LOCKED",
    )
    .bind(user)
    .fetch_optional(&mut *db)
    .await?)
}

impl Account {
    /// Appends an entry and moves the balance by its amount; also stores
    /// whatever else the caller changed on the account (its reserved points).
    pub(crate) async fn append(
        &mut self,
        db: &mut PgConnection,
        new: NewEntry<'_>,
    ) -> Result<Entry> {
        let mut entries = self.append_all(db, &[new]).await?;
        Ok(entries.remove(0))
    }

    /// Appends entries in one statement (the expiry of many lots), numbered
    /// in the order given; returns them in that order.
    pub(crate) async fn append_all(
        &mut self,
        db: &mut PgConnection,
        news: &[NewEntry<'_>],
    ) -> Result<Vec<Entry>> {
        let mut ids = Vec::with_capacity(news.len());
        let mut seqs = Vec::with_capacity(news.len());
        let mut balances = Vec::with_capacity(news.len());
        for new in news {
            self.balance += new.amount;
            self.last_seq += 1;
            ids.push(Uuid::now_v7());
            seqs.push(self.last_seq);
            balances.push(self.balance);
        }
        let (keys, digests): (Vec<Option<&str>>, Vec<Option<&str>>) =
            news.iter().map(|n| n.idempotency.unzip()).unzip();
        let mut entries: Vec<Entry> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "INSERT INTO point_entry (id, user_id, seq, type, amount, balance_after, booking_id, \
               description, expires_at, idempotency_key, request_digest) \
             SELECT id, $1, seq, type, amount, balance_after, booking_id, description, expires_at, \
               idempotency_key, request_digest \
             FROM UNNEST($2::uuid[], $3::bigint[], $4::text[], $5::bigint[], $6::bigint[], $7::uuid[], \
               $8::text[], $9::timestamptz[], $10::text[], $11::text[]) \
               AS e(id, seq, type, amount, balance_after, booking_id, description, expires_at, \
                 idempotency_key, request_digest) \
             RETURNING {ENTRY_COLUMNS}"
        )))
        .bind(self.user_id)
        .bind(ids)
        .bind(seqs)
        .bind(news.iter().map(|n| n.kind.as_str()).collect::<Vec<_>>())
        .bind(news.iter().map(|n| n.amount).collect::<Vec<_>>())
        .bind(balances)
        .bind(news.iter().map(|n| n.booking_id).collect::<Vec<_>>())
        .bind(news.iter().map(|n| n.description).collect::<Vec<_>>())
        .bind(news.iter().map(|n| n.expires_at).collect::<Vec<_>>())
        .bind(keys)
        .bind(digests)
        .fetch_all(&mut *db)
        .await?;
        // RETURNING promises no order: back into the order given.
        entries.sort_by_key(|e| e.seq);
        self.save(db).await?;
        Ok(entries)
    }

    /// Stores the balance, reserved points and entry count.
    pub(crate) async fn save(&self, db: &mut PgConnection) -> Result<()> {
        sqlx::query(
            "UPDATE point_account SET balance = $2, reserved = $3, last_seq = $4, updated_at = now() \
             WHERE user_id = $1",
        )
        .bind(self.user_id)
        .bind(self.balance)
        .bind(self.reserved)
        .bind(self.last_seq)
        .execute(db)
        .await?;
        Ok(())
    }
}

/// The entry an idempotency key made, if any.
pub(crate) async fn by_key(db: &mut PgConnection, key: &str) -> Result<Option<Entry>> {
    Ok(sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT {ENTRY_COLUMNS} FROM point_entry WHERE idempotency_key = $1"
    )))
    .bind(key)
    .fetch_optional(db)
    .await?)
}

/// The booking's entry of `kind` (its EARN, USE or USE_CANCELLED), if any.
pub(crate) async fn of_booking(
    db: &mut PgConnection,
    booking_id: Uuid,
    kind: EntryType,
) -> Result<Option<Entry>> {
    Ok(sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT {ENTRY_COLUMNS} FROM point_entry WHERE booking_id = $1 AND type = $2"
    )))
    .bind(booking_id)
    .bind(kind.as_str())
    .fetch_optional(db)
    .await?)
}
