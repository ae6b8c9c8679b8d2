//! The user service's own answers, next to the ones every service shares
//! (`platform::rpc::Error`), and their mapping to gRPC statuses.

use std::time::Duration;

use staymesh_platform::rpc;
use tonic::{Code, Status};
use tonic_types::{ErrorDetails, StatusExt};

/// Everything that can go wrong in this crate.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// What every service answers: bad input, not found, unauthenticated, ...
    /// A bad credential or dead session is `Unauthenticated` with the same
    /// message whatever the cause, so a wrong password and an unknown email
    /// look alike.
    #[error(transparent)]
    Rpc(#[from] rpc::Error),
    #[error("too many failed log-ins; retry in {} s", retry_after_secs(.retry_after))]
    RateLimited { retry_after: Duration },
    /// The token keys cannot sign (a broken configuration).
    #[error("token signing: {0}")]
    Signing(String),
    /// A password hash could not be computed or read.
    #[error("password hashing: {0}")]
    Hashing(String),
}

impl Error {
    pub(crate) fn invalid(field: &str, description: impl Into<String>) -> Self {
        rpc::Error::invalid(field, description).into()
    }

    pub(crate) fn unauthenticated(message: &str) -> Self {
        rpc::Error::Unauthenticated(message.to_owned()).into()
    }
}

/// Whole seconds, rounded up so a client that waits that long gets in.
fn retry_after_secs(retry_after: &Duration) -> u64 {
    retry_after.as_secs() + u64::from(retry_after.subsec_nanos() > 0)
}

staymesh_platform::wraps_rpc_error!(Error);

impl From<Error> for Status {
    fn from(error: Error) -> Self {
        match error {
            Error::Rpc(error) => error.into(),
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
        }
    }
}

/// Results of this crate.
pub(crate) type Result<T, E = Error> = std::result::Result<T, E>;
