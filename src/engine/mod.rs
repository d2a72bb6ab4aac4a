//! Engines: where a deployment lives. The planner and the applier only ever
//! see this trait; `docker/` talks to a real Docker engine through
//! bollard, `memory.rs` is an in-memory fake with the same behaviour (one
//! conformance suite runs against both).
//!
//! Every object stackc creates carries the labels below; live state is found
//! through them alone. Besides the stack's objects, an engine keeps two
//! small objects per stack: a *lock*, so two applies never interleave, and a
//! *record* of the addresses last applied, so an object deleted by hand shows
//! as drift.

pub mod credentials;
pub mod docker;
pub mod memory;
pub mod streams;
pub mod swarm;

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::path::Path;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::deployment::Kind;
use crate::deployment::{HostPort, Millis, NetworkAttachment, Resource, RunSpec};

/// The stack an object belongs to.
pub const LABEL_STACK: &str = "io.stackc.stack";
/// The object's address in the deployment (`container.api-0`).
pub const LABEL_ADDRESS: &str = "io.stackc.address";
/// SHA-256 of the normalized spec the object was made from.
pub const LABEL_HASH: &str = "io.stackc.hash";
/// The normalized spec the object was made from, secrets masked: what plans
/// show as "before".
pub const LABEL_SPEC: &str = "io.stackc.spec";

/// The labels of an object made from `resource`: the user's own plus stackc's.
pub fn labels(stack: &str, resource: &Resource) -> BTreeMap<String, String> {
    let mut labels = match &resource.spec {
        crate::deployment::Spec::Container(c) => c.run.labels.clone(),
        crate::deployment::Spec::Service(s) => s.run.labels.clone(),
        crate::deployment::Spec::Network(n) => n.labels.clone(),
        crate::deployment::Spec::Volume(v) => v.labels.clone(),
        crate::deployment::Spec::Image(_) => BTreeMap::new(),
    };
    labels.insert(LABEL_STACK.into(), stack.into());
    labels.insert(LABEL_ADDRESS.into(), resource.address.clone());
    labels.insert(LABEL_HASH.into(), resource.hash.clone());
    labels.insert(LABEL_SPEC.into(), masked_spec(resource).to_string());
    labels
}

/// The resource's spec as JSON with every secret replaced by `(secret)`.
pub fn masked_spec(resource: &Resource) -> serde_json::Value {
    let mut spec = serde_json::to_value(&resource.spec).unwrap_or(serde_json::Value::Null);
    crate::deployment::mask_paths(&mut spec, &resource.sensitive_paths);
    // Files by size and digest: a label holds no content.
    crate::deployment::files::strip_shown_contents(&mut spec);
    spec
}

/// An object of the stack as the engine has it now.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LiveObject {
    pub kind: Kind,
    /// The engine's id (the name, for volumes).
    pub id: String,
    pub name: String,
    pub address: String,
    pub hash: String,
    /// The spec the object was made from, secrets masked (`io.stackc.spec`).
    pub spec: Option<serde_json::Value>,
    pub state: State,
    /// The values drift is judged by. Never serialized: it holds secrets.
    #[serde(skip)]
    pub actual: Actual,
    /// The address in its label, when a `moved` block (or the record of
    /// one) gave it another: `address` is then where it is now
    /// (`plan::follow_moves`). Labels cannot change.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub moved_from: Option<String>,
}

/// The run state of an object; objects that do not run are `Present`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase", tag = "status")]
pub enum State {
    Present,
    Created,
    Running { health: Health },
    Paused,
    Restarting,
    Exited { code: i64 },
    Dead,
}

impl State {
    /// The state without its health: `running`, `exited`, …
    pub fn kind(self) -> &'static str {
        match self {
            State::Present => "present",
            State::Created => "created",
            State::Running { .. } => "running",
            State::Paused => "paused",
            State::Restarting => "restarting",
            State::Exited { .. } => "exited",
            State::Dead => "dead",
        }
    }

    pub fn is_running(self) -> bool {
        matches!(self, State::Running { .. } | State::Restarting)
    }
}

