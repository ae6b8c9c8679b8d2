//! The auth seam: a layer reads `authorization: Bearer <token>`, asks a
//! [`TokenVerifier`] who the caller is, and leaves the answer in the request's
//! extensions for handlers. Public reads ignore it; protected RPCs call
//! [`require_caller`] / [`require_role`].
//!
//! [`jwt::JwtVerifier`] checks staymesh's EdDSA access tokens; with no
//! verifier configured every presented token is rejected, never trusted.

pub mod jwks;
pub mod jwt;

use std::sync::Arc;
use std::task::{Context, Poll};

use tower::{Layer, Service};

use crate::rpc;

/// What a caller may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Role {
    Guest,
    Host,
    Admin,
}

impl Role {
    /// Parses `GUEST`, `HOST` or `ADMIN` (any case).
    pub fn parse(text: &str) -> Option<Self> {
        match text.to_ascii_uppercase().as_str() {
            "GUEST" => Some(Self::Guest),
            "HOST" => Some(Self::Host),
            "ADMIN" => Some(Self::Admin),
            _ => None,
        }
    }

    /// `GUEST`, `HOST` or `ADMIN`, as tokens and databases spell it.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Guest => "GUEST",
            Self::Host => "HOST",
            Self::Admin => "ADMIN",
        }
    }
}

/// The authenticated caller of a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Caller {
    /// The user id (UUIDv7 string).
    pub user_id: String,
    pub role: Role,
}

impl Caller {
    pub fn is_admin(&self) -> bool {
        self.role == Role::Admin
    }

    /// The caller's user id as a UUID (a token whose subject is not one is
    /// not a user's).
    pub fn id(&self) -> Result<uuid::Uuid, rpc::Error> {
        uuid::Uuid::parse_str(&self.user_id)
            .map_err(|_| rpc::Error::Unauthenticated("the token's subject is not a user id".into()))
    }
}

/// The request's `authorization` header as sent (empty when absent), to
/// call another service as the same caller.
pub fn authorization<T>(request: &tonic::Request<T>) -> &str {
    request
        .metadata()
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
}

/// Why a presented token was not accepted.
#[derive(Debug, Clone, thiserror::Error, PartialEq, Eq)]
pub enum AuthError {
    #[error("authorization header is not `Bearer <token>`")]
    Malformed,
    #[error("invalid token: {0}")]
    Invalid(String),
    #[error("token expired")]
    Expired,
    #[error("no token verifier is configured")]
    NotConfigured,
}

/// Turns a bearer token into a caller. Implementations must be cheap to call
/// per request (cache keys, never call out on the hot path).
pub trait TokenVerifier: Send + Sync + std::fmt::Debug + 'static {
    fn verify(&self, token: &str) -> Result<Caller, AuthError>;

    /// Whether it can verify anything yet (keys fetched); a server reports
    /// NOT_SERVING until then, so no pod takes traffic it would refuse.
    fn is_ready(&self) -> bool {
        true
    }
}

/// Rejects every token: the default until real verification keys exist.
#[derive(Debug, Default, Clone, Copy)]
pub struct RejectAllTokens;

impl TokenVerifier for RejectAllTokens {
    fn verify(&self, _token: &str) -> Result<Caller, AuthError> {
        Err(AuthError::NotConfigured)
    }
}

/// What the auth layer concluded about a request, stored in its extensions.
#[derive(Debug, Clone)]
pub enum Authentication {
    Anonymous,
    Authenticated(Caller),
    Rejected(AuthError),
}

/// Reads bearer tokens and records an [`Authentication`] on each request.
#[derive(Debug, Clone)]
pub struct AuthLayer {
    verifier: Arc<dyn TokenVerifier>,
}

impl AuthLayer {
    pub fn new(verifier: Arc<dyn TokenVerifier>) -> Self {
        Self { verifier }
    }
}

impl<S> Layer<S> for AuthLayer {
    type Service = Auth<S>;

    fn layer(&self, inner: S) -> Self::Service {
        Auth {
            inner,
            verifier: self.verifier.clone(),
        }
    }
}

/// The service `AuthLayer` wraps around a server.
#[derive(Debug, Clone)]
pub struct Auth<S> {
    inner: S,
    verifier: Arc<dyn TokenVerifier>,
}

impl<S, B> Service<http::Request<B>> for Auth<S>
where
    S: Service<http::Request<B>>,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = S::Future;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut request: http::Request<B>) -> Self::Future {
        let authentication = authenticate(request.headers(), self.verifier.as_ref());
        request.extensions_mut().insert(authentication);
        self.inner.call(request)
    }
}

fn authenticate(headers: &http::HeaderMap, verifier: &dyn TokenVerifier) -> Authentication {
    let Some(value) = headers.get(http::header::AUTHORIZATION) else {
        return Authentication::Anonymous;
    };
    let token = value
        .to_str()
        .ok()
        .and_then(|v| {
            v.strip_prefix("Bearer ")
                .or_else(|| v.strip_prefix("bearer "))
        })
        .map(str::trim)
        .filter(|t| !t.is_empty());
    match token {
        None => Authentication::Rejected(AuthError::Malformed),
        Some(token) => match verifier.verify(token) {
            Ok(caller) => Authentication::Authenticated(caller),
            Err(error) => Authentication::Rejected(error),
        },
    }
}

