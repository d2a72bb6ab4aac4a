//! Types of the language, and the static checker that runs before evaluation.

pub mod builtins;
pub mod check;
pub mod compose_keys;
pub mod declared;
mod errors;
pub mod named;
mod named_errors;
pub mod operators;
pub mod schema;
pub mod template;

use std::fmt;
use std::sync::Arc;

use indexmap::IndexMap;

pub use check::{ModuleTypes, check_program, check_program_with};
pub use declared::Declared;
pub use template::TemplateFiles;

use crate::deployment::Kind;
use crate::resolve::ModuleId;

#[derive(Debug, Clone, PartialEq)]
pub enum Type {
    /// Not known statically; checked when the value exists.
    Any,
    Null,
    String,
    Int,
    Float,
    Bool,
    Duration,
    Size,
    /// An int in 1..=65535.
    Port,
    /// A string that is never shown.
    Secret,
    List(Box<Type>),
    Map(Box<Type>),
    Record(Arc<IndexMap<String, Type>>),
    Optional(Box<Type>),
    Enum(Arc<[String]>),
    Resource(Kind),
    /// Any resource reference or module instance (the target of `depends_on`).
    AnyResource,
    /// One of several types; used by resource schemas only.
    Union(Arc<[Type]>),
    /// An instance of a module (`postgres.db`): its members are the module's outputs.
    Instance(ModuleId),
    /// A kind or module alias used as a name (`container`, `postgres`): only
    /// `.name` or `["name"]` may follow.
    Namespace(Namespace),
    /// A type as declared: named, refined, or with a default (`declared.rs`).
    /// Only in the types values are checked against, never in what is read.
    Declared(Arc<Declared>),
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Namespace {
    Kind(Kind),
    Module(ModuleId),
}

impl Type {
    pub fn list(t: Type) -> Type {
        Type::List(Box::new(t))
    }

    pub fn map(t: Type) -> Type {
        Type::Map(Box::new(t))
    }

    pub fn optional(t: Type) -> Type {
        match t {
            Type::Optional(_) | Type::Any | Type::Null => t,
            t => Type::Optional(Box::new(t)),
        }
    }

    pub fn record(fields: &[(&str, Type)]) -> Type {
        Type::Record(Arc::new(
            fields
                .iter()
                .map(|(k, t)| (k.to_string(), t.clone()))
                .collect(),
        ))
    }

    pub fn union(types: &[Type]) -> Type {
        Type::Union(types.to_vec().into())
    }

    pub fn enumeration(values: &[&str]) -> Type {
        Type::Enum(values.iter().map(|s| s.to_string()).collect())
    }

    /// Scalars that print as text: env values, build args, command words.
    pub fn scalar() -> Type {
        Type::union(&[Type::String, Type::Int, Type::Float, Type::Bool])
    }

    /// Whether values of this type can hold a secret.
    pub fn contains_secret(&self) -> bool {
        match self {
            Type::Secret | Type::Any => true,
            Type::Declared(d) => d.base.contains_secret(),
            Type::List(t) | Type::Map(t) | Type::Optional(t) => t.contains_secret(),
            Type::Record(fields) => fields.values().any(Type::contains_secret),
            Type::Union(ts) => ts.iter().any(Type::contains_secret),
            _ => false,
        }
    }

    /// Whether a string value is accepted.
    pub fn is_stringy(&self) -> bool {
        matches!(self, Type::String | Type::Secret | Type::Enum(_))
    }

