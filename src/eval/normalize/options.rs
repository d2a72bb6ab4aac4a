//! Compose's container settings (`deployment/options.rs`): each validated
//! with a message that quotes the bad entry, then written as the engine
//! stores it, so that what it reads back compares equal. All of them are
//! shown by `docker inspect`; only log options may hold a secret (a
//! driver's token), the rest refuse one.

use std::collections::BTreeMap;
use std::net::IpAddr;

use super::{Fields, Normalizer, entries, get, items};
use crate::deployment::*;
use crate::eval::value::Value;

/// What `ulimit` knows, as Docker names them.
const ULIMITS: &[&str] = &[
    "as",
    "core",
    "cpu",
    "data",
    "fsize",
    "locks",
    "memlock",
    "msgqueue",
    "nice",
    "nofile",
    "nproc",
    "rss",
    "rtprio",
    "rttime",
    "sigpending",
    "stack",
];

/// Linux signals by name, without `SIG` (real-time ones are `RTMIN+n`, `RTMAX-n`).
const SIGNALS: &[&str] = &[
    "ABRT", "ALRM", "BUS", "CHLD", "CLD", "CONT", "FPE", "HUP", "ILL", "INT", "IO", "IOT", "KILL",
    "PIPE", "POLL", "PROF", "PWR", "QUIT", "SEGV", "STKFLT", "STOP", "SYS", "TERM", "TRAP", "TSTP",
    "TTIN", "TTOU", "URG", "USR1", "USR2", "VTALRM", "WINCH", "XCPU", "XFSZ", "RTMIN", "RTMAX",
];

/// The security options the engine takes (`systempaths` is the docker CLI's own).
const SECURITY_OPTS: &[&str] = &["no-new-privileges", "seccomp", "apparmor", "label"];

/// The fields that may hold no secret: `docker inspect` shows them all.
const SHOWN: &[&str] = &[
    "container_name",
    "extra_hosts",
    "dns",
    "dns_search",
    "init",
    "stop_signal",
    "shm_size",
    "ulimits",
    "sysctls",
    "devices",
    "security_opt",
    "group_add",
    "tty",
    "stdin_open",
    "pid",
];

impl Normalizer<'_, '_> {
    pub(super) fn container_options(&mut self, fields: &Fields<'_>) -> ContainerOptions {
        let mut shown = Fields::default();
        for (name, value, span) in &fields.entries {
            if !SHOWN.contains(&name.as_ref()) {
                continue;
            }
            if value.is_secret() {
                self.secret_in_metadata(
                    name,
                    &format!("`{name}` cannot hold a secret"),
                    "`docker inspect` shows it to anyone who can reach the engine; pass secrets in `env` or `files`",
                );
            } else {
                shown.push(name.clone(), value.clone(), *span);
            }
        }
        let f = &shown;
        ContainerOptions {
            // Evaluated with the declaration: it is the resource's Docker name.
            container_name: get(f, "container_name").map(|_| self.ctx.docker_name.to_string()),
            extra_hosts: self.extra_hosts(f),
            dns: self.dns(f),
            dns_search: self.dns_search(f),
            init: self.bool(f, "init"),
            stop_signal: self.stop_signal(f),
            shm_size: self.shm_size(f),
            ulimits: self.ulimits(f),
            sysctls: self.sysctls(f),
            devices: self.devices(f),
            security_opt: self.security_opt(f),
            group_add: self.group_add(f),
            tty: self.bool(f, "tty"),
            stdin_open: self.bool(f, "stdin_open"),
            logging: self.logging(fields),
            pid: self.pid(f),
        }
    }

    /// Texts of a string, or of a list's items.
    fn texts(&self, fields: &Fields<'_>, name: &str) -> Vec<String> {
        match get(fields, name) {
            Some(Value::List(xs)) => xs
                .iter()
                .filter_map(|x| x.to_text().map(|(t, _)| t.to_string()))
                .collect(),
            Some(v) => v
                .to_text()
                .map(|(t, _)| vec![t.to_string()])
                .unwrap_or_default(),
            None => Vec::new(),
        }
    }

