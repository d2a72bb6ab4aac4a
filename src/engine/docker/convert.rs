//! Translation between the deployment's specs and Docker's shapes, both
//! ways: the requests that create objects, and live objects from what the
//! engine lists and inspects. Pure: nothing here talks to an engine.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use bollard::models::{
    ContainerConfig, ContainerCreateBody, ContainerInspectResponse, ContainerState,
    ContainerStateStatusEnum, ContainerUpdateBody, EndpointIpamConfig, EndpointSettings,
    HealthConfig, HealthStatusEnum, HostConfig, Ipam, IpamConfig, Mount, MountTmpfsOptions,
    MountType, NetworkCreateRequest, NetworkingConfig, PortBinding, RestartPolicy,
    RestartPolicyNameEnum, VolumeCreateRequest,
};

use super::LABEL_INTERNAL;
use crate::deployment::Kind;
use crate::deployment::{
    ContainerSpec, Millis, NetworkAttachment, NetworkSpec, Resource, RunSpec, VolumeSpec,
    pointer_segment,
};
use crate::engine::{Actual, Health, LABEL_ADDRESS, LABEL_HASH, LABEL_SPEC, LiveObject, State};

// ---- to Docker ----

/// The labels of the object made from `resource`, as Docker takes them.
pub(super) fn docker_labels(stack: &str, resource: &Resource) -> HashMap<String, String> {
    crate::engine::labels(stack, resource).into_iter().collect()
}

/// The create request of a container. With `all_networks` every network is
/// attached at create (API ≥ 1.44); otherwise only the first.
pub(super) fn container_body(
    stack: &str,
    resource: &Resource,
    c: &ContainerSpec,
    all_networks: bool,
) -> ContainerCreateBody {
    let run = &c.run;
    let mut exposed: BTreeSet<String> = c.expose.iter().cloned().collect();
    let mut bindings: HashMap<String, Option<Vec<PortBinding>>> = HashMap::new();
    for p in &run.ports {
        let key = format!("{}/{}", p.container, p.protocol);
        exposed.insert(key.clone());
        bindings
            .entry(key)
            .or_insert_with(|| Some(Vec::new()))
            .get_or_insert_with(Vec::new)
            .push(PortBinding {
                host_ip: Some(p.ip.clone().unwrap_or_default()),
                host_port: Some(p.host.map(|h| h.to_string()).unwrap_or_default()),
            });
    }
    let mounts: Vec<Mount> = run
        .mounts
        .iter()
        .map(|m| Mount {
            target: Some(m.target.clone()),
            source: m.source.clone(),
            typ: Some(match m.kind.as_str() {
                "bind" => MountType::BIND,
                "tmpfs" => MountType::TMPFS,
                _ => MountType::VOLUME,
            }),
            read_only: Some(m.read_only),
            tmpfs_options: m.size.map(|size| MountTmpfsOptions {
                size_bytes: Some(size),
                ..Default::default()
            }),
            ..Default::default()
        })
        .collect();
    let healthcheck = run.health.as_ref().map(|h| HealthConfig {
        test: Some(h.test.clone()),
        interval: Some(nanos(h.interval)),
        timeout: Some(nanos(h.timeout)),
        retries: Some(i64::from(h.retries)),
        start_period: Some(nanos(h.start_period)),
        ..Default::default()
    });
    let endpoints: HashMap<String, EndpointSettings> = run
        .networks
        .iter()
        .enumerate()
        .filter(|(i, _)| *i == 0 || all_networks)
        .map(|(_, n)| (n.network.clone(), endpoint(n)))
        .collect();
    let network_mode = c
        .network_mode
        .clone()
        .or_else(|| run.networks.first().map(|n| n.network.clone()));
    let host_config = HostConfig {
        network_mode,
        port_bindings: (!bindings.is_empty()).then_some(bindings),
        mounts: (!mounts.is_empty()).then_some(mounts),
        restart_policy: Some(restart_policy(&c.restart)),
        memory: run.memory,
        nano_cpus: run.cpus.map(nano_cpus),
        readonly_rootfs: Some(run.read_only),
        privileged: Some(c.privileged),
        cap_add: (!run.cap_add.is_empty()).then(|| run.cap_add.clone()),
        cap_drop: (!run.cap_drop.is_empty()).then(|| run.cap_drop.clone()),
        ..Default::default()
    };
    let mut body = ContainerCreateBody {
        image: Some(run.image.clone()),
        cmd: run.command.clone(),
        entrypoint: run.entrypoint.clone(),
        env: Some(run.env.iter().map(|(k, v)| format!("{k}={v}")).collect()),
        exposed_ports: (!exposed.is_empty()).then(|| exposed.into_iter().collect()),
        healthcheck,
        user: run.user.clone(),
        working_dir: run.workdir.clone(),
        hostname: run.hostname.clone(),
        labels: Some(docker_labels(stack, resource)),
        stop_timeout: Some(seconds_up(run.stop_timeout)),
        host_config: Some(host_config),
        networking_config: (!endpoints.is_empty()).then_some(NetworkingConfig {
            endpoints_config: Some(endpoints),
        }),
        ..Default::default()
    };
    super::options::set_options(&mut body, &c.options);
    body
}

