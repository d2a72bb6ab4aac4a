//! Checks a value against a type at evaluation, converting where the type
//! says so (int to float) and tainting values bound to `secret`.

use super::value::{Map, Show, Value};
use crate::diagnostic::did_you_mean;
use crate::source::Span;
use crate::types::declared::{Declared, Num, Subject};
use crate::types::{Type, article};

/// Why a value does not fit, and where inside it.
#[derive(Debug)]
pub struct Mismatch {
    /// `[0].host`; empty for the value itself.
    pub path: String,
    /// The same path, step by step, to find the literal that is wrong.
    pub segments: Vec<Segment>,
    pub message: String,
    pub help: Option<String>,
    /// The type was right but the value is not allowed (a port out of range).
    pub out_of_range: bool,
    /// The value is outside its refined type.
    pub refinement: bool,
}

impl Mismatch {
    fn new(message: String) -> Mismatch {
        Mismatch {
            path: String::new(),
            segments: Vec::new(),
            message,
            help: None,
            out_of_range: false,
            refinement: false,
        }
    }

    /// The same mismatch, one level further in (paths are built on the way out).
    fn within(mut self, segment: Segment) -> Mismatch {
        let text = match &segment {
            Segment::Index(i) => format!("[{i}]"),
            Segment::Key(k) => key_segment(k),
        };
        self.path.insert_str(0, &text);
        self.segments.insert(0, segment);
        self
    }
}

/// One step into a value.
#[derive(Debug, Clone)]
pub enum Segment {
    Index(usize),
    Key(String),
}

/// The value as the type wants it; errors name the path inside the value.
/// With `fill`, optional record fields left out are added as `null` (for
/// values the program reads back: parameters, lets, function arguments).
pub fn conform(v: Value, t: &Type, fill: bool, defaults: &Defaults) -> Result<Value, Mismatch> {
    match conform_ref(&v, t, &Cx { fill, defaults }) {
        Ok(Some(changed)) => Ok(changed),
        Ok(None) => Ok(v),
        Err(mut m) => {
            if m.path.starts_with('.') {
                m.path.remove(0);
            }
            Err(m)
        }
    }
}

fn wrong(want: &Type, v: &Value) -> Mismatch {
    let mut m = Mismatch::new(format!(
        "expected {}, found {}",
        article(want),
        v.describe()
    ));
    let base = match want {
        Type::Optional(t) => t,
        t => t,
    };
    if let (Type::Size, Value::Duration(ms)) = (base, v) {
        m.help = Some(crate::units::duration_for_size_help(*ms, None));
    }
    m
}

fn key_segment(k: &str) -> String {
    if !k.is_empty() && k.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
        format!(".{k}")
    } else {
        format!("[{k:?}]")
    }
}

/// Field defaults, evaluated, by where they are written.
pub type Defaults = super::HashMap<Span, Value>;

/// What conforming needs besides the value and the type.
struct Cx<'d> {
    fill: bool,
    defaults: &'d Defaults,
}

