//! The user service's errors and their one mapping to gRPC statuses.

use std::time::Duration;

use staymesh_platform::FieldViolations;
use tonic::{Code, Status};
use tonic_types::{ErrorDetails, StatusExt};

/// Everything that can go wrong in this crate.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("invalid request: {0}")]
    Invalid(FieldViolations),
    /// Bad credentials or a dead session. The message is the same whatever the
    /// cause, so a caller cannot tell a wrong password from an unknown email.
    #[error("{0}")]
    Unauthenticated(&'static str),
    #[error("{0}")]
    PermissionDenied(String),
    #[error("{what} {id} not found")]
    NotFound { what: &'static str, id: String },
    #[error("{0}")]
    AlreadyExists(String),
    /// Valid, but the account's state refuses it.
    #[error("{0}")]
    Precondition(String),
    #[error("too many failed log-ins; retry in {} s", retry_after_secs(.retry_after))]
    RateLimited { retry_after: Duration },
    /// The token keys cannot sign (a broken configuration).
    #[error("token signing: {0}")]
    Signing(String),
    /// A password hash could not be computed or read.
    #[error("password hashing: {0}")]
    Hashing(String),
    #[error(transparent)]
    Platform(#[from] staymesh_platform::Error),
}

impl Error {
    pub(crate) fn invalid(field: &str, description: impl Into<String>) -> Self {
        Self::Invalid(FieldViolations::one(field, description))
    }

    pub(crate) fn not_found(what: &'static str, id: impl Into<String>) -> Self {
        Self::NotFound {
            what,
            id: id.into(),
        }
    }
}

/// Whole seconds, rounded up so a client that waits that long gets in.
fn retry_after_secs(retry_after: &Duration) -> u64 {
    retry_after.as_secs() + u64::from(retry_after.subsec_nanos() > 0)
}

staymesh_platform::service_error_conversions!(Error);

impl From<Error> for Status {
    fn from(error: Error) -> Self {
        match error {
            Error::Invalid(violations) => violations.into(),
            Error::Unauthenticated(message) => Status::unauthenticated(message),
            Error::PermissionDenied(message) => Status::permission_denied(message),
            Error::NotFound { what, id } => staymesh_platform::error::not_found(what, &id),
            Error::AlreadyExists(message) => Status::already_exists(message),
            Error::Precondition(message) => Status::failed_precondition(message),
            Error::RateLimited { retry_after } => {
                let message = error.to_string();
                let mut details = ErrorDetails::new();
                details.set_retry_info(Some(retry_after));
                let mut status =
                    Status::with_error_details(Code::ResourceExhausted, message, details);
                // Plain metadata too, for clients that do not read error details;
                // the HTTP edge turns it into a Retry-After header.
                let seconds = retry_after_secs(&retry_after).to_string();
                if let Ok(value) = seconds.parse() {
                    status.metadata_mut().insert("retry-after", value);
                }
                status
            }
            Error::Signing(_) | Error::Hashing(_) => staymesh_platform::error::internal(&error),
            Error::Platform(error) => error.into(),
        }
    }
}

/// Results of this crate.
pub(crate) type Result<T, E = Error> = std::result::Result<T, E>;
