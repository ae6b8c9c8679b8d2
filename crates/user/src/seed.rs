//! Demo accounts for local runs: a guest, a host that owns the demo
//! properties, and an admin, with fixed ids and passwords that the seed
//! prints. Idempotent: existing accounts keep their password and get any
//! missing role back.

use sqlx::PgPool;
use staymesh_platform::auth::Role;
use staymesh_platform::demo;
use staymesh_platform::rpc;
use staymesh_platform::service::{BoxError, Seeding, own_args};
use uuid::Uuid;

use crate::accounts::{self, NewAccount};
use crate::config::UserArgs;
use crate::error::{Error, Result};
use crate::password::Passwords;

/// A demo account as the seed prints it.
#[derive(Debug, Clone)]
pub struct DemoAccount {
    pub user_id: Uuid,
    pub email: &'static str,
    pub password: &'static str,
    pub role: Role,
    /// Whether this run created it.
    pub created: bool,
}

/// `staymesh seed`'s part: the three demo accounts, printed with their passwords.
pub(crate) async fn demo(seeding: Seeding) -> Result<Vec<String>, BoxError> {
    let args: UserArgs = own_args(&seeding.matches)?;
    let (pool, _redis) = crate::DESCRIPTOR.connect(&seeding.infra).await?;
    let mut lines = vec!["demo accounts (email / password / role):".to_owned()];
    for account in seed(&pool, &args).await? {
        lines.push(format!(
            "  {:<22} {:<18} {:<6} {}{}",
            account.email,
            account.password,
            account.role.as_str(),
            account.user_id,
            if account.created { "  (new)" } else { "" }
        ));
    }
    Ok(lines)
}

/// Creates the demo accounts where missing, with the ids of `platform::demo`.
pub async fn seed(pool: &PgPool, args: &UserArgs) -> Result<Vec<DemoAccount>> {
    let passwords = Passwords::new(
        args.argon2_memory_kib,
        args.argon2_iterations,
        args.argon2_parallelism,
    )?;
    let demo = [
        (
            demo::GUEST_ID,
            "guest@staymesh.dev",
            "Demo Guest",
            "staymesh-guest-1",
            Role::Guest,
        ),
        (
            demo::HOST_ID,
            "host@staymesh.dev",
            "Demo Host",
            "staymesh-host-1",
            Role::Host,
        ),
        (
            demo::ADMIN_ID,
            "admin@staymesh.dev",
            "Demo Admin",
            "staymesh-admin-1",
            Role::Admin,
        ),
    ];
    let mut seeded = Vec::new();
    for (user_id, email, name, password, role) in demo {
        let existing = accounts::find_by_email(pool, email).await?;
        let (user_id, created) = match existing {
            Some(account) => (account.user_id, false),
            None => {
                let roles = if role == Role::Guest {
                    vec![Role::Guest]
                } else {
                    vec![Role::Guest, role]
                };
                let new = NewAccount {
                    user_id,
                    email: email.into(),
                    name: name.into(),
                    phone: None,
                    password_hash: passwords.hash(password.into()).await?,
                    roles,
                };
                match accounts::create(pool, new).await {
                    Ok(account) => (account.user_id, true),
                    // Another seed run created it between our look-up and insert.
                    Err(Error::Rpc(rpc::Error::AlreadyExists(_))) => (user_id, false),
                    Err(error) => return Err(error),
                }
            }
        };
        if role != Role::Guest {
            accounts::grant_role(pool, user_id, role).await?;
        }
        seeded.push(DemoAccount {
            user_id,
            email,
            password,
            role,
            created,
        });
    }
    Ok(seeded)
}
