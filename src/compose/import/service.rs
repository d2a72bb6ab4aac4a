//! One Compose service as a `container` (or a Swarm `service`), key by key.

use super::{Importer, is_secret_name, join};
use crate::compose::text::{self, Expr, Field};
use crate::compose::yaml::{Key, Node};
use crate::deployment::Kind;
use crate::types::schema::field_def;

/// Keys that have no stackc field, and why, for the warning.
const UNTRANSLATED: &[(&str, &str)] = &[
    (
        "links",
        "not needed: containers reach each other by name on shared networks",
    ),
    (
        "external_links",
        "not needed: containers reach each other by name on shared networks",
    ),
    ("profiles", "use a `param` and an `if` around the resources"),
    ("extends", "use a module or a function"),
    (
        "scale",
        "use a `for` around the container, or a Swarm `service` with `replicas`",
    ),
    ("volumes_from", "mount a named volume in both containers"),
    ("develop", "stackc has no file watching"),
];

/// Where a field is, so that later keys add to it (`tmpfs` to `mounts`).
#[derive(Default)]
struct Slots {
    env: Option<usize>,
    mounts: Option<usize>,
    files: Option<usize>,
}

impl Importer {
    pub(super) fn service(&mut self, key: &Key, node: &Node) {
        let name = key.name.clone();
        let path = join("services", &name);
        let entries = self.mapping(node, &path);
        let swarm = node.get("deploy").is_some_and(is_swarm);
        let mut fields: Vec<Field> = Vec::new();
        let mut comments: Vec<String> = Vec::new();
        let mut slots = Slots::default();
        let mut env_files: Vec<Expr> = Vec::new();
        // The image first, as a reader looks for it first.
        match (node.get("build"), node.get("image")) {
            (Some(build), image) => {
                if let Some(f) = self.build(&name, build, image, &join(&path, "build")) {
                    fields.push(f);
                }
            }
            (None, Some(image)) => {
                if let Some(t) = self.text(image, &join(&path, "image"), false) {
                    fields.push(Field::new("image", t));
                }
            }
            (None, None) => {
                self.error_key(key, &path, "a service needs `image` or `build`");
            }
        }
        for (k, v) in entries {
            let p = join(&path, &k.name);
            let f = |key: &str, e: Expr| Some(Field::new(key, e));
            let field = match k.name.as_str() {
                "image" | "build" => None,
                "command" | "entrypoint" => self.words(v, &p).and_then(|e| f(&k.name, e)),
                "environment" => {
                    let env = self.env(v, &p, k);
                    slot(&mut fields, &mut slots.env, "env", env);
                    None
                }
                "env_file" => {
                    env_files.extend(self.env_files(k, v, &p));
                    slot(&mut fields, &mut slots.env, "env", Expr::Record(Vec::new()));
                    None
                }
                "ports" => {
                    let ports = self.ports(k, v, &p);
                    f("ports", Expr::List(ports))
                }
                "expose" => {
                    let items = self
                        .list(v, &p)
                        .into_iter()
                        .filter_map(|x| match x.as_i64() {
                            Some(n) => Some(Expr::raw(n.to_string())),
                            None => self.text(x, &p, false),
                        })
                        .collect();
                    f("expose", Expr::List(items))
                }
                "volumes" | "tmpfs" => {
                    let mut items = Vec::new();
                    self.mounts(k, v, &p, &mut items);
                    slot(&mut fields, &mut slots.mounts, "mounts", Expr::List(items));
                    None
                }
                "secrets" | "configs" => {
                    let mut items = Vec::new();
                    self.files(k, v, &p, &mut items);
                    slot(&mut fields, &mut slots.files, "files", Expr::List(items));
                    None
                }
                "networks" => {
                    let n = self.service_networks(v, &p);
                    f("networks", Expr::List(n))
                }
                "network_mode" | "pid" => self.namespace(k, v, &p),
                "depends_on" => self.depends_on(v, &p),
                "healthcheck" => self.health(v, &p).and_then(|e| f("health", e)),
                "restart" => self.text(v, &p, false).and_then(|e| f("restart", e)),
                "working_dir" => self.text(v, &p, false).and_then(|e| f("workdir", e)),
                "user" | "hostname" | "container_name" | "stop_signal" => {
                    self.text(v, &p, false).and_then(|e| f(&k.name, e))
                }
                "domainname" => {
                    self.warn(k, &p, "not translated: give the full name in `hostname`");
                    None
                }
                "labels" => self.string_map(v, &p, false).and_then(|e| f("labels", e)),
                "sysctls" => self.string_map(v, &p, false).and_then(|e| f("sysctls", e)),
                "mem_limit" => self.size(k, v, &p).and_then(|e| f("memory", e)),
                "shm_size" => self.size(k, v, &p).and_then(|e| f("shm_size", e)),
                "cpus" => self.cpus(k, v, &p).and_then(|e| f("cpus", e)),
                "read_only" | "privileged" | "init" | "tty" | "stdin_open" => self
                    .boolean(k, v, &p)
                    .and_then(|b| f(&k.name, Expr::raw(b.to_string()))),
                "cap_add" | "cap_drop" | "security_opt" | "dns" | "dns_search" | "group_add" => {
                    let items = self
                        .list(v, &p)
                        .into_iter()
                        .filter_map(|x| self.text(x, &p, false))
                        .collect();
                    f(&k.name, Expr::List(items))
                }
                "extra_hosts" => self.extra_hosts(v, &p),
                "stop_grace_period" => self
                    .duration(k, v, &p)
                    .and_then(|d| f("stop_timeout", Expr::raw(d))),
                "ulimits" => self.ulimits(v, &p),
                "devices" => {
                    let items = self
                        .list(v, &p)
                        .into_iter()
                        .filter_map(|x| self.device(x, &p))
                        .collect();
                    f("devices", Expr::List(items))
                }
                "logging" => self.logging(v, &p),
                "pull_policy" => match v.text() {
                    Some(x @ ("always" | "missing" | "never")) => f("pull", Expr::lit(x)),
                    Some("if_not_present") => f("pull", Expr::lit("missing")),
                    _ => {
                        self.warn(
                            k,
                            &p,
                            "not translated: stackc pulls `always`, `missing` or `never`",
                        );
                        None
                    }
                },
                "deploy" => {
                    self.deploy(v, &p, swarm, &mut fields, &mut comments);
                    None
                }
                x if x.starts_with("x-") => None,
                x => {
                    let why = UNTRANSLATED
                        .iter()
                        .find(|(n, _)| *n == x)
                        .map_or("not translated: stackc has no such field", |(_, w)| w);
                    self.warn(k, &p, why);
                    None
                }
            };
            if let Some(field) = field {
                fields.push(field);
            }
        }
        if let Some(i) = slots.env
            && !env_files.is_empty()
        {
            let env = std::mem::replace(&mut fields[i].value, Expr::Record(Vec::new()));
            let mut args = env_files;
            if !matches!(&env, Expr::Record(f) if f.is_empty()) {
                args.push(env);
            }
            fields[i].value = if args.len() == 1 {
                args.remove(0)
            } else {
                Expr::raw(format!(
                    "merge({})",
                    args.iter().map(Expr::inline).collect::<Vec<_>>().join(", ")
                ))
            };
            fields[i].comments.push(
                "`env_file`: read when compiling; `secret_dotenv(…)` keeps its values secret"
                    .into(),
            );
        }
        // Files are copied in before the start, which a read-only root refuses.
        let has_files = fields.iter().any(|f| f.key == "files");
        if has_files && let Some(at) = fields.iter().position(|f| f.key == "read_only") {
            fields.remove(at);
            self.warnings.push(format!(
                "{}:{}:{}: `{path}.read_only`: not translated: stackc copies `secrets` and `configs` \
                 into the container, which a read-only root filesystem refuses",
                self.file, key.line, key.col
            ));
        }
        let kind = if swarm {
            // What the service schema lacks is a container's only.
            let container_only = |f: &Field| field_def(Kind::Service, &f.key).is_none();
            for f in fields.iter().filter(|f| container_only(f)) {
                self.warnings.push(format!(
                    "{}:{}:{}: `{}`: not translated: a Swarm service takes no `{}`",
                    self.file, key.line, key.col, path, f.key
                ));
            }
            fields.retain(|f| !container_only(f));
            comments.push("a Swarm service: its `deploy` says how to schedule it".into());
            "service"
        } else {
            "container"
        };
        self.resources
            .push((kind.to_string(), name, fields, comments));
    }

