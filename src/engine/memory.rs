//! An engine in memory, behaving like Docker for everything stackc relies
//! on: names unique per kind, labels, networks and volumes in use cannot be
//! removed, absent images are pulled (if "pullable"), containers start,
//! stop, exit and get healthy. Tests also change objects "by hand" and
//! inject failures through it.

use std::collections::BTreeMap;
use std::sync::Mutex;

use async_trait::async_trait;

use super::*;

mod networks;
use crate::deployment::{ContainerSpec, Spec};

// `stackc logs` and `stackc exec` in the fake.
mod playback;
pub use playback::ExecScript;
// Attachments by network id.
mod attachments;
// What tests change behind stackc's back.
mod by_hand;

/// What a started container does in the fake.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Behaviour {
    /// Keeps running; healthy after `polls` state reads if it has a health check.
    Serve { polls: u32 },
    /// Runs, then exits with this code after `polls` state reads.
    Exit { code: i64, polls: u32 },
    /// Keeps running and never gets healthy.
    Unhealthy,
}

#[derive(Debug, Clone)]
struct Object {
    kind: Kind,
    id: String,
    name: String,
    labels: BTreeMap<String, String>,
    state: State,
    actual: Actual,
    has_health: bool,
    /// Volumes a container mounts (by name); its networks are in `actual`.
    volumes: Vec<String>,
    behaviour: Behaviour,
    polls: u32,
}

#[derive(Debug, Default)]
struct Inner {
    objects: Vec<Object>,
    next_id: u64,
    /// Image references present locally, with the id each names.
    images: BTreeMap<String, String>,
    /// Image references a pull would find, with the id it would get.
    pullable: BTreeMap<String, String>,
    locks: BTreeMap<String, Holder>,
    records: BTreeMap<String, Record>,
    /// Failures to inject: (operation, object name) → message.
    faults: BTreeMap<(String, String), String>,
    behaviours: BTreeMap<String, Behaviour>,
    /// Every call made, in order ("create shop-web"), for tests that check what was done.
    calls: Vec<String>,
}

/// The in-memory engine.
#[derive(Debug, Default)]
pub struct MemoryEngine {
    inner: Mutex<Inner>,
    /// Logs and exec scripts (`memory/playback.rs`).
    streams: Mutex<playback::Streams>,
}

fn not_found(what: &str) -> EngineError {
    EngineError::new(ErrorKind::NotFound, format!("No such object: {what}"))
}

impl MemoryEngine {
    pub fn new() -> MemoryEngine {
        MemoryEngine::default()
    }

    fn with<T>(&self, f: impl FnOnce(&mut Inner) -> T) -> T {
        let mut inner = match self.inner.lock() {
            Ok(g) => g,
            Err(poisoned) => poisoned.into_inner(),
        };
        f(&mut inner)
    }

    /// Makes an image present, as if pulled or built earlier.
    pub fn add_image(&self, reference: &str) {
        self.with(|i| {
            let id = i.new_image_id();
            i.images.insert(reference.to_string(), id)
        });
    }

    /// Lets a pull of `reference` succeed.
    pub fn allow_pull(&self, reference: &str) {
        self.with(|i| {
            if !i.pullable.contains_key(reference) {
                let id = i.new_image_id();
                i.pullable.insert(reference.to_string(), id);
            }
        });
    }

    /// The tag now names another image locally (`docker build -t` or a
    /// Makes the next `operation` ("create", "start", "update", "remove") on `name` fail.
    pub fn fail(&self, operation: &str, name: &str, message: &str) {
        self.with(|i| {
            i.faults.insert(
                (operation.to_string(), name.to_string()),
                message.to_string(),
            )
        });
    }

    /// How the container `name` behaves once started.
    pub fn behave(&self, name: &str, behaviour: Behaviour) {
        self.with(|i| i.behaviours.insert(name.to_string(), behaviour));
    }

    /// The calls made so far ("create container shop-web"), in order.
    pub fn calls(&self) -> Vec<String> {
        self.with(|i| i.calls.clone())
    }

