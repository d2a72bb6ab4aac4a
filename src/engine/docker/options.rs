//! Compose's container settings (`deployment/options.rs`) to Docker's create
//! request, and back from what `docker inspect` shows, as the values the
//! planner compares ([`crate::deployment::ContainerOptions::read_back`] is
//! the same for the in-memory engine). Pure.

use std::collections::{BTreeMap, BTreeSet};

use bollard::models::{
    ContainerConfig, ContainerCreateBody, DeviceMapping, HostConfig, HostConfigLogConfig,
    ResourcesUlimits,
};
use serde_json::Value as Json;

use crate::deployment::{ADDED_SECURITY_OPT, ContainerOptions, pointer_segment};

/// Sets the options on a create request.
pub(super) fn set_options(body: &mut ContainerCreateBody, o: &ContainerOptions) {
    let some = |v: &Vec<String>| (!v.is_empty()).then(|| v.clone());
    body.stop_signal = o.stop_signal.clone();
    if o.tty {
        body.tty = Some(true);
    }
    if o.stdin_open {
        body.open_stdin = Some(true);
    }
    let host = body.host_config.get_or_insert_with(HostConfig::default);
    host.extra_hosts = some(&o.extra_hosts);
    host.dns = some(&o.dns);
    host.dns_search = some(&o.dns_search);
    host.security_opt = some(&o.security_opt);
    host.group_add = some(&o.group_add);
    host.init = o.init.then_some(true);
    host.shm_size = o.shm_size;
    if !o.ulimits.is_empty() {
        host.ulimits = Some(
            o.ulimits
                .iter()
                .map(|(name, u)| ResourcesUlimits {
                    name: Some(name.clone()),
                    soft: Some(u.soft),
                    hard: Some(u.hard),
                })
                .collect(),
        );
    }
    if !o.sysctls.is_empty() {
        host.sysctls = Some(o.sysctls.clone().into_iter().collect());
    }
    if !o.devices.is_empty() {
        host.devices = Some(
            o.devices
                .iter()
                .map(|d| DeviceMapping {
                    path_on_host: Some(d.host.clone()),
                    path_in_container: Some(d.container.clone()),
                    cgroup_permissions: Some(d.permissions.clone()),
                })
                .collect(),
        );
    }
    if let Some(l) = &o.logging {
        host.log_config = Some(HostConfigLogConfig {
            // Empty: the engine's default driver.
            typ: Some(l.driver.clone().unwrap_or_default()),
            config: Some(l.options.clone().into_iter().collect()),
        });
    }
    host.pid_mode = o.pid.clone();
}

/// The options' values as a live container reads them back, by pointer.
/// What the image or the daemon fills in (stop signal, shm size, log driver
/// and the daemon's log options and ulimits, the security option it adds
/// itself) is read only where the label's spec sets it.
pub(super) fn read_back(
    config: &ContainerConfig,
    host: &HostConfig,
    spec: Option<&Json>,
    values: &mut BTreeMap<String, String>,
) {
    let field = |name: &str| spec.and_then(|s| s.get(name));
    let sets = |name: &str| spec.is_none_or(|s| s.get(name).is_some_and(|v| !v.is_null()));
    // Names under an object of the spec; `None` (every name) without a label.
    let names = |value: Option<&Json>| -> Option<BTreeSet<String>> {
        spec?;
        Some(
            value
                .and_then(Json::as_object)
                .map(|o| o.keys().cloned().collect())
                .unwrap_or_default(),
        )
    };
    let mut list = |name: &str, items: &[String]| {
        for (i, x) in items.iter().enumerate() {
            values.insert(format!("/{name}/{i}"), x.clone());
        }
    };
    list(
        "extra_hosts",
        host.extra_hosts.as_deref().unwrap_or_default(),
    );
    list("dns", host.dns.as_deref().unwrap_or_default());
    list("dns_search", host.dns_search.as_deref().unwrap_or_default());
    list("group_add", host.group_add.as_deref().unwrap_or_default());
    let asked_added = field("security_opt")
        .and_then(Json::as_array)
        .is_some_and(|o| o.iter().any(|x| x.as_str() == Some(ADDED_SECURITY_OPT)));
    let mut security: Vec<String> = host
        .security_opt
        .iter()
        .flatten()
        .filter(|o| asked_added || *o != ADDED_SECURITY_OPT)
        .cloned()
        .collect();
    security.sort();
    security.dedup();
    list("security_opt", &security);
    for (flag, set) in [
        ("init", host.init),
        ("tty", config.tty),
        ("stdin_open", config.open_stdin),
    ] {
        if set == Some(true) {
            values.insert(format!("/{flag}"), "true".into());
        }
    }
    if sets("stop_signal")
        && let Some(s) = config.stop_signal.as_ref().filter(|s| !s.is_empty())
    {
        values.insert("/stop_signal".into(), s.clone());
    }
    if sets("shm_size")
        && let Some(s) = host.shm_size.filter(|s| *s > 0)
    {
        values.insert("/shm_size".into(), s.to_string());
    }
    let ulimits = names(field("ulimits"));
    for u in host.ulimits.iter().flatten() {
        let Some(name) = &u.name else { continue };
        if ulimits.as_ref().is_some_and(|n| !n.contains(name)) {
            continue;
        }
        let at = format!("/ulimits/{}", pointer_segment(name));
        values.insert(format!("{at}/soft"), u.soft.unwrap_or(0).to_string());
        values.insert(format!("{at}/hard"), u.hard.unwrap_or(0).to_string());
    }
    for (k, v) in host.sysctls.iter().flatten() {
        values.insert(format!("/sysctls/{}", pointer_segment(k)), v.clone());
    }
    for (i, d) in host.devices.iter().flatten().enumerate() {
        let at = format!("/devices/{i}");
        let text = |s: &Option<String>| s.clone().unwrap_or_default();
        values.insert(format!("{at}/host"), text(&d.path_on_host));
        values.insert(format!("{at}/container"), text(&d.path_in_container));
        values.insert(format!("{at}/permissions"), text(&d.cgroup_permissions));
    }
    if let Some(log) = &host.log_config {
        let logging = field("logging");
        if spec.is_none() || logging.is_some_and(|l| l.get("driver").is_some()) {
            values.extend(log.typ.clone().map(|t| ("/logging/driver".into(), t)));
        }
        let options = names(logging.and_then(|l| l.get("options")));
        for (k, v) in log.config.iter().flatten() {
            if options.as_ref().is_none_or(|o| o.contains(k)) {
                values.insert(
                    format!("/logging/options/{}", pointer_segment(k)),
                    v.clone(),
                );
            }
        }
    }
    // The engine keeps the id of a container it was given by name: another
    // container's namespace counts as the one asked for (a replaced one
    // replaces this container too, see `plan::diff::cascade`).
    if let Some(pid) = host.pid_mode.as_ref().filter(|p| !p.is_empty()) {
        let asked = field("pid").and_then(Json::as_str);
        let pid = match asked {
            Some(asked) if asked.starts_with("container:") && pid.starts_with("container:") => {
                asked
            }
            _ => pid,
        };
        values.insert("/pid".into(), pid.to_string());
    }
}
