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
    /// rejecting with an `NventError`). The message is usually one this enum displayed
    /// (an engine error relayed by a JS adapter), so the words `Display` adds around a
    /// variant's data are taken off again: the rebuilt error displays the message as it
    /// came, not "the store is closed is closed". Unknown codes become `Internal`.
    pub fn from_code(code: &str, message: String, path: Option<String>) -> Self {
        let path = path.unwrap_or_else(|| "$".to_string());
        let m = message.as_str();
        let strip = |prefix: &str, suffix: &str| -> String {
            m.strip_prefix(prefix)
                .and_then(|r| r.strip_suffix(suffix))
                .unwrap_or(m)
                .to_string()
        };
        match code {
            // `what: ""` displays the reason alone (see `Display`).
            "NVENT_INVALID_NAME" => NventError::InvalidName {
                what: "",
                reason: message,
            },
            "NVENT_INVALID_ARGUMENT" => NventError::InvalidArgument { message },
            "NVENT_NOT_SERIALIZABLE" => NventError::NotSerializable {
                reason: strip(&format!("value at {path} cannot be stored as JSON: "), ""),
                path,
            },
            "NVENT_CIRCULAR" => NventError::Circular { path },
            "NVENT_PAYLOAD_TOO_LARGE" => {
                let (size, limit) = m
                    .strip_prefix("value is ")
                    .and_then(|r| r.strip_suffix(" bytes"))
                    .and_then(|r| r.split_once(" bytes of JSON, over the limit of "))
                    .and_then(|(a, b)| Some((a.parse().ok()?, b.parse().ok()?)))
                    .unwrap_or((0, 0));
                NventError::PayloadTooLarge { size, limit }
            }
            "NVENT_NESTING_TOO_DEEP" => NventError::NestingTooDeep {
                limit: m
                    .strip_prefix("value nests deeper than ")
                    .and_then(|r| r.split_once(' '))
                    .and_then(|(n, _)| n.parse().ok())
                    .unwrap_or(0),
                path,
            },
            "NVENT_NOT_FOUND" => NventError::NotFound {
                what: strip("", " not found"),
            },
            "NVENT_VERSION_CONFLICT" => {
                let parsed = m
                    .strip_suffix(" attempts")
                    .and_then(|r| {
                        r.split_once(" kept changing under concurrent writers; gave up after ")
                    })
                    .and_then(|(what, n)| Some((what.to_string(), n.parse().ok()?)));
                let (what, attempts) = parsed.unwrap_or((message, 0));
                NventError::VersionConflict { what, attempts }
            }
            "NVENT_LOCK_LOST" => NventError::LockLost {
                job_id: strip(
                    "job ",
                    ": the worker lost its lease; the result was refused",
                ),
            },
            "NVENT_UNKNOWN_ADAPTER" => {
                // "unknown {kind} adapter '{name}'; available: {list}"
                let parsed = m
                    .strip_prefix("unknown ")
                    .and_then(|r| r.split_once(" adapter '"))
                    .and_then(|(kind, r)| {
                        let (name, list) = r.split_once("'; available: ")?;
                        let kind = ["queue", "stream", "store"]
                            .into_iter()
                            .find(|k| *k == kind)?;
                        Some((kind, name.to_string(), list))
                    });
                match parsed {
                    Some((kind, name, list)) => NventError::UnknownAdapter {
                        kind,
                        name,
                        available: list
                            .split(", ")
                            .filter(|s| !s.is_empty())
                            .map(String::from)
                            .collect(),
                    },
                    // `kind: ""` displays the name alone (see `Display`).
                    None => NventError::UnknownAdapter {
                        kind: "",
                        name: message,
                        available: Vec::new(),
                    },
                }
            }
            "NVENT_CLOSED" => NventError::Closed {
                what: strip("", " is closed"),
            },
            "NVENT_BACKEND_UNAVAILABLE" => NventError::BackendUnavailable {
                message: strip("backend unavailable: ", ""),
            },
            "NVENT_TIMEOUT" => NventError::Timeout { message },
            "NVENT_AUTH" => NventError::Auth {
                message: strip("authentication failed: ", ""),
            },
            "NVENT_IO" => NventError::Io {
                message: strip("I/O error: ", ""),
            },
            "NVENT_CORRUPT" => NventError::Corrupt {
                message: strip("corrupt data: ", ""),
            },
            "NVENT_DATA_DIR_LOCKED" => NventError::DataDirLocked {
                dir: strip("data directory ", " is owned by another adapter or process"),
            },
            "NVENT_INTERNAL" => NventError::Internal {
                message: strip("internal error: ", ""),
            },
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
            // `what` is empty when the error was rebuilt from a relayed message.
            NventError::InvalidName { what: "", reason } => f.write_str(reason),
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
            // `kind` is empty when the error was rebuilt from a relayed message.
            NventError::UnknownAdapter { kind: "", name, .. } => f.write_str(name),
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

    /// One error of every variant: the `match` makes a new variant fail to compile here
    /// until it has a sample.
    fn samples() -> Vec<NventError> {
        let all = vec![
            NventError::InvalidName {
                what: "key",
                reason: "must not be empty".into(),
            },
            NventError::invalid_argument("ttl must be positive"),
            NventError::NotSerializable {
                path: "$.a".into(),
                reason: "a function".into(),
            },
            NventError::Circular { path: "$.a".into() },
            NventError::PayloadTooLarge {
                size: 20,
                limit: 10,
            },
            NventError::NestingTooDeep {
                path: "$.a.b".into(),
                limit: 128,
            },
            NventError::not_found("job 7"),
            NventError::VersionConflict {
                what: "entry a of index i".into(),
                attempts: 8,
            },
            NventError::LockLost { job_id: "1".into() },
            NventError::UnknownAdapter {
                kind: "store",
                name: "pg".into(),
                available: vec!["memory".into(), "file".into()],
            },
            NventError::closed("the store"),
            NventError::BackendUnavailable {
                message: "redis at h:1 is unreachable".into(),
            },
            NventError::Timeout {
                message: "job 1 timed out after 5 ms".into(),
            },
            NventError::Auth {
                message: "redis refused the credentials".into(),
            },
            NventError::Io {
                message: "disk full".into(),
            },
            NventError::Corrupt {
                message: "bad crc".into(),
            },
            NventError::DataDirLocked { dir: "/d".into() },
            NventError::internal("a bug"),
        ];
        for e in &all {
            match e {
                NventError::InvalidName { .. }
                | NventError::InvalidArgument { .. }
                | NventError::NotSerializable { .. }
                | NventError::Circular { .. }
                | NventError::PayloadTooLarge { .. }
                | NventError::NestingTooDeep { .. }
                | NventError::NotFound { .. }
                | NventError::VersionConflict { .. }
                | NventError::LockLost { .. }
                | NventError::UnknownAdapter { .. }
                | NventError::Closed { .. }
                | NventError::BackendUnavailable { .. }
                | NventError::Timeout { .. }
                | NventError::Auth { .. }
                | NventError::Io { .. }
                | NventError::Corrupt { .. }
                | NventError::DataDirLocked { .. }
                | NventError::Internal { .. } => {}
            }
        }
        all
    }

    #[test]
    fn every_code_round_trips_through_from_code() {
        let all = samples();
        let codes: std::collections::HashSet<_> = all.iter().map(|e| e.code()).collect();
        assert_eq!(codes.len(), all.len(), "one sample per code");
        for e in all {
            let back = NventError::from_code(e.code(), e.to_string(), e.path().map(String::from));
            assert_eq!(back.code(), e.code());
            // The message as it came, not doubled ("the store is closed is closed").
            assert_eq!(back.to_string(), e.to_string(), "{}", e.code());
            assert_eq!(back.path(), e.path());
            // Relayed twice (a JS adapter wrapping another): still the same message.
            let again =
                NventError::from_code(back.code(), back.to_string(), back.path().map(String::from));
            assert_eq!(again.to_string(), e.to_string(), "{} twice", e.code());
        }
        // A relayed message that this enum did not make is kept as it came.
        for code in [
            "NVENT_CLOSED",
            "NVENT_INVALID_NAME",
            "NVENT_UNKNOWN_ADAPTER",
        ] {
            let e = NventError::from_code(code, "custom words".into(), None);
            assert_eq!(e.code(), code);
            assert!(e.to_string().contains("custom words"), "{e}");
        }
        assert_eq!(
            NventError::from_code("EWHAT", "m".into(), None).code(),
            "NVENT_INTERNAL"
        );
    }
}
