//! From a resource's checked field values to its normalized spec: defaults
//! filled, short forms expanded, values validated, secrets located.

use std::collections::BTreeMap;
use std::path::Path;
use std::rc::Rc;

use super::value::{Map, Value};
use crate::deployment::schema::{PROTOCOLS, RESTART_POLICIES};
use crate::deployment::*;
use crate::diagnostic::ErrorCode;
use crate::types::Kind;

/// Finds a resource of the same module instance by kind and name: (address, Docker name).
pub type Lookup<'a> = dyn Fn(Kind, &str) -> Option<(Rc<str>, Rc<str>)> + 'a;

/// What normalization needs to know beyond the field values.
pub struct Context<'a> {
    pub docker_name: &'a str,
    /// Directory relative paths resolve against; `None` in stdlib modules.
    pub dir: Option<&'a Path>,
    /// Networks and volumes named by a string resolve to the ones declared
    /// in the same module instance; other names are external objects.
    pub lookup: &'a Lookup<'a>,
}

/// A value the schema's types accept but Docker would not.
#[derive(Debug)]
pub struct FieldError {
    pub field: String,
    pub message: String,
    pub help: Option<String>,
    pub code: ErrorCode,
}

pub struct Normalized {
    pub spec: Spec,
    pub sensitive_paths: Vec<String>,
    /// The image resource a container or service runs, if any.
    pub image: Option<Rc<str>>,
    /// Resources referred to by name (`"data:/srv"`, `networks = ["backend"]`).
    pub implicit_deps: Vec<Rc<str>>,
}

/// A resource's evaluated fields, in source order, with the span of each value.
#[derive(Default)]
pub struct Fields<'a> {
    entries: Vec<(&'a str, Value, crate::source::Span)>,
}

impl<'a> Fields<'a> {
    pub fn push(&mut self, name: &'a str, value: Value, span: crate::source::Span) {
        self.entries.push((name, value, span));
    }

    /// A field's value; a few fields, so a scan beats hashing.
    pub fn get(&self, name: &str) -> Option<&Value> {
        self.entries
            .iter()
            .find(|(n, _, _)| *n == name)
            .map(|(_, v, _)| v)
    }

    pub fn span(&self, name: &str) -> Option<crate::source::Span> {
        self.entries
            .iter()
            .find(|(n, _, _)| *n == name)
            .map(|(_, _, s)| *s)
    }
}

pub fn normalize(
    kind: Kind,
    fields: &Fields<'_>,
    ctx: &Context<'_>,
) -> Result<Normalized, Vec<FieldError>> {
    let mut n = Normalizer {
        ctx,
        sensitive: Vec::new(),
        errors: Vec::new(),
        image: None,
        implicit: Vec::new(),
    };
    let spec = match kind {
        Kind::Image => Spec::Image(Box::new(n.image_spec(fields))),
        Kind::Network => Spec::Network(Box::new(n.network(fields))),
        Kind::Volume => Spec::Volume(Box::new(n.volume(fields))),
        Kind::Container => Spec::Container(Box::new(n.container(fields))),
        Kind::Service => Spec::Service(Box::new(n.service(fields))),
    };
    if n.errors.is_empty() {
        let mut sensitive_paths = n.sensitive;
        sensitive_paths.sort();
        sensitive_paths.dedup();
        Ok(Normalized {
            spec,
            sensitive_paths,
            image: n.image,
            implicit_deps: n.implicit,
        })
    } else {
        Err(n.errors)
    }
}

struct Normalizer<'c, 'a> {
    ctx: &'c Context<'a>,
    sensitive: Vec<String>,
    errors: Vec<FieldError>,
    image: Option<Rc<str>>,
    implicit: Vec<Rc<str>>,
}

fn get<'f>(fields: &'f Fields<'_>, name: &str) -> Option<&'f Value> {
    fields.get(name).filter(|v| !matches!(v, Value::Null))
}

fn items(v: Option<&Value>) -> &[Value] {
    match v {
        Some(Value::List(xs)) => xs,
        _ => &[],
    }
}

fn entries(v: Option<&Value>) -> Vec<(&str, &Value)> {
    match v {
        Some(Value::Map(m)) => m
            .iter()
            .filter(|(_, v)| !matches!(v, Value::Null))
            .map(|(k, v)| (k.as_str(), v))
            .collect(),
        _ => Vec::new(),
    }
}

impl Normalizer<'_, '_> {
    fn error(&mut self, field: &str, message: impl Into<String>, help: Option<&str>) {
        self.errors.push(FieldError {
            field: field.to_string(),
            message: message.into(),
            help: help.map(str::to_string),
            code: ErrorCode::InvalidValue,
        });
    }

