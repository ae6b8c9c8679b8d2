//! What each booking RPC does: validation, authorization, and calls into
//! `create`, `bookings`, `cancel` and `watch`. `api` wires these to the gRPC
//! trait, one line each.

use staymesh_platform::FieldViolations;
use staymesh_platform::auth::{Role, authorization, require_caller, require_role};
use staymesh_platform::convert::{self, Page, require_id};
use staymesh_platform::rpc::{Error, Result};
use staymesh_proto::booking as pb;
use tokio_stream::wrappers::ReceiverStream;
use tonic::Request;

use crate::api::{BookingsApi, WatchStream};
use crate::bookings::Filter;
use crate::cancel::{self, MAX_REASON};
use crate::create::{self, NewBooking};

fn state_filter(value: i32, v: &mut FieldViolations) -> pb::BookingState {
    pb::BookingState::try_from(value).unwrap_or_else(|_| {
        v.add("state", "is not a booking state");
        pb::BookingState::Unspecified
    })
}

impl BookingsApi {
    pub(crate) async fn create_booking(
        &self,
        request: Request<pb::CreateBookingRequest>,
    ) -> Result<pb::CreateBookingResponse> {
        let caller = require_role(&request, &[Role::Guest, Role::Host])?;
        let new = NewBooking::read(caller.id()?, request.get_ref())?;
        let row = create::create(&self.bookings, new, authorization(&request)).await?;
        Ok(pb::CreateBookingResponse {
            booking: Some(row.to_proto()),
        })
    }

    pub(crate) async fn get_booking(
        &self,
        request: Request<pb::GetBookingRequest>,
    ) -> Result<pb::GetBookingResponse> {
        let caller = require_caller(&request)?;
        let id = require_id(&request.get_ref().booking_id, "booking_id")?;
        let row = self.bookings.readable(&caller, id).await?;
        Ok(pb::GetBookingResponse {
            booking: Some(row.to_proto()),
        })
    }

    pub(crate) async fn list_my_bookings(
        &self,
        request: Request<pb::ListMyBookingsRequest>,
    ) -> Result<pb::ListMyBookingsResponse> {
        let caller = require_caller(&request)?;
        let r = request.get_ref();
        let mut v = FieldViolations::new();
        let state = state_filter(r.state, &mut v);
        let page = Page::parse(r.page_size, &r.page_token, &mut v);
        v.into_result()?;
        let filter = Filter { state, range: None };
        let (rows, next_page_token) = self.bookings.mine(caller.id()?, filter, page).await?;
        Ok(pb::ListMyBookingsResponse {
            bookings: rows.iter().map(|r| r.to_proto()).collect(),
            next_page_token,
        })
    }

    pub(crate) async fn list_property_bookings(
        &self,
        request: Request<pb::ListPropertyBookingsRequest>,
    ) -> Result<pb::ListPropertyBookingsResponse> {
        let caller = require_role(&request, &[Role::Host])?;
        let r = request.get_ref();
        let mut v = FieldViolations::new();
        let property_id = convert::id(&r.property_id, "property_id", &mut v);
        let state = state_filter(r.state, &mut v);
        let range = r.range.as_ref().and_then(|range| {
            let start = convert::date(range.start.as_ref(), "range.start", &mut v)?;
            let end = convert::date(range.end.as_ref(), "range.end", &mut v)?;
            v.check(end > start, "range.end", "must be after range.start");
            Some((start, end))
        });
        let page = Page::parse(r.page_size, &r.page_token, &mut v);
        v.into_result()?;
        let Some(property_id) = property_id else {
            return Err(Error::invalid("property_id", "is required"));
        };
        let filter = Filter { state, range };
        let (rows, next_page_token) = self
            .bookings
            .of_property(&caller, property_id, filter, page)
            .await?;
        Ok(pb::ListPropertyBookingsResponse {
            bookings: rows.iter().map(|r| r.to_proto()).collect(),
            next_page_token,
        })
    }

    pub(crate) async fn quote_cancellation(
        &self,
        request: Request<pb::QuoteCancellationRequest>,
    ) -> Result<pb::QuoteCancellationResponse> {
        let caller = require_caller(&request)?;
        let id = require_id(&request.get_ref().booking_id, "booking_id")?;
        let row = self.bookings.readable(&caller, id).await?;
        let mut conn = self.bookings.pool.acquire().await?;
        Ok(cancel::quote(&mut conn, &row).await?.to_proto())
    }

    pub(crate) async fn cancel_booking(
        &self,
        request: Request<pb::CancelBookingRequest>,
    ) -> Result<pb::CancelBookingResponse> {
        let caller = require_caller(&request)?;
        let r = request.get_ref();
        let mut v = FieldViolations::new();
        let id = convert::id(&r.booking_id, "booking_id", &mut v);
        v.check(
            r.reason.chars().count() <= MAX_REASON,
            "reason",
            &format!("must be at most {MAX_REASON} characters"),
        );
        v.into_result()?;
        let Some(id) = id else {
            return Err(Error::invalid("booking_id", "is required"));
        };
        // The guest cancels their own booking; ADMIN any.
        let cause = if caller.is_admin() {
            pb::CancelCause::Admin
        } else {
            pb::CancelCause::Guest
        };
        let own = caller.id()?;
        let row = cancel::cancel(
            &self.bookings.pool,
            &self.bookings.events_topic,
            id,
            cause,
            r.reason.trim(),
            |row| caller.is_admin() || row.user_id == own,
        )
        .await?;
        Ok(pb::CancelBookingResponse {
            booking: Some(row.to_proto()),
        })
    }

    pub(crate) async fn watch_booking(
        &self,
        request: Request<pb::WatchBookingRequest>,
    ) -> Result<WatchStream> {
        let caller = require_caller(&request)?;
        let id = require_id(&request.get_ref().booking_id, "booking_id")?;
        let row = self.bookings.readable(&caller, id).await?;
        let rx = self
            .bookings
            .watchers
            .watch(self.bookings.pool.clone(), row);
        Ok(Box::pin(ReceiverStream::new(rx)) as WatchStream)
    }
}
