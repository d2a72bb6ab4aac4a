//! Networks, volumes, secrets and configs: the top-level declarations, and
//! how a service names them (`networks`, `volumes`, `tmpfs`, `secrets`,
//! `configs`), plus its `ports`.

use super::{Importer, Source, Target, join};
use crate::compose::text::{self, Expr, Field};
use crate::compose::yaml::{Key, Node};
use crate::units;

impl Importer {
    pub(super) fn top_networks(&mut self, node: &Node) {
        for (k, v) in self.mapping(node, "networks") {
            let path = join("networks", &k.name);
            let mut fields = Vec::new();
            let mut comments = Vec::new();
            if let Some(name) = external(v) {
                let name = name.unwrap_or_else(|| k.name.clone());
                self.networks.insert(k.name.clone(), Target::External(name));
                continue;
            }
            for (fk, fv) in self.mapping(v, &path) {
                let fpath = join(&path, &fk.name);
                match fk.name.as_str() {
                    "driver" => match fv.text() {
                        Some(d @ ("bridge" | "overlay")) => {
                            fields.push(Field::new("driver", Expr::lit(d)));
                        }
                        _ => self.warn(
                            fk,
                            &fpath,
                            "not translated: stackc makes bridge and overlay networks",
                        ),
                    },
                    "internal" | "attachable" => {
                        if let Some(b) = self.boolean(fk, fv, &fpath) {
                            fields.push(Field::new(&fk.name, Expr::raw(b.to_string())));
                        }
                    }
                    "labels" => {
                        if let Some(l) = self.string_map(fv, &fpath, false) {
                            fields.push(Field::new("labels", l));
                        }
                    }
                    "ipam" => self.ipam(fk, fv, &fpath, &mut fields),
                    "name" => comments.push(format!(
                        "Compose named it `{}`; stackc names it `<stack>-{}`",
                        fv.text().unwrap_or_default(),
                        k.name
                    )),
                    x if x.starts_with("x-") => {}
                    _ => self.warn(fk, &fpath, "not translated"),
                }
            }
            self.networks
                .insert(k.name.clone(), Target::Resource(k.name.clone()));
            self.network_blocks
                .push(text::block("network", &k.name, &fields, &comments));
        }
    }

    fn ipam(&mut self, key: &Key, node: &Node, path: &str, fields: &mut Vec<Field>) {
        for (k, v) in self.mapping(node, path) {
            let p = join(path, &k.name);
            if k.name != "config" {
                self.warn(
                    k,
                    &p,
                    "not translated: stackc takes a network's `subnet` only",
                );
                continue;
            }
            let configs = self.list(v, &p);
            for (i, c) in configs.iter().enumerate() {
                let cp = format!("{p}[{i}]");
                for (ck, cv) in self.mapping(c, &cp) {
                    let ckp = join(&cp, &ck.name);
                    if ck.name == "subnet" && i == 0 {
                        if let Some(t) = self.text(cv, &ckp, false) {
                            fields.push(Field::new("subnet", t));
                        }
                    } else {
                        self.warn(
                            ck,
                            &ckp,
                            "not translated: stackc takes one `subnet` per network",
                        );
                    }
                }
            }
        }
        let _ = key;
    }

    pub(super) fn top_volumes(&mut self, node: &Node) {
        for (k, v) in self.mapping(node, "volumes") {
            let path = join("volumes", &k.name);
            if let Some(name) = external(v) {
                let name = name.unwrap_or_else(|| k.name.clone());
                self.volumes.insert(k.name.clone(), Target::External(name));
                continue;
            }
            let mut fields = Vec::new();
            let mut comments = Vec::new();
            for (fk, fv) in self.mapping(v, &path) {
                let fpath = join(&path, &fk.name);
                match fk.name.as_str() {
                    "driver" => {
                        if let Some(t) = self.text(fv, &fpath, false) {
                            fields.push(Field::new("driver", t));
                        }
                    }
                    "driver_opts" => {
                        if let Some(m) = self.string_map(fv, &fpath, false) {
                            fields.push(Field::new("options", m));
                        }
                    }
                    "labels" => {
                        if let Some(m) = self.string_map(fv, &fpath, false) {
                            fields.push(Field::new("labels", m));
                        }
                    }
                    "name" => comments.push(format!(
                        "Compose named it `{}`; stackc names it `<stack>-{}`",
                        fv.text().unwrap_or_default(),
                        k.name
                    )),
                    x if x.starts_with("x-") => {}
                    _ => self.warn(fk, &fpath, "not translated"),
                }
            }
            self.volumes
                .insert(k.name.clone(), Target::Resource(k.name.clone()));
            self.volume_blocks
                .push(text::block("volume", &k.name, &fields, &comments));
        }
    }

