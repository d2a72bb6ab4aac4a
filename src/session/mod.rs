//! What the commands do, apart from talking to the user: observe, plan,
//! lock, apply and record; and the decisions on the way (which addresses a
//! selection may name, whether a saved plan fits, what an output is).
//! The command line (`src/bin/stackc/`) only parses arguments, calls these
//! and renders.

mod error;
mod exec;
mod lock;
mod logs;
mod run;
#[cfg(test)]
mod tests;

use std::collections::BTreeSet;
use std::path::Path;

pub use error::SessionError;
pub use exec::{ExecEnd, ExecIo, exec};
pub use lock::{LockError, Locked, Unlocked, break_lock, lock, locked};
pub use logs::{LogsRequest, Sink, container, containers, logs};
pub use run::{Answer, Finished, Mode, Request, Ui, run};

use crate::apply::{self, ApplyOptions, Interrupt, Job, Outcome, Progress};
use crate::deployment::Kind;
use crate::deployment::{Deployment, PullPolicy, SecretTexts, Spec};
use crate::engine::{Engine, EngineError, LiveState};
use crate::plan::{self, Action, Plan, PlanOptions, SavedPlan};

/// The image references a plan looks up: images pulled by `ref`, and the
/// images containers run that the stack does not build (whether they are
/// present, and which image each names now).
pub fn image_refs(deployment: &Deployment) -> Vec<String> {
    let built = built_images(deployment);
    let mut refs: BTreeSet<String> = BTreeSet::new();
    for r in &deployment.resources {
        match &r.spec {
            Spec::Image(i) => refs.extend(i.reference.clone()),
            Spec::Container(c) if !built.contains(c.run.image.as_str()) => {
                refs.insert(c.run.image.clone());
            }
            _ => {}
        }
    }
    refs.into_iter().collect()
}

/// Pulls the image references that are pulled before a plan: with `all`
/// (`--pull`) every one the stack runs, but those only containers with
/// `pull = "never"` run (the stack's own builds are not pulled); otherwise
/// those of containers with `pull = "always"`.
pub async fn pull_images(
    engine: &dyn Engine,
    deployment: &Deployment,
    all: bool,
    report: &crate::engine::Report<'_>,
) -> Result<(), EngineError> {
    let built: BTreeSet<&str> = built_images(deployment);
    // A reference is pulled when anything that runs it wants it pulled: a
    // container with `pull = "never"` does not stop another one's pull.
    let mut pull: BTreeSet<&str> = BTreeSet::new();
    for r in &deployment.resources {
        match &r.spec {
            Spec::Image(i) if all => pull.extend(i.reference.as_deref()),
            Spec::Container(c) if !built.contains(c.run.image.as_str()) => {
                let wanted = match c.pull {
                    PullPolicy::Always => true,
                    PullPolicy::Missing => all,
                    PullPolicy::Never => false,
                };
                if wanted {
                    pull.insert(&c.run.image);
                }
            }
            _ => {}
        }
    }
    for reference in pull {
        engine.pull(reference, report).await.map_err(|mut e| {
            e.message.push_str(
                " (an image only this engine has, built or tagged here, cannot be pulled: give its containers `pull = \"never\"`)",
            );
            e
        })?;
    }
    Ok(())
}

/// The tags of the images the stack builds.
fn built_images(deployment: &Deployment) -> BTreeSet<&str> {
    deployment
        .resources
        .iter()
        .filter(|r| matches!(&r.spec, Spec::Image(i) if i.build.is_some()))
        .map(|r| r.name.as_str())
        .collect()
}

/// Live state and the plan against it.
pub async fn plan(
    engine: &dyn Engine,
    deployment: &Deployment,
    options: &PlanOptions,
) -> Result<(Plan, LiveState), SessionError> {
    // Services need a swarm manager: said now, not halfway through an apply.
    if !options.destroy
        && let Some(service) = deployment
            .resources
            .iter()
            .find(|r| r.kind == Kind::Service)
        && let Some(why) = engine.swarm_refusal().await?
    {
        return Err(EngineError::new(crate::engine::ErrorKind::Other, why)
            .about(&service.address)
            .into());
    }
    let mut live = engine
        .observe(&deployment.stack, &image_refs(deployment))
        .await?;
    // Objects at the addresses `moved` blocks give them (the applier finds them there).
    plan::follow_moves(deployment, &mut live);
    removed_targets(deployment, &live, &options.targets)?;
    let mut plan = plan::diff(deployment, &live, options);
    plan.conflicts = engine
        .foreign(&deployment.stack, &plan.claims(deployment))
        .await?;
    plan.conflicts
        .sort_by(|a, b| (&a.address, &a.claim, &a.holder).cmp(&(&b.address, &b.claim, &b.holder)));
    Ok((plan, live))
}