    /// Whether a value of type `from` may be used where `self` is expected.
    /// `Any` on either side is accepted: the value is checked at evaluation.
    pub fn accepts(&self, from: &Type) -> bool {
        use Type::*;
        match (self, from) {
            (Any, _) | (_, Any) => true,
            (Declared(d), Null) if d.default.is_some() => true,
            (Declared(d), f) => d.base.accepts(f),
            (t, Declared(_)) => t.accepts(&from.plain()),
            (Optional(inner), Null) => {
                let _ = inner;
                true
            }
            (Optional(inner), Optional(f)) => inner.accepts(f),
            (Optional(inner), f) => inner.accepts(f),
            (Union(ts), f) => match f {
                Union(fs) => fs.iter().all(|f| ts.iter().any(|t| t.accepts(f))),
                f => ts.iter().any(|t| t.accepts(f)),
            },
            (t, Union(fs)) => fs.iter().all(|f| t.accepts(f)),
            (String | Secret, String | Secret | Enum(_)) => true,
            (Enum(_), String | Secret) => true,
            (Enum(a), Enum(b)) => b.iter().all(|v| a.contains(v)),
            (Int | Port, Int | Port) => true,
            (Float, Int | Port | Float) => true,
            (List(t), List(f)) => t.accepts(f),
            (Map(t), Map(f)) => t.accepts(f),
            (Map(t), Record(fields)) => fields.values().all(|f| t.accepts(f)),
            (Record(want), Record(have)) => {
                have.iter()
                    .all(|(k, f)| want.get(k).is_some_and(|t| t.accepts(f)))
                    && want
                        .iter()
                        .all(|(k, t)| have.contains_key(k) || t.may_be_omitted())
            }
            (Record(want), Map(f)) => want.values().all(|t| t.accepts(f)),
            (AnyResource, Resource(_) | Instance(_)) => true,
            (Resource(a), Resource(b)) => a == b,
            (Instance(a), Instance(b)) => a == b,
            (a, b) => a == b,
        }
    }

    /// The common type of two values (list elements, `if` branches).
    pub fn join(a: &Type, b: &Type) -> Type {
        use Type::*;
        match (a, b) {
            (Declared(_), _) | (_, Declared(_)) => Type::join(&a.plain(), &b.plain()),
            _ if a == b => a.clone(),
            (Any, _) | (_, Any) => Any,
            (Null, t) | (t, Null) => Type::optional(t.clone()),
            (Optional(x), t) | (t, Optional(x)) => Type::optional(Type::join(x, t)),
            (Int | Port, Float) | (Float, Int | Port) => Float,
            (Int, Port) | (Port, Int) => Int,
            (String | Enum(_) | Secret, String | Enum(_) | Secret) => String,
            (List(x), List(y)) => List(Box::new(Type::join(x, y))),
            (Map(x), Map(y)) => Map(Box::new(Type::join(x, y))),
            _ => Any,
        }
    }
}

impl fmt::Display for Type {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Type::Any => f.write_str("any"),
            Type::Null => f.write_str("null"),
            Type::String => f.write_str("string"),
            Type::Int => f.write_str("int"),
            Type::Float => f.write_str("float"),
            Type::Bool => f.write_str("bool"),
            Type::Duration => f.write_str("duration"),
            Type::Size => f.write_str("size"),
            Type::Port => f.write_str("port"),
            Type::Secret => f.write_str("secret"),
            Type::List(t) => write!(f, "list[{t}]"),
            Type::Map(t) => write!(f, "map[{t}]"),
            Type::Record(fields) => {
                f.write_str("{ ")?;
                for (i, (k, t)) in fields.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    write!(f, "{k}: {t}")?;
                }
                f.write_str(" }")
            }
            Type::Optional(t) => match **t {
                Type::Enum(_) | Type::Union(_) => write!(f, "({t})?"),
                _ => write!(f, "{t}?"),
            },
            Type::Enum(values) => {
                let quoted: Vec<String> = values.iter().map(|v| format!("\"{v}\"")).collect();
                f.write_str(&quoted.join(" | "))
            }
            Type::Resource(k) => write!(f, "{k}"),
            Type::AnyResource => f.write_str("a resource reference"),
            Type::Union(ts) => {
                let parts: Vec<String> = ts.iter().map(|t| t.to_string()).collect();
                f.write_str(&parts.join(" or "))
            }
            Type::Instance(_) => f.write_str("module instance"),
            Type::Namespace(Namespace::Kind(k)) => write!(f, "the kind `{k}`"),
            Type::Namespace(Namespace::Module(_)) => f.write_str("a module"),
            Type::Declared(d) => write!(f, "{d}"),
        }
    }
}

