//! Plans: the changes that take live state to the deployment, Terraform
//! style. `diff` compares each resource with the object labelled with its
//! address: by hash first, then field by field for what a user can see
//! changing. Drift — objects deleted, stopped or modified outside stackc —
//! is listed first and repaired by the same changes.

mod cascade;
mod diff;
mod fields;
mod files;
mod live;
mod moves;
mod networks;
mod render;
mod saved;
mod services;
#[cfg(test)]
mod tests;

use serde::{Deserialize, Serialize};

pub use diff::{PlanOptions, diff, with_dependencies};
pub use moves::{follow_moves, follow_recorded};
pub use networks::{Attached, NetworkRepairs, attached, network_repairs};
pub use render::{MARKDOWN_LIMIT, human, markdown};
pub use saved::{PlanFileError, SavedPlan, read_plan_file, write_plan_file};
pub use services::service_needs_update;

use crate::deployment::Kind;

/// Shown as the new value of a secret that changes (the old one shows as `(secret)`).
pub const SECRET_CHANGED: &str = "(secret changed)";

/// Shown as the live value of a secret file written inside the container
/// since the last apply copied it in (the source's shows as `(secret)`).
pub const SECRET_WRITTEN: &str = "(secret, written inside the container)";

/// Bumped whenever the plan JSON changes incompatibly (`docs/plan-format.md`).
pub const FORMAT_VERSION: u32 = 1;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Plan {
    pub format_version: u32,
    pub stack: String,
    /// Objects changed outside stackc, first.
    pub drift: Vec<Drift>,
    /// One entry per resource and per object to delete, sorted by address.
    pub resource_changes: Vec<Change>,
    pub summary: Summary,
    /// Objects outside the stack that hold a name or host port it needs:
    /// apply refuses while there are any (filled by `session::plan`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub conflicts: Vec<crate::engine::Foreign>,
    /// Set when the plan is applied with `--allow-data-loss`: the volumes
    /// it deletes or replaces lose their data by request.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub data_loss_allowed: bool,
    /// Objects at a new address (`moved` blocks) that no apply has recorded
    /// there yet; their changes, if any, are in `resource_changes`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub moved: Vec<Moved>,
}

/// An object the source now names by another address (`moved`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Moved {
    /// The address in its label.
    pub from: String,
    pub to: String,
    pub kind: Kind,
    /// Its Docker name.
    pub name: String,
}

impl Plan {
    /// What the plan's creations claim on the engine: the Docker names of
    /// new objects (and of containers given another `container_name`), the host ports of new (and replaced) containers; secret
    /// ports are left out.
    pub fn claims(&self, deployment: &crate::deployment::Deployment) -> crate::engine::Claims {
        let mut claims = crate::engine::Claims::default();
        for c in self.actions().filter(|c| c.action() == Action::Create) {
            // A replacement keeps its name, unless `container_name` (or a
            // volume's or network's name) changes.
            let renamed = c
                .fields
                .iter()
                .any(|f| f.path == "container_name" || f.path == "name");
            if (c.actions == [Action::Create] || renamed)
                && matches!(
                    c.kind,
                    Kind::Container | Kind::Network | Kind::Volume | Kind::Service
                )
            {
                claims
                    .names
                    .push((c.address.clone(), c.kind, c.name.clone()));
            }
            if let Some(r) = deployment.resource(&c.address) {
                let address = || c.address.clone();
                claims
                    .ports
                    .extend(r.published_ports().into_iter().map(|p| (address(), p)));
            }
        }
        claims
    }

    pub fn has_changes(&self) -> bool {
        self.summary.add + self.summary.change + self.summary.destroy > 0
    }

    /// Changes other than no-ops.
    pub fn actions(&self) -> impl Iterator<Item = &Change> {
        self.resource_changes
            .iter()
            .filter(|c| c.action() != Action::NoOp)
    }
}

/// What an object outside stackc's control became.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Drift {
    pub address: String,
    pub kind: Kind,
    pub name: String,
    pub drift: DriftKind,
    /// For `modified`: what differs (live before, source after).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub fields: Vec<FieldChange>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum DriftKind {
    /// Applied before, and gone now.
    Deleted,
    /// A container that should run does not.
    Stopped,
    /// A one-off container (something waits for it to complete) that failed.
    Failed,
    /// Changed in place (`docker update`).
    Modified,
}

impl DriftKind {
    pub fn describe(self) -> &'static str {
        match self {
            DriftKind::Deleted => "was deleted",
            DriftKind::Stopped => "is not running",
            DriftKind::Failed => "exited with an error",
            DriftKind::Modified => "was modified",
        }
    }
}

/// One action on one resource.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Action {
    Create,
    Update,
    Delete,
    NoOp,
}

/// The change to one resource (or to one object no longer in the source).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Change {
    pub address: String,
    pub kind: Kind,
    pub name: String,
    /// `["create"]`, `["update"]`, `["delete", "create"]` (replace), `["delete"]`, `["no-op"]`.
    pub actions: Vec<Action>,
    /// The spec as last applied (secrets masked), if the object exists.
    pub before: Option<serde_json::Value>,
    /// The spec to apply (secrets masked), unless the object is deleted.
    pub after: Option<serde_json::Value>,
    /// The fields whose change forces a replacement.
    pub replace_paths: Vec<String>,
    /// Why: "no longer in the source", "deleted outside stackc", …
    pub reason: Option<String>,
    /// JSON pointers into `after` of values built from secrets.
    pub sensitive_paths: Vec<String>,
    /// Field by field, what changes (secrets as `(secret changed)`).
    pub fields: Vec<FieldChange>,
    /// Deleting or replacing a volume loses its data: only with `--allow-data-loss`.
    pub data_loss: bool,
    /// The engine's id of the object acted on (for updates, deletes and replacements).
    pub id: Option<String>,
}

impl Change {
    /// The change in one word: replacements are `Delete` + `Create`.
    pub fn action(&self) -> Action {
        match self.actions.as_slice() {
            [Action::Delete, Action::Create] => Action::Create,
            [a] => *a,
            _ => Action::NoOp,
        }
    }

    pub fn is_replace(&self) -> bool {
        self.actions == [Action::Delete, Action::Create]
    }
}

/// A field's value before and after (masked; secrets that change show as `(secret changed)`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FieldChange {
    /// `memory`, `env.DATABASE_URL`, `ports`, …
    pub path: String,
    pub before: serde_json::Value,
    pub after: serde_json::Value,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub forces_replacement: bool,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Summary {
    pub add: usize,
    pub change: usize,
    pub destroy: usize,
}
