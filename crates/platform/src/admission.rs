//! The gate in front of a hot sale: a guarded call (a coupon claim of an
//! event with a waiting room, a booking on a guarded time sale) spends the
//! caller's admission token at the queue service before doing anything.
//! One client for every guarded service, so each refuses alike.

use staymesh_proto::queue::VerifyAdmissionRequest;
use staymesh_proto::queue::admission_service_client::AdmissionServiceClient;
use tonic::transport::Channel;
use uuid::Uuid;

use crate::rpc::{Error, Result};

/// Spends admission tokens.
#[tonic::async_trait]
pub trait Gate: Send + Sync + std::fmt::Debug {
    /// Spends `token` for `user` at `event`'s waiting room; FAILED_PRECONDITION
    /// naming the queue when it does not admit them.
    async fn spend(&self, event: Uuid, user: &str, token: &str) -> Result<()>;
}

/// The queue service's AdmissionService over gRPC.
#[derive(Debug, Clone)]
pub struct QueueGate {
    channel: Channel,
}

impl QueueGate {
    /// A client of the queue service at `url` (connected on first use).
    pub fn new(url: &str) -> Result<Self, crate::Error> {
        Ok(Self {
            channel: crate::client::channel("queue", url)?,
        })
    }
}

/// What a guarded call answers without a valid token.
pub fn refusal(event: Uuid, why: &str) -> Error {
    Error::Precondition(format!(
        "event {event} is behind a waiting room: enter queue {event} \
         (POST /v1/queues/{event}:enter) and pass the admission token it gives you ({why})"
    ))
}

#[tonic::async_trait]
impl Gate for QueueGate {
    async fn spend(&self, event: Uuid, user: &str, token: &str) -> Result<()> {
        if token.is_empty() {
            return Err(refusal(event, "no admission token was given"));
        }
        let answer = AdmissionServiceClient::new(self.channel.clone())
            .verify_admission(VerifyAdmissionRequest {
                event_id: event.to_string(),
                user_id: user.to_owned(),
                admission_token: token.to_owned(),
                consume: true,
            })
            .await
            .map_err(|status| crate::rpc::relay("queue", status))?
            .into_inner();
        if answer.admitted {
            Ok(())
        } else {
            Err(refusal(
                event,
                &format!("the admission token: {}", answer.reason),
            ))
        }
    }
}
