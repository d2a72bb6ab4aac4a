//! What a declared type says beyond its plain type: the name of a named
//! type (`Svc`), refinements on its values (`int(1..20)`,
//! `string(matches "^[a-z]+$")`) and a record field's default.
//!
//! Values are checked against declared types where they are given (a
//! parameter, a module instance's field, a function's argument); what is
//! read back has the plain type ([`Type::plain`]): refinements say nothing
//! about what may be done with a value, and a field with a default is
//! never missing.

use std::fmt;
use std::sync::Arc;

use super::Type;
use crate::syntax::ast::{Expr, ExprKind};
use crate::units::{format_duration, format_size};

/// A type as declared: see the module documentation.
#[derive(Debug, Clone, PartialEq)]
pub struct Declared {
    pub base: Type,
    /// The name of a named type: how messages show it.
    pub name: Option<Arc<str>>,
    pub refinements: Arc<[Refinement]>,
    /// A record field's default: taken when the field is left out or `null`.
    pub default: Option<FieldDefault>,
}

/// A field default as written: a constant expression, evaluated where a
/// value is conformed to the type.
#[derive(Debug, Clone)]
pub struct FieldDefault(pub Arc<Expr>);

impl PartialEq for FieldDefault {
    fn eq(&self, other: &Self) -> bool {
        self.0.span == other.0.span
    }
}

impl FieldDefault {
    pub fn is_null(&self) -> bool {
        matches!(self.0.kind, ExprKind::Null)
    }
}

/// What a refined type asks of its values.
#[derive(Debug, Clone, PartialEq)]
pub enum Refinement {
    /// The value (numbers, durations, sizes) or length (strings, lists,
    /// maps) lies in `low..high`, both ends included.
    Range {
        low: Option<Num>,
        high: Option<Num>,
        unit: Unit,
    },
    /// A string with a match of the pattern somewhere in it.
    Matches(Pattern),
}

/// What a range measures, and how its numbers are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unit {
    Number,
    Duration,
    Size,
    Characters,
    Elements,
}

/// A bound of a range.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Num {
    Int(i64),
    Float(f64),
}

impl Num {
    fn as_f64(self) -> f64 {
        match self {
            Num::Int(i) => i as f64,
            Num::Float(f) => f,
        }
    }

    /// `a < b`, exact for two ints.
    fn less(self, other: Num) -> bool {
        match (self, other) {
            (Num::Int(a), Num::Int(b)) => a < b,
            (a, b) => a.as_f64() < b.as_f64(),
        }
    }

    fn show(self, unit: Unit) -> String {
        match (self, unit) {
            (Num::Int(ms), Unit::Duration) => format_duration(ms),
            (Num::Int(b), Unit::Size) => format_size(b),
            (Num::Int(i), _) => i.to_string(),
            (Num::Float(f), _) => f.to_string(),
        }
    }
}

/// `a < b`, exact for two ints.
pub fn less(a: Num, b: Num) -> bool {
    a.less(b)
}

/// A compiled pattern; equal when written alike.
#[derive(Debug, Clone)]
pub struct Pattern(pub Arc<regex::Regex>);

impl PartialEq for Pattern {
    fn eq(&self, other: &Self) -> bool {
        self.0.as_str() == other.0.as_str()
    }
}

/// Compiled patterns are bounded: a hostile pattern is refused, not built.
const PATTERN_SIZE_LIMIT: usize = 1 << 20;

impl Pattern {
    pub fn new(text: &str) -> Result<Pattern, String> {
        regex::RegexBuilder::new(text)
            .size_limit(PATTERN_SIZE_LIMIT)
            .dfa_size_limit(PATTERN_SIZE_LIMIT)
            .build()
            .map(|r| Pattern(Arc::new(r)))
            .map_err(|e| match e {
                regex::Error::CompiledTooBig(_) => "the pattern is too large".to_string(),
                e => e.to_string(),
            })
    }
}

/// What a refinement is checked on, taken from a value.
#[derive(Debug, Clone, Copy)]
pub enum Subject<'a> {
    Number(Num),
    Text(&'a str),
    Count(usize),
}

impl Refinement {
    /// Why `subject` does not meet the refinement, as a phrase that follows
    /// the value (`is more than 20`); `None` when it does.
    pub fn violation(&self, subject: Subject<'_>) -> Option<String> {
        match self {
            Refinement::Range { low, high, unit } => {
                let (measured, unit) = match (subject, unit) {
                    (Subject::Number(n), u) => (n, *u),
                    (Subject::Text(s), _) => (Num::Int(s.chars().count() as i64), Unit::Characters),
                    (Subject::Count(n), _) => (Num::Int(n as i64), Unit::Elements),
                };
                let below = low.filter(|l| measured.less(*l));
                let above = high.filter(|h| h.less(measured));
                let bound = match (below, above) {
                    (Some(l), _) => format!("{} than {}", less_word(unit), l.show(unit)),
                    (_, Some(h)) => format!("more than {}", h.show(unit)),
                    _ => return None,
                };
                Some(match unit {
                    Unit::Characters => format!(
                        "is {} characters long, {bound}",
                        measured.show(Unit::Number)
                    ),
                    Unit::Elements => {
                        format!("has {} elements, {bound}", measured.show(Unit::Number))
                    }
                    _ => format!("is {bound}"),
                })
            }
            Refinement::Matches(p) => match subject {
                Subject::Text(s) if !p.0.is_match(s) => {
                    Some(format!("does not match `{}`", p.0.as_str()))
                }
                _ => None,
            },
        }
    }
}

