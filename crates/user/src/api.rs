//! The UserService on the wire: each method hands its request to the domain
//! function of the same name in `handlers`.

use std::time::Duration;

use sqlx::PgPool;
use staymesh_platform::rpc::{Reply, reply};
use staymesh_proto::user as pb;
use staymesh_proto::user::user_service_server::UserService;
use tonic::Request;

use crate::keyring::Keyring;
use crate::login_limit::LoginLimit;
use crate::password::Passwords;

/// Shared state of the service's handlers.
#[derive(Debug, Clone)]
pub struct Users {
    pub(crate) pool: PgPool,
    pub(crate) keyring: Keyring,
    pub(crate) passwords: Passwords,
    pub(crate) login_limit: LoginLimit,
    pub(crate) access_ttl: Duration,
    pub(crate) refresh_ttl: Duration,
    pub(crate) trust_forwarded_for: bool,
}

#[tonic::async_trait]
impl UserService for Users {
    async fn sign_up(&self, request: Request<pb::SignUpRequest>) -> Reply<pb::SignUpResponse> {
        reply(Users::sign_up(self, request).await)
    }

    async fn log_in(&self, request: Request<pb::LogInRequest>) -> Reply<pb::LogInResponse> {
        reply(Users::log_in(self, request).await)
    }

    async fn refresh(&self, request: Request<pb::RefreshRequest>) -> Reply<pb::RefreshResponse> {
        reply(Users::refresh(self, request).await)
    }

    async fn log_out(&self, request: Request<pb::LogOutRequest>) -> Reply<pb::LogOutResponse> {
        reply(Users::log_out(self, request).await)
    }

    async fn get_me(&self, request: Request<pb::GetMeRequest>) -> Reply<pb::GetMeResponse> {
        reply(Users::get_me(self, request).await)
    }

    async fn update_me(
        &self,
        request: Request<pb::UpdateMeRequest>,
    ) -> Reply<pb::UpdateMeResponse> {
        reply(Users::update_me(self, request).await)
    }

    async fn change_password(
        &self,
        request: Request<pb::ChangePasswordRequest>,
    ) -> Reply<pb::ChangePasswordResponse> {
        reply(Users::change_password(self, request).await)
    }

    async fn get_user(&self, request: Request<pb::GetUserRequest>) -> Reply<pb::GetUserResponse> {
        reply(Users::get_user(self, request).await)
    }

    async fn grant_role(
        &self,
        request: Request<pb::GrantRoleRequest>,
    ) -> Reply<pb::GrantRoleResponse> {
        reply(Users::grant_role(self, request).await)
    }

    async fn revoke_role(
        &self,
        request: Request<pb::RevokeRoleRequest>,
    ) -> Reply<pb::RevokeRoleResponse> {
        reply(Users::revoke_role(self, request).await)
    }

    async fn get_jwks(&self, request: Request<pb::GetJwksRequest>) -> Reply<pb::GetJwksResponse> {
        reply(Users::get_jwks(self, request).await)
    }
}