    /// Names of the objects of a kind, sorted.
    pub fn names(&self, kind: Kind) -> Vec<String> {
        let mut names = self.with(|i| {
            i.objects
                .iter()
                .filter(|o| o.kind == kind)
                .map(|o| o.name.clone())
                .collect::<Vec<_>>()
        });
        names.sort();
        names
    }

    /// The state of the object named `name`.
    pub fn state_of(&self, kind: Kind, name: &str) -> Option<State> {
        self.with(|i| {
            i.objects
                .iter()
                .find(|o| o.kind == kind && o.name == name)
                .map(|o| o.state)
        })
    }
}

impl Inner {
    fn call(&mut self, operation: &str, name: &str) -> Result<(), EngineError> {
        self.calls.push(format!("{operation} {name}"));
        match self
            .faults
            .remove(&(operation.to_string(), name.to_string()))
        {
            Some(message) => {
                Err(EngineError::new(ErrorKind::Other, message).about(name.to_string()))
            }
            None => Ok(()),
        }
    }

    fn find(&mut self, id: &str) -> Option<&mut Object> {
        self.objects.iter_mut().find(|o| o.id == id)
    }

    fn new_image_id(&mut self) -> String {
        self.next_id += 1;
        format!("sha256:{:064x}", self.next_id)
    }

    fn ensure_image(&mut self, reference: &str) -> Result<(), EngineError> {
        if self.images.contains_key(reference) {
            return Ok(());
        }
        self.pull(reference)
    }

    fn pull(&mut self, reference: &str) -> Result<(), EngineError> {
        self.calls.push(format!("pull {reference}"));
        if let Some(id) = self.pullable.get(reference) {
            self.images.insert(reference.to_string(), id.clone());
            Ok(())
        } else {
            Err(EngineError::new(
                ErrorKind::NotFound,
                format!("pull access denied for {reference}, repository does not exist or may require 'docker login'"),
            )
            .about(format!("image {reference}")))
        }
    }

    fn create_container(
        &mut self,
        id: String,
        resource: &Resource,
        labels: BTreeMap<String, String>,
        c: &ContainerSpec,
    ) -> Result<Object, EngineError> {
        if c.pull == crate::deployment::PullPolicy::Never {
            if !self.images.contains_key(&c.run.image) {
                return Err(never_pulled(&c.run.image));
            }
        } else {
            self.ensure_image(&c.run.image)?;
        }
        for n in &c.run.networks {
            if !self
                .objects
                .iter()
                .any(|o| o.kind == Kind::Network && o.name == n.network)
            {
                return Err(EngineError::new(
                    ErrorKind::NotFound,
                    format!("network {} not found", n.network),
                )
                .about(format!("container {}", resource.name)));
            }
            if let Some(ip) = &n.ipv4_address {
                self.static_address_free(&n.network, ip)
                    .map_err(|e| e.about(format!("container {}", resource.name)))?;
            }
        }
        let network_mode = match &c.network_mode {
            Some(mode) => Some(
                self.network_mode_read_back(mode)
                    .map_err(|e| e.about(format!("container {}", resource.name)))?,
            ),
            None => None,
        };
        let mut volumes = Vec::new();
        for m in c.run.mounts.iter().filter(|m| m.kind == "volume") {
            let Some(source) = &m.source else { continue };
            // Docker creates a named volume that does not exist yet.
            if !self
                .objects
                .iter()
                .any(|o| o.kind == Kind::Volume && o.name == *source)
            {
                self.objects.push(Object::plain(
                    Kind::Volume,
                    source.clone(),
                    source.clone(),
                    BTreeMap::new(),
                ));
            }
            volumes.push(source.clone());
        }
        let behaviour = self
            .behaviours
            .get(&resource.name)
            .copied()
            .unwrap_or(Behaviour::Serve { polls: 1 });
        let mut actual = Actual {
            image: self.images.get(&c.run.image).cloned(),
            // As Docker reads them back: the secret files only.
            files: c
                .files
                .iter()
                .filter(|f| f.is_secret())
                .filter_map(|f| Some((f.target.clone(), f.bytes()?)))
                .collect(),
            ..actual_of(&c.run, &c.restart)
        };
        actual
            .values
            .extend(network_mode.map(|m| ("/network_mode".into(), m)));
        actual.values.extend(c.options.read_back());
        Ok(Object {
            kind: Kind::Container,
            id,
            name: resource.name.clone(),
            labels,
            state: State::Created,
            actual,
            // `health = "none"` switches the image's check off.
            has_health: c.run.health.as_ref().is_some_and(|h| h.test != ["NONE"]),
            volumes,
            behaviour,
            polls: 0,
        })
    }
}

