//! Swarm services between the deployment's shape and Docker's, both ways:
//! the spec a service is created and updated with, and the spec it has now
//! read back in the deployment's shape (so the planner compares like with
//! like). Pure: nothing here talks to an engine.

use std::collections::{BTreeMap, HashMap};

use bollard::models::{
    EndpointPortConfig, EndpointSpec, HealthConfig, Limit, Mount, MountTmpfsOptions, MountType,
    NetworkAttachmentConfig, ResourceObject, Service, ServiceSpec as DockerSpec, ServiceSpecMode,
    ServiceSpecModeReplicated, ServiceSpecRollbackConfig, ServiceSpecUpdateConfig,
    ServiceUpdateStatus, TaskSpec, TaskSpecContainerSpec, TaskSpecPlacement,
    TaskSpecPlacementPreferences, TaskSpecPlacementSpread, TaskSpecResources,
    TaskSpecRestartPolicy,
};
use serde::Serialize;
use serde::de::DeserializeOwned;

use super::LABEL_INTERNAL;
use super::convert::{docker_labels, parse_spec};
use crate::deployment::{
    HealthSpec, Kind, Millis, MountSpec, NetworkAttachment, PlacementSpec, PortSpec, Reservations,
    Resource, RunSpec, ServiceMode, ServiceRestart, ServiceSpec, UpdateSpec,
};
use crate::engine::swarm::{ServiceLive, UpdateState, UpdateStatus};
use crate::engine::{Actual, LABEL_ADDRESS, LABEL_HASH, LiveObject, State};

// ---- to Docker ----

/// The spec a service is created or updated with. `networks` maps a
/// network's name to what Swarm is given (its name: Swarm stores the id).
pub(super) fn service_spec(stack: &str, resource: &Resource, s: &ServiceSpec) -> DockerSpec {
    let run = &s.run;
    let container = TaskSpecContainerSpec {
        image: Some(run.image.clone()),
        labels: (!s.container_labels.is_empty())
            .then(|| s.container_labels.clone().into_iter().collect()),
        command: run.entrypoint.clone(),
        args: run.command.clone(),
        hostname: run.hostname.clone(),
        env: (!run.env.is_empty())
            .then(|| run.env.iter().map(|(k, v)| format!("{k}={v}")).collect()),
        dir: run.workdir.clone(),
        user: run.user.clone(),
        read_only: run.read_only.then_some(true),
        mounts: (!run.mounts.is_empty()).then(|| run.mounts.iter().map(mount).collect()),
        stop_signal: s.stop_signal.clone(),
        stop_grace_period: Some(nanos(run.stop_timeout)),
        health_check: run.health.as_ref().map(health),
        capability_add: (!run.cap_add.is_empty()).then(|| run.cap_add.clone()),
        capability_drop: (!run.cap_drop.is_empty()).then(|| run.cap_drop.clone()),
        ..Default::default()
    };
    let limits = (run.memory.is_some() || run.cpus.is_some()).then(|| Limit {
        memory_bytes: run.memory,
        nano_cpus: run.cpus.map(nano_cpus),
        ..Default::default()
    });
    let reservations = s.reservations.as_ref().map(|r| ResourceObject {
        memory_bytes: r.memory,
        nano_cpus: r.cpus.map(nano_cpus),
        ..Default::default()
    });
    let placement = &s.placement;
    let task = TaskSpec {
        container_spec: Some(container),
        resources: (limits.is_some() || reservations.is_some()).then_some(TaskSpecResources {
            limits,
            reservations,
            ..Default::default()
        }),
        restart_policy: s.restart_policy.as_ref().map(|r| TaskSpecRestartPolicy {
            condition: enum_of(&r.condition),
            delay: Some(nanos(r.delay)),
            max_attempts: Some(r.max_attempts as i64),
            window: Some(nanos(r.window)),
        }),
        placement: Some(TaskSpecPlacement {
            constraints: (!placement.constraints.is_empty()).then(|| placement.constraints.clone()),
            preferences: (!placement.preferences.is_empty()).then(|| {
                placement
                    .preferences
                    .iter()
                    .map(|p| TaskSpecPlacementPreferences {
                        spread: Some(TaskSpecPlacementSpread {
                            spread_descriptor: Some(p.clone()),
                        }),
                    })
                    .collect()
            }),
            max_replicas: placement.max_replicas.map(|m| m as i64),
            ..Default::default()
        }),
        networks: (!run.networks.is_empty()).then(|| {
            run.networks
                .iter()
                .map(|n| NetworkAttachmentConfig {
                    target: Some(n.network.clone()),
                    aliases: (!n.aliases.is_empty()).then(|| n.aliases.clone()),
                    ..Default::default()
                })
                .collect()
        }),
        ..Default::default()
    };
    let mode = match s.mode {
        ServiceMode::Replicated => ServiceSpecMode {
            replicated: Some(ServiceSpecModeReplicated {
                replicas: Some(s.replicas as i64),
            }),
            ..Default::default()
        },
        ServiceMode::Global => ServiceSpecMode {
            global: Some(HashMap::new()),
            ..Default::default()
        },
    };
    let u = &s.update;
    let update_config = ServiceSpecUpdateConfig {
        parallelism: Some(u.parallelism as i64),
        delay: Some(nanos(u.delay)),
        failure_action: enum_of(&u.failure_action),
        monitor: u.monitor.map(nanos),
        order: enum_of(&u.order),
        ..Default::default()
    };
    let rollback_config = s.rollback.as_ref().map(|r| ServiceSpecRollbackConfig {
        parallelism: Some(r.parallelism as i64),
        delay: Some(nanos(r.delay)),
        failure_action: enum_of(&r.failure_action),
        monitor: r.monitor.map(nanos),
        order: enum_of(&r.order),
        ..Default::default()
    });
    let ports: Vec<EndpointPortConfig> = run
        .ports
        .iter()
        .map(|p| EndpointPortConfig {
            protocol: enum_of(&p.protocol),
            target_port: Some(i64::from(p.container)),
            published_port: p.host.map(i64::from),
            publish_mode: enum_of(p.mode.as_deref().unwrap_or("ingress")),
            ..Default::default()
        })
        .collect();
    DockerSpec {
        name: Some(resource.name.clone()),
        labels: Some(docker_labels(stack, resource)),
        task_template: Some(task),
        mode: Some(mode),
        update_config: Some(update_config),
        rollback_config,
        endpoint_spec: Some(EndpointSpec {
            ports: (!ports.is_empty()).then_some(ports),
            ..Default::default()
        }),
        ..Default::default()
    }
}

