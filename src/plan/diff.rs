//! The diff: deployment vs. live state.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::Value as Json;

use super::cascade::{cascade, shared_network_cascade};
use super::fields::field_changes;
use super::networks::{Attached, attached, attachments, network_changes, network_mode_changed};
use super::*;
use crate::deployment::{ContainerSpec, Deployment, PullPolicy, Resource, SECRET_MASK, Spec};
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
    // Objects at the address `moved` blocks give them, not their label's.
    let live = &*super::moves::followed(desired, live);
    let mut by_address: BTreeMap<&str, Vec<&LiveObject>> = BTreeMap::new();
    for o in &live.objects {
        by_address.entry(o.address.as_str()).or_default().push(o);
    }
    // One-off containers: something waits for them to complete.
    let jobs = desired.jobs();
    // The stack's networks: a container on one it should not be on has drifted.
    let networks: BTreeSet<&str> = desired
        .resources
        .iter()
        .filter(|r| r.kind == Kind::Network)
        .map(|r| r.name.as_str())
        .collect();
    let known = Known {
        desired,
        live,
        jobs: &jobs,
        networks: &networks,
    };
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
            let (mut change, found) = compare(r, object, &known, forced, recorded(&r.address));
            if change.action() == Action::Create
                && let Some((image, policy)) = pull_needed(r, live)
            {
                let pull = match policy {
                    PullPolicy::Never => {
                        format!("{image} is absent and `pull = \"never\"`: apply will fail")
                    }
                    _ => format!("pull {image}"),
                };
                change.reason = Some(match change.reason.take() {
                    Some(reason) => format!("{reason}; {pull}"),
                    None => pull,
                });
            }
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
    shared_network_cascade(desired, &mut changes);
    super::moves::suggest_moves(&mut changes);
    if !options.targets.is_empty() {
        let mut keep = with_dependencies(desired, &options.targets);
        // A module instance removed from the source: its objects go.
        for t in &options.targets {
            let inside = format!("{t}.");
            keep.extend(
                live.objects
                    .iter()
                    .filter(|o| o.address.starts_with(&inside))
                    .map(|o| o.address.clone()),
            );
        }
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
        conflicts: Vec::new(),
        data_loss_allowed: false,
        moved: if options.destroy {
            Vec::new()
        } else {
            super::moves::pending(live)
        },
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

/// What every comparison may look at besides the resource and its object.
struct Known<'a> {
    desired: &'a Deployment,
    live: &'a LiveState,
    /// One-off containers: something waits for them to complete.
    jobs: &'a BTreeSet<&'a str>,
    /// The Docker names of the stack's networks.
    networks: &'a BTreeSet<&'a str>,
}

