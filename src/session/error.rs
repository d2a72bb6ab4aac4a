//! Why a command could not do what it was asked: each with the message and
//! the help the user sees.

use std::fmt;
use std::path::PathBuf;

use crate::engine::{EngineError, Holder};
use crate::plan::PlanFileError;

#[derive(Debug)]
pub enum SessionError {
    Engine(EngineError),
    PlanFile(PlanFileError),
    /// Another process holds the stack's lock.
    Locked {
        stack: String,
        holder: Holder,
        /// The command that breaks the lock (`stackc unlock PATH`).
        unlock: String,
    },
    /// `stackc unlock` of a lock held by a running process of this host.
    LockInUse {
        stack: String,
        holder: Holder,
    },
    /// `--target` or `--replace` names no resource of the stack.
    NoResource {
        address: String,
        suggestion: Option<String>,
    },
    /// `--replace X` with `--target`s that leave X out.
    ReplaceOutsideTargets(String),
    /// `stackc output NAME` names no output.
    NoOutput {
        name: String,
        outputs: Vec<String>,
    },
    /// `stackc output`: no apply of this stack recorded its outputs.
    NotApplied(String),
    /// `stackc output --show-secrets` of deployed outputs: secrets are not kept.
    SecretsNotKept,
    /// A saved plan applied with a stack path that compiles to another stack.
    PlanOfOtherStack {
        file: PathBuf,
        planned: String,
        given: String,
    },
    /// Objects outside the stack hold names or host ports it needs.
    Conflicts(Vec<crate::engine::Foreign>),
    /// The stack's objects changed since the saved plan was made: these.
    Stale(Vec<String>),
    /// The plan deletes or replaces these volumes, and data loss was not allowed.
    DataLoss(Vec<String>),
    /// Confirmation is needed and no one can give it (stdin is not a terminal).
    NoOneToConfirm,
    /// Ctrl-C pressed twice: the running actions were abandoned.
    Aborted,

    // --- `stackc logs` and `stackc exec` (`logs.rs`, `exec.rs`) ---
    /// The engine has no containers of the stack.
    NoContainers {
        stack: String,
    },
    /// An address names no container of the stack on the engine.
    NoContainer {
        address: String,
        /// What it names instead (`volume.data`), if anything.
        other_kind: Option<crate::deployment::Kind>,
        suggestion: Option<String>,
        /// The stack's containers.
        containers: Vec<String>,
    },
    /// `exec` of an address that names several containers (a module instance).
    SeveralContainers {
        address: String,
        containers: Vec<String>,
    },
    /// `exec` in a container that is not running.
    NotRunning {
        address: String,
        state: String,
    },
}

impl SessionError {
    /// What to do about it, when there is something.
    pub fn help(&self) -> Option<String> {
        match self {
            SessionError::Locked { holder, unlock, .. } if holder.is_gone() => Some(format!(
                "that process no longer exists and will never release it: break the lock with `{unlock}`"
            )),
            SessionError::Locked { holder, .. } if holder.is_running_here() => Some(
                "that process is still running: wait for it with --lock-timeout 5m".into(),
            ),
            SessionError::Locked { unlock, .. } => Some(format!(
                "wait for it (--lock-timeout 5m), or if that process is gone, break the lock with `{unlock}`"
            )),
            SessionError::LockInUse { holder, .. } => Some(format!(
                "wait for it to end; to break the lock anyway (its apply may then interleave with another), `stackc unlock --force` — or stop process {} first",
                holder.pid
            )),
            SessionError::NoResource { suggestion, .. } => suggestion.clone(),
            SessionError::ReplaceOutsideTargets(address) => Some(format!(
                "add `--target {address}`, or drop the `--target`s"
            )),
            SessionError::NoOutput { name, outputs } => crate::diagnostic::did_you_mean(
                name,
                outputs.iter().map(String::as_str),
            )
            .or_else(|| {
                (!outputs.is_empty()).then(|| format!("its outputs are: {}", outputs.join(", ")))
            }),
            SessionError::NotApplied(_) => Some(
                "apply it first, or see what the source computes with `stackc output --planned`"
                    .into(),
            ),
            SessionError::SecretsNotKept => Some(
                "`stackc output --planned --show-secrets` computes them from the source".into(),
            ),
            SessionError::Conflicts(_) => Some(
                "free them (stackc never removes what is not the stack's), or change the names or ports in the stack".into(),
            ),
            SessionError::Stale(_) => Some("make a new plan with `stackc plan --out FILE`".into()),
            SessionError::DataLoss(_) => {
                Some("run again with --allow-data-loss if the data may go".into())
            }
            SessionError::NoOneToConfirm => {
                Some("pass --auto-approve to go ahead without confirmation".into())
            }
            SessionError::NoContainers { .. } => Some(
                "apply it first (`stackc apply`); on another engine, pass --host".into(),
            ),
            SessionError::NoContainer {
                suggestion: Some(s),
                ..
            } => Some(s.clone()),
            SessionError::NoContainer { containers, .. } => Some(list("its containers are", containers)),
            SessionError::SeveralContainers { containers, .. } => {
                Some(list("name one of them", containers))
            }
            SessionError::NotRunning { .. } => {
                Some("`stackc apply` starts it again (`stackc logs` shows why it stopped)".into())
            }
            SessionError::Engine(_)
            | SessionError::PlanFile(_)
            | SessionError::PlanOfOtherStack { .. }
            | SessionError::Aborted => None,
        }
    }
}