fn mount(m: &MountSpec) -> Mount {
    Mount {
        target: Some(m.target.clone()),
        source: m.source.clone(),
        typ: Some(match m.kind.as_str() {
            "bind" => MountType::BIND,
            "tmpfs" => MountType::TMPFS,
            _ => MountType::VOLUME,
        }),
        read_only: m.read_only.then_some(true),
        tmpfs_options: m.size.map(|size| MountTmpfsOptions {
            size_bytes: Some(size),
            ..Default::default()
        }),
        ..Default::default()
    }
}

fn health(h: &HealthSpec) -> HealthConfig {
    HealthConfig {
        test: Some(h.test.clone()),
        interval: Some(nanos(h.interval)),
        timeout: Some(nanos(h.timeout)),
        retries: Some(i64::from(h.retries)),
        start_period: Some(nanos(h.start_period)),
        ..Default::default()
    }
}

fn nanos(d: Millis) -> i64 {
    d.0.saturating_mul(1_000_000)
}

fn millis(nanos: Option<i64>) -> Millis {
    Millis(nanos.unwrap_or(0) / 1_000_000)
}

fn nano_cpus(cpus: f64) -> i64 {
    (cpus * 1e9).round() as i64
}

fn cpus(nano: i64) -> f64 {
    nano as f64 / 1e9
}

/// One of Docker's string enums from its text (they are serialized as such).
fn enum_of<T: DeserializeOwned>(text: &str) -> Option<T> {
    serde_json::from_value(serde_json::Value::String(text.to_string())).ok()
}

/// The text of one of Docker's string enums.
fn text_of<T: Serialize>(value: &T) -> String {
    match serde_json::to_value(value) {
        Ok(serde_json::Value::String(s)) => s,
        _ => String::new(),
    }
}

