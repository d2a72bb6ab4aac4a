//! The diff: deployment vs. live state.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::Value as Json;

use super::*;
use crate::deployment::{Condition, Deployment, Resource, SECRET_MASK, Spec};
use crate::engine::{LiveObject, LiveState, State, masked_spec};

/// What to plan.
#[derive(Debug, Clone, Default)]
pub struct PlanOptions {
    /// Only these addresses and what they depend on (`--target`).
    pub targets: Vec<String>,
    /// Replace these even if unchanged (`--replace`).
    pub replace: Vec<String>,
    /// Plan to remove everything (`destroy`).
    pub destroy: bool,
}

/// Fields Docker changes on a live container; a change to any other forces a replacement.
const UPDATABLE: &[&str] = &["restart", "memory", "cpus"];

/// The plan that takes `live` to `desired`.
pub fn diff(desired: &Deployment, live: &LiveState, options: &PlanOptions) -> Plan {
    let mut by_address: BTreeMap<&str, Vec<&LiveObject>> = BTreeMap::new();
    for o in &live.objects {
        by_address.entry(o.address.as_str()).or_default().push(o);
    }
    // One-off containers: something waits for them to complete.
    let jobs: BTreeSet<&str> = desired
        .resources
        .iter()
        .flat_map(|r| &r.depends_on)
        .filter(|d| d.condition == Condition::Completed)
        .map(|d| d.address.as_str())
        .collect();
    let recorded = |address: &str| {
        live.record
            .as_ref()
            .is_some_and(|r| r.addresses.contains(address))
    };

    let mut drift = Vec::new();
    let mut changes: Vec<Change> = Vec::new();
    if !options.destroy {
        for r in &desired.resources {
            let objects = by_address.remove(r.address.as_str()).unwrap_or_default();
            let mut objects = objects.into_iter();
            let object = objects.next();
            // More than one object for an address (an interrupted replacement): the rest go.
            for extra in objects {
                changes.push(delete(extra, "a second object for this address"));
            }
            let forced = options.replace.contains(&r.address);
            let (change, found) = compare(r, object, live, &jobs, forced, recorded(&r.address));
            changes.push(change);
            drift.extend(found);
        }
    }
    for objects in by_address.values() {
        for o in objects {
            let reason = if options.destroy {
                "destroying the stack"
            } else {
                "no longer in the source"
            };
            changes.push(delete(o, reason));
        }
    }
    cascade(desired, &mut changes);
    if !options.targets.is_empty() {
        let keep = with_dependencies(desired, &options.targets);
        changes.retain(|c| keep.contains(&c.address));
        drift.retain(|d: &Drift| keep.contains(&d.address));
    }
    changes.sort_by(|a, b| (&a.address, &a.id).cmp(&(&b.address, &b.id)));
    drift.sort_by(|a, b| a.address.cmp(&b.address));
    let mut summary = Summary::default();
    for c in &changes {
        match c.actions.as_slice() {
            [Action::Create] => summary.add += 1,
            [Action::Update] => summary.change += 1,
            [Action::Delete] => summary.destroy += 1,
            [Action::Delete, Action::Create] => {
                summary.add += 1;
                summary.destroy += 1;
            }
            _ => {}
        }
    }
    Plan {
        format_version: FORMAT_VERSION,
        stack: desired.stack.clone(),
        drift,
        resource_changes: changes,
        summary,
    }
}

fn change(r: &Resource, actions: Vec<Action>, object: Option<&LiveObject>) -> Change {
    Change {
        address: r.address.clone(),
        kind: r.kind,
        name: r.name.clone(),
        actions,
        before: object.and_then(|o| o.spec.clone()),
        after: Some(masked_spec(r)),
        replace_paths: Vec::new(),
        reason: None,
        sensitive_paths: r.sensitive_paths.clone(),
        fields: Vec::new(),
        data_loss: false,
        id: object.map(|o| o.id.clone()),
    }
}

