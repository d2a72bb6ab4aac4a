//! A Swarm service's own settings, beside what it shares with containers
//! (`RunSpec`): replicated or global, rolling updates and rollbacks,
//! placement, reservations, the restart policy of its tasks. Every setting
//! added after the first services is written only when set, so that
//! deployments without it keep their bytes and hashes.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::Millis;

/// How many tasks a service runs: `replicas` of them, or one on every node.
#[derive(Debug, Clone, Copy, Default, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum ServiceMode {
    #[default]
    Replicated,
    Global,
}

impl ServiceMode {
    pub fn is_replicated(&self) -> bool {
        *self == ServiceMode::Replicated
    }
}

/// How Swarm rolls a new spec out (`update`), or back (`rollback`).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct UpdateSpec {
    pub parallelism: u64,
    pub delay: Millis,
    pub order: String,
    pub failure_action: String,
    /// How long a new task is watched for failure; Swarm's default (5s) when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub monitor: Option<Millis>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct PlacementSpec {
    pub constraints: Vec<String>,
    /// Spread descriptors (`node.labels.zone`): tasks spread evenly over their values.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub preferences: Vec<String>,
    /// At most this many tasks on one node.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_replicas: Option<u64>,
}

/// What Swarm keeps free on a node for each task (limits are `memory` and `cpus`).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Reservations {
    /// Bytes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub memory: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cpus: Option<f64>,
}

/// When Swarm starts a task again: `condition` is `none`, `on-failure` or `any`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct ServiceRestart {
    pub condition: String,
    pub delay: Millis,
    /// 0: no limit.
    pub max_attempts: u64,
    /// The window attempts are counted in; 0: unbounded.
    pub window: Millis,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct ServiceSpec {
    #[serde(flatten)]
    pub run: super::RunSpec,
    pub replicas: u64,
    pub update: UpdateSpec,
    pub placement: PlacementSpec,
    #[serde(default, skip_serializing_if = "ServiceMode::is_replicated")]
    pub mode: ServiceMode,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rollback: Option<UpdateSpec>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reservations: Option<Reservations>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub restart_policy: Option<ServiceRestart>,
    /// `SIGTERM`, `SIGQUIT`, or a number, as for containers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stop_signal: Option<String>,
    /// Labels of the service's task containers (`labels` are the service's own).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub container_labels: BTreeMap<String, String>,
}

impl ServiceSpec {
    /// The tasks a replicated service wants; `None` for a global one.
    pub fn desired_replicas(&self) -> Option<u64> {
        self.mode.is_replicated().then_some(self.replicas)
    }
}
