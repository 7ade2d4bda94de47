//! The one error type of the engine.
//!
//! Every failure a caller can see is a [`NventError`]. Each variant maps to one stable
//! `NVENT_*` code through the exhaustive match in [`NventError::code`], so a new variant
//! cannot be added without choosing its code. Messages name the subject (key, job, file)
//! and say what to fix; they never contain secrets such as passwords.

use std::fmt;

/// Result alias used across the core.
pub type Result<T, E = NventError> = std::result::Result<T, E>;

#[derive(Debug, Clone, PartialEq)]
pub enum NventError {
    /// A key, subject, topic, queue name, id or field path is not acceptable.
    InvalidName { what: &'static str, reason: String },
    /// An argument has the wrong shape or an impossible value.
    InvalidArgument { message: String },
    /// A value cannot be stored as JSON (function, undefined, NaN, Buffer, ...).
    NotSerializable { path: String, reason: String },
    /// A value refers to itself.
    Circular { path: String },
    /// The serialized value exceeds the configured size limit.
    PayloadTooLarge { size: usize, limit: usize },
    /// The value nests containers deeper than the configured limit.
    NestingTooDeep { path: String, limit: usize },
    /// The entry the call needs does not exist.
    NotFound { what: String },
    /// An optimistic update kept losing against concurrent writers.
    VersionConflict { what: String, attempts: u32 },
    /// A worker acted on a job whose lease it no longer holds.
    LockLost { job_id: String },
    /// No adapter of that kind is registered under that name.
    UnknownAdapter {
        kind: &'static str,
        name: String,
        available: Vec<String>,
    },
    /// The adapter was closed.
    Closed { what: String },
    /// The backend cannot be reached.
    BackendUnavailable { message: String },
    /// An operation or job attempt ran out of time.
    Timeout { message: String },
    /// The backend refused the credentials.
    Auth { message: String },
    /// A file-system or device error.
    Io { message: String },
    /// Stored data failed its integrity check.
    Corrupt { message: String },
    /// Another owner holds the data directory.
    DataDirLocked { dir: String },
    /// A bug: a caught panic or a broken invariant. Never caused by input.
    Internal { message: String },
}

impl NventError {
    /// The stable code of this error, as JS sees it in `err.code`.
    pub fn code(&self) -> &'static str {
        match self {
            NventError::InvalidName { .. } => "NVENT_INVALID_NAME",
            NventError::InvalidArgument { .. } => "NVENT_INVALID_ARGUMENT",
            NventError::NotSerializable { .. } => "NVENT_NOT_SERIALIZABLE",
            NventError::Circular { .. } => "NVENT_CIRCULAR",
            NventError::PayloadTooLarge { .. } => "NVENT_PAYLOAD_TOO_LARGE",
            NventError::NestingTooDeep { .. } => "NVENT_NESTING_TOO_DEEP",
            NventError::NotFound { .. } => "NVENT_NOT_FOUND",
            NventError::VersionConflict { .. } => "NVENT_VERSION_CONFLICT",
            NventError::LockLost { .. } => "NVENT_LOCK_LOST",
            NventError::UnknownAdapter { .. } => "NVENT_UNKNOWN_ADAPTER",
            NventError::Closed { .. } => "NVENT_CLOSED",
            NventError::BackendUnavailable { .. } => "NVENT_BACKEND_UNAVAILABLE",
            NventError::Timeout { .. } => "NVENT_TIMEOUT",
            NventError::Auth { .. } => "NVENT_AUTH",
            NventError::Io { .. } => "NVENT_IO",
            NventError::Corrupt { .. } => "NVENT_CORRUPT",
            NventError::DataDirLocked { .. } => "NVENT_DATA_DIR_LOCKED",
            NventError::Internal { .. } => "NVENT_INTERNAL",
        }
    }

    /// The JSON path of the offending part of a value, where the error has one.
    pub fn path(&self) -> Option<&str> {
        match self {
            NventError::NotSerializable { path, .. }
            | NventError::Circular { path }
            | NventError::NestingTooDeep { path, .. } => Some(path),
            _ => None,
        }
    }