// ---- from Docker ----

/// A service of the stack as listed (with its status); `None` without an
/// address label. `network_names` maps network ids to names.
pub(super) fn live_service(
    service: Service,
    network_names: &BTreeMap<String, String>,
) -> Option<LiveObject> {
    let spec = service.spec.clone().unwrap_or_default();
    let labels = spec.labels.clone().unwrap_or_default();
    if labels.contains_key(LABEL_INTERNAL) {
        return None;
    }
    let address = labels.get(LABEL_ADDRESS)?.clone();
    let label_spec = parse_spec(&labels);
    let update = update_status(service.update_status.as_ref());
    let status = service.service_status.clone().unwrap_or_default();
    let read_back = read_back(&spec, network_names);
    let live = ServiceLive {
        version: service.version.and_then(|v| v.index).unwrap_or(0),
        spec: serde_json::to_value(&read_back).unwrap_or(serde_json::Value::Null),
        update,
        unread: vec!["health".into()],
        tasks: (
            status.running_tasks.unwrap_or(0),
            status.desired_tasks.unwrap_or(0),
        ),
    };
    Some(LiveObject {
        kind: Kind::Service,
        id: service.id.unwrap_or_default(),
        name: spec.name.clone().unwrap_or_default(),
        address,
        hash: labels.get(LABEL_HASH).cloned().unwrap_or_default(),
        spec: label_spec,
        state: State::Present,
        actual: Actual {
            service: Some(Box::new(live)),
            ..Actual::default()
        },
        moved_from: None,
    })
}

/// Swarm's status of a service's last update or rollback.
pub(super) fn update_status(status: Option<&ServiceUpdateStatus>) -> Option<UpdateStatus> {
    let u = status?;
    let state = UpdateState::parse(&text_of(u.state.as_ref()?))?;
    let at = |d: &Option<bollard::models::BollardDate>| {
        d.as_ref().map(|d| format!("{d:?}")).unwrap_or_default()
    };
    Some(UpdateStatus {
        state,
        message: u.message.clone().unwrap_or_default(),
        since: format!("{} {}", at(&u.started_at), at(&u.completed_at)),
    })
}

