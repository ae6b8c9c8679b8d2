//! Who the users are: Earn and Adjust name a user by id, and points must not
//! go to an account nobody owns. The user service knows; the admin's own
//! token is forwarded, since reading another user's account is an admin call.

use staymesh_platform::rpc::{Error, Result};
use staymesh_proto::user::GetUserRequest;
use staymesh_proto::user::user_service_client::UserServiceClient;
use tonic::Code;
use tonic::metadata::MetadataValue;
use tonic::transport::Channel;
use uuid::Uuid;

/// Answers whether a user exists.
#[tonic::async_trait]
pub trait Directory: Send + Sync + std::fmt::Debug {
    /// Whether `user` exists, asked with the caller's `authorization` header.
    async fn exists(&self, user: Uuid, authorization: &str) -> Result<bool>;
}

/// The user service over gRPC.
#[derive(Debug, Clone)]
pub struct UserDirectory {
    channel: Channel,
}

impl UserDirectory {
    /// A client of the user service at `url` (connected on first use).
    pub fn new(url: &str) -> Result<Self, staymesh_platform::Error> {
        let channel = staymesh_platform::client::channel("user", url)?;
        Ok(Self { channel })
    }
}

#[tonic::async_trait]
impl Directory for UserDirectory {
    async fn exists(&self, user: Uuid, authorization: &str) -> Result<bool> {
        let mut request = tonic::Request::new(GetUserRequest {
            user_id: user.to_string(),
        });
        let header = MetadataValue::try_from(authorization)
            .map_err(|_| Error::Unauthenticated("the authorization header is not ASCII".into()))?;
        request.metadata_mut().insert("authorization", header);
        match UserServiceClient::new(self.channel.clone())
            .get_user(request)
            .await
        {
            Ok(_) => Ok(true),
            Err(status) if status.code() == Code::NotFound => Ok(false),
            Err(status) => Err(Error::Infra(staymesh_platform::Error::Dependency {
                service: "user",
                status,
            })),
        }
    }
}