    /// `build` → an `image` resource; the container runs `image.<name>`.
    fn build(
        &mut self,
        name: &str,
        node: &Node,
        image: Option<&Node>,
        path: &str,
    ) -> Option<Field> {
        let mut fields = Vec::new();
        let mut comments = vec![format!(
            "Compose's `build` of `{name}`: built before the containers that run it"
        )];
        if let Some(context) = node.text() {
            fields.push(Field::new("build", Expr::lit(&relative(context))));
        } else {
            let mut build = Vec::new();
            for (k, v) in self.mapping(node, path) {
                let p = join(path, &k.name);
                match k.name.as_str() {
                    "context" => {
                        let c = v.text().unwrap_or(".");
                        if c.contains("://") || c.starts_with("git@") {
                            self.warn(k, &p, "not translated: stackc builds from a directory");
                        }
                        build.insert(0, Field::new("context", Expr::lit(&relative(c))));
                    }
                    "dockerfile" | "target" => {
                        if let Some(t) = self.text(v, &p, false) {
                            build.push(Field::new(&k.name, t));
                        }
                    }
                    "args" => {
                        if let Some(m) = self.string_map(v, &p, false) {
                            build.push(Field::new("args", m));
                        }
                    }
                    _ => self.warn(k, &p, "not translated"),
                }
            }
            if !build.iter().any(|f| f.key == "context") {
                build.insert(0, Field::new("context", Expr::lit(".")));
            }
            fields.push(Field::new("build", Expr::Record(build)));
        }
        if let Some(image) = image
            && let Some(t) = self.text(image, &join(path, "image"), false)
        {
            comments.push("Compose's `image` beside `build`: the tag the build gets".into());
            fields.push(Field::new("tag", t));
        }
        self.images
            .push(text::block("image", name, &fields, &comments));
        Some(Field::new(
            "image",
            Expr::raw(text::reference("image", name)),
        ))
    }

