//! What the fake reads back of a container, as the Docker engine would.

use std::collections::BTreeMap;

use crate::deployment::RunSpec;
use crate::engine::Actual;

/// The live values of a container made from `run`, as the Docker engine reads them back.
pub fn actual_of(run: &RunSpec, restart: &str) -> Actual {
    let mut values = BTreeMap::new();
    for (k, v) in &run.env {
        values.insert(
            format!("/env/{}", crate::deployment::pointer_segment(k)),
            v.clone(),
        );
    }
    for (i, w) in run.command.iter().flatten().enumerate() {
        values.insert(format!("/command/{i}"), w.clone());
    }
    for (i, w) in run.entrypoint.iter().flatten().enumerate() {
        values.insert(format!("/entrypoint/{i}"), w.clone());
    }
    for (i, w) in run.health.iter().flat_map(|h| &h.test).enumerate() {
        values.insert(format!("/health/test/{i}"), w.clone());
    }
    if let Some(h) = &run.health {
        values.insert("/health/retries".into(), h.retries.to_string());
    }
    for (k, v) in &run.labels {
        values.insert(
            format!("/labels/{}", crate::deployment::pointer_segment(k)),
            v.clone(),
        );
    }
    for (i, m) in run.mounts.iter().enumerate() {
        if let Some(source) = &m.source {
            values.insert(format!("/mounts/{i}/source"), source.clone());
        }
        values.insert(format!("/mounts/{i}/target"), m.target.clone());
    }
    let networks = run
        .networks
        .iter()
        .map(|n| (n.network.clone(), run.aliases_read_back(n)))
        .collect();
    let mut ports = run.ports.clone();
    ports.sort();
    let addresses = run
        .networks
        .iter()
        .filter_map(|n| Some((n.network.clone(), n.ipv4_address.clone()?)))
        .collect();
    Actual {
        restart: Some(restart.to_string()),
        memory: run.memory,
        cpus: run.cpus,
        values,
        image: None,
        networks,
        ports: Some(ports),
        network_ids: BTreeMap::new(),
        files: BTreeMap::new(),
        files_written: Default::default(),
        addresses,
        service: None,
    }
}