impl fmt::Display for State {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            State::Present => f.write_str("present"),
            State::Created => f.write_str("created"),
            State::Running {
                health: Health::None,
            } => f.write_str("running"),
            State::Running { health } => write!(f, "running ({health})"),
            State::Paused => f.write_str("paused"),
            State::Restarting => f.write_str("restarting"),
            State::Exited { code } => write!(f, "exited ({code})"),
            State::Dead => f.write_str("dead"),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Health {
    /// No health check.
    None,
    Starting,
    Healthy,
    Unhealthy,
}

impl fmt::Display for Health {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Health::None => "no health check",
            Health::Starting => "starting",
            Health::Healthy => "healthy",
            Health::Unhealthy => "unhealthy",
        })
    }
}

/// The modification time (seconds since the Unix epoch) stackc gives each
/// secret file it copies into a container. No write inside the container
/// gives a file this time, so a secret file with another one was written
/// since, and one with it holds what the last apply copied: a difference
/// from the source is then a change of the source. Nothing derived from
/// the secret is stored anywhere (`docs/security.md`).
pub const SECRET_FILE_MTIME: u64 = 0;

/// What a container is now, for the fields that can change without
/// stackc: the ones `docker update` changes, and the values at the spec's
/// paths (to tell which secret changed). Values the image or the daemon
/// fill in are not here.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Actual {
    /// `no`, `always`, `unless-stopped`, `on-failure` or `on-failure:N`.
    pub restart: Option<String>,
    pub memory: Option<i64>,
    pub cpus: Option<f64>,
    /// Values by JSON pointer into the spec: `/env/KEY`, `/command/0`, … (real, unmasked).
    pub values: BTreeMap<String, String>,
    /// The id of the image it runs.
    pub image: Option<String>,
    /// The networks it is attached to (Docker names), each with the aliases
    /// it answers to there, sorted; its hostname and short id, which older
    /// engines add to them, left out (the planner leaves the hostname out of
    /// the source's aliases too when it compares them).
    pub networks: BTreeMap<String, Vec<String>>,
    /// The content of each secret file (`files`), by target, read back from
    /// the container: a changed secret is found against it. Only files the
    /// label marks secret; none that cannot be read.
    pub files: BTreeMap<String, Vec<u8>>,
    /// Of those, the ones written since stackc copied them in (inside the
    /// container, or `docker cp`): their modification time is no longer
    /// [`SECRET_FILE_MTIME`], the one stackc gives every secret file.
    pub files_written: BTreeSet<String>,
    /// The static IPv4 address asked for on a network (its endpoint's IPAM
    /// config), by network; networks where Docker picked one are absent.
    pub addresses: BTreeMap<String, String>,
    // What a container made again by hand may differ in:
    /// The ports it publishes as they were asked for (a host port Docker
    /// picks stays `None`), sorted; `None` when the engine does not say.
    pub ports: Option<Vec<crate::deployment::PortSpec>>,
    /// The id of the network each attachment is to (Docker names → ids):
    /// a network removed and made again under its name is another one.
    pub network_ids: BTreeMap<String, String>,
    /// A Swarm service's version, spec read back and rollout (`swarm.rs`).
    pub service: Option<Box<swarm::ServiceLive>>,
}

/// Everything the planner needs to know about the engine.
#[derive(Debug, Clone, Default)]
pub struct LiveState {
    /// Objects labelled with the stack, sorted by (kind, address, name).
    pub objects: Vec<LiveObject>,
    /// The image each reference asked about names locally (its id), `None`
    /// when absent (pulled images carry no labels: this is all there is).
    pub images: BTreeMap<String, Option<String>>,
    /// The addresses the last apply left in place.
    pub record: Option<Record>,
}

impl LiveState {
    /// What a plan was made against, object by object: a saved plan is
    /// applied only while every object is as it was (see [`Snapshot::changes`]).
    pub fn snapshot(&self) -> Snapshot {
        let mut objects = BTreeMap::new();
        for o in &self.objects {
            let mut settings = Sha256::new();
            let a = &o.actual;
            let mut text = format!(
                "{:?} {:?} {:?} {:?}",
                a.restart, a.memory, a.cpus, a.networks
            );
            if !a.addresses.is_empty() {
                text.push_str(&format!(" {:?}", a.addresses));
            }
            // A service written since (scaled, updated) is another service.
            if let Some(service) = &a.service {
                text.push_str(&format!(" version {}", service.version));
            }
            settings.update(text.as_bytes());
            objects.insert(
                format!("{} ({})", o.address, o.name),
                ObjectSnapshot {
                    id: o.id.clone(),
                    hash: o.hash.clone(),
                    state: o.state.kind().to_string(),
                    settings: crate::digest::hex(&settings.finalize()),
                },
            );
        }
        for (reference, id) in &self.images {
            objects.insert(
                format!("image {reference}"),
                ObjectSnapshot {
                    id: id.clone().unwrap_or_default(),
                    hash: String::new(),
                    state: if id.is_some() { "present" } else { "absent" }.into(),
                    settings: String::new(),
                },
            );
        }
        Snapshot(objects)
    }
}