    /// `{ "db.local" = "10.0.0.5" }` or `["db.local:10.0.0.5"]` (also
    /// `host=ip`): `host:ip`, sorted, as Docker writes `/etc/hosts`.
    fn extra_hosts(&mut self, fields: &Fields<'_>) -> Vec<String> {
        let pairs: Vec<(String, String)> = match get(fields, "extra_hosts") {
            Some(Value::Map(m)) => m
                .iter()
                .filter_map(|(k, v)| Some((k.to_string(), v.to_text()?.0.to_string())))
                .collect(),
            _ => {
                let mut pairs = Vec::new();
                for entry in self.texts(fields, "extra_hosts") {
                    let split = if entry.contains('=') {
                        entry.split_once('=')
                    } else {
                        entry.split_once(':')
                    };
                    match split {
                        Some((h, ip)) => pairs.push((h.to_string(), ip.to_string())),
                        None => self.error(
                            "extra_hosts",
                            format!("`{entry}` is not `host:ip`"),
                            Some("like \"db.local:10.0.0.5\", or a map `{ \"db.local\" = \"10.0.0.5\" }`"),
                        ),
                    }
                }
                pairs
            }
        };
        let mut out = Vec::new();
        for (host, ip) in pairs {
            let ip = ip.trim_start_matches('[').trim_end_matches(']');
            if host.is_empty() || host.contains(|c: char| c.is_whitespace() || c == ':') {
                self.error("extra_hosts", format!("`{host}` is not a host name"), None);
                continue;
            }
            if ip != "host-gateway" && ip.parse::<IpAddr>().is_err() {
                self.error(
                    "extra_hosts",
                    format!("`{ip}` (for `{host}`) is not an IP address"),
                    Some("an IPv4 or IPv6 address, or `host-gateway` for the host"),
                );
                continue;
            }
            out.push(format!("{host}:{ip}"));
        }
        out.sort();
        out.dedup();
        out
    }

    /// Resolvers in the order given: the first is asked first.
    fn dns(&mut self, fields: &Fields<'_>) -> Vec<String> {
        let mut out: Vec<String> = Vec::new();
        for server in self.texts(fields, "dns") {
            match server.parse::<IpAddr>() {
                Ok(ip) if !out.contains(&ip.to_string()) => out.push(ip.to_string()),
                Ok(_) => self.error("dns", format!("`{server}` is listed twice"), None),
                Err(_) => self.error(
                    "dns",
                    format!("`{server}` is not an IP address"),
                    Some("DNS servers are given by address, like \"1.1.1.1\""),
                ),
            }
        }
        out
    }

    fn dns_search(&mut self, fields: &Fields<'_>) -> Vec<String> {
        let mut out: Vec<String> = Vec::new();
        for domain in self.texts(fields, "dns_search") {
            let valid = !domain.is_empty()
                && domain
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_'));
            if !valid {
                self.error(
                    "dns_search",
                    format!("`{domain}` is not a domain name"),
                    None,
                );
            } else if out.contains(&domain) {
                self.error("dns_search", format!("`{domain}` is listed twice"), None);
            } else {
                out.push(domain);
            }
        }
        out
    }

    /// `SIGTERM`, `term`, `SIGRTMIN+3` or `9`: `SIGTERM`, `SIGRTMIN+3`, `9`.
    pub(super) fn stop_signal(&mut self, fields: &Fields<'_>) -> Option<String> {
        match get(fields, "stop_signal")? {
            Value::Int(n) if (1..=64).contains(n) => Some(n.to_string()),
            Value::Int(n) => {
                self.error(
                    "stop_signal",
                    format!("{n} is not a signal number"),
                    Some("signals are numbered 1 to 64; or give a name like \"SIGQUIT\""),
                );
                None
            }
            v => {
                let (text, _) = v.to_text()?;
                let upper = text.to_ascii_uppercase();
                let name = upper.strip_prefix("SIG").unwrap_or(&upper);
                if let Some(name) = signal_name(name) {
                    return Some(format!("SIG{name}"));
                }
                if let Ok(n) = text.parse::<u32>()
                    && (1..=64).contains(&n)
                {
                    return Some(n.to_string());
                }
                let help = crate::diagnostic::did_you_mean(name, SIGNALS.iter().copied())
                    .map(|d| d.replacen('`', "`SIG", 1))
                    .unwrap_or_else(|| "like \"SIGQUIT\", \"SIGINT\" or \"SIGRTMIN+3\"".into());
                self.error(
                    "stop_signal",
                    format!("`{text}` is not a signal"),
                    Some(&help),
                );
                None
            }
        }
    }

