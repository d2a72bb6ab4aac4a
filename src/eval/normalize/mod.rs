//! From a resource's checked field values to its normalized spec: defaults
//! filled, short forms expanded, values validated, secrets located. Images,
//! networks and volumes are here; containers and services in `container`,
//! and the parsing of short forms in `short_forms`.
//!
//! Secrets are marked where a value is placed in the spec: a scalar field
//! when it is read, a list's items only once the list is in its final order
//! ([`Normalizer::place`]). A secret never chooses where it lands among
//! values that are shown, never becomes a name or a key, and never reaches
//! Docker's metadata (labels, build args).

mod container;
mod files;
mod mounts;
mod networking;
mod options;
mod service;
mod short_forms;

use std::collections::BTreeMap;
use std::path::Path;
use std::rc::Rc;

use self::short_forms::{split_words, valid_cidr, valid_reference};
use super::value::{Map, Value};
use crate::deployment::Kind;
use crate::deployment::*;
use crate::diagnostic::ErrorCode;

/// Finds a resource of the same module instance by kind and name: (address, Docker name).
pub type Lookup<'a> = dyn Fn(Kind, &str) -> Option<(Rc<str>, Rc<str>)> + 'a;

/// What normalization needs to know beyond the field values.
pub struct Context<'a> {
    pub docker_name: &'a str,
    /// The resource's address (`container.app`).
    pub address: &'a str,
    /// Directory relative paths resolve against; `None` in stdlib modules.
    pub dir: Option<&'a Path>,
    /// Where build contexts may lie.
    pub files: &'a crate::files::Confinement,
    /// Networks and volumes named by a string resolve to the ones declared
    /// in the same module instance; other names are external objects.
    pub lookup: &'a Lookup<'a>,
    /// The name a container answers to on its networks besides its Docker
    /// name: its Docker name without the stack's prefix (`web`, `db-server`).
    pub logical_name: &'a str,
    /// The network of containers that name none: (address, Docker name).
    pub default_network: (Rc<str>, Rc<str>),
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
/// A name is borrowed from the source, or owned when a spread record gave it.
#[derive(Default)]
pub struct Fields<'a> {
    entries: Vec<(std::borrow::Cow<'a, str>, Value, crate::source::Span)>,
}

impl<'a> Fields<'a> {
    pub fn push(
        &mut self,
        name: impl Into<std::borrow::Cow<'a, str>>,
        value: Value,
        span: crate::source::Span,
    ) {
        self.entries.push((name.into(), value, span));
    }

    /// A field's value; a few fields, so a scan beats hashing.
    pub fn get(&self, name: &str) -> Option<&Value> {
        self.entries
            .iter()
            .find(|(n, _, _)| *n == name)
            .map(|(_, v, _)| v)
    }

