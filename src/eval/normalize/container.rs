//! Containers and services: what runs, and how it is published, mounted,
//! attached, checked and restarted.

use std::collections::BTreeMap;
use std::rc::Rc;

use super::short_forms::{parse_port, valid_reference};
use super::{Fields, Normalizer, get, items};
use crate::deployment::Kind;
use crate::deployment::*;
use crate::diagnostic::ErrorCode;
use crate::eval::value::{Map, Value};
use crate::types::schema::{PROTOCOLS, RESTART_POLICIES};

impl Normalizer<'_, '_> {
    fn image_ref(&mut self, fields: &Fields<'_>) -> String {
        match get(fields, "image") {
            Some(Value::Ref(r)) => {
                self.image = Some(r.address.clone());
                r.yields.to_string()
            }
            Some(_) => {
                let Some(text) = self.reference_text(fields, "image") else {
                    return String::new();
                };
                if !valid_reference(&text) {
                    self.error(
                        "image",
                        format!("`{text}` is not a valid image reference"),
                        Some("like `nginx:1.27`, or a reference to an `image` resource"),
                    );
                }
                text
            }
            None => String::new(),
        }
    }

    fn env(&mut self, fields: &Fields<'_>) -> BTreeMap<String, String> {
        match get(fields, "env") {
            Some(Value::List(xs)) => {
                let mut out = BTreeMap::new();
                for x in xs.iter() {
                    let Some((text, secret)) = x.to_text() else {
                        continue;
                    };
                    match text.split_once('=') {
                        Some((k, v)) if !k.is_empty() => {
                            if secret {
                                self.sensitive.push(format!("/env/{}", pointer_segment(k)));
                            }
                            if out.insert(k.to_string(), v.to_string()).is_some() {
                                self.error("env", format!("`{k}` is set twice in `env`"), None);
                            }
                        }
                        _ => self.error(
                            "env",
                            format!(
                                "`{}` is not `NAME=value`",
                                if secret { "(secret)" } else { &text }
                            ),
                            Some("stackc never reads its own environment: give every value"),
                        ),
                    }
                }
                out
            }
            v => self.string_map(v, "env"),
        }
    }

    fn ports(&mut self, fields: &Fields<'_>) -> Vec<PortSpec> {
        let mut out = Vec::new();
        for p in items(get(fields, "ports")) {
            match p {
                Value::Int(port) => out.push(PortSpec { container: *port as u16, protocol: "tcp".into(), host: None, ip: None }),
                Value::Str(s) => match parse_port(&s.text) {
                    Ok(mut ports) => out.append(&mut ports),
                    Err(e) => self.error("ports", e, Some("forms: \"80\", \"8080:80\", \"127.0.0.1:8080:80/udp\", \"8000-8001:80-81\"")),
                },
                Value::Map(m) => {
                    let int = |k: &str| match m.get(k) {
                        Some(Value::Int(i)) => Some(*i as u16),
                        _ => None,
                    };
                    let text = |k: &str| m.get(k).and_then(|v| v.to_text()).map(|(t, _)| t.to_string());
                    let ip = text("ip");
                    if let Some(ip) = &ip
                        && ip.parse::<std::net::IpAddr>().is_err() {
                            self.error("ports", format!("`{ip}` is not an IP address"), None);
                        }
                    out.push(PortSpec {
                        container: int("container").unwrap_or(0),
                        protocol: text("protocol").unwrap_or_else(|| "tcp".into()),
                        host: int("host"),
                        ip,
                    });
                }
                _ => {}
            }
        }
        out.sort();
        out.dedup();
        for pair in out.windows(2) {
            if pair[0].host.is_some()
                && pair[0].host == pair[1].host
                && pair[0].protocol == pair[1].protocol
                && pair[0].ip == pair[1].ip
            {
                let host = pair[0].host.unwrap_or(0);
                self.error(
                    "ports",
                    format!("host port {host}/{} is published twice", pair[0].protocol),
                    None,
                );
            }
        }
        out
    }

