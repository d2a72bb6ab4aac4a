//! The normalized deployment: what the planner acts on. Every default is
//! filled and every short form expanded, so two sources that mean the same
//! thing produce the same bytes.

pub mod files;
mod kind;
pub mod moved;
mod options;
mod spec;
mod swarm;

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

pub use files::FileSpec;
pub use kind::Kind;
pub use options::{
    ADDED_SECURITY_OPT, ContainerOptions, DeviceSpec, LoggingSpec, Ulimit, is_read_back,
    scalar_leaves,
};
pub use spec::*;
pub use swarm::{
    PlacementSpec, Reservations, ServiceMode, ServiceRestart, ServiceSpec, UpdateSpec,
};

/// Bumped whenever the JSON shape changes incompatibly.
pub const FORMAT_VERSION: u32 = 1;

/// What `stackc compile` prints.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Deployment {
    pub format_version: u32,
    pub stack: String,
    /// Sorted by address.
    pub resources: Vec<Resource>,
    pub outputs: BTreeMap<String, OutputValue>,
    /// The `moved` blocks, addresses absolute, sorted (`moved.rs`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub moved: Vec<moved::Moved>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Resource {
    /// `container.api-0`, or `postgres.db.container.server` inside a module instance.
    pub address: String,
    pub kind: Kind,
    /// The Docker object name (`shop-api-0`); for images, the image reference.
    pub name: String,
    pub spec: Spec,
    /// Sorted by address.
    pub depends_on: Vec<Dependency>,
    /// SHA-256 of the kind, name and spec, secret values replaced by
    /// [`SECRET_MASK`]: a hash of a secret would let anyone who reads labels
    /// or plans guess a short one offline. A changed secret is found by
    /// comparing it with the live value instead. A container's restart
    /// policy, memory and cpus are left out: Docker changes them in place,
    /// and they are compared with the live container instead.
    pub hash: String,
    /// JSON pointers (RFC 6901) into `spec` of values built from secrets.
    pub sensitive_paths: Vec<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq, PartialOrd, Ord)]
pub struct Dependency {
    pub address: String,
    pub condition: Condition,
}

/// When a dependent may start. For dependencies that are not containers
/// (networks, volumes, images) every condition means "exists".
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq, PartialOrd, Ord)]
#[serde(rename_all = "lowercase")]
pub enum Condition {
    Started,
    Healthy,
    Completed,
}

