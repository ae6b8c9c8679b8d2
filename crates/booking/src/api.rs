//! The BookingService on the wire: each method hands its request to the
//! domain function of the same name in `handlers`.

use std::pin::Pin;

use staymesh_platform::rpc::{Reply, reply};
use staymesh_proto::booking as pb;
use staymesh_proto::booking::booking_service_server::BookingService;
use tonic::{Request, Status};

use crate::bookings::Bookings;

/// Shared state of the handlers.
#[derive(Debug, Clone)]
pub struct BookingsApi {
    pub(crate) bookings: Bookings,
}

/// The stream WatchBooking answers with.
pub type WatchStream = Pin<
    Box<dyn tokio_stream::Stream<Item = Result<pb::WatchBookingResponse, Status>> + Send + 'static>,
>;

#[tonic::async_trait]
impl BookingService for BookingsApi {
    async fn create_booking(
        &self,
        request: Request<pb::CreateBookingRequest>,
    ) -> Reply<pb::CreateBookingResponse> {
        reply(BookingsApi::create_booking(self, request).await)
    }

    #[tracing::instrument(skip_all, fields(booking_id = %request.get_ref().booking_id))]
    async fn get_booking(
        &self,
        request: Request<pb::GetBookingRequest>,
    ) -> Reply<pb::GetBookingResponse> {
        reply(BookingsApi::get_booking(self, request).await)
    }

    async fn list_my_bookings(
        &self,
        request: Request<pb::ListMyBookingsRequest>,
    ) -> Reply<pb::ListMyBookingsResponse> {
        reply(BookingsApi::list_my_bookings(self, request).await)
    }

    #[tracing::instrument(skip_all, fields(property_id = %request.get_ref().property_id))]
    async fn list_property_bookings(
        &self,
        request: Request<pb::ListPropertyBookingsRequest>,
    ) -> Reply<pb::ListPropertyBookingsResponse> {
        reply(BookingsApi::list_property_bookings(self, request).await)
    }

    #[tracing::instrument(skip_all, fields(booking_id = %request.get_ref().booking_id))]
    async fn quote_cancellation(
        &self,
        request: Request<pb::QuoteCancellationRequest>,
    ) -> Reply<pb::QuoteCancellationResponse> {
        reply(BookingsApi::quote_cancellation(self, request).await)
    }

    #[tracing::instrument(skip_all, fields(booking_id = %request.get_ref().booking_id))]
    async fn cancel_booking(
        &self,
        request: Request<pb::CancelBookingRequest>,
    ) -> Reply<pb::CancelBookingResponse> {
        reply(BookingsApi::cancel_booking(self, request).await)
    }

    type WatchBookingStream = WatchStream;

    #[tracing::instrument(skip_all, fields(booking_id = %request.get_ref().booking_id))]
    async fn watch_booking(
        &self,
        request: Request<pb::WatchBookingRequest>,
    ) -> Reply<Self::WatchBookingStream> {
        reply(BookingsApi::watch_booking(self, request).await)
    }
}