    fn mounts(&mut self, fields: &Fields<'_>) -> Vec<MountSpec> {
        let mut out: Vec<MountSpec> = Vec::new();
        for (i, m) in items(get(fields, "mounts")).iter().enumerate() {
            let mount = match m {
                Value::Str(s) => self.mount_short(&s.text, s.secret, i),
                Value::Map(m) => self.mount_record(m, i),
                _ => None,
            };
            let Some(mount) = mount else { continue };
            if !mount.target.starts_with('/') {
                self.error(
                    "mounts",
                    format!("mount target `{}` is not an absolute path", mount.target),
                    None,
                );
            }
            if out.iter().any(|o| o.target == mount.target) {
                self.error(
                    "mounts",
                    format!("two mounts target `{}`", mount.target),
                    None,
                );
            }
            out.push(mount);
        }
        out.sort_by(|a, b| a.target.cmp(&b.target));
        out
    }

    /// `"./dir:/target:ro"` (bind), `"/abs:/target"` (bind), `"data:/target"` (volume).
    fn mount_short(&mut self, text: &str, secret: bool, index: usize) -> Option<MountSpec> {
        let parts: Vec<&str> = text.split(':').collect();
        let (source, target, mode) = match parts.as_slice() {
            [s, t] => (*s, *t, None),
            [s, t, m] => (*s, *t, Some(*m)),
            _ => {
                self.error(
                    "mounts",
                    format!("`{text}` is not `source:target[:ro]`"),
                    None,
                );
                return None;
            }
        };
        let read_only = match mode {
            None | Some("rw") => false,
            Some("ro") => true,
            Some(other) => {
                self.error(
                    "mounts",
                    format!("unknown mount mode `{other}`"),
                    Some("use `ro` or `rw`"),
                );
                false
            }
        };
        let bind = source.starts_with('/') || source.starts_with('.');
        let (kind, source) = if bind {
            ("bind", self.path(source, "mounts")?)
        } else if source.starts_with('~') {
            self.error(
                "mounts",
                "`~` is not expanded",
                Some("write the path relative to the .stack file, or absolute"),
            );
            return None;
        } else {
            let name = Value::string(source, secret);
            ("volume", self.object_name(&name, Kind::Volume, "mounts")?)
        };
        if bind && secret {
            self.sensitive.push(format!("/mounts/{index}/source"));
        }
        Some(MountSpec {
            kind: kind.into(),
            source: Some(source),
            target: target.to_string(),
            read_only,
            size: None,
        })
    }

    fn mount_record(&mut self, m: &Map, index: usize) -> Option<MountSpec> {
        let set = |k: &str| m.get(k).filter(|v| !matches!(v, Value::Null));
        let target = self.text(set("target")?, || format!("/mounts/{index}/target"));
        let read_only = matches!(set("read_only"), Some(Value::Bool(true)));
        let sources: Vec<&str> = ["volume", "bind", "tmpfs"]
            .into_iter()
            .filter(|k| set(k).is_some())
            .collect();
        if sources.len() != 1 {
            self.error(
                "mounts",
                format!("mount of `{target}` needs exactly one of `volume`, `bind` or `tmpfs`"),
                None,
            );
            return None;
        }
        let (kind, source, size) = match sources[0] {
            "volume" => (
                "volume",
                Some(self.object_name(set("volume")?, Kind::Volume, "mounts")?),
                None,
            ),
            "bind" => {
                let (p, secret) = set("bind")?.to_text()?;
                if secret {
                    self.sensitive.push(format!("/mounts/{index}/source"));
                }
                ("bind", Some(self.path(&p, "mounts")?), None)
            }
            _ => match set("tmpfs") {
                Some(Value::Size(bytes)) => ("tmpfs", None, Some(*bytes)),
                _ => return None,
            },
        };
        Some(MountSpec {
            kind: kind.into(),
            source,
            target,
            read_only,
            size,
        })
    }

    fn networks(&mut self, fields: &Fields<'_>) -> Vec<NetworkAttachment> {
        let mut out: Vec<NetworkAttachment> = Vec::new();
        for n in items(get(fields, "networks")) {
            let (network, aliases) = match n {
                Value::Map(m) => {
                    let Some(network) = m
                        .get("network")
                        .and_then(|v| self.object_name(v, Kind::Network, "networks"))
                    else {
                        continue;
                    };
                    let mut aliases: Vec<String> = Vec::new();
                    for a in items(m.get("aliases")) {
                        match a {
                            Value::Str(s) if s.secret => self.error_code(
                                ErrorCode::SecretExposed,
                                "networks",
                                "a network alias cannot be built from a secret",
                                Some("aliases are host names other containers see"),
                            ),
                            a => aliases.extend(a.to_text().map(|(t, _)| t.to_string())),
                        }
                    }
                    aliases.sort();
                    aliases.dedup();
                    (network, aliases)
                }
                n => match self.object_name(n, Kind::Network, "networks") {
                    Some(network) => (network, Vec::new()),
                    None => continue,
                },
            };
            if out.iter().any(|o| o.network == network) {
                self.error(
                    "networks",
                    format!("network `{network}` is listed twice"),
                    None,
                );
                continue;
            }
            out.push(NetworkAttachment { network, aliases });
        }
        out.sort_by(|a, b| a.network.cmp(&b.network));
        out
    }