/// A container's attachment to a network, known there by its aliases, at
/// its static address if it has one.
pub(super) fn endpoint(n: &NetworkAttachment) -> EndpointSettings {
    EndpointSettings {
        aliases: (!n.aliases.is_empty()).then(|| n.aliases.clone()),
        ipam_config: n.ipv4_address.as_ref().map(|ip| EndpointIpamConfig {
            ipv4_address: Some(ip.clone()),
            ..Default::default()
        }),
        ..Default::default()
    }
}

/// What `docker update` changes of a live container: restart policy,
/// memory and cpus, where 0 means "unchanged".
pub(super) fn update_body(run: &RunSpec, restart: &str) -> ContainerUpdateBody {
    ContainerUpdateBody {
        restart_policy: Some(restart_policy(restart)),
        memory: Some(run.memory.unwrap_or(0)),
        // Swap as Docker sets it at create (twice the memory). Given
        // explicitly, the engine orders the cgroup writes so that
        // raising memory above the old swap limit works; -1 would be
        // dropped by engines before 23 and the raise refused.
        memory_swap: run.memory.map(|m| m.saturating_mul(2)),
        nano_cpus: Some(run.cpus.map_or(0, nano_cpus)),
        ..Default::default()
    }
}

pub(super) fn network_request(
    stack: &str,
    resource: &Resource,
    n: &NetworkSpec,
) -> NetworkCreateRequest {
    NetworkCreateRequest {
        name: resource.name.clone(),
        driver: Some(n.driver.clone()),
        internal: Some(n.internal),
        attachable: Some(n.attachable),
        ipam: n.subnet.as_ref().map(|subnet| Ipam {
            config: Some(vec![IpamConfig {
                subnet: Some(subnet.clone()),
                ..Default::default()
            }]),
            ..Default::default()
        }),
        labels: Some(docker_labels(stack, resource)),
        // Swarm's IPsec between nodes, as `docker network create --opt encrypted`.
        options: n
            .encrypted
            .then(|| HashMap::from([("encrypted".to_string(), String::new())])),
        ..Default::default()
    }
}

pub(super) fn volume_request(
    stack: &str,
    resource: &Resource,
    v: &VolumeSpec,
) -> VolumeCreateRequest {
    VolumeCreateRequest {
        name: Some(resource.name.clone()),
        driver: Some(v.driver.clone()),
        driver_opts: Some(v.options.clone().into_iter().collect()),
        labels: Some(docker_labels(stack, resource)),
        ..Default::default()
    }
}

/// `no`, `always`, `unless-stopped`, `on-failure`, `on-failure:N`.
fn restart_policy(restart: &str) -> RestartPolicy {
    let (name, count) = match restart.split_once(':') {
        Some((name, n)) => (name, n.trim().parse::<i64>().ok()),
        None => (restart, None),
    };
    let name = match name {
        "always" => RestartPolicyNameEnum::ALWAYS,
        "unless-stopped" => RestartPolicyNameEnum::UNLESS_STOPPED,
        "on-failure" => RestartPolicyNameEnum::ON_FAILURE,
        _ => RestartPolicyNameEnum::NO,
    };
    RestartPolicy {
        maximum_retry_count: (name == RestartPolicyNameEnum::ON_FAILURE)
            .then(|| count.unwrap_or(0)),
        name: Some(name),
    }
}

fn nanos(d: Millis) -> i64 {
    d.0.saturating_mul(1_000_000)
}

/// Whole seconds, rounded up.
pub(super) fn seconds_up(d: Millis) -> i64 {
    d.0.max(0).saturating_add(999) / 1000
}

fn nano_cpus(cpus: f64) -> i64 {
    (cpus * 1e9).round() as i64
}

// ---- from Docker ----

/// The spec an object was made from (`io.stackc.spec`), secrets masked.
pub(super) fn parse_spec(labels: &HashMap<String, String>) -> Option<serde_json::Value> {
    labels
        .get(LABEL_SPEC)
        .and_then(|s| serde_json::from_str(s).ok())
}

