//! What each coupon RPC does: validation, authorization, and calls into
//! coupons, events, claims, reconciliation and bookings. `api` wires these
//! to the gRPC traits, one line each.

use std::time::Duration;

use staymesh_platform::FieldViolations;
use staymesh_platform::auth::{Caller, Role, require_caller, require_role};
use staymesh_platform::convert::{Page, id, money, require_id};
use staymesh_platform::rpc::{Error, Result};
use staymesh_proto::coupon as pb;
use tonic::Request;
use uuid::Uuid;

use crate::api::Coupons;
use crate::bookings::{self, Use};
use crate::coupons;
use crate::events::{self, EventRow, Filter};
use crate::reconcile;
use crate::user_coupons;

impl Coupons {
    fn pool(&self) -> &sqlx::PgPool {
        &self.issuer.pool
    }

    /// An event on the wire, with the live count from Redis when it is loaded.
    async fn event_proto(&self, event: &EventRow) -> Result<pb::IssuanceEvent> {
        // Coupons never change, so the claim path's per-event cache serves here too.
        let coupon = &self.issuer.coupon_of(event.id).await?.coupon;
        let issued = if self.issuer.stock.is_loaded(event.id).await? {
            self.issuer.stock.claimed_count(event.id).await?
        } else {
            i64::from(event.issued)
        };
        Ok(event.to_proto(coupon, issued))
    }

    /// The event and its coupon, if `caller` may manage them.
    async fn managed_event(&self, event_id: Uuid, caller: &Caller) -> Result<EventRow> {
        let event = events::get(self.pool(), event_id).await?;
        let coupon = coupons::get(self.pool(), event.coupon_id).await?;
        if !coupon.managed_by(caller) {
            return Err(Error::PermissionDenied(
                "only the coupon's creator or an admin manages its events".into(),
            ));
        }
        Ok(event)
    }

    pub(crate) async fn create_coupon(
        &self,
        request: Request<pb::CreateCouponRequest>,
    ) -> Result<pb::CreateCouponResponse> {
        let caller = require_role(&request, &[Role::Host])?;
        let new = coupons::validate(request.get_ref(), &caller)?;
        let coupon = coupons::create(self.pool(), new, &caller.user_id).await?;
        Ok(pb::CreateCouponResponse {
            coupon: Some(coupon.to_proto()),
        })
    }

    pub(crate) async fn get_coupon(
        &self,
        request: Request<pb::GetCouponRequest>,
    ) -> Result<pb::GetCouponResponse> {
        let coupon_id = require_id(&request.get_ref().coupon_id, "coupon_id")?;
        let coupon = coupons::get(self.pool(), coupon_id).await?;
        Ok(pb::GetCouponResponse {
            coupon: Some(coupon.to_proto()),
        })
    }

    pub(crate) async fn list_coupons(
        &self,
        request: Request<pb::ListCouponsRequest>,
    ) -> Result<pb::ListCouponsResponse> {
        let caller = require_role(&request, &[Role::Host])?;
        let r = request.get_ref();
        let mut v = FieldViolations::new();
        let page = Page::parse(r.page_size, &r.page_token, &mut v);
        v.into_result()?;
        // Hosts see their own coupons; admins all, or one host's.
        let host = if caller.is_admin() {
            (!r.host_id.is_empty()).then_some(r.host_id.as_str())
        } else {
            Some(caller.user_id.as_str())
        };
        let rows = coupons::list(self.pool(), host, page.fetch(), page.offset).await?;
        let (rows, next_page_token) = page.finish(rows);
        Ok(pb::ListCouponsResponse {
            coupons: rows.iter().map(|c| c.to_proto()).collect(),
            next_page_token,
        })
    }