/// Each object of a live state (`container.web (shop-web)`, `image
/// nginx:1.27`) as a plan saw it.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Snapshot(pub BTreeMap<String, ObjectSnapshot>);

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ObjectSnapshot {
    pub id: String,
    pub hash: String,
    /// `running`, `exited`, `paused`, … (not health: it moves by itself).
    pub state: String,
    /// A digest of what `docker update` and network changes alter.
    pub settings: String,
}

impl Snapshot {
    /// What changed from `self` (when the plan was made) to `now`, object
    /// by object: `container.web (shop-web): running → exited`.
    pub fn changes(&self, now: &Snapshot) -> Vec<String> {
        let mut out = Vec::new();
        for (key, then) in &self.0 {
            match now.0.get(key) {
                None => out.push(format!("{key}: gone")),
                Some(now) if now.state != then.state => {
                    out.push(format!("{key}: {} → {}", then.state, now.state))
                }
                Some(now) if now.id != then.id => out.push(format!("{key}: made again")),
                Some(now) if now != then => out.push(format!("{key}: changed")),
                Some(_) => {}
            }
        }
        for key in now.0.keys().filter(|k| !self.0.contains_key(*k)) {
            out.push(format!("{key}: new"));
        }
        out
    }
}

/// What an apply left in place: the addresses, and the outputs as the
/// source computed them then (secrets masked: the record is a label anyone
/// with access to the engine reads). `None` in a record of an older stackc.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Record {
    pub addresses: BTreeSet<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub outputs: Option<serde_json::Map<String, serde_json::Value>>,
    /// What the apply set on each container that `docker update` changes
    /// (`restart`, `memory`, `cpus`; secret ones masked): drift is judged
    /// against these, since an update in place cannot change the labels.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub settings: BTreeMap<String, serde_json::Value>,
    /// Objects whose label names another address than the one they have
    /// now (a `moved` block applied): label address → address now. Kept so
    /// the object stays where it went once the block is gone.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub moved: BTreeMap<String, String>,
}

/// Who holds a stack's lock.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Holder {
    /// `user@host`.
    pub who: String,
    pub pid: u32,
    /// The command that took the lock (`apply`, `destroy`).
    pub operation: String,
    /// Seconds since the Unix epoch.
    pub since: u64,
}

impl Holder {
    /// This process, about to run `operation`.
    pub fn me(operation: &str) -> Holder {
        let since = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        Holder {
            who: format!("{}@{}", user_name(), host_name()),
            pid: std::process::id(),
            operation: operation.into(),
            since,
        }
    }

    /// The host part of `who`.
    pub fn host(&self) -> &str {
        self.who.rsplit_once('@').map_or("", |(_, host)| host)
    }

    /// Whether the holder is a process of this host that is still running.
    pub fn is_running_here(&self) -> bool {
        self.host() == host_name()
            && self.pid != 0
            && Path::new(&format!("/proc/{}", self.pid)).exists()
    }

    /// Whether the holder was a process of this host that has ended: its
    /// lock was left behind (a killed CI job) and nothing will release it.
    pub fn is_gone(&self) -> bool {
        self.host() == host_name()
            && self.pid != 0
            && !Path::new(&format!("/proc/{}", self.pid)).exists()
            && Path::new("/proc/self").exists()
    }
}

/// The user running this process, as the OS knows it: the name of the real
/// uid in `/etc/passwd`, else `$USER`, else `uid N` (CI runners often have
/// no `$USER`).
fn user_name() -> String {
    let uid = std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("Uid:"))
                .and_then(|l| l.split_whitespace().next().map(str::to_string))
        });
    let from_passwd = uid.as_deref().and_then(|uid| {
        std::fs::read_to_string("/etc/passwd").ok().and_then(|p| {
            p.lines().find_map(|l| {
                let fields: Vec<&str> = l.split(':').collect();
                (fields.len() > 2 && fields[2] == uid && !fields[0].is_empty())
                    .then(|| fields[0].to_string())
            })
        })
    });
    from_passwd
        .or_else(|| std::env::var("USER").ok().filter(|u| !u.is_empty()))
        .or_else(|| uid.map(|uid| format!("uid {uid}")))
        .unwrap_or_else(|| "unknown".into())
}

