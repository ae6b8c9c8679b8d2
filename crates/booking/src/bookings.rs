//! The booking service's state and its reads: who may see which booking
//! (the guest their own, the host those of their properties, ADMIN all),
//! and the guest's and the host's lists.

use std::sync::Arc;
use std::time::Duration;

use chrono::NaiveDate;
use sqlx::PgPool;
use staymesh_platform::admission::Gate;
use staymesh_platform::auth::Caller;
use staymesh_platform::convert::Page;
use staymesh_platform::rpc::{Error, Result};
use staymesh_proto::booking as pb;
use uuid::Uuid;

use crate::pricing::Pricing;
use crate::store::{self, BookingRow, COLUMNS, state_name};
use crate::watch::Watchers;

/// What every booking RPC works with.
#[derive(Debug, Clone)]
pub(crate) struct Bookings {
    pub(crate) pool: PgPool,
    pub(crate) pricing: Pricing,
    /// `<prefix>.booking.events`, where `BookingRequested` and the rest go.
    pub(crate) events_topic: String,
    /// How long a new booking waits for its payment.
    pub(crate) payment_window: Duration,
    pub(crate) watchers: Watchers,
    /// Spends admission tokens of time sales with a waiting room.
    pub(crate) gate: Arc<dyn Gate>,
}

/// Which bookings a list call wants.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Filter {
    pub(crate) state: pb::BookingState,
    /// Stays overlapping `[start, end)`.
    pub(crate) range: Option<(NaiveDate, NaiveDate)>,
}

impl Bookings {
    /// The booking, if `caller` may read it; someone else's is NOT_FOUND,
    /// with no hint that it exists.
    pub(crate) async fn readable(&self, caller: &Caller, id: Uuid) -> Result<BookingRow> {
        let row = store::by_id(&self.pool, id).await?;
        row.filter(|row| may_read(caller, row))
            .ok_or_else(|| Error::not_found("booking", id.to_string()))
    }

    /// The caller's bookings, newest first.
    pub(crate) async fn mine(
        &self,
        user: Uuid,
        filter: Filter,
        page: Page,
    ) -> Result<(Vec<BookingRow>, String)> {
        let rows: Vec<BookingRow> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "SELECT {COLUMNS} FROM booking WHERE user_id = $1 AND ($2 = '' OR state = $2) \
             ORDER BY created_at DESC, id DESC LIMIT $3 OFFSET $4"
        )))
        .bind(user)
        .bind(state_filter(filter.state))
        .bind(page.fetch())
        .bind(page.offset)
        .fetch_all(&self.pool)
        .await?;
        Ok(page.finish(rows))
    }

    /// A property's bookings by check-in, for its host or ADMIN.
    pub(crate) async fn of_property(
        &self,
        caller: &Caller,
        property_id: Uuid,
        filter: Filter,
        page: Page,
    ) -> Result<(Vec<BookingRow>, String)> {
        if !caller.is_admin() && self.pricing.property_host(property_id).await? != caller.user_id {
            return Err(Error::PermissionDenied(
                "only the property's host may list its bookings".into(),
            ));
        }
        let (start, end) = filter.range.unzip();
        let rows: Vec<BookingRow> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "SELECT {COLUMNS} FROM booking WHERE property_id = $1 AND ($2 = '' OR state = $2) \
               AND ($3::date IS NULL OR (check_out > $3 AND check_in < $4)) \
             ORDER BY check_in, id LIMIT $5 OFFSET $6"
        )))
        .bind(property_id)
        .bind(state_filter(filter.state))
        .bind(start)
        .bind(end)
        .bind(page.fetch())
        .bind(page.offset)
        .fetch_all(&self.pool)
        .await?;
        Ok(page.finish(rows))
    }
}

/// The guest reads their own, the host those of their properties, ADMIN all.
pub(crate) fn may_read(caller: &Caller, row: &BookingRow) -> bool {
    caller.is_admin()
        || caller.user_id == row.user_id.to_string()
        || caller.user_id == row.host_id.to_string()
}

fn state_filter(state: pb::BookingState) -> &'static str {
    match state {
        pb::BookingState::Unspecified => "",
        state => state_name(state),
    }
}