/// Checks `v` against `t`: `Ok(None)` when the value fits as it is,
/// `Ok(Some(x))` when it fits after conversion. Nothing is copied unless
/// something changes.
fn conform_ref(v: &Value, t: &Type, cx: &Cx<'_>) -> Result<Option<Value>, Mismatch> {
    match (t, v) {
        (Type::Any, _) => Ok(None),
        // A secret fits as what it holds, and stays secret; why it does not
        // fit is told without its value or its keys.
        (t, Value::Secret(inner)) => match conform_ref(inner, t, cx) {
            Ok(changed) => Ok(changed.map(Value::tainted)),
            Err(m) => Err(Mismatch {
                out_of_range: m.out_of_range,
                refinement: m.refinement,
                ..Mismatch::new(format!("a secret value that is not {}", article(t)))
            }),
        },
        (Type::Declared(d), v) => declared(v, d, cx),
        (Type::Optional(_), Value::Null) => Ok(None),
        (Type::Optional(inner), v) => conform_ref(v, inner, cx),
        (Type::String, Value::Str(_)) => Ok(None),
        (Type::Secret, Value::Str(_)) => Ok(Some(v.clone().tainted())),
        (Type::Int, Value::Int(_)) => Ok(None),
        (Type::Float, Value::Int(i)) => Ok(Some(Value::Float(*i as f64))),
        (Type::Float, Value::Float(_)) => Ok(None),
        (Type::Port, Value::Int(i)) => {
            if (1..=65535).contains(i) {
                Ok(None)
            } else {
                Err(Mismatch {
                    help: Some("ports are 1 to 65535".into()),
                    out_of_range: true,
                    ..Mismatch::new(format!("port {i} is out of range"))
                })
            }
        }
        (Type::Bool, Value::Bool(_))
        | (Type::Duration, Value::Duration(_))
        | (Type::Size, Value::Size(_)) => Ok(None),
        (Type::Enum(values), Value::Str(s)) => {
            if values.iter().any(|x| **x == *s.text) {
                Ok(None)
            } else {
                Err(Mismatch {
                    help: did_you_mean(&s.text, values.iter().map(String::as_str)),
                    out_of_range: true,
                    ..Mismatch::new(format!("{} is not one of {t}", Show(v)))
                })
            }
        }
        (Type::List(elem), Value::List(xs)) => {
            let mut out: Option<Vec<Value>> = None;
            for (i, x) in xs.iter().enumerate() {
                let changed = conform_ref(x, elem, cx).map_err(|m| m.within(Segment::Index(i)))?;
                copy_on_write(&mut out, &xs[..i], changed, x);
            }
            Ok(out.map(Value::list))
        }
        (Type::Map(elem), Value::Map(m)) => {
            let mut out: Option<Map> = None;
            for (i, (k, x)) in m.iter().enumerate() {
                let changed =
                    conform_ref(x, elem, cx).map_err(|e| e.within(Segment::Key(k.clone())))?;
                map_copy_on_write(&mut out, m, i, k, changed, x);
            }
            Ok(out.map(Value::map))
        }
        (Type::Record(fields), Value::Map(m)) => {
            if let Some(k) = m.keys().find(|k| !fields.contains_key(*k)) {
                let expected: Vec<&str> = fields.keys().map(String::as_str).collect();
                return Err(Mismatch {
                    help: crate::types::compose_keys::record_help(k, &expected)
                        .map(str::to_string)
                        .or_else(|| did_you_mean(k, expected.iter().copied()))
                        .or_else(|| Some(format!("expected fields: {}", expected.join(", ")))),
                    ..Mismatch::new(format!("unknown field `{k}`"))
                });
            }
            if let Some((k, ft)) = fields
                .iter()
                .find(|(k, ft)| !m.contains_key(*k) && !ft.may_be_omitted())
            {
                return Err(Mismatch {
                    help: Some(format!("add `{k} = …` ({ft})")),
                    ..Mismatch::new(format!("missing field `{k}`"))
                });
            }
            let mut out: Option<Map> = None;
            for (i, (k, x)) in m.iter().enumerate() {
                let ft = fields.get(k).unwrap_or(&Type::Any);
                let changed =
                    conform_ref(x, ft, cx).map_err(|e| e.within(Segment::Key(k.clone())))?;
                map_copy_on_write(&mut out, m, i, k, changed, x);
            }
            // Fields left out take their default; optional ones read as `null` (`svc.note`).
            let left_out =
                |(k, ft): &(&String, &Type)| !m.contains_key(*k) && (cx.fill || has_default(ft));
            if fields.iter().any(|f| left_out(&f)) {
                let mut filled = out.unwrap_or_else(|| (**m).clone());
                for (k, ft) in fields.iter().filter(|f| left_out(f)) {
                    let v = match conform_ref(&Value::Null, ft, cx) {
                        Ok(Some(v)) => v,
                        Ok(None) => Value::Null,
                        Err(e) => return Err(e.within(Segment::Key(k.clone()))),
                    };
                    filled.insert(k.clone(), v);
                }
                out = Some(filled);
            }
            Ok(out.map(Value::map))
        }
        (Type::Resource(k), Value::Ref(r)) if r.kind == *k => Ok(None),
        (Type::AnyResource, Value::Ref(_) | Value::Instance(_)) => Ok(None),
        (Type::Instance(m), Value::Instance(i)) if i.module == *m => Ok(None),
        (Type::Union(members), v) => {
            let mut closest: Option<Mismatch> = None;
            for m in members.iter().filter(|m| shape_matches(m, v)) {
                match conform_ref(v, m, cx) {
                    Ok(x) => return Ok(x),
                    Err(e) => {
                        closest.get_or_insert(e);
                    }
                }
            }
            Err(closest.unwrap_or_else(|| wrong(t, v)))
        }
        (t, v) => Err(wrong(t, v)),
    }
}

/// Records element `x` (or its replacement) once any element has changed.
fn copy_on_write(
    out: &mut Option<Vec<Value>>,
    before: &[Value],
    changed: Option<Value>,
    x: &Value,
) {
    match (out.as_mut(), changed) {
        (Some(o), c) => o.push(c.unwrap_or_else(|| x.clone())),
        (None, Some(c)) => {
            let mut o = before.to_vec();
            o.push(c);
            *out = Some(o);
        }
        (None, None) => {}
    }
}

