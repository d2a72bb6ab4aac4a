//! What `stackc logs` and `stackc exec` ask of an engine: a container's log
//! as timestamped lines, and a command run inside a container with its
//! streams. Both are streams that outlive the call that opened them.

use std::pin::Pin;

use futures_util::stream::BoxStream;
use tokio::io::AsyncWrite;

use super::EngineError;
use crate::timestamp::Timestamp;

/// Which of a process's output streams bytes came from. A container with a
/// terminal has one stream only, reported as `Stdout`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Channel {
    Stdout,
    Stderr,
}

/// Which part of a log to read.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct LogOptions {
    /// Keep the stream open and send new lines as they come.
    pub follow: bool,
    /// Only this many lines from the end (per container); `None`: all.
    pub tail: Option<u64>,
    /// Only lines at or after this time (the engine's clock, whole seconds).
    pub since: Option<Timestamp>,
}

/// One line of a log, without its line break.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogLine {
    /// When the engine received it.
    pub time: Timestamp,
    pub channel: Channel,
    pub text: Vec<u8>,
}

/// A log, line by line; it ends with the log unless followed.
pub type LogStream = BoxStream<'static, Result<LogLine, EngineError>>;

/// A command to run in a running container (`docker exec`).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ExecRequest {
    pub command: Vec<String>,
    /// `USER`, `USER:GROUP`, uids as well.
    pub user: Option<String>,
    pub workdir: Option<String>,
    /// `KEY=VALUE` each.
    pub env: Vec<String>,
    /// Give it a terminal (its output is then one stream).
    pub tty: bool,
    /// Attach its stdin (else it reads end-of-file at once).
    pub stdin: bool,
}

/// A chunk of a command's output.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Output {
    pub channel: Channel,
    pub bytes: Vec<u8>,
}

/// A started command: its output until it ends, and its stdin (shut down
/// to send end-of-file).
pub struct Exec {
    /// The engine's id, for resizing and the exit status.
    pub id: String,
    pub output: BoxStream<'static, Result<Output, EngineError>>,
    pub input: Pin<Box<dyn AsyncWrite + Send>>,
}