impl Object {
    fn plain(kind: Kind, id: String, name: String, labels: BTreeMap<String, String>) -> Object {
        Object {
            kind,
            id,
            name,
            labels,
            state: State::Present,
            actual: Actual::default(),
            has_health: false,
            volumes: Vec::new(),
            behaviour: Behaviour::Serve { polls: 0 },
            polls: 0,
        }
    }

    fn live(&self) -> Option<LiveObject> {
        Some(LiveObject {
            kind: self.kind,
            id: self.id.clone(),
            name: self.name.clone(),
            address: self.labels.get(LABEL_ADDRESS)?.clone(),
            hash: self.labels.get(LABEL_HASH).cloned().unwrap_or_default(),
            spec: self
                .labels
                .get(LABEL_SPEC)
                .and_then(|s| serde_json::from_str(s).ok()),
            state: self.state,
            actual: self.actual.clone(),
            moved_from: None,
        })
    }

    /// What reading the state does in the fake: time passes.
    fn advance(&mut self) {
        if !self.state.is_running() {
            return;
        }
        self.polls += 1;
        self.state = match self.behaviour {
            Behaviour::Serve { polls } if self.has_health && self.polls >= polls => {
                State::Running {
                    health: Health::Healthy,
                }
            }
            Behaviour::Serve { .. } if self.has_health => State::Running {
                health: Health::Starting,
            },
            Behaviour::Serve { .. } => State::Running {
                health: Health::None,
            },
            Behaviour::Exit { code, polls } if self.polls >= polls => State::Exited { code },
            Behaviour::Exit { .. } => self.state,
            Behaviour::Unhealthy if self.has_health => State::Running {
                health: Health::Unhealthy,
            },
            Behaviour::Unhealthy => self.state,
        };
    }
}

/// The live values of a container made from `run`, as the Docker engine reads them back.
pub fn actual_of(run: &RunSpec, restart: &str) -> Actual {
    let mut values = BTreeMap::new();
    for (k, v) in &run.env {
        values.insert(
            format!("/env/{}", crate::deployment::pointer_segment(k)),
            v.clone(),
        );
    }
    for (i, w) in run.command.iter().flatten().enumerate() {
        values.insert(format!("/command/{i}"), w.clone());
    }
    for (i, w) in run.entrypoint.iter().flatten().enumerate() {
        values.insert(format!("/entrypoint/{i}"), w.clone());
    }
    for (i, w) in run.health.iter().flat_map(|h| &h.test).enumerate() {
        values.insert(format!("/health/test/{i}"), w.clone());
    }
    if let Some(h) = &run.health {
        values.insert("/health/retries".into(), h.retries.to_string());
    }
    for (k, v) in &run.labels {
        values.insert(
            format!("/labels/{}", crate::deployment::pointer_segment(k)),
            v.clone(),
        );
    }
    for (i, m) in run.mounts.iter().enumerate() {
        if let Some(source) = &m.source {
            values.insert(format!("/mounts/{i}/source"), source.clone());
        }
        values.insert(format!("/mounts/{i}/target"), m.target.clone());
    }
    let networks = run
        .networks
        .iter()
        .map(|n| (n.network.clone(), run.aliases_read_back(n)))
        .collect();
    let mut ports = run.ports.clone();
    ports.sort();
    let addresses = run
        .networks
        .iter()
        .filter_map(|n| Some((n.network.clone(), n.ipv4_address.clone()?)))
        .collect();
    Actual {
        restart: Some(restart.to_string()),
        memory: run.memory,
        cpus: run.cpus,
        values,
        image: None,
        networks,
        ports: Some(ports),
        network_ids: BTreeMap::new(),
        files: BTreeMap::new(),
        files_written: Default::default(),
        addresses,
    }
}