/// The change for one resource, and the drift found on its object.
fn compare(
    r: &Resource,
    object: Option<&LiveObject>,
    known: &Known<'_>,
    forced: bool,
    recorded: bool,
) -> (Change, Option<Drift>) {
    let live = known.live;
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
        let present = live.images.get(reference).is_some_and(Option::is_some);
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
    // Swarm updates a service in place (`services.rs`).
    if r.kind == Kind::Service {
        return super::services::compare(r, o);
    }
    // Renamed by hand (`docker rename`): made again under its name. A new
    // `container_name` is a change of the source, listed with the others.
    if r.kind == Kind::Container && o.name != r.name && !new_container_name(r, o) {
        let mut c = change(r, vec![Action::Delete, Action::Create], Some(o));
        c.reason = Some(format!("renamed outside stackc (to {})", o.name));
        let renamed = FieldChange {
            path: "name".into(),
            before: Json::from(o.name.as_str()),
            after: Json::from(r.name.as_str()),
            forces_replacement: true,
        };
        if o.moved_from.is_some() {
            // Made again under the name of its new address: a change of the
            // source, not drift, shown with everything else that changes.
            let mut fields = field_changes(o.spec.as_ref().unwrap_or(&Json::Null), &masked_spec(r));
            fields.extend(secret_changes(r, o, &fields));
            for f in &mut fields {
                f.forces_replacement = !UPDATABLE.contains(&f.path.as_str());
            }
            fields.insert(0, renamed);
            c.replace_paths = vec!["name".into()];
            c.reason = None;
            c.fields = fields;
            return (c, None);
        }
        c.fields = vec![renamed.clone()];
        c.replace_paths = vec!["name".into()];
        return (c, Some(drift(DriftKind::Modified, vec![renamed])));
    }
    let moved = moved_tag(r, o, live);
    // Secrets are not in the hash: a changed one shows against the live value.
    if o.hash == r.hash && (r.sensitive_paths.is_empty() || secret_changes(r, o, &[]).is_empty()) {
        if let Some(moved) = moved {
            let mut c = change(r, vec![Action::Delete, Action::Create], Some(o));
            c.reason = Some(moved);
            return (c, None);
        }
        return unchanged_spec(r, o, known, drift);
    }
    // The spec changed in what Docker cannot change in place: every field
    // that changes is listed, marked whether it is what forces the
    // replacement (restart, memory and cpus alone are updated in place).
    let after = masked_spec(r);
    let mut fields = field_changes(o.spec.as_ref().unwrap_or(&Json::Null), &after);
    fields.extend(secret_changes(r, o, &fields));
    for f in &mut fields {
        f.forces_replacement = r.kind != Kind::Container || !UPDATABLE.contains(&f.path.as_str());
    }
    // Changed by hand as well: the replacement repairs it, and it is drift.
    let found = match &r.spec {
        Spec::Container(spec) => {
            let mut by_hand = changed_by_hand(o, live, &live_updates(r, spec, o));
            // Networks against those the container was made with (its label).
            let made_with = o
                .spec
                .clone()
                .and_then(|s| serde_json::from_value::<ContainerSpec>(s).ok());
            if let Some(made_with) = made_with {
                let ours = |n: &str| known.networks.contains(n);
                let live = &o.actual;
                if !network_repairs(&made_with.run, live, &ours).is_empty() {
                    by_hand.extend(network_changes(&made_with.run, live, &ours));
                }
                let (made, source) = (&made_with.run.ports, &spec.run.ports);
                by_hand.extend(super::live::ports_changed(r, made, source, o));
                // Values the live container was not made with (made again by hand).
                by_hand.extend(super::live::values_changed(r, o));
            }
            by_hand.extend(super::files::written(&fields).cloned());
            (!by_hand.is_empty()).then(|| drift(DriftKind::Modified, by_hand))
        }
        _ => None,
    };
    // A volume or network the source names otherwise (Docker renames neither).
    let renamed = super::moves::renamed(r, o);
    if let Some((name, _)) = &renamed {
        fields.insert(0, name.clone());
    }
    let mut c = change(r, vec![Action::Delete, Action::Create], Some(o));
    c.data_loss = r.kind == Kind::Volume;
    c.replace_paths = fields
        .iter()
        .filter(|f| f.forces_replacement)
        .map(|f| f.path.clone())
        .collect();
    if let Some(moved) = moved {
        c.reason = Some(moved);
    } else if let Some((_, why)) = renamed {
        c.reason = Some(why);
    } else if let Some(by_hand) = found.as_ref().map(|d| &d.fields)
        && !c.replace_paths.is_empty()
        && c.replace_paths
            .iter()
            .all(|p| by_hand.iter().any(|f| f.path == *p))
    {
        // Nothing but what was changed by hand forces the replacement.
        c.reason = Some("changed outside stackc".into());
    } else if c.replace_paths.is_empty() {
        let (field, reason) = super::live::image_source(r, o, known.desired)
            .unwrap_or((None, "what it is built from changed".into()));
        c.replace_paths
            .extend(field.as_ref().map(|f| f.path.clone()));
        fields.extend(field);
        c.reason = Some(reason);
    }
    c.fields = fields;
    (c, found)
}

/// Whether the source gives the container another `container_name` than
/// the one it was made with.
fn new_container_name(r: &Resource, o: &LiveObject) -> bool {
    let Spec::Container(c) = &r.spec else {
        return false;
    };
    let made_with = o.spec.as_ref().and_then(|s| s.get("container_name"));
    made_with.and_then(Json::as_str) != c.options.container_name.as_deref()
}

