//! What a booking costs, asked of the services that know: the stay from the
//! accommodation service (time sales and extra-guest fees included), the
//! coupon's discount from the coupon service, and the guest's available
//! points from the point service (asked with the guest's own token). Their
//! refusals reach the guest with the field they concern; their outages are
//! UNAVAILABLE, never the guest's fault.

use staymesh_platform::FieldViolations;
use staymesh_platform::client;
use staymesh_platform::rpc::{Error, Result, relay};
use staymesh_platform::service::ServiceUrls;
use staymesh_proto::accommodation::accommodation_service_client::AccommodationServiceClient;
use staymesh_proto::accommodation::inventory_service_client::InventoryServiceClient;
use staymesh_proto::accommodation::{GetPropertyRequest, QuoteStayRequest, QuoteStayResponse};
use staymesh_proto::common;
use staymesh_proto::coupon::QuoteDiscountRequest;
use staymesh_proto::coupon::coupon_booking_service_client::CouponBookingServiceClient;
use staymesh_proto::point::GetBalanceRequest;
use staymesh_proto::point::point_service_client::PointServiceClient;
use tonic::metadata::MetadataValue;
use tonic::transport::Channel;
use uuid::Uuid;

/// Clients of the services a booking is priced with.
#[derive(Debug, Clone)]
pub(crate) struct Pricing {
    accommodation: Channel,
    coupon: Channel,
    point: Channel,
}

/// A stay asked for.
#[derive(Debug, Clone)]
pub(crate) struct Stay {
    pub(crate) room_type_id: Uuid,
    pub(crate) check_in: common::Date,
    pub(crate) check_out: common::Date,
    pub(crate) guests: i32,
}

impl Pricing {
    pub(crate) fn new(urls: &ServiceUrls) -> Result<Self, staymesh_platform::Error> {
        Ok(Self {
            accommodation: client::channel("accommodation", urls.get("accommodation")?)?,
            coupon: client::channel("coupon", urls.get("coupon")?)?,
            point: client::channel("point", urls.get("point")?)?,
        })
    }

    /// The stay's price, property and host.
    pub(crate) async fn stay(&self, stay: &Stay) -> Result<QuoteStayResponse> {
        InventoryServiceClient::new(self.accommodation.clone())
            .quote_stay(QuoteStayRequest {
                room_type_id: stay.room_type_id.to_string(),
                check_in: Some(stay.check_in),
                check_out: Some(stay.check_out),
                guests: stay.guests,
                rooms: 1,
            })
            .await
            .map(tonic::Response::into_inner)
            .map_err(|status| relay("accommodation", status))
    }

    /// The discount `user_coupon_id` gives on `price`; a coupon that is not
    /// the guest's, used, expired or not applicable is refused naming
    /// `user_coupon_id`.
    pub(crate) async fn discount(
        &self,
        booking_id: Uuid,
        user_id: Uuid,
        user_coupon_id: Uuid,
        host_id: &str,
        price: i64,
    ) -> Result<i64> {
        let quoted = CouponBookingServiceClient::new(self.coupon.clone())
            .quote_discount(QuoteDiscountRequest {
                booking_id: booking_id.to_string(),
                user_id: user_id.to_string(),
                user_coupon_id: user_coupon_id.to_string(),
                host_id: host_id.to_owned(),
                price: Some(staymesh_platform::convert::money(price)),
            })
            .await
            .map(tonic::Response::into_inner);
        match quoted {
            Ok(q) if q.applicable => Ok(q.discount.map_or(0, |d| d.amount)),
            Ok(q) => Err(Error::Precondition(format!(
                "user_coupon_id: the coupon does not apply: {}",
                q.reason
            ))),
            Err(status) => Err(match relay("coupon", status) {
                Error::Invalid(_) => Error::invalid("user_coupon_id", "is not a coupon of yours"),
                Error::Missing(message) | Error::PermissionDenied(message) => {
                    Error::Missing(format!("user_coupon_id: {message}"))
                }
                Error::Precondition(message) => {
                    Error::Precondition(format!("user_coupon_id: {message}"))
                }
                other => other,
            }),
        }
    }

    /// The host of property `property_id`.
    pub(crate) async fn property_host(&self, property_id: Uuid) -> Result<String> {
        AccommodationServiceClient::new(self.accommodation.clone())
            .get_property(GetPropertyRequest {
                property_id: property_id.to_string(),
            })
            .await
            .map(|r| {
                r.into_inner()
                    .property
                    .map(|p| p.host_id)
                    .unwrap_or_default()
            })
            .map_err(|status| relay("accommodation", status))
    }

    /// The points the caller may use now, asked with their `authorization`.
    pub(crate) async fn available_points(&self, authorization: &str) -> Result<i64> {
        let mut request = tonic::Request::new(GetBalanceRequest {});
        let header = MetadataValue::try_from(authorization)
            .map_err(|_| Error::Unauthenticated("the authorization header is not ASCII".into()))?;
        request.metadata_mut().insert("authorization", header);
        PointServiceClient::new(self.point.clone())
            .get_balance(request)
            .await
            .map(|r| r.into_inner().available)
            .map_err(|status| relay("point", status))
    }
}

/// Points asked for, checked against what is left to pay and what the guest has.
pub(crate) fn check_points(
    points: i64,
    left_to_pay: i64,
    available: Option<i64>,
) -> Result<(), FieldViolations> {
    let mut v = FieldViolations::new();
    if points > left_to_pay {
        v.add(
            "points_to_use",
            format!("must be at most {left_to_pay}, the price left after the discount"),
        );
    } else if let Some(available) = available.filter(|a| points > *a) {
        v.add(
            "points_to_use",
            format!("must be at most {available}, the points you have available"),
        );
    }
    v.into_result()
}