#[async_trait]
impl Engine for MemoryEngine {
    fn describe(&self) -> String {
        "in-memory engine".to_string()
    }

    async fn observe(&self, stack: &str, image_refs: &[String]) -> Result<LiveState, EngineError> {
        self.with(|i| {
            let mut objects: Vec<LiveObject> = i
                .objects
                .iter()
                .filter(|o| o.labels.get(LABEL_STACK).map(String::as_str) == Some(stack))
                .filter_map(Object::live)
                .collect();
            objects
                .sort_by(|a, b| (a.kind, &a.address, &a.name).cmp(&(b.kind, &b.address, &b.name)));
            let images = image_refs
                .iter()
                .map(|r| (r.clone(), i.images.get(r).cloned()))
                .collect();
            Ok(LiveState {
                objects,
                images,
                record: i.records.get(stack).cloned(),
            })
        })
    }

    async fn create(
        &self,
        stack: &str,
        resource: &Resource,
        _report: &Report<'_>,
    ) -> Result<String, EngineError> {
        self.with(|i| {
            let what = format!("{} {}", resource.kind, resource.name);
            i.call("create", &resource.name)?;
            if let Spec::Image(image) = &resource.spec
                && let Some(r) = &image.reference
            {
                // A `ref` is pulled, and carries no labels of ours.
                return i.ensure_image(r).map(|()| r.clone());
            }
            let labels = labels(stack, resource);
            // A build takes its tag over from the image that had it, as Docker does.
            if let Some(existing) = i.objects.iter().find(|o| {
                o.kind == resource.kind && o.name == resource.name && o.kind != Kind::Image
            }) {
                // Docker answers a create of an existing volume with that
                // volume: the same one made again is no conflict.
                if resource.kind == Kind::Volume && existing.labels == labels {
                    return Ok(existing.id.clone());
                }
                return Err(EngineError::new(
                    ErrorKind::Conflict,
                    format!("the name \"{}\" is already in use", resource.name),
                )
                .about(what));
            }
            i.next_id += 1;
            let id = match resource.kind {
                Kind::Volume => resource.name.clone(),
                _ => format!("{:012x}", i.next_id),
            };
            if resource.kind == Kind::Image {
                // A build makes the tag, labelled (builds themselves are tested on Docker).
                let image = i.new_image_id();
                i.images.insert(resource.name.clone(), image);
            }
            let object = match &resource.spec {
                Spec::Container(c) => i.create_container(id.clone(), resource, labels, c)?,
                Spec::Service(_) => {
                    return Err(
                        EngineError::new(ErrorKind::Other, "services need a Swarm engine")
                            .about(what),
                    );
                }
                _ => Object::plain(resource.kind, id.clone(), resource.name.clone(), labels),
            };
            i.objects.push(object);
            Ok(id)
        })
    }

    async fn start(&self, id: &str) -> Result<(), EngineError> {
        self.with(|i| {
            let name = i
                .find(id)
                .map(|o| o.name.clone())
                .ok_or_else(|| not_found(id))?;
            i.call("start", &name)?;
            i.can_join_network_of(id)?;
            i.joins_networks(id, &name)?;
            let o = i.find(id).ok_or_else(|| not_found(id))?;
            o.polls = 0;
            o.state = State::Running {
                health: if o.has_health {
                    Health::Starting
                } else {
                    Health::None
                },
            };
            Ok(())
        })
    }

    async fn update(&self, id: &str, run: &RunSpec, restart: &str) -> Result<(), EngineError> {
        self.with(|i| {
            let name = i
                .find(id)
                .map(|o| o.name.clone())
                .ok_or_else(|| not_found(id))?;
            i.call("update", &name)?;
            let o = i.find(id).ok_or_else(|| not_found(id))?;
            // Docker reads 0 as "unchanged": a limit cannot be lifted live.
            for (what, lifted) in [
                ("memory", run.memory.is_none() && o.actual.memory.is_some()),
                ("cpus", run.cpus.is_none() && o.actual.cpus.is_some()),
            ] {
                if lifted {
                    return Err(EngineError::new(
                        ErrorKind::Other,
                        format!(
                            "Docker cannot lift the {what} limit of an existing container (it takes 0 as \"unchanged\"); the container must be replaced"
                        ),
                    )
                    .about(format!("container {name}")));
                }
            }
            o.actual.restart = Some(restart.to_string());
            o.actual.memory = run.memory;
            o.actual.cpus = run.cpus;
            Ok(())
        })
    }

