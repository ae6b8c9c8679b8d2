//! What each UserService RPC does: validation, authorization, and calls into
//! accounts, sessions, passwords, the keyring and the log-in limit. `api`
//! wires these to the gRPC trait, one line each.

use std::net::IpAddr;

use sqlx::PgConnection;
use staymesh_platform::FieldViolations;
use staymesh_platform::auth::{Caller, Role, require_caller, require_role};
use staymesh_platform::client_addr::client_address;
use staymesh_platform::convert::{require_id, timestamp};
use staymesh_platform::rpc;
use staymesh_proto::user as pb;
use tonic::Request;
use uuid::Uuid;

use crate::accounts::{self, Account, NewAccount, role_from_proto};
use crate::api::Users;
use crate::error::{Error, Result};
use crate::sessions;
use crate::validate;

/// One answer for an unknown email and a wrong password alike.
const BAD_CREDENTIALS: &str = "email or password is wrong";

/// The caller's id as a UUID (tokens carry it as a string).
fn caller_id(caller: &Caller) -> Result<Uuid> {
    Uuid::parse_str(&caller.user_id)
        .map_err(|_| Error::unauthenticated("the token's subject is not a user id"))
}

impl Users {
    /// A new session for `account`: an access token and the first refresh token.
    async fn tokens(&self, db: &mut PgConnection, account: &Account) -> Result<pb::Tokens> {
        let refresh = sessions::start(db, account.user_id, self.refresh_ttl).await?;
        self.tokens_with(account, refresh)
    }

    fn tokens_with(&self, account: &Account, refresh: sessions::Issued) -> Result<pb::Tokens> {
        let (access_token, access_expires_at) =
            self.keyring
                .access_token(account.user_id, account.role(), self.access_ttl)?;
        Ok(pb::Tokens {
            access_token,
            access_token_expires_at: Some(timestamp(access_expires_at)),
            refresh_token: refresh.token,
            refresh_token_expires_at: Some(timestamp(refresh.expires_at)),
            token_type: "Bearer".into(),
        })
    }

    pub(crate) async fn sign_up(
        &self,
        request: Request<pb::SignUpRequest>,
    ) -> Result<pb::SignUpResponse> {
        // The contract's rules on every field were checked before this ran.
        let request = request.into_inner();
        let email = validate::email(&request.email);
        let name = validate::name(&request.name);
        let phone = validate::phone(&request.phone);
        let password_hash = self.passwords.hash(request.password).await?;
        let mut tx = self.pool.begin().await?;
        let account = accounts::create(
            &mut *tx,
            NewAccount {
                user_id: Uuid::now_v7(),
                email,
                name,
                phone,
                password_hash,
                roles: vec![Role::Guest],
            },
        )
        .await?;
        let tokens = self.tokens(&mut tx, &account).await?;
        tx.commit().await?;
        metrics::counter!("user_sign_ups_total").increment(1);
        Ok(pb::SignUpResponse {
            user: Some(account.to_proto()),
            tokens: Some(tokens),
        })
    }

    /// Checks `password` for the account of `email` under the log-in limit:
    /// the account on success, UNAUTHENTICATED (the same for an unknown email)
    /// or RESOURCE_EXHAUSTED otherwise.
    async fn authenticate(
        &self,
        email: &str,
        password: String,
        address: Option<IpAddr>,
    ) -> Result<Account> {
        self.login_limit.attempt(email, address).await?;
        let account = accounts::find_by_email(&self.pool, email).await?;
        let hash = account.as_ref().map(|a| a.password_hash.clone());
        match account {
            Some(account) if self.passwords.verify(password, hash).await? => {
                self.login_limit.succeeded(email, address).await?;
                Ok(account)
            }
            _ => {
                metrics::counter!("user_login_failures_total").increment(1);
                Err(Error::unauthenticated(BAD_CREDENTIALS))
            }
        }
    }

    pub(crate) async fn log_in(
        &self,
        request: Request<pb::LogInRequest>,
    ) -> Result<pb::LogInResponse> {
        let address = client_address(&request, self.trust_forwarded_for);
        let request = request.into_inner();
        // The contract requires both.
        let email = validate::email(&request.email);
        let account = self.authenticate(&email, request.password, address).await?;
        let mut conn = self.pool.acquire().await?;
        let tokens = self.tokens(&mut conn, &account).await?;
        Ok(pb::LogInResponse {
            user: Some(account.to_proto()),
            tokens: Some(tokens),
        })
    }

    pub(crate) async fn refresh(
        &self,
        request: Request<pb::RefreshRequest>,
    ) -> Result<pb::RefreshResponse> {
        let request = request.into_inner();
        if request.refresh_token.is_empty() {
            return Err(Error::invalid("refresh_token", "is required"));
        }
        let (user_id, refresh) =
            sessions::rotate(&self.pool, &request.refresh_token, self.refresh_ttl).await?;
        // Roles may have changed since the last token: read them afresh.
        let account = accounts::get(&self.pool, user_id).await?;
        Ok(pb::RefreshResponse {
            tokens: Some(self.tokens_with(&account, refresh)?),
        })
    }

