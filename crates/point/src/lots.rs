//! Lots: each EARN or positive ADJUST makes one, with its own expiry. Uses
//! take from lots soonest expiry first; reservations hold parts of lots
//! (held points never expire: the booking may still pay for them); the
//! expiry of a lot is one EXPIRE entry. Every function here runs under the
//! user's account lock (see `ledger`).

use chrono::{DateTime, Utc};
use sqlx::PgConnection;
use staymesh_platform::rpc::Result;
use uuid::Uuid;

use crate::ledger::{Account, Entry, EntryType, NewEntry};

/// Points taken from or given back to one lot.
#[derive(Debug, Clone, Copy, PartialEq, Eq, sqlx::FromRow)]
pub(crate) struct Part {
    pub(crate) lot_id: Uuid,
    pub(crate) amount: i64,
}

/// The new lot of an EARN or positive ADJUST entry.
pub(crate) async fn create(
    db: &mut PgConnection,
    entry: &Entry,
    expires_at: DateTime<Utc>,
) -> Result<()> {
    sqlx::query(
        "INSERT INTO point_lot (id, user_id, entry_id, amount, remaining, expires_at) \
         VALUES ($1, $2, $3, $4, $4, $5)",
    )
    .bind(Uuid::now_v7())
    .bind(entry.user_id)
    .bind(entry.id)
    .bind(entry.amount)
    .bind(expires_at)
    .execute(db)
    .await?;
    Ok(())
}

/// Which unheld, unexpired points make up `amount`, soonest expiry first.
/// The caller has checked that the available balance covers it.
async fn plan(
    db: &mut PgConnection,
    user: Uuid,
    amount: i64,
    now: DateTime<Utc>,
) -> Result<Vec<Part>> {
    Ok(sqlx::query_as(
        "WITH usable AS ( \
           SELECT id, remaining - held AS free, \
                  sum(remaining - held) OVER (ORDER BY expires_at, id) AS running \
           FROM point_lot WHERE user_id = $1 AND remaining > held AND expires_at > $3) \
         SELECT id AS lot_id, least(free, $2 - (running - free))::bigint AS amount \
         FROM usable WHERE running - free < $2 ORDER BY running",
    )
    .bind(user)
    .bind(amount)
    .bind(now)
    .fetch_all(db)
    .await?)
}

/// Adds `sign * part.amount` to the lots' `column` (remaining or held).
async fn shift(db: &mut PgConnection, parts: &[Part], set: &str) -> Result<()> {
    let (ids, amounts): (Vec<Uuid>, Vec<i64>) = parts.iter().map(|p| (p.lot_id, p.amount)).unzip();
    sqlx::query(sqlx::AssertSqlSafe(format!(
        "UPDATE point_lot l SET {set} FROM UNNEST($1::uuid[], $2::bigint[]) AS p(id, amount) \
         WHERE l.id = p.id"
    )))
    .bind(ids)
    .bind(amounts)
    .execute(db)
    .await?;
    Ok(())
}

/// Sets `amount` aside for a booking from the user's lots.
pub(crate) async fn hold(
    db: &mut PgConnection,
    user: Uuid,
    booking_id: Uuid,
    amount: i64,
    now: DateTime<Utc>,
) -> Result<()> {
    let parts = plan(db, user, amount, now).await?;
    shift(db, &parts, "held = l.held + p.amount").await?;
    let (ids, amounts): (Vec<Uuid>, Vec<i64>) = parts.iter().map(|p| (p.lot_id, p.amount)).unzip();
    sqlx::query(
        "INSERT INTO point_hold (booking_id, lot_id, amount) \
         SELECT $1, id, amount FROM UNNEST($2::uuid[], $3::bigint[]) AS p(id, amount)",
    )
    .bind(booking_id)
    .bind(ids)
    .bind(amounts)
    .execute(db)
    .await?;
    Ok(())
}

/// The parts a booking holds.
async fn holds(db: &mut PgConnection, booking_id: Uuid) -> Result<Vec<Part>> {
    Ok(
        sqlx::query_as("SELECT lot_id, amount FROM point_hold WHERE booking_id = $1")
            .bind(booking_id)
            .fetch_all(db)
            .await?,
    )
}

/// Spends what a booking holds: returns the parts taken.
pub(crate) async fn spend_holds(db: &mut PgConnection, booking_id: Uuid) -> Result<Vec<Part>> {
    let parts = holds(db, booking_id).await?;
    shift(
        db,
        &parts,
        "remaining = l.remaining - p.amount, held = l.held - p.amount",
    )
    .await?;
    Ok(parts)
}

/// Gives back what a booking holds, unspent: returns the lots it held.
pub(crate) async fn unhold(db: &mut PgConnection, booking_id: Uuid) -> Result<Vec<Part>> {
    let parts = holds(db, booking_id).await?;
    shift(db, &parts, "held = l.held - p.amount").await?;
    Ok(parts)
}

