//! What the commands do with an engine, apart from talking to the user:
//! observe, plan, lock, apply, and record what was applied.

use std::time::{Duration, Instant};

use crate::apply::{self, ApplyOptions, Interrupt, Job, Outcome, Progress};
use crate::deployment::{Deployment, Spec};
use crate::engine::{Engine, EngineError, Holder, LiveState, Lock};
use crate::plan::{self, Action, Plan, PlanOptions};
use crate::types::Kind;

/// The image references whose presence a plan needs (images pulled by `ref`).
pub fn image_refs(deployment: &Deployment) -> Vec<String> {
    deployment
        .resources
        .iter()
        .filter_map(|r| match &r.spec {
            Spec::Image(i) => i.reference.clone(),
            _ => None,
        })
        .collect()
}

/// Live state and the plan against it.
pub async fn plan(
    engine: &dyn Engine,
    deployment: &Deployment,
    options: &PlanOptions,
) -> Result<(Plan, LiveState), EngineError> {
    let live = engine
        .observe(&deployment.stack, &image_refs(deployment))
        .await?;
    let plan = plan::diff(deployment, &live, options);
    Ok((plan, live))
}

/// Why a stack's lock could not be taken.
#[derive(Debug)]
pub enum LockError {
    Held(Holder),
    Engine(EngineError),
}

/// Takes the stack's lock, waiting up to `timeout` for a holder to release
/// it (`on_wait` is told once who holds it).
pub async fn lock(
    engine: &dyn Engine,
    stack: &str,
    holder: &Holder,
    timeout: Duration,
    on_wait: impl Fn(&Holder),
) -> Result<(), LockError> {
    let deadline = Instant::now() + timeout;
    let mut told = false;
    loop {
        match engine
            .lock(stack, holder)
            .await
            .map_err(LockError::Engine)?
        {
            Lock::Acquired => return Ok(()),
            Lock::HeldBy(other) => {
                if Instant::now() >= deadline {
                    return Err(LockError::Held(other));
                }
                if !told {
                    on_wait(&other);
                    told = true;
                }
                tokio::time::sleep(Duration::from_millis(500).min(deadline - Instant::now())).await;
            }
        }
    }
}

/// The volumes a plan would delete or replace: allowed only with `--allow-data-loss`.
pub fn data_loss(plan: &Plan) -> Vec<String> {
    plan.actions()
        .filter(|c| c.data_loss)
        .map(|c| c.address.clone())
        .collect()
}

/// For `destroy` without `--allow-data-loss`: volumes are kept.
pub fn keep_volumes(plan: &mut Plan) -> Vec<String> {
    let kept: Vec<String> = plan
        .resource_changes
        .iter()
        .filter(|c| c.kind == Kind::Volume && c.action() == Action::Delete)
        .map(|c| c.address.clone())
        .collect();
    plan.resource_changes
        .retain(|c| !(c.kind == Kind::Volume && c.action() == Action::Delete));
    plan.summary.destroy -= kept.len();
    kept
}

/// Applies a plan and records what is left in place. The caller holds the lock.
pub async fn apply(
    engine: &dyn Engine,
    job: Job<'_>,
    options: &ApplyOptions,
    progress: &Progress,
    interrupt: &Interrupt,
    destroying: bool,
) -> Result<Outcome, EngineError> {
    let deployment = job.deployment;
    let outcome = apply::apply(engine, job, options, progress, interrupt).await;
    // The record is what exists now, however the apply ended: the next plan starts from it.
    let after = engine
        .observe(&deployment.stack, &image_refs(deployment))
        .await?;
    if destroying {
        engine.write_record(&deployment.stack, None).await?;
    } else {
        engine
            .write_record(
                &deployment.stack,
                Some(&apply::record_of(deployment, &after)),
            )
            .await?;
    }
    Ok(outcome)
}