    pub(crate) async fn create_issuance_event(
        &self,
        request: Request<pb::CreateIssuanceEventRequest>,
    ) -> Result<pb::CreateIssuanceEventResponse> {
        let caller = require_role(&request, &[Role::Host])?;
        let r = request.get_ref();
        let coupon_id = require_id(&r.coupon_id, "coupon_id")?;
        let coupon = coupons::get(self.pool(), coupon_id).await?;
        if !coupon.managed_by(&caller) {
            return Err(Error::PermissionDenied(
                "only the coupon's creator or an admin opens issuance events".into(),
            ));
        }
        let new = events::validate(r, &coupon)?;
        let event = events::create(self.pool(), coupon_id, &new, &caller.user_id).await?;
        // Load it into Redis now, so the first claims of a sale do not
        // all race to load it.
        self.issuer.restore(event.id).await?;
        Ok(pb::CreateIssuanceEventResponse {
            event: Some(event.to_proto(&coupon, 0)),
        })
    }

    pub(crate) async fn list_issuance_events(
        &self,
        request: Request<pb::ListIssuanceEventsRequest>,
    ) -> Result<pb::ListIssuanceEventsResponse> {
        let r = request.get_ref();
        let mut v = FieldViolations::new();
        let filter = match pb::IssuanceEventState::try_from(r.state) {
            Ok(pb::IssuanceEventState::Unspecified) => Filter::Live,
            Ok(pb::IssuanceEventState::Scheduled) => Filter::Scheduled,
            Ok(pb::IssuanceEventState::Open) => Filter::Open,
            Ok(pb::IssuanceEventState::SoldOut) => Filter::SoldOut,
            Ok(pb::IssuanceEventState::Closed) => Filter::Closed,
            Ok(pb::IssuanceEventState::Ended) => Filter::Ended,
            Err(_) => {
                v.add("state", "is not an issuance event state");
                Filter::Live
            }
        };
        let coupon_id = (!r.coupon_id.is_empty())
            .then(|| id(&r.coupon_id, "coupon_id", &mut v))
            .flatten();
        let page = Page::parse(r.page_size, &r.page_token, &mut v);
        v.into_result()?;
        let rows = events::list(self.pool(), filter, coupon_id, page.fetch(), page.offset).await?;
        let (rows, next_page_token) = page.finish(rows);
        let mut events = Vec::with_capacity(rows.len());
        for row in &rows {
            events.push(self.event_proto(row).await?);
        }
        Ok(pb::ListIssuanceEventsResponse {
            events,
            next_page_token,
        })
    }

    pub(crate) async fn get_issuance_event(
        &self,
        request: Request<pb::GetIssuanceEventRequest>,
    ) -> Result<pb::GetIssuanceEventResponse> {
        let event_id = require_id(&request.get_ref().event_id, "event_id")?;
        let event = events::get(self.pool(), event_id).await?;
        Ok(pb::GetIssuanceEventResponse {
            event: Some(self.event_proto(&event).await?),
        })
    }

    pub(crate) async fn close_issuance_event(
        &self,
        request: Request<pb::CloseIssuanceEventRequest>,
    ) -> Result<pb::CloseIssuanceEventResponse> {
        let caller = require_role(&request, &[Role::Host])?;
        let event_id = require_id(&request.get_ref().event_id, "event_id")?;
        self.managed_event(event_id, &caller).await?;
        let (event, closed_now) = events::close(self.pool(), event_id).await?;
        // Redis first refuses claims; then the change is announced.
        self.issuer.stock.close(event_id).await?;
        if closed_now {
            let mut tx = self.pool().begin().await?;
            self.issuer
                .announcer
                .enqueue(&mut tx, &event, pb::IssuanceEventState::Closed)
                .await?;
            tx.commit().await?;
            tracing::info!(%event_id, by = %caller.user_id, "issuance event closed");
        }
        Ok(pb::CloseIssuanceEventResponse {
            event: Some(self.event_proto(&event).await?),
        })
    }

    pub(crate) async fn claim_coupon(
        &self,
        request: Request<pb::ClaimCouponRequest>,
    ) -> Result<pb::ClaimCouponResponse> {
        let caller = require_caller(&request)?;
        let event_id = require_id(&request.get_ref().event_id, "event_id")?;
        let admission = &request.get_ref().admission_token;
        let outcome = self
            .issuer
            .claim(event_id, &caller.user_id, admission)
            .await?;
        Ok(pb::ClaimCouponResponse {
            result: outcome.result as i32,
            user_coupon: outcome.user_coupon,
        })
    }