    pub(super) fn top_sources(&mut self, kind: &str, node: &Node) {
        for (k, v) in self.mapping(node, kind) {
            let path = join(kind, &k.name);
            let source = if let Some(f) = v.get("file") {
                f.text().map(|t| Source::File(t.to_string()))
            } else if let Some(e) = v.get("environment") {
                e.text().map(|t| Source::Env(t.to_string()))
            } else if let Some(c) = v.get("content") {
                Some(Source::Content(c.clone()))
            } else if external(v).is_some() {
                self.warn(
                    k,
                    &path,
                    "an external secret or config (Swarm's) is not translated",
                );
                Some(Source::External)
            } else {
                self.error_key(
                    k,
                    &path,
                    "needs `file`, `environment`, `content` or `external`",
                );
                None
            };
            if let Some(source) = source {
                self.sources.insert(format!("{kind}/{}", k.name), source);
            }
        }
    }

    /// `ports`: every short form (ranges expanded) and the long form.
    pub(super) fn ports(&mut self, key: &Key, node: &Node, path: &str) -> Vec<Expr> {
        let mut out = Vec::new();
        for (i, item) in self.list(node, path).into_iter().enumerate() {
            let p = format!("{path}[{i}]");
            if item.entries().is_some() {
                if let Some(e) = self.long_port(item, &p) {
                    out.push(e);
                }
                continue;
            }
            if let Some(n) = item.as_i64() {
                out.push(Expr::raw(n.to_string()));
                continue;
            }
            let Some(t) = self.text(item, &p, false) else {
                continue;
            };
            let Some(lit) = t.as_lit() else {
                // `"${WEB_PORT:-8080}:80"`: a parameter holding a port number.
                if let Expr::Text(parts) = &t {
                    for part in parts {
                        if let crate::compose::text::Part::Ref(name) = part {
                            self.port_params.insert(name.clone());
                        }
                    }
                }
                out.push(t);
                continue;
            };
            match expand_range(&lit) {
                Some(many) => out.extend(many.iter().map(|s| Expr::lit(s))),
                None => {
                    self.error(item, &p, format!("`{lit}` is not a port"));
                }
            }
        }
        let _ = key;
        out
    }

    fn long_port(&mut self, node: &Node, path: &str) -> Option<Expr> {
        let mut fields = Vec::new();
        for (k, v) in self.mapping(node, path) {
            let p = join(path, &k.name);
            match k.name.as_str() {
                "target" => fields.push(Field::new("container", Expr::raw(self.number(k, v, &p)?))),
                "published" => {
                    let lit = self.literal(k, v, &p)?;
                    if lit.parse::<u16>().is_ok() {
                        fields.insert(0, Field::new("host", Expr::raw(lit)));
                    } else if !lit.is_empty() {
                        self.warn(k, &p, format!("not translated: `{lit}` is not one port"));
                    }
                }
                "host_ip" => fields.push(Field::new("ip", self.text(v, &p, false)?)),
                "protocol" => fields.push(Field::new("protocol", self.text(v, &p, false)?)),
                "mode" if v.text() == Some("ingress") || v.text() == Some("host") => {}
                _ => self.warn(k, &p, "not translated"),
            }
        }
        if !fields.iter().any(|f| f.key == "container") {
            self.error(node, path, "a port needs its `target`");
            return None;
        }
        Some(Expr::Record(fields))
    }

