//! Containers and services: what runs, and how it is published, mounted,
//! attached, checked and restarted.

use std::collections::BTreeMap;

use super::short_forms::{parse_port, valid_reference};
use super::{Fields, Marked, Normalizer, get, items};
use crate::deployment::SECRET_MASK;
use crate::deployment::*;
use crate::diagnostic::ErrorCode;
use crate::eval::value::Value;
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

    /// `env`: variable names are shown, so only values may be secret.
    fn env(&mut self, fields: &Fields<'_>) -> BTreeMap<String, String> {
        self.assignments(get(fields, "env"), "env", "env")
    }

    fn ports(&mut self, fields: &Fields<'_>) -> Vec<PortSpec> {
        let mut out: Vec<Marked<PortSpec>> = Vec::new();
        let (list, whole) = items(get(fields, "ports"));
        for p in list {
            let (p, secret) = p.reveal();
            match p {
                Value::Int(port) => out.push(Marked::new(
                    PortSpec {
                        container: *port as u16,
                        protocol: "tcp".into(),
                        host: None,
                        ip: None,
                        mode: None,
                    },
                    secret,
                )),
                Value::Str(s) => match parse_port(&s.text) {
                    Ok(ports) => out.extend(ports.into_iter().map(|p| Marked::new(p, secret))),
                    Err(e) => {
                        let e = if secret {
                            format!("{SECRET_MASK} is not a port mapping")
                        } else {
                            e
                        };
                        self.error("ports", e, Some("forms: \"80\", \"8080:80\", \"127.0.0.1:8080:80/udp\", \"8000-8001:80-81\""))
                    }
                },
                Value::Map(m) => {
                    let mut marks = if secret {
                        vec![String::new()]
                    } else {
                        Vec::new()
                    };
                    let mut part = |k: &str| {
                        let (v, secret) = m.get(k)?.reveal();
                        if secret {
                            marks.push(format!("/{k}"));
                        }
                        Some(v.clone())
                    };
                    let int = |v: Option<Value>| match v {
                        Some(Value::Int(i)) => Some(i as u16),
                        _ => None,
                    };
                    let text =
                        |v: Option<Value>| v.and_then(|v| v.to_text()).map(|(t, _)| t.to_string());
                    let container = int(part("container"));
                    let host = int(part("host"));
                    let ip = text(part("ip"));
                    let protocol = text(part("protocol"));
                    // `ingress` is Swarm's default: only `host` is written.
                    let mode = text(part("mode")).filter(|m| m != "ingress");
                    if let Some(ip) = &ip
                        && ip.parse::<std::net::IpAddr>().is_err()
                    {
                        let shown = if marks.iter().any(|m| m.is_empty() || m == "/ip") {
                            SECRET_MASK
                        } else {
                            ip
                        };
                        self.error("ports", format!("`{shown}` is not an IP address"), None);
                    }
                    out.push(Marked {
                        item: PortSpec {
                            container: container.unwrap_or(0),
                            protocol: protocol.unwrap_or_else(|| "tcp".into()),
                            host,
                            ip,
                            mode,
                        },
                        marks,
                    });
                }
                _ => {}
            }
        }
        // Shown ports are sorted and deduplicated; ports with a secret part
        // follow in the order given, so that no place tells a secret.
        let (mut shown, secret): (Vec<_>, Vec<_>) =
            out.into_iter().partition(|m| m.marks.is_empty());
        shown.sort_by(|a, b| a.item.cmp(&b.item));
        shown.dedup_by(|a, b| a.item == b.item);
        for pair in shown.windows(2) {
            let (a, b) = (&pair[0].item, &pair[1].item);
            if a.host.is_some() && a.host == b.host && a.protocol == b.protocol && a.ip == b.ip {
                let host = a.host.unwrap_or(0);
                self.error(
                    "ports",
                    format!("host port {host}/{} is published twice", a.protocol),
                    None,
                );
            }
        }
        shown.extend(secret);
        self.place("/ports", shown, whole)
    }

    pub(super) fn secret_structure(&mut self, field: &str, what: &str) {
        self.error_code(
            ErrorCode::SecretExposed,
            field,
            format!("a secret cannot choose {what}"),
            Some("plans and Docker show it; decide by a value that is not secret, or declassify one on purpose with `nonsecret(…)`"),
        );
    }

    /// A health check; a secret record marks all of it.
    fn health(&mut self, fields: &Fields<'_>) -> Option<HealthSpec> {
        let (h, whole) = get(fields, "health")?.reveal();
        // `"none"`: the image's HEALTHCHECK switched off, as Docker stores it.
        if let Value::Str(s) = h
            && &*s.text == "none"
        {
            if whole {
                self.sensitive.push("/health".into());
            }
            return Some(HealthSpec {
                test: vec!["NONE".into()],
                interval: Millis(0),
                timeout: Millis(0),
                retries: 0,
                start_period: Millis(0),
            });
        }
        let Value::Map(h) = h else {
            return None;
        };
        if whole {
            self.sensitive.push("/health".into());
        }
        let test = match h.get("cmd").map(Value::reveal) {
            Some((Value::List(words), secret_list)) => {
                // Docker's own form (`["CMD-SHELL", "…"]`), as Compose accepts it, is kept.
                let first = words.first();
                let first_text = first.and_then(Value::to_text).map(|(t, _)| t);
                let docker_form =
                    matches!(first_text.as_deref(), Some("CMD" | "CMD-SHELL" | "NONE"));
                if secret_list || first.is_some_and(Value::is_tainted) {
                    // Whether a `CMD` goes first, and how many words follow, is secret.
                    self.sensitive.push("/health/test".into());
                }
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
            Some((v, secret)) => {
                let text = v.to_text().map(|(t, _)| t.to_string()).unwrap_or_default();
                if secret {
                    self.sensitive.push("/health/test/1".into());
                }
                vec!["CMD-SHELL".into(), text]
            }
            None => return None,
        };
        if test.len() < 2 && test.first().map(String::as_str) != Some("NONE") {
            self.error("health", "the health check command is empty", None);
        }
        let mut dur = |k: &str, default: i64| match h.get(k).map(Value::reveal) {
            Some((v, secret)) => {
                if secret {
                    self.sensitive.push(format!("/health/{k}"));
                }
                match v {
                    Value::Duration(ms) => Millis(*ms),
                    _ => Millis(default),
                }
            }
            None => Millis(default),
        };
        let interval = dur("interval", 30_000);
        let timeout = dur("timeout", 30_000);
        let start_period = dur("start_period", 0);
        let retries = match h.get("retries").map(Value::reveal) {
            Some((v, secret)) => {
                if secret {
                    self.sensitive.push("/health/retries".into());
                }
                match v {
                    Value::Int(r) if *r >= 0 && *r <= u32::MAX as i64 => *r as u32,
                    Value::Int(r) => {
                        let r = if secret {
                            SECRET_MASK.to_string()
                        } else {
                            r.to_string()
                        };
                        self.error(
                            "health",
                            format!("retries must be 0 or more, not {r}"),
                            None,
                        );
                        0
                    }
                    _ => 3,
                }
            }
            None => 3,
        };
        let spec = HealthSpec {
            test,
            interval,
            timeout,
            retries,
            start_period,
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

    /// Short strings sorted and deduplicated (`cap_add`, `expose`); secret
    /// ones follow in the order given, never deduplicated against others.
    fn sorted_texts(
        &mut self,
        field: &str,
        items: Vec<Marked<String>>,
        whole: bool,
    ) -> Vec<String> {
        let (mut shown, secret): (Vec<_>, Vec<_>) =
            items.into_iter().partition(|m| m.marks.is_empty());
        shown.sort_by(|a, b| a.item.cmp(&b.item));
        shown.dedup_by(|a, b| a.item == b.item);
        shown.extend(secret);
        self.place(&format!("/{field}"), shown, whole)
    }

    fn capabilities(&mut self, fields: &Fields<'_>, name: &str) -> Vec<String> {
        let mut caps: Vec<Marked<String>> = Vec::new();
        let (list, whole) = items(get(fields, name));
        for c in list {
            let Some((text, secret)) = c.to_text() else {
                continue;
            };
            let upper = text.to_ascii_uppercase();
            let cap = upper.strip_prefix("CAP_").unwrap_or(&upper).to_string();
            if cap.is_empty() || !cap.chars().all(|c| c.is_ascii_uppercase() || c == '_') {
                let shown = if secret { SECRET_MASK } else { &text };
                self.error(
                    name,
                    format!("`{shown}` is not a capability"),
                    Some("like `NET_ADMIN` or `ALL`"),
                );
                continue;
            }
            caps.push(Marked::new(cap, secret));
        }
        self.sorted_texts(name, caps, whole)
    }

    /// A number field, marked when secret; its value as it is (never a default in its place).
    pub(super) fn number<'v>(&mut self, fields: &'v Fields<'_>, name: &str) -> Option<&'v Value> {
        let (v, secret) = get(fields, name)?.reveal();
        if secret {
            self.sensitive.push(format!("/{name}"));
        }
        Some(v)
    }

    fn memory(&mut self, fields: &Fields<'_>) -> Option<i64> {
        match self.number(fields, "memory")? {
            Value::Size(b) => {
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

    pub(super) fn cpus_value(&mut self, field: &str, c: f64) -> f64 {
        // Docker keeps billionths of a CPU: what it stores, and
        // what would round to no limit at all is refused.
        let stored = (c * 1e9).round() / 1e9;
        if !(stored > 0.0 && stored.is_finite()) {
            self.error(
                field,
                "cpus must be at least 0.000000001 (Docker counts billionths of a CPU)",
                None,
            );
        }
        stored
    }

    fn cpus(&mut self, fields: &Fields<'_>) -> Option<f64> {
        match self.number(fields, "cpus")? {
            Value::Float(c) => {
                let c = *c;
                Some(self.cpus_value("cpus", c))
            }
            _ => None,
        }
    }

    fn restart(&mut self, fields: &Fields<'_>) -> String {
        let Some(v) = get(fields, "restart") else {
            return "no".into();
        };
        let secret = v.is_tainted();
        if secret {
            self.sensitive.push("/restart".into());
        }
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
            if !secret
                && let Some(d) =
                    crate::diagnostic::did_you_mean(&text, RESTART_POLICIES.iter().copied())
            {
                help = d;
            }
            let shown = if secret { SECRET_MASK } else { &text };
            self.error(
                "restart",
                format!("`{shown}` is not a restart policy"),
                Some(&help),
            );
        }
        // As Docker stores it: `on-failure:05` is `on-failure:5`, and
        // `on-failure:0` (no limit) is `on-failure`.
        match text
            .strip_prefix("on-failure:")
            .and_then(|n| n.parse::<u32>().ok())
        {
            Some(0) => "on-failure".into(),
            Some(n) => format!("on-failure:{n}"),
            None => text.to_string(),
        }
    }

    fn expose(&mut self, fields: &Fields<'_>) -> Vec<String> {
        let mut out = Vec::new();
        let (list, whole) = items(get(fields, "expose"));
        for e in list {
            let (e, secret) = e.reveal();
            let text = match e {
                Value::Int(p) => format!("{p}/tcp"),
                Value::Str(s) => {
                    let (port, proto) = s.text.split_once('/').unwrap_or((&s.text, "tcp"));
                    match port.parse::<u16>() {
                        Ok(p) if p > 0 && PROTOCOLS.contains(&proto) => format!("{p}/{proto}"),
                        _ => {
                            let shown = if secret { SECRET_MASK } else { &s.text };
                            self.error(
                                "expose",
                                format!("`{shown}` is not a port like `3306` or `53/udp`"),
                                None,
                            );
                            continue;
                        }
                    }
                }
                _ => continue,
            };
            out.push(Marked::new(text, secret));
        }
        self.sorted_texts("expose", out, whole)
    }

    pub(super) fn run(&mut self, fields: &Fields<'_>) -> RunSpec {
        RunSpec {
            image: self.image_ref(fields),
            command: self.words(fields, "command"),
            entrypoint: self.words(fields, "entrypoint"),
            env: self.env(fields),
            ports: self.ports(fields),
            mounts: self.mounts(fields),
            networks: self.networks(fields),
            health: self.health(fields),
            user: self.shown_text(fields, "user"),
            workdir: self.shown_text(fields, "workdir"),
            hostname: self.shown_text(fields, "hostname"),
            labels: self.labels(fields),
            memory: self.memory(fields),
            cpus: self.cpus(fields),
            read_only: self.bool(fields, "read_only"),
            cap_add: self.capabilities(fields, "cap_add"),
            cap_drop: self.capabilities(fields, "cap_drop"),
            stop_timeout: {
                let d = self.duration(fields, "stop_timeout", 10_000);
                self.non_negative("stop_timeout", d)
            },
        }
    }

    pub(super) fn container(&mut self, fields: &Fields<'_>) -> ContainerSpec {
        let mut spec = ContainerSpec {
            run: self.run(fields),
            expose: self.expose(fields),
            restart: self.restart(fields),
            privileged: self.bool(fields, "privileged"),
            // The checker took only the policies' names.
            pull: self
                .opt_text(fields, "pull")
                .and_then(|p| PullPolicy::parse(&p))
                .unwrap_or_default(),
            files: Vec::new(),
            options: self.container_options(fields),
            network_mode: self.network_mode(fields),
        };
        spec.files = self.files(fields, &spec.run);
        if spec.run.ports.iter().any(|p| p.mode.is_some()) {
            self.error(
                "ports",
                "a port's `mode` is Swarm's: only a `service` publishes in `host` mode",
                Some("a container's ports are always published on its host: leave `mode` out"),
            );
        }
        self.join_networks(fields, &mut spec);
        spec
    }
}