fn delete(o: &LiveObject, reason: &str) -> Change {
    Change {
        address: o.address.clone(),
        kind: o.kind,
        name: o.name.clone(),
        actions: vec![Action::Delete],
        before: o.spec.clone(),
        after: None,
        replace_paths: Vec::new(),
        reason: Some(reason.to_string()),
        sensitive_paths: Vec::new(),
        fields: Vec::new(),
        data_loss: o.kind == Kind::Volume,
        id: Some(o.id.clone()),
    }
}

/// The change for one resource, and the drift found on its object.
fn compare(
    r: &Resource,
    object: Option<&LiveObject>,
    live: &LiveState,
    jobs: &BTreeSet<&str>,
    forced: bool,
    recorded: bool,
) -> (Change, Option<Drift>) {
    let drift = |kind: DriftKind, fields: Vec<FieldChange>| Drift {
        address: r.address.clone(),
        kind: r.kind,
        name: r.name.clone(),
        drift: kind,
        fields,
    };
    // Images pulled by reference carry no labels: present or not is all there is.
    if let Spec::Image(image) = &r.spec
        && let Some(reference) = &image.reference
    {
        let present = live.images.get(reference).copied().unwrap_or(false);
        let mut c = change(
            r,
            vec![if present && !forced {
                Action::NoOp
            } else {
                Action::Create
            }],
            None,
        );
        if !present {
            c.reason = Some(format!("pull {reference}"));
        }
        return (c, None);
    }
    let Some(o) = object else {
        let mut c = change(r, vec![Action::Create], None);
        let found = recorded.then(|| {
            c.reason = Some("deleted outside stackc".into());
            drift(DriftKind::Deleted, Vec::new())
        });
        return (c, found);
    };
    if forced {
        let mut c = change(r, vec![Action::Delete, Action::Create], Some(o));
        c.reason = Some("replacement requested (--replace)".into());
        c.data_loss = r.kind == Kind::Volume;
        return (c, None);
    }
    // Secrets are not in the hash: a changed one shows against the live value.
    if o.hash == r.hash && (r.sensitive_paths.is_empty() || secret_changes(r, o, &[]).is_empty()) {
        return unchanged_spec(r, o, jobs, drift);
    }
    // The spec changed in what Docker cannot change in place: field by field,
    // what a user can see (restart, memory and cpus are not in the hash).
    let after = masked_spec(r);
    let mut fields: Vec<FieldChange> =
        field_changes(o.spec.as_ref().unwrap_or(&Json::Null), &after)
            .into_iter()
            .filter(|f| r.kind != Kind::Container || !UPDATABLE.contains(&f.path.as_str()))
            .collect();
    fields.extend(secret_changes(r, o, &fields));
    for f in &mut fields {
        f.forces_replacement = true;
    }
    let mut c = change(r, vec![Action::Delete, Action::Create], Some(o));
    c.data_loss = r.kind == Kind::Volume;
    c.replace_paths = fields.iter().map(|f| f.path.clone()).collect();
    if fields.is_empty() {
        c.reason = Some("what it is built from changed".into());
    }
    c.fields = fields;
    (c, None)
}