/// Type names a user can write.
pub fn named_type(name: &str) -> Option<Type> {
    Some(match name {
        "any" => Type::Any,
        "string" => Type::String,
        "int" => Type::Int,
        "float" => Type::Float,
        "bool" => Type::Bool,
        "duration" => Type::Duration,
        "size" => Type::Size,
        "port" => Type::Port,
        "secret" => Type::Secret,
        _ => Type::Resource(Kind::parse(name)?),
    })
}

pub const TYPE_NAMES: &[&str] = &[
    "any",
    "string",
    "int",
    "float",
    "bool",
    "duration",
    "size",
    "port",
    "secret",
    "list",
    "map",
    "image",
    "network",
    "volume",
    "container",
    "service",
];

/// "a string", "an int", "a list[string]".
pub fn article(t: &Type) -> String {
    let s = t.to_string();
    match t {
        Type::Union(members) => {
            let parts: Vec<String> = members.iter().map(article).collect();
            match parts.split_last() {
                Some((last, init)) if !init.is_empty() => format!("{} or {last}", init.join(", ")),
                _ => parts.join(""),
            }
        }
        Type::Optional(inner) => format!("{} or null", article(inner)),
        Type::Null | Type::Namespace(_) | Type::AnyResource => s,
        Type::Record(_) => "a record".to_string(),
        Type::Enum(_) => format!("one of {s}"),
        Type::Declared(d) if d.name.is_none() && d.refinements.is_empty() => article(&d.base),
        _ if s.starts_with(['a', 'e', 'i', 'o', 'u', 'A', 'E', 'I', 'O', 'U']) => format!("an {s}"),
        _ => format!("a {s}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn subtypes_are_accepted() {
        assert!(Type::Float.accepts(&Type::Int));
        assert!(Type::Int.accepts(&Type::Port));
        assert!(
            Type::Port.accepts(&Type::Int),
            "checked for range at evaluation"
        );
        assert!(!Type::Int.accepts(&Type::Float));
        assert!(
            Type::String.accepts(&Type::Secret),
            "a string built from a secret stays secret"
        );
        assert!(Type::optional(Type::Int).accepts(&Type::Null));
        assert!(!Type::Int.accepts(&Type::Null));
        assert!(!Type::Duration.accepts(&Type::Int), "durations carry units");
    }

    #[test]
    fn enums_accept_their_members_only() {
        let proto = Type::enumeration(&["tcp", "udp"]);
        assert!(proto.accepts(&Type::enumeration(&["udp"])));
        assert!(!proto.accepts(&Type::enumeration(&["sctp"])));
        assert!(Type::String.accepts(&proto));
    }

    #[test]
    fn records_are_structural() {
        let want = Type::record(&[
            ("host", Type::optional(Type::Port)),
            ("container", Type::Port),
        ]);
        assert!(want.accepts(&Type::record(&[("container", Type::Int)])));
        assert!(
            !want.accepts(&Type::record(&[("host", Type::Int)])),
            "container is required"
        );
        assert!(!want.accepts(&Type::record(&[
            ("container", Type::Int),
            ("hots", Type::Int)
        ])));
        assert!(
            Type::map(Type::Int).accepts(&Type::record(&[("a", Type::Int), ("b", Type::Port)]))
        );
    }

    #[test]
    fn joins_find_the_common_type() {
        assert_eq!(Type::join(&Type::Int, &Type::Float), Type::Float);
        assert_eq!(
            Type::join(&Type::Null, &Type::Int),
            Type::optional(Type::Int)
        );
        assert_eq!(Type::join(&Type::Secret, &Type::String), Type::String);
        assert_eq!(Type::join(&Type::Int, &Type::Bool), Type::Any);
    }

    #[test]
    fn types_display_as_written() {
        assert_eq!(
            Type::list(Type::optional(Type::Port)).to_string(),
            "list[port?]"
        );
        assert_eq!(
            Type::optional(Type::enumeration(&["a", "b"])).to_string(),
            "(\"a\" | \"b\")?"
        );
        assert_eq!(
            Type::record(&[("name", Type::String)]).to_string(),
            "{ name: string }"
        );
    }
}
