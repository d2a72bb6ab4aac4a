//! The engine's errors as [`EngineError`]s, with Docker's own messages.

use bollard::errors::Error as BollardError;

use super::DockerEngine;
use crate::engine::{EngineError, ErrorKind};

impl DockerEngine {
    /// `e`, about `object` (`container shop-web`).
    pub(super) fn error(&self, e: BollardError, object: impl Into<String>) -> EngineError {
        engine_error(&self.host, e).about(object)
    }
}

/// The HTTP status the engine answered with, if it answered.
pub(super) fn status(e: &BollardError) -> Option<u16> {
    match e {
        BollardError::DockerResponseServerError { status_code, .. } => Some(*status_code),
        _ => None,
    }
}

/// Whether the engine answered that the object does not exist.
pub(super) fn not_found(e: &BollardError) -> bool {
    status(e) == Some(404)
}

/// An error of the engine at `host` as an [`EngineError`], with Docker's own message.
pub(super) fn engine_error(host: &str, e: BollardError) -> EngineError {
    match e {
        BollardError::DockerResponseServerError {
            status_code,
            message,
        } => {
            let kind = match status_code {
                404 => ErrorKind::NotFound,
                409 => ErrorKind::Conflict,
                _ => ErrorKind::Other,
            };
            let message = if message.trim().is_empty() {
                format!("the engine answered with status {status_code}")
            } else {
                message.trim_end().to_string()
            };
            EngineError::new(kind, message)
        }
        BollardError::DockerStreamError { error } => {
            EngineError::new(ErrorKind::Other, error.trim_end().to_string())
        }
        e @ (BollardError::HyperLegacyError { .. }
        | BollardError::HyperResponseError { .. }
        | BollardError::IOError { .. }
        | BollardError::RequestTimeoutError
        | BollardError::SocketNotFoundError(_)) => EngineError::new(
            ErrorKind::Unavailable,
            format!("lost the Docker engine at {host}: {}", chain(&e)),
        ),
        e => EngineError::new(ErrorKind::Other, chain(&e)),
    }
}

/// An error with its causes, `outer: inner: innermost`.
pub(super) fn chain(e: &(dyn std::error::Error + 'static)) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        let part = s.to_string();
        if !text.contains(&part) {
            text.push_str(": ");
            text.push_str(&part);
        }
        source = s.source();
    }
    text
}