    fn shm_size(&mut self, fields: &Fields<'_>) -> Option<i64> {
        match get(fields, "shm_size")? {
            Value::Size(b) if *b > 0 => Some(*b),
            Value::Size(_) => {
                self.error(
                    "shm_size",
                    "`shm_size` must be more than 0",
                    Some("leave it out for the engine's default (64MiB)"),
                );
                None
            }
            _ => None,
        }
    }

    /// `{ nofile = { soft = 1024, hard = 2048 }, nproc = 65535 }`: one
    /// number is both limits; -1 is unlimited.
    fn ulimits(&mut self, fields: &Fields<'_>) -> BTreeMap<String, Ulimit> {
        let mut out = BTreeMap::new();
        let (list, _) = entries(get(fields, "ulimits"));
        for (name, v) in list {
            if !ULIMITS.contains(&name) {
                let help = crate::diagnostic::did_you_mean(name, ULIMITS.iter().copied())
                    .unwrap_or_else(|| format!("one of: {}", ULIMITS.join(", ")));
                self.error("ulimits", format!("`{name}` is not a ulimit"), Some(&help));
                continue;
            }
            let int = |v: Option<&Value>| match v {
                Some(Value::Int(i)) => Some(*i),
                _ => None,
            };
            let (soft, hard) = match v {
                Value::Map(m) => (int(m.get("soft")), int(m.get("hard"))),
                v => (int(Some(v)), int(Some(v))),
            };
            let (Some(soft), Some(hard)) = (soft, hard) else {
                continue;
            };
            if soft < -1 || hard < -1 {
                self.error(
                    "ulimits",
                    format!("the `{name}` limit must be 0 or more, or -1 for unlimited"),
                    None,
                );
                continue;
            }
            let unlimited = |x: i64| if x == -1 { i64::MAX } else { x };
            if unlimited(soft) > unlimited(hard) {
                self.error(
                    "ulimits",
                    format!("the soft `{name}` limit ({soft}) is above the hard one ({hard})"),
                    None,
                );
                continue;
            }
            out.insert(name.to_string(), Ulimit { soft, hard });
        }
        out
    }

    /// `{ "net.core.somaxconn" = 1024 }` or `["net.core.somaxconn=1024"]`.
    fn sysctls(&mut self, fields: &Fields<'_>) -> BTreeMap<String, String> {
        let pairs = self.assignments(get(fields, "sysctls"), "sysctls", "/sysctls");
        let mut out = BTreeMap::new();
        for (k, v) in pairs {
            let valid = !k.is_empty()
                && k.chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-' | '/'));
            if !valid {
                self.error(
                    "sysctls",
                    format!("`{k}` is not a kernel parameter"),
                    Some("like \"net.core.somaxconn\""),
                );
            } else {
                out.insert(k, v);
            }
        }
        out
    }

