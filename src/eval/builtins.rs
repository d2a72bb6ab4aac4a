//! Built-in functions' implementations; their signatures, which the checker
//! reads, are in `types::builtins`. A result computed from a secret is
//! secret, whatever its type; `nonsecret` is the one way back.

use std::path::Path;

use super::text::{self, TemplateProblem};
use super::value::{Map, Show, Value};
use crate::deployment::SECRET_MASK;
use crate::diagnostic::ErrorCode;
use crate::files::{Confinement, FileError, TEXT_LIMIT};

/// Where `file` may read: relative to the calling file, within the confinement.
#[derive(Clone, Copy)]
pub struct Files<'a> {
    /// The calling file's directory; `None` in standard library modules.
    pub dir: Option<&'a Path>,
    pub confinement: &'a Confinement,
    /// The longest string a call may build (`--max-string-size`), for
    /// results that cannot be sized before they are built.
    pub max_text: u64,
}

/// Why a call failed: a file that cannot be read, or a bad argument.
pub enum CallError {
    File(FileError),
    Argument(String),
    /// A line of a dotenv file (`dotenv`, `secret_dotenv`) that is not
    /// `KEY=VALUE`: the message, and a help when there is one beyond the syntax.
    Dotenv(String, Option<&'static str>),
    /// A failure with a code of its own (a bad pattern, invalid JSON).
    Coded(ErrorCode, String),
    /// A template and its values that do not fit.
    Template(TemplateProblem),
}

impl From<String> for CallError {
    fn from(message: String) -> CallError {
        CallError::Argument(message)
    }
}

impl From<&str> for CallError {
    fn from(message: &str) -> CallError {
        CallError::Argument(message.to_string())
    }
}

/// Runs a built-in.
///
/// Most built-ins look at every part of their arguments: any secret inside
/// one makes the whole result secret. Those that only move elements or look
/// at a collection's shape (`len`, `keys`, `values`, `merge`, `concat`,
/// `flatten`, `lookup`) make it secret only when a collection itself (its
/// length, its keys) is secret; the elements they move keep their own taint.
pub fn call(name: &str, args: &[Value], files: Files<'_>) -> Result<Value, CallError> {
    if name == "nonsecret" {
        return match args {
            [v] => Ok(v.declassified()),
            _ => Err("`nonsecret` takes one value".into()),
        };
    }
    if matches!(
        name,
        "len" | "keys" | "values" | "merge" | "concat" | "flatten" | "lookup"
    ) {
        let mut secret = match (name, args) {
            // Which value `lookup` finds depends on the key too.
            ("lookup", [m, k, _]) => m.is_tainted() || k.is_secret(),
            _ => args.iter().any(Value::is_tainted),
        };
        let mut shallow: Vec<Value> = args.iter().map(|a| a.reveal().0.clone()).collect();
        if let ("flatten", [Value::List(xs)]) = (name, shallow.as_slice()) {
            // The inner lists' lengths make the result's.
            secret |= xs.iter().any(Value::is_tainted);
            let inner = xs.iter().map(|x| x.reveal().0.clone()).collect();
            shallow = vec![Value::list(inner)];
        }
        if let ("lookup", [m, k, d]) = (name, shallow.as_slice()) {
            shallow = vec![m.clone(), k.declassified(), d.clone()];
        }
        return Ok(call_plain(name, &shallow, secret)?.tainted_if(secret));
    }
    let secret = args.iter().any(Value::is_secret);
    let plain: Vec<Value> = args.iter().map(Value::declassified).collect();
    let out = match name {
        "file" => read_file(name, &plain, secret, files)?,
        "secret_file" => read_file(name, &plain, secret, files)?.tainted(),
        "dotenv" => read_dotenv(name, &plain, secret, files, false)?,
        "templatefile" => match plain.as_slice() {
            [path, vars] => {
                // Only a secret path is hidden in messages; secret values make the text secret.
                let hidden = args[0].is_secret();
                let from = std::slice::from_ref(path);
                let Value::Str(t) = read_file(name, from, hidden, files)? else {
                    return Err("`templatefile` reads text".into());
                };
                let filled = text::fill_template(&t.text, map(vars)?, files.max_text);
                Value::str(filled.map_err(|e| match e {
                    // The keys of a secret record are secret.
                    CallError::Template(TemplateProblem::Unused(_)) if args[1].is_tainted() => {
                        CallError::Template(TemplateProblem::Unused(SECRET_MASK.to_string()))
                    }
                    e => e,
                })?)
            }
            _ => return Err("`templatefile` takes a path and a record of values".into()),
        },
        "regex" | "matches" | "regex_replace" => regex_call(name, &plain, secret, files.max_text)?,
        "jsonencode" => super::encode::json_encode(&plain[0])?,
        "yamlencode" => super::encode::yaml_encode(&plain[0])?,
        "jsondecode" => super::encode::json_decode(&text(&plain[0], "a string of JSON")?, secret)?,
        "secret_dotenv" => read_dotenv(name, &plain, secret, files, true)?,
        _ => call_plain(name, &plain, secret)?,
    };
    Ok(out.tainted_if(secret))
}

/// `file(path)`: a file next to the source, never outside the stack's
/// directory (or an `--allow-outside` one), so a checkout cannot read the
/// machine it is planned on. A secret path is never shown.
fn read_file(
    name: &str,
    args: &[Value],
    secret: bool,
    files: Files<'_>,
) -> Result<Value, CallError> {
    let [path] = args else {
        return Err(format!("`{name}` takes one path").into());
    };
    let p = text(path, "a path")?;
    let shown = if secret { SECRET_MASK } else { &p };
    let Some(dir) = files.dir else {
        return Err(format!("`{name}` is not available in standard library modules").into());
    };
    if Path::new(&p).is_absolute() {
        return Err(format!(
            "`{shown}` is absolute; `{name}` reads paths relative to the .stack file"
        )
        .into());
    }
    let full = crate::resolve::normalize(&dir.join(&p));
    files
        .confinement
        .read_text(&full, TEXT_LIMIT)
        .map(Value::str)
        .map_err(|e| {
            CallError::File(if secret {
                e.shown_as(Path::new(shown))
            } else {
                e
            })
        })
}

/// `dotenv(path)`: the `KEY=VALUE`s of a dotenv file read as `file` reads,
/// as a map for `env`; with `secret_values`, each value is secret (the keys
/// are not: they name environment variables).
fn read_dotenv(
    name: &str,
    args: &[Value],
    secret: bool,
    files: Files<'_>,
    secret_values: bool,
) -> Result<Value, CallError> {
    let Value::Str(text) = read_file(name, args, secret, files)? else {
        return Err("`dotenv` reads text".into());
    };
    let shown = match args {
        [Value::Str(p)] if !secret => p.text.to_string(),
        _ => SECRET_MASK.to_string(),
    };
    let entries = super::dotenv::parse(&text.text).map_err(|e| {
        CallError::Dotenv(format!("`{shown}` line {}: {}", e.line, e.message), e.help)
    })?;
    Ok(Value::map(
        entries
            .into_iter()
            .map(|(k, v)| (k, Value::str(v).tainted_if(secret_values)))
            .collect(),
    ))
}

/// `regex`, `matches` and `regex_replace`: subject first, then the pattern.
fn regex_call(name: &str, args: &[Value], secret: bool, limit: u64) -> Result<Value, CallError> {
    let (s, p) = match args {
        [s, p, ..] => (text(s, "a string")?, text(p, "a pattern string")?),
        _ => return Err(format!("wrong arguments for `{name}`").into()),
    };
    let r = text::pattern(&p, secret)?;
    Ok(match (name, args) {
        ("matches", _) => Value::Bool(r.is_match(&s)),
        ("regex", _) => text::first_match(&s, &r),
        (_, [_, _, replacement]) => {
            text::replace_all(&s, &r, &text(replacement, "a replacement string")?, limit)?
        }
        _ => return Err(format!("wrong arguments for `{name}`").into()),
    })
}

fn text(v: &Value, what: &str) -> Result<String, String> {
    match v {
        Value::Str(s) => Ok(s.text.to_string()),
        other => Err(format!("expected {what}, found {}", other.describe())),
    }
}

fn list<'a>(v: &'a Value, what: &str) -> Result<&'a [Value], String> {
    match v {
        Value::List(xs) => Ok(xs),
        other => Err(format!("expected {what}, found {}", other.describe())),
    }
}