    /// `volumes` and `tmpfs` of a service, as `mounts`.
    pub(super) fn mounts(&mut self, key: &Key, node: &Node, path: &str, out: &mut Vec<Expr>) {
        if key.name == "tmpfs" {
            for (i, item) in self.list(node, path).into_iter().enumerate() {
                let p = format!("{path}[{i}]");
                let Some(t) = self.literal(key, item, &p) else {
                    continue;
                };
                let target = t.split(':').next().unwrap_or_default().to_string();
                let size = tmpfs_size(&t);
                out.push(tmpfs(&target, size));
            }
            return;
        }
        for (i, item) in self.list(node, path).into_iter().enumerate() {
            let p = format!("{path}[{i}]");
            if item.entries().is_some() {
                if let Some(m) = self.long_mount(item, &p) {
                    out.push(m);
                }
                continue;
            }
            let Some(t) = self.text(item, &p, false) else {
                continue;
            };
            let Some(lit) = t.as_lit() else {
                out.push(t);
                continue;
            };
            if let Some(m) = self.short_mount(key, item, &p, &lit) {
                out.push(m);
            }
        }
    }

    fn short_mount(&mut self, key: &Key, node: &Node, path: &str, lit: &str) -> Option<Expr> {
        let parts: Vec<&str> = lit.split(':').collect();
        let (source, target, mode) = match parts.as_slice() {
            [t] => return Some(anonymous(t, false)),
            [s, t] => (*s, *t, ""),
            [s, t, m] => (*s, *t, *m),
            _ => {
                self.error(node, path, format!("`{lit}` is not `source:target[:mode]`"));
                return None;
            }
        };
        let mut read_only = false;
        for m in mode.split(',').filter(|m| !m.is_empty()) {
            match m {
                "ro" => read_only = true,
                "rw" => {}
                other => self.warn(
                    key,
                    path,
                    format!("mount option `{other}` is not translated"),
                ),
            }
        }
        let bind = source.starts_with('.') || source.starts_with('/') || source.starts_with('~');
        if bind {
            let source = if source.starts_with('~') {
                self.warn(
                    key,
                    path,
                    "`~` is not expanded by stackc: write the path in full",
                );
                source.to_string()
            } else {
                source.to_string()
            };
            let ro = if read_only { ":ro" } else { "" };
            return Some(Expr::lit(&format!("{source}:{target}{ro}")));
        }
        let name = self.volume_name(node, path, source)?;
        let ro = if read_only { ":ro" } else { "" };
        Some(Expr::lit(&format!("{name}:{target}{ro}")))
    }

    /// The name a mount gives a volume: the resource's, or an external one's.
    fn volume_name(&mut self, node: &Node, path: &str, source: &str) -> Option<String> {
        match self.volumes.get(source) {
            Some(Target::Resource(n)) | Some(Target::External(n)) => Some(n.clone()),
            None => {
                self.error(
                    node,
                    path,
                    format!("the volume `{source}` is not declared under the top-level `volumes`"),
                );
                None
            }
        }
    }