/// A deployment of nothing but the stack's name, for `destroy` when the
/// source cannot be evaluated without the parameters it is not given (a CI
/// job that destroys without the secrets). Destroy removes every object
/// labelled with the stack, found on the engine, and needs nothing else of
/// the source: the record's moves are still followed, and the volumes it
/// keeps and the data-loss gate are read from the plan, that is from live
/// state. Never for `apply`: every object would be "no longer in the source".
pub fn stack_only(stack: &str) -> Deployment {
    Deployment {
        format_version: crate::deployment::FORMAT_VERSION,
        stack: stack.to_string(),
        resources: Vec::new(),
        outputs: Default::default(),
        moved: Vec::new(),
    }
}

/// The stack's objects on the engine, at the addresses the last apply
/// recorded (for `status` when the source cannot be evaluated).
pub async fn observe_stack(engine: &dyn Engine, stack: &str) -> Result<LiveState, EngineError> {
    let mut live = engine.observe(stack, &[]).await?;
    plan::follow_recorded(&mut live);
    Ok(live)
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
    let outcome = apply::apply(engine, job, options, progress, interrupt).await;
    // The record is what exists now, however the apply ended: the next plan starts from it.
    record(engine, job.deployment, job.plan, job.live, destroying)
        .await
        .map_err(|e| e.masked(&SecretTexts::of(job.deployment)))?;
    Ok(outcome)
}

/// Records the addresses in place now (none after a destroy), so the next
/// plan tells an object deleted by hand from one never made. What a
/// targeted plan left out keeps its entry from the record `before` it: an
/// object deleted by hand outside the targets is still drift next time.
pub async fn record(
    engine: &dyn Engine,
    deployment: &Deployment,
    plan: &Plan,
    before: &LiveState,
    destroying: bool,
) -> Result<(), EngineError> {
    if destroying {
        return engine.write_record(&deployment.stack, None).await;
    }
    let after = engine
        .observe(&deployment.stack, &image_refs(deployment))
        .await?;
    let mut record = apply::record_of(deployment, &after);
    if let Some(earlier) = &before.record {
        let planned: BTreeSet<&str> = plan
            .resource_changes
            .iter()
            .map(|c| c.address.as_str())
            .collect();
        let untargeted =
            |a: &String| !planned.contains(a.as_str()) && deployment.resource(a).is_some();
        record
            .addresses
            .extend(earlier.addresses.iter().filter(|a| untargeted(a)).cloned());
        for (address, set) in earlier.settings.iter().filter(|(a, _)| untargeted(a)) {
            record
                .settings
                .entry(address.clone())
                .or_insert_with(|| set.clone());
        }
    }
    engine.write_record(&deployment.stack, Some(&record)).await
}

/// Whether `address` names something among `addresses`: one of them, or a
/// module instance (`postgres.db`) holding some.
fn names_one_of<'a>(address: &str, mut addresses: impl Iterator<Item = &'a str>) -> bool {
    let inside = format!("{address}.");
    addresses.any(|a| a == address || a.starts_with(&inside))
}

/// The help for an address that names nothing: the closest spelling, or —
/// for a bare name as `logs` and `exec` take it (`db`) — the full address
/// of the resource of that name (`container.db`).
fn address_suggestion<'a>(
    address: &str,
    addresses: impl IntoIterator<Item = &'a str>,
) -> Option<String> {
    let addresses: BTreeSet<&str> = addresses.into_iter().collect();
    let suffix = format!(".{address}");
    let named: Vec<&str> = addresses
        .iter()
        .copied()
        .filter(|a| a.ends_with(&suffix))
        .collect();
    match named.as_slice() {
        [] => crate::diagnostic::did_you_mean(address, addresses),
        [one] => Some(format!("an address names the kind: did you mean `{one}`?")),
        several => Some(format!(
            "an address names the kind: one of `{}`",
            several.join("`, `")
        )),
    }
}

