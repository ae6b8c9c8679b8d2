//! Errors and their gRPC statuses. Domain crates keep their own `thiserror`
//! enum and map it to a `Status` with the helpers here, so every service
//! reports bad input, missing things and infrastructure faults the same way:
//! bad input is INVALID_ARGUMENT with google.rpc.BadRequest field violations;
//! infrastructure faults are UNAVAILABLE or INTERNAL with no internals leaked.

use tonic::Status;

/// Faults of the shared infrastructure: databases, caches, brokers, sockets.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("postgres: {0}")]
    Postgres(#[from] sqlx::Error),
    #[error("postgres migration: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    #[error("redis: {0}")]
    Redis(#[from] fred::error::Error),
    #[error("kafka: {0}")]
    Kafka(#[from] rdkafka::error::KafkaError),
    #[error("grpc transport: {0}")]
    Transport(#[from] tonic::transport::Error),
    #[error("i/o: {0}")]
    Io(#[from] std::io::Error),
    #[error("message decode: {0}")]
    Decode(#[from] prost::DecodeError),
    #[error("configuration: {0}")]
    Config(String),
    /// Another service of the mesh failed a call this one depends on.
    #[error("{service} service: {status}")]
    Dependency {
        service: &'static str,
        status: tonic::Status,
    },
    #[error("telemetry: {0}")]
    Telemetry(String),
}

impl Error {
    /// Whether retrying may help: a dependency that did not answer, as
    /// opposed to a bad configuration, migration or message.
    pub fn is_transient(&self) -> bool {
        match self {
            Error::Postgres(sqlx::Error::Configuration(_)) => false,
            Error::Postgres(sqlx::Error::Database(e)) => {
                // 28P01 bad password, 3D000 no such database: retrying won't help.
                !matches!(
                    e.code().as_deref(),
                    Some("28P01") | Some("3D000") | Some("28000")
                )
            }
            Error::Postgres(_)
            | Error::Redis(_)
            | Error::Kafka(_)
            | Error::Transport(_)
            | Error::Dependency { .. }
            | Error::Io(_) => true,
            Error::Migrate(_) | Error::Decode(_) | Error::Config(_) | Error::Telemetry(_) => false,
        }
    }
}

impl From<Error> for Status {
    fn from(error: Error) -> Self {
        match &error {
            Error::Postgres(sqlx::Error::PoolTimedOut)
            | Error::Postgres(sqlx::Error::Io(_))
            | Error::Redis(_)
            | Error::Kafka(_)
            | Error::Transport(_)
            | Error::Dependency { .. }
            | Error::Io(_) => unavailable(&error),
            Error::Postgres(_)
            | Error::Migrate(_)
            | Error::Decode(_)
            | Error::Config(_)
            | Error::Telemetry(_) => internal(&error),
        }
    }
}

/// INTERNAL, logging the cause but telling the caller nothing about it.
pub fn internal(cause: &dyn std::fmt::Display) -> Status {
    tracing::error!(error = %cause, "internal error");
    Status::internal("internal error")
}

/// UNAVAILABLE: a dependency did not answer; the caller may retry.
pub fn unavailable(cause: &dyn std::fmt::Display) -> Status {
    tracing::warn!(error = %cause, "dependency unavailable");
    Status::unavailable("service temporarily unavailable, retry later")
}

/// NOT_FOUND naming what was looked for, e.g. `not_found("property", id)`.
pub fn not_found(what: &str, id: &str) -> Status {
    Status::not_found(format!("{what} {id} not found"))
}

/// One request field that failed validation, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldViolation {
    pub field: String,
    pub description: String,
}

/// Collects every bad field of a request, so a caller learns all of them at once.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FieldViolations(Vec<FieldViolation>);

impl FieldViolations {
    pub fn new() -> Self {
        Self::default()
    }

    /// A single violation.
    pub fn one(field: impl Into<String>, description: impl Into<String>) -> Self {
        let mut v = Self::new();
        v.add(field, description);
        v
    }

    pub fn add(&mut self, field: impl Into<String>, description: impl Into<String>) {
        self.0.push(FieldViolation {
            field: field.into(),
            description: description.into(),
        });
    }

    /// Records a violation when `ok` is false.
    pub fn check(&mut self, ok: bool, field: &str, description: &str) {
        if !ok {
            self.add(field, description);
        }
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn iter(&self) -> impl Iterator<Item = &FieldViolation> {
        self.0.iter()
    }

    /// The field violations of an INVALID_ARGUMENT status (its
    /// google.rpc.BadRequest details), or one naming `request` with the
    /// status's message when it has none.
    pub fn of_status(status: &Status) -> Self {
        use tonic_types::StatusExt;
        let found: Vec<FieldViolation> = status
            .get_details_bad_request()
            .map(|bad| {
                bad.field_violations
                    .into_iter()
                    .map(|v| FieldViolation {
                        field: v.field,
                        description: v.description,
                    })
                    .collect()
            })
            .unwrap_or_default();
        if found.is_empty() {
            Self::one("request", status.message())
        } else {
            Self(found)
        }
    }

    /// `Ok(())` when nothing was violated, else `Err(self)`.
    pub fn into_result(self) -> Result<(), Self> {
        if self.0.is_empty() { Ok(()) } else { Err(self) }
    }
}

impl std::fmt::Display for FieldViolations {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let parts: Vec<String> = self
            .0
            .iter()
            .map(|v| format!("{}: {}", v.field, v.description))
            .collect();
        f.write_str(&parts.join("; "))
    }
}

/// The same status the contracts' rules give (`staymesh_proto::validation`).
impl From<FieldViolations> for Status {
    fn from(violations: FieldViolations) -> Self {
        staymesh_proto::validation::invalid_argument(
            violations
                .0
                .iter()
                .map(|v| (v.field.as_str(), v.description.as_str())),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tonic::Code;
    use tonic_types::StatusExt;

    #[test]
    fn violations_become_invalid_argument_with_fields() {
        let mut v = FieldViolations::new();
        v.add("check_in", "must be before check_out");
        v.add("guests", "must be at least 1");
        let status = Status::from(v);
        assert_eq!(status.code(), Code::InvalidArgument);
        let bad = status
            .get_details_bad_request()
            .expect("bad request details");
        let fields: Vec<_> = bad
            .field_violations
            .iter()
            .map(|f| f.field.as_str())
            .collect();
        assert_eq!(fields, ["check_in", "guests"]);
    }

    #[test]
    fn infrastructure_errors_leak_nothing() {
        let status = Status::from(Error::Config("secret=hunter2".into()));
        assert_eq!(status.code(), Code::Internal);
        assert!(!status.message().contains("hunter2"));
    }
}
