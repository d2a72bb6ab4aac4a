//! Written types to [`Type`]s: built-in names, named types (`type Svc =
//! …`, and `alias.Svc` for those of an imported module), records with
//! field defaults, and refinements.
//!
//! A module's named types are resolved once, imported modules first; a
//! named type that contains itself is an error naming the cycle, since
//! types are expanded where they are used.

use std::collections::HashMap;
use std::sync::Arc;

use indexmap::IndexMap;

use super::declared::{self, Declared, FieldDefault, Num, Pattern, Refinement, Unit};
use super::named_errors as errors;
use super::{TYPE_NAMES, Type, named_type};
use crate::diagnostic::Diagnostic;
use crate::resolve::{Module, ModuleId, Program};
use crate::source::Span;
use crate::syntax::ast::{self, ExprKind, TypeExpr, TypeExprKind, UnaryOp};

/// A named type expanding to more nodes than this is refused: each use
/// of a type is a copy, so types using others twice over grow fast.
pub const MAX_TYPE_NODES: usize = 10_000;

/// Every module's named types, resolved.
#[derive(Debug, Default)]
pub struct NamedTypes {
    tables: HashMap<ModuleId, IndexMap<String, Type>>,
}

impl NamedTypes {
    /// Resolves the named types of every module, reporting what is wrong
    /// in their declarations.
    pub fn build(program: &Program, errors: &mut Vec<Diagnostic>) -> NamedTypes {
        let mut named = NamedTypes::default();
        for id in super::check::dependency_order(program) {
            let module = program.module(id);
            let mut r = Resolver {
                program,
                module,
                tables: &named.tables,
                own: Own::Building(Building::default()),
                errors: &mut *errors,
            };
            for (name, decl) in &module.types {
                if TYPE_NAMES.contains(&name.as_str()) {
                    r.errors.push(errors::builtin_type_redefined(&decl.name));
                    continue;
                }
                r.named(name, decl.name.span);
            }
            let Own::Building(b) = r.own else { continue };
            named.tables.insert(id, b.table);
        }
        named
    }

    /// A type written in `module`.
    pub fn resolve(
        &self,
        program: &Program,
        module: &Module,
        te: &TypeExpr,
        errors: &mut Vec<Diagnostic>,
    ) -> Type {
        Resolver {
            program,
            module,
            tables: &self.tables,
            own: Own::Done(self.tables.get(&module.id)),
            errors,
        }
        .resolve(te)
    }
}

struct Resolver<'a, 'e> {
    program: &'a Program,
    module: &'a Module,
    /// Imported modules' types (and, once built, the module's own).
    tables: &'a HashMap<ModuleId, IndexMap<String, Type>>,
    own: Own<'a>,
    errors: &'e mut Vec<Diagnostic>,
}

enum Own<'a> {
    Done(Option<&'a IndexMap<String, Type>>),
    Building(Building),
}

#[derive(Default)]
struct Building {
    table: IndexMap<String, Type>,
    /// Types being resolved, each with where it was named.
    stack: Vec<(String, Span)>,
}

impl Resolver<'_, '_> {
    fn resolve(&mut self, te: &TypeExpr) -> Type {
        match &te.kind {
            TypeExprKind::Name(name) => match named_type(name) {
                Some(t) => t,
                None => self.named(name, te.span),
            },
            TypeExprKind::Qualified(alias, name) => self.qualified(alias, name),
            TypeExprKind::Generic(name, arg) => {
                let inner = self.resolve(arg);
                match name.node.as_str() {
                    "list" => Type::list(inner),
                    "map" => Type::map(inner),
                    other => {
                        self.errors
                            .push(super::errors::type_takes_no_argument(other, name.span));
                        Type::Any
                    }
                }
            }
            TypeExprKind::Record(fields) => {
                let mut map = IndexMap::new();
                let mut first: HashMap<&str, Span> = HashMap::new();
                for field in fields {
                    let mut t = self.resolve(&field.ty);
                    if let Some(first) = first.insert(&field.name.node, field.name.span) {
                        self.errors.push(super::errors::field_listed_twice(
                            &field.name.node,
                            field.name.span,
                            first,
                        ));
                    }
                    if let Some(default) = &field.default {
                        t = Type::Declared(Arc::new(Declared {
                            base: t,
                            name: None,
                            refinements: Arc::new([]),
                            default: Some(FieldDefault(Arc::new(default.clone()))),
                        }));
                    }
                    map.insert(field.name.node.clone(), t);
                }
                Type::Record(Arc::new(map))
            }
            TypeExprKind::Enum(values) => {
                Type::Enum(values.iter().map(|v| v.node.clone()).collect())
            }
            TypeExprKind::Optional(inner) => Type::optional(self.resolve(inner)),
            TypeExprKind::Refined(base, written) => {
                let base = self.resolve(base);
                let refinements: Vec<Refinement> = written
                    .iter()
                    .filter_map(|r| self.refinement(&base, r))
                    .collect();
                Type::Declared(Arc::new(Declared {
                    base,
                    name: None,
                    refinements: refinements.into(),
                    default: None,
                }))
            }
        }
    }