/// The spec a service has now, in the deployment's shape: what Swarm was
/// given (by stackc or by hand), with stackc's labels left out.
pub(super) fn read_back(
    spec: &DockerSpec,
    network_names: &BTreeMap<String, String>,
) -> ServiceSpec {
    let task = spec.task_template.clone().unwrap_or_default();
    let c = task.container_spec.clone().unwrap_or_default();
    let env: BTreeMap<String, String> = c
        .env
        .iter()
        .flatten()
        .map(|e| match e.split_once('=') {
            Some((k, v)) => (k.to_string(), v.to_string()),
            None => (e.clone(), String::new()),
        })
        .collect();
    let resources = task.resources.clone().unwrap_or_default();
    let limits = resources.limits.unwrap_or_default();
    let networks = task
        .networks
        .iter()
        .flatten()
        .chain(spec.networks.iter().flatten())
        .map(|n| {
            let target = n.target.clone().unwrap_or_default();
            let mut aliases = n.aliases.clone().unwrap_or_default();
            aliases.sort();
            NetworkAttachment {
                network: network_names.get(&target).cloned().unwrap_or(target),
                aliases,
                ipv4_address: None,
            }
        })
        .collect::<Vec<_>>();
    let mut networks = networks;
    networks.sort_by(|a, b| a.network.cmp(&b.network));
    let mut ports: Vec<PortSpec> = spec
        .endpoint_spec
        .iter()
        .flat_map(|e| e.ports.iter().flatten())
        .map(|p| PortSpec {
            container: p.target_port.unwrap_or(0) as u16,
            protocol: p
                .protocol
                .as_ref()
                .map(text_of)
                .filter(|t| !t.is_empty())
                .unwrap_or_else(|| "tcp".into()),
            host: p.published_port.filter(|p| *p != 0).map(|p| p as u16),
            ip: None,
            mode: p.publish_mode.as_ref().map(text_of).filter(|m| m == "host"),
        })
        .collect();
    ports.sort();
    let run = RunSpec {
        image: c.image.clone().unwrap_or_default(),
        command: c.args.clone(),
        entrypoint: c.command.clone(),
        env,
        ports,
        mounts: c.mounts.iter().flatten().map(mount_back).collect(),
        networks,
        health: c.health_check.as_ref().map(|h| HealthSpec {
            test: h.test.clone().unwrap_or_default(),
            interval: millis(h.interval),
            timeout: millis(h.timeout),
            retries: h.retries.unwrap_or(0) as u32,
            start_period: millis(h.start_period),
        }),
        user: c.user.clone().filter(|u| !u.is_empty()),
        workdir: c.dir.clone().filter(|d| !d.is_empty()),
        hostname: c.hostname.clone().filter(|h| !h.is_empty()),
        labels: spec
            .labels
            .iter()
            .flatten()
            .filter(|(k, _)| !k.starts_with("io.stackc."))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect(),
        memory: limits.memory_bytes.filter(|m| *m != 0),
        cpus: limits.nano_cpus.filter(|n| *n != 0).map(cpus),
        read_only: c.read_only.unwrap_or(false),
        cap_add: c.capability_add.clone().unwrap_or_default(),
        cap_drop: c.capability_drop.clone().unwrap_or_default(),
        stop_timeout: millis(c.stop_grace_period),
    };
    let mode = spec.mode.clone().unwrap_or_default();
    let (mode, replicas) = match (&mode.global, &mode.replicated) {
        (Some(_), _) => (ServiceMode::Global, 1),
        (None, r) => (
            ServiceMode::Replicated,
            r.as_ref().and_then(|r| r.replicas).unwrap_or(1).max(0) as u64,
        ),
    };
    let update = spec.update_config.as_ref().map_or_else(
        || rollout(None, None, None, None, None),
        |u| {
            rollout(
                u.parallelism,
                u.delay,
                u.failure_action.as_ref().map(text_of),
                u.order.as_ref().map(text_of),
                u.monitor,
            )
        },
    );
    let rollback = spec.rollback_config.as_ref().map(|r| {
        rollout(
            r.parallelism,
            r.delay,
            r.failure_action.as_ref().map(text_of),
            r.order.as_ref().map(text_of),
            r.monitor,
        )
    });
    let p = task.placement.clone().unwrap_or_default();
    let placement = PlacementSpec {
        constraints: p.constraints.clone().unwrap_or_default(),
        preferences: p
            .preferences
            .iter()
            .flatten()
            .filter_map(|p| p.spread.as_ref()?.spread_descriptor.clone())
            .collect(),
        max_replicas: p.max_replicas.filter(|m| *m != 0).map(|m| m as u64),
    };
    let reservations = resources.reservations.and_then(|r| {
        let memory = r.memory_bytes.filter(|m| *m != 0);
        let cpus = r.nano_cpus.filter(|n| *n != 0).map(cpus);
        (memory.is_some() || cpus.is_some()).then_some(Reservations { memory, cpus })
    });
    let restart_policy = task.restart_policy.as_ref().map(|r| ServiceRestart {
        condition: r
            .condition
            .as_ref()
            .map(text_of)
            .filter(|c| !c.is_empty())
            .unwrap_or_else(|| "any".into()),
        delay: millis(r.delay),
        max_attempts: r.max_attempts.unwrap_or(0).max(0) as u64,
        window: millis(r.window),
    });
    ServiceSpec {
        run,
        replicas,
        update,
        placement,
        mode,
        rollback,
        reservations,
        restart_policy,
        stop_signal: c.stop_signal.clone().filter(|s| !s.is_empty()),
        container_labels: c.labels.clone().unwrap_or_default().into_iter().collect(),
    }
}

fn rollout(
    parallelism: Option<i64>,
    delay: Option<i64>,
    failure_action: Option<String>,
    order: Option<String>,
    monitor: Option<i64>,
) -> UpdateSpec {
    UpdateSpec {
        parallelism: parallelism.unwrap_or(1).max(0) as u64,
        delay: millis(delay),
        order: order
            .filter(|o| !o.is_empty())
            .unwrap_or_else(|| "stop-first".into()),
        failure_action: failure_action
            .filter(|a| !a.is_empty())
            .unwrap_or_else(|| "pause".into()),
        monitor: monitor.filter(|m| *m != 0).map(|m| millis(Some(m))),
    }
}