/// The plan options for `--target` and `--replace`: a replacement must
/// name a resource of the stack; a target may also name one removed from
/// the source (its objects are found when the engine is observed, see
/// [`removed_targets`]).
pub fn selection(
    deployment: &Deployment,
    targets: &[String],
    replace: &[String],
) -> Result<PlanOptions, SessionError> {
    if !targets.is_empty() {
        let selected = plan::with_dependencies(deployment, targets);
        if let Some(outside) = replace.iter().find(|r| !selected.contains(*r)) {
            return Err(SessionError::ReplaceOutsideTargets(outside.clone()));
        }
    }
    for address in replace {
        if deployment.resource(address).is_none() {
            let addresses = deployment.resources.iter().map(|r| r.address.as_str());
            return Err(SessionError::NoResource {
                address: address.clone(),
                suggestion: address_suggestion(address, addresses),
            });
        }
    }
    Ok(PlanOptions {
        targets: targets.to_vec(),
        replace: replace.to_vec(),
        destroy: false,
    })
}

/// Targets that name nothing in the source must name what the engine has
/// of the stack (an object, or an address of the record): a resource
/// removed from the source, whose deletion the plan then holds.
fn removed_targets(
    deployment: &Deployment,
    live: &LiveState,
    targets: &[String],
) -> Result<(), SessionError> {
    let in_source = || deployment.resources.iter().map(|r| r.address.as_str());
    let on_engine = || {
        live.objects.iter().map(|o| o.address.as_str()).chain(
            live.record
                .iter()
                .flat_map(|r| r.addresses.iter().map(String::as_str)),
        )
    };
    for address in targets {
        if !names_one_of(address, in_source()) && !names_one_of(address, on_engine()) {
            let known: BTreeSet<&str> = in_source().chain(on_engine()).collect();
            return Err(SessionError::NoResource {
                address: address.clone(),
                suggestion: address_suggestion(address, known),
            });
        }
    }
    Ok(())
}

/// A saved plan applied with a stack path must be a plan of that stack.
pub fn check_plan_stack(
    file: &Path,
    saved: &SavedPlan,
    here: &Deployment,
) -> Result<(), SessionError> {
    if here.stack == saved.stack {
        return Ok(());
    }
    Err(SessionError::PlanOfOtherStack {
        file: file.to_path_buf(),
        planned: saved.stack.clone(),
        given: here.stack.clone(),
    })
}

/// The stack's outputs by name, secrets masked unless `show_secrets`.
pub fn outputs(
    deployment: &Deployment,
    show_secrets: bool,
) -> serde_json::Map<String, serde_json::Value> {
    deployment
        .outputs
        .iter()
        .map(|(name, o)| (name.clone(), o.shown(show_secrets)))
        .collect()
}

/// The outputs as the last apply left them (secrets masked), and the names
/// of those the source now computes otherwise.
#[derive(Debug, Clone, PartialEq)]
pub struct Deployed {
    pub outputs: serde_json::Map<String, serde_json::Value>,
    pub changed: Vec<String>,
}

/// The outputs the last apply of `stack` recorded (secrets masked).
pub async fn recorded_outputs(
    engine: &dyn Engine,
    stack: &str,
) -> Result<serde_json::Map<String, serde_json::Value>, SessionError> {
    engine
        .read_record(stack)
        .await?
        .and_then(|r| r.outputs)
        .ok_or_else(|| SessionError::NotApplied(stack.to_string()))
}

/// Reads the outputs of the last apply from the engine's record, and
/// compares them with what the source computes now.
pub async fn deployed_outputs(
    engine: &dyn Engine,
    deployment: &Deployment,
) -> Result<Deployed, SessionError> {
    let outputs = recorded_outputs(engine, &deployment.stack).await?;
    let now = self::outputs(deployment, false);
    let changed = outputs
        .keys()
        .chain(now.keys().filter(|k| !outputs.contains_key(*k)))
        .filter(|k| outputs.get(*k) != now.get(*k))
        .cloned()
        .collect();
    Ok(Deployed { outputs, changed })
}

/// One output, secrets masked unless `show_secrets`.
pub fn output(
    deployment: &Deployment,
    name: &str,
    show_secrets: bool,
) -> Result<serde_json::Value, SessionError> {
    match deployment.outputs.get(name) {
        Some(o) => Ok(o.shown(show_secrets)),
        None => Err(SessionError::NoOutput {
            name: name.to_string(),
            outputs: deployment.outputs.keys().cloned().collect(),
        }),
    }
}