    async fn foreign(&self, stack: &str, claims: &Claims) -> Result<Vec<Foreign>, EngineError> {
        self.with(|i| {
            let mut found = Vec::new();
            let others = i
                .objects
                .iter()
                .filter(|o| o.labels.get(LABEL_STACK).map(String::as_str) != Some(stack));
            for o in others {
                let other = o.labels.get(LABEL_STACK).map(String::as_str);
                for (address, kind, name) in &claims.names {
                    if o.kind == *kind && o.name == *name {
                        found.push(Foreign {
                            address: address.clone(),
                            claim: format!("the {kind} name {name}"),
                            holder: holder_of(o.kind, &o.name, other),
                        });
                    }
                }
                if o.kind != Kind::Container || !o.state.is_running() {
                    continue;
                }
                // Another stack's container publishes what its spec says.
                let spec = o
                    .labels
                    .get(LABEL_SPEC)
                    .and_then(|s| serde_json::from_str::<crate::deployment::ContainerSpec>(s).ok());
                for p in spec.iter().flat_map(|c| &c.run.ports) {
                    let Some(port) = p.host else { continue };
                    let published = HostPort {
                        ip: p.ip.clone(),
                        port,
                        protocol: p.protocol.clone(),
                    };
                    for (address, wanted) in &claims.ports {
                        if wanted.overlaps(&published) {
                            found.push(Foreign {
                                address: address.clone(),
                                claim: format!("host port {wanted}"),
                                holder: holder_of(o.kind, &o.name, other),
                            });
                        }
                    }
                }
            }
            Ok(found)
        })
    }

    async fn pull(&self, reference: &str, _report: &Report<'_>) -> Result<(), EngineError> {
        self.with(|i| i.pull(reference))
    }

    async fn connect(&self, id: &str, n: &NetworkAttachment) -> Result<(), EngineError> {
        self.with(|i| {
            let name = i
                .find(id)
                .map(|o| o.name.clone())
                .ok_or_else(|| not_found(id))?;
            i.call("connect", &format!("{name} {}", n.network))?;
            if !i
                .objects
                .iter()
                .any(|o| o.kind == Kind::Network && o.name == n.network)
            {
                return Err(not_found(&n.network).about(format!("network {}", n.network)));
            }
            if let Some(ip) = &n.ipv4_address {
                i.static_address_free(&n.network, ip)?;
            }
            let o = i.find(id).ok_or_else(|| not_found(id))?;
            if o.actual.networks.contains_key(&n.network) {
                return Err(EngineError::new(
                    ErrorKind::Conflict,
                    format!(
                        "endpoint with name {name} already exists in network {}",
                        n.network
                    ),
                ));
            }
            let mut aliases = n.aliases.clone();
            aliases.sort();
            o.actual.networks.insert(n.network.clone(), aliases);
            if let Some(ip) = &n.ipv4_address {
                o.actual.addresses.insert(n.network.clone(), ip.clone());
            }
            // A container that has not run yet joins by name at its start.
            if o.state != State::Created {
                let ids = i.network_ids(std::iter::once(&n.network));
                let o = i.find(id).ok_or_else(|| not_found(id))?;
                o.actual.network_ids.extend(ids);
            }
            Ok(())
        })
    }

    async fn disconnect(&self, id: &str, network: &str) -> Result<(), EngineError> {
        self.with(|i| {
            let name = i
                .find(id)
                .map(|o| o.name.clone())
                .ok_or_else(|| not_found(id))?;
            i.call("disconnect", &format!("{name} {network}"))?;
            let o = i.find(id).ok_or_else(|| not_found(id))?;
            o.actual.addresses.remove(network);
            o.actual.network_ids.remove(network);
            if o.actual.networks.remove(network).is_none() {
                return Err(EngineError::new(
                    ErrorKind::Other,
                    format!("container {name} is not connected to network {network}"),
                ));
            }
            Ok(())
        })
    }