impl Condition {
    pub fn parse(s: &str) -> Option<Condition> {
        match s {
            "started" => Some(Condition::Started),
            "healthy" => Some(Condition::Healthy),
            "completed" => Some(Condition::Completed),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct OutputValue {
    pub value: serde_json::Value,
    /// JSON pointers into `value` of parts built from secrets.
    pub sensitive_paths: Vec<String>,
}

/// Shown in place of every secret value.
pub const SECRET_MASK: &str = "(secret)";

impl Resource {
    /// The host ports a container publishes, but those built from secrets
    /// (comparing them would tell them).
    pub fn published_ports(&self) -> Vec<HostPort> {
        let Spec::Container(c) = &self.spec else {
            return Vec::new();
        };
        c.run
            .ports
            .iter()
            .enumerate()
            .filter(|(i, _)| {
                let at = format!("/ports/{i}");
                !self
                    .sensitive_paths
                    .iter()
                    .any(|s| s == &at || s.starts_with(&format!("{at}/")))
            })
            .filter_map(|(_, p)| {
                Some(HostPort {
                    ip: p.ip.clone(),
                    port: p.host?,
                    protocol: p.protocol.clone(),
                })
            })
            .collect()
    }

    /// Hash of what the resource is; `extra` holds hashes of images it runs,
    /// so a rebuilt image changes the containers that use it. The values at
    /// `sensitive_paths` are hashed as [`SECRET_MASK`].
    ///
    /// What Docker updates on a live container (restart policy, memory,
    /// cpus) is compared live, not through the hash: labels cannot change
    /// after an update. Those fields are set aside while hashing and put
    /// back, so the spec is never copied.
    pub fn compute_hash(
        kind: Kind,
        name: &str,
        spec: &mut Spec,
        sensitive_paths: &[String],
        extra: &[&str],
    ) -> String {
        match spec {
            Spec::Container(c) => {
                let restart = std::mem::replace(&mut c.restart, "no".into());
                let memory = c.run.memory.take();
                let cpus = c.run.cpus.take();
                // When to pull is not what the container is.
                let pull = std::mem::take(&mut c.pull);
                // A file's content is hashed through its digest (never a secret's).
                let contents: Vec<_> = c
                    .files
                    .iter_mut()
                    .map(|f| {
                        if f.is_secret() {
                            (None, None)
                        } else {
                            (f.content.take(), f.encoding.take())
                        }
                    })
                    .collect();
                let hash = hash_of(kind, name, spec, sensitive_paths, extra);
                if let Spec::Container(c) = spec {
                    c.restart = restart;
                    c.run.memory = memory;
                    c.run.cpus = cpus;
                    c.pull = pull;
                    for (f, (content, encoding)) in c.files.iter_mut().zip(contents) {
                        if !f.is_secret() {
                            f.content = content;
                            f.encoding = encoding;
                        }
                    }
                }
                hash
            }
            // A build is identified by its content, not by where the checkout
            // lies: moving the project (or a CI runner's workspace) changes nothing.
            Spec::Image(image) if image.build.as_ref().is_some_and(|b| !b.context.is_empty()) => {
                let mut unlocated = image.clone();
                if let Some(b) = &mut unlocated.build {
                    b.context.clear();
                }
                hash_of(kind, name, &Spec::Image(unlocated), sensitive_paths, extra)
            }
            spec => hash_of(kind, name, spec, sensitive_paths, extra),
        }
    }
}

fn hash_of(
    kind: Kind,
    name: &str,
    spec: &Spec,
    sensitive_paths: &[String],
    extra: &[&str],
) -> String {
    let mut h = HashWriter(Sha256::new());
    // Serialized in chunks rather than token by token; writing to a
    // hasher cannot fail, and serializing these types cannot either.
    {
        let mut buffered = std::io::BufWriter::with_capacity(4096, &mut h);
        if sensitive_paths.is_empty() {
            let _ = serde_json::to_writer(&mut buffered, &(kind, name, spec));
        } else {
            // The same bytes as above (fields keep their order), secrets masked.
            let mut masked = serde_json::to_value(spec).unwrap_or_default();
            mask_paths(&mut masked, sensitive_paths);
            let _ = serde_json::to_writer(&mut buffered, &(kind, name, masked));
        }
        let _ = std::io::Write::flush(&mut buffered);
    }
    for e in extra {
        h.0.update(b"\0");
        h.0.update(e.as_bytes());
    }
    crate::digest::hex(&h.0.finalize())
}

/// Feeds serialized bytes straight into a hasher.
struct HashWriter(Sha256);

impl std::io::Write for HashWriter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.update(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Deployment {
    /// One-off jobs: the containers something waits on to `complete`. A job
    /// that exited 0 is finished (not stopped); one that failed runs again.
    pub fn jobs(&self) -> std::collections::BTreeSet<&str> {
        self.resources
            .iter()
            .flat_map(|r| &r.depends_on)
            .filter(|d| d.condition == Condition::Completed)
            .map(|d| d.address.as_str())
            .collect()
    }

    pub fn resource(&self, address: &str) -> Option<&Resource> {
        self.resources
            .binary_search_by(|r| r.address.as_str().cmp(address))
            .ok()
            .map(|i| &self.resources[i])
    }

    /// The JSON document `stackc compile` prints; secrets masked unless `show_secrets`.
    pub fn to_json(&self, show_secrets: bool) -> Result<String, serde_json::Error> {
        let mut doc = serde_json::to_value(self)?;
        if !show_secrets {
            mask(&mut doc, self);
        }
        let mut out = serde_json::to_string_pretty(&doc)?;
        out.push('\n');
        Ok(out)
    }
}

/// Replaces every sensitive value in the JSON form of a deployment.
fn mask(doc: &mut serde_json::Value, deployment: &Deployment) {
    if let Some(resources) = doc.get_mut("resources").and_then(|r| r.as_array_mut()) {
        for (json, resource) in resources.iter_mut().zip(&deployment.resources) {
            if let Some(spec) = json.get_mut("spec") {
                mask_paths(spec, &resource.sensitive_paths);
            }
        }
    }
    if let Some(outputs) = doc.get_mut("outputs").and_then(|o| o.as_object_mut()) {
        for (name, out) in outputs.iter_mut() {
            if let (Some(output), Some(value)) =
                (deployment.outputs.get(name), out.get_mut("value"))
            {
                mask_paths(value, &output.sensitive_paths);
            }
        }
    }
}

/// Replaces the values at these JSON pointers with [`SECRET_MASK`]: the one
/// way secrets are hidden in anything shown or stored.
/// Sorts secret paths and keeps only the outermost: a secret list is masked
/// whole, and a path for each of its elements would tell its length.
pub fn outermost(paths: &mut Vec<String>) {
    paths.sort();
    paths.dedup();
    let mut kept: Vec<String> = Vec::with_capacity(paths.len());
    for path in paths.drain(..) {
        let inside = kept.iter().any(|k| {
            k.is_empty() || (path.starts_with(k.as_str()) && path[k.len()..].starts_with('/'))
        });
        if !inside {
            kept.push(path);
        }
    }
    *paths = kept;
}

/// Every string under a JSON value with its pointer (`/env/A`, `/command/1`).
pub fn string_leaves(value: &serde_json::Value, at: &str, out: &mut Vec<(String, String)>) {
    match value {
        serde_json::Value::String(s) => out.push((at.to_string(), s.clone())),
        serde_json::Value::Array(xs) => {
            for (i, x) in xs.iter().enumerate() {
                string_leaves(x, &format!("{at}/{i}"), out);
            }
        }
        serde_json::Value::Object(m) => {
            for (k, x) in m {
                string_leaves(x, &format!("{at}/{}", pointer_segment(k)), out);
            }
        }
        _ => {}
    }
}

/// The numbers under a JSON value, as text.
fn number_leaves(value: &serde_json::Value) -> Box<dyn Iterator<Item = String> + '_> {
    match value {
        serde_json::Value::Number(n) => Box::new(std::iter::once(n.to_string())),
        serde_json::Value::Array(xs) => Box::new(xs.iter().flat_map(number_leaves)),
        serde_json::Value::Object(m) => Box::new(m.values().flat_map(number_leaves)),
        _ => Box::new(std::iter::empty()),
    }
}

pub fn mask_paths(value: &mut serde_json::Value, sensitive_paths: &[String]) {
    for path in sensitive_paths {
        if let Some(v) = value.pointer_mut(path) {
            *v = serde_json::Value::String(SECRET_MASK.to_string());
        }
    }
}

/// The secret texts of a deployment, to mask in messages that may echo them
/// (Docker's `unable to find user …`).
#[derive(Debug, Clone, Default)]
pub struct SecretTexts(Vec<String>);

impl SecretTexts {
    /// Every value at a resource's sensitive paths, longest first, so a
    /// secret that holds another is masked whole.
    pub fn of(deployment: &Deployment) -> SecretTexts {
        let mut texts: Vec<String> = Vec::new();
        for r in &deployment.resources {
            if r.sensitive_paths.is_empty() {
                continue;
            }
            let Ok(spec) = serde_json::to_value(&r.spec) else {
                continue;
            };
            for path in &r.sensitive_paths {
                let mut leaves = Vec::new();
                if let Some(v) = spec.pointer(path) {
                    string_leaves(v, path, &mut leaves);
                }
                texts.extend(leaves.into_iter().map(|(_, s)| s).filter(|s| !s.is_empty()));
                // Docker echoes numbers too (`Bind for 0.0.0.0:18107 failed`);
                // shorter ones would mask what is not the secret.
                if let Some(v) = spec.pointer(path) {
                    texts.extend(number_leaves(v).filter(|n| n.len() >= 3));
                }
            }
        }
        texts.sort_by(|a, b| b.len().cmp(&a.len()).then_with(|| a.cmp(b)));
        texts.dedup();
        SecretTexts(texts)
    }

    /// `message` with every secret text replaced by [`SECRET_MASK`].
    pub fn mask(&self, message: &str) -> String {
        let mut masked = message.to_string();
        for secret in &self.0 {
            if masked.contains(secret.as_str()) {
                masked = masked.replace(secret.as_str(), SECRET_MASK);
            }
        }
        masked
    }
}

impl OutputValue {
    /// The value, secrets masked unless `show_secrets`.
    pub fn shown(&self, show_secrets: bool) -> serde_json::Value {
        let mut value = self.value.clone();
        if !show_secrets {
            mask_paths(&mut value, &self.sensitive_paths);
        }
        value
    }
}

/// Escapes one JSON pointer segment (RFC 6901).
pub fn pointer_segment(key: &str) -> String {
    key.replace('~', "~0").replace('/', "~1")
}
