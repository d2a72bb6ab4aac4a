//! What the engine tells of Swarm services beyond the objects themselves:
//! the version an update names, how a rollout is going, and whether the
//! engine can run services at all.

use std::fmt;

/// A live service besides its labels.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ServiceLive {
    /// Swarm's version of the service: an update names the one it read,
    /// and a stale one is refused (another writer came first).
    pub version: u64,
    /// The spec the service has now, read back in the deployment's shape
    /// (`ServiceSpec` as JSON, secret values real): drift is judged by it.
    pub spec: serde_json::Value,
    /// How its last update or rollback went.
    pub update: Option<UpdateStatus>,
    /// Fields of `spec` the engine cannot read back (`health`: bollard reads
    /// Swarm's `Healthcheck` under another name); the planner takes them
    /// from the label instead.
    pub unread: Vec<String>,
    /// Tasks running, and tasks wanted (Swarm's count of both).
    pub tasks: (u64, u64),
}

/// A service's last update or rollback, as Swarm tells it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UpdateStatus {
    pub state: UpdateState,
    /// Swarm's message (`update rolled back due to failure…`).
    pub message: String,
    /// When it started and completed: tells one update's status from an
    /// earlier one's (a status read just after an update may be the last one's).
    pub since: String,
}

/// Where a service's rolling update is (Swarm's `UpdateStatus.State`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UpdateState {
    Updating,
    Paused,
    Completed,
    RollbackStarted,
    RollbackPaused,
    RollbackCompleted,
}

impl UpdateState {
    pub fn parse(text: &str) -> Option<UpdateState> {
        Some(match text {
            "updating" => UpdateState::Updating,
            "paused" => UpdateState::Paused,
            "completed" => UpdateState::Completed,
            "rollback_started" => UpdateState::RollbackStarted,
            "rollback_paused" => UpdateState::RollbackPaused,
            "rollback_completed" => UpdateState::RollbackCompleted,
            _ => return None,
        })
    }

    /// An update that stopped short of the spec asked for: paused, or rolled back.
    pub fn failed(self) -> bool {
        matches!(
            self,
            UpdateState::Paused | UpdateState::RollbackPaused | UpdateState::RollbackCompleted
        )
    }
}

impl fmt::Display for UpdateState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            UpdateState::Updating => "updating",
            UpdateState::Paused => "update paused",
            UpdateState::Completed => "updated",
            UpdateState::RollbackStarted => "rolling back",
            UpdateState::RollbackPaused => "rollback paused",
            UpdateState::RollbackCompleted => "rolled back",
        })
    }
}

/// How far a service is in converging on its spec.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Rollout {
    /// Tasks wanted: the replicas, or (global) one per eligible node.
    pub desired: u64,
    /// Tasks running the service's current spec (healthy, when it has a check).
    pub running: u64,
    /// Tasks of the current spec that failed or were rejected.
    pub failed: u64,
    /// Tasks still running that Swarm is stopping (an old spec, or a replica too many).
    pub stopping: u64,
    pub update: Option<UpdateStatus>,
    /// What Swarm said of failed tasks, newest first, without repeats.
    pub errors: Vec<String>,
}

/// The message an engine that cannot run services gives, naming the way out.
pub fn not_a_manager(host: &str, state: &str) -> String {
    format!(
        "the stack has `service` resources, which need a Swarm manager, and the engine at {host} is {state}: run `docker swarm init` there to make it a single-node swarm (or point stackc at a manager with --host or DOCKER_HOST)"
    )
}
