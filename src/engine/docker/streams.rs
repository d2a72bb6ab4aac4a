//! Container logs and `exec`, as streams (`stackc logs`, `stackc exec`).
//!
//! Logs are always asked for with timestamps: lines of several containers
//! are put in time order by them, and they are stripped unless the user
//! wants them. The engine's `since` is whole seconds; the session filters
//! the fraction.

use std::time::Duration;

use bollard::container::LogOutput;
use bollard::exec::{CreateExecOptions, ResizeExecOptions, StartExecOptions, StartExecResults};
use bollard::query_parameters::LogsOptionsBuilder;
use futures_util::StreamExt;

use super::DockerEngine;
use super::error::engine_error;
use crate::engine::streams::{Channel, Exec, ExecRequest, LogLine, LogOptions, LogStream, Output};
use crate::engine::{EngineError, ErrorKind, LiveObject};
use crate::timestamp::Timestamp;

impl DockerEngine {
    pub(super) async fn container_logs(
        &self,
        object: &LiveObject,
        options: &LogOptions,
    ) -> Result<LogStream, EngineError> {
        let mut query = LogsOptionsBuilder::default()
            .stdout(true)
            .stderr(true)
            .timestamps(true)
            .follow(options.follow);
        if let Some(tail) = options.tail {
            query = query.tail(&tail.to_string());
        }
        if let Some(since) = options.since {
            query = query.since(since.secs().clamp(0, i64::from(i32::MAX)) as i32);
        }
        let host = self.host.clone();
        let what = format!("{} {}", object.kind, object.name);
        // A service's log is every one of its tasks' (the service logs API).
        let frames = match object.kind {
            crate::deployment::Kind::Service => self
                .docker
                .service_logs(&object.id, Some(query.build()))
                .boxed(),
            _ => self.docker.logs(&object.id, Some(query.build())).boxed(),
        };
        let lines = frames.flat_map(move |frame| {
            let lines = match frame {
                Ok(frame) => {
                    let (channel, bytes) = match frame {
                        LogOutput::StdErr { message } => (Channel::Stderr, message),
                        LogOutput::StdOut { message } | LogOutput::Console { message } => {
                            (Channel::Stdout, message)
                        }
                        LogOutput::StdIn { .. } => return futures_util::stream::iter(Vec::new()),
                    };
                    log_lines(channel, &bytes).into_iter().map(Ok).collect()
                }
                Err(e) => vec![Err(engine_error(&host, e).about(what.clone()))],
            };
            futures_util::stream::iter(lines)
        });
        Ok(lines.boxed())
    }

    pub(super) async fn exec_in(
        &self,
        container: &str,
        request: &ExecRequest,
    ) -> Result<Exec, EngineError> {
        let what = format!("container {container}");
        let options = CreateExecOptions {
            attach_stdin: Some(request.stdin),
            attach_stdout: Some(true),
            attach_stderr: Some(true),
            tty: Some(request.tty),
            env: (!request.env.is_empty()).then(|| request.env.clone()),
            cmd: Some(request.command.clone()),
            user: request.user.clone(),
            working_dir: request.workdir.clone(),
            ..Default::default()
        };
        let id = self
            .docker
            .create_exec(container, options)
            .await
            .map_err(|e| self.error(e, what.clone()))?
            .id;
        let start = StartExecOptions {
            detach: false,
            tty: request.tty,
            output_capacity: None,
        };
        match self.docker.start_exec(&id, Some(start)).await {
            Ok(StartExecResults::Attached { output, input }) => {
                let host = self.host.clone();
                let output = output.filter_map(move |chunk| {
                    let out = match chunk {
                        Ok(LogOutput::StdOut { message } | LogOutput::Console { message }) => {
                            Some(Ok(Output {
                                channel: Channel::Stdout,
                                bytes: message.to_vec(),
                            }))
                        }
                        Ok(LogOutput::StdErr { message }) => Some(Ok(Output {
                            channel: Channel::Stderr,
                            bytes: message.to_vec(),
                        })),
                        Ok(LogOutput::StdIn { .. }) => None,
                        Err(e) => Some(Err(engine_error(&host, e).about(what.clone()))),
                    };
                    std::future::ready(out)
                });
                Ok(Exec {
                    id,
                    output: output.boxed(),
                    input,
                })
            }
            Ok(StartExecResults::Detached) => Err(EngineError::new(
                ErrorKind::Other,
                "the engine started the command detached",
            )
            .about(what)),
            Err(e) => Err(self.error(e, what)),
        }
    }

    pub(super) async fn resize_exec_tty(
        &self,
        exec: &str,
        (width, height): (u16, u16),
    ) -> Result<(), EngineError> {
        self.docker
            .resize_exec(exec, ResizeExecOptions { height, width })
            .await
            .map_err(|e| self.error(e, "exec"))
    }

    /// The exit code, once the engine has it: the output can end a moment
    /// before the engine marks the process as ended.
    pub(super) async fn exec_exit(&self, exec: &str) -> Result<i64, EngineError> {
        for _ in 0..200 {
            let inspect = self
                .docker
                .inspect_exec(exec)
                .await
                .map_err(|e| self.error(e, "exec"))?;
            if inspect.running != Some(true)
                && let Some(code) = inspect.exit_code
            {
                return Ok(code);
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
        Err(EngineError::new(
            ErrorKind::Other,
            "the command's output ended, but the engine did not report its exit status",
        ))
    }
}

/// The lines of one frame of a log asked for with timestamps: each starts
/// with its time and a space. A line without one (a long line the engine
/// split) takes the time of the line before it.
fn log_lines(channel: Channel, frame: &[u8]) -> Vec<LogLine> {
    let frame = frame.strip_suffix(b"\n").unwrap_or(frame);
    let mut lines = Vec::new();
    let mut last = Timestamp::default();
    for line in frame.split(|b| *b == b'\n') {
        let stamped = line.iter().position(|b| *b == b' ').and_then(|space| {
            let time = std::str::from_utf8(&line[..space]).ok()?;
            Some((Timestamp::parse(time)?, &line[space + 1..]))
        });
        let (time, text) = stamped.unwrap_or((last, line));
        last = time;
        lines.push(LogLine {
            time,
            channel,
            text: text.to_vec(),
        });
    }
    lines
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_frame_becomes_timestamped_lines() {
        let lines = log_lines(
            Channel::Stderr,
            b"2024-05-01T12:00:00.5Z hello world\n2024-05-01T12:00:01Z \n",
        );
        assert_eq!(lines.len(), 2);
        assert_eq!(lines[0].text, b"hello world");
        assert_eq!(lines[0].channel, Channel::Stderr);
        assert_eq!(lines[0].time.to_string(), "2024-05-01T12:00:00.500000000Z");
        assert_eq!(lines[1].text, b"");
        let unstamped = log_lines(Channel::Stdout, b"no time here\n");
        assert_eq!(unstamped[0].text, b"no time here");
    }
}
