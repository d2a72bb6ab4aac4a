//! Runtime values. Any value may be secret: `Value::Secret` wraps it, and
//! whatever is computed from a secret is secret too (strings, numbers,
//! bools, and the shape of collections).

use std::fmt;
use std::rc::Rc;

use indexmap::IndexMap;

/// Records and maps: insertion-ordered, with a fixed fast hasher.
pub type Map = IndexMap<String, Value, foldhash::fast::FixedState>;

use crate::deployment::{Kind, SECRET_MASK};
use crate::resolve::ModuleId;
use crate::units::format_duration;

/// A string.
#[derive(Debug, Clone, PartialEq)]
pub struct Str {
    pub text: Rc<str>,
}

/// A reference to a resource of the deployment.
#[derive(Debug, Clone, PartialEq)]
pub struct ResourceRef {
    pub kind: Kind,
    pub address: Rc<str>,
    /// The Docker object name.
    pub name: Rc<str>,
    /// What the reference stands for as a string: the image reference for
    /// images, the Docker name otherwise.
    pub yields: Rc<str>,
}

/// A module instance (`postgres.db`).
#[derive(Debug, Clone, PartialEq)]
pub struct InstanceRef {
    pub id: usize,
    pub module: ModuleId,
    pub address: Rc<str>,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Null,
    Bool(bool),
    Int(i64),
    Float(f64),
    /// Milliseconds.
    Duration(i64),
    /// Bytes.
    Size(i64),
    Str(Str),
    List(Rc<Vec<Value>>),
    /// Records and maps alike, in insertion order.
    Map(Rc<Map>),
    Ref(Rc<ResourceRef>),
    Instance(Rc<InstanceRef>),
    /// A value computed from a secret. Never wraps another `Secret`; the
    /// elements of a secret list or map are secret themselves, so taking
    /// one out of it keeps the taint.
    Secret(Rc<Value>),
}

impl Value {
    pub fn str(s: impl Into<Rc<str>>) -> Value {
        Value::Str(Str { text: s.into() })
    }

    /// A string, secret when `secret`.
    pub fn string(s: impl Into<Rc<str>>, secret: bool) -> Value {
        Value::str(s).tainted_if(secret)
    }

    pub fn list(items: Vec<Value>) -> Value {
        Value::List(Rc::new(items))
    }

    pub fn map(entries: Map) -> Value {
        Value::Map(Rc::new(entries))
    }

    /// What the value is, for messages ("a string", "a list").
    pub fn describe(&self) -> &'static str {
        match self {
            Value::Null => "null",
            Value::Bool(_) => "a bool",
            Value::Int(_) => "an int",
            Value::Float(_) => "a float",
            Value::Duration(_) => "a duration",
            Value::Size(_) => "a size",
            Value::Str(_) => "a string",
            Value::List(_) => "a list",
            Value::Map(_) => "a record",
            Value::Ref(r) => match r.kind {
                Kind::Image => "an image reference",
                Kind::Network => "a network reference",
                Kind::Volume => "a volume reference",
                Kind::Container => "a container reference",
                Kind::Service => "a service reference",
            },
            Value::Instance(_) => "a module instance",
            Value::Secret(_) => "a secret",
        }
    }

    /// Whether the value is secret, or anything inside it is.
    pub fn is_secret(&self) -> bool {
        match self {
            Value::Secret(_) => true,
            Value::List(xs) => xs.iter().any(Value::is_secret),
            Value::Map(m) => m.values().any(Value::is_secret),
            _ => false,
        }
    }

    /// Whether the value itself is secret (for a list or a map: its length
    /// and keys, and then every element).
    pub fn is_tainted(&self) -> bool {
        matches!(self, Value::Secret(_))
    }

    /// The value under a secret wrapper, and whether there was one.
    pub fn reveal(&self) -> (&Value, bool) {
        match self {
            Value::Secret(inner) => (inner, true),
            v => (v, false),
        }
    }

    /// The same value, secret; so is every element inside.
    pub fn tainted(self) -> Value {
        match self {
            Value::Secret(_) => self,
            Value::List(xs) => Value::Secret(Rc::new(Value::list(
                xs.iter().cloned().map(Value::tainted).collect(),
            ))),
            Value::Map(m) => Value::Secret(Rc::new(Value::map(
                m.iter()
                    .map(|(k, v)| (k.clone(), v.clone().tainted()))
                    .collect(),
            ))),
            v => Value::Secret(Rc::new(v)),
        }
    }

    /// Tainted when `secret`, else as it is.
    pub fn tainted_if(self, secret: bool) -> Value {
        if secret { self.tainted() } else { self }
    }

    /// The same value with no secret anywhere inside: `nonsecret(x)`.
    pub fn declassified(&self) -> Value {
        match self {
            Value::Secret(inner) => inner.declassified(),
            Value::List(xs) if xs.iter().any(Value::is_secret) => {
                Value::list(xs.iter().map(Value::declassified).collect())
            }
            Value::Map(m) if m.values().any(Value::is_secret) => Value::map(
                m.iter()
                    .map(|(k, v)| (k.clone(), v.declassified()))
                    .collect(),
            ),
            v => v.clone(),
        }
    }

    /// The text a value interpolates to, if it is a scalar, and whether it is secret.
    pub fn to_text(&self) -> Option<(Rc<str>, bool)> {
        Some(match self {
            Value::Str(s) => (s.text.clone(), false),
            Value::Int(i) => (i.to_string().into(), false),
            Value::Float(f) => (format_float(*f).into(), false),
            Value::Bool(b) => (b.to_string().into(), false),
            Value::Duration(ms) => (format_duration(*ms).into(), false),
            Value::Size(b) => (b.to_string().into(), false),
            Value::Ref(r) => (r.yields.clone(), false),
            Value::Secret(inner) => (inner.to_text()?.0, true),
            _ => return None,
        })
    }

    /// Structural equality (ints and floats compare by value), secrets
    /// compared by what they hold: the caller taints the answer.
    pub fn equals(&self, other: &Value) -> bool {
        match (self, other) {
            (Value::Secret(a), b) => a.equals(b),
            (a, Value::Secret(b)) => a.equals(b),
            (Value::Int(a), Value::Float(b)) | (Value::Float(b), Value::Int(a)) => {
                (*a as f64) == *b
            }
            (Value::Str(a), Value::Str(b)) => a.text == b.text,
            (Value::List(a), Value::List(b)) => {
                a.len() == b.len() && a.iter().zip(b.iter()).all(|(x, y)| x.equals(y))
            }
            (Value::Map(a), Value::Map(b)) => {
                a.len() == b.len() && a.iter().all(|(k, v)| b.get(k).is_some_and(|w| v.equals(w)))
            }
            (Value::Ref(a), Value::Ref(b)) => a.address == b.address,
            (Value::Instance(a), Value::Instance(b)) => a.id == b.id,
            (a, b) => a == b,
        }
    }
}

