//! A container's networks as drift: which of the stack's networks it left
//! or joined by hand, and what reconnects it.

use std::collections::BTreeMap;

use serde_json::Value as Json;

use super::FieldChange;
use super::fields::walk;
use crate::deployment::{Kind, NetworkAttachment, RunSpec};
use crate::engine::{Actual, LiveState};

/// What takes a container from the networks it is on to those it should be
/// on: the networks to leave (the stack's own only: others were joined on
/// purpose, outside the stack) and those to join. A network whose aliases
/// differ is left and joined again.
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
    live: &BTreeMap<String, Vec<String>>,
    ours: &dyn Fn(&str) -> bool,
) -> NetworkRepairs {
    let desired = &run.networks;
    let mut repairs = NetworkRepairs::default();
    for n in desired {
        match live.get(&n.network) {
            None => repairs.connect.push(n.clone()),
            Some(aliases) if *aliases != run.aliases_read_back(n) => {
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
    live: &BTreeMap<String, Vec<String>>,
    ours: &dyn Fn(&str) -> bool,
) -> Json {
    let on = |network: &str, aliases: &[String]| serde_json::json!({ "network": network, "aliases": aliases });
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
    live: &BTreeMap<String, Vec<String>>,
    ours: &dyn Fn(&str) -> bool,
) -> Vec<FieldChange> {
    let wanted: Vec<NetworkAttachment> = run
        .networks
        .iter()
        .map(|n| NetworkAttachment {
            network: n.network.clone(),
            aliases: run.aliases_read_back(n),
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

/// A container's attachments to the stack's networks as they really are.
#[derive(Debug, Default, PartialEq)]
pub struct Attached {
    /// The networks it is on, with its aliases there (as [`Actual::networks`]).
    pub networks: BTreeMap<String, Vec<String>>,
    /// Attachments left from a network removed since: the one of that name
    /// now (made again by hand, or by this apply) is another network, or
    /// there is none. Docker keeps them on a stopped container, which then
    /// cannot start; they are left out of `networks`.
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
    let mut networks = actual.networks.clone();
    networks.retain(|name, _| !stale.contains(name));
    Attached { networks, stale }
}