    /// Rebuilds an error from a code and message that crossed a boundary (a JS adapter
    /// rejecting with an `NventError`). Unknown codes become `Internal`.
    pub fn from_code(code: &str, message: String, path: Option<String>) -> Self {
        let path = path.unwrap_or_else(|| "$".to_string());
        match code {
            "NVENT_INVALID_NAME" => NventError::InvalidName {
                what: "name",
                reason: message,
            },
            "NVENT_INVALID_ARGUMENT" => NventError::InvalidArgument { message },
            "NVENT_NOT_SERIALIZABLE" => NventError::NotSerializable {
                path,
                reason: message,
            },
            "NVENT_CIRCULAR" => NventError::Circular { path },
            "NVENT_PAYLOAD_TOO_LARGE" => NventError::PayloadTooLarge { size: 0, limit: 0 },
            "NVENT_NESTING_TOO_DEEP" => NventError::NestingTooDeep { path, limit: 0 },
            "NVENT_NOT_FOUND" => NventError::NotFound { what: message },
            "NVENT_VERSION_CONFLICT" => NventError::VersionConflict {
                what: message,
                attempts: 0,
            },
            "NVENT_LOCK_LOST" => NventError::LockLost { job_id: message },
            "NVENT_CLOSED" => NventError::Closed { what: message },
            "NVENT_BACKEND_UNAVAILABLE" => NventError::BackendUnavailable { message },
            "NVENT_TIMEOUT" => NventError::Timeout { message },
            "NVENT_AUTH" => NventError::Auth { message },
            "NVENT_IO" => NventError::Io { message },
            "NVENT_CORRUPT" => NventError::Corrupt { message },
            "NVENT_DATA_DIR_LOCKED" => NventError::DataDirLocked { dir: message },
            _ => NventError::Internal { message },
        }
    }

    pub fn invalid_argument(message: impl Into<String>) -> Self {
        NventError::InvalidArgument {
            message: message.into(),
        }
    }

    pub fn not_found(what: impl Into<String>) -> Self {
        NventError::NotFound { what: what.into() }
    }

    pub fn closed(what: impl Into<String>) -> Self {
        NventError::Closed { what: what.into() }
    }

    pub fn internal(message: impl Into<String>) -> Self {
        NventError::Internal {
            message: message.into(),
        }
    }
}

impl fmt::Display for NventError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            NventError::InvalidName { what, reason } => write!(f, "invalid {what}: {reason}"),
            NventError::InvalidArgument { message } => f.write_str(message),
            NventError::NotSerializable { path, reason } => {
                write!(f, "value at {path} cannot be stored as JSON: {reason}")
            }
            NventError::Circular { path } => {
                write!(f, "value at {path} refers to itself (circular reference)")
            }
            NventError::PayloadTooLarge { size, limit } if *limit > 0 => write!(
                f,
                "value is {size} bytes of JSON, over the limit of {limit} bytes"
            ),
            NventError::PayloadTooLarge { .. } => f.write_str("value is over the size limit"),
            NventError::NestingTooDeep { path, limit } => write!(
                f,
                "value nests deeper than {limit} levels at {path}; flatten it or raise the limit"
            ),
            NventError::NotFound { what } => write!(f, "{what} not found"),
            NventError::VersionConflict { what, attempts } => write!(
                f,
                "{what} kept changing under concurrent writers; gave up after {attempts} attempts"
            ),
            NventError::LockLost { job_id } => write!(
                f,
                "job {job_id}: the worker lost its lease; the result was refused"
            ),
            NventError::UnknownAdapter {
                kind,
                name,
                available,
            } => write!(
                f,
                "unknown {kind} adapter '{name}'; available: {}",
                available.join(", ")
            ),
            NventError::Closed { what } => write!(f, "{what} is closed"),
            NventError::BackendUnavailable { message } => {
                write!(f, "backend unavailable: {message}")
            }
            NventError::Timeout { message } => f.write_str(message),
            NventError::Auth { message } => write!(f, "authentication failed: {message}"),
            NventError::Io { message } => write!(f, "I/O error: {message}"),
            NventError::Corrupt { message } => write!(f, "corrupt data: {message}"),
            NventError::DataDirLocked { dir } => write!(
                f,
                "data directory {dir} is owned by another adapter or process"
            ),
            NventError::Internal { message } => write!(f, "internal error: {message}"),
        }
    }
}

impl std::error::Error for NventError {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_code_round_trips_through_from_code() {
        let samples = [
            NventError::invalid_argument("x"),
            NventError::not_found("x"),
            NventError::closed("x"),
            NventError::Circular { path: "$.a".into() },
            NventError::LockLost { job_id: "1".into() },
            NventError::DataDirLocked { dir: "/d".into() },
        ];
        for e in samples {
            let back = NventError::from_code(e.code(), e.to_string(), e.path().map(String::from));
            assert_eq!(back.code(), e.code());
        }
        assert_eq!(
            NventError::from_code("EWHAT", "m".into(), None).code(),
            "NVENT_INTERNAL"
        );
    }
}
