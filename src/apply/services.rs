//! Swarm services in an apply: updated in place naming the version the plan
//! read (another writer first: the one service is read and planned again),
//! then watched until every task runs the new spec — or until Swarm pauses
//! or rolls the update back, which fails the apply with the task errors.

use std::time::{Duration, Instant};

use super::{Cause, Ctx, StepError};
use crate::deployment::Resource;
use crate::engine::swarm::{Rollout, UpdateState, UpdateStatus};
use crate::engine::{ErrorKind, LiveObject};
use crate::plan::service_needs_update;

/// How often a stale version is read again before giving up.
const CONFLICT_RETRIES: usize = 3;

/// Updates a service in place and waits for the rollout.
pub(super) async fn update(
    ctx: Ctx<'_>,
    r: &Resource,
    object: LiveObject,
) -> Result<String, StepError> {
    let stack = &ctx.deployment.stack;
    let mut object = object;
    for _ in 0..CONFLICT_RETRIES {
        let live = object.actual.service.as_deref();
        let before = live.and_then(|l| l.update.clone());
        let force = before
            .as_ref()
            .is_some_and(|u| matches!(u.state, UpdateState::Paused | UpdateState::RollbackPaused));
        match ctx.engine.update_service(stack, r, &object, force).await {
            Ok(()) => return converge(ctx, r, &object.id, before, "updated").await,
            Err(e) if e.kind == ErrorKind::Conflict => {
                // Changed since the plan read it: read it again, plan it again.
                let Some(now) = ctx.engine.observe_service(&object.id).await? else {
                    return Err(StepError::Failed(
                        "removed outside stackc during the apply".to_string(),
                        Cause::Engine(ErrorKind::NotFound),
                    ));
                };
                if !service_needs_update(r, &now) {
                    return Ok("already as the source says (changed meanwhile)".into());
                }
                ctx.progress.note(&format!(
                    "{} (update): changed outside stackc since the plan; read again and planned again",
                    r.address
                ));
                object = now;
            }
            Err(e) => return Err(e.into()),
        }
    }
    Err(StepError::Failed(
        format!(
            "changed by another writer at every attempt ({CONFLICT_RETRIES}); nothing was updated"
        ),
        Cause::Engine(ErrorKind::Conflict),
    ))
}

/// Waits until every task of the service runs its spec (healthy, when it
/// has a check), reporting progress as it goes; fails when Swarm pauses or
/// rolls the update back, when tasks keep failing, or at the timeout.
/// `before` is the update status read before this update: until Swarm
/// starts the new one, it still shows the last one's.
pub(super) async fn converge(
    ctx: Ctx<'_>,
    r: &Resource,
    id: &str,
    before: Option<UpdateStatus>,
    done: &str,
) -> Result<String, StepError> {
    let label = format!(
        "{} ({})",
        r.address,
        if done == "updated" {
            "update"
        } else {
            "create"
        }
    );
    let deadline = Instant::now() + ctx.timeout;
    let mut pause = Duration::from_millis(100);
    let mut shown = String::new();
    // Swarm reaps failed tasks and rewrites its message as a rollback goes
    // on: what was seen on the way is kept for the report.
    let mut seen = Rollout::default();
    loop {
        if ctx.interrupt.pressed() {
            return Ok(format!("{done}; not waited for (interrupted)"));
        }
        let mut rollout = ctx.engine.rollout(id).await?;
        // A status unchanged since before the update is the last update's.
        let status = rollout
            .update
            .clone()
            .filter(|u| Some(u) != before.as_ref());
        for e in std::mem::take(&mut rollout.errors) {
            if !seen.errors.contains(&e) {
                seen.errors.push(e);
            }
        }
        rollout.errors = seen.errors.clone();
        // The first message of a failure names the task that failed.
        if let Some(u) = status.as_ref().filter(|u| u.message.contains("task"))
            && seen.update.is_none()
        {
            seen.update = Some(u.clone());
        }
        if let Some(u) = &status
            && u.state.failed()
        {
            let first = seen.update.as_ref().unwrap_or(u);
            return Err(StepError::Failed(
                failure(u, first, &rollout),
                Cause::Engine(ErrorKind::Other),
            ));
        }
        let settled = status
            .as_ref()
            .is_none_or(|u| u.state == UpdateState::Completed);
        if settled && rollout.running == rollout.desired && rollout.stopping == 0 {
            return Ok(format!(
                "{done}: {}/{} running",
                rollout.running, rollout.desired
            ));
        }
        // A new service whose tasks keep failing: Swarm would retry forever.
        if status.is_none() && rollout.failed >= (rollout.desired * 3).max(3) {
            return Err(StepError::Failed(
                format!(
                    "its tasks keep failing ({} failed, {}/{} running): {}",
                    rollout.failed,
                    rollout.running,
                    rollout.desired,
                    errors(&rollout)
                ),
                Cause::Engine(ErrorKind::Other),
            ));
        }
        let line = match status.as_ref().map(|u| u.state) {
            // Until Swarm starts the rollout, an update is at its start too.
            Some(UpdateState::Updating) | None if done == "updated" => {
                format!("{}/{} updated", rollout.running, rollout.desired)
            }
            Some(UpdateState::RollbackStarted) => {
                "the update failed: Swarm is rolling it back".into()
            }
            _ if rollout.running + rollout.stopping > rollout.desired => format!(
                "{}/{} running, {} to stop",
                rollout.running.min(rollout.desired),
                rollout.desired,
                rollout.running + rollout.stopping - rollout.desired
            ),
            _ => format!("{}/{} running", rollout.running, rollout.desired),
        };
        if line != shown {
            ctx.progress.note(&format!("{label}: {line}"));
            shown = line;
        }
        if Instant::now() >= deadline {
            let waited = crate::units::format_duration(ctx.timeout.as_millis() as i64);
            return Err(StepError::Failed(
                format!(
                    "it did not converge within {waited}: {}/{} tasks running its spec{}",
                    rollout.running,
                    rollout.desired,
                    if rollout.errors.is_empty() {
                        String::new()
                    } else {
                        format!("; {}", errors(&rollout))
                    }
                ),
                Cause::Timeout,
            ));
        }
        tokio::time::sleep(pause).await;
        // Often: Swarm reaps a failed task within a second or two.
        pause = (pause * 2).min(Duration::from_millis(250));
    }
}

/// An update Swarm paused or rolled back, with what its tasks said.
fn failure(u: &UpdateStatus, first: &UpdateStatus, rollout: &Rollout) -> String {
    let what = match u.state {
        UpdateState::RollbackCompleted => "the update failed and Swarm rolled it back",
        UpdateState::RollbackPaused => "the update failed and Swarm paused its rollback",
        _ => "the update failed and Swarm paused it",
    };
    let mut text = what.to_string();
    if !first.message.is_empty() {
        text.push_str(&format!(" ({})", first.message));
    }
    if !rollout.errors.is_empty() {
        text.push_str(&format!("; {}", errors(rollout)));
    }
    text
}

fn errors(rollout: &Rollout) -> String {
    if rollout.errors.is_empty() {
        return "Swarm gave no task error (`docker service ps --no-trunc` shows the tasks)".into();
    }
    format!("task errors: {}", rollout.errors.join("; "))
}