    fn error_code(
        &mut self,
        code: ErrorCode,
        field: &str,
        message: impl Into<String>,
        help: Option<&str>,
    ) {
        self.error(field, message, help);
        if let Some(last) = self.errors.last_mut() {
            last.code = code;
        }
    }

    /// The Docker name of a network or volume given as a reference or a
    /// name: a declared one of that name (a dependency), else an external one.
    fn object_name(&mut self, v: &Value, kind: Kind, field: &str) -> Option<String> {
        match v {
            Value::Ref(r) => Some(r.name.to_string()),
            Value::Str(s) if s.secret => {
                self.error_code(
                    ErrorCode::SecretExposed,
                    field,
                    format!("a {kind} name cannot be built from a secret"),
                    Some("names are shown in plans and by Docker; keep secrets in values"),
                );
                None
            }
            Value::Str(s) => match (self.ctx.lookup)(kind, &s.text) {
                Some((address, name)) => {
                    self.implicit.push(address);
                    Some(name.to_string())
                }
                None => Some(s.text.to_string()),
            },
            _ => None,
        }
    }

    /// The text of a scalar, recording its pointer when it is secret.
    fn text(&mut self, v: &Value, pointer: impl FnOnce() -> String) -> String {
        match v.to_text() {
            Some((t, secret)) => {
                if secret {
                    self.sensitive.push(pointer());
                }
                t.to_string()
            }
            None => String::new(),
        }
    }

    fn opt_text(&mut self, fields: &Fields<'_>, name: &str) -> Option<String> {
        get(fields, name).map(|v| self.text(v, || format!("/{name}")))
    }

    fn bool(fields: &Fields<'_>, name: &str) -> bool {
        matches!(get(fields, name), Some(Value::Bool(true)))
    }

    fn string_map(&mut self, v: Option<&Value>, field: &str) -> BTreeMap<String, String> {
        let mut out = BTreeMap::new();
        for (k, v) in entries(v) {
            let text = self.text(v, || format!("/{field}/{}", pointer_segment(k)));
            out.insert(k.to_string(), text);
        }
        out
    }

    fn labels(&mut self, fields: &Fields<'_>) -> BTreeMap<String, String> {
        let labels = self.string_map(get(fields, "labels"), "labels");
        for key in labels.keys() {
            if key.starts_with("io.stackc.") {
                self.error(
                    "labels",
                    format!("label `{key}` uses the reserved prefix `io.stackc.`"),
                    Some("stackc sets these labels itself"),
                );
            }
        }
        labels
    }

    fn duration(fields: &Fields<'_>, name: &str, default: i64) -> Millis {
        match get(fields, name) {
            Some(Value::Duration(ms)) => Millis(*ms),
            _ => Millis(default),
        }
    }

    fn non_negative(&mut self, field: &str, d: Millis) -> Millis {
        if d.0 < 0 {
            self.error(field, format!("`{field}` cannot be negative"), None);
        }
        d
    }

    /// `command`/`entrypoint`: a list of words, or a string split like a shell would.
    fn words(&mut self, fields: &Fields<'_>, name: &str) -> Option<Vec<String>> {
        match get(fields, name)? {
            Value::List(xs) => Some(
                xs.iter()
                    .enumerate()
                    .map(|(i, x)| self.text(x, || format!("/{name}/{i}")))
                    .collect(),
            ),
            v => {
                let (text, secret) = v.to_text()?;
                match split_words(&text) {
                    Some(words) => {
                        if secret {
                            self.sensitive
                                .extend((0..words.len()).map(|i| format!("/{name}/{i}")));
                        }
                        Some(words)
                    }
                    None => {
                        self.error(
                            name,
                            format!("`{name}` has an unclosed quote"),
                            Some("or write it as a list of words"),
                        );
                        None
                    }
                }
            }
        }
    }

    // ------------------------------------------------------------ image