    /// A name declared by `type` in this module.
    fn named(&mut self, name: &str, span: Span) -> Type {
        let decl = match &mut self.own {
            Own::Done(table) => {
                if let Some(t) = table.and_then(|t| t.get(name)) {
                    return t.clone();
                }
                None
            }
            Own::Building(b) => {
                if let Some(t) = b.table.get(name) {
                    return t.clone();
                }
                if let Some(at) = b.stack.iter().position(|(n, _)| n == name) {
                    let cycle: Vec<(String, Span)> = b.stack[at..].to_vec();
                    self.errors.push(errors::recursive_type(&cycle, span));
                    return Type::Any;
                }
                self.module.types.get(name)
            }
        };
        let Some(decl) = decl else {
            let mut candidates: Vec<&str> = TYPE_NAMES.to_vec();
            candidates.extend(self.module.types.keys().map(String::as_str));
            self.errors
                .push(errors::unknown_type(name, &candidates, span));
            return Type::Any;
        };
        if let Own::Building(b) = &mut self.own {
            b.stack.push((name.to_string(), span));
        }
        let base = self.resolve(&decl.ty);
        let mut t = Type::Declared(Arc::new(Declared {
            base,
            name: Some(name.into()),
            refinements: Arc::new([]),
            default: None,
        }));
        if declared::larger_than(&t, &mut MAX_TYPE_NODES.clone()) {
            self.errors
                .push(errors::type_too_large(name, decl.name.span));
            t = Type::Any;
        }
        if let Own::Building(b) = &mut self.own {
            b.stack.pop();
            b.table.insert(name.to_string(), t.clone());
        }
        t
    }

    /// `alias.Name`: a type of an imported module.
    fn qualified(&mut self, alias: &ast::Ident, name: &ast::Ident) -> Type {
        let Some(import) = self.module.imports.get(&alias.node) else {
            let aliases: Vec<&str> = self.module.imports.keys().map(String::as_str).collect();
            self.errors.push(errors::unknown_type_module(
                &alias.node,
                &aliases,
                alias.span,
            ));
            return Type::Any;
        };
        let target = self.program.module(import.module);
        match self
            .tables
            .get(&import.module)
            .and_then(|t| t.get(&name.node))
        {
            Some(t) => t.clone(),
            None => {
                let names: Vec<&str> = target.types.keys().map(String::as_str).collect();
                self.errors.push(errors::no_such_type(
                    &alias.node,
                    &target.name,
                    &name.node,
                    &names,
                    name.span,
                ));
                Type::Any
            }
        }
    }

    /// A refinement of `base` as written, if it fits `base`.
    fn refinement(&mut self, base: &Type, written: &ast::Refinement) -> Option<Refinement> {
        let plain = base.plain();
        match written {
            ast::Refinement::Matches(pattern) => {
                if !stringy(&plain) {
                    self.errors.push(errors::pattern_on(&plain, pattern.span));
                    return None;
                }
                match Pattern::new(&pattern.node) {
                    Ok(p) => Some(Refinement::Matches(p)),
                    Err(why) => {
                        self.errors.push(errors::bad_pattern(&why, pattern.span));
                        None
                    }
                }
            }
            ast::Refinement::Range { low, high, span } => {
                let Some(unit) = declared::range_unit(&plain) else {
                    self.errors.push(errors::range_on(&plain, *span));
                    return None;
                };
                let float = matches!(non_optional(&plain), Type::Float);
                let mut bound = |e: &Option<ast::Expr>| -> Result<Option<Num>, ()> {
                    let Some(e) = e else { return Ok(None) };
                    match bound_value(e, unit, float) {
                        Ok(n) => Ok(Some(n)),
                        Err(what) => {
                            self.errors
                                .push(errors::bound_unit(what, &plain, unit, e.span));
                            Err(())
                        }
                    }
                };
                let (low, high) = (bound(low).ok()?, bound(high).ok()?);
                if let (Some(l), Some(h)) = (low, high)
                    && declared::less(h, l)
                {
                    self.errors.push(errors::empty_range(*span));
                    return None;
                }
                Some(Refinement::Range { low, high, unit })
            }
        }
    }
}

fn non_optional(t: &Type) -> &Type {
    match t {
        Type::Optional(inner) => inner,
        t => t,
    }
}

fn stringy(t: &Type) -> bool {
    non_optional(t).is_stringy()
}

/// The number a bound is, if it is written in the unit the range measures;
/// else what it is, for the message.
fn bound_value(e: &ast::Expr, unit: Unit, float: bool) -> Result<Num, &'static str> {
    let (negative, lit) = match &e.kind {
        ExprKind::Unary(UnaryOp::Neg, inner) => (true, &inner.kind),
        kind => (false, kind),
    };
    let n = match (lit, unit) {
        (ExprKind::Int(i), Unit::Number | Unit::Characters | Unit::Elements) => Num::Int(*i),
        (ExprKind::Float(f), Unit::Number) if float => Num::Float(*f),
        (ExprKind::Duration(ms), Unit::Duration) => Num::Int(*ms),
        (ExprKind::Size(b), Unit::Size) => Num::Int(*b),
        (ExprKind::Int(_), _) => return Err("a plain number"),
        (ExprKind::Float(_), _) => return Err("a fractional number"),
        (ExprKind::Duration(_), _) => return Err("a duration"),
        (ExprKind::Size(_), _) => return Err("a size"),
        _ => return Err("not a number"),
    };
    let n = match (n, negative) {
        (n, false) => n,
        (Num::Int(i), true) => Num::Int(i.checked_neg().ok_or("out of range")?),
        (Num::Float(f), true) => Num::Float(-f),
    };
    let negative_length =
        matches!(unit, Unit::Characters | Unit::Elements) && matches!(n, Num::Int(i) if i < 0);
    if negative_length {
        return Err("a negative length");
    }
    Ok(n)
}
