//! The CouponService (guests, hosts, admins) and the internal
//! CouponBookingService (the booking saga): validation, authorization, and
//! calls into coupons, events, claims, reconciliation and bookings.

use std::time::Duration;

use staymesh_platform::FieldViolations;
use staymesh_platform::auth::{Caller, Role, require_caller, require_role};
use staymesh_platform::convert::{id, money, page_offset, page_size, page_token};
use staymesh_proto::coupon as pb;
use staymesh_proto::coupon::coupon_booking_service_server::CouponBookingService;
use staymesh_proto::coupon::coupon_service_server::CouponService;
use tonic::{Request, Response, Status};
use uuid::Uuid;

use crate::bookings::{self, Use};
use crate::claims::Issuer;
use crate::coupons;
use crate::error::{Error, Result};
use crate::events::{self, EventRow, Filter};
use crate::reconcile;
use crate::user_coupons;

/// Shared state of the handlers.
#[derive(Debug, Clone)]
pub struct Coupons {
    pub(crate) issuer: Issuer,
}

type Reply<T> = std::result::Result<Response<T>, Status>;

fn reply<T>(result: Result<T>) -> Reply<T> {
    result.map(Response::new).map_err(Status::from)
}

fn require_id(value: &str, field: &str) -> Result<Uuid> {
    let mut v = FieldViolations::new();
    let parsed = id(value, field, &mut v);
    v.into_result()?;
    Ok(parsed.unwrap_or_default())
}

/// `limit + 1` rows were asked for: trims them and makes the next token.
fn page<T>(mut rows: Vec<T>, limit: i64, offset: i64) -> (Vec<T>, String) {
    if rows.len() as i64 > limit {
        rows.truncate(limit as usize);
        (rows, page_token(offset + limit))
    } else {
        (rows, String::new())
    }
}

impl Coupons {
    fn pool(&self) -> &sqlx::PgPool {
        &self.issuer.pool
    }

    /// An event on the wire, with the live count from Redis when it is loaded.
    async fn event_proto(&self, event: &EventRow) -> Result<pb::IssuanceEvent> {
        // Coupons never change, so the claim path's per-event cache serves here too.
        let coupon = self.issuer.coupon_of(event.id).await?;
        let issued = if self.issuer.stock.is_loaded(event.id).await? {
            self.issuer.stock.claimed_count(event.id).await?
        } else {
            i64::from(event.issued)
        };
        Ok(event.to_proto(&coupon, issued))
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
}

#[tonic::async_trait]
impl CouponService for Coupons {
    #[tracing::instrument(skip_all)]
    async fn create_coupon(
        &self,
        request: Request<pb::CreateCouponRequest>,
    ) -> Reply<pb::CreateCouponResponse> {
        let caller = require_role(&request, &[Role::Host])?;
        reply(
            async {
                let new = coupons::validate(request.get_ref(), &caller)?;
                let coupon = coupons::create(self.pool(), new, &caller.user_id).await?;
                Ok(pb::CreateCouponResponse {
                    coupon: Some(coupon.to_proto()),
                })
            }
            .await,
        )
    }

    #[tracing::instrument(skip_all)]
    async fn get_coupon(
        &self,
        request: Request<pb::GetCouponRequest>,
    ) -> Reply<pb::GetCouponResponse> {
        reply(
            async {
                let coupon_id = require_id(&request.get_ref().coupon_id, "coupon_id")?;
                let coupon = coupons::get(self.pool(), coupon_id).await?;
                Ok(pb::GetCouponResponse {
                    coupon: Some(coupon.to_proto()),
                })
            }
            .await,
        )
    }

    #[tracing::instrument(skip_all)]
    async fn list_coupons(
        &self,
        request: Request<pb::ListCouponsRequest>,
    ) -> Reply<pb::ListCouponsResponse> {
        let caller = require_role(&request, &[Role::Host])?;
        reply(
            async {
                let r = request.get_ref();
                let mut v = FieldViolations::new();
                let limit = page_size(r.page_size, &mut v);
                let offset = page_offset(&r.page_token, &mut v);
                v.into_result()?;
                // Hosts see their own coupons; admins all, or one host's.
                let host = if caller.is_admin() {
                    (!r.host_id.is_empty()).then_some(r.host_id.as_str())
                } else {
                    Some(caller.user_id.as_str())
                };
                let rows = coupons::list(self.pool(), host, limit + 1, offset).await?;
                let (rows, next_page_token) = page(rows, limit, offset);
                Ok(pb::ListCouponsResponse {
                    coupons: rows.iter().map(|c| c.to_proto()).collect(),
                    next_page_token,
                })
            }
            .await,
        )
    }