fn host_name() -> String {
    ["/proc/sys/kernel/hostname", "/etc/hostname"]
        .iter()
        .find_map(|f| {
            std::fs::read_to_string(f)
                .ok()
                .map(|h| h.trim().to_string())
                .filter(|h| !h.is_empty())
        })
        .unwrap_or_else(|| "unknown".into())
}

impl fmt::Display for Holder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        let age = crate::units::format_duration(now.saturating_sub(self.since) as i64 * 1000);
        write!(
            f,
            "{} (pid {}, `{}`, {age} ago)",
            self.who, self.pid, self.operation
        )
    }
}

/// An engine operation that failed, with the engine's own message.
#[derive(Debug, Clone, PartialEq)]
pub struct EngineError {
    pub kind: ErrorKind,
    /// The object concerned (`container shop-web`), if any.
    pub object: Option<String>,
    /// The engine's message, as it gave it.
    pub message: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    /// No engine answers.
    Unavailable,
    NotFound,
    /// A name is taken (or the object is in use).
    Conflict,
    Other,
}

impl EngineError {
    /// The error with every secret text of the deployment masked.
    pub fn masked(mut self, secrets: &crate::deployment::SecretTexts) -> EngineError {
        self.message = secrets.mask(&self.message);
        self
    }

    pub fn new(kind: ErrorKind, message: impl Into<String>) -> EngineError {
        EngineError {
            kind,
            object: None,
            message: message.into(),
        }
    }

    pub fn about(mut self, object: impl Into<String>) -> EngineError {
        self.object = Some(object.into());
        self
    }
}

impl fmt::Display for EngineError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.object {
            Some(o) => write!(f, "{o}: {}", self.message),
            None => f.write_str(&self.message),
        }
    }
}

impl std::error::Error for EngineError {}

/// What a plan is about to take on the engine: the Docker names of the
/// objects it creates, and the host ports its new containers publish.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Claims {
    /// (address, kind, Docker name).
    pub names: Vec<(String, Kind, String)>,
    /// (address, host port).
    pub ports: Vec<(String, HostPort)>,
}

/// An object outside the stack that holds what the stack claims.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Foreign {
    /// The resource that claims it.
    pub address: String,
    /// `the container name shop-web`, `host port 8080/tcp`.
    pub claim: String,
    /// `container shop-web of the stack legacy`, `container web (not made by stackc)`.
    pub holder: String,
}

/// Who holds an object: another stack (its `io.stackc.stack` label), or no stack.
pub fn holder_of(kind: Kind, name: &str, stack: Option<&str>) -> String {
    match stack {
        Some(other) => format!("{kind} {name} of the stack `{other}`"),
        None => format!("{kind} {name} (not made by stackc)"),
    }
}

/// An absent image that its container says never to pull.
pub fn never_pulled(reference: &str) -> EngineError {
    EngineError::new(
        ErrorKind::NotFound,
        "it is not present, and the container says `pull = \"never\"`",
    )
    .about(format!("image {reference}"))
}

/// The outcome of trying to take a stack's lock.
#[derive(Debug, Clone, PartialEq)]
pub enum Lock {
    Acquired,
    HeldBy(Holder),
}

/// Where an engine reports the progress of long work: one line at a time.
pub type Report<'a> = dyn Fn(&str) + Send + Sync + 'a;

/// A report that goes nowhere.
pub fn quiet(_: &str) {}

/// A place stacks are deployed to. Objects are named by the deployment
/// (`Resource::name`); the engine adds the labels.
#[async_trait]
pub trait Engine: Send + Sync {
    /// Where the engine is, for messages (`unix:///var/run/docker.sock, API 1.41`).
    fn describe(&self) -> String;

    /// The stack's objects (one label-filtered list per kind, inspecting only
    /// where a list entry lacks what the diff needs), the presence of the given
    /// image references, and the record.
    async fn observe(&self, stack: &str, image_refs: &[String]) -> Result<LiveState, EngineError>;