    /// `"/dev/x"`, `"/dev/x:/dev/y"`, `"/dev/x:/dev/y:r"`, `"/dev/x:rw"` or
    /// `{ host, container, permissions }`; sorted by the path inside.
    fn devices(&mut self, fields: &Fields<'_>) -> Vec<DeviceSpec> {
        let mut out: Vec<DeviceSpec> = Vec::new();
        let (list, _) = items(get(fields, "devices"));
        for d in list {
            let text = |v: Option<&Value>| v.and_then(Value::to_text).map(|(t, _)| t.to_string());
            let (host, container, permissions) = match d {
                Value::Map(m) => (
                    text(m.get("host")).unwrap_or_default(),
                    text(m.get("container")),
                    text(m.get("permissions")),
                ),
                v => {
                    let entry = text(Some(v)).unwrap_or_default();
                    let parts: Vec<&str> = entry.split(':').collect();
                    match parts.as_slice() {
                        [h] => (h.to_string(), None, None),
                        [h, p] if permissions(p).is_some() => {
                            (h.to_string(), None, Some(p.to_string()))
                        }
                        [h, c] => (h.to_string(), Some(c.to_string()), None),
                        [h, c, p] => (h.to_string(), Some(c.to_string()), Some(p.to_string())),
                        _ => {
                            self.error(
                                "devices",
                                format!("`{entry}` is not `host[:container][:permissions]`"),
                                None,
                            );
                            continue;
                        }
                    }
                }
            };
            let container = container.unwrap_or_else(|| host.clone());
            for path in [&host, &container] {
                if !path.starts_with('/') {
                    self.error(
                        "devices",
                        format!("device path `{path}` is not absolute"),
                        Some("like \"/dev/fuse\" or \"/dev/ttyUSB0:/dev/ttyUSB0:rw\""),
                    );
                }
            }
            let given = permissions.as_deref().unwrap_or("rwm");
            let Some(permissions) = self::permissions(given) else {
                self.error(
                    "devices",
                    format!("`{given}` are not device permissions"),
                    Some("some of `r` (read), `w` (write) and `m` (mknod), like \"rwm\" or \"r\""),
                );
                continue;
            };
            if out.iter().any(|o| o.container == container) {
                self.error(
                    "devices",
                    format!("two devices at `{container}` in the container"),
                    None,
                );
                continue;
            }
            out.push(DeviceSpec {
                host,
                container,
                permissions,
            });
        }
        out.sort_by(|a, b| a.container.cmp(&b.container));
        out
    }

    /// `no-new-privileges`, `no-new-privileges:true`, `seccomp=unconfined`,
    /// `apparmor=…`, `label=…`: `key=value`, sorted.
    fn security_opt(&mut self, fields: &Fields<'_>) -> Vec<String> {
        let mut out = Vec::new();
        for opt in self.texts(fields, "security_opt") {
            let (key, value) = match opt.split_once('=').or_else(|| opt.split_once(':')) {
                Some((k, v)) => (k, v),
                None => (opt.as_str(), ""),
            };
            if !SECURITY_OPTS.contains(&key) {
                let help = crate::diagnostic::did_you_mean(key, SECURITY_OPTS.iter().copied())
                    .unwrap_or_else(|| format!("one of: {}", SECURITY_OPTS.join(", ")));
                self.error(
                    "security_opt",
                    format!("`{opt}` is not a security option the engine knows"),
                    Some(&help),
                );
                continue;
            }
            let value = match (key, value) {
                ("no-new-privileges", "") => "true",
                ("no-new-privileges", v) if v == "true" || v == "false" => v,
                ("seccomp", v) if v == "unconfined" || v.starts_with('{') => v,
                ("seccomp", _) => {
                    self.error(
                        "security_opt",
                        "a seccomp profile is given as its JSON, or `unconfined`",
                        Some("the engine cannot read a file: write \"seccomp=${file(\"profile.json\")}\""),
                    );
                    continue;
                }
                ("no-new-privileges", v) => {
                    self.error(
                        "security_opt",
                        format!("`no-new-privileges` is `true` or `false`, not `{v}`"),
                        None,
                    );
                    continue;
                }
                (_, "") => {
                    self.error(
                        "security_opt",
                        format!("`{opt}` needs a value: `{key}=…`"),
                        None,
                    );
                    continue;
                }
                (_, v) => v,
            };
            out.push(format!("{key}={value}"));
        }
        out.sort();
        out.dedup();
        out
    }

    fn group_add(&mut self, fields: &Fields<'_>) -> Vec<String> {
        let mut out = Vec::new();
        let (list, _) = items(get(fields, "group_add"));
        for g in list {
            let Some((text, _)) = g.to_text() else {
                continue;
            };
            let valid = !text.is_empty()
                && !text.contains(|c: char| c.is_whitespace() || c == ':')
                && !matches!(g, Value::Int(i) if *i < 0);
            if !valid {
                self.error(
                    "group_add",
                    format!("`{text}` is not a group name or id"),
                    None,
                );
                continue;
            }
            out.push(text.to_string());
        }
        out.sort();
        out.dedup();
        out
    }

