//! `stackc export-compose`: a deployment as a `compose.yaml` describing the
//! same containers, with the stack's logical names for services, volumes
//! and networks (Compose prefixes them with the project, the stack's name).
//!
//! Secrets are never written into the file: with a secrets directory, a
//! secret file becomes a Compose secret read from a file there and secret
//! environment values an `env_file` there; without one, a secret file is
//! left out and a secret variable is read from the environment Compose runs
//! in (`${NAME}`), each with a warning.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

use serde_json::{Map, Value as J, json};

use super::yaml;
use crate::deployment::{ContainerSpec, Deployment, FileSpec, Kind, Resource, RunSpec, Spec};
use crate::units;

/// What the export made.
#[derive(Debug, Clone, PartialEq)]
pub struct Exported {
    pub yaml: String,
    /// Files to write (mode 0600) in the secrets directory.
    pub secret_files: Vec<SecretFile>,
    /// What did not go into the file, by address.
    pub warnings: Vec<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct SecretFile {
    pub path: PathBuf,
    pub content: Vec<u8>,
}

/// Docker's health check defaults: left out of the file.
const HEALTH_DEFAULTS: (i64, i64, u32, i64) = (30_000, 30_000, 3, 0);

struct Exporter<'d> {
    d: &'d Deployment,
    base: PathBuf,
    secrets_dir: Option<PathBuf>,
    /// Docker name → logical name, for networks, volumes and containers.
    names: HashMap<(Kind, String), String>,
    networks: Map<String, J>,
    volumes: Map<String, J>,
    secrets: Map<String, J>,
    configs: Map<String, J>,
    secret_files: Vec<SecretFile>,
    /// Each secret's content, so that one file shared by services is one secret.
    secret_contents: Vec<(String, Vec<u8>)>,
    warnings: Vec<String>,
}

/// The deployment as Compose YAML. `base` is the directory the file is
/// for (paths under it are written relative to it); `secrets_dir` where
/// secrets may be written.
pub fn export(d: &Deployment, base: &Path, secrets_dir: Option<&Path>) -> Exported {
    let mut names = HashMap::new();
    for r in &d.resources {
        names.insert((r.kind, r.name.clone()), logical(d, r));
    }
    let mut ex = Exporter {
        d,
        base: base.to_path_buf(),
        secrets_dir: secrets_dir.map(Path::to_path_buf),
        names,
        networks: Map::new(),
        volumes: Map::new(),
        secrets: Map::new(),
        configs: Map::new(),
        secret_files: Vec::new(),
        secret_contents: Vec::new(),
        warnings: Vec::new(),
    };
    let mut services = Map::new();
    for r in &d.resources {
        match &r.spec {
            Spec::Network(n) => {
                let mut m = Map::new();
                if n.driver != "bridge" {
                    m.insert("driver".into(), json!(n.driver));
                }
                if n.internal {
                    m.insert("internal".into(), json!(true));
                }
                if n.attachable {
                    m.insert("attachable".into(), json!(true));
                }
                if let Some(s) = &n.subnet {
                    m.insert("ipam".into(), json!({ "config": [{ "subnet": s }] }));
                }
                if !n.labels.is_empty() {
                    m.insert("labels".into(), json!(n.labels));
                }
                ex.networks.insert(logical(d, r), J::Object(m));
            }
            Spec::Volume(v) => {
                let mut m = Map::new();
                if v.driver != "local" {
                    m.insert("driver".into(), json!(v.driver));
                }
                if !v.options.is_empty() {
                    m.insert("driver_opts".into(), json!(v.options));
                }
                if !v.labels.is_empty() {
                    m.insert("labels".into(), json!(v.labels));
                }
                ex.volumes.insert(logical(d, r), J::Object(m));
            }
            Spec::Container(c) => {
                let s = ex.container(r, c);
                services.insert(logical(d, r), s);
            }
            Spec::Service(s) => {
                let mut m = ex.run(r, &s.run);
                let mut deploy = Map::new();
                deploy.insert("replicas".into(), json!(s.replicas));
                deploy.insert(
                    "update_config".into(),
                    json!({
                        "parallelism": s.update.parallelism,
                        "delay": units::format_duration(s.update.delay.0),
                        "order": s.update.order,
                        "failure_action": s.update.failure_action,
                    }),
                );
                if !s.placement.constraints.is_empty() {
                    deploy.insert(
                        "placement".into(),
                        json!({ "constraints": s.placement.constraints }),
                    );
                }
                m.insert("deploy".into(), J::Object(deploy));
                services.insert(logical(d, r), finish(m, Vec::new()));
            }
            Spec::Image(_) => {}
        }
    }
    let mut top = Map::new();
    top.insert("name".into(), json!(project_name(&d.stack)));
    top.insert("services".into(), J::Object(services));
    for (key, map) in [
        ("networks", &ex.networks),
        ("volumes", &ex.volumes),
        ("secrets", &ex.secrets),
        ("configs", &ex.configs),
    ] {
        if !map.is_empty() {
            top.insert(key.into(), escape(J::Object(map.clone())));
        }
    }
    Exported {
        yaml: format!(
            "# Exported from the stack `{}` by `stackc export-compose`.\n{}",
            d.stack,
            yaml::write(&J::Object(top))
        ),
        secret_files: ex.secret_files,
        warnings: ex.warnings,
    }
}