    /// Creates the object for a resource and returns its id. Containers are
    /// created (attached to their networks) but not started; an absent image
    /// is pulled first. Image resources with `ref` are pulled, with `build`
    /// built. Long work (pulls, build steps) is reported line by line.
    async fn create(
        &self,
        stack: &str,
        resource: &Resource,
        report: &Report<'_>,
    ) -> Result<String, EngineError>;

    /// The objects outside `stack` that hold a name or host port it claims
    /// (never this stack's own).
    async fn foreign(&self, stack: &str, claims: &Claims) -> Result<Vec<Foreign>, EngineError>;

    /// Pulls an image reference, present or not (`--pull`, `pull = "always"`),
    /// reporting progress line by line.
    async fn pull(&self, reference: &str, report: &Report<'_>) -> Result<(), EngineError>;

    /// Starts (or unpauses) a container.
    async fn start(&self, id: &str) -> Result<(), EngineError>;

    /// Changes what Docker can change on a live container: restart policy, memory, cpus.
    async fn update(&self, id: &str, run: &RunSpec, restart: &str) -> Result<(), EngineError>;

    /// Attaches a container to a network, with its aliases there.
    async fn connect(&self, id: &str, attachment: &NetworkAttachment) -> Result<(), EngineError>;

    /// Detaches a container from a network.
    async fn disconnect(&self, id: &str, network: &str) -> Result<(), EngineError>;

    /// Stops a container, waiting up to `timeout` before killing it.
    async fn stop(&self, id: &str, timeout: Millis) -> Result<(), EngineError>;

    /// Removes an object (a running container is stopped first).
    async fn remove(&self, object: &LiveObject) -> Result<(), EngineError>;

    /// The state of a container now (for waiting on `healthy` / `completed`).
    async fn state(&self, id: &str) -> Result<State, EngineError>;

    /// Takes the stack's lock unless someone holds it.
    async fn lock(&self, stack: &str, holder: &Holder) -> Result<Lock, EngineError>;

    /// Releases the stack's lock; `false` when there was none.
    async fn unlock(&self, stack: &str) -> Result<bool, EngineError>;

    /// The stack's record, if an apply wrote one (without observing the
    /// rest of the stack).
    async fn read_record(&self, stack: &str) -> Result<Option<Record>, EngineError>;

    /// Replaces the stack's record; `None` removes it.
    async fn write_record(&self, stack: &str, record: Option<&Record>) -> Result<(), EngineError>;

    // --- Swarm services (`swarm.rs`) ---

    /// Why services cannot be deployed here (`None` on a swarm manager).
    async fn swarm_refusal(&self) -> Result<Option<String>, EngineError>;

    /// Changes a live service to the resource's spec in place, naming the
    /// version it was read at: a stale version is a `Conflict`. `force`
    /// rolls its tasks out again though nothing changed (a paused update).
    async fn update_service(
        &self,
        stack: &str,
        resource: &Resource,
        object: &LiveObject,
        force: bool,
    ) -> Result<(), EngineError>;

    /// Reads one service of the stack again; `None` when it is gone.
    async fn observe_service(&self, id: &str) -> Result<Option<LiveObject>, EngineError>;

    /// How far a service's tasks are in converging on its spec.
    async fn rollout(&self, id: &str) -> Result<swarm::Rollout, EngineError>;

    // --- `stackc logs` and `stackc exec` (`streams.rs`) ---

    /// The log of a container or of every task of a service, each line with the time
    /// the engine received it.
    async fn logs(
        &self,
        object: &LiveObject,
        options: &streams::LogOptions,
    ) -> Result<streams::LogStream, EngineError>;

    /// Starts a command in a running container.
    async fn exec(
        &self,
        container: &str,
        request: &streams::ExecRequest,
    ) -> Result<streams::Exec, EngineError>;

    /// Resizes the terminal of a command started with one: (columns, rows).
    async fn resize_exec(&self, exec: &str, size: (u16, u16)) -> Result<(), EngineError>;

    /// The exit status of a command whose output has ended.
    async fn exec_status(&self, exec: &str) -> Result<i64, EngineError>;

    /// Builds an image resource again without the build cache (`--replace`
    /// of a build whose source did not change: the cache would only make
    /// the same image again); anything else is made as by [`Engine::create`].
    async fn rebuild(
        &self,
        stack: &str,
        resource: &Resource,
        report: &Report<'_>,
    ) -> Result<String, EngineError> {
        self.create(stack, resource, report).await
    }
}
