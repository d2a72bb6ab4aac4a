//! Normalized specs of each kind: the shapes after defaults and short forms.

use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::units::{parse_duration, write_duration};

/// A duration, written in JSON as its canonical spelling (`"1m30s"`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Millis(pub i64);

impl Serialize for Millis {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Millis {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        parse_duration(&text)
            .map(Millis)
            .ok_or_else(|| serde::de::Error::custom(format!("invalid duration `{text}`")))
    }
}

impl fmt::Display for Millis {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write_duration(f, self.0)
    }
}

/// The spec of one resource, by kind. Boxed: a deployment holds many, and
/// resources stay small to move and sort.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(untagged)]
pub enum Spec {
    Image(Box<ImageSpec>),
    Network(Box<NetworkSpec>),
    Volume(Box<VolumeSpec>),
    Container(Box<ContainerSpec>),
    Service(Box<super::ServiceSpec>),
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct ImageSpec {
    /// An image pulled when absent (`nginx:1.27`); `None` when built.
    #[serde(rename = "ref")]
    pub reference: Option<String>,
    pub build: Option<BuildSpec>,
    /// The tag a build produces.
    pub tag: Option<String>,
    pub push: bool,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct BuildSpec {
    /// Absolute path of the build context.
    pub context: String,
    pub dockerfile: String,
    pub args: BTreeMap<String, String>,
    pub target: Option<String>,
    /// SHA-256 of the build inputs: context files, Dockerfile, args, target.
    pub content_hash: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct NetworkSpec {
    pub driver: String,
    pub internal: bool,
    pub attachable: bool,
    pub subnet: Option<String>,
    pub labels: BTreeMap<String, String>,
    /// An overlay network whose traffic between nodes is encrypted (IPsec).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub encrypted: bool,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct VolumeSpec {
    pub driver: String,
    pub options: BTreeMap<String, String>,
    pub labels: BTreeMap<String, String>,
}

/// How an image runs: what containers and Swarm services share.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct RunSpec {
    pub image: String,
    pub command: Option<Vec<String>>,
    pub entrypoint: Option<Vec<String>>,
    pub env: BTreeMap<String, String>,
    pub ports: Vec<PortSpec>,
    pub mounts: Vec<MountSpec>,
    pub networks: Vec<NetworkAttachment>,
    pub health: Option<HealthSpec>,
    pub user: Option<String>,
    pub workdir: Option<String>,
    pub hostname: Option<String>,
    pub labels: BTreeMap<String, String>,
    /// Bytes.
    pub memory: Option<i64>,
    pub cpus: Option<f64>,
    pub read_only: bool,
    pub cap_add: Vec<String>,
    pub cap_drop: Vec<String>,
    pub stop_timeout: Millis,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct ContainerSpec {
    #[serde(flatten)]
    pub run: RunSpec,
    /// `"3306/tcp"`, sorted.
    pub expose: Vec<String>,
    /// `no`, `always`, `unless-stopped`, `on-failure` or `on-failure:N`.
    pub restart: String,
    pub privileged: bool,
    /// When its image is pulled; written only when not the default.
    #[serde(default, skip_serializing_if = "PullPolicy::is_missing")]
    pub pull: PullPolicy,
    /// Files copied in before it starts (`files`), sorted by
    /// target; written only when there are any.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub files: Vec<super::files::FileSpec>,
    /// Compose's container settings (`extra_hosts`, `ulimits`, …): each
    /// written only when set (`options.rs`).
    #[serde(flatten)]
    pub options: super::ContainerOptions,
    /// `host`, `none`, `bridge` or `container:<Docker name>`: the container
    /// joins no network of its own (its `networks` are empty).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub network_mode: Option<String>,
}

impl RunSpec {
    /// The aliases of a network attachment as the engine reads them back:
    /// sorted, without the hostname (which older engines add, asked or not).
    pub fn aliases_read_back(&self, attachment: &NetworkAttachment) -> Vec<String> {
        let mut aliases: Vec<String> = attachment
            .aliases
            .iter()
            .filter(|a| self.hostname.as_ref() != Some(*a))
            .cloned()
            .collect();
        aliases.sort();
        aliases.dedup();
        aliases
    }
}

/// When a container's image is pulled, as Compose's `pull_policy`.
#[derive(Debug, Clone, Copy, Default, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum PullPolicy {
    /// Before every plan and apply.
    Always,
    /// Only when absent locally.
    #[default]
    Missing,
    /// Never: an absent image is an error.
    Never,
}

impl PullPolicy {
    pub const NAMES: &[&str] = &["always", "missing", "never"];

    pub fn is_missing(&self) -> bool {
        *self == PullPolicy::Missing
    }

    pub fn parse(text: &str) -> Option<PullPolicy> {
        match text {
            "always" => Some(PullPolicy::Always),
            "missing" => Some(PullPolicy::Missing),
            "never" => Some(PullPolicy::Never),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq, PartialOrd, Ord)]
#[serde(deny_unknown_fields)]
pub struct PortSpec {
    pub container: u16,
    pub protocol: String,
    /// `None`: Docker picks a free host port.
    pub host: Option<u16>,
    /// `None`: all interfaces.
    pub ip: Option<String>,
    /// A service's port: `host` publishes on the node its task runs on;
    /// `None` is Swarm's routing mesh (`ingress`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mode: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct MountSpec {
    /// `volume`, `bind` or `tmpfs`.
    #[serde(rename = "type")]
    pub kind: String,
    /// Volume name or absolute host path; `None` for tmpfs and an anonymous volume.
    pub source: Option<String>,
    pub target: String,
    pub read_only: bool,
    /// tmpfs size in bytes.
    pub size: Option<i64>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct NetworkAttachment {
    pub network: String,
    pub aliases: Vec<String>,
    /// A static address on the network (its endpoint's IPAM config).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ipv4_address: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct HealthSpec {
    /// Docker's form: `["CMD", …]` or `["CMD-SHELL", "…"]`.
    pub test: Vec<String>,
    pub interval: Millis,
    pub timeout: Millis,
    pub retries: u32,
    pub start_period: Millis,
}

/// A published host port: `127.0.0.1:8080/tcp`; no address is every address.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HostPort {
    pub ip: Option<String>,
    pub port: u16,
    pub protocol: String,
}

impl HostPort {
    /// Whether two published ports cannot both be bound.
    pub fn overlaps(&self, other: &HostPort) -> bool {
        let any = |ip: &Option<String>| {
            ip.as_deref()
                .is_none_or(|ip| ip.is_empty() || ip == "0.0.0.0" || ip == "::")
        };
        self.port == other.port
            && self.protocol == other.protocol
            && (any(&self.ip) || any(&other.ip) || self.ip == other.ip)
    }
}

impl fmt::Display for HostPort {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.ip {
            Some(ip) if ip.contains(':') => write!(f, "[{ip}]:{}/{}", self.port, self.protocol),
            Some(ip) => write!(f, "{ip}:{}/{}", self.port, self.protocol),
            None => write!(f, "{}/{}", self.port, self.protocol),
        }
    }
}