/// A network or volume of the stack; `None` without an address label.
pub(super) fn plain(
    kind: Kind,
    id: String,
    name: String,
    labels: &HashMap<String, String>,
) -> Option<LiveObject> {
    if labels.contains_key(LABEL_INTERNAL) {
        return None;
    }
    Some(LiveObject {
        kind,
        id,
        name,
        address: labels.get(LABEL_ADDRESS)?.clone(),
        hash: labels.get(LABEL_HASH).cloned().unwrap_or_default(),
        spec: parse_spec(labels),
        state: State::Present,
        actual: Actual::default(),
        moved_from: None,
    })
}

/// The tag an image of the stack is known by: the spec's `tag` if the image
/// has it, else its first tag.
pub(super) fn image_name(tags: &[String], spec: Option<&serde_json::Value>) -> Option<String> {
    let mut tags: Vec<&String> = tags.iter().filter(|t| *t != "<none>:<none>").collect();
    tags.sort();
    let wanted = spec.and_then(|s| s.get("tag")).and_then(|t| t.as_str());
    tags.iter()
        .find(|t| Some(t.as_str()) == wanted)
        .or_else(|| tags.first())
        .map(|t| (*t).clone())
}

/// A container of the stack as inspected; `None` without an address label.
pub(super) fn live_container(c: ContainerInspectResponse) -> Option<LiveObject> {
    let config = c.config.clone().unwrap_or_default();
    let labels = config.labels.clone().unwrap_or_default();
    if labels.contains_key(LABEL_INTERNAL) {
        return None;
    }
    let address = labels.get(LABEL_ADDRESS)?.clone();
    let spec = parse_spec(&labels);
    let host = c.host_config.clone().unwrap_or_default();
    let actual = Actual {
        restart: Some(restart_name(host.restart_policy.as_ref())),
        memory: host.memory.filter(|m| *m != 0),
        cpus: host.nano_cpus.filter(|n| *n != 0).map(|n| n as f64 / 1e9),
        values: values(&config, &host, spec.as_ref()),
        image: c.image.clone(),
        networks: networks_of(&c),
        ports: Some(ports_of(&host)),
        network_ids: network_ids_of(&c),
        // Read through the archive API by the caller (`files.rs`).
        files: BTreeMap::new(),
        files_written: Default::default(),
        addresses: static_addresses(&c),
        service: None,
    };
    let id = c.id.clone().unwrap_or_default();
    Some(LiveObject {
        kind: Kind::Container,
        name: display_name(&c, &id),
        id,
        address,
        hash: labels.get(LABEL_HASH).cloned().unwrap_or_default(),
        spec,
        state: state_of(c.state.as_ref()),
        actual,
        moved_from: None,
    })
}

/// The networks a container is on, with the aliases it was given there:
/// engines before API 1.44 add its hostname (by default its short id),
/// which is left out ([`crate::engine::Actual::networks`]).
fn networks_of(c: &ContainerInspectResponse) -> BTreeMap<String, Vec<String>> {
    let id = c.id.as_deref().unwrap_or_default();
    let short_id = &id[..id.len().min(12)];
    let hostname = c
        .config
        .as_ref()
        .and_then(|c| c.hostname.as_deref())
        .unwrap_or(short_id);
    c.network_settings
        .as_ref()
        .and_then(|n| n.networks.as_ref())
        .into_iter()
        .flatten()
        .map(|(name, endpoint)| {
            let mut aliases: Vec<String> = endpoint
                .aliases
                .iter()
                .flatten()
                .filter(|a| ![short_id, id, hostname].contains(&a.as_str()))
                .cloned()
                .collect();
            aliases.sort();
            aliases.dedup();
            (name.clone(), aliases)
        })
        .collect()
}

// ---- ports and network ids read back ----

/// The ports a container publishes as they were asked for: Docker keeps the
/// request (`HostPort` empty when it picks one), so a picked port never
/// shows as a difference.
fn ports_of(host: &HostConfig) -> Vec<crate::deployment::PortSpec> {
    let mut ports = Vec::new();
    for (key, bindings) in host.port_bindings.iter().flatten() {
        let (container, protocol) = key.split_once('/').unwrap_or((key.as_str(), "tcp"));
        let Ok(container) = container.parse::<u16>() else {
            continue;
        };
        for b in bindings.iter().flatten() {
            let given = |v: &Option<String>| v.clone().filter(|v| !v.is_empty());
            ports.push(crate::deployment::PortSpec {
                container,
                protocol: protocol.to_string(),
                host: given(&b.host_port).and_then(|p| p.parse().ok()),
                ip: given(&b.host_ip),
                mode: None,
            });
        }
    }
    ports.sort();
    ports
}

