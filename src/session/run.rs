//! `apply` and `destroy`: every decision between a plan and the changes —
//! a saved plan's staleness, the volumes destroy keeps, the data-loss gate,
//! confirmation, and the record written even when nothing changes. The
//! user is reached only through [`Ui`], so each decision is tested on the
//! in-memory engine.

use std::path::Path;
use std::time::Duration;

use async_trait::async_trait;

use super::lock::{LockError, Locked, locked};
use super::{SessionError, apply, data_loss, keep_volumes, plan, pull_images, record};
use crate::apply::{ApplyOptions, Interrupt, Job, Outcome, Progress};
use crate::deployment::Deployment;
use crate::engine::{Engine, Holder};
use crate::plan::{Plan, PlanOptions, SavedPlan};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    Apply,
    Destroy,
}

impl Mode {
    /// The command, as the lock's holder names it.
    fn operation(self) -> &'static str {
        match self {
            Mode::Apply => "apply",
            Mode::Destroy => "destroy",
        }
    }

    fn question(self) -> &'static str {
        match self {
            Mode::Apply => "Do you want to perform these actions?",
            Mode::Destroy => "Do you really want to destroy these objects?",
        }
    }
}

/// What to apply or destroy, and how.
pub struct Request<'a> {
    /// For `destroy` without the parameters the source needs:
    /// [`super::stack_only`].
    pub deployment: &'a Deployment,
    /// The stack or plan path as the user named it, for the commands
    /// messages suggest (`stackc unlock PATH`).
    pub path: &'a Path,
    /// A plan saved by `plan --out`: applied as it is, without asking,
    /// unless the stack's objects changed since.
    pub saved: Option<&'a SavedPlan>,
    /// `--target` and `--replace` (apply only).
    pub selection: PlanOptions,
    /// `--pull`: pull every image reference first (apply only); containers
    /// with `pull = "always"` are pulled either way.
    pub pull: bool,
    pub mode: Mode,
    pub allow_data_loss: bool,
    pub auto_approve: bool,
    pub lock_timeout: Duration,
    pub apply: ApplyOptions,
}

/// A user's answer to "go ahead?".
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Answer {
    Yes,
    No,
    /// No one can answer (stdin is not a terminal).
    NoOneToAsk,
}

/// How a run reaches the user.
#[async_trait]
pub trait Ui: Sync {
    /// Another process holds the lock; waiting up to `timeout`.
    fn waiting_for_lock(&self, stack: &str, holder: &Holder, timeout: Duration);
    /// `destroy` leaves this volume (no `--allow-data-loss`).
    fn keeping_volume(&self, address: &str);
    /// The plan about to be applied.
    fn plan(&self, plan: &Plan);
    async fn confirm(&self, question: &str) -> Answer;
    /// The changes start now.
    fn applying(&self);
    fn progress(&self) -> &Progress;
}

/// How a run ended, short of an error.
#[derive(Debug)]
pub enum Finished {
    /// Nothing to change; the record of what is in place was written.
    Unchanged,
    /// Not confirmed, or interrupted before anything changed.
    Cancelled,
    /// The applier ran: `outcome` tells whether everything succeeded.
    Applied { plan: Box<Plan>, outcome: Outcome },
}

/// Plans, confirms and applies under the stack's lock, which is released
/// however the run ends.
pub async fn run(
    engine: &dyn Engine,
    request: &Request<'_>,
    ui: &dyn Ui,
    interrupt: &Interrupt,
) -> Result<Finished, SessionError> {
    let stack = &request.deployment.stack;
    let holder = Holder::me(request.mode.operation());
    let timeout = request.lock_timeout;
    let on_wait = |h: &Holder| ui.waiting_for_lock(stack, h, timeout);
    let work = under_lock(engine, request, ui, interrupt);
    match locked(engine, stack, &holder, timeout, on_wait, interrupt, work).await {
        Locked::Done(result) => result,
        Locked::NotTaken(LockError::Held(holder)) => Err(SessionError::Locked {
            stack: stack.clone(),
            holder,
            unlock: format!("stackc unlock {}", shell_word(request.path)),
        }),
        Locked::NotTaken(LockError::Engine(e)) => Err(e.into()),
        Locked::NotTaken(LockError::Interrupted) => Ok(Finished::Cancelled),
        Locked::Aborted => Err(SessionError::Aborted),
    }
}

async fn under_lock(
    engine: &dyn Engine,
    request: &Request<'_>,
    ui: &dyn Ui,
    interrupt: &Interrupt,
) -> Result<Finished, SessionError> {
    let Request {
        deployment, mode, ..
    } = *request;
    let destroying = mode == Mode::Destroy;
    let options = PlanOptions {
        destroy: destroying,
        ..request.selection.clone()
    };
    // Until the changes start, Ctrl-C cancels: pulling and planning are cut short.
    let report = |line: &str| ui.progress().note(line);
    let planned = async {
        if !destroying && request.saved.is_none() {
            pull_images(engine, deployment, request.pull, &report).await?;
        }
        plan(engine, deployment, &options).await
    };
    let (mut plan, live) = tokio::select! {
        planned = planned => planned?,
        () = interrupt.first_press() => return Ok(Finished::Cancelled),
    };
    if !plan.conflicts.is_empty() {
        ui.plan(&plan);
        return Err(SessionError::Conflicts(plan.conflicts));
    }
    if let Some(saved) = request.saved {
        let changed = saved.snapshot.changes(&live.snapshot());
        if !changed.is_empty() {
            return Err(SessionError::Stale(changed));
        }
        plan = saved.plan.clone();
    }
    if destroying && !request.allow_data_loss {
        for volume in keep_volumes(&mut plan) {
            ui.keeping_volume(&volume);
        }
    }
    plan.data_loss_allowed = request.allow_data_loss;
    ui.plan(&plan);
    if interrupt.pressed() {
        return Ok(Finished::Cancelled);
    }
    if !plan.has_changes() {
        // Still record what is in place (the first apply of an already-converged stack).
        record(engine, deployment, &plan, &live, destroying).await?;
        return Ok(Finished::Unchanged);
    }
    let at_risk = data_loss(&plan);
    if !at_risk.is_empty() && !request.allow_data_loss {
        return Err(SessionError::DataLoss(at_risk));
    }
    if request.saved.is_none() && !request.auto_approve {
        match ui.confirm(mode.question()).await {
            Answer::Yes => {}
            Answer::No => return Ok(Finished::Cancelled),
            Answer::NoOneToAsk if interrupt.pressed() => return Ok(Finished::Cancelled),
            Answer::NoOneToAsk => return Err(SessionError::NoOneToConfirm),
        }
    }
    if interrupt.pressed() {
        return Ok(Finished::Cancelled);
    }
    ui.applying();
    let job = Job {
        deployment,
        plan: &plan,
        live: &live,
    };
    let outcome = apply(
        engine,
        job,
        &request.apply,
        ui.progress(),
        interrupt,
        destroying,
    )
    .await?;
    Ok(Finished::Applied {
        plan: Box::new(plan),
        outcome,
    })
}

/// A path as one shell word: quoted when it holds anything but plain characters.
fn shell_word(path: &Path) -> String {
    let text = path.display().to_string();
    let plain = |c: char| c.is_ascii_alphanumeric() || "/._-+:@%,=".contains(c);
    if !text.is_empty() && text.chars().all(plain) {
        text
    } else {
        format!("'{}'", text.replace('\'', "'\\''"))
    }
}
