//! Mounts: volumes, binds and tmpfs, in their record and short forms.

use super::{Fields, Marked, Normalizer, get, items};
use crate::deployment::*;
use crate::eval::value::{Map, Value};

impl Normalizer<'_, '_> {
    pub(super) fn mounts(&mut self, fields: &Fields<'_>) -> Vec<MountSpec> {
        let mut out: Vec<Marked<MountSpec>> = Vec::new();
        let (list, whole) = items(get(fields, "mounts"));
        for m in list.iter() {
            let mount = match m.reveal() {
                (Value::Str(s), secret) => self.mount_short(&s.text, secret),
                (Value::Map(m), secret) => self.mount_record(m, secret),
                _ => None,
            };
            let Some(mount) = mount else { continue };
            let secret_target = mount.marks.iter().any(|m| m.is_empty() || m == "/target");
            if secret_target {
                out.push(mount);
                continue;
            }
            let target = &mount.item.target;
            if !target.starts_with('/') {
                self.error(
                    "mounts",
                    format!("mount target `{target}` is not an absolute path"),
                    None,
                );
            }
            if out.iter().any(|o| o.item.target == *target) {
                self.error("mounts", format!("two mounts target `{target}`"), None);
            }
            out.push(mount);
        }
        // Sorted by target; mounts whose target is secret follow in the
        // order given (the engine's mounts are read back in this order).
        let (mut shown, secret): (Vec<_>, Vec<_>) = out
            .into_iter()
            .partition(|m| !m.marks.iter().any(|m| m.is_empty() || m == "/target"));
        shown.sort_by(|a, b| a.item.target.cmp(&b.item.target));
        shown.extend(secret);
        self.place("/mounts", shown, whole)
    }

    /// `"./dir:/target:ro"` (bind), `"/abs:/target"` (bind), `"data:/target"` (volume).
    /// A secret short form is a secret mount: every part of it.
    fn mount_short(&mut self, text: &str, secret: bool) -> Option<Marked<MountSpec>> {
        let shown = if secret { SECRET_MASK } else { text };
        let parts: Vec<&str> = text.split(':').collect();
        // `"/app/node_modules"`: an anonymous volume, as Compose's short form.
        if let [target] = parts.as_slice()
            && target.starts_with('/')
        {
            return Some(anonymous(target, false, secret));
        }
        let (source, target, mode) = match parts.as_slice() {
            [s, t] => (*s, *t, None),
            [s, t, m] => (*s, *t, Some(*m)),
            _ => {
                self.error(
                    "mounts",
                    format!("`{shown}` is not `source:target[:ro]`"),
                    Some(
                        "or an absolute path alone for an anonymous volume: \"/app/node_modules\"",
                    ),
                );
                return None;
            }
        };
        let read_only = match mode {
            None | Some("rw") => false,
            Some("ro") => true,
            Some(other) => {
                let other = if secret { SECRET_MASK } else { other };
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
        if secret && !target.starts_with('/') {
            self.error(
                "mounts",
                "a secret mount target is not an absolute path",
                None,
            );
        }
        let mut marks = Vec::new();
        if secret {
            marks = vec![String::new(), "/source".into(), "/target".into()];
        }
        Some(Marked {
            item: MountSpec {
                kind: kind.into(),
                source: Some(source),
                target: target.to_string(),
                read_only,
                size: None,
            },
            marks,
        })
    }

    /// `{ volume | bind | tmpfs, target, read_only }`; a secret record is a
    /// secret mount (which kind it is, too).
    fn mount_record(&mut self, m: &Map, secret: bool) -> Option<Marked<MountSpec>> {
        let set = |k: &str| m.get(k).filter(|v| !matches!(v, Value::Null));
        let mut marks = if secret {
            vec![String::new()]
        } else {
            Vec::new()
        };
        let mut mark = |k: &str, v: &Value| {
            if v.is_tainted() {
                marks.push(format!("/{k}"));
            }
        };
        let target_value = set("target")?;
        mark("target", target_value);
        let target = target_value
            .to_text()
            .map(|(t, _)| t.to_string())
            .unwrap_or_default();
        if let Some(v) = set("read_only") {
            mark("read_only", v);
        }
        let read_only = matches!(
            set("read_only").map(|v| v.reveal().0),
            Some(Value::Bool(true))
        );
        let sources: Vec<&str> = ["volume", "bind", "tmpfs"]
            .into_iter()
            .filter(|k| set(k).is_some())
            .collect();
        if sources.is_empty() {
            return Some(Marked {
                item: anonymous(&target, read_only, false).item,
                marks,
            });
        }
        if sources.len() != 1 {
            let shown = if target_value.is_tainted() {
                SECRET_MASK
            } else {
                &target
            };
            self.error(
                "mounts",
                format!("mount of `{shown}` has more than one of `volume`, `bind` and `tmpfs`"),
                Some("give one; none is an anonymous volume"),
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
                let bind = set("bind")?;
                mark("source", bind);
                let (p, _) = bind.to_text()?;
                ("bind", Some(self.path(&p, "mounts")?), None)
            }
            _ => {
                let tmpfs = set("tmpfs")?;
                mark("size", tmpfs);
                match tmpfs.reveal().0 {
                    Value::Size(bytes) => ("tmpfs", None, Some(*bytes)),
                    _ => return None,
                }
            }
        };
        Some(Marked {
            item: MountSpec {
                kind: kind.into(),
                source,
                target,
                read_only,
                size,
            },
            marks,
        })
    }
}

/// A volume of the container's own, made with it and removed with it.
fn anonymous(target: &str, read_only: bool, secret: bool) -> Marked<MountSpec> {
    Marked {
        item: MountSpec {
            kind: "volume".into(),
            source: None,
            target: target.to_string(),
            read_only,
            size: None,
        },
        marks: if secret {
            vec![String::new(), "/target".into()]
        } else {
            Vec::new()
        },
    }
}