/// The id of the network of each attachment, by the network's name.
fn network_ids_of(c: &ContainerInspectResponse) -> BTreeMap<String, String> {
    c.network_settings
        .as_ref()
        .and_then(|n| n.networks.as_ref())
        .into_iter()
        .flatten()
        .filter_map(|(name, e)| {
            let id = e.network_id.clone().filter(|id| !id.is_empty())?;
            Some((name.clone(), id))
        })
        .collect()
}

/// The static address each network was asked for (its IPAM config).
fn static_addresses(c: &ContainerInspectResponse) -> BTreeMap<String, String> {
    c.network_settings
        .as_ref()
        .and_then(|n| n.networks.as_ref())
        .into_iter()
        .flatten()
        .filter_map(|(name, endpoint)| {
            let ip = endpoint.ipam_config.as_ref()?.ipv4_address.as_ref()?;
            (!ip.is_empty()).then(|| (name.clone(), ip.clone()))
        })
        .collect()
}

/// The restart policy as the spec spells it.
fn restart_name(policy: Option<&RestartPolicy>) -> String {
    let Some(policy) = policy else {
        return "no".into();
    };
    match policy.name {
        Some(RestartPolicyNameEnum::ALWAYS) => "always".into(),
        Some(RestartPolicyNameEnum::UNLESS_STOPPED) => "unless-stopped".into(),
        Some(RestartPolicyNameEnum::ON_FAILURE) => match policy.maximum_retry_count {
            Some(n) if n > 0 => format!("on-failure:{n}"),
            _ => "on-failure".into(),
        },
        _ => "no".into(),
    }
}

/// The values at the spec's paths (see [`crate::engine::memory::actual_of`]).
/// Only what the spec sets: the image's env, labels, command and health
/// check, which Docker merges in, are left out.
fn values(
    config: &ContainerConfig,
    host: &HostConfig,
    spec: Option<&serde_json::Value>,
) -> BTreeMap<String, String> {
    let mut values = BTreeMap::new();
    let keys = |field: &str| -> Option<BTreeSet<String>> {
        spec.map(|s| {
            s.get(field)
                .and_then(|v| v.as_object())
                .map(|o| o.keys().cloned().collect())
                .unwrap_or_default()
        })
    };
    let sets = |field: &str| spec.is_none_or(|s| s.get(field).is_some_and(|v| !v.is_null()));
    let env_keys = keys("env");
    for entry in config.env.iter().flatten() {
        let (k, v) = entry.split_once('=').unwrap_or((entry.as_str(), ""));
        if env_keys.as_ref().is_none_or(|keys| keys.contains(k)) {
            values.insert(format!("/env/{}", pointer_segment(k)), v.to_string());
        }
    }
    if sets("command") {
        for (i, w) in config.cmd.iter().flatten().enumerate() {
            values.insert(format!("/command/{i}"), w.clone());
        }
    }
    if sets("entrypoint") {
        for (i, w) in config.entrypoint.iter().flatten().enumerate() {
            values.insert(format!("/entrypoint/{i}"), w.clone());
        }
    }
    if sets("health") {
        let test = config.healthcheck.as_ref().and_then(|h| h.test.as_ref());
        for (i, w) in test.into_iter().flatten().enumerate() {
            values.insert(format!("/health/test/{i}"), w.clone());
        }
        if let Some(retries) = config.healthcheck.as_ref().and_then(|h| h.retries) {
            values.insert("/health/retries".into(), retries.to_string());
        }
    }
    // `container:<id>` for another container's network: the planner
    // compares it with the id of the container the spec names.
    if sets("network_mode")
        && let Some(mode) = host.network_mode.as_ref().filter(|m| !m.is_empty())
    {
        values.insert("/network_mode".into(), mode.clone());
    }
    let label_keys = keys("labels");
    for (k, v) in config.labels.iter().flatten() {
        let wanted = match &label_keys {
            Some(keys) => keys.contains(k),
            None => !k.starts_with("io.stackc."),
        };
        if wanted {
            values.insert(format!("/labels/{}", pointer_segment(k)), v.clone());
        }
    }
    // The spec's mounts are sorted by target, and those whose target is
    // secret (masked in the label) follow in the order they were given,
    // which is the order Docker keeps; so are these.
    let shown: Option<BTreeSet<&str>> = spec.map(|s| {
        s.get("mounts")
            .and_then(|m| m.as_array())
            .into_iter()
            .flatten()
            .filter_map(|m| m.get("target").and_then(|t| t.as_str()))
            .filter(|t| *t != crate::deployment::SECRET_MASK)
            .collect()
    });
    let mut mounts: Vec<&Mount> = host.mounts.iter().flatten().collect();
    mounts.sort_by(|a, b| {
        let key = |m: &Mount| {
            let target = m.target.as_deref().unwrap_or_default();
            match &shown {
                Some(shown) if !shown.contains(target) => None,
                _ => Some(target.to_string()),
            }
        };
        match (key(a), key(b)) {
            (Some(x), Some(y)) => x.cmp(&y),
            (Some(_), None) => std::cmp::Ordering::Less,
            (None, Some(_)) => std::cmp::Ordering::Greater,
            (None, None) => std::cmp::Ordering::Equal,
        }
    });
    for (i, m) in mounts.iter().enumerate() {
        if let Some(source) = m.source.as_ref().filter(|s| !s.is_empty()) {
            values.insert(format!("/mounts/{i}/source"), source.clone());
        }
        // The target too: an anonymous volume has no source, and one missing
        // from a container made again by hand would otherwise go unseen.
        if let Some(target) = &m.target {
            values.insert(format!("/mounts/{i}/target"), target.clone());
        }
    }
    super::options::read_back(config, host, spec, &mut values);
    values
}

