//! `stackc import-compose`: a Compose file as an idiomatic `.stack` file.
//!
//! Each service becomes a `container` (a Swarm `service` when its `deploy`
//! says how to schedule it), named volumes and networks become resources,
//! `build` an `image` resource, `${VAR}` references parameters, and values of
//! password-like keys secret parameters. What has no translation is a
//! warning naming the service and the key, never dropped silently; what is
//! not a valid Compose file is an error at its line and column.

mod lets;
mod service;
mod storage;
mod values;

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};

use super::ComposeError;
use super::interpolate::{self, Piece};
use super::text::{self, Expr, Field, Part};
use super::yaml::{self, Key, Node};

/// What the import made.
#[derive(Debug, Clone, PartialEq)]
pub struct Imported {
    /// The `.stack` file.
    pub text: String,
    /// What did not translate, each naming the service and the key.
    pub warnings: Vec<String>,
}

/// Translates the Compose file `text`, read from `path` (the directory the
/// stack will live in: paths stay relative to it, `env_file`s are looked
/// for there).
pub fn import(path: &Path, text: &str) -> Result<Imported, Vec<ComposeError>> {
    let file = path.display().to_string();
    let doc = yaml::parse(text).map_err(|e| {
        vec![ComposeError {
            file: file.clone(),
            line: e.line,
            col: e.col,
            path: e.path,
            message: e.message,
        }]
    })?;
    let mut importer = Importer {
        file,
        dir: path.parent().map(Path::to_path_buf).unwrap_or_default(),
        stack_name: path
            .canonicalize()
            .ok()
            .and_then(|p| p.parent()?.file_name()?.to_str().map(str::to_string))
            .unwrap_or_else(|| "stack".into()),
        errors: Vec::new(),
        warnings: Vec::new(),
        params: Vec::new(),
        by_var: HashMap::new(),
        secret_values: HashMap::new(),
        taken: HashSet::new(),
        services: Vec::new(),
        networks: HashMap::new(),
        volumes: HashMap::new(),
        sources: HashMap::new(),
        images: Vec::new(),
        resources: Vec::new(),
        network_blocks: Vec::new(),
        volume_blocks: Vec::new(),
        lets_text: String::new(),
        port_params: HashSet::new(),
        default_network: false,
    };
    let out = importer.project(&doc);
    if importer.errors.is_empty() {
        Ok(Imported {
            text: out,
            warnings: importer.warnings,
        })
    } else {
        Err(importer.errors)
    }
}

/// A parameter made from `${VAR}` or from a password-like value.
struct Param {
    ident: String,
    secret: bool,
    default: Option<String>,
    comments: Vec<String>,
}

/// What a top-level network or volume key names.
#[derive(Clone)]
enum Target {
    /// A resource of the stack, by its name.
    Resource(String),
    /// `external: true`: an object outside the stack, by its Docker name.
    External(String),
}

/// A top-level secret or config: where its content comes from.
#[derive(Clone)]
enum Source {
    File(String),
    Env(String),
    Content(Node),
    External,
}

pub(super) struct Importer {
    file: String,
    dir: PathBuf,
    stack_name: String,
    errors: Vec<ComposeError>,
    warnings: Vec<String>,
    params: Vec<Param>,
    /// Compose variable → parameter.
    by_var: HashMap<String, String>,
    /// A password written in the file → its parameter (one per value, so
    /// two services that must agree on it still do).
    secret_values: HashMap<String, String>,
    /// Names of parameters and `let`s.
    taken: HashSet<String>,
    services: Vec<String>,
    networks: HashMap<String, Target>,
    volumes: HashMap<String, Target>,
    /// `secrets.x` and `configs.x`, by `secrets/x` and `configs/x`.
    sources: HashMap<String, Source>,
    /// `image` resources from `build`, as text.
    images: Vec<String>,
    /// Containers and services: (kind, name, fields, comments).
    resources: Vec<(String, String, Vec<Field>, Vec<String>)>,
    network_blocks: Vec<String>,
    volume_blocks: Vec<String>,
    /// Parameters interpolated in a port's short form: typed `port` when
    /// their default is one.
    port_params: HashSet<String>,
    /// The `let`s made of repeated values, as text.
    lets_text: String,
    /// A service names the `default` network.
    default_network: bool,
}

