//! Tokens for tests: `role:user-id` is a caller of that role and id, so a
//! test can be any number of guests, hosts and admins without signing.

use staymesh_platform::auth::{AuthError, Caller, Role, TokenVerifier};

/// Verifies `role:user-id` tokens (`guest:…`, `host:…`, `admin:…`).
#[derive(Debug, Clone, Copy, Default)]
pub struct FakeTokens;

impl TokenVerifier for FakeTokens {
    fn verify(&self, token: &str) -> Result<Caller, AuthError> {
        let (role, user_id) = token
            .split_once(':')
            .ok_or_else(|| AuthError::Invalid("not role:user".into()))?;
        Ok(Caller {
            user_id: user_id.to_owned(),
            role: Role::parse(role).ok_or_else(|| AuthError::Invalid("role".into()))?,
        })
    }
}

/// The user id behind a `role:user` token.
pub fn user_of(token: &str) -> &str {
    token.split_once(':').map_or(token, |(_, user)| user)
}