fn mount_back(m: &Mount) -> MountSpec {
    MountSpec {
        kind: m
            .typ
            .as_ref()
            .map(text_of)
            .unwrap_or_else(|| "volume".into()),
        source: m.source.clone().filter(|s| !s.is_empty()),
        target: m.target.clone().unwrap_or_default(),
        read_only: m.read_only.unwrap_or(false),
        size: m
            .tmpfs_options
            .as_ref()
            .and_then(|t| t.size_bytes)
            .filter(|s| *s != 0),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn service() -> ServiceSpec {
        let mut run = RunSpec {
            image: "busybox:1.36".into(),
            command: Some(vec!["sleep".into(), "60".into()]),
            entrypoint: None,
            env: BTreeMap::from([("A".into(), "1".into()), ("B".into(), "x=y".into())]),
            ports: vec![PortSpec {
                container: 80,
                protocol: "tcp".into(),
                host: Some(8080),
                ip: None,
                mode: Some("host".into()),
            }],
            mounts: vec![MountSpec {
                kind: "tmpfs".into(),
                source: None,
                target: "/tmp".into(),
                read_only: false,
                size: Some(1 << 20),
            }],
            networks: vec![NetworkAttachment {
                network: "shop-mesh".into(),
                aliases: vec!["api".into()],
                ipv4_address: None,
            }],
            health: None,
            user: Some("nobody".into()),
            workdir: None,
            hostname: None,
            labels: BTreeMap::from([("role".into(), "api".into())]),
            memory: Some(64 << 20),
            cpus: Some(0.5),
            read_only: true,
            cap_add: vec![],
            cap_drop: vec!["MKNOD".into()],
            stop_timeout: Millis(2000),
        };
        run.health = Some(HealthSpec {
            test: vec!["CMD".into(), "true".into()],
            interval: Millis(1000),
            timeout: Millis(1000),
            retries: 2,
            start_period: Millis(0),
        });
        ServiceSpec {
            run,
            replicas: 3,
            update: UpdateSpec {
                parallelism: 2,
                delay: Millis(100),
                order: "start-first".into(),
                failure_action: "rollback".into(),
                monitor: Some(Millis(1500)),
            },
            placement: PlacementSpec {
                constraints: vec!["node.role == manager".into()],
                preferences: vec!["node.labels.zone".into()],
                max_replicas: Some(2),
            },
            mode: ServiceMode::Replicated,
            rollback: None,
            reservations: Some(Reservations {
                memory: Some(32 << 20),
                cpus: None,
            }),
            restart_policy: Some(ServiceRestart {
                condition: "on-failure".into(),
                delay: Millis(500),
                max_attempts: 3,
                window: Millis(0),
            }),
            stop_signal: Some("SIGQUIT".into()),
            container_labels: BTreeMap::from([("c".into(), "d".into())]),
        }
    }

    #[test]
    fn a_service_reads_back_as_it_was_given() {
        let s = service();
        let mut spec = crate::deployment::Spec::Service(Box::new(s.clone()));
        let r = Resource {
            address: "service.api".into(),
            kind: Kind::Service,
            name: "shop-api".into(),
            hash: Resource::compute_hash(Kind::Service, "shop-api", &mut spec, &[], &[]),
            spec,
            depends_on: Vec::new(),
            sensitive_paths: Vec::new(),
        };
        let docker = service_spec("shop", &r, &s);
        // Swarm stores the network's id; the id maps back to the name.
        let mut stored = docker.clone();
        if let Some(n) = stored
            .task_template
            .as_mut()
            .and_then(|t| t.networks.as_mut())
        {
            n[0].target = Some("q0up5v6o".into());
        }
        let names = BTreeMap::from([("q0up5v6o".to_string(), "shop-mesh".to_string())]);
        assert_eq!(read_back(&stored, &names), s);
        let labels = docker.labels.unwrap_or_default();
        assert_eq!(labels.get("role").map(String::as_str), Some("api"));
        assert_eq!(
            labels.get(LABEL_ADDRESS).map(String::as_str),
            Some("service.api")
        );
    }
}
