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

/// What the engine writes as a command's first output when it could not
/// start it (`OCI runtime exec failed: … executable file not found …`).
const START_FAILED: &str = "exec failed";

/// The exit status of a command, as `docker exec` gives it on current
/// engines: 127 when the engine could not find the command (not found in
/// `PATH`, no such file), 126 when it could not run it (permission denied,
/// a directory). Engines before Docker 28 report 126 for every command they
/// could not start (moby#45795); the engine's message, the command's first
/// output, tells the two apart, by the rules the engine itself uses now.
/// Any other status is the command's own.
pub fn exec_status(status: i64, first_output: &[u8]) -> i64 {
    if status != 126 {
        return status;
    }
    let message = String::from_utf8_lossy(first_output).to_lowercase();
    if !message.contains(START_FAILED) || message.contains("permission denied") {
        return status;
    }
    let not_found = [
        "executable file not found",
        "no such file or directory",
        "system cannot find the file specified",
    ];
    if not_found.iter().any(|m| message.contains(m)) {
        127
    } else {
        status
    }
}

#[cfg(test)]
mod tests {
    use super::exec_status;

    #[test]
    fn a_command_not_found_exits_127_and_one_that_cannot_run_126() {
        let not_found = b"OCI runtime exec failed: exec failed: unable to start container process: exec: \"nosuchcmd\": executable file not found in $PATH: unknown\r\n";
        assert_eq!(exec_status(126, not_found), 127);
        let no_file = b"OCI runtime exec failed: exec failed: unable to start container process: exec: \"/x\": stat /x: no such file or directory: unknown\r\n";
        assert_eq!(exec_status(126, no_file), 127);
        let directory = b"OCI runtime exec failed: exec failed: unable to start container process: exec: \"/etc\": permission denied: unknown\r\n";
        assert_eq!(exec_status(126, directory), 126);
        // A command's own status, whatever it printed.
        assert_eq!(
            exec_status(126, b"cat: /x: No such file or directory\n"),
            126
        );
        assert_eq!(exec_status(127, b""), 127);
        assert_eq!(exec_status(3, not_found), 3);
    }
}