    pub(crate) async fn log_out(
        &self,
        request: Request<pb::LogOutRequest>,
    ) -> Result<pb::LogOutResponse> {
        let caller = require_caller(&request)
            .map_err(|_| Error::unauthenticated("all_sessions needs a bearer access token"));
        let request = request.into_inner();
        if request.all_sessions {
            let user_id = caller_id(&caller?)?;
            let mut conn = self.pool.acquire().await?;
            sessions::end_all(&mut conn, user_id).await?;
        } else if request.refresh_token.is_empty() {
            return Err(Error::invalid(
                "refresh_token",
                "is required unless all_sessions is set",
            ));
        } else {
            sessions::end(&self.pool, &request.refresh_token).await?;
        }
        Ok(pb::LogOutResponse {})
    }

    pub(crate) async fn update_me(
        &self,
        request: Request<pb::UpdateMeRequest>,
    ) -> Result<pb::UpdateMeResponse> {
        let caller = &require_caller(&request)?;
        let request = request.into_inner();
        let name = Some(validate::name(&request.name)).filter(|n| !n.is_empty());
        let phone = validate::phone(&request.phone);
        let account = accounts::update_profile(
            &self.pool,
            caller_id(caller)?,
            name.as_deref(),
            phone.as_deref(),
        )
        .await?;
        Ok(pb::UpdateMeResponse {
            user: Some(account.to_proto()),
        })
    }

    pub(crate) async fn change_password(
        &self,
        request: Request<pb::ChangePasswordRequest>,
    ) -> Result<pb::ChangePasswordResponse> {
        let caller = &require_caller(&request)?;
        let address = client_address(&request, self.trust_forwarded_for);
        let request = request.into_inner();
        // The contract requires both; that they differ relates the two.
        if request.new_password == request.current_password {
            return Err(FieldViolations::one(
                "new_password",
                "must differ from the current password",
            )
            .into());
        }
        let account = accounts::get(&self.pool, caller_id(caller)?).await?;
        // The same limit as log-in: a stolen access token must not become a
        // way to guess the password.
        let checked = self
            .authenticate(&account.email, request.current_password, address)
            .await;
        if let Err(Error::Rpc(rpc::Error::Unauthenticated(_))) = checked {
            return Err(Error::invalid("current_password", "is wrong"));
        }
        let account = checked?;
        let hash = self.passwords.hash(request.new_password).await?;
        let mut tx = self.pool.begin().await?;
        accounts::set_password_hash(&mut *tx, account.user_id, &hash).await?;
        sessions::end_all(&mut tx, account.user_id).await?;
        let tokens = self.tokens(&mut tx, &account).await?;
        tx.commit().await?;
        Ok(pb::ChangePasswordResponse {
            tokens: Some(tokens),
        })
    }

    /// The role of a grant or revoke: HOST or ADMIN (GUEST is every account's).
    fn grantable(role: i32) -> Result<Role> {
        match role_from_proto(role) {
            Some(role @ (Role::Host | Role::Admin)) => Ok(role),
            Some(Role::Guest) => Err(Error::invalid(
                "role",
                "every account is a GUEST; grant or revoke HOST or ADMIN",
            )),
            None => Err(Error::invalid("role", "must be ROLE_HOST or ROLE_ADMIN")),
        }
    }

    pub(crate) async fn get_me(
        &self,
        request: Request<pb::GetMeRequest>,
    ) -> Result<pb::GetMeResponse> {
        let caller = require_caller(&request)?;
        let account = accounts::get(&self.pool, caller_id(&caller)?).await?;
        Ok(pb::GetMeResponse {
            user: Some(account.to_proto()),
        })
    }

    pub(crate) async fn get_user(
        &self,
        request: Request<pb::GetUserRequest>,
    ) -> Result<pb::GetUserResponse> {
        require_role(&request, &[Role::Admin])?;
        let user_id = require_id(&request.get_ref().user_id, "user_id")?;
        let account = accounts::get(&self.pool, user_id).await?;
        Ok(pb::GetUserResponse {
            user: Some(account.to_proto()),
        })
    }

    pub(crate) async fn grant_role(
        &self,
        request: Request<pb::GrantRoleRequest>,
    ) -> Result<pb::GrantRoleResponse> {
        require_role(&request, &[Role::Admin])?;
        let r = request.get_ref();
        let user_id = require_id(&r.user_id, "user_id")?;
        let role = Users::grantable(r.role)?;
        let account = accounts::grant_role(&self.pool, user_id, role).await?;
        tracing::info!(%user_id, role = role.as_str(), "role granted");
        Ok(pb::GrantRoleResponse {
            user: Some(account.to_proto()),
        })
    }

    pub(crate) async fn revoke_role(
        &self,
        request: Request<pb::RevokeRoleRequest>,
    ) -> Result<pb::RevokeRoleResponse> {
        let caller = require_role(&request, &[Role::Admin])?;
        let r = request.get_ref();
        let user_id = require_id(&r.user_id, "user_id")?;
        let role = Users::grantable(r.role)?;
        if role == Role::Admin && caller.user_id == user_id.to_string() {
            // Otherwise the last admin could lock everybody out.
            return Err(rpc::Error::Precondition(
                "an admin cannot revoke their own ADMIN role".into(),
            )
            .into());
        }
        let account = accounts::revoke_role(&self.pool, user_id, role).await?;
        tracing::info!(%user_id, role = role.as_str(), "role revoked");
        Ok(pb::RevokeRoleResponse {
            user: Some(account.to_proto()),
        })
    }

    pub(crate) async fn get_jwks(
        &self,
        _request: Request<pb::GetJwksRequest>,
    ) -> Result<pb::GetJwksResponse> {
        Ok(pb::GetJwksResponse {
            keys: self.keyring.jwks(),
        })
    }
}
