//! The one shape of a gRPC handler in every service: a domain function returns
//! `Result<T, rpc::Error>` (or a service error that wraps it), and the trait
//! method is a one-liner, `reply(domain_fn(..).await)`.
//!
//! [`Error`] holds the answers every service shares besides success, and its
//! mapping to `tonic::Status` is one exhaustive match: bad input is
//! INVALID_ARGUMENT with google.rpc.BadRequest field violations, a fault of
//! the infrastructure is UNAVAILABLE or INTERNAL and leaks nothing. A service
//! with answers of its own (the user service's rate limit) wraps this enum in
//! its own and maps only those.

use tonic::{Response, Status};

use crate::error::FieldViolations;

/// What a handler answers when it does not succeed.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Bad input, each field with its reason (INVALID_ARGUMENT).
    #[error("invalid request: {0}")]
    Invalid(FieldViolations),
    #[error("{what} {id} not found")]
    NotFound { what: &'static str, id: String },
    /// NOT_FOUND in words of its own (another service's answer, passed on).
    #[error("{0}")]
    Missing(String),
    #[error("{0}")]
    AlreadyExists(String),
    /// Valid, but the state of what it names refuses it (FAILED_PRECONDITION).
    #[error("{0}")]
    Precondition(String),
    #[error("{0}")]
    PermissionDenied(String),
    #[error("{0}")]
    Unauthenticated(String),
    /// A database, cache, broker or socket fault (UNAVAILABLE or INTERNAL).
    #[error(transparent)]
    Infra(#[from] crate::Error),
}

/// Results of handlers and the domain functions behind them.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// What a tonic trait method returns.
pub type Reply<T> = std::result::Result<Response<T>, Status>;

/// The one-line body of every trait method: the domain function's answer on
/// the wire.
pub fn reply<T, E: Into<Status>>(result: std::result::Result<T, E>) -> Reply<T> {
    result.map(Response::new).map_err(Into::into)
}

impl Error {
    /// One bad field.
    pub fn invalid(field: &str, description: impl Into<String>) -> Self {
        Self::Invalid(FieldViolations::one(field, description))
    }

    /// NOT_FOUND naming what was looked for, e.g. `not_found("property", id)`.
    pub fn not_found(what: &'static str, id: impl Into<String>) -> Self {
        Self::NotFound {
            what,
            id: id.into(),
        }
    }
}

impl From<Error> for Status {
    fn from(error: Error) -> Self {
        match error {
            Error::Invalid(violations) => violations.into(),
            Error::NotFound { what, id } => crate::error::not_found(what, &id),
            Error::Missing(message) => Status::not_found(message),
            Error::AlreadyExists(message) => Status::already_exists(message),
            Error::Precondition(message) => Status::failed_precondition(message),
            Error::PermissionDenied(message) => Status::permission_denied(message),
            Error::Unauthenticated(message) => Status::unauthenticated(message),
            Error::Infra(error) => error.into(),
        }
    }
}

/// What another service of the mesh answered, as this service's own answer:
/// its refusals keep their meaning (bad input with its fields, not found,
/// precondition, permission, conflict); anything else is a fault of the
/// dependency `service` (UNAVAILABLE), never the caller's.
pub fn relay(service: &'static str, status: Status) -> Error {
    use tonic::Code;
    let message = status.message().to_owned();
    match status.code() {
        Code::InvalidArgument => Error::Invalid(FieldViolations::of_status(&status)),
        Code::NotFound => Error::Missing(message),
        Code::FailedPrecondition => Error::Precondition(message),
        Code::PermissionDenied => Error::PermissionDenied(message),
        Code::AlreadyExists => Error::AlreadyExists(message),
        _ => Error::Infra(crate::Error::Dependency { service, status }),
    }
}

impl From<FieldViolations> for Error {
    fn from(violations: FieldViolations) -> Self {
        Self::Invalid(violations)
    }
}

impl From<sqlx::Error> for Error {
    fn from(error: sqlx::Error) -> Self {
        Self::Infra(error.into())
    }
}

impl From<fred::error::Error> for Error {
    fn from(error: fred::error::Error) -> Self {
        Self::Infra(error.into())
    }
}

impl From<rdkafka::error::KafkaError> for Error {
    fn from(error: rdkafka::error::KafkaError) -> Self {
        Self::Infra(error.into())
    }
}

/// For a service error that wraps [`Error`] in a variant `Rpc` next to its
/// own: everything that converts into [`Error`] converts into it too, so `?`
/// works on a FieldViolations, a sqlx or a fred error alike.
#[macro_export]
macro_rules! wraps_rpc_error {
    ($error:ty) => {
        impl From<$crate::FieldViolations> for $error {
            fn from(violations: $crate::FieldViolations) -> Self {
                Self::Rpc(violations.into())
            }
        }

        impl From<$crate::Error> for $error {
            fn from(error: $crate::Error) -> Self {
                Self::Rpc(error.into())
            }
        }

        impl From<sqlx::Error> for $error {
            fn from(error: sqlx::Error) -> Self {
                Self::Rpc(error.into())
            }
        }

        impl From<fred::error::Error> for $error {
            fn from(error: fred::error::Error) -> Self {
                Self::Rpc(error.into())
            }
        }
    };
}

#[cfg(test)]
mod tests {
    use tonic::Code;

    use super::*;

    #[test]
    fn every_shared_answer_has_its_code() {
        let cases = [
            (
                Error::invalid("guests", "must be at least 1"),
                Code::InvalidArgument,
            ),
            (Error::not_found("property", "x"), Code::NotFound),
            (Error::AlreadyExists("taken".into()), Code::AlreadyExists),
            (
                Error::Precondition("sold out".into()),
                Code::FailedPrecondition,
            ),
            (
                Error::PermissionDenied("not yours".into()),
                Code::PermissionDenied,
            ),
            (
                Error::Unauthenticated("no token".into()),
                Code::Unauthenticated,
            ),
            (
                Error::Infra(crate::Error::Config("secret".into())),
                Code::Internal,
            ),
        ];
        for (error, code) in cases {
            let status = Status::from(error);
            assert_eq!(status.code(), code, "{status:?}");
            assert!(!status.message().contains("secret"));
        }
    }

    #[test]
    fn a_relayed_refusal_keeps_its_meaning_and_a_fault_becomes_unavailable() {
        let cases = [
            (Error::invalid("guests", "too many"), Code::InvalidArgument),
            (Error::not_found("room type", "x"), Code::NotFound),
            (
                Error::Precondition("sold out".into()),
                Code::FailedPrecondition,
            ),
            (Error::PermissionDenied("no".into()), Code::PermissionDenied),
            (
                Error::Infra(crate::Error::Config("secret".into())),
                Code::Unavailable,
            ),
        ];
        for (error, code) in cases {
            let relayed = Status::from(relay("other", Status::from(error)));
            assert_eq!(relayed.code(), code, "{relayed:?}");
        }
        let fields = Status::from(relay(
            "other",
            Status::from(Error::invalid("guests", "too many")),
        ));
        assert_eq!(
            crate::error::FieldViolations::of_status(&fields)
                .iter()
                .next()
                .map(|v| v.field.as_str()),
            Some("guests")
        );
    }
}
