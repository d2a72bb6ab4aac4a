//! What a container's hash and label cannot tell, read back from the live
//! container: the values the spec sets (a container made again by hand
//! with the stack's labels), the ports it publishes; and the image resource
//! its hash holds.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::Value as Json;

use super::FieldChange;
use super::diff::dotted;
use super::fields::walk;
use crate::deployment::{Deployment, Kind, PortSpec, Resource, Spec};
use crate::engine::LiveObject;

/// Why a container is replaced when no field of its spec differs: its hash
/// holds the hash of the image resource it runs (so that a rebuild replaces
/// it), and that changed. The field that changed, if one did, and why.
pub(super) fn image_source(
    r: &Resource,
    o: &LiveObject,
    desired: &Deployment,
) -> Option<(Option<FieldChange>, String)> {
    let Spec::Container(c) = &r.spec else {
        return None;
    };
    let reference = c.run.image.as_str();
    let image = r
        .depends_on
        .iter()
        .filter_map(|d| desired.resource(&d.address))
        .find(|i| i.kind == Kind::Image && i.name == reference);
    let mut spec = r.spec.clone();
    let without_image = Resource::compute_hash(r.kind, &r.name, &mut spec, &r.sensitive_paths, &[]);
    let field = |before: String, after: String| FieldChange {
        path: "image".into(),
        before: Json::from(before),
        after: Json::from(after),
        forces_replacement: true,
    };
    match image {
        // Made from the reference alone, now from an image resource.
        Some(i) if without_image == o.hash => Some((
            Some(field(
                reference.to_string(),
                format!("{reference} (from {})", i.address),
            )),
            format!("its image now comes from {}", i.address),
        )),
        Some(i) => Some((None, format!("{} changed", i.address))),
        // The same spec, another hash, and no image resource now: it was
        // made from one.
        None if without_image != o.hash => Some((
            Some(field(
                format!("{reference} (from an image resource)"),
                reference.to_string(),
            )),
            "its image no longer comes from an image resource".into(),
        )),
        None => None,
    }
}

/// The published ports, when the live container's are not those it was
/// made with (`made`: made again by hand with other ones), shown against
/// the source's. Secret ports are not compared: the label masks them.
pub(super) fn ports_changed(
    r: &Resource,
    made: &[PortSpec],
    source: &[PortSpec],
    o: &LiveObject,
) -> Vec<FieldChange> {
    let secret = |p: &String| p == "/ports" || p.starts_with("/ports/");
    let Some(live) = o.actual.ports.as_ref() else {
        return Vec::new();
    };
    if r.sensitive_paths.iter().any(secret) {
        return Vec::new();
    }
    let mut made = made.to_vec();
    made.sort();
    if *live == made {
        return Vec::new();
    }
    // Element by element, against the source's (sorted as read back).
    let mut source = source.to_vec();
    source.sort();
    let json = |p: &[PortSpec]| serde_json::to_value(p).unwrap_or(Json::Null);
    let mut out = Vec::new();
    walk(
        &json(live),
        &json(&source),
        &mut "ports".to_string(),
        &mut out,
    );
    for f in &mut out {
        f.forces_replacement = true;
    }
    out
}

/// The values read back from a live container (environment, command,
/// entrypoint, health-check test, labels, mount sources and targets — only what the
/// spec sets — and Compose's settings, `deployment::is_read_back`) that
/// differ from those it was made with. Secrets are compared
/// apart ([`secret_changes`]).
pub(super) fn values_changed(r: &Resource, o: &LiveObject) -> Vec<FieldChange> {
    let Some(label) = &o.spec else {
        return Vec::new();
    };
    let read_back = |p: &str| {
        [
            "/env/",
            "/command/",
            "/entrypoint/",
            "/labels/",
            "/health/test/",
        ]
        .iter()
        .any(|f| p.starts_with(f))
            || (p.starts_with("/mounts/") && (p.ends_with("/source") || p.ends_with("/target")))
            || crate::deployment::is_read_back(p)
    };
    let secret = |p: &str| {
        r.sensitive_paths
            .iter()
            .any(|s| p == s || p.starts_with(&format!("{s}/")))
    };
    let mut leaves = Vec::new();
    crate::deployment::scalar_leaves(label, "", &mut leaves);
    let made: BTreeMap<String, String> = leaves
        .into_iter()
        .filter(|(p, _)| read_back(p) && !secret(p))
        .collect();
    let live = &o.actual.values;
    let pointers: BTreeSet<&String> = made
        .keys()
        .chain(live.keys().filter(|p| read_back(p) && !secret(p)))
        .collect();
    pointers
        .into_iter()
        .filter(|p| made.get(*p) != live.get(*p))
        .map(|p| FieldChange {
            path: dotted(p),
            before: live.get(p).map_or(Json::Null, |v| Json::from(v.as_str())),
            after: made.get(p).map_or(Json::Null, |v| Json::from(v.as_str())),
            forces_replacement: true,
        })
        .collect()
}