    /// `command` and `entrypoint`: a string is split as a shell would, by
    /// stackc as by Compose; a list is taken as it is.
    fn words(&mut self, node: &Node, path: &str) -> Option<Expr> {
        match node.items() {
            Some(items) => Some(Expr::List(
                items
                    .iter()
                    .filter_map(|x| self.text(x, path, false))
                    .collect(),
            )),
            None if node.is_null() => None,
            None => self.text(node, path, false),
        }
    }

    /// `environment` as `env`: a mapping, password-like values secret.
    fn env(&mut self, node: &Node, path: &str, key: &Key) -> Expr {
        let mut fields = Vec::new();
        let pairs: Vec<(Key, Option<Node>)> = match node.entries() {
            Some(entries) => entries
                .iter()
                .map(|(k, v)| (k.clone(), (!v.is_null()).then(|| v.clone())))
                .collect(),
            None => self
                .list(node, path)
                .into_iter()
                .filter_map(|item| {
                    let t = item.text()?;
                    let (k, v) = match t.split_once('=') {
                        Some((k, v)) => (k, Some(v)),
                        None => (t, None),
                    };
                    let value = v.map(|v| Node {
                        value: crate::compose::yaml::Value::Scalar {
                            text: v.to_string(),
                            plain: false,
                        },
                        line: item.line,
                        col: item.col,
                    });
                    Some((
                        Key {
                            name: k.to_string(),
                            line: item.line,
                            col: item.col,
                        },
                        value,
                    ))
                })
                .collect(),
        };
        for (k, v) in pairs {
            let p = join(path, &k.name);
            let Some(v) = v else {
                self.warn(&k, &p, "takes its value from the shell running Compose: not translated; give it a `param`");
                continue;
            };
            let secret = is_secret_name(&k.name);
            let Some(value) = self.text(&v, &p, secret) else {
                continue;
            };
            let value = match value.as_lit() {
                Some(lit) if secret && !lit.is_empty() && !lit.starts_with('/') => {
                    Expr::raw(self.secret_literal(&k.name, &lit))
                }
                _ => value,
            };
            fields.push(Field::new(&k.name, value));
        }
        let _ = key;
        Expr::Record(fields)
    }