/// `a.b` and `a[0]`.
pub(super) fn join(path: &str, key: &str) -> String {
    if path.is_empty() {
        key.to_string()
    } else {
        format!("{path}.{key}")
    }
}

const TOP_LEVEL: &[&str] = &[
    "version", "name", "services", "networks", "volumes", "secrets", "configs",
];

impl Importer {
    pub(super) fn error(&mut self, at: &Node, path: &str, message: impl Into<String>) {
        self.error_at(at.line, at.col, path, message);
    }

    pub(super) fn error_key(&mut self, key: &Key, path: &str, message: impl Into<String>) {
        self.error_at(key.line, key.col, path, message);
    }

    fn error_at(&mut self, line: usize, col: usize, path: &str, message: impl Into<String>) {
        self.errors.push(ComposeError {
            file: self.file.clone(),
            line,
            col,
            path: path.to_string(),
            message: message.into(),
        });
    }

    /// A warning about what did not translate, with where it was written.
    pub(super) fn warn(&mut self, key: &Key, path: &str, message: impl Into<String>) {
        self.warnings.push(format!(
            "{}:{}:{}: `{path}`: {}",
            self.file,
            key.line,
            key.col,
            message.into()
        ));
    }

    /// The mapping at `node`, or an error; `null` is an empty mapping.
    pub(super) fn mapping<'n>(&mut self, node: &'n Node, path: &str) -> &'n [(Key, Node)] {
        match node.entries() {
            Some(entries) => entries,
            None if node.is_null() => &[],
            None => {
                let kind = node.kind();
                self.error(node, path, format!("expected a mapping, found {kind}"));
                &[]
            }
        }
    }

    /// A list, or a single scalar as a list of one (`dns: 8.8.8.8`).
    pub(super) fn list<'n>(&mut self, node: &'n Node, path: &str) -> Vec<&'n Node> {
        match &node.value {
            yaml::Value::Seq(items) => items.iter().collect(),
            yaml::Value::Scalar { .. } => vec![node],
            yaml::Value::Null => Vec::new(),
            yaml::Value::Map(_) => {
                self.error(node, path, "expected a list, found a mapping");
                Vec::new()
            }
        }
    }

    /// A mapping's entries, or a list of names (`networks: [front]`,
    /// `depends_on: [db]`) as entries without values.
    pub(super) fn named_entries<'n>(
        &mut self,
        node: &'n Node,
        path: &str,
    ) -> Vec<(Key, Option<&'n Node>)> {
        if let Some(entries) = node.entries() {
            return entries.iter().map(|(k, v)| (k.clone(), Some(v))).collect();
        }
        self.list(node, path)
            .into_iter()
            .filter_map(|n| {
                let name = n.text()?.to_string();
                Some((
                    Key {
                        name,
                        line: n.line,
                        col: n.col,
                    },
                    None,
                ))
            })
            .collect()
    }

    /// A name not yet used by a parameter or `let`.
    pub(super) fn fresh(&mut self, base: &str) -> String {
        let base = text::ident_from(base);
        let mut name = base.clone();
        let mut n = 2;
        while self.taken.contains(&name) {
            name = format!("{base}_{n}");
            n += 1;
        }
        self.taken.insert(name.clone());
        name
    }

    /// The parameter of a Compose variable.
    fn param_for(&mut self, var: &interpolate::Var, secret: bool) -> String {
        if let Some(ident) = self.by_var.get(&var.name).cloned() {
            if let Some(p) = self.params.iter_mut().find(|p| p.ident == ident) {
                p.secret |= secret;
                if p.default.is_none() && var.default.is_some() && var.required.is_none() {
                    p.default = var.default.clone();
                }
            }
            return ident;
        }
        let ident = self.fresh(&var.name);
        let secret = secret || is_secret_name(&var.name);
        let (default, comment) = match (&var.default, &var.required) {
            (_, Some(message)) if !message.is_empty() => (
                None,
                format!("`${{{}:?…}}`: required ({message})", var.name),
            ),
            (_, Some(_)) => (None, format!("`${{{}:?}}`: required", var.name)),
            (Some(d), None) => (
                Some(d.clone()),
                format!("`${{{}:-{d}}}` in compose.yaml", var.name),
            ),
            (None, None) => (
                Some(String::new()),
                format!("`${{{}}}`: empty when unset, as in Compose", var.name),
            ),
        };
        self.by_var.insert(var.name.clone(), ident.clone());
        self.params.push(Param {
            ident: ident.clone(),
            secret,
            default,
            comments: vec![comment],
        });
        ident
    }

    /// A secret parameter holding a value the file wrote out (`POSTGRES_PASSWORD=x`).
    pub(super) fn secret_literal(&mut self, key: &str, value: &str) -> String {
        if let Some(ident) = self.secret_values.get(value) {
            return ident.clone();
        }
        let ident = self.fresh(key);
        self.params.push(Param {
            ident: ident.clone(),
            secret: true,
            default: Some(value.to_string()),
            comments: vec![
                format!("`{key}` looks like a password: a secret parameter, its default the value"),
                format!("compose.yaml wrote (better: give it with --var or STACKC_VAR_{ident})"),
            ],
        });
        self.secret_values.insert(value.to_string(), ident.clone());
        ident
    }

    /// A string value: `${VAR}` references become parameters (secret ones
    /// when `secret`). Numbers and booleans are taken as their text.
    pub(super) fn text(&mut self, node: &Node, path: &str, secret: bool) -> Option<Expr> {
        let Some(raw) = node.text() else {
            if node.is_null() {
                return Some(Expr::lit(""));
            }
            let kind = node.kind();
            self.error(node, path, format!("expected a string, found {kind}"));
            return None;
        };
        let pieces = match interpolate::pieces(raw) {
            Ok(p) => p,
            Err(e) => {
                self.error(node, path, e);
                return None;
            }
        };
        let mut parts = Vec::new();
        for p in pieces {
            match p {
                Piece::Lit(s) => parts.push(Part::Lit(s)),
                Piece::Var(v) if v.alternative.is_some() => {
                    let k = Key {
                        name: String::new(),
                        line: node.line,
                        col: node.col,
                    };
                    self.warn(
                        &k,
                        path,
                        format!(
                            "`${{{}:+…}}` has no parameter form: read as if `{}` were unset",
                            v.name, v.name
                        ),
                    );
                }
                Piece::Var(v) => parts.push(Part::Ref(self.param_for(&v, secret))),
            }
        }
        if parts.is_empty() {
            parts.push(Part::Lit(String::new()));
        }
        Some(Expr::Text(parts))
    }

    /// A value stackc needs as a literal (a number, a size, a duration):
    /// `${VAR}` references are read with their defaults, and said so.
    pub(super) fn literal(&mut self, key: &Key, node: &Node, path: &str) -> Option<String> {
        let raw = node.text()?;
        let pieces = match interpolate::pieces(raw) {
            Ok(p) => p,
            Err(e) => {
                self.error(node, path, e);
                return None;
            }
        };
        if interpolate::has_vars(&pieces) {
            let value = interpolate::with_defaults(&pieces);
            self.warn(
                key,
                path,
                format!(
                    "`{raw}` is read as `{value}`: stackc takes a literal here, not a parameter"
                ),
            );
            return Some(value);
        }
        Some(interpolate::with_defaults(&pieces))
    }

    fn project(&mut self, doc: &Node) -> String {
        let top = self.mapping(doc, "");
        for (k, v) in top {
            match k.name.as_str() {
                "name" => {
                    if let Some(name) = self.literal(k, v, "name") {
                        self.stack_name = name;
                    }
                }
                "version" => {}
                x if x.starts_with("x-") => {}
                x if TOP_LEVEL.contains(&x) => {}
                other => {
                    let other = other.to_string();
                    self.warn(
                        k,
                        &other,
                        "not translated: stackc has no such top-level key",
                    );
                }
            }
        }
        // Declarations first: services refer to them.
        if let Some(networks) = doc.get("networks") {
            self.top_networks(networks);
        }
        if let Some(volumes) = doc.get("volumes") {
            self.top_volumes(volumes);
        }
        for kind in ["secrets", "configs"] {
            if let Some(node) = doc.get(kind) {
                self.top_sources(kind, node);
            }
        }
        let services = match doc.get("services") {
            Some(s) => self.mapping(s, "services"),
            None => {
                self.error(doc, "", "a Compose file needs `services`");
                &[]
            }
        };
        self.services = services.iter().map(|(k, _)| k.name.clone()).collect();
        for (k, v) in services {
            self.service(k, v);
        }
        self.assemble()
    }

    fn assemble(&mut self) -> String {
        lets::hoist(self);
        let mut out = String::new();
        out.push_str(&format!(
            "# Translated from {} by `stackc import-compose`.\n",
            Path::new(&self.file)
                .file_name()
                .map(|f| f.to_string_lossy().to_string())
                .unwrap_or_else(|| self.file.clone())
        ));
        let mut sections: Vec<String> = Vec::new();
        let name = stack_name(&self.stack_name);
        if name != self.stack_name {
            out.push_str(&format!(
                "# `{}` as a stack name (as Compose makes a project name of it)\n",
                self.stack_name
            ));
        }
        out.push_str(&format!("stack {}\n", text::quote(&name)));
        let params: Vec<String> = self
            .params
            .iter()
            .map(|p| param_text(p, self.port_params.contains(&p.ident)))
            .collect();
        if !params.is_empty() {
            sections.push(params.concat());
        }
        let lets = std::mem::take(&mut self.lets_text);
        if !lets.is_empty() {
            sections.push(lets);
        }
        let mut decls = self.network_blocks.clone();
        if self.default_network && !self.networks.contains_key("default") {
            decls.insert(0, text::block("network", "default", &[], &[]));
        }
        decls.extend(self.volume_blocks.iter().cloned());
        if !decls.is_empty() {
            sections.push(decls.concat());
        }
        for image in &self.images {
            sections.push(image.clone());
        }
        for (kind, name, fields, comments) in &self.resources {
            sections.push(text::block(kind, name, fields, comments));
        }
        for s in sections {
            out.push('\n');
            out.push_str(&s);
        }
        out
    }
}

