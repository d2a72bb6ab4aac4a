//! `stackc logs`: which containers the addresses name (from live state
//! alone: the labels, never the source's values), their history in time
//! order, then, with `--follow`, new lines as they come until stopped.

use std::ops::ControlFlow;

use futures_util::StreamExt;

use super::SessionError;
use crate::deployment::Kind;
use crate::engine::streams::{LogLine, LogOptions};
use crate::engine::{Engine, LiveObject};
use crate::timestamp::Timestamp;

/// Whether objects of a kind have logs (a service's are its tasks').
fn has_logs(kind: Kind) -> bool {
    matches!(kind, Kind::Container | Kind::Service)
}

/// Whether `wanted` names the object at `address`: the address itself, a
/// module instance it is inside (`postgres.db`), or a root container by
/// its name alone (`web`, as Compose names services).
fn names(wanted: &str, address: &str) -> bool {
    address == wanted
        || address
            .strip_prefix(wanted)
            .is_some_and(|rest| rest.starts_with('.'))
        || address.strip_prefix("container.") == Some(wanted)
        || address.strip_prefix("service.") == Some(wanted)
}

/// What the user can name: each address and each module instance it is in.
fn nameable(objects: &[&LiveObject]) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for o in objects {
        let parts: Vec<&str> = o.address.split('.').collect();
        // `alias.instance` pairs before `kind.name`.
        for end in (2..parts.len().saturating_sub(1)).step_by(2) {
            out.push(parts[..end].join("."));
        }
        out.push(o.address.clone());
    }
    out.sort();
    out.dedup();
    out
}

/// The stack's containers the addresses name, sorted by address; all of
/// them when none is given. An address that names none is an error.
pub fn containers(
    stack: &str,
    objects: &[LiveObject],
    wanted: &[String],
) -> Result<Vec<LiveObject>, SessionError> {
    let with_logs: Vec<&LiveObject> = objects.iter().filter(|o| has_logs(o.kind)).collect();
    if with_logs.is_empty() {
        return Err(SessionError::NoContainers {
            stack: stack.to_string(),
        });
    }
    for w in wanted {
        if !with_logs.iter().any(|o| names(w, &o.address)) {
            return Err(no_container(w, objects, &with_logs));
        }
    }
    let mut chosen: Vec<LiveObject> = with_logs
        .into_iter()
        .filter(|o| wanted.is_empty() || wanted.iter().any(|w| names(w, &o.address)))
        .cloned()
        .collect();
    chosen.sort_by(|a, b| a.address.cmp(&b.address));
    Ok(chosen)
}

fn no_container(wanted: &str, objects: &[LiveObject], with_logs: &[&LiveObject]) -> SessionError {
    let other = objects.iter().find(|o| names(wanted, &o.address));
    let candidates = nameable(with_logs);
    SessionError::NoContainer {
        address: wanted.to_string(),
        other_kind: other.map(|o| o.kind),
        suggestion: crate::diagnostic::did_you_mean(wanted, candidates.iter().map(String::as_str)),
        containers: with_logs.iter().map(|o| o.address.clone()).collect(),
    }
}

/// The one running container an address names (for `exec`).
pub fn container(
    stack: &str,
    objects: &[LiveObject],
    wanted: &str,
) -> Result<LiveObject, SessionError> {
    let chosen = containers(stack, objects, &[wanted.to_string()])?;
    let chosen: Vec<LiveObject> = chosen
        .into_iter()
        .filter(|o| o.kind == Kind::Container)
        .collect();
    match chosen.as_slice() {
        [one] if one.state.is_running() => Ok(one.clone()),
        [one] => Err(SessionError::NotRunning {
            address: one.address.clone(),
            state: one.state.to_string(),
        }),
        _ => Err(SessionError::SeveralContainers {
            address: wanted.to_string(),
            containers: chosen.iter().map(|o| o.address.clone()).collect(),
        }),
    }
}

/// What `stackc logs` was asked for.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct LogsRequest {
    pub follow: bool,
    /// Lines from the end of each container's log.
    pub tail: Option<u64>,
    pub since: Option<Timestamp>,
}

/// Where the lines go, with the index of their container; `Break` stops
/// (the reader went away).
pub type Sink<'a> = dyn FnMut(usize, &LogLine) -> ControlFlow<()> + Send + 'a;

/// Sends the logs of `containers` to `sink`: first what they hold, in time
/// order; then, when following, each new line as it comes, until `stop`
/// resolves or every log ends (its container stopped).
pub async fn logs(
    engine: &dyn Engine,
    containers: &[LiveObject],
    request: &LogsRequest,
    sink: &mut Sink<'_>,
    stop: impl Future<Output = ()>,
) -> Result<(), SessionError> {
    let since_filter = |l: &LogLine| request.since.is_none_or(|s| l.time >= s);
    let history_options = LogOptions {
        follow: false,
        tail: request.tail,
        since: request.since,
    };
    // Without history (`--tail 0`) there is nothing to pick up from.
    let history = if request.tail == Some(0) {
        vec![Vec::new(); containers.len()]
    } else {
        let reads = containers.iter().map(|c| async {
            let mut lines = Vec::new();
            let mut stream = engine.logs(c, &history_options).await?;
            while let Some(line) = stream.next().await {
                lines.push(line?);
            }
            // The engine's `since` is whole seconds.
            lines.retain(since_filter);
            Ok::<_, SessionError>(lines)
        });
        futures_util::future::try_join_all(reads).await?
    };
    // Where following picks up: after the last line shown of each log.
    let resume: Vec<Option<(Timestamp, usize)>> = history
        .iter()
        .map(|lines| {
            let last = lines.last()?.time;
            Some((last, lines.iter().filter(|l| l.time == last).count()))
        })
        .collect();
    for (i, line) in crate::logs::merge(history) {
        if sink(i, &line).is_break() {
            return Ok(());
        }
    }
    if !request.follow {
        return Ok(());
    }
    let mut streams = Vec::with_capacity(containers.len());
    for (i, c) in containers.iter().enumerate() {
        let options = match resume[i] {
            Some((last, _)) => LogOptions {
                follow: true,
                tail: None,
                since: Some(last),
            },
            None if request.tail == Some(0) => LogOptions {
                follow: true,
                tail: Some(0),
                since: request.since,
            },
            // The log held nothing (since `since`): all it gets is new.
            None => LogOptions {
                follow: true,
                tail: None,
                since: request.since,
            },
        };
        let stream = engine.logs(c, &options).await?;
        streams.push(stream.map(move |line| (i, line)).boxed());
    }
    // Lines the history showed come again from `since`: skipped.
    let mut seen: Vec<Option<(Timestamp, usize)>> = resume;
    let mut live = futures_util::stream::select_all(streams);
    let mut stop = std::pin::pin!(stop);
    loop {
        let next = tokio::select! {
            () = &mut stop => return Ok(()),
            next = live.next() => next,
        };
        let Some((i, line)) = next else {
            return Ok(());
        };
        let line = line?;
        if !since_filter(&line) {
            continue;
        }
        if let Some((last, left)) = &mut seen[i] {
            if line.time < *last {
                continue;
            }
            if line.time == *last && *left > 0 {
                *left -= 1;
                continue;
            }
            seen[i] = None;
        }
        if sink(i, &line).is_break() {
            return Ok(());
        }
    }
}