    /// `{ driver, options }`: the option values may be secret (a token).
    fn logging(&mut self, fields: &Fields<'_>) -> Option<LoggingSpec> {
        let (logging, whole) = get(fields, "logging")?.reveal();
        let Value::Map(m) = logging else {
            return None;
        };
        let driver = m.get("driver").filter(|d| !matches!(d, Value::Null));
        if whole || driver.is_some_and(Value::is_secret) {
            self.secret_in_metadata(
                "logging",
                "a log driver cannot be chosen by a secret",
                "`docker inspect` shows it; only option values may be secret",
            );
            return None;
        }
        let driver = driver.and_then(|d| d.to_text()).map(|(t, _)| t.to_string());
        if let Some(d) = &driver
            && (d.is_empty() || d.contains(char::is_whitespace))
        {
            self.error(
                "logging",
                format!("`{d}` is not a log driver"),
                Some("like \"json-file\", \"local\" or \"syslog\"; leave `driver` out for the engine's default"),
            );
        }
        let (options, secret_keys) = entries(m.get("options"));
        if secret_keys {
            self.secret_in_metadata(
                "logging",
                "the keys of log options cannot be chosen by a secret",
                "keys are shown in plans and by Docker: write them out, and keep secrets in values",
            );
            return None;
        }
        let mut out = BTreeMap::new();
        for (k, v) in options {
            let at = format!("/logging/options/{}", pointer_segment(k));
            out.insert(k.to_string(), self.text(v, || at));
        }
        (driver.is_some() || !out.is_empty()).then_some(LoggingSpec {
            driver,
            options: out,
        })
    }

    /// `"host"`, a container (`container.app`), or `"container:<name>"`.
    fn pid(&mut self, fields: &Fields<'_>) -> Option<String> {
        let target = match get(fields, "pid")? {
            Value::Ref(r) if &*r.address == self.ctx.address => {
                self.error(
                    "pid",
                    "a container cannot share its own pid namespace",
                    None,
                );
                return None;
            }
            Value::Ref(r) => r.name.to_string(),
            v => {
                let (text, _) = v.to_text()?;
                if &*text == "host" {
                    return Some("host".into());
                }
                match text.strip_prefix("container:").filter(|n| !n.is_empty()) {
                    Some(name) => self.container_name_of(name),
                    None => {
                        self.error(
                            "pid",
                            format!("`{text}` is not a pid namespace"),
                            Some("`\"host\"`, or another container: `container.app` or \"container:<name>\""),
                        );
                        return None;
                    }
                }
            }
        };
        Some(format!("container:{target}"))
    }

    /// The Docker name of a container named in text: one declared in the
    /// same module instance (a dependency), else one outside the stack.
    fn container_name_of(&mut self, name: &str) -> String {
        match (self.ctx.lookup)(Kind::Container, name) {
            Some((address, _)) if *address == *self.ctx.address => {
                self.error(
                    "pid",
                    "a container cannot share its own pid namespace",
                    None,
                );
                name.to_string()
            }
            Some((address, docker_name)) => {
                self.implicit.push(address);
                docker_name.to_string()
            }
            None => name.to_string(),
        }
    }
}

/// `SIGTERM`'s name as Docker's signal table has it (`TERM`, `RTMIN+3`;
/// real-time offsets 1 to 15), from a name without `SIG`, in capitals.
fn signal_name(name: &str) -> Option<String> {
    if SIGNALS.contains(&name) {
        return Some(name.to_string());
    }
    let (base, sign) = if name.starts_with("RTMIN+") {
        ("RTMIN", '+')
    } else if name.starts_with("RTMAX-") {
        ("RTMAX", '-')
    } else {
        return None;
    };
    let offset: u8 = name[6..].parse().ok()?;
    (1..=15)
        .contains(&offset)
        .then(|| format!("{base}{sign}{offset}"))
}

/// Device permissions in the order Docker writes them, or `None`.
fn permissions(given: &str) -> Option<String> {
    let valid = !given.is_empty()
        && given.len() <= 3
        && given.chars().all(|c| matches!(c, 'r' | 'w' | 'm'));
    let mut seen = String::new();
    for c in ['r', 'w', 'm'] {
        if given.contains(c) {
            seen.push(c);
        }
    }
    (valid && seen.len() == given.len()).then_some(seen)
}