    fn long_mount(&mut self, node: &Node, path: &str) -> Option<Expr> {
        let kind = node.get("type").and_then(Node::text).unwrap_or("volume");
        let source = node.get("source").and_then(Node::text).map(str::to_string);
        let Some(target) = node.get("target").and_then(Node::text).map(str::to_string) else {
            self.error(node, path, "a mount needs its `target`");
            return None;
        };
        let read_only = node
            .get("read_only")
            .and_then(Node::as_bool)
            .unwrap_or(false);
        for (k, v) in self.mapping(node, path) {
            let p = join(path, &k.name);
            match k.name.as_str() {
                "type" | "source" | "target" | "read_only" => {}
                "tmpfs" if kind == "tmpfs" => {
                    for (tk, _) in self.mapping(v, &p) {
                        if tk.name != "size" {
                            self.warn(tk, &join(&p, &tk.name), "not translated");
                        }
                    }
                }
                "bind" => {
                    for (bk, bv) in self.mapping(v, &p) {
                        let create = bk.name == "create_host_path" && bv.as_bool() == Some(true);
                        if !create {
                            self.warn(bk, &join(&p, &bk.name), "not translated");
                        }
                    }
                }
                _ => self.warn(k, &p, "not translated"),
            }
        }
        let mut fields = Vec::new();
        match (kind, source) {
            ("tmpfs", _) => {
                let size = node
                    .get("tmpfs")
                    .and_then(|t| t.get("size"))
                    .and_then(|s| s.text().map(str::to_string));
                let bytes = size.as_deref().and_then(compose_bytes);
                return Some(match tmpfs(&target, bytes) {
                    Expr::Record(mut f) if read_only => {
                        f.push(Field::new("read_only", Expr::raw("true")));
                        Expr::Record(f)
                    }
                    e => e,
                });
            }
            ("volume", None) => return Some(anonymous(&target, read_only)),
            ("volume", Some(s)) => {
                let name = self.volume_name(node, path, &s)?;
                let reference = match self.volumes.get(&s) {
                    Some(Target::Resource(_)) => Expr::raw(text::reference("volume", &name)),
                    _ => Expr::lit(&name),
                };
                fields.push(Field::new("volume", reference));
            }
            ("bind", Some(s)) => fields.push(Field::new("bind", Expr::lit(&s))),
            (other, _) => {
                self.error(node, path, format!("a `{other}` mount is not translated"));
                return None;
            }
        }
        fields.push(Field::new("target", Expr::lit(&target)));
        if read_only {
            fields.push(Field::new("read_only", Expr::raw("true")));
        }
        Some(Expr::Record(fields))
    }

    /// `secrets` or `configs` of a service, as `files`.
    pub(super) fn files(&mut self, key: &Key, node: &Node, path: &str, out: &mut Vec<Expr>) {
        let kind = key.name.as_str();
        for (i, item) in self.list(node, path).into_iter().enumerate() {
            let p = format!("{path}[{i}]");
            let (name, long) = match (item.text(), item.entries()) {
                (Some(n), _) => (n.to_string(), None),
                (None, Some(_)) => match item.get("source").and_then(Node::text) {
                    Some(n) => (n.to_string(), Some(item)),
                    None => {
                        self.error(item, &p, "needs its `source`");
                        continue;
                    }
                },
                _ => {
                    self.error(item, &p, "expected a name or a mapping");
                    continue;
                }
            };
            let Some(source) = self.sources.get(&format!("{kind}/{name}")).cloned() else {
                self.error(
                    item,
                    &p,
                    format!("`{name}` is not declared under the top-level `{kind}`"),
                );
                continue;
            };
            let default_target = if kind == "secrets" {
                format!("/run/secrets/{name}")
            } else {
                format!("/{name}")
            };
            let mut target = default_target;
            let mut extra = Vec::new();
            if let Some(long) = long {
                for (k, v) in self.mapping(long, &p) {
                    let kp = join(&p, &k.name);
                    match k.name.as_str() {
                        "source" => {}
                        "target" => {
                            let t = v.text().unwrap_or_default();
                            target = if t.starts_with('/') || kind == "configs" {
                                t.to_string()
                            } else {
                                format!("/run/secrets/{t}")
                            };
                        }
                        "mode" => {
                            let mode = match v.as_i64() {
                                // YAML reads 0440 as the number 440: Compose means octal.
                                Some(n) if v.text().is_some_and(|t| t.starts_with('0')) => {
                                    format!("{n:04}")
                                }
                                Some(n) => format!("{n:04o}"),
                                None => v.text().unwrap_or("0444").to_string(),
                            };
                            extra.push(Field::new("mode", Expr::lit(&mode)));
                        }
                        "uid" | "gid" => {
                            if let Some(n) = self.number(k, v, &kp) {
                                extra.push(Field::new(&k.name, Expr::raw(n)));
                            }
                        }
                        _ => self.warn(k, &kp, "not translated"),
                    }
                }
            }
            let content = match source {
                Source::External => continue,
                Source::File(f) if kind == "secrets" => Field::new(
                    "content",
                    Expr::raw(format!("secret_file({})", text::quote(&f))),
                ),
                Source::File(f) => Field::new("source", Expr::lit(&f)),
                Source::Env(var) => {
                    let ident = self.param_for(
                        &crate::compose::interpolate::Var {
                            name: var,
                            default: None,
                            required: Some(String::new()),
                            alternative: None,
                        },
                        kind == "secrets",
                    );
                    Field::new("content", Expr::raw(ident))
                }
                Source::Content(c) => match self.text(&c, &p, false) {
                    Some(t) => Field::new("content", t),
                    None => continue,
                },
            };
            let mut fields = vec![Field::new("target", Expr::lit(&target)), content];
            if !extra.iter().any(|f| f.key == "mode") {
                // Compose's default for secrets and configs alike.
                fields.push(Field::new("mode", Expr::lit("0444")));
            }
            fields.extend(extra);
            out.push(Expr::Record(fields));
        }
    }

