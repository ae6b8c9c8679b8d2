//! The ledger newest first: keyset pages on the user's entry number, the
//! first page of each filter and size served from the Redis cache.

use prost::Message;
use sqlx::PgPool;
use staymesh_platform::convert::page_token;
use staymesh_platform::rpc::Result;
use staymesh_proto::point as pb;
use uuid::Uuid;

use crate::cache::{HistoryCache, Lookup};
use crate::ledger::{ENTRY_COLUMNS, Entry, EntryType};

/// Which entries a page shows.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Query {
    pub(crate) user: Uuid,
    pub(crate) kind: Option<EntryType>,
    pub(crate) size: i64,
    /// Entries numbered below this (the page token); `None` for the first page.
    pub(crate) before: Option<i64>,
}

impl Query {
    /// The cache field of a first page.
    fn field(&self) -> String {
        format!(
            "{}:{}",
            self.kind.map_or("ALL", EntryType::as_str),
            self.size
        )
    }
}

/// One page, from the cache when it is a first page and current.
pub(crate) async fn page(
    pool: &PgPool,
    cache: &HistoryCache,
    query: Query,
) -> Result<pb::ListHistoryResponse> {
    if query.before.is_some() {
        return read(pool, query).await;
    }
    let field = query.field();
    // The cache only saves work: with Redis down, history still reads.
    let version = match cache.get(query.user, &field).await {
        Err(error) => {
            tracing::warn!(%error, "history cache unavailable; reading Postgres");
            None
        }
        Ok(Lookup::Hit(bytes)) => {
            if let Ok(page) = pb::ListHistoryResponse::decode(bytes.as_slice()) {
                return Ok(page);
            }
            // Written by a different version of this message: read afresh.
            None
        }
        Ok(Lookup::Miss { version }) => Some(version),
    };
    let page = read(pool, query).await?;
    if let Some(version) = version
        && let Err(error) = cache
            .fill(query.user, &field, &version, page.encode_to_vec())
            .await
    {
        tracing::warn!(%error, "history cache not filled");
    }
    Ok(page)
}

/// A page from Postgres.
async fn read(pool: &PgPool, query: Query) -> Result<pb::ListHistoryResponse> {
    let mut rows: Vec<Entry> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT {ENTRY_COLUMNS} FROM point_entry \
         WHERE user_id = $1 AND ($2::text IS NULL OR type = $2) AND seq < $3 \
         ORDER BY seq DESC LIMIT $4"
    )))
    .bind(query.user)
    .bind(query.kind.map(EntryType::as_str))
    .bind(query.before.unwrap_or(i64::MAX))
    .bind(query.size + 1)
    .fetch_all(pool)
    .await?;
    let size = usize::try_from(query.size).unwrap_or(usize::MAX);
    let more = rows.len() > size;
    rows.truncate(size);
    let next_page_token = match rows.last() {
        Some(last) if more => page_token(last.seq),
        _ => String::new(),
    };
    Ok(pb::ListHistoryResponse {
        entries: rows.iter().map(Entry::to_proto).collect(),
        next_page_token,
    })
}