pub(super) fn state_of(state: Option<&ContainerState>) -> State {
    let Some(s) = state else {
        return State::Dead;
    };
    let health = || match s.health.as_ref().and_then(|h| h.status) {
        Some(HealthStatusEnum::STARTING) => Health::Starting,
        Some(HealthStatusEnum::HEALTHY) => Health::Healthy,
        Some(HealthStatusEnum::UNHEALTHY) => Health::Unhealthy,
        _ => Health::None,
    };
    let exited = || State::Exited {
        code: s.exit_code.unwrap_or(0),
    };
    match s.status {
        Some(ContainerStateStatusEnum::CREATED) => State::Created,
        Some(ContainerStateStatusEnum::RUNNING) | Some(ContainerStateStatusEnum::STOPPING) => {
            State::Running { health: health() }
        }
        Some(ContainerStateStatusEnum::PAUSED) => State::Paused,
        Some(ContainerStateStatusEnum::RESTARTING) => State::Restarting,
        Some(ContainerStateStatusEnum::EXITED) => exited(),
        Some(ContainerStateStatusEnum::DEAD) | Some(ContainerStateStatusEnum::REMOVING) => {
            State::Dead
        }
        Some(ContainerStateStatusEnum::EMPTY) | None => {
            if s.paused == Some(true) {
                State::Paused
            } else if s.restarting == Some(true) {
                State::Restarting
            } else if s.running == Some(true) {
                State::Running { health: health() }
            } else if s.dead == Some(true) {
                State::Dead
            } else {
                exited()
            }
        }
    }
}

/// The container's name without Docker's leading `/`.
pub(super) fn display_name(c: &ContainerInspectResponse, id: &str) -> String {
    c.name
        .as_deref()
        .map(|n| n.trim_start_matches('/').to_string())
        .filter(|n| !n.is_empty())
        .unwrap_or_else(|| short(id).to_string())
}

/// The first 12 characters of an id, as Docker shows them.
pub(super) fn short(id: &str) -> &str {
    id.get(..12).unwrap_or(id)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn restart_policies_read_back_as_the_spec_spells_them() {
        for restart in [
            "no",
            "always",
            "unless-stopped",
            "on-failure",
            "on-failure:3",
        ] {
            assert_eq!(restart_name(Some(&restart_policy(restart))), restart);
        }
        assert_eq!(restart_name(None), "no");
    }

    #[test]
    fn stop_timeouts_round_up_to_whole_seconds() {
        assert_eq!(seconds_up(Millis(0)), 0);
        assert_eq!(seconds_up(Millis(1)), 1);
        assert_eq!(seconds_up(Millis(10_000)), 10);
        assert_eq!(seconds_up(Millis(-5)), 0);
    }

    #[test]
    fn a_state_without_a_status_is_read_from_its_flags() {
        let state = |s: ContainerState| state_of(Some(&s));
        assert_eq!(state_of(None), State::Dead);
        assert_eq!(
            state(ContainerState {
                running: Some(true),
                ..Default::default()
            }),
            State::Running {
                health: Health::None
            }
        );
        assert_eq!(
            state(ContainerState {
                exit_code: Some(3),
                ..Default::default()
            }),
            State::Exited { code: 3 }
        );
    }
}