    /// A service's `networks`: a list of names, or a mapping with aliases
    /// and static addresses.
    pub(super) fn service_networks(&mut self, node: &Node, path: &str) -> Vec<Expr> {
        let mut out = Vec::new();
        let names: Vec<(Key, Option<&Node>)> = self.named_entries(node, path);
        for (k, v) in names {
            let p = join(path, &k.name);
            let reference = match self.networks.get(&k.name) {
                Some(Target::Resource(n)) => Expr::raw(text::reference("network", n)),
                Some(Target::External(n)) => Expr::lit(n),
                None if k.name == "default" => {
                    self.default_network = true;
                    Expr::raw("network.default")
                }
                None => {
                    self.error_key(
                        &k,
                        &p,
                        format!(
                            "the network `{}` is not declared under the top-level `networks`",
                            k.name
                        ),
                    );
                    continue;
                }
            };
            let mut fields = Vec::new();
            for (ak, av) in v.map(|v| self.mapping(v, &p)).unwrap_or_default() {
                let ap = join(&p, &ak.name);
                match ak.name.as_str() {
                    "aliases" => {
                        let items: Vec<Expr> = self
                            .list(av, &ap)
                            .into_iter()
                            .filter_map(|a| self.text(a, &ap, false))
                            .collect();
                        fields.push(Field::new("aliases", Expr::List(items)));
                    }
                    "ipv4_address" => {
                        if let Some(t) = self.text(av, &ap, false) {
                            fields.push(Field::new("ipv4_address", t));
                        }
                    }
                    _ => self.warn(ak, &ap, "not translated"),
                }
            }
            if fields.is_empty() {
                out.push(reference);
            } else {
                fields.insert(0, Field::new("network", reference));
                out.push(Expr::Record(fields));
            }
        }
        out
    }

    pub(super) fn number(&mut self, key: &Key, node: &Node, path: &str) -> Option<String> {
        let lit = self.literal(key, node, path)?;
        if lit.parse::<i64>().is_ok() {
            Some(lit)
        } else {
            self.error(
                node,
                path,
                format!("expected a whole number, found `{lit}`"),
            );
            None
        }
    }

    pub(super) fn boolean(&mut self, key: &Key, node: &Node, path: &str) -> Option<bool> {
        match self.literal(key, node, path)?.as_str() {
            "true" | "True" | "TRUE" => Some(true),
            "false" | "False" | "FALSE" => Some(false),
            other => {
                self.error(
                    node,
                    path,
                    format!("expected true or false, found `{other}`"),
                );
                None
            }
        }
    }
}

/// `external: true` (with its `name`, if given).
fn external(node: &Node) -> Option<Option<String>> {
    let ext = node.get("external")?;
    let named = ext.get("name").and_then(Node::text);
    if ext.as_bool() == Some(true) || named.is_some() {
        Some(
            named
                .or_else(|| node.get("name").and_then(Node::text))
                .map(str::to_string),
        )
    } else {
        None
    }
}