/// What `docker update` changes on a live container — restart policy,
/// memory, cpus — where the live value is not the source's: (field, live,
/// source), secrets compared but never shown.
fn live_updates(
    r: &Resource,
    spec: &ContainerSpec,
    o: &LiveObject,
) -> Vec<(&'static str, Json, Json)> {
    let a = &o.actual;
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
    let mut fields: Vec<(&'static str, Json, Json)> = Vec::new();
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
    fields
}

/// Of those, what was changed by hand: the live value is not the one the
/// last apply set (kept with the record; the creation-time label for an
/// object no apply recorded); a value only the source changed is not.
fn changed_by_hand(
    o: &LiveObject,
    live: &LiveState,
    fields: &[(&'static str, Json, Json)],
) -> Vec<FieldChange> {
    let applied = live
        .record
        .as_ref()
        .and_then(|r| r.settings.get(&o.address))
        .or(o.spec.as_ref());
    let label = |k: &str| {
        applied
            .and_then(|s| s.get(k))
            .cloned()
            .unwrap_or(Json::Null)
    };
    fields
        .iter()
        .filter(|(path, live, _)| label(path) != *live)
        .map(|(path, live, source)| FieldChange {
            path: (*path).into(),
            before: live.clone(),
            after: source.clone(),
            forces_replacement: false,
        })
        .collect()
}

/// Why a container runs another image than its reference names now (the
/// tag was rebuilt or pulled again), as `docker compose up` would see it.
fn moved_tag(r: &Resource, o: &LiveObject, live: &LiveState) -> Option<String> {
    let Spec::Container(c) = &r.spec else {
        return None;
    };
    let now = live.images.get(&c.run.image)?.as_ref()?;
    let runs = o.actual.image.as_ref()?;
    (now != runs).then(|| {
        format!(
            "{} now names another image ({} → {})",
            c.run.image,
            short_id(runs),
            short_id(now)
        )
    })
}

/// `sha256:0123456789ab…` → `0123456789ab`.
fn short_id(id: &str) -> &str {
    let hex = id.strip_prefix("sha256:").unwrap_or(id);
    &hex[..hex.len().min(12)]
}

/// The image a new container needs pulled (its reference is not present),
/// and whether it may be.
fn pull_needed<'a>(r: &'a Resource, live: &LiveState) -> Option<(&'a str, PullPolicy)> {
    let Spec::Container(c) = &r.spec else {
        return None;
    };
    matches!(live.images.get(&c.run.image), Some(None)).then_some((c.run.image.as_str(), c.pull))
}

/// The object is as the source says, apart from what changes on a live
/// container: its state, and the fields `docker update` changes.
fn unchanged_spec(
    r: &Resource,
    o: &LiveObject,
    known: &Known<'_>,
    drift: impl Fn(DriftKind, Vec<FieldChange>) -> Drift,
) -> (Change, Option<Drift>) {
    let Spec::Container(spec) = &r.spec else {
        return (change(r, vec![Action::NoOp], Some(o)), None);
    };
    let job = known.jobs.contains(r.address.as_str());
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
    // A one-off job that exited is finished, not stopped; one an apply
    // created but could not start still has to run.
    let never_started = o.state == State::Created;
    let stopped = never_started || matches!(o.state, State::Exited { .. } | State::Paused) && !job;
    // Live values against the source; one the source did not change (the
    // label has the source's value) was changed by hand.
    let a = &o.actual;
    let fields = live_updates(r, spec, o);
    let change_of = |(path, before, after): &(&str, Json, Json)| FieldChange {
        path: (*path).into(),
        before: before.clone(),
        after: after.clone(),
        forces_replacement: false,
    };
    let mut changes: Vec<FieldChange> = fields.iter().map(change_of).collect();
    // What Docker cannot change in place, different on the live container
    // (made again by hand with the stack's labels): made again as it was.
    let mut remade = super::live::values_changed(r, o);
    let ports = &spec.run.ports;
    remade.extend(super::live::ports_changed(r, ports, ports, o));
    remade.extend(network_mode_changed(spec, &o.actual, known.live));
    let mut by_hand = changed_by_hand(o, known.live, &fields);
    // Networks joined or left by hand (the source's are in the hash).
    let ours = |n: &str| known.networks.contains(n);
    // Attachments to a network removed since count as gone.
    let Attached { actual: on, stale } = attached(a, known.live, &ours);
    let rejoin = !network_repairs(&spec.run, &on, &ours).is_empty();
    if rejoin {
        let networks = network_changes(&spec.run, &on, &ours);
        by_hand.extend(networks.iter().cloned());
        changes.extend(networks);
    }
    if !remade.is_empty() {
        let mut c = change(r, vec![Action::Delete, Action::Create], Some(o));
        c.reason = Some(
            if remade.iter().all(|f| f.path == "network_mode") && by_hand.is_empty() {
                "the container whose network it shares was made again".into()
            } else {
                "changed outside stackc".into()
            },
        );
        c.replace_paths = remade.iter().map(|f| f.path.clone()).collect();
        // What the replacement repairs besides what forces it: every
        // difference is listed, in the change and as drift.
        c.fields = remade.iter().cloned().chain(changes).collect();
        remade.extend(by_hand);
        return (c, Some(drift(DriftKind::Modified, remade)));
    }
    if changes.is_empty() && !stopped {
        return (change(r, vec![Action::NoOp], Some(o)), None);
    }
    // Docker cannot lift a memory or cpu limit in place: that takes a new container.
    let lifts: Vec<String> = changes
        .iter()
        .filter(|f| (f.path == "memory" || f.path == "cpus") && f.after.is_null())
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
        if rejoin {
            before.insert(
                "networks".into(),
                attachments(&spec.run.networks, &on, &ours),
            );
        }
    }
    let found = if never_started {
        // Made by an apply that stopped before starting it: nothing was
        // done outside stackc.
        c.reason = Some("start: created, never started".into());
        None
    } else if stopped {
        // Stopped by hand, or exited by itself: either way not running.
        c.reason = Some(format!("start: {} outside stackc", o.state));
        Some(drift(DriftKind::Stopped, Vec::new()))
    } else if !by_hand.is_empty() {
        c.reason = Some("changed outside stackc".into());
        Some(drift(DriftKind::Modified, by_hand))
    } else {
        None
    };
    if !stale.is_empty() {
        let why = super::networks::stale_reason(&stale, known.live);
        c.reason = Some(match c.reason.take() {
            Some(reason) if stopped => format!("{reason}; {why}"),
            _ => why,
        });
    }
    (c, found)
}

/// Secrets whose masked form is unchanged but whose value differs from the
/// live one (read from the engine, compared in memory, never shown). A
/// secret the engine does not read back cannot be compared: it counts as
/// unchanged (`--replace` applies a new one).
fn secret_changes(r: &Resource, o: &LiveObject, visible: &[FieldChange]) -> Vec<FieldChange> {
    let spec = serde_json::to_value(&r.spec).unwrap_or(Json::Null);
    let mut out = Vec::new();
    for pointer in &r.sensitive_paths {
        if let Some(found) = super::files::secret_change(r, o, pointer, visible) {
            out.extend(found);
            continue;
        }
        let path = dotted(pointer);
        if visible.iter().any(|f| path.starts_with(&f.path)) {
            continue;
        }
        // A secret list or record is masked whole: its strings are compared
        // one by one, and a different count is a change.
        if let Some(whole @ (Json::Array(_) | Json::Object(_))) = spec.pointer(pointer) {
            let mut leaves = Vec::new();
            crate::deployment::string_leaves(whole, pointer, &mut leaves);
            let inside = format!("{pointer}/");
            let live: Vec<(&String, &String)> = o
                .actual
                .values
                .range(inside.clone()..)
                .take_while(|(k, _)| k.starts_with(&inside))
                .collect();
            let same = live.len() == leaves.len()
                && leaves
                    .iter()
                    .all(|(k, v)| o.actual.values.get(k) == Some(v));
            if !live.is_empty() && !same {
                out.push(FieldChange {
                    path,
                    before: Json::from(SECRET_MASK),
                    after: Json::from(SECRET_CHANGED),
                    forces_replacement: false,
                });
            }
            continue;
        }
        // Numbers and bools are read back as text too.
        let Some(desired) = spec.pointer(pointer).and_then(|v| match v {
            Json::String(s) => Some(s.clone()),
            Json::Number(n) => Some(n.to_string()),
            Json::Bool(b) => Some(b.to_string()),
            _ => None,
        }) else {
            continue;
        };
        let desired = desired.as_str();
        // A list element may have moved (`command` grew a word before it):
        // it changed when the live list holds it nowhere.
        let changed = match list_of(pointer) {
            Some(list) => {
                let mut live = o.actual.values.range(format!("{list}/")..);
                let mut elements = live.by_ref().take_while(|(k, _)| list_of(k) == Some(list));
                let mut any = false;
                let found = elements.any(|(_, v)| {
                    any = true;
                    v == desired
                });
                any && !found
            }
            None => o
                .actual
                .values
                .get(pointer)
                .is_some_and(|live| live != desired),
        };
        if changed {
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

/// The list a pointer is an element of: `/command/2` → `/command`.
fn list_of(pointer: &str) -> Option<&str> {
    let (list, index) = pointer.rsplit_once('/')?;
    (!index.is_empty() && index.chars().all(|c| c.is_ascii_digit())).then_some(list)
}

/// `/env/DB_URL` → `env.DB_URL`; `/command/2` → `command[2]`.
pub(super) fn dotted(pointer: &str) -> String {
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

/// The targets and, transitively, what they depend on.
/// A module instance (`postgres.db`) stands for every resource inside it.
pub fn with_dependencies(desired: &Deployment, targets: &[String]) -> BTreeSet<String> {
    let mut keep: BTreeSet<String> = BTreeSet::new();
    let mut todo: Vec<String> = targets.to_vec();
    for t in targets {
        let inside = format!("{t}.");
        todo.extend(
            desired
                .resources
                .iter()
                .filter(|r| r.address.starts_with(&inside))
                .map(|r| r.address.clone()),
        );
    }
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