    #[tracing::instrument(skip_all)]
    async fn create_issuance_event(
        &self,
        request: Request<pb::CreateIssuanceEventRequest>,
    ) -> Reply<pb::CreateIssuanceEventResponse> {
        let caller = require_role(&request, &[Role::Host])?;
        reply(
            async {
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
            .await,
        )
    }

    #[tracing::instrument(skip_all)]
    async fn list_issuance_events(
        &self,
        request: Request<pb::ListIssuanceEventsRequest>,
    ) -> Reply<pb::ListIssuanceEventsResponse> {
        reply(
            async {
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
                let limit = page_size(r.page_size, &mut v);
                let offset = page_offset(&r.page_token, &mut v);
                v.into_result()?;
                let rows = events::list(self.pool(), filter, coupon_id, limit + 1, offset).await?;
                let (rows, next_page_token) = page(rows, limit, offset);
                let mut events = Vec::with_capacity(rows.len());
                for row in &rows {
                    events.push(self.event_proto(row).await?);
                }
                Ok(pb::ListIssuanceEventsResponse {
                    events,
                    next_page_token,
                })
            }
            .await,
        )
    }

    #[tracing::instrument(skip_all)]
    async fn get_issuance_event(
        &self,
        request: Request<pb::GetIssuanceEventRequest>,
    ) -> Reply<pb::GetIssuanceEventResponse> {
        reply(
            async {
                let event_id = require_id(&request.get_ref().event_id, "event_id")?;
                let event = events::get(self.pool(), event_id).await?;
                Ok(pb::GetIssuanceEventResponse {
                    event: Some(self.event_proto(&event).await?),
                })
            }
            .await,
        )
    }

    #[tracing::instrument(skip_all)]
    async fn close_issuance_event(
        &self,
        request: Request<pb::CloseIssuanceEventRequest>,
    ) -> Reply<pb::CloseIssuanceEventResponse> {
        let caller = require_role(&request, &[Role::Host])?;
        reply(
            async {
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
            .await,
        )
    }

    #[tracing::instrument(skip_all)]
    async fn claim_coupon(
        &self,
        request: Request<pb::ClaimCouponRequest>,
    ) -> Reply<pb::ClaimCouponResponse> {
        let caller = require_caller(&request)?;
        reply(
            async {
                let event_id = require_id(&request.get_ref().event_id, "event_id")?;
                let outcome = self.issuer.claim(event_id, &caller.user_id).await?;
                Ok(pb::ClaimCouponResponse {
                    result: outcome.result as i32,
                    user_coupon: outcome.user_coupon,
                })
            }
            .await,
        )
    }

    #[tracing::instrument(skip_all)]
    async fn list_my_coupons(
        &self,
        request: Request<pb::ListMyCouponsRequest>,
    ) -> Reply<pb::ListMyCouponsResponse> {
        let caller = require_caller(&request)?;
        reply(
            async {
                let r = request.get_ref();
                let mut v = FieldViolations::new();
                let state = pb::UserCouponState::try_from(r.state).unwrap_or_else(|_| {
                    v.add("state", "is not a user coupon state");
                    pb::UserCouponState::Unspecified
                });
                let limit = page_size(r.page_size, &mut v);
                let offset = page_offset(&r.page_token, &mut v);
                v.into_result()?;
                let rows = user_coupons::list_for_user(
                    self.pool(),
                    &caller.user_id,
                    state,
                    limit + 1,
                    offset,
                )
                .await?;
                let (rows, next_page_token) = page(rows, limit, offset);
                Ok(pb::ListMyCouponsResponse {
                    user_coupons: rows.iter().map(|r| r.to_proto()).collect(),
                    next_page_token,
                })
            }
            .await,
        )
    }

    #[tracing::instrument(skip_all)]
    async fn reconcile(
        &self,
        request: Request<pb::ReconcileRequest>,
    ) -> Reply<pb::ReconcileResponse> {
        require_role(&request, &[Role::Admin])?;
        reply(
            async {
                let r = request.get_ref();
                let event_id = require_id(&r.event_id, "event_id")?;
                events::get(self.pool(), event_id).await?;
                let report =
                    reconcile::event(&self.issuer, event_id, r.dry_run, Duration::ZERO).await?;
                Ok(pb::ReconcileResponse {
                    redis_issued: report.redis_issued as i32,
                    stored_issued: report.stored_issued as i32,
                    repaired: report.repaired as i32,
                    orphaned_user_ids: report.orphaned_user_ids,
                })
            }
            .await,
        )
    }
}

#[tonic::async_trait]
impl CouponBookingService for Coupons {
    #[tracing::instrument(skip_all)]
    async fn quote_discount(
        &self,
        request: Request<pb::QuoteDiscountRequest>,
    ) -> Reply<pb::QuoteDiscountResponse> {
        reply(
            async {
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
            .await,
        )
    }

    #[tracing::instrument(skip_all)]
    async fn reserve_coupon(
        &self,
        request: Request<pb::ReserveCouponRequest>,
    ) -> Reply<pb::ReserveCouponResponse> {
        reply(
            async {
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
            .await,
        )
    }

    #[tracing::instrument(skip_all)]
    async fn redeem_coupon(
        &self,
        request: Request<pb::RedeemCouponRequest>,
    ) -> Reply<pb::RedeemCouponResponse> {
        reply(
            async {
                let booking_id = bookings::booking_id(&request.get_ref().booking_id)?;
                let row = bookings::redeem(self.pool(), &booking_id).await?;
                Ok(pb::RedeemCouponResponse {
                    user_coupon: Some(row.to_proto()),
                })
            }
            .await,
        )
    }

    #[tracing::instrument(skip_all)]
    async fn release_coupon(
        &self,
        request: Request<pb::ReleaseCouponRequest>,
    ) -> Reply<pb::ReleaseCouponResponse> {
        reply(
            async {
                let booking_id = bookings::booking_id(&request.get_ref().booking_id)?;
                let row = bookings::release(self.pool(), &booking_id).await?;
                Ok(pb::ReleaseCouponResponse {
                    user_coupon: row.map(|r| r.to_proto()),
                })
            }
            .await,
        )
    }
}
