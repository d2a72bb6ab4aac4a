//! Applying a plan: its changes run as a dependency graph on an engine.
//!
//! First what must go: objects no longer in the source and the old halves
//! of replacements that others depend on (containers, then networks and
//! volumes, then images). Then everything else, each resource as soon as
//! what it depends on is done and its condition (`started`, `healthy`,
//! `completed`) holds, at most `parallelism` at once. When an action fails
//! or the user interrupts, nothing new starts; running actions finish.

mod progress;
mod services;

use std::collections::{BTreeMap, BTreeSet};
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures_util::stream::{FuturesUnordered, StreamExt};

pub use progress::Progress;

use crate::deployment::Kind;
use crate::deployment::{Condition, Deployment, Resource, SecretTexts, Spec};
use crate::engine::{Engine, EngineError, ErrorKind, LiveObject, LiveState, State};
use crate::plan::{Action, Change, Plan, attached, network_repairs};

#[derive(Debug, Clone)]
pub struct ApplyOptions {
    /// At most this many actions at once.
    pub parallelism: usize,
    /// How long a dependent waits for `healthy` or `completed`.
    pub wait_timeout: Duration,
}

impl Default for ApplyOptions {
    fn default() -> Self {
        ApplyOptions {
            parallelism: 10,
            wait_timeout: Duration::from_secs(300),
        }
    }
}

/// Counts Ctrl-C presses: the first stops new actions, the second aborts.
#[derive(Debug, Clone)]
pub struct Interrupt(Arc<tokio::sync::watch::Sender<usize>>);

impl Default for Interrupt {
    fn default() -> Self {
        Interrupt(Arc::new(tokio::sync::watch::Sender::new(0)))
    }
}

impl Interrupt {
    /// Counts a press; returns how many there have been.
    pub fn press(&self) -> usize {
        let mut presses = 0;
        self.0.send_modify(|n| {
            *n += 1;
            presses = *n;
        });
        presses
    }

    pub fn pressed(&self) -> bool {
        *self.0.borrow() > 0
    }

    /// Resolves at the first press.
    pub async fn first_press(&self) {
        self.presses(1).await;
    }

    /// Resolves at the second press: the user wants out now.
    pub async fn aborted(&self) {
        self.presses(2).await;
    }

    async fn presses(&self, n: usize) {
        // The sender lives in `self`, so the channel never closes while waiting.
        let _ = self.0.subscribe().wait_for(|p| *p >= n).await;
    }
}

/// What an apply did.
#[derive(Debug, Clone, Default)]
pub struct Outcome {
    /// (address, what was done, how long it took).
    pub done: Vec<(String, String, Duration)>,
    /// (address, the engine's error).
    pub failed: Vec<(String, String)>,
    pub not_attempted: Vec<String>,
    pub interrupted: bool,
    /// What kind of failure came first, if any.
    pub cause: Option<Cause>,
}

impl Outcome {
    pub fn succeeded(&self) -> bool {
        self.failed.is_empty() && self.not_attempted.is_empty() && !self.interrupted
    }

    /// What to do after an apply that did not succeed: running it again is
    /// advised only when that can succeed as it is; otherwise what needs
    /// fixing first.
    pub fn advice(&self) -> &'static str {
        const AGAIN: &str = "run `stackc apply` again: it continues from where this one stopped";
        match self.cause {
            None => AGAIN,
            Some(cause) if cause.retry_helps() => AGAIN,
            Some(Cause::Engine(ErrorKind::Conflict)) => {
                "another object holds a name or port the stack needs (the error names it): free it or change the stack, then apply again; as it is, a retry fails the same way"
            }
            Some(Cause::Engine(ErrorKind::NotFound)) => {
                "something the stack needs does not exist (the error names it: an image to build, push or pull, a network, a file): make it exist or change the stack, then apply again; as it is, a retry fails the same way"
            }
            Some(Cause::Dependency) => {
                "a container the others wait for did not get ready (`docker logs` shows why): fix it, then apply again; it continues from where this one stopped"
            }
            Some(_) => {
                "fix what the error says, then run `stackc apply` again: it continues from where this one stopped"
            }
        }
    }
}

