//! The container settings Compose users reach for beyond [`super::RunSpec`]:
//! name resolution, the process and its kernel limits, devices, security
//! options, logging, the pid namespace and the Docker name. Containers only:
//! a Swarm service takes none of them. Every one is left out of the JSON at
//! its default, so a spec that sets none hashes as before.
//!
//! Each is normalized to what the engine stores and reads back, so that a
//! live container compares equal to the spec it was made from
//! ([`ContainerOptions::read_back`]).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::pointer_segment;

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct ContainerOptions {
    /// The Docker name given instead of `<stack>-<name>` (`container_name`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub container_name: Option<String>,
    /// `host:ip`, sorted and deduplicated (`/etc/hosts` entries).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub extra_hosts: Vec<String>,
    /// Resolvers, in the order given: they are asked in turn.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub dns: Vec<String>,
    /// Search domains, in the order given.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub dns_search: Vec<String>,
    #[serde(default, skip_serializing_if = "is_false")]
    pub init: bool,
    /// `SIGTERM`, `SIGRTMIN+3` or a number, as Docker stores it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stop_signal: Option<String>,
    /// Bytes of `/dev/shm`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shm_size: Option<i64>,
    /// By name (`nofile`); -1 is unlimited.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub ulimits: BTreeMap<String, Ulimit>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub sysctls: BTreeMap<String, String>,
    /// Sorted by the path in the container.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub devices: Vec<DeviceSpec>,
    /// `key=value` (`no-new-privileges=true`), sorted.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub security_opt: Vec<String>,
    /// Group names or ids, sorted.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub group_add: Vec<String>,
    #[serde(default, skip_serializing_if = "is_false")]
    pub tty: bool,
    #[serde(default, skip_serializing_if = "is_false")]
    pub stdin_open: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub logging: Option<LoggingSpec>,
    /// `host`, or `container:<Docker name>`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pid: Option<String>,
}

fn is_false(b: &bool) -> bool {
    !*b
}

#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct Ulimit {
    pub soft: i64,
    pub hard: i64,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq, PartialOrd, Ord)]
#[serde(deny_unknown_fields)]
pub struct DeviceSpec {
    pub host: String,
    pub container: String,
    /// Some of `r`, `w`, `m`, in that order.
    pub permissions: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct LoggingSpec {
    /// `None`: the engine's default driver.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub driver: Option<String>,
    pub options: BTreeMap<String, String>,
}

/// The security option Docker adds by itself to a container that shares the
/// host's pid namespace (SELinux labels off); read back only when asked for.
pub const ADDED_SECURITY_OPT: &str = "label=disable";

impl ContainerOptions {
    /// The values a live container made from these options reads back, by
    /// JSON pointer into the spec, as text (the engine's `Actual::values`).
    /// Only what the engine stores as given: the stop signal, shm size and
    /// logging driver are read back only where the spec sets them (the
    /// image or the daemon fills them in otherwise), ulimits and log options
    /// only by the names the spec sets (the daemon adds its defaults).
    pub fn read_back(&self) -> BTreeMap<String, String> {
        let mut values = BTreeMap::new();
        let mut list = |field: &str, items: &[String]| {
            for (i, x) in items.iter().enumerate() {
                values.insert(format!("/{field}/{i}"), x.clone());
            }
        };
        list("extra_hosts", &self.extra_hosts);
        list("dns", &self.dns);
        list("dns_search", &self.dns_search);
        list("security_opt", &self.security_opt);
        list("group_add", &self.group_add);
        for (flag, set) in [
            ("init", self.init),
            ("tty", self.tty),
            ("stdin_open", self.stdin_open),
        ] {
            if set {
                values.insert(format!("/{flag}"), "true".into());
            }
        }
        if let Some(s) = &self.stop_signal {
            values.insert("/stop_signal".into(), s.clone());
        }
        if let Some(s) = self.shm_size {
            values.insert("/shm_size".into(), s.to_string());
        }
        for (name, u) in &self.ulimits {
            let at = format!("/ulimits/{}", pointer_segment(name));
            values.insert(format!("{at}/soft"), u.soft.to_string());
            values.insert(format!("{at}/hard"), u.hard.to_string());
        }
        for (k, v) in &self.sysctls {
            values.insert(format!("/sysctls/{}", pointer_segment(k)), v.clone());
        }
        for (i, d) in self.devices.iter().enumerate() {
            values.insert(format!("/devices/{i}/host"), d.host.clone());
            values.insert(format!("/devices/{i}/container"), d.container.clone());
            values.insert(format!("/devices/{i}/permissions"), d.permissions.clone());
        }
        if let Some(l) = &self.logging {
            if let Some(d) = &l.driver {
                values.insert("/logging/driver".into(), d.clone());
            }
            for (k, v) in &l.options {
                let at = format!("/logging/options/{}", pointer_segment(k));
                values.insert(at, v.clone());
            }
        }
        if let Some(p) = &self.pid {
            values.insert("/pid".into(), p.clone());
        }
        values
    }
}

/// Whether a pointer is one of the values above: compared with the live
/// container, so a container made again by hand differently is drift.
pub fn is_read_back(pointer: &str) -> bool {
    const EXACT: &[&str] = &[
        "/init",
        "/tty",
        "/stdin_open",
        "/stop_signal",
        "/shm_size",
        "/pid",
        "/logging/driver",
    ];
    const UNDER: &[&str] = &[
        "/extra_hosts/",
        "/dns/",
        "/dns_search/",
        "/security_opt/",
        "/group_add/",
        "/ulimits/",
        "/sysctls/",
        "/devices/",
        "/logging/options/",
    ];
    EXACT.contains(&pointer) || UNDER.iter().any(|u| pointer.starts_with(u))
}

/// The scalars under a JSON value by pointer, as text (`true`, `1024`):
/// what the engine's read-back values are compared with.
pub fn scalar_leaves(value: &serde_json::Value, at: &str, out: &mut Vec<(String, String)>) {
    use serde_json::Value as J;
    match value {
        J::String(s) => out.push((at.to_string(), s.clone())),
        J::Number(n) => out.push((at.to_string(), n.to_string())),
        J::Bool(b) => out.push((at.to_string(), b.to_string())),
        J::Array(xs) => {
            for (i, x) in xs.iter().enumerate() {
                scalar_leaves(x, &format!("{at}/{i}"), out);
            }
        }
        J::Object(m) => {
            for (k, x) in m {
                scalar_leaves(x, &format!("{at}/{}", pointer_segment(k)), out);
            }
        }
        J::Null => {}
    }
}