/// A resource's name in the stack: `db` for `container.db`, and
/// `<instance>-<name>` inside a module instance (as its Docker name).
fn logical(d: &Deployment, r: &Resource) -> String {
    let kind = r.kind.to_string();
    match r.address.strip_prefix(&format!("{kind}.")) {
        Some(name) => name.to_string(),
        None => r
            .name
            .strip_prefix(&format!("{}-", d.stack))
            .unwrap_or(&r.name)
            .to_string(),
    }
}

/// Compose's project names: lowercase letters, digits, `-` and `_`.
fn project_name(stack: &str) -> String {
    stack
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c.to_ascii_lowercase()
            } else {
                '-'
            }
        })
        .collect()
}

/// `$` is Compose's interpolation: every value is written with `$$`.
fn escape(v: J) -> J {
    match v {
        J::String(s) => J::String(s.replace('$', "$$")),
        J::Array(xs) => J::Array(xs.into_iter().map(escape).collect()),
        J::Object(m) => J::Object(m.into_iter().map(|(k, v)| (k, escape(v))).collect()),
        other => other,
    }
}

/// The service, escaped, with `${NAME}` references for secret variables.
fn finish(service: Map<String, J>, from_environment: Vec<String>) -> J {
    let mut service = escape(J::Object(service));
    if let J::Object(m) = &mut service {
        for key in from_environment {
            let env = m
                .entry("environment")
                .or_insert_with(|| J::Object(Map::new()));
            if let J::Object(env) = env {
                let var: String = key
                    .chars()
                    .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
                    .collect();
                env.insert(key, json!(format!("${{{var}}}")));
            }
        }
    }
    service
}

fn is_sensitive(r: &Resource, at: &str) -> bool {
    r.sensitive_paths
        .iter()
        .any(|p| p == at || p.starts_with(&format!("{at}/")) || at.starts_with(&format!("{p}/")))
}