    /// Each field's name and span, for the lint (`eval::Place`).
    pub fn places(&self) -> Vec<(String, crate::source::Span)> {
        self.entries
            .iter()
            .map(|(n, _, s)| (n.to_string(), *s))
            .collect()
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
        crate::deployment::outermost(&mut sensitive_paths);
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

/// A list's items, and whether the list itself (its length) is secret; its
/// items then are too.
fn items(v: Option<&Value>) -> (&[Value], bool) {
    match v.map(Value::reveal) {
        Some((Value::List(xs), secret)) => (xs, secret),
        _ => (&[], false),
    }
}

/// A map's entries that are set, and whether the map itself (its keys) is secret.
fn entries(v: Option<&Value>) -> (Vec<(&str, &Value)>, bool) {
    match v.map(Value::reveal) {
        Some((Value::Map(m), secret)) => (
            m.iter()
                .filter(|(_, v)| !matches!(v, Value::Null))
                .map(|(k, v)| (k.as_str(), v))
                .collect(),
            secret,
        ),
        _ => (Vec::new(), false),
    }
}

/// One item of a list field, with the pointers of its secret parts relative
/// to the item (`""` for the whole item, `/host`).
pub(super) struct Marked<T> {
    pub item: T,
    pub marks: Vec<String>,
}

impl<T> Marked<T> {
    fn new(item: T, secret: bool) -> Marked<T> {
        Marked {
            item,
            marks: if secret {
                vec![String::new()]
            } else {
                Vec::new()
            },
        }
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
            Value::Secret(_) => {
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
        if v.is_tainted() {
            self.sensitive.push(pointer());
        }
        v.to_text().map(|(t, _)| t.to_string()).unwrap_or_default()
    }

    /// An optional text field; a secret `null` is marked too (whether it is set is secret).
    fn opt_text(&mut self, fields: &Fields<'_>, name: &str) -> Option<String> {
        let v = get(fields, name)?;
        let text = self.text(v, || format!("/{name}"));
        (!matches!(v.reveal().0, Value::Null)).then_some(text)
    }

    /// A bool field, marked when secret.
    fn bool(&mut self, fields: &Fields<'_>, name: &str) -> bool {
        match get(fields, name).map(Value::reveal) {
            Some((v, secret)) => {
                if secret {
                    self.sensitive.push(format!("/{name}"));
                }
                matches!(v, Value::Bool(true))
            }
            None => false,
        }
    }

    /// Records every mark of a list's items at their index: the list's
    /// final order, after any sorting.
    fn place<T>(&mut self, pointer: &str, items: Vec<Marked<T>>, whole: bool) -> Vec<T> {
        if whole {
            self.sensitive.push(pointer.to_string());
        }
        items
            .into_iter()
            .enumerate()
            .map(|(i, m)| {
                for mark in &m.marks {
                    self.sensitive.push(format!("{pointer}/{i}{mark}"));
                }
                m.item
            })
            .collect()
    }

    /// A string map whose keys are shown (`options`): a secret map, whose
    /// keys would be secret, is refused.
    fn string_map(&mut self, v: Option<&Value>, field: &str) -> BTreeMap<String, String> {
        let mut out = BTreeMap::new();
        let (entries, secret_keys) = entries(v);
        if secret_keys {
            self.secret_keys(field);
            return out;
        }
        for (k, v) in entries {
            let text = self.text(v, || format!("/{field}/{}", pointer_segment(k)));
            out.insert(k.to_string(), text);
        }
        out
    }

    /// `NAME=value`s written as a map (`{ A = 1 }`) or as Compose's list
    /// (`["A=1"]`): `env` and build `args`. `field` locates errors; `path`
    /// is the JSON pointer of the result, whose last part names it in messages.
    pub(super) fn assignments(
        &mut self,
        v: Option<&Value>,
        field: &str,
        path: &str,
    ) -> BTreeMap<String, String> {
        if !matches!(v.map(|v| v.reveal().0), Some(Value::List(_))) {
            return self.string_map(v, path);
        }
        let what = path.rsplit('/').next().unwrap_or(path);
        let (list, whole) = items(v);
        let mut out = BTreeMap::new();
        if whole || list.iter().any(Value::is_tainted) {
            self.error_code(
                ErrorCode::SecretExposed,
                field,
                format!("an `{what}` entry `NAME=value` built from a secret would make its name secret"),
                Some(&format!("write `{what}` as a map, `{what} = {{ NAME = value }}`: the value may be a secret, the name is shown")),
            );
            return out;
        }
        for x in list.iter() {
            let Some((text, _)) = x.to_text() else {
                continue;
            };
            match text.split_once('=') {
                Some((k, v)) if !k.is_empty() => {
                    if out.insert(k.to_string(), v.to_string()).is_some() {
                        self.error(field, format!("`{k}` is set twice in `{what}`"), None);
                    }
                }
                _ => self.error(
                    field,
                    format!("`{text}` is not `NAME=value`"),
                    // `["HOME"]` passes a variable through in Compose.
                    (field == "env")
                        .then_some("stackc never reads its own environment: give every value"),
                ),
            }
        }
        out
    }

    fn secret_keys(&mut self, field: &str) {
        self.error_code(
            ErrorCode::SecretExposed,
            field,
            format!("the keys of `{field}` cannot be chosen by a secret"),
            Some(
                "keys are shown in plans and by Docker: write them out, and keep secrets in values",
            ),
        );
    }

    /// Labels are Docker metadata (`docker inspect`, `docker ps --filter`):
    /// no secret may be in one.
    fn labels(&mut self, fields: &Fields<'_>) -> BTreeMap<String, String> {
        self.labels_of(fields, "labels")
    }

    /// Labels under a field of that name (`labels`, a service's `container_labels`).
    fn labels_of(&mut self, fields: &Fields<'_>, name: &str) -> BTreeMap<String, String> {
        if get(fields, name).is_some_and(Value::is_secret) {
            self.secret_in_metadata(
                name,
                "a label cannot hold a secret",
                "labels are shown by `docker inspect` to anyone who can reach the engine; pass secrets in `env` or `files`",
            );
            return BTreeMap::new();
        }
        let labels = self.string_map(get(fields, name), name);
        for key in labels.keys() {
            if key.starts_with("io.stackc.") {
                self.error(
                    name,
                    format!("label `{key}` uses the reserved prefix `io.stackc.`"),
                    Some("stackc sets these labels itself"),
                );
            }
        }
        labels
    }

    /// A text field `docker inspect` shows (`user`, `workdir`, `hostname`):
    /// no secret may be in it.
    fn shown_text(&mut self, fields: &Fields<'_>, name: &str) -> Option<String> {
        if get(fields, name).is_some_and(Value::is_secret) {
            self.secret_in_metadata(
                name,
                &format!("`{name}` cannot hold a secret"),
                "`docker inspect` shows it to anyone who can reach the engine; pass secrets in `env` or `files`",
            );
            return None;
        }
        self.opt_text(fields, name)
    }

    fn secret_in_metadata(&mut self, field: &str, message: &str, help: &str) {
        self.error_code(ErrorCode::SecretInMetadata, field, message, Some(help));
    }

    /// A duration field, marked when secret.
    fn duration(&mut self, fields: &Fields<'_>, name: &str, default: i64) -> Millis {
        match get(fields, name).map(Value::reveal) {
            Some((v, secret)) => {
                if secret {
                    self.sensitive.push(format!("/{name}"));
                }
                match v {
                    Value::Duration(ms) => Millis(*ms),
                    _ => Millis(default),
                }
            }
            None => Millis(default),
        }
    }

    fn non_negative(&mut self, field: &str, d: Millis) -> Millis {
        if d.0 < 0 {
            self.error(field, format!("`{field}` cannot be negative"), None);
        }
        d
    }

    /// `command`/`entrypoint`: a list of words, or a string split like a shell would.
    /// A secret list, or a secret string split into words, marks the list too:
    /// how many words there are is secret.
    fn words(&mut self, fields: &Fields<'_>, name: &str) -> Option<Vec<String>> {
        match get(fields, name)?.reveal() {
            (Value::List(xs), whole) => {
                if whole {
                    self.sensitive.push(format!("/{name}"));
                }
                Some(
                    xs.iter()
                        .enumerate()
                        .map(|(i, x)| self.text(x, || format!("/{name}/{i}")))
                        .collect(),
                )
            }
            (Value::Null, true) => {
                self.sensitive.push(format!("/{name}"));
                None
            }
            (v, secret) => {
                let (text, _) = v.to_text()?;
                match split_words(&text) {
                    Some(words) => {
                        if secret {
                            self.sensitive.push(format!("/{name}"));
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
        let push = self.bool(fields, "push");
        let mut tag = self.reference_text(fields, "tag");
        let build = match get(fields, "build").map(Value::reveal) {
            Some((Value::Map(b), false)) => self.build(b),
            // `build = "./app"`: Compose's short form of `{ context = "./app" }`.
            Some((context @ Value::Str(_), false)) => {
                let mut b = Map::default();
                b.insert("context".to_string(), context.clone());
                self.build(&b)
            }
            Some((_, true)) => {
                self.error_code(
                    ErrorCode::SecretExposed,
                    "build",
                    "a build cannot be chosen by a secret",
                    Some("write the build's fields out; a secret may be in `context`, `dockerfile` or `target`"),
                );
                None
            }
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
        // Build args stay in the image: `docker history` shows them.
        if b.get("args").is_some_and(Value::is_secret) {
            self.secret_in_metadata(
                "build",
                "a build arg cannot hold a secret",
                "build args stay in the image, where `docker history` shows them; pass secrets at run time in `env` or `files`",
            );
            return None;
        }
        let context_value = b.get("context")?;
        let context_text = self.text(context_value, || "/build/context".into());
        let context = self.path(&context_text, "build")?;
        // The whole context is sent to the engine: it must lie in the stack's tree.
        if let Err(e) = self.ctx.files.resolve(Path::new(&context)) {
            self.error_code(ErrorCode::FileError, "build", e.to_string(), e.help());
            return None;
        }
        let set = |k: &str| b.get(k).filter(|v| !matches!(v, Value::Null));
        let dockerfile = match set("dockerfile") {
            Some(v) => self.text(v, || "/build/dockerfile".into()),
            None => "Dockerfile".to_string(),
        };
        let args = self.assignments(b.get("args"), "build", "build/args");
        let target = set("target").map(|v| self.text(v, || "/build/target".into()));
        // The content hash names the image (its tag): secrets go into it masked.
        let masked = |v: Option<&Value>, text: &str| match v {
            Some(v) if v.is_tainted() => crate::deployment::SECRET_MASK.to_string(),
            _ => text.to_string(),
        };
        let hashed_dockerfile = masked(set("dockerfile"), &dockerfile);
        let hashed_target = target.as_deref().map(|t| masked(set("target"), t));
        let content_hash = match crate::build_context::hash(
            Path::new(&context),
            &dockerfile,
            &hashed_dockerfile,
            &args,
            hashed_target.as_deref(),
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
        // From the stack's real directory: a stack reached through a
        // symbolic link plans the same as from inside it.
        let real = dir.canonicalize();
        let joined = real.as_deref().unwrap_or(dir).join(path);
        let absolute = std::path::absolute(&joined).unwrap_or(joined);
        Some(crate::resolve::normalize(&absolute).display().to_string())
    }

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
        let spec = NetworkSpec {
            driver: self
                .opt_text(fields, "driver")
                .unwrap_or_else(|| "bridge".into()),
            internal: self.bool(fields, "internal"),
            attachable: self.bool(fields, "attachable"),
            subnet,
            labels: self.labels(fields),
            encrypted: self.bool(fields, "encrypted"),
        };
        if spec.encrypted && spec.driver != "overlay" {
            self.error(
                "encrypted",
                "only an overlay network is encrypted: traffic on a bridge network never leaves its host",
                Some("set `driver = \"overlay\"`, or leave `encrypted` out"),
            );
        }
        spec
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
}