    fn health(&mut self, fields: &Fields<'_>) -> Option<HealthSpec> {
        let Value::Map(h) = get(fields, "health")? else {
            return None;
        };
        let test = match h.get("cmd") {
            Some(Value::List(words)) => {
                // Docker's own form (`["CMD-SHELL", "…"]`), as Compose accepts it, is kept.
                let first = words.first().and_then(Value::to_text).map(|(t, _)| t);
                let docker_form = matches!(first.as_deref(), Some("CMD" | "CMD-SHELL" | "NONE"));
                let mut test: Vec<String> = if docker_form {
                    Vec::new()
                } else {
                    vec!["CMD".into()]
                };
                for w in words.iter() {
                    let index = test.len();
                    test.push(self.text(w, || format!("/health/test/{index}")));
                }
                test
            }
            Some(v) => {
                let text = self.text(v, || "/health/test/1".into());
                vec!["CMD-SHELL".into(), text]
            }
            None => return None,
        };
        if test.len() < 2 && test.first().map(String::as_str) != Some("NONE") {
            self.error("health", "the health check command is empty", None);
        }
        let dur = |k: &str, default: i64| match h.get(k) {
            Some(Value::Duration(ms)) => Millis(*ms),
            _ => Millis(default),
        };
        let retries = match h.get("retries") {
            Some(Value::Int(r)) if *r >= 0 && *r <= u32::MAX as i64 => *r as u32,
            Some(Value::Int(r)) => {
                self.error(
                    "health",
                    format!("retries must be 0 or more, not {r}"),
                    None,
                );
                0
            }
            _ => 3,
        };
        let spec = HealthSpec {
            test,
            interval: dur("interval", 30_000),
            timeout: dur("timeout", 30_000),
            retries,
            start_period: dur("start_period", 0),
        };
        for (name, d) in [("interval", spec.interval), ("timeout", spec.timeout)] {
            if d.0 < 1 {
                self.error(
                    "health",
                    format!("health check {name} must be positive"),
                    None,
                );
            }
        }
        if spec.start_period.0 < 0 {
            self.error(
                "health",
                "health check start_period cannot be negative",
                None,
            );
        }
        Some(spec)
    }

    fn capabilities(&mut self, fields: &Fields<'_>, name: &str) -> Vec<String> {
        let mut caps: Vec<String> = Vec::new();
        for c in items(get(fields, name)) {
            let Some((text, _)) = c.to_text() else {
                continue;
            };
            let upper = text.to_ascii_uppercase();
            let cap = upper.strip_prefix("CAP_").unwrap_or(&upper).to_string();
            if cap.is_empty() || !cap.chars().all(|c| c.is_ascii_uppercase() || c == '_') {
                self.error(
                    name,
                    format!("`{text}` is not a capability"),
                    Some("like `NET_ADMIN` or `ALL`"),
                );
                continue;
            }
            caps.push(cap);
        }
        caps.sort();
        caps.dedup();
        caps
    }

    fn memory(&mut self, fields: &Fields<'_>) -> Option<i64> {
        match get(fields, "memory") {
            Some(Value::Size(b)) => {
                if *b < 6 * 1024 * 1024 {
                    self.error(
                        "memory",
                        "Docker needs a memory limit of at least 6MiB",
                        None,
                    );
                }
                Some(*b)
            }
            _ => None,
        }
    }

    fn cpus(&mut self, fields: &Fields<'_>) -> Option<f64> {
        match get(fields, "cpus") {
            Some(Value::Float(c)) => {
                if !(*c > 0.0 && c.is_finite()) {
                    self.error("cpus", "cpus must be more than 0", None);
                }
                Some(*c)
            }
            _ => None,
        }
    }