impl Exporter<'_> {
    fn name_of(&self, kind: Kind, docker: &str) -> Option<String> {
        self.names.get(&(kind, docker.to_string())).cloned()
    }

    /// `<stack>-<name>`: the repository of an image resource's default tag.
    fn docker_image_name(&self, image: &Resource) -> String {
        format!(
            "{}-{}",
            self.d.stack,
            logical(self.d, image).replace('.', "-")
        )
    }

    fn path(&self, p: &str) -> String {
        let base = self
            .base
            .canonicalize()
            .unwrap_or_else(|_| self.base.clone());
        match Path::new(p).strip_prefix(&base) {
            Ok(rel) if rel.as_os_str().is_empty() => ".".into(),
            Ok(rel) => format!("./{}", rel.display()),
            Err(_) => p.to_string(),
        }
    }

    fn warn(&mut self, r: &Resource, message: impl Into<String>) {
        self.warnings
            .push(format!("{}: {}", r.address, message.into()));
    }

    /// What containers and Swarm services share.
    fn run(&mut self, r: &Resource, run: &RunSpec) -> Map<String, J> {
        let mut m = Map::new();
        let image = self
            .d
            .resources
            .iter()
            .find(|i| i.kind == Kind::Image && i.name == run.image);
        match image.map(|i| &i.spec) {
            Some(Spec::Image(img)) if img.build.is_some() => {
                if let Some(b) = &img.build {
                    let mut build = Map::new();
                    build.insert("context".into(), json!(self.path(&b.context)));
                    if b.dockerfile != "Dockerfile" {
                        build.insert("dockerfile".into(), json!(b.dockerfile));
                    }
                    if let Some(t) = &b.target {
                        build.insert("target".into(), json!(t));
                    }
                    if !b.args.is_empty() {
                        build.insert("args".into(), json!(b.args));
                    }
                    m.insert("build".into(), J::Object(build));
                }
                // The tag stackc gives a build by default is its own (`<stack>-<name>:<hash>`).
                let own = image.is_some_and(|i| {
                    img.tag
                        .as_ref()
                        .is_some_and(|t| t.starts_with(&format!("{}:", self.docker_image_name(i))))
                });
                if let Some(tag) = img.tag.as_ref().filter(|_| !own) {
                    m.insert("image".into(), json!(tag));
                }
            }
            _ => {
                m.insert("image".into(), json!(run.image));
            }
        }
        for (key, words) in [("entrypoint", &run.entrypoint), ("command", &run.command)] {
            if let Some(w) = words {
                if is_sensitive(r, &format!("/{key}")) {
                    self.warn(r, format!("`{key}` holds a secret: left out"));
                } else {
                    m.insert(key.into(), json!(w));
                }
            }
        }
        let ports: Vec<J> = run
            .ports
            .iter()
            .map(|p| {
                let mut port = Map::new();
                port.insert("target".into(), json!(p.container));
                if let Some(h) = p.host {
                    port.insert("published".into(), json!(h.to_string()));
                }
                if let Some(ip) = &p.ip {
                    port.insert("host_ip".into(), json!(ip));
                }
                port.insert("protocol".into(), json!(p.protocol));
                J::Object(port)
            })
            .collect();
        if !ports.is_empty() {
            m.insert("ports".into(), J::Array(ports));
        }
        let mounts: Vec<J> = run.mounts.iter().map(|mount| self.mount(mount)).collect();
        if !mounts.is_empty() {
            m.insert("volumes".into(), J::Array(mounts));
        }
        let networks = self.attachments(r, run);
        if !networks.is_empty() {
            m.insert("networks".into(), J::Object(networks));
        }
        if let Some(h) = &run.health {
            m.insert("healthcheck".into(), health(h));
        }
        for (key, v) in [
            ("user", &run.user),
            ("working_dir", &run.workdir),
            ("hostname", &run.hostname),
        ] {
            if let Some(v) = v {
                m.insert(key.into(), json!(v));
            }
        }
        if !run.labels.is_empty() {
            m.insert("labels".into(), json!(run.labels));
        }
        if let Some(mem) = run.memory {
            m.insert("mem_limit".into(), json!(mem));
        }
        if let Some(cpus) = run.cpus {
            m.insert("cpus".into(), json!(cpus));
        }
        if run.read_only {
            m.insert("read_only".into(), json!(true));
        }
        for (key, list) in [("cap_add", &run.cap_add), ("cap_drop", &run.cap_drop)] {
            if !list.is_empty() {
                m.insert(key.into(), json!(list));
            }
        }
        if run.stop_timeout.0 != 10_000 {
            m.insert(
                "stop_grace_period".into(),
                json!(units::format_duration(run.stop_timeout.0)),
            );
        }
        let deps: Map<String, J> = r
            .depends_on
            .iter()
            .filter_map(|dep| {
                let target = self.d.resources.iter().find(|x| x.address == dep.address)?;
                if !matches!(target.kind, Kind::Container | Kind::Service) {
                    return None;
                }
                let condition = match dep.condition {
                    crate::deployment::Condition::Started => "service_started",
                    crate::deployment::Condition::Healthy => "service_healthy",
                    crate::deployment::Condition::Completed => "service_completed_successfully",
                };
                Some((logical(self.d, target), json!({ "condition": condition })))
            })
            .collect();
        if !deps.is_empty() {
            m.insert("depends_on".into(), J::Object(deps));
        }
        m
    }

    fn mount(&mut self, mount: &crate::deployment::MountSpec) -> J {
        let mut v = Map::new();
        v.insert("type".into(), json!(mount.kind));
        match (mount.kind.as_str(), &mount.source) {
            ("volume", Some(s)) => {
                let name = match self.name_of(Kind::Volume, s) {
                    Some(n) => n,
                    None => {
                        // Not the stack's: an external volume, as Compose says it.
                        self.volumes.insert(s.clone(), json!({ "external": true }));
                        s.clone()
                    }
                };
                v.insert("source".into(), json!(name));
            }
            ("bind", Some(s)) => {
                v.insert("source".into(), json!(self.path(s)));
            }
            _ => {}
        }
        v.insert("target".into(), json!(mount.target));
        if mount.read_only {
            v.insert("read_only".into(), json!(true));
        }
        if let Some(size) = mount.size.filter(|s| *s > 0) {
            v.insert("tmpfs".into(), json!({ "size": size }));
        }
        J::Object(v)
    }

    fn attachments(&mut self, r: &Resource, run: &RunSpec) -> Map<String, J> {
        let own = logical(self.d, r);
        let mut out = Map::new();
        for a in &run.networks {
            let name = match self.name_of(Kind::Network, &a.network) {
                Some(n) => n,
                None => {
                    self.networks
                        .insert(a.network.clone(), json!({ "external": true }));
                    a.network.clone()
                }
            };
            let mut m = Map::new();
            // stackc adds the container's own name; Compose does too.
            let aliases: Vec<&String> = a
                .aliases
                .iter()
                .filter(|x| **x != own && Some(*x) != run.hostname.as_ref())
                .collect();
            if !aliases.is_empty() {
                m.insert("aliases".into(), json!(aliases));
            }
            if let Some(ip) = &a.ipv4_address {
                m.insert("ipv4_address".into(), json!(ip));
            }
            out.insert(name, if m.is_empty() { J::Null } else { J::Object(m) });
        }
        out
    }

    fn container(&mut self, r: &Resource, c: &ContainerSpec) -> J {
        let mut m = self.run(r, &c.run);
        if !c.expose.is_empty() {
            let expose: Vec<String> = c
                .expose
                .iter()
                .map(|e| e.strip_suffix("/tcp").unwrap_or(e).to_string())
                .collect();
            m.insert("expose".into(), json!(expose));
        }
        if c.restart != "no" {
            m.insert("restart".into(), json!(c.restart));
        }
        if c.privileged {
            m.insert("privileged".into(), json!(true));
        }
        if !c.pull.is_missing() {
            let pull = serde_json::to_value(c.pull).unwrap_or(J::Null);
            m.insert("pull_policy".into(), pull);
        }
        if let Some(mode) = &c.network_mode {
            m.remove("networks");
            m.insert("network_mode".into(), json!(self.namespace(mode)));
        }
        self.options(&c.options, &mut m);
        let mut secret_env = Vec::new();
        self.environment(r, &c.run.env, &mut m, &mut secret_env);
        self.files(r, &c.files, &mut m);
        finish(m, secret_env)
    }

    /// `container:<Docker name>` of a container of the stack → `service:<name>`.
    fn namespace(&self, mode: &str) -> String {
        match mode.strip_prefix("container:") {
            Some(docker) => match self.name_of(Kind::Container, docker) {
                Some(n) => format!("service:{n}"),
                None => mode.to_string(),
            },
            None => mode.to_string(),
        }
    }

    fn options(&mut self, o: &crate::deployment::ContainerOptions, m: &mut Map<String, J>) {
        let value = serde_json::to_value(o).unwrap_or(J::Null);
        let J::Object(fields) = value else { return };
        for (k, v) in fields {
            let v = match k.as_str() {
                "devices" => json!(
                    o.devices
                        .iter()
                        .map(|d| format!("{}:{}:{}", d.host, d.container, d.permissions))
                        .collect::<Vec<_>>()
                ),
                "logging" => {
                    let mut l = Map::new();
                    if let Some(lg) = &o.logging {
                        if let Some(d) = &lg.driver {
                            l.insert("driver".into(), json!(d));
                        }
                        if !lg.options.is_empty() {
                            l.insert("options".into(), json!(lg.options));
                        }
                    }
                    J::Object(l)
                }
                "pid" => json!(self.namespace(o.pid.as_deref().unwrap_or_default())),
                _ => v,
            };
            m.insert(k, v);
        }
    }

    fn environment(
        &mut self,
        r: &Resource,
        env: &BTreeMap<String, String>,
        m: &mut Map<String, J>,
        from_environment: &mut Vec<String>,
    ) {
        let mut shown = Map::new();
        let mut secret: Vec<(&String, &String)> = Vec::new();
        for (k, v) in env {
            let at = format!("/env/{}", crate::deployment::pointer_segment(k));
            let whole = r.sensitive_paths.iter().any(|p| p == "/env");
            if whole || is_sensitive(r, &at) {
                secret.push((k, v));
            } else {
                shown.insert(k.clone(), json!(v));
            }
        }
        if !shown.is_empty() {
            m.insert("environment".into(), J::Object(shown));
        }
        if secret.is_empty() {
            return;
        }
        let service = logical(self.d, r);
        match self.secrets_dir.clone() {
            Some(dir) => {
                let file = dir.join(file_name(&format!("{service}.env")));
                let mut text = String::new();
                for (k, v) in &secret {
                    text.push_str(&format!("{k}={}\n", env_value(v)));
                }
                m.insert(
                    "env_file".into(),
                    json!([self.path(&file.display().to_string())]),
                );
                self.secret_files.push(SecretFile {
                    path: file,
                    content: text.into_bytes(),
                });
            }
            None => {
                let names: Vec<String> = secret.iter().map(|(k, _)| format!("`{k}`")).collect();
                let (what, verb) = if names.len() == 1 {
                    ("variable", "is")
                } else {
                    ("variables", "are")
                };
                self.warn(
                    r,
                    format!(
                        "the secret {what} {} {verb} read from the environment Compose runs in (`${{NAME}}`); `--secrets-dir DIR` writes {} to a file instead",
                        names.join(", "),
                        if names.len() == 1 { "it" } else { "them" }
                    ),
                );
                from_environment.extend(secret.iter().map(|(k, _)| (*k).clone()));
            }
        }
    }

    /// `files`: secret ones as Compose secrets (from the secrets directory),
    /// the others as configs with their content.
    fn files(&mut self, r: &Resource, files: &[FileSpec], m: &mut Map<String, J>) {
        let service = logical(self.d, r);
        let mut secrets = Vec::new();
        let mut configs = Vec::new();
        for f in files {
            let base = file_name(&f.target);
            let mut entry = Map::new();
            entry.insert("target".into(), json!(f.target));
            // Compose's default mode, for secrets and configs alike.
            if f.mode_bits() != 0o444 {
                entry.insert("mode".into(), json!(f.mode_bits()));
            }
            if f.uid != 0 {
                entry.insert("uid".into(), json!(f.uid.to_string()));
            }
            if f.gid != 0 {
                entry.insert("gid".into(), json!(f.gid.to_string()));
            }
            let Some(bytes) = f.bytes() else { continue };
            if f.is_secret() {
                let Some(dir) = self.secrets_dir.clone() else {
                    self.warn(
                        r,
                        format!(
                            "the secret file `{}` is left out; `--secrets-dir DIR` exports it as a Compose secret",
                            f.target
                        ),
                    );
                    continue;
                };
                let name = match self.secret_contents.iter().find(|(_, c)| *c == bytes) {
                    Some((n, _)) => n.clone(),
                    None if self.secrets.contains_key(&base) => format!("{service}-{base}"),
                    None => base.clone(),
                };
                self.secret_contents.push((name.clone(), bytes.clone()));
                let path = dir.join(&name);
                let file = self.path(&path.display().to_string());
                self.secrets.insert(name.clone(), json!({ "file": file }));
                if !self.secret_files.iter().any(|s| s.path == path) {
                    self.secret_files.push(SecretFile {
                        path,
                        content: bytes,
                    });
                }
                entry.insert("source".into(), json!(name));
                secrets.push(J::Object(entry));
            } else {
                let Ok(content) = String::from_utf8(bytes) else {
                    self.warn(r, format!("the file `{}` is not text: left out", f.target));
                    continue;
                };
                let name = match self
                    .configs
                    .iter()
                    .find(|(_, v)| v.get("content") == Some(&json!(content)))
                {
                    Some((n, _)) => n.clone(),
                    None => {
                        let mut name = base.clone();
                        if self.configs.contains_key(&name) {
                            name = format!("{service}-{base}");
                        }
                        self.configs
                            .insert(name.clone(), json!({ "content": content }));
                        name
                    }
                };
                entry.insert("source".into(), json!(name));
                configs.push(J::Object(entry));
            }
        }
        if !secrets.is_empty() {
            m.insert("secrets".into(), J::Array(secrets));
        }
        if !configs.is_empty() {
            m.insert("configs".into(), J::Array(configs));
        }
    }
}

