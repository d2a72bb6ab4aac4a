//! Logs and `exec` in the fake: canned log lines per container, and
//! commands that play back a script (output, exit status), optionally
//! echoing their stdin as `cat` would.

use std::collections::BTreeMap;

use futures_util::StreamExt;
use futures_util::stream;
use tokio::io::AsyncReadExt;

use super::{MemoryEngine, not_found};
use crate::deployment::Kind;
use crate::engine::streams::{Channel, Exec, ExecRequest, LogLine, LogOptions, LogStream, Output};
use crate::engine::{EngineError, ErrorKind, LiveObject};
use crate::timestamp::Timestamp;

/// What a command run with `exec` in a container does.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ExecScript {
    /// Written before anything else.
    pub output: Vec<Output>,
    /// Copy stdin to stdout until it ends, then exit.
    pub echo_stdin: bool,
    pub status: i64,
}

#[derive(Debug, Default)]
pub(super) struct Streams {
    /// Each container's log (by name), in the order written.
    logs: BTreeMap<String, Vec<LogLine>>,
    /// Each container's command script (by name).
    scripts: BTreeMap<String, ExecScript>,
    /// Exit status by exec id.
    statuses: BTreeMap<String, i64>,
    /// (container name, request) of every exec, in order.
    execs: Vec<(String, ExecRequest)>,
    /// Terminal sizes asked for, by exec id.
    sizes: Vec<(String, (u16, u16))>,
}

impl MemoryEngine {
    fn streams<T>(&self, f: impl FnOnce(&mut Streams) -> T) -> T {
        let mut streams = match self.streams.lock() {
            Ok(g) => g,
            Err(poisoned) => poisoned.into_inner(),
        };
        f(&mut streams)
    }

    /// The container `name` writes a line to its log at `time` (RFC 3339).
    pub fn log(&self, name: &str, time: &str, channel: Channel, text: &str) {
        let time = Timestamp::parse(time).unwrap_or_default();
        self.streams(|s| {
            s.logs.entry(name.to_string()).or_default().push(LogLine {
                time,
                channel,
                text: text.as_bytes().to_vec(),
            })
        });
    }

    /// What a command run in the container `name` does.
    pub fn script_exec(&self, name: &str, script: ExecScript) {
        self.streams(|s| s.scripts.insert(name.to_string(), script));
    }

    /// Every command run so far: (container name, request).
    pub fn execs(&self) -> Vec<(String, ExecRequest)> {
        self.streams(|s| s.execs.clone())
    }

    /// Every terminal resize asked for: (exec id, (columns, rows)).
    pub fn exec_sizes(&self) -> Vec<(String, (u16, u16))> {
        self.streams(|s| s.sizes.clone())
    }

    fn container_named(&self, id: &str) -> Option<(Kind, String, crate::engine::State)> {
        self.with(|i| {
            i.objects
                .iter()
                .find(|o| o.id == id)
                .map(|o| (o.kind, o.name.clone(), o.state))
        })
    }

    pub(super) async fn logs_of(
        &self,
        object: &LiveObject,
        options: &LogOptions,
    ) -> Result<LogStream, EngineError> {
        let Some((Kind::Container | Kind::Service, name, _)) = self.container_named(&object.id)
        else {
            return Err(not_found(&object.id));
        };
        let mut lines: Vec<LogLine> =
            self.streams(|s| s.logs.get(&name).cloned().unwrap_or_default());
        if let Some(since) = options.since {
            // The engine's `since` is whole seconds, as Docker's.
            let since = Timestamp::from_secs(since.secs());
            lines.retain(|l| l.time >= since);
        }
        if let Some(tail) = options.tail {
            let keep = usize::try_from(tail).unwrap_or(usize::MAX);
            lines.drain(..lines.len().saturating_sub(keep));
        }
        let lines = stream::iter(lines.into_iter().map(Ok));
        Ok(if options.follow {
            lines.chain(stream::pending()).boxed()
        } else {
            lines.boxed()
        })
    }

    pub(super) async fn exec_script(
        &self,
        container: &str,
        request: &ExecRequest,
    ) -> Result<Exec, EngineError> {
        let Some((_, name, state)) = self.container_named(container) else {
            return Err(not_found(container));
        };
        if !state.is_running() {
            return Err(EngineError::new(
                ErrorKind::Conflict,
                format!("container {container} is not running"),
            ));
        }
        let (id, script) = self.streams(|s| {
            s.execs.push((name.clone(), request.clone()));
            let script = s.scripts.get(&name).cloned().unwrap_or_default();
            let id = format!("exec-{}", s.execs.len());
            s.statuses.insert(id.clone(), script.status);
            (id, script)
        });
        let (input, reader) = tokio::io::duplex(1 << 16);
        let written = stream::iter(script.output.into_iter().map(Ok));
        let output = if script.echo_stdin && request.stdin {
            let echo = stream::unfold(reader, |mut reader| async move {
                let mut buf = vec![0; 4096];
                match reader.read(&mut buf).await {
                    Ok(0) | Err(_) => None,
                    Ok(n) => {
                        buf.truncate(n);
                        let out = Output {
                            channel: Channel::Stdout,
                            bytes: buf,
                        };
                        Some((Ok(out), reader))
                    }
                }
            });
            written.chain(echo).boxed()
        } else {
            written.boxed()
        };
        Ok(Exec {
            id,
            output,
            input: Box::pin(input),
        })
    }

    pub(super) fn resize_script(&self, exec: &str, size: (u16, u16)) {
        self.streams(|s| s.sizes.push((exec.to_string(), size)));
    }

    pub(super) fn script_status(&self, exec: &str) -> Result<i64, EngineError> {
        self.streams(|s| s.statuses.get(exec).copied())
            .ok_or_else(|| not_found(exec))
    }
}