/// One unit of work.
#[derive(Debug, Clone)]
enum Step {
    /// Remove an object (a deletion, or the old half of a replacement).
    Remove { object: LiveObject },
    /// Remove the image a rebuild replaced, unless the build made it again.
    RemoveOldImage { object: LiveObject },
    /// Make a resource: create (after removing `old`, for an inline
    /// replacement), start; `fresh`: an unchanged build made again
    /// (`--replace`), without the build cache.
    Make {
        address: String,
        old: Option<LiveObject>,
        fresh: bool,
    },
    /// Update a container in place (and start it if it is not running).
    Update {
        address: String,
        object: LiveObject,
        fields: bool,
    },
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Status {
    Waiting,
    Running,
    Done,
    Failed,
}

struct Task {
    step: Step,
    /// What must be done first (task indexes), and the conditions to check after.
    after: Vec<usize>,
    waits: Vec<(String, Condition)>,
    status: Status,
    label: String,
}

type Running<'a> =
    Pin<Box<dyn Future<Output = (usize, Result<String, StepError>, Duration)> + Send + 'a>>;

/// What every step needs.
#[derive(Clone, Copy)]
struct Ctx<'a> {
    engine: &'a dyn Engine,
    deployment: &'a Deployment,
    /// The engine's id of each address's object, as made so far.
    ids: &'a std::sync::Mutex<BTreeMap<String, String>>,
    /// How long to wait for `healthy` or `completed`.
    timeout: Duration,
    interrupt: &'a Interrupt,
    progress: &'a Progress,
    /// Masked in every error and build line: Docker may echo a value.
    secrets: &'a SecretTexts,
    /// One-off jobs: a finished one is not run again by an update.
    jobs: &'a BTreeSet<&'a str>,
    /// The image each reference named when the plan was made (`None`: absent).
    images: &'a BTreeMap<String, Option<String>>,
    /// The live state the plan was made against.
    live: &'a LiveState,
}

/// Why a step did not succeed.
#[derive(Debug)]
enum StepError {
    /// The engine's error, or a dependency that never got ready.
    Failed(String, Cause),
    /// The user interrupted while the step waited for a dependency: it did nothing.
    Interrupted,
}

/// What kind of failure stopped an apply: whether running it again can help.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cause {
    /// The engine refused or failed (`Conflict`: a name or port taken,
    /// `NotFound`: an image or network missing, `Unavailable`: no engine).
    Engine(ErrorKind),
    /// A dependency did not become healthy or complete in time.
    Timeout,
    /// A dependency exited with an error, or can never become healthy.
    Dependency,
}

impl Cause {
    /// Whether the same apply may succeed when simply run again.
    pub fn retry_helps(self) -> bool {
        matches!(self, Cause::Timeout | Cause::Engine(ErrorKind::Unavailable))
    }
}

impl From<EngineError> for StepError {
    fn from(e: EngineError) -> StepError {
        let kind = e.kind;
        StepError::Failed(e.to_string(), Cause::Engine(kind))
    }
}

/// A dependency that is not what its condition wants.
fn dependency(message: String) -> StepError {
    StepError::Failed(message, Cause::Dependency)
}

/// What to apply: a plan, made against `live`, for `deployment`.
#[derive(Debug, Clone, Copy)]
pub struct Job<'a> {
    pub deployment: &'a Deployment,
    pub plan: &'a Plan,
    pub live: &'a LiveState,
}

