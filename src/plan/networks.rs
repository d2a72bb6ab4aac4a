//! A container's networks as drift: which of the stack's networks it left
//! or joined by hand, and what reconnects it (with its aliases and static
//! address there).

use serde_json::Value as Json;

use super::FieldChange;
use super::fields::walk;
use crate::deployment::{ContainerSpec, Kind, NetworkAttachment, RunSpec};
use crate::engine::{Actual, LiveObject, LiveState};

/// What takes a container from the networks it is on to those it should be
/// on: the networks to leave (the stack's own only: others were joined on
/// purpose, outside the stack) and those to join. A network whose aliases
/// or static address differ is left and joined again.
#[derive(Debug, Default, PartialEq)]
pub struct NetworkRepairs {
    pub disconnect: Vec<String>,
    pub connect: Vec<NetworkAttachment>,
}

impl NetworkRepairs {
    pub fn is_empty(&self) -> bool {
        self.disconnect.is_empty() && self.connect.is_empty()
    }
}

pub fn network_repairs(
    run: &RunSpec,
    actual: &Actual,
    ours: &dyn Fn(&str) -> bool,
) -> NetworkRepairs {
    let desired = &run.networks;
    let live = &actual.networks;
    let mut repairs = NetworkRepairs::default();
    for n in desired {
        match live.get(&n.network) {
            None => repairs.connect.push(n.clone()),
            Some(aliases)
                if *aliases != run.aliases_read_back(n)
                    || actual.addresses.get(&n.network) != n.ipv4_address.as_ref() =>
            {
                repairs.disconnect.push(n.network.clone());
                repairs.connect.push(n.clone());
            }
            Some(_) => {}
        }
    }
    for network in live.keys() {
        if ours(network) && !desired.iter().any(|n| n.network == *network) {
            repairs.disconnect.push(network.clone());
        }
    }
    repairs
}

/// The networks a container is on, as the spec writes them: those of the
/// source in its order, then the stack's other networks it joined.
pub(super) fn attachments(
    desired: &[NetworkAttachment],
    actual: &Actual,
    ours: &dyn Fn(&str) -> bool,
) -> Json {
    let live = &actual.networks;
    let on = |network: &str, aliases: &[String]| {
        let mut on = serde_json::json!({ "network": network, "aliases": aliases });
        if let Some(address) = actual.addresses.get(network) {
            on["ipv4_address"] = Json::from(address.as_str());
        }
        on
    };
    let mut list: Vec<Json> = desired
        .iter()
        .filter_map(|n| live.get(&n.network).map(|a| on(&n.network, a)))
        .collect();
    list.extend(
        live.iter()
            .filter(|(n, _)| ours(n) && !desired.iter().any(|d| d.network == **n))
            .map(|(n, a)| on(n, a)),
    );
    Json::Array(list)
}

/// The network changes, element by element, against the spec's list.
pub(super) fn network_changes(
    run: &RunSpec,
    live: &Actual,
    ours: &dyn Fn(&str) -> bool,
) -> Vec<FieldChange> {
    let wanted: Vec<NetworkAttachment> = run
        .networks
        .iter()
        .map(|n| NetworkAttachment {
            network: n.network.clone(),
            aliases: run.aliases_read_back(n),
            ipv4_address: n.ipv4_address.clone(),
        })
        .collect();
    let after = serde_json::to_value(&wanted).unwrap_or(Json::Null);
    let mut out = Vec::new();
    walk(
        &attachments(&run.networks, live, ours),
        &after,
        &mut "networks".to_string(),
        &mut out,
    );
    out
}

/// A container's `network_mode` as the engine reads it back, against the
/// source: another container's network is read back by that container's
/// id, so one made again (by hand, or gone) leaves this one on a network
/// namespace that is no longer there: it is made again too.
pub(super) fn network_mode_changed(
    spec: &ContainerSpec,
    actual: &Actual,
    live: &LiveState,
) -> Option<FieldChange> {
    let wanted = spec.network_mode.as_deref()?;
    let read_back = actual.values.get("/network_mode")?;
    let container = |by: &dyn Fn(&LiveObject) -> bool| {
        live.objects
            .iter()
            .find(|o| o.kind == Kind::Container && by(o))
    };
    let (same, shown) = match wanted.strip_prefix("container:") {
        Some(name) => {
            let now = container(&|o| o.name == name);
            let on = read_back.strip_prefix("container:").unwrap_or(read_back);
            let shown = match container(&|o| o.id == on) {
                Some(o) => format!("container:{}", o.name),
                None => format!("container:{} (gone)", &on[..on.len().min(12)]),
            };
            (now.is_some_and(|o| o.id == on), shown)
        }
        None => (read_back == wanted, read_back.clone()),
    };
    (!same).then(|| FieldChange {
        path: "network_mode".into(),
        before: Json::from(shown),
        after: Json::from(wanted),
        forces_replacement: true,
    })
}

/// A container's attachments to the stack's networks as they really are.
#[derive(Debug, Default, PartialEq)]
pub struct Attached {
    /// What the container is, its attachments to the networks in `stale`
    /// left out.
    pub actual: Actual,
    /// Attachments left from a network removed since: the one of that name
    /// now (made again by hand, or by this apply) is another network, or
    /// there is none. Docker keeps them on a stopped container, which then
    /// cannot start.
    pub stale: Vec<String>,
}

pub fn attached(actual: &Actual, live: &LiveState, ours: &dyn Fn(&str) -> bool) -> Attached {
    let now = |name: &str, id: &str| {
        live.objects
            .iter()
            .any(|o| o.kind == Kind::Network && o.name == name && o.id == id)
    };
    let stale: Vec<String> = actual
        .network_ids
        .iter()
        .filter(|(name, id)| ours(name) && !now(name, id))
        .map(|(name, _)| name.clone())
        .collect();
    let mut actual = actual.clone();
    actual.networks.retain(|name, _| !stale.contains(name));
    actual.addresses.retain(|name, _| !stale.contains(name));
    actual.network_ids.retain(|name, _| !stale.contains(name));
    Attached { actual, stale }
}

/// Why a container is reconnected to networks it is attached to only by
/// name (see [`Attached::stale`]).
pub(super) fn stale_reason(stale: &[String], live: &LiveState) -> String {
    let what: Vec<String> = stale
        .iter()
        .map(|name| {
            let there = live
                .objects
                .iter()
                .any(|o| o.kind == Kind::Network && o.name == *name);
            if there {
                format!("{name} was removed and made again outside stackc")
            } else {
                format!("{name} was removed outside stackc")
            }
        })
        .collect();
    format!("reconnect: {}", what.join(", "))
}
