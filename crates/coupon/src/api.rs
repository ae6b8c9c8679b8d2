//! The CouponService (guests, hosts, admins) and the internal
//! CouponBookingService (the booking saga) on the wire: each method hands its
//! request to the domain function of the same name in `handlers`.

use staymesh_platform::rpc::{Reply, reply};
use staymesh_proto::coupon as pb;
use staymesh_proto::coupon::coupon_booking_service_server::CouponBookingService;
use staymesh_proto::coupon::coupon_service_server::CouponService;
use tonic::Request;

use crate::claims::Issuer;

/// Shared state of the handlers.
#[derive(Debug, Clone)]
pub struct Coupons {
    pub(crate) issuer: Issuer,
}

#[tonic::async_trait]
impl CouponService for Coupons {
    async fn create_coupon(
        &self,
        request: Request<pb::CreateCouponRequest>,
    ) -> Reply<pb::CreateCouponResponse> {
        reply(Coupons::create_coupon(self, request).await)
    }

    async fn get_coupon(
        &self,
        request: Request<pb::GetCouponRequest>,
    ) -> Reply<pb::GetCouponResponse> {
        reply(Coupons::get_coupon(self, request).await)
    }

    async fn list_coupons(
        &self,
        request: Request<pb::ListCouponsRequest>,
    ) -> Reply<pb::ListCouponsResponse> {
        reply(Coupons::list_coupons(self, request).await)
    }

    async fn create_issuance_event(
        &self,
        request: Request<pb::CreateIssuanceEventRequest>,
    ) -> Reply<pb::CreateIssuanceEventResponse> {
        reply(Coupons::create_issuance_event(self, request).await)
    }

    async fn list_issuance_events(
        &self,
        request: Request<pb::ListIssuanceEventsRequest>,
    ) -> Reply<pb::ListIssuanceEventsResponse> {
        reply(Coupons::list_issuance_events(self, request).await)
    }

    async fn get_issuance_event(
        &self,
        request: Request<pb::GetIssuanceEventRequest>,
    ) -> Reply<pb::GetIssuanceEventResponse> {
        reply(Coupons::get_issuance_event(self, request).await)
    }

    async fn close_issuance_event(
        &self,
        request: Request<pb::CloseIssuanceEventRequest>,
    ) -> Reply<pb::CloseIssuanceEventResponse> {
        reply(Coupons::close_issuance_event(self, request).await)
    }

    async fn claim_coupon(
        &self,
        request: Request<pb::ClaimCouponRequest>,
    ) -> Reply<pb::ClaimCouponResponse> {
        reply(Coupons::claim_coupon(self, request).await)
    }

    async fn list_my_coupons(
        &self,
        request: Request<pb::ListMyCouponsRequest>,
    ) -> Reply<pb::ListMyCouponsResponse> {
        reply(Coupons::list_my_coupons(self, request).await)
    }

    async fn reconcile(
        &self,
        request: Request<pb::ReconcileRequest>,
    ) -> Reply<pb::ReconcileResponse> {
        reply(Coupons::reconcile(self, request).await)
    }
}

#[tonic::async_trait]
impl CouponBookingService for Coupons {
    async fn quote_discount(
        &self,
        request: Request<pb::QuoteDiscountRequest>,
    ) -> Reply<pb::QuoteDiscountResponse> {
        reply(Coupons::quote_discount(self, request).await)
    }

    async fn reserve_coupon(
        &self,
        request: Request<pb::ReserveCouponRequest>,
    ) -> Reply<pb::ReserveCouponResponse> {
        reply(Coupons::reserve_coupon(self, request).await)
    }

    async fn redeem_coupon(
        &self,
        request: Request<pb::RedeemCouponRequest>,
    ) -> Reply<pb::RedeemCouponResponse> {
        reply(Coupons::redeem_coupon(self, request).await)
    }

    async fn release_coupon(
        &self,
        request: Request<pb::ReleaseCouponRequest>,
    ) -> Reply<pb::ReleaseCouponResponse> {
        reply(Coupons::release_coupon(self, request).await)
    }
}
