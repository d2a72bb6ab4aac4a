//! `stackc exec`: a command in a running container of the stack, its
//! output passed on as it comes, its stdin forwarded, its terminal resized,
//! its exit status returned.

use std::convert::Infallible;

use futures_util::StreamExt;
use tokio::io::AsyncWriteExt;
use tokio::sync::mpsc::Receiver;

use super::SessionError;
use crate::engine::streams::{Channel, ExecRequest, exec_status};
use crate::engine::{Engine, LiveObject};

/// The command's side of the user's terminal or pipes.
pub struct ExecIo<'a> {
    /// Chunks of our stdin; the channel closes at its end. `None`: not
    /// forwarded.
    pub stdin: Option<Receiver<Vec<u8>>>,
    /// New terminal sizes (columns, rows), the first one at once.
    pub resize: Option<Receiver<(u16, u16)>>,
    /// Where output goes; an error (the reader went away) stops.
    pub output: &'a mut (dyn FnMut(Channel, &[u8]) -> std::io::Result<()> + Send),
}

/// How a command ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExecEnd {
    /// With this exit status.
    Exited(i64),
    /// Our output was closed before it ended (`stackc exec … | head`).
    OutputClosed,
}

/// Runs `request` in `container` (found by [`super::container`]).
pub async fn exec(
    engine: &dyn Engine,
    container: &LiveObject,
    request: &ExecRequest,
    io: ExecIo<'_>,
) -> Result<ExecEnd, SessionError> {
    let started = engine
        .exec(&container.id, request)
        .await
        .map_err(|e| e.about(container.address.clone()))?;
    let id = started.id.clone();
    let mut input = started.input;
    let mut output = started.output;
    let ExecIo {
        stdin,
        resize,
        output: sink,
    } = io;
    // Stdin is written while output is read, never one waiting on the
    // other: a command that writes as it reads would block both otherwise.
    let forward = async {
        if let Some(mut stdin) = stdin {
            while let Some(chunk) = stdin.recv().await {
                if input.write_all(&chunk).await.is_err() || input.flush().await.is_err() {
                    break;
                }
            }
            // End-of-file for the command.
            let _ = input.shutdown().await;
        }
        std::future::pending::<Infallible>().await
    };
    let resizing = async {
        if let Some(mut sizes) = resize {
            while let Some(size) = sizes.recv().await {
                // A resize that fails (the command just ended) does not matter.
                let _ = engine.resize_exec(&id, size).await;
            }
        }
        std::future::pending::<Infallible>().await
    };
    // The start of the output: the engine's message when it could not
    // start the command (see `exec_status`).
    let mut first = Vec::new();
    let read = async {
        while let Some(chunk) = output.next().await {
            let chunk = chunk?;
            if first.len() < FIRST_OUTPUT {
                let room = FIRST_OUTPUT - first.len();
                first.extend_from_slice(&chunk.bytes[..chunk.bytes.len().min(room)]);
            }
            if sink(chunk.channel, &chunk.bytes).is_err() {
                return Ok::<bool, SessionError>(false);
            }
        }
        Ok(true)
    };
    let ended = tokio::select! {
        ended = read => ended?,
        never = forward => match never {},
        never = resizing => match never {},
    };
    if !ended {
        return Ok(ExecEnd::OutputClosed);
    }
    let status = engine.exec_status(&id).await?;
    Ok(ExecEnd::Exited(exec_status(status, &first)))
}

/// How much of the output is kept to read the engine's message from.
const FIRST_OUTPUT: usize = 1024;