/// Applies the job's plan to the engine.
pub async fn apply(
    engine: &dyn Engine,
    job: Job<'_>,
    options: &ApplyOptions,
    progress: &Progress,
    interrupt: &Interrupt,
) -> Outcome {
    let Job {
        deployment,
        plan,
        live,
    } = job;
    let mut tasks = schedule(deployment, plan, live);
    let mut outcome = Outcome::default();
    let ids: std::sync::Mutex<BTreeMap<String, String>> = std::sync::Mutex::new(
        live.objects
            .iter()
            .map(|o| (o.address.clone(), o.id.clone()))
            .collect(),
    );
    let secrets = SecretTexts::of(deployment);
    let jobs = deployment.jobs();
    let ctx = Ctx {
        jobs: &jobs,
        images: &live.images,
        live,
        engine,
        deployment,
        ids: &ids,
        timeout: options.wait_timeout,
        interrupt,
        progress,
        secrets: &secrets,
    };
    let mut running: FuturesUnordered<Running<'_>> = FuturesUnordered::new();
    let mut stopping = false;
    loop {
        if interrupt.pressed() && !stopping {
            stopping = true;
            outcome.interrupted = true;
        }
        if !stopping {
            let ready: Vec<usize> = (0..tasks.len())
                .filter(|&i| {
                    tasks[i].status == Status::Waiting
                        && tasks[i]
                            .after
                            .iter()
                            .all(|&d| tasks[d].status == Status::Done)
                })
                .collect();
            for i in ready {
                if running.len() >= options.parallelism.max(1) {
                    break;
                }
                tasks[i].status = Status::Running;
                progress.started(&tasks[i].label);
                running.push(Box::pin(run(
                    ctx,
                    tasks[i].label.clone(),
                    tasks[i].step.clone(),
                    tasks[i].waits.clone(),
                    i,
                )));
            }
        }
        let Some((i, result, elapsed)) = running.next().await else {
            break;
        };
        match result {
            // Interrupted while waiting for a dependency: nothing was done.
            Err(StepError::Interrupted) => tasks[i].status = Status::Waiting,
            Ok(what) => {
                tasks[i].status = Status::Done;
                progress.finished(&tasks[i].label, &what, elapsed);
                outcome
                    .done
                    .push((address_of(&tasks[i].step), what, elapsed));
            }
            Err(StepError::Failed(error, cause)) => {
                tasks[i].status = Status::Failed;
                outcome.cause.get_or_insert(cause);
                progress.failed(&tasks[i].label, &error);
                outcome.failed.push((address_of(&tasks[i].step), error));
                stopping = true;
            }
        }
    }
    // A resource whose first step failed is not listed again for its later ones.
    let failed: BTreeSet<&str> = outcome.failed.iter().map(|(a, _)| a.as_str()).collect();
    let mut not_attempted: Vec<String> = tasks
        .iter()
        .filter(|t| t.status == Status::Waiting)
        .map(|t| address_of(&t.step))
        .filter(|a| !failed.contains(a.as_str()))
        .collect();
    not_attempted.dedup();
    outcome.not_attempted = not_attempted;
    outcome
}

fn address_of(step: &Step) -> String {
    match step {
        Step::Remove { object } | Step::RemoveOldImage { object } => object.address.clone(),
        Step::Make { address, .. } | Step::Update { address, .. } => address.clone(),
    }
}

