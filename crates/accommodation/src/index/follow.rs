//! Keeps the index in step with Postgres: LISTEN on `accommodation_index`
//! first, then build, then apply every batch of notifications as it comes.
//! Notifications are sent at commit, so the rows read after one are at
//! least as new as the change it announces; reading again is idempotent, so
//! order and repeats do not matter. A lost connection may have lost
//! notifications: the index is rebuilt from scratch after it.

use std::sync::Arc;
use std::time::Duration;

use chrono::NaiveDate;
use sqlx::postgres::PgListener;
use staymesh_platform::Shutdown;
use tokio::sync::mpsc;
use uuid::Uuid;

use super::{Changes, Index};

/// The channel the search-index migration's triggers notify.
const CHANNEL: &str = "accommodation_index";
/// How long to wait before retrying after Postgres failed.
const RETRY: Duration = Duration::from_secs(1);

/// What the listener saw.
#[derive(Debug)]
enum Heard {
    Payload(String),
    /// The connection dropped; notifications may be lost.
    Lost,
}

/// Builds the index, then follows the catalog until `shutdown`.
pub(crate) async fn follow(index: Arc<Index>, shutdown: Shutdown) {
    let (tx, mut rx) = mpsc::unbounded_channel();
    let listener = loop {
        match listen(&index).await {
            Ok(listener) => break listener,
            Err(error) => {
                tracing::warn!(%error, "cannot LISTEN for catalog changes; retrying");
                if !shutdown.sleep(RETRY).await {
                    return;
                }
            }
        }
    };
    let reader = tokio::spawn(read(listener, tx));
    let mut pending = Changes {
        everything: true,
        ..Changes::default()
    };
    loop {
        if pending.everything || !pending.properties.is_empty() || !pending.nights.is_empty() {
            match index.apply(std::mem::take(&mut pending)).await {
                Ok(()) => {}
                Err(error) => {
                    // Nothing is lost: the next attempt reads everything.
                    tracing::error!(%error, "search index update failed; rebuilding");
                    pending.everything = true;
                    if !shutdown.sleep(RETRY).await {
                        break;
                    }
                    continue;
                }
            }
        }
        let heard = tokio::select! {
            heard = rx.recv() => heard,
            () = shutdown.wait() => break,
        };
        let Some(heard) = heard else { break };
        add(&mut pending, heard);
        // Whatever else has arrived goes into the same batch.
        while let Ok(heard) = rx.try_recv() {
            add(&mut pending, heard);
        }
    }
    reader.abort();
}

async fn listen(index: &Index) -> sqlx::Result<PgListener> {
    let mut listener = PgListener::connect_with(&index.pool).await?;
    listener.listen(CHANNEL).await?;
    Ok(listener)
}

/// Forwards what the listener hears; runs until the follower stops.
async fn read(mut listener: PgListener, tx: mpsc::UnboundedSender<Heard>) {
    loop {
        let heard = match listener.try_recv().await {
            Ok(Some(notification)) => Heard::Payload(notification.payload().to_owned()),
            Ok(None) => Heard::Lost,
            Err(error) => {
                tracing::warn!(%error, "catalog notifications interrupted");
                tokio::time::sleep(RETRY).await;
                Heard::Lost
            }
        };
        if tx.send(heard).is_err() {
            return;
        }
    }
}

/// Adds what one notification names to `pending`.
fn add(pending: &mut Changes, heard: Heard) {
    let payload = match heard {
        Heard::Lost => {
            pending.everything = true;
            return;
        }
        Heard::Payload(payload) => payload,
    };
    for item in payload.split(',') {
        if let Some(id) = item.strip_prefix('P') {
            match id.parse::<Uuid>() {
                Ok(id) => {
                    pending.properties.insert(id);
                }
                Err(_) => pending.everything = true,
            }
        } else if let Some(range) = item.strip_prefix('N') {
            match parse_range(range) {
                Some((id, first, last)) => {
                    let entry = pending.nights.entry(id).or_insert((first, last));
                    *entry = (entry.0.min(first), entry.1.max(last));
                }
                None => pending.everything = true,
            }
        } else {
            // `*`, or anything this version does not know: read everything.
            pending.everything = true;
        }
    }
}

/// `<room type id> <first> <last>`.
fn parse_range(range: &str) -> Option<(Uuid, NaiveDate, NaiveDate)> {
    let mut parts = range.split(' ');
    let id = parts.next()?.parse().ok()?;
    let first = parts.next()?.parse().ok()?;
    let last = parts.next()?.parse().ok()?;
    Some((id, first, last))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn notifications_merge_into_one_batch() {
        let mut pending = Changes::default();
        let rt = "0190c0de-0000-7000-8000-000000000010";
        let p = "0190c0de-0000-7000-8000-000000000020";
        add(
            &mut pending,
            Heard::Payload(format!("N{rt} 2027-01-05 2027-01-06,P{p}")),
        );
        add(
            &mut pending,
            Heard::Payload(format!("N{rt} 2027-01-02 2027-01-03")),
        );
        let rt: Uuid = rt.parse().unwrap();
        let day = |d| NaiveDate::from_ymd_opt(2027, 1, d).unwrap();
        assert_eq!(pending.nights[&rt], (day(2), day(6)));
        assert!(pending.properties.contains(&p.parse().unwrap()));
        assert!(!pending.everything);
        add(&mut pending, Heard::Payload("*".into()));
        assert!(pending.everything);
    }

    #[test]
    fn a_lost_connection_or_a_garbled_item_reads_everything() {
        let mut pending = Changes::default();
        add(&mut pending, Heard::Lost);
        assert!(pending.everything);
        let mut pending = Changes::default();
        add(&mut pending, Heard::Payload("Nnot-a-range".into()));
        assert!(pending.everything);
    }
}