fn map_copy_on_write(
    out: &mut Option<Map>,
    m: &Map,
    i: usize,
    k: &str,
    changed: Option<Value>,
    x: &Value,
) {
    match (out.as_mut(), changed) {
        (Some(o), c) => {
            o.insert(k.to_string(), c.unwrap_or_else(|| x.clone()));
        }
        (None, Some(c)) => {
            let mut o: Map = m
                .iter()
                .take(i)
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect();
            o.insert(k.to_string(), c);
            *out = Some(o);
        }
        (None, None) => {}
    }
}

/// Whether a value has the outer shape of a type, so that a union reports
/// the error of the member the user evidently meant.
fn shape_matches(t: &Type, v: &Value) -> bool {
    match (t, v) {
        (Type::Any, _) => true,
        (t, Value::Secret(inner)) => shape_matches(t, inner),
        (Type::Declared(d), v) => shape_matches(&d.base, v),
        (Type::Optional(inner), v) => matches!(v, Value::Null) || shape_matches(inner, v),
        (Type::String | Type::Secret | Type::Enum(_), Value::Str(_)) => true,
        (Type::Int | Type::Port, Value::Int(_)) => true,
        (Type::Float, Value::Int(_) | Value::Float(_)) => true,
        (Type::Bool, Value::Bool(_))
        | (Type::Duration, Value::Duration(_))
        | (Type::Size, Value::Size(_)) => true,
        (Type::List(_), Value::List(_)) => true,
        (Type::Map(_) | Type::Record(_), Value::Map(_)) => true,
        (Type::Resource(k), Value::Ref(r)) => r.kind == *k,
        (Type::AnyResource, Value::Ref(_) | Value::Instance(_)) => true,
        (Type::Instance(_), Value::Instance(_)) => true,
        (Type::Union(ms), v) => ms.iter().any(|m| shape_matches(m, v)),
        _ => false,
    }
}

fn has_default(t: &Type) -> bool {
    matches!(t, Type::Declared(d) if d.default.is_some())
}

/// A value against a declared type: `null` for a field default's value,
/// then the base type, then each refinement.
fn declared(v: &Value, d: &Declared, cx: &Cx<'_>) -> Result<Option<Value>, Mismatch> {
    if let (Value::Null, Some(default)) = (v, &d.default) {
        // Evaluated before conforming; missing only after an error reported there.
        let Some(given) = cx.defaults.get(&default.0.span) else {
            return Ok(None);
        };
        let changed = conform_ref(given, &d.base, cx)?;
        return Ok(Some(changed.unwrap_or_else(|| given.clone())));
    }
    let changed = conform_ref(v, &d.base, cx).map_err(|m| {
        // A value of the wrong shape altogether: named as the type is.
        if d.name.is_some() && m.segments.is_empty() && !m.out_of_range && !m.refinement {
            wrong(&Type::Declared(d.clone().into()), v)
        } else {
            m
        }
    })?;
    if d.refinements.is_empty() {
        return Ok(changed);
    }
    let (now, secret) = changed.as_ref().unwrap_or(v).reveal();
    let (subject, shown) = match now {
        Value::Int(i) => (Subject::Number(Num::Int(*i)), Show(now).to_string()),
        Value::Float(f) => (Subject::Number(Num::Float(*f)), Show(now).to_string()),
        Value::Duration(ms) => (Subject::Number(Num::Int(*ms)), Show(now).to_string()),
        // `2GiB`, as the bound is shown, not `2147483648`.
        Value::Size(b) => (Subject::Number(Num::Int(*b)), crate::units::format_size(*b)),
        Value::Str(s) => (Subject::Text(&s.text), clipped(Show(now).to_string())),
        Value::List(xs) => (Subject::Count(xs.len()), "the list".to_string()),
        Value::Map(m) => (Subject::Count(m.len()), "the map".to_string()),
        _ => return Ok(changed),
    };
    match d.refinements.iter().find_map(|r| r.violation(subject)) {
        None => Ok(changed),
        // Neither the value nor what is wrong with it is told.
        Some(_) if secret => Err(Mismatch {
            refinement: true,
            ..Mismatch::new(format!(
                "a secret value that is not {}",
                article(&Type::Declared(d.clone().into()))
            ))
        }),
        Some(why) => Err(Mismatch {
            refinement: true,
            help: Some(format!(
                "the type is `{}`",
                Type::Declared(d.clone().into())
            )),
            ..Mismatch::new(format!("{shown} {why}"))
        }),
    }
}

/// A long value shown in a message: its start.
fn clipped(shown: String) -> String {
    const LIMIT: usize = 60;
    match shown.char_indices().nth(LIMIT) {
        Some((at, _)) => format!("{}…", &shown[..at]),
        None => shown,
    }
}