    async fn stop(&self, id: &str, _timeout: Millis) -> Result<(), EngineError> {
        self.with(|i| {
            let name = i
                .find(id)
                .map(|o| o.name.clone())
                .ok_or_else(|| not_found(id))?;
            i.call("stop", &name)?;
            let o = i.find(id).ok_or_else(|| not_found(id))?;
            if o.state.is_running() || o.state == State::Paused {
                o.state = State::Exited { code: 0 };
            }
            Ok(())
        })
    }

    async fn remove(&self, object: &LiveObject) -> Result<(), EngineError> {
        self.with(|i| {
            i.call("remove", &object.name)?;
            let what = format!("{} {}", object.kind, object.name);
            if object.kind == Kind::Image {
                i.objects.retain(|o| o.id != object.id);
                // The tag goes with its last image (a rebuild took it over).
                if !i
                    .objects
                    .iter()
                    .any(|o| o.kind == Kind::Image && o.name == object.name)
                {
                    i.images.remove(&object.name);
                }
                return Ok(());
            }
            let in_use = match object.kind {
                Kind::Network => i.objects.iter().any(|o| {
                    o.actual.networks.contains_key(&object.name)
                        && o.actual
                            .network_ids
                            .get(&object.name)
                            .is_none_or(|id| *id == object.id)
                }),
                Kind::Volume => i.objects.iter().any(|o| o.volumes.contains(&object.name)),
                _ => false,
            };
            if in_use {
                let message = match object.kind {
                    Kind::Network => format!(
                        "error while removing network: network {} has active endpoints",
                        object.name
                    ),
                    _ => format!("remove {}: volume is in use", object.name),
                };
                return Err(EngineError::new(ErrorKind::Conflict, message).about(what));
            }
            let before = i.objects.len();
            i.objects.retain(|o| o.id != object.id);
            if before == i.objects.len() {
                return Err(not_found(&object.id).about(what));
            }
            Ok(())
        })
    }

    async fn state(&self, id: &str) -> Result<State, EngineError> {
        self.with(|i| {
            let o = i.find(id).ok_or_else(|| not_found(id))?;
            o.advance();
            Ok(o.state)
        })
    }

    async fn lock(&self, stack: &str, holder: &Holder) -> Result<Lock, EngineError> {
        self.with(|i| match i.locks.get(stack) {
            Some(h) => Ok(Lock::HeldBy(h.clone())),
            None => {
                i.locks.insert(stack.to_string(), holder.clone());
                Ok(Lock::Acquired)
            }
        })
    }

    async fn unlock(&self, stack: &str) -> Result<bool, EngineError> {
        self.with(|i| Ok(i.locks.remove(stack).is_some()))
    }

    async fn read_record(&self, stack: &str) -> Result<Option<Record>, EngineError> {
        Ok(self.with(|i| i.records.get(stack).cloned()))
    }

    async fn write_record(&self, stack: &str, record: Option<&Record>) -> Result<(), EngineError> {
        self.with(|i| {
            match record {
                Some(r) => i.records.insert(stack.to_string(), r.clone()),
                None => i.records.remove(stack),
            };
            Ok(())
        })
    }

    async fn rebuild(
        &self,
        stack: &str,
        resource: &Resource,
        report: &Report<'_>,
    ) -> Result<String, EngineError> {
        self.with(|i| i.calls.push(format!("rebuild {}", resource.name)));
        self.create(stack, resource, report).await
    }

    // --- `stackc logs` and `stackc exec` (`memory/playback.rs`) ---

    async fn logs(
        &self,
        object: &LiveObject,
        options: &streams::LogOptions,
    ) -> Result<streams::LogStream, EngineError> {
        self.logs_of(object, options).await
    }

    async fn exec(
        &self,
        container: &str,
        request: &streams::ExecRequest,
    ) -> Result<streams::Exec, EngineError> {
        self.exec_script(container, request).await
    }

    async fn resize_exec(&self, exec: &str, size: (u16, u16)) -> Result<(), EngineError> {
        self.resize_script(exec, size);
        Ok(())
    }

    async fn exec_status(&self, exec: &str) -> Result<i64, EngineError> {
        self.script_status(exec)
    }
}
