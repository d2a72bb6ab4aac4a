//! `files`: what is copied into a container before it starts. Only a
//! file's content may be secret; where it goes, its mode and its owner are
//! shown in plans. A `source` is read through the stack's confinement.

use std::path::Path;

use super::{Fields, Marked, Normalizer, get, items};
use crate::deployment::files::DEFAULT_MODE;
use crate::deployment::{FileSpec, RunSpec};
use crate::diagnostic::ErrorCode;
use crate::eval::value::{Map, Value};
use crate::files::TEXT_LIMIT;

/// The most all files of one container may hold together: they travel in
/// the deployment and in saved plans.
pub const CONTAINER_FILES_LIMIT: u64 = 16 * 1024 * 1024;

const FORMS: &str = "`{ target = \"/etc/app.conf\", content = \"…\" }` or `{ target = \"/etc/app.conf\", source = \"./app.conf\" }`";

impl Normalizer<'_, '_> {
    pub(super) fn files(&mut self, fields: &Fields<'_>, run: &RunSpec) -> Vec<FileSpec> {
        let (list, whole) = items(get(fields, "files"));
        if whole {
            self.secret_structure("files", "which files a container holds");
            return Vec::new();
        }
        let mut out: Vec<Marked<FileSpec>> = Vec::new();
        let mut total: u64 = 0;
        for entry in list {
            let file = match entry.reveal() {
                (_, true) => {
                    self.file_error_code(
                        ErrorCode::SecretExposed,
                        "a file entry cannot be chosen by a secret",
                        Some("only its `content` may be secret: where a file goes, its mode and owner are shown in plans"),
                    );
                    continue;
                }
                (Value::Map(m), false) => self.file(m),
                _ => None,
            };
            let Some(file) = file else { continue };
            if out.iter().any(|o| o.item.target == file.item.target) {
                let target = &file.item.target;
                self.file_error(format!("two files target `{target}`"), None);
                continue;
            }
            let bytes = file.item.content.as_ref().map_or(0, |c| c.len() as u64);
            total = total.saturating_add(bytes);
            out.push(file);
        }
        if total > CONTAINER_FILES_LIMIT {
            self.file_error(
                format!(
                    "the files of a container hold more than {} MiB together",
                    CONTAINER_FILES_LIMIT >> 20
                ),
                Some("large data belongs in an image or a volume"),
            );
        }
        if !out.is_empty() && run.read_only {
            self.file_error(
                "files cannot be copied into a container whose root filesystem is read-only",
                Some("Docker refuses to copy into it while `read_only = true`"),
            );
        }
        // Docker would write it into the volume or host directory mounted
        // there, or a tmpfs would hide it once the container starts.
        for f in &out {
            let target = &f.item.target;
            if run.mounts.iter().any(|m| inside(target, &m.target)) {
                self.file_error(
                    format!("file `{target}` lies inside a mount of this container"),
                    Some("a volume or bind mount there would receive it, a tmpfs would hide it: give the file another directory"),
                );
            }
        }
        out.sort_by(|a, b| a.item.target.cmp(&b.item.target));
        self.place("/files", out, false)
    }

    /// One `{ target, content | source, mode, uid, gid }`.
    fn file(&mut self, m: &Map) -> Option<Marked<FileSpec>> {
        let set = |k: &str| m.get(k).filter(|v| !matches!(v.reveal().0, Value::Null));
        for k in ["target", "source", "mode", "uid", "gid"] {
            if set(k).is_some_and(Value::is_tainted) {
                self.file_error_code(
                    ErrorCode::SecretExposed,
                    format!("a file's `{k}` cannot be built from a secret"),
                    Some("only `content` may be secret: the rest is shown in plans"),
                );
                return None;
            }
        }
        let target = set("target")?.to_text()?.0.to_string();
        if let Err(why) = valid_target(&target) {
            self.file_error(
                format!("file target `{target}` {why}"),
                Some("an absolute path in the container, like `/run/secrets/db_password`"),
            );
            return None;
        }
        let mode = match set("mode") {
            Some(v) => self.mode(v, &target)?,
            None => DEFAULT_MODE,
        };
        let uid = self.owner(set("uid"), "uid", &target)?;
        let gid = self.owner(set("gid"), "gid", &target)?;
        let (bytes, secret) = match (set("content"), set("source")) {
            (Some(_), Some(_)) => {
                self.file_error(
                    format!("file `{target}` has both `content` and `source`"),
                    Some("give one: the text itself, or a file beside the .stack file"),
                );
                return None;
            }
            (None, None) => {
                self.file_error(
                    format!("file `{target}` needs `content` or `source`"),
                    Some(FORMS),
                );
                return None;
            }
            (Some(content), None) => {
                let (text, secret) = content.to_text()?;
                if text.len() as u64 > TEXT_LIMIT {
                    self.file_error(
                        format!(
                            "the content of file `{target}` is larger than {} MiB",
                            TEXT_LIMIT >> 20
                        ),
                        None,
                    );
                    return None;
                }
                (text.as_bytes().to_vec(), secret)
            }
            (None, Some(source)) => (self.source(source, &target)?, false),
        };
        let mut marks = Vec::new();
        if secret {
            marks.push("/content".to_string());
        }
        Some(Marked {
            item: FileSpec::new(target, bytes, secret, mode, uid, gid),
            marks,
        })
    }