/// Shows a value as `.stack` source (what `to_string` gives a list or a
/// record, and how messages quote values); secrets as `(secret)`.
pub struct Show<'a>(pub &'a Value);

impl fmt::Display for Show<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            Value::Null => f.write_str("null"),
            Value::Secret(_) => f.write_str(SECRET_MASK),
            Value::Str(s) => f.write_str(&quote(&s.text)),
            Value::List(xs) => {
                f.write_str("[")?;
                for (i, x) in xs.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    write!(f, "{}", Show(x))?;
                }
                f.write_str("]")
            }
            Value::Map(m) => {
                f.write_str("{")?;
                for (i, (k, v)) in m.iter().enumerate() {
                    f.write_str(if i > 0 { ", " } else { " " })?;
                    if is_name(k) {
                        f.write_str(k)?;
                    } else {
                        f.write_str(&quote(k))?;
                    }
                    write!(f, " = {}", Show(v))?;
                }
                f.write_str(if m.is_empty() { "}" } else { " }" })
            }
            Value::Ref(r) => write!(f, "{}", r.address),
            Value::Instance(i) => write!(f, "{}", i.address),
            v => match v.to_text() {
                Some((t, _)) => f.write_str(&t),
                None => Ok(()),
            },
        }
    }
}

/// A string literal of `.stack` holding `text`: `"`, `\\`, newlines, tabs,
/// carriage returns and `${` escaped; everything else as it is.
pub fn quote(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 2);
    out.push('"');
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            '$' if chars.peek() == Some(&'{') => out.push_str("\\$"),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// Whether a record key can be written bare: a letter or `_`, then letters,
/// digits and `_` (keywords included, as keys take them).
fn is_name(key: &str) -> bool {
    let mut chars = key.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

pub fn format_float(f: f64) -> String {
    if f.fract() == 0.0 && f.abs() < 1e15 {
        format!("{f:.1}")
    } else {
        f.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn taint_reaches_every_string() {
        let v = Value::list(vec![Value::str("a"), Value::Int(1)]).tainted();
        assert!(v.is_secret());
        let Value::Secret(list) = &v else {
            unreachable!()
        };
        let Value::List(xs) = &**list else {
            unreachable!()
        };
        assert!(xs.iter().all(Value::is_tainted));
        assert!(!v.declassified().is_secret());
    }

    #[test]
    fn secrets_never_show() {
        let v = Value::list(vec![Value::string("hunter2", true), Value::str("ok")]);
        assert_eq!(Show(&v).to_string(), "[(secret), \"ok\"]");
        for v in [Value::Int(7), Value::Bool(true), Value::list(vec![])] {
            assert_eq!(Show(&v.tainted()).to_string(), "(secret)");
        }
    }

    #[test]
    fn ints_and_floats_compare_by_value() {
        assert!(Value::Int(2).equals(&Value::Float(2.0)));
        assert!(!Value::str("2").equals(&Value::Int(2)));
    }
}