    fn image_spec(&mut self, fields: &Fields<'_>) -> ImageSpec {
        let reference = self.reference_text(fields, "ref");
        let push = Self::bool(fields, "push");
        let mut tag = self.reference_text(fields, "tag");
        let build = match get(fields, "build") {
            Some(Value::Map(b)) => self.build(b),
            _ => None,
        };
        match (get(fields, "ref"), get(fields, "build")) {
            (Some(_), Some(_)) => self.error(
                "build",
                "an image has either `ref` or `build`, not both",
                None,
            ),
            (None, None) => self.error(
                "ref",
                "an image needs `ref` (to pull) or `build`",
                Some("`ref = \"nginx:1.27\"` or `build = { context = \"./app\" }`"),
            ),
            _ => {}
        }
        if let Some(r) = &reference {
            if !valid_reference(r) {
                self.error(
                    "ref",
                    format!("`{r}` is not a valid image reference"),
                    Some("like `nginx:1.27` or `registry:5000/team/app:1.0`"),
                );
            }
            if tag.is_some() {
                self.error(
                    "tag",
                    "`tag` names what a build produces; a `ref` image is already named",
                    None,
                );
            }
            if push {
                self.error("push", "only built images can be pushed", None);
            }
        }
        if let Some(t) = &tag
            && !valid_reference(t)
        {
            self.error(
                "tag",
                format!("`{t}` is not a valid image reference"),
                Some("like `app:1.0` or `127.0.0.1:5000/app:1.0`"),
            );
        }
        if let Some(b) = &build
            && tag.is_none()
        {
            if push {
                self.error(
                    "push",
                    "pushing needs a `tag` naming the registry",
                    Some("`tag = \"127.0.0.1:5000/app:1.0\"`"),
                );
            }
            let short = b.content_hash.get(..12).unwrap_or(&b.content_hash);
            tag = Some(format!("{}:{short}", self.ctx.docker_name));
        }
        ImageSpec {
            reference,
            build,
            tag,
            push,
        }
    }

    fn build(&mut self, b: &Map) -> Option<BuildSpec> {
        let context_text = b
            .get("context")
            .and_then(|v| v.to_text())
            .map(|(t, _)| t.to_string())?;
        let context = self.path(&context_text, "build")?;
        let dockerfile = match b.get("dockerfile").and_then(|v| v.to_text()) {
            Some((t, _)) => t.to_string(),
            None => "Dockerfile".to_string(),
        };
        let mut args = BTreeMap::new();
        for (k, v) in entries(b.get("args")) {
            let text = self.text(v, || format!("/build/args/{}", pointer_segment(k)));
            args.insert(k.to_string(), text);
        }
        let target = b
            .get("target")
            .and_then(|v| v.to_text())
            .map(|(t, _)| t.to_string());
        let content_hash = match crate::build_context::hash(
            Path::new(&context),
            &dockerfile,
            &args,
            target.as_deref(),
        ) {
            Ok(h) => h,
            Err(e) => {
                self.error_code(ErrorCode::FileError, "build", e.to_string(), None);
                return None;
            }
        };
        Some(BuildSpec {
            context,
            dockerfile,
            args,
            target,
            content_hash,
        })
    }

    /// An absolute path for a path relative to the source file.
    fn path(&mut self, p: &str, field: &str) -> Option<String> {
        let path = Path::new(p);
        if path.is_absolute() {
            return Some(crate::resolve::normalize(path).display().to_string());
        }
        let Some(dir) = self.ctx.dir else {
            self.error(
                field,
                format!("relative path `{p}` in a standard library module"),
                Some("pass an absolute path as a parameter"),
            );
            return None;
        };
        let joined = dir.join(path);
        let absolute = std::path::absolute(&joined).unwrap_or(joined);
        Some(crate::resolve::normalize(&absolute).display().to_string())
    }

    // ------------------------------------------------------------ network, volume

    fn network(&mut self, fields: &Fields<'_>) -> NetworkSpec {
        let subnet = self.opt_text(fields, "subnet");
        if let Some(s) = &subnet
            && !valid_cidr(s)
        {
            self.error(
                "subnet",
                format!("`{s}` is not a subnet in CIDR notation"),
                Some("like `10.20.0.0/16`"),
            );
        }
        NetworkSpec {
            driver: self
                .opt_text(fields, "driver")
                .unwrap_or_else(|| "bridge".into()),
            internal: Self::bool(fields, "internal"),
            attachable: Self::bool(fields, "attachable"),
            subnet,
            labels: self.labels(fields),
        }
    }

    fn volume(&mut self, fields: &Fields<'_>) -> VolumeSpec {
        VolumeSpec {
            driver: self
                .opt_text(fields, "driver")
                .unwrap_or_else(|| "local".into()),
            options: self.string_map(get(fields, "options"), "options"),
            labels: self.labels(fields),
        }
    }

    // ------------------------------------------------------------ container, service

