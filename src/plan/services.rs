//! Swarm services in plans. Swarm changes a service in place (a rolling
//! update), so a changed spec is `~ update`, never a replacement — but for
//! its `mode`, which Swarm cannot change. What a service is now is read back
//! from Swarm in the deployment's shape; where it differs from what the last
//! apply set (its label), it was changed by hand (scaled, updated): drift,
//! repaired by the same update. A rolled-back update leaves the old spec and
//! labels, so the next plan updates again; a paused one is rolled out again.

use serde_json::Value as Json;

use super::fields::field_changes;
use super::*;
use crate::deployment::{Resource, SECRET_MASK, mask_paths};
use crate::engine::LiveObject;
use crate::engine::swarm::UpdateState;

/// The change and drift of a service with a live object.
pub(super) fn compare(r: &Resource, o: &LiveObject) -> (Change, Option<Drift>) {
    let after = crate::engine::masked_spec(r);
    let live = o.actual.service.as_deref();
    // What the service is now, secrets masked as the source's are; without a
    // read-back (an engine that gives none), what its label says.
    let label = o.spec.clone().unwrap_or(Json::Null);
    let now = live.map(|l| {
        let mut now = l.spec.clone();
        mask_paths(&mut now, &r.sensitive_paths);
        for key in &l.unread {
            if let (Some(now), Some(made)) = (now.as_object_mut(), label.get(key)) {
                now.insert(key.clone(), made.clone());
            }
        }
        now
    });
    let now = now.unwrap_or_else(|| label.clone());
    let mut fields = field_changes(&now, &after);
    fields.extend(secret_changes(r, o));
    // Changed by hand: what differs between the label and Swarm's spec.
    let by_hand: Vec<FieldChange> = field_changes(&label, &now)
        .into_iter()
        .map(|f| FieldChange {
            path: f.path,
            before: f.after,
            after: f.before,
            forces_replacement: false,
        })
        .collect();
    let paused = live
        .and_then(|l| l.update.as_ref())
        .filter(|u| matches!(u.state, UpdateState::Paused | UpdateState::RollbackPaused));
    let drift = (!by_hand.is_empty()).then(|| Drift {
        address: r.address.clone(),
        kind: r.kind,
        name: r.name.clone(),
        drift: DriftKind::Modified,
        fields: by_hand.clone(),
    });
    let mut c = Change {
        address: r.address.clone(),
        kind: r.kind,
        name: r.name.clone(),
        actions: vec![Action::NoOp],
        before: Some(now),
        after: Some(after),
        replace_paths: Vec::new(),
        reason: None,
        sensitive_paths: r.sensitive_paths.clone(),
        fields: Vec::new(),
        data_loss: false,
        id: Some(o.id.clone()),
    };
    if fields.is_empty() && o.hash == r.hash && paused.is_none() {
        return (c, None);
    }
    if let Some(mode) = fields.iter_mut().find(|f| f.path == "mode") {
        // Swarm cannot turn a replicated service into a global one.
        mode.forces_replacement = true;
        c.actions = vec![Action::Delete, Action::Create];
        c.replace_paths = vec!["mode".into()];
    } else {
        c.actions = vec![Action::Update];
    }
    c.reason = if let Some(u) = paused {
        Some(format!(
            "its last update stopped ({}): roll it out again",
            u.state
        ))
    } else if drift.is_some() {
        Some("changed outside stackc".into())
    } else if fields.is_empty() {
        // Only the label differs (a spec stackc writes another way now).
        Some("its labels are out of date".into())
    } else {
        None
    };
    c.fields = fields;
    (c, drift)
}

/// Whether a service, read again, still needs the update the plan made for
/// it (another writer may have changed it meanwhile: the one object is
/// planned again).
pub fn service_needs_update(r: &Resource, o: &LiveObject) -> bool {
    compare(r, o).0.action() != Action::NoOp
}

/// Secrets (in `env`) that differ from Swarm's spec: compared in memory,
/// shown as `(secret changed)`.
fn secret_changes(r: &Resource, o: &LiveObject) -> Vec<FieldChange> {
    let Some(live) = o.actual.service.as_deref() else {
        return Vec::new();
    };
    let spec = serde_json::to_value(&r.spec).unwrap_or(Json::Null);
    let unread = |p: &str| live.unread.iter().any(|k| p.starts_with(&format!("/{k}")));
    r.sensitive_paths
        .iter()
        .filter(|p| !unread(p) && spec.pointer(p) != live.spec.pointer(p))
        .map(|p| FieldChange {
            path: super::diff::dotted(p),
            before: Json::from(SECRET_MASK),
            after: Json::from(SECRET_CHANGED),
            forces_replacement: false,
        })
        .collect()
}
