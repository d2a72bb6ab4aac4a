//! Checks a value against a type at evaluation, converting where the type
//! says so (int to float) and tainting values bound to `secret`.

use indexmap::IndexMap;

use super::value::{Show, Value};
use crate::diagnostic::did_you_mean;
use crate::types::Type;
use crate::types::check::article;

/// Why a value does not fit, and where inside it.
#[derive(Debug)]
pub struct Mismatch {
    /// `[0].host`; empty for the value itself.
    pub path: String,
    pub message: String,
    pub help: Option<String>,
    /// The type was right but the value is not allowed (a port out of range).
    pub out_of_range: bool,
}

pub fn conform(v: Value, t: &Type) -> Result<Value, Mismatch> {
    conform_at(v, t, &mut String::new())
}

fn wrong(path: &str, want: &Type, v: &Value) -> Mismatch {
    Mismatch {
        path: path.to_string(),
        message: format!("expected {}, found {}", article(want), v.describe()),
        help: None,
        out_of_range: false,
    }
}

fn conform_at(v: Value, t: &Type, path: &mut String) -> Result<Value, Mismatch> {
    match (t, v) {
        (Type::Any, v) => Ok(v),
        (Type::Optional(_), Value::Null) => Ok(Value::Null),
        (Type::Optional(inner), v) => conform_at(v, inner, path),
        (Type::String, v @ Value::Str(_)) => Ok(v),
        (Type::Secret, v @ Value::Str(_)) => Ok(v.tainted()),
        (Type::Int, v @ Value::Int(_)) => Ok(v),
        (Type::Float, Value::Int(i)) => Ok(Value::Float(i as f64)),
        (Type::Float, v @ Value::Float(_)) => Ok(v),
        (Type::Port, Value::Int(i)) => {
            if (1..=65535).contains(&i) {
                Ok(Value::Int(i))
            } else {
                Err(Mismatch {
                    path: path.clone(),
                    message: format!("port {i} is out of range"),
                    help: Some("ports are 1 to 65535".into()),
                    out_of_range: true,
                })
            }
        }
        (Type::Bool, v @ Value::Bool(_)) => Ok(v),
        (Type::Duration, v @ Value::Duration(_)) => Ok(v),
        (Type::Size, v @ Value::Size(_)) => Ok(v),
        (Type::Enum(values), Value::Str(s)) => {
            if values.iter().any(|x| **x == *s.text) {
                Ok(Value::Str(s))
            } else {
                let shown = Show(&Value::Str(s.clone())).to_string();
                Err(Mismatch {
                    path: path.clone(),
                    message: format!("{shown} is not one of {t}"),
                    help: if s.secret { None } else { did_you_mean(&s.text, values.iter().map(String::as_str)) },
                    out_of_range: true,
                })
            }
        }
        (Type::List(elem), Value::List(xs)) => {
            let mut out = Vec::with_capacity(xs.len());
            for (i, x) in xs.iter().enumerate() {
                let len = path.len();
                path.push_str(&format!("[{i}]"));
                out.push(conform_at(x.clone(), elem, path)?);
                path.truncate(len);
            }
            Ok(Value::list(out))
        }
        (Type::Map(elem), Value::Map(m)) => {
            let mut out = IndexMap::with_capacity(m.len());
            for (k, x) in m.iter() {
                let len = path.len();
                push_key(path, k);
                out.insert(k.clone(), conform_at(x.clone(), elem, path)?);
                path.truncate(len);
            }
            Ok(Value::map(out))
        }
        (Type::Record(fields), Value::Map(m)) => {
            for k in m.keys() {
                if !fields.contains_key(k) {
                    let mut at = path.clone();
                    push_key(&mut at, k);
                    return Err(Mismatch {
                        path: at,
                        message: format!("unknown field `{k}`"),
                        help: did_you_mean(k, fields.keys().map(String::as_str))
                            .or_else(|| Some(format!("expected fields: {}", fields.keys().cloned().collect::<Vec<_>>().join(", ")))),
                        out_of_range: false,
                    });
                }
            }
            let mut out = IndexMap::with_capacity(m.len());
            for (k, ft) in fields.iter() {
                let len = path.len();
                push_key(path, k);
                match m.get(k) {
                    Some(x) => {
                        out.insert(k.clone(), conform_at(x.clone(), ft, path)?);
                    }
                    None if matches!(ft, Type::Optional(_) | Type::Any) => {}
                    None => {
                        let at = path[..len].to_string();
                        return Err(Mismatch {
                            path: at,
                            message: format!("missing field `{k}`"),
                            help: Some(format!("add `{k} = …` ({ft})")),
                            out_of_range: false,
                        });
                    }
                }
                path.truncate(len);
            }
            Ok(Value::map(out))
        }
        (Type::Resource(k), Value::Ref(r)) if r.kind == *k => Ok(Value::Ref(r)),
        (Type::AnyResource, v @ (Value::Ref(_) | Value::Instance(_))) => Ok(v),
        (Type::Instance(m), Value::Instance(i)) if i.module == *m => Ok(Value::Instance(i)),
        (Type::Union(members), v) => {
            let mut closest: Option<Mismatch> = None;
            for m in members.iter() {
                if !shape_matches(m, &v) {
                    continue;
                }
                match conform_at(v.clone(), m, path) {
                    Ok(x) => return Ok(x),
                    Err(e) => {
                        closest.get_or_insert(e);
                    }
                }
            }
            Err(closest.unwrap_or_else(|| wrong(path, t, &v)))
        }
        (t, v) => Err(wrong(path, t, &v)),
    }
}

/// Whether a value has the outer shape of a type, so that a union reports
/// the error of the member the user evidently meant.
fn shape_matches(t: &Type, v: &Value) -> bool {
    match (t, v) {
        (Type::Any, _) => true,
        (Type::Optional(inner), v) => matches!(v, Value::Null) || shape_matches(inner, v),
        (Type::String | Type::Secret | Type::Enum(_), Value::Str(_)) => true,
        (Type::Int | Type::Port, Value::Int(_)) => true,
        (Type::Float, Value::Int(_) | Value::Float(_)) => true,
        (Type::Bool, Value::Bool(_)) | (Type::Duration, Value::Duration(_)) | (Type::Size, Value::Size(_)) => true,
        (Type::List(_), Value::List(_)) => true,
        (Type::Map(_) | Type::Record(_), Value::Map(_)) => true,
        (Type::Resource(k), Value::Ref(r)) => r.kind == *k,
        (Type::AnyResource, Value::Ref(_) | Value::Instance(_)) => true,
        (Type::Instance(_), Value::Instance(_)) => true,
        (Type::Union(ms), v) => ms.iter().any(|m| shape_matches(m, v)),
        _ => false,
    }
}

fn push_key(path: &mut String, k: &str) {
    if k.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') && !k.is_empty() {
        if !path.is_empty() {
            path.push('.');
        }
        path.push_str(k);
    } else {
        path.push_str(&format!("[{k:?}]"));
    }
}