    /// An image reference given as text: shown everywhere, so never secret.
    fn reference_text(&mut self, fields: &Fields<'_>, field: &str) -> Option<String> {
        let v = get(fields, field)?;
        if v.is_secret() {
            self.error_code(
                ErrorCode::SecretExposed,
                field,
                "an image reference cannot be built from a secret",
                Some("image references are shown in plans and by Docker; keep secrets in values"),
            );
            return None;
        }
        v.to_text().map(|(t, _)| t.to_string())
    }

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

    fn container(&mut self, fields: &Fields<'_>) -> ContainerSpec {
        ContainerSpec {
            run: self.run(fields),
            expose: self.expose(fields),
            restart: self.restart(fields),
            privileged: Self::bool(fields, "privileged"),
        }
    }

    fn service(&mut self, fields: &Fields<'_>) -> ServiceSpec {
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

/// Splits a command line into words: whitespace separates, quotes group,
/// backslash escapes. `None` for an unclosed quote.
pub fn split_words(text: &str) -> Option<Vec<String>> {
    let mut words = Vec::new();
    let mut word = String::new();
    let mut in_word = false;
    let mut quote: Option<char> = None;
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        match (quote, c) {
            (Some(q), c) if c == q => quote = None,
            (Some('"'), '\\') => {
                if let Some(n) = chars.next() {
                    word.push(n);
                }
            }
            (Some(_), c) => word.push(c),
            (None, '\'' | '"') => {
                quote = Some(c);
                in_word = true;
            }
            (None, '\\') => {
                if let Some(n) = chars.next() {
                    word.push(n);
                }
                in_word = true;
            }
            (None, c) if c.is_whitespace() => {
                if in_word {
                    words.push(std::mem::take(&mut word));
                    in_word = false;
                }
            }
            (None, c) => {
                word.push(c);
                in_word = true;
            }
        }
    }
    if quote.is_some() {
        return None;
    }
    if in_word {
        words.push(word);
    }
    Some(words)
}

/// Parses Compose's port short forms, expanding ranges.
pub fn parse_port(text: &str) -> Result<Vec<PortSpec>, String> {
    let bad = || format!("`{text}` is not a port mapping");
    let (mapping, protocol) = match text.rsplit_once('/') {
        Some((m, p)) if PROTOCOLS.contains(&p) => (m, p),
        Some((_, p)) => {
            return Err(format!(
                "unknown protocol `{p}` in `{text}` (tcp, udp or sctp)"
            ));
        }
        None => (text, "tcp"),
    };
    // An IPv6 address is written in brackets: "[::1]:8080:80".
    let (ip, rest) = if let Some(after) = mapping.strip_prefix('[') {
        let (ip, rest) = after.split_once("]:").ok_or_else(bad)?;
        (Some(ip.to_string()), rest)
    } else {
        let parts: Vec<&str> = mapping.split(':').collect();
        match parts.len() {
            3 => (Some(parts[0].to_string()), &mapping[parts[0].len() + 1..]),
            1 | 2 => (None, mapping),
            _ => return Err(bad()),
        }
    };
    if let Some(ip) = &ip
        && ip.parse::<std::net::IpAddr>().is_err()
    {
        return Err(format!("`{ip}` in `{text}` is not an IP address"));
    }
    let (host, container) = match rest.split_once(':') {
        Some((h, c)) => (if h.is_empty() { None } else { Some(h) }, c),
        None => (None, rest),
    };
    let container = port_range(container, text)?;
    let host = host.map(|h| port_range(h, text)).transpose()?;
    if let Some(h) = &host
        && h.len() != container.len()
    {
        return Err(if container.len() == 1 {
            format!(
                "`{text}`: a range of host ports for one container port is not supported; pick one host port"
            )
        } else {
            format!(
                "`{text}` maps {} host ports to {} container ports",
                h.len(),
                container.len()
            )
        });
    }
    Ok(container
        .iter()
        .enumerate()
        .map(|(i, c)| PortSpec {
            container: *c,
            protocol: protocol.to_string(),
            host: host.as_ref().map(|h| h[i]),
            ip: ip.clone(),
        })
        .collect())
}

fn port_range(text: &str, whole: &str) -> Result<Vec<u16>, String> {
    let port = |p: &str| -> Result<u16, String> {
        match p.parse::<u32>() {
            Ok(n) if (1..=65535).contains(&n) => Ok(n as u16),
            Ok(n) => Err(format!(
                "port {n} in `{whole}` is out of range (1 to 65535)"
            )),
            Err(_) => Err(format!("`{p}` in `{whole}` is not a port number")),
        }
    };
    match text.split_once('-') {
        Some((a, b)) => {
            let (a, b) = (port(a)?, port(b)?);
            if a > b {
                return Err(format!("port range `{text}` in `{whole}` runs backwards"));
            }
            Ok((a..=b).collect())
        }
        None => Ok(vec![port(text)?]),
    }
}

/// A loose check of Docker's reference grammar: `[host[:port]/]path[:tag][@digest]`.
pub fn valid_reference(r: &str) -> bool {
    if r.is_empty() || r.len() > 255 || r.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return false;
    }
    let (name, digest) = match r.split_once('@') {
        Some((n, d)) => (n, Some(d)),
        None => (r, None),
    };
    if let Some(d) = digest
        && !d.contains(':')
    {
        return false;
    }
    // The tag is after the last ':' that follows the last '/'.
    let last_slash = name.rfind('/').map_or(0, |i| i + 1);
    let (path, tag) = match name[last_slash..].rfind(':') {
        Some(i) => (&name[..last_slash + i], Some(&name[last_slash + i + 1..])),
        None => (name, None),
    };
    if let Some(t) = tag {
        let ok = !t.is_empty()
            && t.len() <= 128
            && t.chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-'))
            && !t.starts_with(['.', '-']);
        if !ok {
            return false;
        }
    }
    let mut components: Vec<&str> = path.split('/').collect();
    // The first component may be a registry host (with '.' or ':' or "localhost"); it may have uppercase.
    if components.len() > 1 && (components[0].contains(['.', ':']) || components[0] == "localhost")
    {
        components.remove(0);
    }
    !components.is_empty()
        && components.iter().all(|c| {
            !c.is_empty()
                && c.chars().all(|ch| {
                    ch.is_ascii_lowercase() || ch.is_ascii_digit() || matches!(ch, '.' | '_' | '-')
                })
                && c.starts_with(|ch: char| ch.is_ascii_alphanumeric())
        })
}