fn anonymous(target: &str, read_only: bool) -> Expr {
    let mut fields = vec![Field::new("target", Expr::lit(target))];
    if read_only {
        fields.push(Field::new("read_only", Expr::raw("true")));
    }
    Expr::Record(fields)
}

/// A tmpfs mount; without a size, `0B`: no limit of its own, as Compose's.
fn tmpfs(target: &str, bytes: Option<i64>) -> Expr {
    let size = units::format_size(bytes.unwrap_or(0));
    Expr::Record(vec![
        Field::new("tmpfs", Expr::raw(size)),
        Field::new("target", Expr::lit(target)),
    ])
}

/// `/run:size=64m,mode=1777` → the size in bytes.
fn tmpfs_size(spec: &str) -> Option<i64> {
    let opts = spec.split_once(':')?.1;
    opts.split(',')
        .find_map(|o| o.strip_prefix("size="))
        .and_then(compose_bytes)
}

/// Compose's sizes: `512m`, `1g`, bytes as a number.
pub(super) fn compose_bytes(text: &str) -> Option<i64> {
    if let Ok(n) = text.parse::<i64>() {
        return Some(n);
    }
    units::parse_size(&units::docker_size(text)?).ok()
}

/// `"8080-8081:80-81/udp"` → one short form per port; a form without a
/// range as it is. `None` when it is not a port.
fn expand_range(spec: &str) -> Option<Vec<String>> {
    let (body, proto) = match spec.rsplit_once('/') {
        Some((b, p)) => (b, format!("/{p}")),
        None => (spec, String::new()),
    };
    // `[::1]:80:80` and `127.0.0.1:80:80`: the address stays whole.
    let (ip, rest) = if let Some(r) = body.strip_prefix('[') {
        let (ip, rest) = r.split_once("]:")?;
        (format!("[{ip}]:"), rest.to_string())
    } else {
        let parts: Vec<&str> = body.split(':').collect();
        match parts.as_slice() {
            [ip, h, c] => (format!("{ip}:"), format!("{h}:{c}")),
            _ => (String::new(), body.to_string()),
        }
    };
    let (host, container) = match rest.split_once(':') {
        Some((h, c)) => (Some(h), c),
        None => (None, rest.as_str()),
    };
    let range = |r: &str| -> Option<(u32, u32)> {
        match r.split_once('-') {
            Some((a, b)) => Some((a.parse().ok()?, b.parse().ok()?)),
            None => {
                let n = r.parse().ok()?;
                Some((n, n))
            }
        }
    };
    let (c0, c1) = range(container)?;
    let hosts = match host {
        Some("") | None => None,
        Some(h) => Some(range(h)?),
    };
    if c0 == c1 && hosts.is_none_or(|(a, b)| a == b) {
        return Some(vec![spec.to_string()]);
    }
    let backwards = hosts.is_some_and(|(a, b)| b < a);
    if c1 < c0 || c1 - c0 > 1000 || backwards {
        return None;
    }
    let mut out = Vec::new();
    for (i, c) in (c0..=c1).enumerate() {
        let h = match hosts {
            Some((a, b)) if b - a == c1 - c0 => format!("{}:", a.saturating_add(i as u32)),
            Some((a, _)) => format!("{a}:"),
            None if host.is_some() => ":".to_string(),
            None => String::new(),
        };
        out.push(format!("{ip}{h}{c}{proto}"));
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn port_ranges_expand() {
        assert_eq!(
            expand_range("9229-9230:9229-9230").unwrap(),
            ["9229:9229", "9230:9230"]
        );
        assert_eq!(
            expand_range("127.0.0.1:80:80/udp").unwrap(),
            ["127.0.0.1:80:80/udp"]
        );
        assert_eq!(expand_range("3000").unwrap(), ["3000"]);
        assert!(expand_range("x:80").is_none());
        assert_eq!(compose_bytes("64m"), Some(64 << 20));
    }
}
