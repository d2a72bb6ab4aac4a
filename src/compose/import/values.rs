//! The service keys with a shape of their own: health checks, limits,
//! logging, devices, `deploy`, and the sizes and durations they hold.

use super::{Importer, join, storage::compose_bytes};
use crate::compose::text::{Expr, Field};
use crate::compose::yaml::{Key, Node};
use crate::units;

impl Importer {
    pub(super) fn health(&mut self, node: &Node, path: &str) -> Option<Expr> {
        if node.get("disable").and_then(Node::as_bool) == Some(true) {
            return Some(Expr::lit("none"));
        }
        let mut fields = Vec::new();
        for (k, v) in self.mapping(node, path) {
            let p = join(path, &k.name);
            match k.name.as_str() {
                "test" => {
                    let cmd = match v.items() {
                        Some(items) => {
                            let first = items.first().and_then(Node::text);
                            match first {
                                Some("NONE") => return Some(Expr::lit("none")),
                                Some("CMD-SHELL") => self.text(items.get(1)?, &p, false)?,
                                Some("CMD") => Expr::List(
                                    items[1..]
                                        .iter()
                                        .filter_map(|x| self.text(x, &p, false))
                                        .collect(),
                                ),
                                _ => {
                                    self.error(
                                        v,
                                        &p,
                                        "a test list starts with CMD, CMD-SHELL or NONE",
                                    );
                                    return None;
                                }
                            }
                        }
                        None => self.text(v, &p, false)?,
                    };
                    fields.insert(0, Field::new("cmd", cmd));
                }
                "interval" | "timeout" | "start_period" => {
                    if let Some(d) = self.duration(k, v, &p) {
                        fields.push(Field::new(&k.name, Expr::raw(d)));
                    }
                }
                "retries" => {
                    if let Some(n) = self.number(k, v, &p) {
                        fields.push(Field::new("retries", Expr::raw(n)));
                    }
                }
                "disable" => {}
                _ => self.warn(k, &p, "not translated"),
            }
        }
        if !fields.iter().any(|f| f.key == "cmd") {
            let k = Key {
                name: "healthcheck".into(),
                line: node.line,
                col: node.col,
            };
            self.warn(&k, path, "not translated: without `test` it changes the image's check, which stackc does not");
            return None;
        }
        Some(Expr::Record(fields))
    }

    pub(super) fn extra_hosts(&mut self, node: &Node, path: &str) -> Option<Field> {
        let value = match node.entries() {
            Some(_) => self.string_map(node, path, false)?,
            None => Expr::List(
                self.list(node, path)
                    .into_iter()
                    .filter_map(|x| {
                        let t = self.text(x, path, false)?;
                        // `host=ip` is Compose's other spelling of `host:ip`.
                        Some(match t.as_lit() {
                            Some(l) if l.contains('=') => Expr::lit(&l.replacen('=', ":", 1)),
                            _ => t,
                        })
                    })
                    .collect(),
            ),
        };
        Some(Field::new("extra_hosts", value))
    }

    pub(super) fn ulimits(&mut self, node: &Node, path: &str) -> Option<Field> {
        let mut fields = Vec::new();
        for (k, v) in self.mapping(node, path) {
            let p = join(path, &k.name);
            let value = if v.entries().is_some() {
                let mut sh = Vec::new();
                for (lk, lv) in self.mapping(v, &p) {
                    let lp = join(&p, &lk.name);
                    if lk.name == "soft" || lk.name == "hard" {
                        if let Some(n) = self.number(lk, lv, &lp) {
                            sh.push(Field::new(&lk.name, Expr::raw(n)));
                        }
                    } else {
                        self.warn(lk, &lp, "not translated");
                    }
                }
                Expr::Record(sh)
            } else {
                Expr::raw(self.number(k, v, &p)?)
            };
            fields.push(Field::new(&k.name, value));
        }
        Some(Field::new("ulimits", Expr::Record(fields)))
    }

