//! The accommodation service's errors and their one mapping to gRPC statuses.

use staymesh_platform::FieldViolations;
use tonic::Status;

/// Everything that can go wrong in this crate.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("invalid request: {0}")]
    Invalid(FieldViolations),
    #[error("{what} {id} not found")]
    NotFound { what: &'static str, id: String },
    /// The request is valid but the state of the calendar or a hold refuses it.
    #[error("{0}")]
    Precondition(String),
    #[error("{0}")]
    PermissionDenied(String),
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

staymesh_platform::service_error_conversions!(Error);

impl From<Error> for Status {
    fn from(error: Error) -> Self {
        match error {
            Error::Invalid(violations) => violations.into(),
            Error::NotFound { what, id } => staymesh_platform::error::not_found(what, &id),
            Error::Precondition(message) => Status::failed_precondition(message),
            Error::PermissionDenied(message) => Status::permission_denied(message),
            Error::Platform(error) => error.into(),
        }
    }
}

/// Results of this crate.
pub(crate) type Result<T, E = Error> = std::result::Result<T, E>;