fn less_word(unit: Unit) -> &'static str {
    match unit {
        Unit::Characters | Unit::Elements => "fewer",
        _ => "less",
    }
}

impl fmt::Display for Refinement {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Refinement::Range { low, high, unit } => {
                let show = |n: &Option<Num>| n.map_or(String::new(), |n| n.show(*unit));
                write!(f, "{}..{}", show(low), show(high))
            }
            Refinement::Matches(p) => write!(f, "matches {:?}", p.0.as_str()),
        }
    }
}

impl fmt::Display for Declared {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(name) = &self.name {
            f.write_str(name)?;
        } else {
            write!(f, "{}", self.base)?;
        }
        if !self.refinements.is_empty() {
            let parts: Vec<String> = self.refinements.iter().map(|r| r.to_string()).collect();
            write!(f, "({})", parts.join(", "))?;
        }
        Ok(())
    }
}

/// What a range on values of `base` measures; `None` where ranges do not apply.
pub fn range_unit(base: &Type) -> Option<Unit> {
    Some(match base {
        Type::Int | Type::Port | Type::Float => Unit::Number,
        Type::Duration => Unit::Duration,
        Type::Size => Unit::Size,
        Type::String | Type::Secret | Type::Enum(_) => Unit::Characters,
        Type::List(_) | Type::Map(_) => Unit::Elements,
        Type::Optional(t) => return range_unit(t),
        Type::Declared(d) => return range_unit(&d.base),
        _ => return None,
    })
}

impl Type {
    /// The type of values read back: names and refinements dropped, and a
    /// field with a default (other than `null`) never `null`.
    pub fn plain(&self) -> Type {
        match self {
            Type::Declared(d) => match (&d.default, &d.base) {
                (Some(def), Type::Optional(inner)) if !def.is_null() => inner.plain(),
                _ => d.base.plain(),
            },
            Type::List(t) => Type::list(t.plain()),
            Type::Map(t) => Type::map(t.plain()),
            Type::Optional(t) => Type::optional(t.plain()),
            Type::Record(fields) if fields.values().any(Type::has_declared) => Type::Record(
                Arc::new(fields.iter().map(|(k, t)| (k.clone(), t.plain())).collect()),
            ),
            Type::Union(ts) if ts.iter().any(Type::has_declared) => {
                Type::Union(ts.iter().map(Type::plain).collect())
            }
            t => t.clone(),
        }
    }

    fn has_declared(&self) -> bool {
        match self {
            Type::Declared(_) => true,
            Type::List(t) | Type::Map(t) | Type::Optional(t) => t.has_declared(),
            Type::Record(fields) => fields.values().any(Type::has_declared),
            Type::Union(ts) => ts.iter().any(Type::has_declared),
            _ => false,
        }
    }

    /// Whether a record field of this type may be left out.
    pub fn may_be_omitted(&self) -> bool {
        match self {
            Type::Optional(_) | Type::Any => true,
            Type::Declared(d) => d.default.is_some() || d.base.may_be_omitted(),
            _ => false,
        }
    }

    /// Whether the type, or any inside it, has a field default.
    pub fn has_defaults(&self) -> bool {
        match self {
            Type::Declared(d) => d.default.is_some() || d.base.has_defaults(),
            Type::List(t) | Type::Map(t) | Type::Optional(t) => t.has_defaults(),
            Type::Record(fields) => fields.values().any(Type::has_defaults),
            Type::Union(ts) => ts.iter().any(Type::has_defaults),
            _ => false,
        }
    }

    /// Every field default inside the type, each once per place it appears.
    pub fn defaults<'t>(&'t self, out: &mut Vec<&'t FieldDefault>) {
        match self {
            Type::Declared(d) => {
                out.extend(d.default.iter());
                d.base.defaults(out);
            }
            Type::List(t) | Type::Map(t) | Type::Optional(t) => t.defaults(out),
            Type::Record(fields) => fields.values().for_each(|t| t.defaults(out)),
            Type::Union(ts) => ts.iter().for_each(|t| t.defaults(out)),
            _ => {}
        }
    }
}

/// Whether `t` has more than `budget` nodes, counting each use of a named
/// type in full; stops counting once over.
pub fn larger_than(t: &Type, budget: &mut usize) -> bool {
    if *budget == 0 {
        return true;
    }
    *budget -= 1;
    match t {
        Type::Declared(d) => larger_than(&d.base, budget),
        Type::List(x) | Type::Map(x) | Type::Optional(x) => larger_than(x, budget),
        Type::Record(fields) => fields.values().any(|f| larger_than(f, budget)),
        Type::Union(ts) => ts.iter().any(|f| larger_than(f, budget)),
        _ => false,
    }
}