    fn env_files(&mut self, key: &Key, node: &Node, path: &str) -> Vec<Expr> {
        let mut out = Vec::new();
        for (i, item) in self.list(node, path).into_iter().enumerate() {
            let p = format!("{path}[{i}]");
            let (file, required) = match (item.text(), item.get("path").and_then(Node::text)) {
                (Some(f), _) => (f.to_string(), true),
                (None, Some(f)) => (
                    f.to_string(),
                    item.get("required").and_then(Node::as_bool) != Some(false),
                ),
                _ => {
                    self.error(item, &p, "expected a path");
                    continue;
                }
            };
            if !required && !self.dir.join(&file).exists() {
                self.warn(
                    key,
                    &p,
                    format!("`{file}` is optional and absent: left out"),
                );
                continue;
            }
            out.push(Expr::raw(format!("dotenv({})", text::quote(&file))));
        }
        out
    }

    /// `network_mode` and `pid`: `service:x` is a reference to the container.
    fn namespace(&mut self, key: &Key, node: &Node, path: &str) -> Option<Field> {
        let value = self.literal(key, node, path)?;
        let expr = match value.strip_prefix("service:") {
            Some(s) if self.services.iter().any(|x| x == s) => {
                Expr::raw(text::reference("container", s))
            }
            Some(s) => {
                self.error(node, path, format!("`{s}` is not a service of this file"));
                return None;
            }
            None => Expr::lit(&value),
        };
        Some(Field::new(&key.name, expr))
    }

    fn depends_on(&mut self, node: &Node, path: &str) -> Option<Field> {
        let mut items = Vec::new();
        let entries: Vec<(Key, Option<&Node>)> = self.named_entries(node, path);
        for (k, v) in entries {
            let p = join(path, &k.name);
            if !self.services.contains(&k.name) {
                self.error_key(
                    &k,
                    &p,
                    format!("`{}` is not a service of this file", k.name),
                );
                continue;
            }
            let reference = Expr::raw(text::reference("container", &k.name));
            let mut condition = None;
            for (ck, cv) in v.map(|v| self.mapping(v, &p)).unwrap_or_default() {
                let cp = join(&p, &ck.name);
                match (ck.name.as_str(), cv.text()) {
                    ("condition", Some("service_started")) => {}
                    ("condition", Some("service_healthy")) => condition = Some("healthy"),
                    ("condition", Some("service_completed_successfully")) => {
                        condition = Some("completed")
                    }
                    ("condition", _) => self.error(cv, &cp, "not a condition Compose knows"),
                    ("required", Some("true")) => {}
                    _ => self.warn(ck, &cp, "not translated"),
                }
            }
            items.push(match condition {
                None => reference,
                Some(c) => Expr::Record(vec![
                    Field::new("on", reference),
                    Field::new("condition", Expr::lit(c)),
                ]),
            });
        }
        Some(Field::new("depends_on", Expr::List(items)))
    }
}

/// Adds to the field a slot holds, or makes it.
fn slot(fields: &mut Vec<Field>, at: &mut Option<usize>, key: &str, value: Expr) {
    match (*at, value) {
        (Some(i), Expr::List(more)) => {
            if let Expr::List(items) = &mut fields[i].value {
                items.extend(more);
            }
        }
        (Some(i), Expr::Record(more)) => {
            if let Expr::Record(items) = &mut fields[i].value {
                items.extend(more);
            }
        }
        (Some(_), _) => {}
        (None, value) => {
            *at = Some(fields.len());
            fields.push(Field::new(key, value));
        }
    }
}

/// `deploy` for Swarm: it says how many or where, not only limits.
fn is_swarm(deploy: &Node) -> bool {
    [
        "placement",
        "update_config",
        "mode",
        "rollback_config",
        "endpoint_mode",
    ]
    .iter()
    .any(|k| deploy.get(k).is_some())
        || deploy
            .get("replicas")
            .and_then(Node::as_i64)
            .is_some_and(|n| n != 1)
}

/// `backend`, `backend/` → `./backend`: paths read as paths.
fn relative(path: &str) -> String {
    let trimmed = path.trim_end_matches('/');
    if trimmed.is_empty() || trimmed == "." {
        ".".into()
    } else if trimmed.starts_with('.') || trimmed.starts_with('/') {
        trimmed.to_string()
    } else {
        format!("./{trimmed}")
    }
}