    pub(super) fn device(&mut self, node: &Node, path: &str) -> Option<Expr> {
        if node.entries().is_none() {
            return self.text(node, path, false);
        }
        let mut fields = Vec::new();
        for (k, v) in self.mapping(node, path) {
            let p = join(path, &k.name);
            let key = match k.name.as_str() {
                "source" => "host",
                "target" => "container",
                "permissions" => "permissions",
                _ => {
                    self.warn(k, &p, "not translated");
                    continue;
                }
            };
            fields.push(Field::new(key, self.text(v, &p, false)?));
        }
        Some(Expr::Record(fields))
    }

    pub(super) fn logging(&mut self, node: &Node, path: &str) -> Option<Field> {
        let mut fields = Vec::new();
        for (k, v) in self.mapping(node, path) {
            let p = join(path, &k.name);
            match k.name.as_str() {
                "driver" => fields.insert(0, Field::new("driver", self.text(v, &p, false)?)),
                "options" => fields.push(Field::new("options", self.string_map(v, &p, false)?)),
                _ => self.warn(k, &p, "not translated"),
            }
        }
        Some(Field::new("logging", Expr::Record(fields)))
    }

    /// `deploy`: resources as `memory` and `cpus`, its restart policy as
    /// `restart`; for a Swarm service, `replicas`, `update` and `placement`.
    pub(super) fn deploy(
        &mut self,
        node: &Node,
        path: &str,
        swarm: bool,
        fields: &mut Vec<Field>,
        comments: &mut Vec<String>,
    ) {
        for (k, v) in self.mapping(node, path) {
            let p = join(path, &k.name);
            match k.name.as_str() {
                "resources" => {
                    for (rk, rv) in self.mapping(v, &p) {
                        let rp = join(&p, &rk.name);
                        if rk.name != "limits" {
                            self.warn(rk, &rp, "not translated: stackc sets limits only");
                            continue;
                        }
                        for (lk, lv) in self.mapping(rv, &rp) {
                            let lp = join(&rp, &lk.name);
                            let f = match lk.name.as_str() {
                                "memory" => self.size(lk, lv, &lp).map(|e| Field::new("memory", e)),
                                "cpus" => self.cpus(lk, lv, &lp).map(|e| Field::new("cpus", e)),
                                _ => {
                                    self.warn(lk, &lp, "not translated");
                                    None
                                }
                            };
                            if let Some(f) = f {
                                fields.retain(|x| x.key != f.key);
                                fields.push(f.commented(format!("`{lp}`")));
                            }
                        }
                    }
                }
                "replicas" if swarm => {
                    if let Some(n) = self.number(k, v, &p) {
                        fields.push(Field::new("replicas", Expr::raw(n)));
                    }
                }
                "replicas" if v.as_i64() == Some(1) => {}
                "restart_policy" if !swarm => {
                    let condition = v.get("condition").and_then(Node::text).unwrap_or("any");
                    let restart = match condition {
                        "none" => "no".to_string(),
                        "on-failure" => match v.get("max_attempts").and_then(Node::as_i64) {
                            Some(n) => format!("on-failure:{n}"),
                            None => "on-failure".into(),
                        },
                        _ => "always".into(),
                    };
                    if !fields.iter().any(|f| f.key == "restart") {
                        fields.push(
                            Field::new("restart", Expr::lit(&restart)).commented(format!("`{p}`")),
                        );
                    }
                }
                "update_config" if swarm => {
                    let mut update = Vec::new();
                    for (uk, uv) in self.mapping(v, &p) {
                        let up = join(&p, &uk.name);
                        match uk.name.as_str() {
                            "parallelism" => update.push(Field::new(
                                "parallelism",
                                Expr::raw(self.number(uk, uv, &up).unwrap_or_default()),
                            )),
                            "delay" => {
                                if let Some(d) = self.duration(uk, uv, &up) {
                                    update.push(Field::new("delay", Expr::raw(d)));
                                }
                            }
                            "order" | "failure_action" => {
                                if let Some(t) = self.text(uv, &up, false) {
                                    update.push(Field::new(&uk.name, t));
                                }
                            }
                            _ => self.warn(uk, &up, "not translated"),
                        }
                    }
                    fields.push(Field::new("update", Expr::Record(update)));
                }
                "placement" if swarm => {
                    let constraints: Vec<Expr> = v
                        .get("constraints")
                        .map(|c| {
                            self.list(c, &p)
                                .into_iter()
                                .filter_map(|x| self.text(x, &p, false))
                                .collect()
                        })
                        .unwrap_or_default();
                    fields.push(Field::new(
                        "placement",
                        Expr::Record(vec![Field::new("constraints", Expr::List(constraints))]),
                    ));
                }
                _ => self.warn(k, &p, "not translated"),
            }
        }
        let _ = comments;
    }