    pub(crate) async fn list_my_coupons(
        &self,
        request: Request<pb::ListMyCouponsRequest>,
    ) -> Result<pb::ListMyCouponsResponse> {
        let caller = require_caller(&request)?;
        let r = request.get_ref();
        let mut v = FieldViolations::new();
        let state = pb::UserCouponState::try_from(r.state).unwrap_or_else(|_| {
            v.add("state", "is not a user coupon state");
            pb::UserCouponState::Unspecified
        });
        let page = Page::parse(r.page_size, &r.page_token, &mut v);
        v.into_result()?;
        let rows = user_coupons::list_for_user(
            self.pool(),
            &caller.user_id,
            state,
            page.fetch(),
            page.offset,
        )
        .await?;
        let (rows, next_page_token) = page.finish(rows);
        Ok(pb::ListMyCouponsResponse {
            user_coupons: rows.iter().map(|r| r.to_proto()).collect(),
            next_page_token,
        })
    }

    pub(crate) async fn reconcile(
        &self,
        request: Request<pb::ReconcileRequest>,
    ) -> Result<pb::ReconcileResponse> {
        require_role(&request, &[Role::Admin])?;
        let r = request.get_ref();
        let event_id = require_id(&r.event_id, "event_id")?;
        events::get(self.pool(), event_id).await?;
        let report = reconcile::event(&self.issuer, event_id, r.dry_run, Duration::ZERO).await?;
        Ok(pb::ReconcileResponse {
            // An event holds at most 1,000,000 coupons, so each count fits.
            redis_issued: saturating_i32(report.redis_issued),
            stored_issued: saturating_i32(report.stored_issued),
            repaired: saturating_i32(report.repaired),
            orphaned_user_ids: report.orphaned_user_ids,
        })
    }

    pub(crate) async fn quote_discount(
        &self,
        request: Request<pb::QuoteDiscountRequest>,
    ) -> Result<pb::QuoteDiscountResponse> {
        let r = request.get_ref();
        let u = Use::validate(
            &r.booking_id,
            &r.user_id,
            &r.user_coupon_id,
            &r.host_id,
            r.price.as_ref(),
        )?;
        Ok(match bookings::quote(self.pool(), &u).await? {
            Ok(discount) => pb::QuoteDiscountResponse {
                discount: Some(money(discount)),
                applicable: true,
                reason: String::new(),
            },
            Err(reason) => pb::QuoteDiscountResponse {
                discount: Some(money(0)),
                applicable: false,
                reason,
            },
        })
    }

    pub(crate) async fn reserve_coupon(
        &self,
        request: Request<pb::ReserveCouponRequest>,
    ) -> Result<pb::ReserveCouponResponse> {
        let r = request.get_ref();
        let u = Use::validate(
            &r.booking_id,
            &r.user_id,
            &r.user_coupon_id,
            &r.host_id,
            r.price.as_ref(),
        )?;
        let row = bookings::reserve(self.pool(), &u).await?;
        Ok(pb::ReserveCouponResponse {
            discount: row.discount(),
            user_coupon: Some(row.to_proto()),
        })
    }

    pub(crate) async fn redeem_coupon(
        &self,
        request: Request<pb::RedeemCouponRequest>,
    ) -> Result<pb::RedeemCouponResponse> {
        let booking_id = bookings::booking_id(&request.get_ref().booking_id)?;
        let row = bookings::redeem(self.pool(), &booking_id).await?;
        Ok(pb::RedeemCouponResponse {
            user_coupon: Some(row.to_proto()),
        })
    }

    pub(crate) async fn release_coupon(
        &self,
        request: Request<pb::ReleaseCouponRequest>,
    ) -> Result<pb::ReleaseCouponResponse> {
        let booking_id = bookings::booking_id(&request.get_ref().booking_id)?;
        let row = bookings::release(self.pool(), &booking_id).await?;
        Ok(pb::ReleaseCouponResponse {
            user_coupon: row.map(|r| r.to_proto()),
        })
    }
}

/// A count on the wire's int32, saturating rather than wrapping.
fn saturating_i32(count: impl TryInto<i32>) -> i32 {
    count.try_into().unwrap_or(i32::MAX)
}