/// Takes `amount` of unheld points (a negative adjustment).
pub(crate) async fn consume(
    db: &mut PgConnection,
    user: Uuid,
    amount: i64,
    now: DateTime<Utc>,
) -> Result<Vec<Part>> {
    let parts = plan(db, user, amount, now).await?;
    shift(db, &parts, "remaining = l.remaining - p.amount").await?;
    Ok(parts)
}

/// Puts back what an entry took (a cancelled use): returns the parts.
pub(crate) async fn restore(db: &mut PgConnection, taken_by: Uuid) -> Result<Vec<Part>> {
    let parts: Vec<Part> =
        sqlx::query_as("SELECT lot_id, -amount AS amount FROM point_entry_lot WHERE entry_id = $1")
            .bind(taken_by)
            .fetch_all(&mut *db)
            .await?;
    shift(db, &parts, "remaining = l.remaining + p.amount").await?;
    Ok(parts)
}

/// Records which lots `entry` changed, signed like the entry.
pub(crate) async fn record(db: &mut PgConnection, entry: &Entry, parts: &[Part]) -> Result<()> {
    let changes: Vec<(&Entry, Part)> = parts.iter().map(|p| (entry, *p)).collect();
    record_all(db, &changes).await
}

/// Records the lot each entry changed, signed like its entry.
async fn record_all(db: &mut PgConnection, changes: &[(&Entry, Part)]) -> Result<()> {
    let (entry_ids, lots): (Vec<Uuid>, Vec<(Uuid, i64)>) = changes
        .iter()
        .map(|(entry, p)| (entry.id, (p.lot_id, entry.amount.signum() * p.amount)))
        .unzip();
    let (lot_ids, amounts): (Vec<Uuid>, Vec<i64>) = lots.into_iter().unzip();
    sqlx::query(
        "INSERT INTO point_entry_lot (entry_id, lot_id, amount) \
         SELECT * FROM UNNEST($1::uuid[], $2::uuid[], $3::bigint[])",
    )
    .bind(entry_ids)
    .bind(lot_ids)
    .bind(amounts)
    .execute(db)
    .await?;
    Ok(())
}

/// What an expiry pass did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Expired {
    pub lots: i64,
    pub points: i64,
}

impl std::ops::AddAssign for Expired {
    fn add_assign(&mut self, other: Self) {
        self.lots += other.lots;
        self.points += other.points;
    }
}

/// Expires the unheld points of every lot of the account whose expiry has
/// passed, one EXPIRE entry per lot. `given_back` are lots a cancellation or
/// release just returned points to: their entry says the points expired at
/// once and names the booking.
pub(crate) async fn expire_due(
    db: &mut PgConnection,
    account: &mut Account,
    now: DateTime<Utc>,
    given_back: Option<(Uuid, &[Part])>,
) -> Result<Expired> {
    let due: Vec<(Uuid, i64, DateTime<Utc>)> = sqlx::query_as(
        "SELECT id, remaining - held, expires_at FROM point_lot \
         WHERE user_id = $1 AND expires_at <= $2 AND remaining > held ORDER BY expires_at, id",
    )
    .bind(account.user_id)
    .bind(now)
    .fetch_all(&mut *db)
    .await?;
    if due.is_empty() {
        return Ok(Expired::default());
    }
    let descriptions: Vec<(String, Option<Uuid>)> = due
        .iter()
        .map(|(lot_id, _, expires_at)| {
            let day = expires_at.format("%Y-%m-%d");
            match given_back.filter(|(_, parts)| parts.iter().any(|p| p.lot_id == *lot_id)) {
                Some((booking, _)) => (
                    format!("Expired at once: given back by a booking after the lot's expiry ({day}); not revived"),
                    Some(booking),
                ),
                None => (format!("Expired: points that expired on {day}"), None),
            }
        })
        .collect();
    let news: Vec<NewEntry<'_>> = due
        .iter()
        .zip(&descriptions)
        .map(|((_, free, _), (description, booking))| NewEntry {
            booking_id: *booking,
            ..NewEntry::new(EntryType::Expire, -free, description)
        })
        .collect();
    let entries = account.append_all(db, &news).await?;
    let parts: Vec<Part> = due
        .iter()
        .map(|(lot_id, free, _)| Part {
            lot_id: *lot_id,
            amount: *free,
        })
        .collect();
    shift(db, &parts, "remaining = l.remaining - p.amount").await?;
    // One part per entry: entries and parts are both in the order of `due`.
    let changes: Vec<(&Entry, Part)> = entries.iter().zip(parts.iter().copied()).collect();
    record_all(db, &changes).await?;
    let done = Expired {
        lots: parts.len() as i64,
        points: parts.iter().map(|p| p.amount).sum(),
    };
    Ok(done)
}