/// The caller of a protected RPC, or UNAUTHENTICATED.
pub fn require_caller<T>(request: &tonic::Request<T>) -> Result<Caller, rpc::Error> {
    match request.extensions().get::<Authentication>() {
        Some(Authentication::Authenticated(caller)) => Ok(caller.clone()),
        Some(Authentication::Rejected(error)) => {
            Err(rpc::Error::Unauthenticated(error.to_string()))
        }
        Some(Authentication::Anonymous) | None => Err(rpc::Error::Unauthenticated(
            "this call needs `authorization: Bearer <token>`".into(),
        )),
    }
}

/// The caller, if it has one of `roles` (ADMIN always passes), or
/// UNAUTHENTICATED / PERMISSION_DENIED.
pub fn require_role<T>(request: &tonic::Request<T>, roles: &[Role]) -> Result<Caller, rpc::Error> {
    let caller = require_caller(request)?;
    if caller.is_admin() || roles.contains(&caller.role) {
        Ok(caller)
    } else {
        Err(rpc::Error::PermissionDenied(format!(
            "this call needs role {}",
            roles
                .iter()
                .map(|r| r.as_str())
                .collect::<Vec<_>>()
                .join(" or ")
        )))
    }
}

/// The caller when a valid token was presented; a bad token is still an error
/// (public reads that personalize their answer).
pub fn optional_caller<T>(request: &tonic::Request<T>) -> Result<Option<Caller>, rpc::Error> {
    match request.extensions().get::<Authentication>() {
        Some(Authentication::Authenticated(caller)) => Ok(Some(caller.clone())),
        Some(Authentication::Rejected(error)) => {
            Err(rpc::Error::Unauthenticated(error.to_string()))
        }
        Some(Authentication::Anonymous) | None => Ok(None),
    }
}

#[cfg(test)]
mod tests {
    use tonic::Status;

    use super::*;

    /// Knows one token, `t1`, a host's.
    #[derive(Debug)]
    struct OneToken;

    impl TokenVerifier for OneToken {
        fn verify(&self, token: &str) -> Result<Caller, AuthError> {
            match token {
                "t1" => Ok(Caller {
                    user_id: "u1".into(),
                    role: Role::Host,
                }),
                _ => Err(AuthError::Invalid("unknown token".into())),
            }
        }
    }

    fn request_with(auth: Authentication) -> tonic::Request<()> {
        let mut request = tonic::Request::new(());
        request.extensions_mut().insert(auth);
        request
    }

    #[test]
    fn bearer_tokens_are_parsed_and_verified() {
        let verifier = OneToken;
        let mut headers = http::HeaderMap::new();
        assert!(matches!(
            authenticate(&headers, &verifier),
            Authentication::Anonymous
        ));
        headers.insert("authorization", "Bearer t1".parse().unwrap());
        assert!(
            matches!(authenticate(&headers, &verifier), Authentication::Authenticated(c) if c.user_id == "u1")
        );
        headers.insert("authorization", "Basic abc".parse().unwrap());
        assert!(matches!(
            authenticate(&headers, &verifier),
            Authentication::Rejected(AuthError::Malformed)
        ));
        headers.insert("authorization", "Bearer nope".parse().unwrap());
        assert!(matches!(
            authenticate(&headers, &verifier),
            Authentication::Rejected(AuthError::Invalid(_))
        ));
    }

    #[test]
    fn roles_are_enforced() {
        let host = Caller {
            user_id: "h".into(),
            role: Role::Host,
        };
        let guest = Caller {
            user_id: "g".into(),
            role: Role::Guest,
        };
        let admin = Caller {
            user_id: "a".into(),
            role: Role::Admin,
        };
        assert!(
            require_role(
                &request_with(Authentication::Authenticated(host)),
                &[Role::Host]
            )
            .is_ok()
        );
        assert!(
            require_role(
                &request_with(Authentication::Authenticated(admin)),
                &[Role::Host]
            )
            .is_ok()
        );
        let denied = require_role(
            &request_with(Authentication::Authenticated(guest)),
            &[Role::Host],
        )
        .unwrap_err();
        assert_eq!(Status::from(denied).code(), tonic::Code::PermissionDenied);
        let anon =
            require_role(&request_with(Authentication::Anonymous), &[Role::Host]).unwrap_err();
        assert_eq!(Status::from(anon).code(), tonic::Code::Unauthenticated);
        let rejected = require_caller(&request_with(Authentication::Rejected(
            AuthError::NotConfigured,
        )))
        .unwrap_err();
        assert_eq!(Status::from(rejected).code(), tonic::Code::Unauthenticated);
    }
}