/// The object is as the source says, apart from what changes on a live
/// container: its state, and the fields `docker update` changes.
fn unchanged_spec(
    r: &Resource,
    o: &LiveObject,
    jobs: &BTreeSet<&str>,
    drift: impl Fn(DriftKind, Vec<FieldChange>) -> Drift,
) -> (Change, Option<Drift>) {
    let Spec::Container(spec) = &r.spec else {
        return (change(r, vec![Action::NoOp], Some(o)), None);
    };
    let job = jobs.contains(r.address.as_str());
    match o.state {
        State::Exited { code } if job && code != 0 => {
            let mut c = change(r, vec![Action::Delete, Action::Create], Some(o));
            c.reason = Some(format!("exited with code {code}: run again"));
            return (c, Some(drift(DriftKind::Failed, Vec::new())));
        }
        State::Dead => {
            let mut c = change(r, vec![Action::Delete, Action::Create], Some(o));
            c.reason = Some("the container is dead".into());
            return (c, Some(drift(DriftKind::Stopped, Vec::new())));
        }
        _ => {}
    }
    let stopped = matches!(
        o.state,
        State::Exited { .. } | State::Created | State::Paused
    ) && !job;
    // Live values against the source; one the source did not change (the
    // label has the source's value) was changed by hand.
    let a = &o.actual;
    let label = |k: &str| {
        o.spec
            .as_ref()
            .and_then(|s| s.get(k))
            .cloned()
            .unwrap_or(Json::Null)
    };
    let live_restart = a
        .restart
        .as_deref()
        .map(|r| if r.is_empty() { "no" } else { r });
    let live_memory = a.memory.filter(|m| *m > 0);
    let live_cpus = a.cpus.filter(|c| *c > 0.0);
    let same_cpus = match (live_cpus, spec.run.cpus) {
        (Some(x), Some(y)) => (x - y).abs() < 1e-6,
        (x, y) => x.is_none() && y.is_none(),
    };
    let mut fields: Vec<(&str, Json, Json)> = Vec::new();
    if live_restart.is_some_and(|live| live != spec.restart) {
        fields.push((
            "restart",
            Json::from(live_restart.unwrap_or_default()),
            Json::from(spec.restart.as_str()),
        ));
    }
    if live_memory != spec.run.memory {
        fields.push((
            "memory",
            live_memory.map_or(Json::Null, Json::from),
            spec.run.memory.map_or(Json::Null, Json::from),
        ));
    }
    if !same_cpus {
        fields.push((
            "cpus",
            live_cpus.map_or(Json::Null, Json::from),
            spec.run.cpus.map_or(Json::Null, Json::from),
        ));
    }
    // A secret restart policy, memory or cpus is compared, never shown.
    for (path, before, after) in &mut fields {
        if r.sensitive_paths.iter().any(|p| p == &format!("/{path}")) {
            *before = Json::from(SECRET_MASK);
            *after = Json::from(SECRET_CHANGED);
        }
    }
    let change_of = |(path, before, after): &(&str, Json, Json)| FieldChange {
        path: (*path).into(),
        before: before.clone(),
        after: after.clone(),
        forces_replacement: false,
    };
    let mut changes: Vec<FieldChange> = fields.iter().map(change_of).collect();
    let by_hand: Vec<FieldChange> = fields
        .iter()
        .filter(|(path, _, after)| label(path) == *after)
        .map(change_of)
        .collect();
    if changes.is_empty() && !stopped {
        return (change(r, vec![Action::NoOp], Some(o)), None);
    }
    // Docker cannot lift a memory or cpu limit in place: that takes a new container.
    let lifts: Vec<String> = changes
        .iter()
        .filter(|f| f.path != "restart" && f.after.is_null())
        .map(|f| f.path.clone())
        .collect();
    let mut c = change(r, vec![Action::Update], Some(o));
    if !lifts.is_empty() {
        c.actions = vec![Action::Delete, Action::Create];
        for f in changes.iter_mut().filter(|f| lifts.contains(&f.path)) {
            f.forces_replacement = true;
        }
        c.replace_paths = lifts;
    }
    c.fields = changes;
    // What the object is now, not what the label remembers.
    if let Some(before) = c.before.as_mut().and_then(Json::as_object_mut) {
        for (path, live, _) in &fields {
            before.insert((*path).into(), live.clone());
        }
    }
    let found = if stopped {
        c.reason = Some("start: stopped outside stackc".into());
        Some(drift(DriftKind::Stopped, Vec::new()))
    } else if !by_hand.is_empty() {
        c.reason = Some("changed outside stackc".into());
        Some(drift(DriftKind::Modified, by_hand))
    } else {
        None
    };
    (c, found)
}

/// Leaf-by-leaf differences of two specs (objects are walked, arrays compared whole).
fn field_changes(before: &Json, after: &Json) -> Vec<FieldChange> {
    let mut out = Vec::new();
    walk(before, after, &mut String::new(), &mut out);
    out
}