impl fmt::Display for SessionError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SessionError::Engine(e) => write!(f, "{e}"),
            SessionError::PlanFile(e) => write!(f, "{e}"),
            SessionError::Locked { stack, holder, .. } if holder.is_gone() => write!(
                f,
                "the stack `{stack}` is locked by {holder}, a process of this host that has ended"
            ),
            SessionError::Locked { stack, holder, .. } => {
                write!(f, "the stack `{stack}` is locked by {holder}")
            }
            SessionError::LockInUse { stack, holder } => write!(
                f,
                "the stack `{stack}` is locked by {holder}, a process of this host that is still running"
            ),
            SessionError::NoResource { address, .. } => {
                write!(f, "the stack has no resource `{address}`")
            }
            SessionError::NoOutput { name, .. } => write!(f, "the stack has no output `{name}`"),
            SessionError::ReplaceOutsideTargets(address) => write!(
                f,
                "`--replace {address}` is outside the `--target`s: it would not be planned"
            ),
            SessionError::NotApplied(stack) => write!(
                f,
                "no outputs of the stack `{stack}` are deployed: no apply of it has recorded them"
            ),
            SessionError::SecretsNotKept => f.write_str(
                "the deployed outputs keep no secret values (the engine's record is readable by anyone with access to it)",
            ),
            SessionError::PlanOfOtherStack {
                file,
                planned,
                given,
            } => write!(
                f,
                "{} is a plan for the stack `{planned}`, not `{given}`",
                file.display()
            ),
            SessionError::Conflicts(found) => {
                write!(f, "objects outside the stack are in its way; nothing was changed:")?;
                for c in found {
                    write!(f, "\n    {}: {} is taken by {}", c.address, c.claim, c.holder)?;
                }
                Ok(())
            }
            SessionError::Stale(changed) => {
                const SHOWN: usize = 10;
                write!(
                    f,
                    "the plan is stale: the stack's objects changed since it was made:"
                )?;
                for c in changed.iter().take(SHOWN) {
                    write!(f, "\n    {c}")?;
                }
                if changed.len() > SHOWN {
                    write!(f, "\n    … and {} more", changed.len() - SHOWN)?;
                }
                Ok(())
            }
            SessionError::DataLoss(volumes) => write!(
                f,
                "this would delete or replace {} and lose the data",
                volumes.join(", ")
            ),
            SessionError::NoOneToConfirm => {
                f.write_str("stdin is not a terminal, so there is no one to confirm")
            }
            SessionError::Aborted => f.write_str("aborted"),
            SessionError::NoContainers { stack } => write!(
                f,
                "the stack `{stack}` has no containers on this engine"
            ),
            SessionError::NoContainer {
                address,
                other_kind: Some(kind),
                ..
            } => write!(f, "`{address}` is a {kind}, not a container"),
            SessionError::NoContainer { address, .. } => {
                write!(f, "the stack has no container `{address}` on this engine")
            }
            SessionError::SeveralContainers { address, .. } => write!(
                f,
                "`{address}` holds several containers: a command runs in one"
            ),
            SessionError::NotRunning { address, state } => {
                write!(f, "`{address}` is not running ({state})")
            }
        }
    }
}

/// `its containers are: container.a, container.b` (the first ten).
fn list(lead: &str, addresses: &[String]) -> String {
    const SHOWN: usize = 10;
    let mut text = format!(
        "{lead}: {}",
        addresses
            .iter()
            .take(SHOWN)
            .cloned()
            .collect::<Vec<_>>()
            .join(", ")
    );
    if addresses.len() > SHOWN {
        text.push_str(&format!(", … and {} more", addresses.len() - SHOWN));
    }
    text
}

impl std::error::Error for SessionError {}

impl From<EngineError> for SessionError {
    fn from(e: EngineError) -> SessionError {
        SessionError::Engine(e)
    }
}

impl From<PlanFileError> for SessionError {
    fn from(e: PlanFileError) -> SessionError {
        SessionError::PlanFile(e)
    }
}