fn param_text(p: &Param, in_ports: bool) -> String {
    let mut out = String::new();
    for c in &p.comments {
        out.push_str(&format!("# {c}\n"));
    }
    let port = |d: &str| d.parse::<u16>().is_ok_and(|n| n > 0);
    if in_ports && !p.secret && p.default.as_deref().is_none_or(port) {
        match &p.default {
            Some(d) => out.push_str(&format!("param {}: port = {d}\n", p.ident)),
            None => out.push_str(&format!("param {}: port\n", p.ident)),
        }
        return out;
    }
    let ty = if p.secret { "secret" } else { "string" };
    match &p.default {
        Some(d) => out.push_str(&format!("param {}: {ty} = {}\n", p.ident, text::quote(d))),
        None => out.push_str(&format!("param {}: {ty}\n", p.ident)),
    }
    out
}

/// A project name as Compose normalizes it: lowercase letters, digits,
/// `-` and `_`, starting with a letter or digit.
fn stack_name(name: &str) -> String {
    let mut out: String = name
        .to_ascii_lowercase()
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '_')
        .collect();
    while out.starts_with(['-', '_']) {
        out.remove(0);
    }
    out.truncate(63);
    if out.is_empty() { "stack".into() } else { out }
}

/// A key or variable name that says its value is a password or a token.
pub(super) fn is_secret_name(name: &str) -> bool {
    let upper = name.to_ascii_uppercase();
    let not_the_value = [
        "_FILE", "_PATH", "_DIR", "_URL", "_HOST", "_USER", "_POLICY",
    ];
    if not_the_value.iter().any(|s| upper.ends_with(s)) {
        return false;
    }
    let words = [
        "PASSWORD",
        "PASSWD",
        "PASSPHRASE",
        "SECRET",
        "TOKEN",
        "API_KEY",
        "APIKEY",
        "PRIVATE_KEY",
        "ACCESS_KEY",
        "CREDENTIAL",
    ];
    words.iter().any(|w| upper.contains(w))
        || upper.ends_with("_PW")
        || upper.ends_with("_PASS")
        || upper == "PW"
}