    /// A mapping of strings (`labels`, `args`, `options`), or a `K=V` list.
    pub(super) fn string_map(&mut self, node: &Node, path: &str, secret: bool) -> Option<Expr> {
        let mut fields = Vec::new();
        if let Some(entries) = node.entries() {
            for (k, v) in entries {
                let value = self.text(v, &join(path, &k.name), secret)?;
                fields.push(Field::new(&k.name, value));
            }
        } else {
            for item in self.list(node, path) {
                let t = item.text().unwrap_or_default();
                let (k, v) = t.split_once('=').unwrap_or((t, ""));
                let value = Node {
                    value: crate::compose::yaml::Value::Scalar {
                        text: v.to_string(),
                        plain: false,
                    },
                    line: item.line,
                    col: item.col,
                };
                fields.push(Field::new(k, self.text(&value, path, secret)?));
            }
        }
        Some(Expr::Record(fields))
    }

    pub(super) fn size(&mut self, key: &Key, node: &Node, path: &str) -> Option<Expr> {
        let lit = self.literal(key, node, path)?;
        match compose_bytes(&lit) {
            Some(bytes) => Some(Expr::raw(units::format_size(bytes))),
            None => {
                self.error(node, path, format!("`{lit}` is not a size"));
                None
            }
        }
    }

    pub(super) fn cpus(&mut self, key: &Key, node: &Node, path: &str) -> Option<Expr> {
        let lit = self.literal(key, node, path)?;
        match lit.parse::<f64>() {
            Ok(n) if n.fract() == 0.0 => Some(Expr::raw(format!("{n:.1}"))),
            Ok(n) => Some(Expr::raw(n.to_string())),
            Err(_) => {
                self.error(node, path, format!("`{lit}` is not a number of CPUs"));
                None
            }
        }
    }

    /// Compose's durations (`1m30s`, `500ms`, `1.5s`) in stackc's spelling.
    pub(super) fn duration(&mut self, key: &Key, node: &Node, path: &str) -> Option<String> {
        let lit = self.literal(key, node, path)?;
        let ms = units::parse_duration(&lit).or_else(|| go_duration(&lit));
        match ms {
            Some(ms) => Some(units::format_duration(ms)),
            None => {
                self.error(node, path, format!("`{lit}` is not a duration"));
                None
            }
        }
    }
}

/// Go's durations with fractions (`1.5s`, `100us`): milliseconds.
fn go_duration(text: &str) -> Option<i64> {
    let split = text.find(|c: char| c.is_ascii_alphabetic())?;
    let (num, unit) = text.split_at(split);
    let n: f64 = num.parse().ok()?;
    let factor = match unit {
        "us" | "µs" => 0.001,
        "ms" => 1.0,
        "s" => 1000.0,
        "m" => 60_000.0,
        "h" => 3_600_000.0,
        _ => return None,
    };
    Some((n * factor).round() as i64)
}