    /// The bytes of a `source`: relative to the .stack file, read through
    /// the confinement (inside the stack's tree, a regular file, at most 4 MiB).
    fn source(&mut self, v: &Value, target: &str) -> Option<Vec<u8>> {
        let text = v.to_text()?.0;
        if Path::new(&*text).is_absolute() {
            self.file_error(
                format!("the source of file `{target}` is absolute: `{text}`"),
                Some(
                    "a source is a path relative to the .stack file, inside the stack's directory",
                ),
            );
            return None;
        }
        let Some(dir) = self.ctx.dir else {
            self.file_error(
                format!("file `{target}` has a `source` in a standard library module"),
                Some("pass the content as a parameter"),
            );
            return None;
        };
        let full = crate::resolve::normalize(&dir.join(&*text));
        match self.ctx.files.read(&full, TEXT_LIMIT) {
            Ok(bytes) => Some(bytes),
            Err(e) => {
                let message = format!("the source of file `{target}`: {e}");
                self.error_code(ErrorCode::FileError, "files", message, e.help());
                None
            }
        }
    }

    /// Octal permission bits, written as a string: `"0400"`, `"400"`, `"0o400"`.
    fn mode(&mut self, v: &Value, target: &str) -> Option<u32> {
        let help = "write the mode in octal, as a string: `mode = \"0400\"`";
        match v {
            Value::Int(i) => {
                self.file_error(
                    format!("the mode of file `{target}` is the number {i}, not an octal mode"),
                    Some(help),
                );
                None
            }
            Value::Str(s) => {
                let digits = s.text.strip_prefix("0o").unwrap_or(&s.text);
                match u32::from_str_radix(digits, 8) {
                    Ok(bits)
                        if bits <= 0o7777 && !digits.is_empty() && !digits.starts_with('+') =>
                    {
                        Some(bits)
                    }
                    _ => {
                        self.file_error(
                            format!("`{}` is not a file mode (file `{target}`)", s.text),
                            Some(help),
                        );
                        None
                    }
                }
            }
            _ => None,
        }
    }

    /// A numeric user or group id; 0 (root) when not given.
    fn owner(&mut self, v: Option<&Value>, name: &str, target: &str) -> Option<u32> {
        match v {
            None => Some(0),
            Some(Value::Int(i)) => match u32::try_from(*i) {
                Ok(id) => Some(id),
                Err(_) => {
                    self.file_error(
                        format!("the {name} of file `{target}` must be 0 to 4294967295, not {i}"),
                        Some("a numeric id: names are looked up in the container, not by stackc"),
                    );
                    None
                }
            },
            Some(_) => None,
        }
    }

    fn file_error(&mut self, message: impl Into<String>, help: Option<&str>) {
        self.file_error_code(ErrorCode::InvalidFile, message, help);
    }

    fn file_error_code(&mut self, code: ErrorCode, message: impl Into<String>, help: Option<&str>) {
        self.error_code(code, "files", message, help);
    }
}

/// Whether `path` is `dir` or lies below it.
fn inside(path: &str, dir: &str) -> bool {
    let dir = dir.trim_end_matches('/');
    path == dir
        || path
            .strip_prefix(dir)
            .is_some_and(|rest| rest.starts_with('/'))
}

/// Why a target is not a plain absolute path in the container.
fn valid_target(target: &str) -> Result<(), &'static str> {
    if !target.starts_with('/') {
        return Err("is not an absolute path");
    }
    if target == "/" || target.ends_with('/') {
        return Err("names a directory, not a file");
    }
    if target.contains('\0') {
        return Err("holds a NUL character");
    }
    if target[1..]
        .split('/')
        .any(|segment| segment.is_empty() || segment == "." || segment == "..")
    {
        return Err("is not a plain path (`//`, `.` or `..` in it)");
    }
    Ok(())
}
