//! Accounts in Postgres: create, find, change profile, password and roles.

use chrono::{DateTime, Utc};
use sqlx::{PgExecutor, PgPool};
use staymesh_platform::auth::Role;
use staymesh_platform::convert::timestamp;
use staymesh_platform::db::is_unique_violation;
use staymesh_platform::rpc;
use staymesh_proto::user as pb;
use uuid::Uuid;

use crate::error::{Error, Result};

/// One row of `app_user`.
#[derive(Debug, Clone, sqlx::FromRow)]
pub(crate) struct Account {
    pub(crate) user_id: Uuid,
    pub(crate) email: String,
    pub(crate) name: String,
    pub(crate) phone: Option<String>,
    pub(crate) password_hash: String,
    pub(crate) roles: Vec<String>,
    pub(crate) created_at: DateTime<Utc>,
    pub(crate) updated_at: DateTime<Utc>,
}

const COLUMNS: &str = "user_id, email, name, phone, password_hash, roles, created_at, updated_at";

impl Account {
    /// The strongest role: what an access token carries.
    pub(crate) fn role(&self) -> Role {
        self.roles
            .iter()
            .filter_map(|r| Role::parse(r))
            .max()
            .unwrap_or(Role::Guest)
    }

    pub(crate) fn to_proto(&self) -> pb::User {
        let mut roles: Vec<Role> = self.roles.iter().filter_map(|r| Role::parse(r)).collect();
        roles.sort_unstable();
        pb::User {
            user_id: self.user_id.to_string(),
            email: self.email.clone(),
            name: self.name.clone(),
            phone: self.phone.clone().unwrap_or_default(),
            roles: roles.into_iter().map(|r| role_to_proto(r) as i32).collect(),
            created_at: Some(timestamp(self.created_at)),
            updated_at: Some(timestamp(self.updated_at)),
        }
    }
}

pub(crate) fn role_to_proto(role: Role) -> pb::Role {
    match role {
        Role::Guest => pb::Role::Guest,
        Role::Host => pb::Role::Host,
        Role::Admin => pb::Role::Admin,
    }
}

pub(crate) fn role_from_proto(role: i32) -> Option<Role> {
    match pb::Role::try_from(role).ok()? {
        pb::Role::Guest => Some(Role::Guest),
        pb::Role::Host => Some(Role::Host),
        pb::Role::Admin => Some(Role::Admin),
        pb::Role::Unspecified => None,
    }
}

/// What a new account starts with.
#[derive(Debug)]
pub(crate) struct NewAccount {
    pub(crate) user_id: Uuid,
    pub(crate) email: String,
    pub(crate) name: String,
    pub(crate) phone: Option<String>,
    pub(crate) password_hash: String,
    pub(crate) roles: Vec<Role>,
}

/// Inserts an account; ALREADY_EXISTS if the email is taken (in any case).
pub(crate) async fn create(db: impl PgExecutor<'_>, new: NewAccount) -> Result<Account> {
    let roles: Vec<&str> = new.roles.iter().map(|r| r.as_str()).collect();
    let inserted = sqlx::query_as::<_, Account>(sqlx::AssertSqlSafe(format!(
        "INSERT INTO app_user (user_id, email, name, phone, password_hash, roles)
         VALUES ($1, $2, $3, $4, $5, $6) RETURNING {COLUMNS}"
    )))
    .bind(new.user_id)
    .bind(&new.email)
    .bind(&new.name)
    .bind(&new.phone)
    .bind(&new.password_hash)
    .bind(&roles)
    .fetch_one(db)
    .await;
    match inserted {
        Ok(account) => Ok(account),
        Err(e) if is_unique_violation(&e) => Err(Error::Rpc(rpc::Error::AlreadyExists(format!(
            "an account with email {} already exists",
            new.email
        )))),
        Err(e) => Err(e.into()),
    }
}

pub(crate) async fn find_by_email(db: impl PgExecutor<'_>, email: &str) -> Result<Option<Account>> {
    Ok(sqlx::query_as::<_, Account>(sqlx::AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM app_user WHERE lower(email) = lower($1)"
    )))
    .bind(email)
    .fetch_optional(db)
    .await?)
}

/// The account, or NOT_FOUND.
pub(crate) async fn get(db: impl PgExecutor<'_>, user_id: Uuid) -> Result<Account> {
    sqlx::query_as::<_, Account>(sqlx::AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM app_user WHERE user_id = $1"
    )))
    .bind(user_id)
    .fetch_optional(db)
    .await?
    .ok_or_else(|| Error::Rpc(rpc::Error::not_found("user", user_id.to_string())))
}

/// Sets the fields given; `None` keeps a field.
pub(crate) async fn update_profile(
    pool: &PgPool,
    user_id: Uuid,
    name: Option<&str>,
    phone: Option<&str>,
) -> Result<Account> {
    sqlx::query_as::<_, Account>(sqlx::AssertSqlSafe(format!(
        "UPDATE app_user SET name = coalesce($2, name), phone = coalesce($3, phone), updated_at = now()
         WHERE user_id = $1 RETURNING {COLUMNS}"
    )))
    .bind(user_id)
    .bind(name)
    .bind(phone)
    .fetch_optional(pool)
    .await?
    .ok_or_else(|| Error::Rpc(rpc::Error::not_found("user", user_id.to_string())))
}

pub(crate) async fn set_password_hash(
    db: impl PgExecutor<'_>,
    user_id: Uuid,
    password_hash: &str,
) -> Result<()> {
    sqlx::query("UPDATE app_user SET password_hash = $2, updated_at = now() WHERE user_id = $1")
        .bind(user_id)
        .bind(password_hash)
        .execute(db)
        .await?;
    Ok(())
}

/// Adds `role` (idempotent); NOT_FOUND for an unknown account.
pub(crate) async fn grant_role(pool: &PgPool, user_id: Uuid, role: Role) -> Result<Account> {
    sqlx::query_as::<_, Account>(sqlx::AssertSqlSafe(format!(
        "UPDATE app_user
         SET roles = CASE WHEN $2 = ANY (roles) THEN roles ELSE array_append(roles, $2) END,
             updated_at = CASE WHEN $2 = ANY (roles) THEN updated_at ELSE now() END
         WHERE user_id = $1 RETURNING {COLUMNS}"
    )))
    .bind(user_id)
    .bind(role.as_str())
    .fetch_optional(pool)
    .await?
    .ok_or_else(|| Error::Rpc(rpc::Error::not_found("user", user_id.to_string())))
}

/// Removes `role` (idempotent); NOT_FOUND for an unknown account.
pub(crate) async fn revoke_role(pool: &PgPool, user_id: Uuid, role: Role) -> Result<Account> {
    sqlx::query_as::<_, Account>(sqlx::AssertSqlSafe(format!(
        "UPDATE app_user
         SET roles = array_remove(roles, $2),
             updated_at = CASE WHEN $2 = ANY (roles) THEN now() ELSE updated_at END
         WHERE user_id = $1 RETURNING {COLUMNS}"
    )))
    .bind(user_id)
    .bind(role.as_str())
    .fetch_optional(pool)
    .await?
    .ok_or_else(|| Error::Rpc(rpc::Error::not_found("user", user_id.to_string())))
}