fn walk(before: &Json, after: &Json, path: &mut String, out: &mut Vec<FieldChange>) {
    match (before, after) {
        (Json::Object(a), Json::Object(b)) => {
            let keys: BTreeSet<&String> = a.keys().chain(b.keys()).collect();
            for k in keys {
                let len = path.len();
                if !path.is_empty() {
                    path.push('.');
                }
                path.push_str(k);
                walk(
                    a.get(k).unwrap_or(&Json::Null),
                    b.get(k).unwrap_or(&Json::Null),
                    path,
                    out,
                );
                path.truncate(len);
            }
        }
        (a, b) if a != b => out.push(FieldChange {
            path: if path.is_empty() {
                "spec".into()
            } else {
                path.clone()
            },
            before: a.clone(),
            after: b.clone(),
            forces_replacement: false,
        }),
        _ => {}
    }
}

/// Secrets whose masked form is unchanged but whose value differs from the
/// live one (read from the engine, compared in memory, never shown). A
/// secret the engine does not read back cannot be compared: it counts as
/// unchanged (`--replace` applies a new one).
fn secret_changes(r: &Resource, o: &LiveObject, visible: &[FieldChange]) -> Vec<FieldChange> {
    let spec = serde_json::to_value(&r.spec).unwrap_or(Json::Null);
    let mut out = Vec::new();
    for pointer in &r.sensitive_paths {
        let path = dotted(pointer);
        if visible.iter().any(|f| path.starts_with(&f.path)) {
            continue;
        }
        // Numbers and bools are read back as text too.
        let desired = spec.pointer(pointer).and_then(|v| match v {
            Json::String(s) => Some(s.clone()),
            Json::Number(n) => Some(n.to_string()),
            Json::Bool(b) => Some(b.to_string()),
            _ => None,
        });
        let live = o.actual.values.get(pointer);
        if desired.is_some_and(|d| live.is_some_and(|live| d != *live)) {
            out.push(FieldChange {
                path,
                before: Json::from(SECRET_MASK),
                after: Json::from(SECRET_CHANGED),
                forces_replacement: false,
            });
        }
    }
    out
}

/// `/env/DB_URL` → `env.DB_URL`; `/command/2` → `command[2]`.
fn dotted(pointer: &str) -> String {
    let mut out = String::new();
    for segment in pointer.split('/').skip(1) {
        let segment = segment.replace("~1", "/").replace("~0", "~");
        if segment.chars().all(|c| c.is_ascii_digit()) && !segment.is_empty() {
            out.push_str(&format!("[{segment}]"));
        } else {
            if !out.is_empty() {
                out.push('.');
            }
            out.push_str(&segment);
        }
    }
    out
}

/// Containers on a network or volume that is replaced are replaced with it:
/// the old object cannot go while they use it.
fn cascade(desired: &Deployment, changes: &mut [Change]) {
    let replaced: BTreeSet<String> = changes
        .iter()
        .filter(|c| c.is_replace() && matches!(c.kind, Kind::Network | Kind::Volume))
        .map(|c| c.address.clone())
        .collect();
    if replaced.is_empty() {
        return;
    }
    for c in changes.iter_mut() {
        let Some(r) = desired.resource(&c.address) else {
            continue;
        };
        if c.is_replace()
            || c.actions == [Action::Create]
            || !matches!(r.kind, Kind::Container | Kind::Service)
        {
            continue;
        }
        if let Some(dep) = r.depends_on.iter().find(|d| replaced.contains(&d.address)) {
            c.actions = vec![Action::Delete, Action::Create];
            c.reason = Some(format!("{} is replaced", dep.address));
        }
    }
}

/// The targets and, transitively, what they depend on.
fn with_dependencies(desired: &Deployment, targets: &[String]) -> BTreeSet<String> {
    let mut keep: BTreeSet<String> = BTreeSet::new();
    let mut todo: Vec<String> = targets.to_vec();
    while let Some(a) = todo.pop() {
        if !keep.insert(a.clone()) {
            continue;
        }
        if let Some(r) = desired.resource(&a) {
            todo.extend(r.depends_on.iter().map(|d| d.address.clone()));
        }
    }
    keep
}