fn map(v: &Value) -> Result<&Map, String> {
    match v {
        Value::Map(m) => Ok(m),
        other => Err(format!("expected a map, found {}", other.describe())),
    }
}

fn int(v: &Value) -> Result<i64, String> {
    match v {
        Value::Int(i) => Ok(*i),
        other => Err(format!("expected an int, found {}", other.describe())),
    }
}

/// A built-in on arguments with no secret wrappers; `secret` when some
/// were secret, so that messages never show them.
fn call_plain(name: &str, args: &[Value], secret: bool) -> Result<Value, String> {
    Ok(match (name, args) {
        ("range", [n]) => range(0, int(n)?)?,
        ("range", [a, b]) => range(int(a)?, int(b)?)?,
        ("len", [v]) => Value::Int(match v {
            Value::Str(s) => s.text.chars().count(),
            Value::List(xs) => xs.len(),
            Value::Map(m) => m.len(),
            other => return Err(format!("cannot take the length of {}", other.describe())),
        } as i64),
        ("keys", [m]) => Value::list(map(m)?.keys().map(|k| Value::str(k.as_str())).collect()),
        ("values", [m]) => Value::list(map(m)?.values().cloned().collect()),
        ("join", [xs, sep]) => {
            let sep = text(sep, "a separator string")?;
            let mut parts = Vec::new();
            for x in list(xs, "a list")? {
                match x.to_text() {
                    Some((t, _)) => parts.push(t.to_string()),
                    None => return Err(format!("cannot join {}", x.describe())),
                }
            }
            Value::str(parts.join(&sep))
        }
        ("split", [s, sep]) => {
            let (s, sep) = (text(s, "a string")?, text(sep, "a separator string")?);
            if sep.is_empty() {
                return Err("the separator is empty".into());
            }
            Value::list(s.split(sep.as_str()).map(Value::str).collect())
        }
        ("upper", [s]) => Value::str(text(s, "a string")?.to_uppercase()),
        ("lower", [s]) => Value::str(text(s, "a string")?.to_lowercase()),
        ("trim", [s]) => Value::str(text(s, "a string")?.trim()),
        ("replace", [s, old, new]) => {
            let old = text(old, "a string")?;
            if old.is_empty() {
                return Err("the string to replace is empty".into());
            }
            Value::str(text(s, "a string")?.replace(&old, &text(new, "a string")?))
        }
        ("contains", [hay, needle]) => Value::Bool(match hay {
            Value::Str(s) => s.text.contains(&*text(needle, "a string")?),
            Value::List(xs) => xs.iter().any(|x| x.equals(needle)),
            Value::Map(m) => m.contains_key(&text(needle, "a key string")?),
            other => return Err(format!("cannot search {}", other.describe())),
        }),
        ("starts_with", [s, p]) => {
            Value::Bool(text(s, "a string")?.starts_with(&text(p, "a string")?))
        }
        ("ends_with", [s, p]) => Value::Bool(text(s, "a string")?.ends_with(&text(p, "a string")?)),
        ("format", [f, rest @ ..]) => Value::str(text::format(&text(f, "a format string")?, rest)?),
        ("substr", [s, offset, length]) => Value::str(text::substr(
            &text(s, "a string")?,
            int(offset)?,
            int(length)?,
        )),
        ("seconds", [Value::Duration(ms)]) => Value::Int(ms / 1000),
        ("bytes", [Value::Size(b)]) => Value::Int(*b),
        ("seconds" | "bytes", [v]) => {
            let what = if name == "seconds" {
                "a duration"
            } else {
                "a size"
            };
            return Err(format!("expected {what}, found {}", v.describe()));
        }
        ("merge", maps) => {
            let mut out = Map::default();
            for m in maps {
                for (k, v) in map(m)? {
                    out.insert(k.clone(), v.clone());
                }
            }
            Value::map(out)
        }
        ("concat", lists) => {
            let mut out = Vec::new();
            for l in lists {
                out.extend(list(l, "a list")?.iter().cloned());
            }
            Value::list(out)
        }
        ("flatten", [xs]) => {
            let mut out = Vec::new();
            for x in list(xs, "a list")? {
                match x {
                    Value::List(inner) => out.extend(inner.iter().cloned()),
                    other => out.push(other.clone()),
                }
            }
            Value::list(out)
        }
        ("distinct", [xs]) => {
            let mut out: Vec<Value> = Vec::new();
            for x in list(xs, "a list")? {
                if !out.iter().any(|o| o.equals(x)) {
                    out.push(x.clone());
                }
            }
            Value::list(out)
        }
        ("sort", [xs]) => {
            let mut out = list(xs, "a list")?.to_vec();
            let mut error = None;
            out.sort_by(|a, b| match compare(a, b) {
                Some(o) => o,
                None => {
                    error = Some(format!(
                        "cannot sort {} with {}",
                        a.describe(),
                        b.describe()
                    ));
                    std::cmp::Ordering::Equal
                }
            });
            if let Some(e) = error {
                return Err(e);
            }
            Value::list(out)
        }
        ("min" | "max", args) => {
            let items: &[Value] = match args {
                [Value::List(xs)] => xs,
                _ => args,
            };
            let Some(first) = items.first() else {
                return Err(format!("{name} of an empty list"));
            };
            let mut best = first.clone();
            for x in &items[1..] {
                let ord = compare(x, &best).ok_or_else(|| {
                    format!("cannot compare {} with {}", x.describe(), best.describe())
                })?;
                let better = if name == "min" {
                    ord.is_lt()
                } else {
                    ord.is_gt()
                };
                if better {
                    best = x.clone();
                }
            }
            if compare(&best, &best).is_none() {
                return Err(format!(
                    "{name} expects numbers, strings, durations or sizes"
                ));
            }
            best
        }
        ("to_string", [v]) => match v.to_text() {
            Some((t, _)) => Value::str(t),
            None => Value::str(Show(v).to_string()),
        },
        ("to_int", [v]) => Value::Int(match v {
            Value::Int(i) => *i,
            Value::Float(f) if f.is_finite() && f.abs() < 9.2e18 => f.trunc() as i64,
            Value::Bool(b) => *b as i64,
            Value::Str(s) => s.text.trim().parse().map_err(|_| {
                format!(
                    "`{}` is not an integer",
                    if secret { SECRET_MASK } else { &s.text }
                )
            })?,
            other => return Err(format!("cannot convert {} to an int", other.describe())),
        }),
        ("sha256", [s]) => Value::str(crate::digest::sha256_hex(text(s, "a string")?.as_bytes())),
        ("lookup", [m, k, default]) => map(m)?
            .get(&text(k, "a key string")?)
            .cloned()
            .unwrap_or_else(|| default.clone()),
        _ => return Err(format!("wrong arguments for `{name}`")),
    })
}

fn range(a: i64, b: i64) -> Result<Value, String> {
    const LIMIT: i64 = 1_000_000;
    if b.saturating_sub(a) > LIMIT {
        return Err(format!("range of more than {LIMIT} numbers"));
    }
    Ok(Value::list((a..b.max(a)).map(Value::Int).collect()))
}

/// Orders numbers, strings, durations and sizes; `None` for other pairs.
pub fn compare(a: &Value, b: &Value) -> Option<std::cmp::Ordering> {
    match (a, b) {
        (Value::Int(x), Value::Int(y)) => Some(x.cmp(y)),
        (Value::Int(x), Value::Float(y)) => (*x as f64).partial_cmp(y),
        (Value::Float(x), Value::Int(y)) => x.partial_cmp(&(*y as f64)),
        (Value::Float(x), Value::Float(y)) => x.partial_cmp(y),
        (Value::Str(x), Value::Str(y)) => Some(x.text.cmp(&y.text)),
        (Value::Duration(x), Value::Duration(y)) | (Value::Size(x), Value::Size(y)) => {
            Some(x.cmp(y))
        }
        _ => None,
    }
}