fn valid_cidr(s: &str) -> bool {
    let Some((ip, prefix)) = s.split_once('/') else {
        return false;
    };
    let Ok(ip) = ip.parse::<std::net::IpAddr>() else {
        return false;
    };
    let max = if ip.is_ipv4() { 32 } else { 128 };
    prefix.parse::<u8>().is_ok_and(|p| p <= max)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn commands_split_like_a_shell() {
        assert_eq!(
            split_words("sh -c 'echo hi there'"),
            Some(vec!["sh".into(), "-c".into(), "echo hi there".into()])
        );
        assert_eq!(
            split_words(r#"a "b \"c\"" d\ e"#),
            Some(vec!["a".into(), "b \"c\"".into(), "d e".into()])
        );
        assert_eq!(split_words("x 'open"), None);
        assert_eq!(split_words("  "), Some(vec![]));
    }

    #[test]
    fn port_short_forms_expand() {
        let p = |c: u16, h: Option<u16>, ip: Option<&str>, proto: &str| PortSpec {
            container: c,
            host: h,
            ip: ip.map(str::to_string),
            protocol: proto.into(),
        };
        assert_eq!(parse_port("80"), Ok(vec![p(80, None, None, "tcp")]));
        assert_eq!(
            parse_port("8080:80"),
            Ok(vec![p(80, Some(8080), None, "tcp")])
        );
        assert_eq!(
            parse_port("127.0.0.1:8080:80/udp"),
            Ok(vec![p(80, Some(8080), Some("127.0.0.1"), "udp")])
        );
        assert_eq!(
            parse_port("127.0.0.1::80"),
            Ok(vec![p(80, None, Some("127.0.0.1"), "tcp")])
        );
        assert_eq!(
            parse_port("[::1]:53:53/udp"),
            Ok(vec![p(53, Some(53), Some("::1"), "udp")])
        );
        assert_eq!(
            parse_port("8000-8001:80-81"),
            Ok(vec![
                p(80, Some(8000), None, "tcp"),
                p(81, Some(8001), None, "tcp")
            ])
        );
        for bad in [
            "0",
            "70000:80",
            "a:b",
            "80/icmp",
            "1:2:3:4",
            "8000-8010:80",
            "90-80",
        ] {
            assert!(parse_port(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn image_references_follow_docker_rules() {
        for good in [
            "nginx",
            "nginx:1.27",
            "library/nginx:1.27",
            "127.0.0.1:5000/team/app:v1",
            "app@sha256:abc",
            "my-app_2.x:latest",
        ] {
            assert!(valid_reference(good), "{good}");
        }
        for bad in [
            "",
            "Nginx",
            "nginx:",
            "nginx:-x",
            "a b",
            "app@sha256",
            "/app",
        ] {
            assert!(!valid_reference(bad), "{bad}");
        }
    }
}
