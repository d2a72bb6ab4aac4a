//! Replacements that follow from others: what uses a replaced object is
//! replaced with it.

use std::collections::{BTreeMap, BTreeSet};

use super::*;
use crate::deployment::{Deployment, Resource, Spec};

/// Containers on a network or volume that is replaced are replaced with it:
/// the old object cannot go while they use it. So are containers in the pid
/// namespace of a replaced container: they joined the old one's; and those
/// that run an image built again (`--replace image.x`): they would run the
/// old one.
pub(super) fn cascade(desired: &Deployment, changes: &mut [Change]) {
    let replaced: BTreeSet<String> = changes
        .iter()
        .filter(|c| c.is_replace())
        .map(|c| c.address.clone())
        .collect();
    if replaced.is_empty() {
        return;
    }
    let uses = |r: &Resource, address: &str| match desired.resource(address) {
        Some(d) if d.kind == Kind::Container => {
            matches!(&r.spec, Spec::Container(c)
                if c.options.pid.as_deref() == Some(&format!("container:{}", d.name)))
        }
        Some(d) => matches!(d.kind, Kind::Network | Kind::Volume | Kind::Image),
        None => false,
    };
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
        if let Some(dep) = r
            .depends_on
            .iter()
            .find(|d| replaced.contains(&d.address) && uses(r, &d.address))
        {
            c.actions = vec![Action::Delete, Action::Create];
            c.reason = Some(format!("{} is replaced", dep.address));
        }
    }
}

/// Containers that share the network of a container replaced (or made
/// again) are replaced after it, in dependency order, through chains.
pub(super) fn shared_network_cascade(desired: &Deployment, changes: &mut [Change]) {
    loop {
        let remade: BTreeMap<String, String> = changes
            .iter()
            .filter(|c| c.kind == Kind::Container)
            .filter(|c| c.is_replace() || c.actions == [Action::Create])
            .map(|c| (format!("container:{}", c.name), c.address.clone()))
            .collect();
        let mut more = false;
        for c in changes.iter_mut() {
            let Some(Spec::Container(spec)) = desired.resource(&c.address).map(|r| &r.spec) else {
                continue;
            };
            let Some(other) = spec.network_mode.as_ref().and_then(|m| remade.get(m)) else {
                continue;
            };
            if c.is_replace() || c.actions == [Action::Create] {
                continue;
            }
            c.actions = vec![Action::Delete, Action::Create];
            c.reason = Some(format!("{other} is replaced, and its network with it"));
            more = true;
        }
        if !more {
            return;
        }
    }
}
