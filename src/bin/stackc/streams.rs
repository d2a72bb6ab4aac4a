//! `stackc logs` and `stackc exec`: the stack is found by its name alone
//! (no parameters needed, nothing evaluated), its containers by their labels.

use std::io::{IsTerminal, Read, Write};
use std::ops::ControlFlow;
use std::path::Path;
use std::process::ExitCode;

use tokio::sync::mpsc;

use stackc::diagnostic::render_all;
use stackc::driver;
use stackc::engine::Engine;
use stackc::engine::streams::{Channel, ExecRequest, LogLine};
use stackc::logs::{Prefixes, Style, parse_since};
use stackc::session::{self, ExecEnd, ExecIo, LogsRequest};
use stackc::timestamp::Timestamp;

use crate::args::{ExecArgs, LogsArgs, Vars, stack_and_names};
use crate::{Failure, Outcome_, connect, render_options};

/// The stack's name, from its source without evaluating it.
fn stack_name(vars: &Vars, path: &Path) -> Result<String, Failure> {
    let options = vars.options(path);
    match driver::outline(&options) {
        Ok(outline) => Ok(outline.stack),
        Err(diags) => {
            // The outline keeps no sources to quote: compiling finds the
            // same errors, with them.
            let driver::Compilation {
                sources, result, ..
            } = driver::compile(&options);
            let diags = result.err().unwrap_or(diags);
            eprint!("{}", render_all(&diags, &sources, render_options()));
            Err(Failure::Silent)
        }
    }
}

/// Colour on this stream: a terminal, and no `NO_COLOR`.
fn colour(terminal: bool) -> bool {
    terminal && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
}

pub(crate) async fn logs_command(args: &LogsArgs) -> Outcome_ {
    let (path, addresses) = stack_and_names(&args.args).map_err(Failure::new)?;
    let since = match &args.since {
        Some(text) => Some(parse_since(text, Timestamp::now()).map_err(Failure::new)?),
        None => None,
    };
    let stack = stack_name(&args.vars, &path)?;
    let engine = connect(&args.engine).await?;
    let mut live = engine.observe(&stack, &[]).await?;
    stackc::plan::follow_recorded(&mut live);
    let containers = session::containers(&stack, &live.objects, &addresses)?;
    let addresses: Vec<&str> = containers.iter().map(|c| c.address.as_str()).collect();
    let prefixes = Prefixes::new(&addresses);
    let out_style = Style {
        colour: colour(std::io::stdout().is_terminal()),
        timestamps: args.timestamps,
    };
    let err_style = Style {
        colour: colour(std::io::stderr().is_terminal()),
        timestamps: args.timestamps,
    };
    // Ctrl-C ends `--follow` between two lines; the handler is installed
    // now, so a press before the first line is not lost either.
    let mut interrupt = if args.follow {
        Some(
            tokio::signal::unix::signal(tokio::signal::unix::SignalKind::interrupt())
                .map_err(|e| Failure::new(format!("cannot watch for Ctrl-C: {e}")))?,
        )
    } else {
        None
    };
    let stop = async move {
        match &mut interrupt {
            Some(signal) => {
                signal.recv().await;
            }
            None => std::future::pending().await,
        }
    };
    let mut write_error = None;
    let mut sink = |source: usize, line: &LogLine| {
        // The container's stderr to ours, as `docker logs` and Compose do.
        let written = match line.channel {
            Channel::Stdout => {
                let mut out = std::io::stdout().lock();
                out.write_all(&prefixes.render(source, line, out_style))
                    .and_then(|()| out.flush())
            }
            Channel::Stderr => {
                let mut err = std::io::stderr().lock();
                err.write_all(&prefixes.render(source, line, err_style))
            }
        };
        match written {
            Ok(()) => ControlFlow::Continue(()),
            Err(e) => {
                write_error = Some(e);
                ControlFlow::Break(())
            }
        }
    };
    let request = LogsRequest {
        follow: args.follow,
        tail: args.tail,
        since,
    };
    session::logs(&engine, &containers, &request, &mut sink, stop).await?;
    match write_error {
        None => Ok(ExitCode::SUCCESS),
        Some(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Err(Failure::Silent),
        Some(e) => Err(Failure::new(format!("cannot write the logs: {e}"))),
    }
}

pub(crate) async fn exec_command(args: &ExecArgs) -> Outcome_ {
    let (path, names) = stack_and_names(&args.args).map_err(Failure::new)?;
    let [address] = names.as_slice() else {
        return Err(Failure::Message {
            message: format!(
                "give one container to run the command in, not {}",
                names.len()
            ),
            help: Some("stackc exec container.web -- sh".into()),
        });
    };
    let stack = stack_name(&args.vars, &path)?;
    let engine = connect(&args.engine).await?;
    let mut live = engine.observe(&stack, &[]).await?;
    stackc::plan::follow_recorded(&mut live);
    let container = session::container(&stack, &live.objects, address)?;
    let stdin_terminal = std::io::stdin().is_terminal();
    let interactive = stdin_terminal && std::io::stdout().is_terminal();
    // A terminal's keys go to the command only when it has a terminal too;
    // a pipe or a file always goes.
    let forward = interactive || !stdin_terminal;
    let request = ExecRequest {
        command: args.command.clone(),
        user: args.user.clone(),
        workdir: args.workdir.clone(),
        env: args.env.clone(),
        tty: interactive,
        stdin: forward,
    };
    let resize = if interactive {
        Some(window_sizes()?)
    } else {
        None
    };
    let raw = if interactive {
        crate::tty::RawMode::enter()
    } else {
        None
    };
    let mut output = |channel: Channel, bytes: &[u8]| match channel {
        Channel::Stdout => {
            let mut out = std::io::stdout().lock();
            out.write_all(bytes).and_then(|()| out.flush())
        }
        Channel::Stderr => std::io::stderr().lock().write_all(bytes),
    };
    let io = ExecIo {
        stdin: forward.then(stdin_chunks),
        resize,
        output: &mut output,
    };
    let ended = session::exec(&engine, &container, &request, io).await;
    drop(raw);
    match ended? {
        ExecEnd::Exited(code) => Ok(ExitCode::from(u8::try_from(code).unwrap_or(1))),
        ExecEnd::OutputClosed => Err(Failure::Silent),
    }
}

/// Our stdin in chunks, read on a thread of its own (a read from a
/// terminal cannot be cancelled; the thread ends with the process).
fn stdin_chunks() -> mpsc::Receiver<Vec<u8>> {
    let (send, receive) = mpsc::channel(16);
    std::thread::spawn(move || {
        let mut stdin = std::io::stdin().lock();
        let mut buf = vec![0u8; 16 * 1024];
        loop {
            match stdin.read(&mut buf) {
                Ok(0) => break,
                Ok(n) => {
                    if send.blocking_send(buf[..n].to_vec()).is_err() {
                        break;
                    }
                }
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(_) => break,
            }
        }
    });
    receive
}

/// The terminal's size now, then at each change (SIGWINCH).
fn window_sizes() -> Result<mpsc::Receiver<(u16, u16)>, Failure> {
    use tokio::signal::unix::{SignalKind, signal};
    let (send, receive) = mpsc::channel(4);
    let mut changes = signal(SignalKind::window_change())
        .map_err(|e| Failure::new(format!("cannot watch the terminal's size: {e}")))?;
    if let Some(size) = crate::tty::size() {
        let _ = send.try_send(size);
    }
    tokio::spawn(async move {
        while changes.recv().await.is_some() {
            if let Some(size) = crate::tty::size()
                && send.send(size).await.is_err()
            {
                break;
            }
        }
    });
    Ok(receive)
}