/// Turns the plan's changes into tasks with their order.
fn schedule(deployment: &Deployment, plan: &Plan, live: &LiveState) -> Vec<Task> {
    let by_id: BTreeMap<&str, &LiveObject> =
        live.objects.iter().map(|o| (o.id.as_str(), o)).collect();
    let object_of = |c: &Change| {
        c.id.as_deref()
            .and_then(|id| by_id.get(id))
            .map(|o| (*o).clone())
    };
    // Networks and volumes that go away: what uses them must go first —
    // what the new specs depend on, and what the live containers use (a
    // container leaving a network is removed before the network is).
    let leaving_changes: Vec<&Change> = plan
        .actions()
        .filter(|c| {
            (c.is_replace() || c.action() == Action::Delete)
                && matches!(c.kind, Kind::Network | Kind::Volume)
        })
        .collect();
    let leaving: BTreeSet<&str> = leaving_changes.iter().map(|c| c.address.as_str()).collect();
    let leaving_names: BTreeSet<&str> = leaving_changes.iter().map(|c| c.name.as_str()).collect();
    let live_uses_leaving = |o: &LiveObject| {
        o.actual
            .networks
            .keys()
            .any(|n| leaving_names.contains(n.as_str()))
            || o.actual.values.iter().any(|(k, v)| {
                k.starts_with("/mounts/")
                    && k.ends_with("/source")
                    && leaving_names.contains(v.as_str())
            })
    };
    let mut tasks: Vec<Task> = Vec::new();
    let mut push = |label: String, step: Step| {
        tasks.push(Task {
            label,
            step,
            after: Vec::new(),
            waits: Vec::new(),
            status: Status::Waiting,
        });
        tasks.len() - 1
    };
    // Removals that go first, makes (creations, updates, inline replacements),
    // and removals of old images, which go last: containers may still run them.
    let mut first: Vec<(usize, Kind)> = Vec::new();
    let mut make: BTreeMap<String, usize> = BTreeMap::new();
    let mut last: Vec<usize> = Vec::new();
    for c in plan.actions() {
        let uses_leaving = deployment.resource(&c.address).is_some_and(|r| {
            r.depends_on
                .iter()
                .any(|d| leaving.contains(d.address.as_str()))
        });
        let old = object_of(c);
        let make_step = |old: Option<LiveObject>| Step::Make {
            address: c.address.clone(),
            old,
            fresh: false,
        };
        match (c.action(), c.is_replace(), old) {
            (Action::Delete, _, Some(object)) => {
                let kind = object.kind;
                first.push((push(label(c, "remove"), Step::Remove { object }), kind));
            }
            (Action::Create, true, Some(object)) if c.kind == Kind::Image => {
                let fresh = deployment
                    .resource(&c.address)
                    .is_some_and(|r| r.hash == object.hash);
                let step = Step::Make {
                    address: c.address.clone(),
                    old: None,
                    fresh,
                };
                make.insert(c.address.clone(), push(label(c, "build"), step));
                last.push(push(
                    label(c, "remove the old image"),
                    Step::RemoveOldImage { object },
                ));
            }
            (Action::Create, true, Some(object))
                if c.kind != Kind::Container || uses_leaving || live_uses_leaving(&object) =>
            {
                let kind = object.kind;
                first.push((push(label(c, "remove"), Step::Remove { object }), kind));
                make.insert(c.address.clone(), push(label(c, "create"), make_step(None)));
            }
            (Action::Create, true, old) => {
                make.insert(c.address.clone(), push(label(c, "replace"), make_step(old)));
            }
            (Action::Create, false, _) => {
                make.insert(c.address.clone(), push(label(c, "create"), make_step(None)));
            }
            (Action::Update, _, Some(object)) => {
                // Networks are rejoined apart: `docker update` does not change them.
                let fields = c.fields.iter().any(|f| !f.path.starts_with("networks"));
                let step = Step::Update {
                    address: c.address.clone(),
                    object,
                    fields,
                };
                make.insert(c.address.clone(), push(label(c, "update"), step));
            }
            _ => {}
        }
    }
    // First removals: containers, then networks and volumes, then images.
    let tier = |k: Kind| match k {
        Kind::Container | Kind::Service => 0,
        Kind::Network | Kind::Volume => 1,
        Kind::Image => 2,
    };
    for &(i, k) in &first {
        tasks[i].after = first
            .iter()
            .filter(|(_, other)| tier(*other) < tier(k))
            .map(|(j, _)| *j)
            .collect();
    }
    let first: Vec<usize> = first.iter().map(|(i, _)| *i).collect();
    // Makes: after the first removals and what they depend on.
    for (address, &i) in &make {
        let mut after = first.clone();
        let mut waits = Vec::new();
        if let Some(r) = deployment.resource(address) {
            for d in &r.depends_on {
                after.extend(make.get(&d.address));
                let container = deployment
                    .resource(&d.address)
                    .is_some_and(|t| t.kind == Kind::Container);
                if container && d.condition != Condition::Started {
                    waits.push((d.address.clone(), d.condition));
                }
            }
        }
        tasks[i].after = after;
        tasks[i].waits = waits;
    }
    let makes: Vec<usize> = make.values().copied().collect();
    for i in last {
        tasks[i].after = makes.clone();
    }
    tasks
}

fn label(c: &Change, verb: &str) -> String {
    format!("{} ({verb})", c.address)
}

/// Runs one step; returns what was done, or why not.
async fn run(
    ctx: Ctx<'_>,
    label: String,
    step: Step,
    waits: Vec<(String, Condition)>,
    index: usize,
) -> (usize, Result<String, StepError>, Duration) {
    let started = Instant::now();
    let result = match run_step(ctx, &label, step, &waits).await {
        Err(StepError::Failed(error, cause)) => {
            Err(StepError::Failed(ctx.secrets.mask(&error), cause))
        }
        result => result,
    };
    (index, result, started.elapsed())
}