    fn restart(&mut self, fields: &Fields<'_>) -> String {
        let Some(v) = get(fields, "restart") else {
            return "no".into();
        };
        let Some((text, _)) = v.to_text() else {
            return "no".into();
        };
        let valid = RESTART_POLICIES.contains(&&*text)
            || text
                .strip_prefix("on-failure:")
                .is_some_and(|n| n.parse::<u32>().is_ok());
        if !valid {
            let mut help =
                "one of: no, always, unless-stopped, on-failure, on-failure:N".to_string();
            if let Some(d) =
                crate::diagnostic::did_you_mean(&text, RESTART_POLICIES.iter().copied())
            {
                help = d;
            }
            self.error(
                "restart",
                format!("`{text}` is not a restart policy"),
                Some(&help),
            );
        }
        text.to_string()
    }

    fn expose(&mut self, fields: &Fields<'_>) -> Vec<String> {
        let mut out = Vec::new();
        for e in items(get(fields, "expose")) {
            let text = match e {
                Value::Int(p) => format!("{p}/tcp"),
                Value::Str(s) => {
                    let (port, proto) = s.text.split_once('/').unwrap_or((&s.text, "tcp"));
                    match port.parse::<u16>() {
                        Ok(p) if p > 0 && PROTOCOLS.contains(&proto) => format!("{p}/{proto}"),
                        _ => {
                            self.error(
                                "expose",
                                format!("`{}` is not a port like `3306` or `53/udp`", s.text),
                                None,
                            );
                            continue;
                        }
                    }
                }
                _ => continue,
            };
            out.push(text);
        }
        out.sort();
        out.dedup();
        out
    }

    fn run(&mut self, fields: &Fields<'_>) -> RunSpec {
        RunSpec {
            image: self.image_ref(fields),
            command: self.words(fields, "command"),
            entrypoint: self.words(fields, "entrypoint"),
            env: self.env(fields),
            ports: self.ports(fields),
            mounts: self.mounts(fields),
            networks: self.networks(fields),
            health: self.health(fields),
            user: self.opt_text(fields, "user"),
            workdir: self.opt_text(fields, "workdir"),
            hostname: self.opt_text(fields, "hostname"),
            labels: self.labels(fields),
            memory: self.memory(fields),
            cpus: self.cpus(fields),
            read_only: Self::bool(fields, "read_only"),
            cap_add: self.capabilities(fields, "cap_add"),
            cap_drop: self.capabilities(fields, "cap_drop"),
            stop_timeout: {
                let d = Self::duration(fields, "stop_timeout", 10_000);
                self.non_negative("stop_timeout", d)
            },
        }
    }

    pub(super) fn container(&mut self, fields: &Fields<'_>) -> ContainerSpec {
        ContainerSpec {
            run: self.run(fields),
            expose: self.expose(fields),
            restart: self.restart(fields),
            privileged: Self::bool(fields, "privileged"),
        }
    }

    pub(super) fn service(&mut self, fields: &Fields<'_>) -> ServiceSpec {
        let replicas = match get(fields, "replicas") {
            Some(Value::Int(r)) if *r >= 0 => *r as u64,
            Some(Value::Int(r)) => {
                self.error(
                    "replicas",
                    format!("replicas must be 0 or more, not {r}"),
                    None,
                );
                0
            }
            _ => 1,
        };
        let update = match get(fields, "update") {
            Some(Value::Map(u)) => u.clone(),
            _ => Rc::new(Map::default()),
        };
        let text = |k: &str, default: &str| {
            update
                .get(k)
                .and_then(|v| v.to_text())
                .map_or(default.to_string(), |(t, _)| t.to_string())
        };
        let parallelism = match update.get("parallelism") {
            Some(Value::Int(p)) if *p >= 0 => *p as u64,
            Some(Value::Int(_)) => {
                self.error(
                    "update",
                    "update parallelism must be 0 (all at once) or more",
                    None,
                );
                1
            }
            _ => 1,
        };
        let delay = match update.get("delay") {
            Some(Value::Duration(d)) => Millis(*d),
            _ => Millis(0),
        };
        let update = UpdateSpec {
            parallelism,
            delay: self.non_negative("update", delay),
            order: text("order", "stop-first"),
            failure_action: text("failure_action", "pause"),
        };
        let constraints = match get(fields, "placement") {
            Some(Value::Map(p)) => items(p.get("constraints"))
                .iter()
                .filter_map(|c| c.to_text())
                .map(|(t, _)| t.to_string())
                .collect(),
            _ => Vec::new(),
        };
        ServiceSpec {
            run: self.run(fields),
            replicas,
            update,
            placement: PlacementSpec { constraints },
        }
    }
}
