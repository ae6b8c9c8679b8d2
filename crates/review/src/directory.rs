//! What the review service asks of others, with the caller's own token: the
//! author's display name (the user service) and, when a review arrives
//! before the stay's BookingCompleted event, the booking itself (the
//! booking service), which is only believed when COMPLETED.

use chrono::{DateTime, Utc};
use staymesh_platform::convert::datetime;
use staymesh_platform::rpc::{Error, Result, relay};
use staymesh_proto::booking::booking_service_client::BookingServiceClient;
use staymesh_proto::booking::{BookingState, GetBookingRequest};
use staymesh_proto::user::GetMeRequest;
use staymesh_proto::user::user_service_client::UserServiceClient;
use tonic::metadata::MetadataValue;
use tonic::transport::Channel;
use uuid::Uuid;

/// A completed stay: who stayed where, and when it ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stay {
    pub booking_id: Uuid,
    pub user_id: Uuid,
    pub property_id: Uuid,
    pub room_type_id: Uuid,
    pub completed_at: DateTime<Utc>,
}

/// Answers about users and bookings.
#[tonic::async_trait]
pub trait Directory: Send + Sync + std::fmt::Debug {
    /// The display name of the caller whose `authorization` this is.
    async fn author_name(&self, authorization: &str) -> Result<String>;
    /// The caller's booking, if it is theirs and COMPLETED.
    async fn completed_stay(&self, booking_id: Uuid, authorization: &str) -> Result<Option<Stay>>;
}

/// The user and booking services over gRPC.
#[derive(Debug, Clone)]
pub struct MeshDirectory {
    user: Channel,
    booking: Channel,
}

impl MeshDirectory {
    pub fn new(user_url: &str, booking_url: &str) -> Result<Self, staymesh_platform::Error> {
        Ok(Self {
            user: staymesh_platform::client::channel("user", user_url)?,
            booking: staymesh_platform::client::channel("booking", booking_url)?,
        })
    }
}

fn with_token<T>(message: T, authorization: &str) -> Result<tonic::Request<T>> {
    let mut request = tonic::Request::new(message);
    let header = MetadataValue::try_from(authorization)
        .map_err(|_| Error::Unauthenticated("the authorization header is not ASCII".into()))?;
    request.metadata_mut().insert("authorization", header);
    Ok(request)
}

#[tonic::async_trait]
impl Directory for MeshDirectory {
    async fn author_name(&self, authorization: &str) -> Result<String> {
        let me = UserServiceClient::new(self.user.clone())
            .get_me(with_token(GetMeRequest {}, authorization)?)
            .await
            .map_err(|status| relay("user", status))?
            .into_inner();
        Ok(me.user.map(|u| u.name).unwrap_or_default())
    }

    async fn completed_stay(&self, booking_id: Uuid, authorization: &str) -> Result<Option<Stay>> {
        let answer = BookingServiceClient::new(self.booking.clone())
            .get_booking(with_token(
                GetBookingRequest {
                    booking_id: booking_id.to_string(),
                },
                authorization,
            )?)
            .await;
        let booking = match answer {
            Ok(found) => found.into_inner().booking,
            // Not the caller's, or no such booking: nothing to review.
            Err(status) if status.code() == tonic::Code::NotFound => None,
            Err(status) => return Err(relay("booking", status)),
        };
        let Some(b) = booking.filter(|b| b.state == BookingState::Completed as i32) else {
            return Ok(None);
        };
        let id = |text: &str| Uuid::parse_str(text).ok();
        Ok(
            match (
                id(&b.user_id),
                id(&b.property_id),
                id(&b.room_type_id),
                b.completed_at.as_ref().and_then(datetime),
            ) {
                (Some(user_id), Some(property_id), Some(room_type_id), Some(completed_at)) => {
                    Some(Stay {
                        booking_id,
                        user_id,
                        property_id,
                        room_type_id,
                        completed_at,
                    })
                }
                _ => None,
            },
        )
    }
}