async fn run_step(
    ctx: Ctx<'_>,
    label: &str,
    step: Step,
    waits: &[(String, Condition)],
) -> Result<String, StepError> {
    let Ctx {
        engine,
        deployment,
        ids,
        ..
    } = ctx;
    let id_of = |address: &str| ids.lock().ok().and_then(|m| m.get(address).cloned());
    for (address, condition) in waits {
        let id = id_of(address).ok_or_else(|| dependency(format!("{address} does not exist")))?;
        let wanted = if *condition == Condition::Healthy {
            "be healthy"
        } else {
            "complete"
        };
        ctx.progress
            .note(&format!("{label}: waiting for {address} to {wanted}"));
        wait_for(ctx, address, &id, *condition).await?;
    }
    match step {
        Step::Remove { object } => {
            remove(engine, &object).await?;
            Ok("removed".into())
        }
        Step::RemoveOldImage { object } => {
            // A rebuild that made the very same image (the layer cache, a
            // `--replace` with nothing changed) leaves nothing old to remove.
            if id_of(&object.address).as_deref() == Some(&object.id) {
                return Ok("kept: the build made the same image".into());
            }
            remove(engine, &object).await?;
            Ok("removed".into())
        }
        Step::Make {
            address,
            old,
            fresh,
        } => {
            let r = deployment
                .resource(&address)
                .ok_or_else(|| dependency(format!("{address} is not in the deployment")))?;
            let label = format!("{address} (create)");
            if let Some(old) = &old {
                // The new image first: a pull that fails leaves the old
                // container running.
                if let Spec::Container(c) = &r.spec
                    && matches!(ctx.images.get(&c.run.image), Some(None))
                {
                    if c.pull == crate::deployment::PullPolicy::Never {
                        return Err(crate::engine::never_pulled(&c.run.image).into());
                    }
                    let report = |line: &str| ctx.progress.note(&format!("{label}: {line}"));
                    engine.pull(&c.run.image, &report).await?;
                }
                remove(engine, old).await?;
            }
            let report = |line: &str| {
                ctx.progress
                    .note(&format!("{label}: {}", ctx.secrets.mask(line)))
            };
            let id = if fresh {
                engine.rebuild(&deployment.stack, r, &report).await?
            } else {
                engine.create(&deployment.stack, r, &report).await?
            };
            if let Ok(mut m) = ids.lock() {
                m.insert(address.clone(), id.clone());
            }
            if r.kind == Kind::Service {
                let done = if old.is_some() { "replaced" } else { "created" };
                return services::converge(ctx, r, &id, None, done).await;
            }
            if r.kind == Kind::Container {
                engine.start(&id).await?;
                return Ok(if old.is_some() {
                    "replaced and started"
                } else {
                    "created and started"
                }
                .into());
            }
            Ok(match (&r.spec, old.is_some()) {
                (Spec::Image(i), _) if i.reference.is_some() => "pulled",
                (Spec::Image(_), _) => "built",
                (_, true) => "replaced",
                (_, false) => "created",
            }
            .into())
        }
        Step::Update {
            address,
            object,
            fields,
        } => {
            let r = deployment
                .resource(&address)
                .ok_or_else(|| dependency(format!("{address} is not in the deployment")))?;
            if r.kind == Kind::Service {
                return services::update(ctx, r, object).await;
            }
            let Spec::Container(c) = &r.spec else {
                return Ok("unchanged".into());
            };
            if fields {
                engine.update(&object.id, &c.run, &c.restart).await?;
            }
            let ours = |n: &str| {
                deployment
                    .resources
                    .iter()
                    .any(|r| r.kind == Kind::Network && r.name == n)
            };
            // An attachment to a network removed since is left first: the
            // one of that name now is joined anew.
            let on = attached(&object.actual, ctx.live, &ours);
            for network in &on.stale {
                engine.disconnect(&object.id, network).await?;
            }
            let repairs = network_repairs(&c.run, &on.actual, &ours);
            for network in &repairs.disconnect {
                engine.disconnect(&object.id, network).await?;
            }
            for attachment in &repairs.connect {
                engine.connect(&object.id, attachment).await?;
            }
            // A one-off job that finished is updated, not run again.
            let finished_job = ctx.jobs.contains(address.as_str())
                && matches!(object.state, State::Exited { code: 0 });
            if !object.state.is_running() && !finished_job {
                engine.start(&object.id).await?;
                return Ok(if fields {
                    "updated and started again"
                } else {
                    "started again"
                }
                .into());
            }
            Ok("updated".into())
        }
    }
}