/// A file's name from its target, safe as a name in the secrets directory
/// (a stack is untrusted: `/run/secrets/..` must not name its parent).
fn file_name(target: &str) -> String {
    let base: String = target
        .rsplit('/')
        .next()
        .unwrap_or_default()
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || "._-".contains(c) {
                c
            } else {
                '_'
            }
        })
        .collect();
    if base.chars().all(|c| c == '.') {
        "file".into()
    } else {
        base
    }
}

/// A value in an env file, read back as it is written.
fn env_value(v: &str) -> String {
    if v.chars()
        .all(|c| c.is_ascii_alphanumeric() || "_-./:@+,=".contains(c))
    {
        v.to_string()
    } else if !v.contains('\'') && !v.contains('\n') {
        format!("'{v}'")
    } else {
        let escaped = v
            .replace('\\', "\\\\")
            .replace('"', "\\\"")
            .replace('\n', "\\n")
            .replace('$', "\\$");
        format!("\"{escaped}\"")
    }
}

fn health(h: &crate::deployment::HealthSpec) -> J {
    if h.test.first().map(String::as_str) == Some("NONE") {
        return json!({ "disable": true });
    }
    let mut m = Map::new();
    m.insert("test".into(), json!(h.test));
    let (interval, timeout, retries, start) = HEALTH_DEFAULTS;
    if h.interval.0 != interval {
        m.insert(
            "interval".into(),
            json!(units::format_duration(h.interval.0)),
        );
    }
    if h.timeout.0 != timeout {
        m.insert("timeout".into(), json!(units::format_duration(h.timeout.0)));
    }
    if h.retries != retries {
        m.insert("retries".into(), json!(h.retries));
    }
    if h.start_period.0 != start {
        m.insert(
            "start_period".into(),
            json!(units::format_duration(h.start_period.0)),
        );
    }
    J::Object(m)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secret_file_names_stay_in_their_directory() {
        assert_eq!(file_name("/run/secrets/db-password"), "db-password");
        assert_eq!(file_name("/run/secrets/.."), "file");
        assert_eq!(file_name("/run/secrets/"), "file");
        assert_eq!(file_name("/a/b c$"), "b_c_");
    }

    #[test]
    fn env_file_values_read_back_as_written() {
        assert_eq!(env_value("abc"), "abc");
        assert_eq!(env_value("a b$c"), "'a b$c'");
        assert_eq!(env_value("it's\n"), "\"it's\\n\"");
    }
}
