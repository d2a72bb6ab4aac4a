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

/// Docker's words for a host port another process holds.
fn port_taken(message: &str) -> bool {
    message.contains("address already in use") || message.contains("port is already allocated")
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
                // A host port taken comes back as a server error at start.
                _ if port_taken(&message) => ErrorKind::Conflict,
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_host_port_in_use_at_start_is_a_conflict() {
        for message in [
            "driver failed programming external connectivity on endpoint web: Error starting userland proxy: listen tcp4 127.0.0.1:18091: bind: address already in use",
            "Bind for 0.0.0.0:8080 failed: port is already allocated",
        ] {
            let e = engine_error(
                "unix:///var/run/docker.sock",
                BollardError::DockerResponseServerError {
                    status_code: 500,
                    message: message.into(),
                },
            );
            assert_eq!(e.kind, ErrorKind::Conflict, "{message}");
        }
    }
}