/// Removes an object; one already gone counts as removed (an interrupted apply may have removed it).
async fn remove(engine: &dyn Engine, object: &LiveObject) -> Result<(), EngineError> {
    match engine.remove(object).await {
        Err(e) if e.kind == ErrorKind::NotFound => Ok(()),
        other => other,
    }
}

/// Waits until a container is healthy, or has completed successfully; an
/// interruption stops the wait (waiting changes nothing).
async fn wait_for(
    ctx: Ctx<'_>,
    address: &str,
    id: &str,
    condition: Condition,
) -> Result<(), StepError> {
    let (engine, timeout) = (ctx.engine, ctx.timeout);
    let deadline = Instant::now() + timeout;
    let mut pause = Duration::from_millis(50);
    loop {
        if ctx.interrupt.pressed() {
            return Err(StepError::Interrupted);
        }
        let state = engine.state(id).await?;
        match (condition, state) {
            (
                Condition::Healthy,
                State::Running {
                    health: crate::engine::Health::Healthy,
                },
            ) => return Ok(()),
            (
                Condition::Healthy,
                State::Running {
                    health: crate::engine::Health::None,
                },
            ) => {
                return Err(dependency(format!(
                    "{address} has no health check, so it can never be healthy"
                )));
            }
            (Condition::Healthy, State::Exited { code }) => {
                return Err(dependency(format!(
                    "{address} exited with code {code} before it was healthy"
                )));
            }
            (Condition::Completed, State::Exited { code: 0 }) => return Ok(()),
            (Condition::Completed, State::Exited { code }) => {
                return Err(dependency(format!("{address} exited with code {code}")));
            }
            (Condition::Started, _) => return Ok(()),
            _ => {}
        }
        if Instant::now() >= deadline {
            let wanted = if condition == Condition::Healthy {
                "healthy"
            } else {
                "complete"
            };
            let waited = crate::units::format_duration(timeout.as_millis() as i64);
            return Err(StepError::Failed(
                format!("{address} did not become {wanted} within {waited} (it is {state})"),
                Cause::Timeout,
            ));
        }
        tokio::time::sleep(pause).await;
        pause = (pause * 2).min(Duration::from_secs(1));
    }
}

/// The record after an apply: the resources of the deployment that exist,
/// and its outputs (masked).
pub fn record_of(deployment: &Deployment, live: &LiveState) -> crate::engine::Record {
    // Objects where `moved` blocks put them; the moves are recorded below.
    let mut followed = live.clone();
    crate::plan::follow_moves(deployment, &mut followed);
    let live = &followed;
    let present: BTreeSet<&str> = live.objects.iter().map(|o| o.address.as_str()).collect();
    let addresses = deployment
        .resources
        .iter()
        .filter(|r: &&Resource| {
            present.contains(r.address.as_str())
                || matches!(&r.spec, Spec::Image(i) if i.reference.is_some())
        })
        .map(|r| r.address.clone())
        .collect();
    let outputs = deployment
        .outputs
        .iter()
        .map(|(name, o)| (name.clone(), o.shown(false)))
        .collect();
    // What `docker update` set, as the source says it (secrets masked).
    let settings = deployment
        .resources
        .iter()
        .filter(|r| present.contains(r.address.as_str()))
        .filter_map(|r| match &r.spec {
            Spec::Container(c) => {
                let mut set = serde_json::json!({
                    "restart": c.restart,
                    "memory": c.run.memory,
                    "cpus": c.run.cpus,
                });
                crate::deployment::mask_paths(&mut set, &r.sensitive_paths);
                Some((r.address.clone(), set))
            }
            _ => None,
        })
        .collect();
    let moved = live
        .objects
        .iter()
        .filter(|o| deployment.resource(&o.address).is_some())
        .filter_map(|o| Some((o.moved_from.clone()?, o.address.clone())))
        .collect();
    crate::engine::Record {
        addresses,
        outputs: Some(outputs),
        settings,
        moved,
    }
}
