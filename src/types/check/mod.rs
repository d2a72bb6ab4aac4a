//! The static checker: names, types, resource fields and module parameters,
//! checked before anything is evaluated. Where a type is not known
//! statically it is `Any` and the evaluator checks the value instead.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use indexmap::IndexMap;

use super::builtins::{self, SignatureError};
use super::errors;
use super::named::NamedTypes;
use super::operators::{self, Operand};
use super::schema;
use super::template::TemplateFiles;
use super::{Namespace, Type};
use crate::deployment::Kind;
use crate::diagnostic::Diagnostic;
use crate::resolve::ModuleId;
use crate::resolve::{Module, Program};
use crate::source::Span;
use crate::syntax::ast::*;

mod declared;
mod expr;
mod narrow;
mod nulls;
mod references;
mod spread;

pub use spread::written_out_only;
#[cfg(test)]
mod tests;
#[cfg(test)]
mod tests_exprs;
mod text;

/// What importers need to know of a checked module.
#[derive(Debug, Default, Clone)]
pub struct ModuleTypes {
    pub outputs: IndexMap<String, Type>,
    /// Some output names are built at evaluation (interpolated, or in blocks).
    pub dynamic_outputs: bool,
}

/// Checks every module, imported modules first.
pub fn check_program(program: &Program) -> Vec<Diagnostic> {
    check(program, None)
}

/// Checks every module, reading the templates of `templatefile` calls to
/// check their placeholders. Returns errors and warnings.
pub fn check_program_with(program: &Program, templates: &TemplateFiles<'_>) -> Vec<Diagnostic> {
    check(program, Some(templates))
}

fn check(program: &Program, templates: Option<&TemplateFiles<'_>>) -> Vec<Diagnostic> {
    let mut done: HashMap<ModuleId, ModuleTypes> = HashMap::new();
    let mut errors = Vec::new();
    let named = NamedTypes::build(program, &mut errors);
    for id in dependency_order(program) {
        let module = program.module(id);
        let mut checker = Checker::new(program, module, &done, &named);
        checker.templates = templates;
        checker.check_module();
        errors.extend(checker.errors);
        let types = checker.outputs;
        done.insert(id, types);
    }
    errors
}

/// Modules ordered so that each comes after everything it imports.
pub(super) fn dependency_order(program: &Program) -> Vec<ModuleId> {
    fn visit(
        program: &Program,
        id: ModuleId,
        seen: &mut HashSet<ModuleId>,
        out: &mut Vec<ModuleId>,
    ) {
        if !seen.insert(id) {
            return;
        }
        for import in program.module(id).imports.values() {
            visit(program, import.module, seen, out);
        }
        out.push(id);
    }
    let mut seen = HashSet::new();
    let mut out = Vec::new();
    for m in &program.modules {
        visit(program, m.id, &mut seen, &mut out);
    }
    out
}

struct Checker<'a> {
    program: &'a Program,
    module: &'a Module,
    imported: &'a HashMap<ModuleId, ModuleTypes>,
    named: &'a NamedTypes,
    /// Parameters' types as read (plain), and as declared (values given are checked against these).
    params: HashMap<String, Type>,
    param_decls: HashMap<String, Type>,
    let_types: HashMap<String, Type>,
    in_progress: HashSet<String>,
    fn_types: HashMap<String, (Vec<Type>, Option<Type>)>,
    fn_returns: HashMap<String, Type>,
    locals: Vec<(String, Type)>,
    /// Paths into values proven present where they are used (`narrow.rs`).
    narrowed_paths: Vec<narrow::NarrowedPath>,
    /// The names of the resources and instances the module declares (`references.rs`).
    declared: Option<references::DeclaredNames>,
    outputs: ModuleTypes,
    errors: Vec<Diagnostic>,
    /// How deeply `infer` is nested, and whether too deep was reported.
    depth: usize,
    too_deep: bool,
    /// Where `templatefile` templates are read, when the caller gave a way.
    templates: Option<&'a TemplateFiles<'a>>,
}

/// `infer` nested deeper than this (a chain of lets or functions each using
/// the next) is refused: the checker recurses, and its stack is fixed.
pub const MAX_DEPTH: usize = 10_000;

/// Types of lets and functions nested deeper than this are refused (and
/// taken as unknown), so that a chain `let a1 = [a0]` … cannot build types
/// nested without bound.
pub const MAX_TYPE_DEPTH: usize = 256;

/// Whether `t` nests deeper than `limit` (recursion bounded by `limit`).
fn deeper_than(t: &Type, limit: usize) -> bool {
    if limit == 0 {
        return true;
    }
    match t {
        Type::List(x) | Type::Map(x) | Type::Optional(x) => deeper_than(x, limit - 1),
        Type::Record(fields) => fields.values().any(|f| deeper_than(f, limit - 1)),
        Type::Union(ts) => ts.iter().any(|f| deeper_than(f, limit - 1)),
        Type::Declared(d) => deeper_than(&d.base, limit - 1),
        _ => false,
    }
}

impl<'a> Checker<'a> {
    fn new(
        program: &'a Program,
        module: &'a Module,
        imported: &'a HashMap<ModuleId, ModuleTypes>,
        named: &'a NamedTypes,
    ) -> Self {
        let mut errors = Vec::new();
        let mut resolve = |te: &TypeExpr| named.resolve(program, module, te, &mut errors);
        let param_decls: HashMap<String, Type> = module
            .params
            .iter()
            .map(|(n, p)| (n.clone(), resolve(&p.ty)))
            .collect();
        let fn_types = module
            .fns
            .iter()
            .map(|(n, f)| {
                let ps = f.params.iter().map(|(_, t)| resolve(t)).collect();
                let ret = f.ret.as_ref().map(&mut resolve);
                (n.clone(), (ps, ret))
            })
            .collect();
        let params = param_decls
            .iter()
            .map(|(n, t)| (n.clone(), t.plain()))
            .collect();
        Checker {
            program,
            module,
            imported,
            named,
            params,
            param_decls,
            let_types: HashMap::new(),
            in_progress: HashSet::new(),
            fn_types,
            fn_returns: HashMap::new(),
            locals: Vec::new(),
            narrowed_paths: Vec::new(),
            declared: None,
            outputs: ModuleTypes::default(),
            errors,
            depth: 0,
            too_deep: false,
            templates: None,
        }
    }

    fn check_module(&mut self) {
        let module = self.module;
        for (name, p) in &module.params {
            if let Some(default) = &p.default {
                let t = self.param_decls.get(name).cloned().unwrap_or(Type::Any);
                self.check(default, &t);
            }
        }
        self.check_declarations();
        for name in module.lets.keys() {
            self.let_type(name);
        }
        for name in module.fns.keys() {
            self.fn_return(name);
        }
        self.items(&module.body, true);
    }

    // ------------------------------------------------------------ items

    fn items(&mut self, items: &'a [Item], top: bool) {
        // Block lets are visible in the whole block, whatever their order.
        let mark = self.locals.len();
        if !top {
            for item in items {
                if let Item::Let(l) = item {
                    self.locals.push((l.name.node.clone(), Type::Any));
                }
            }
            for (i, item) in items
                .iter()
                .filter_map(|i| if let Item::Let(l) = i { Some(l) } else { None })
                .enumerate()
            {
                let t = match &item.ty {
                    Some(te) => {
                        let t = self.resolve_type(te);
                        self.check(&item.value, &t);
                        t.plain()
                    }
                    None => self.infer(&item.value),
                };
                self.locals[mark + i].1 = t;
            }
        }
        for item in items {
            match item {
                Item::Resource(r) => self.resource(r),
                Item::For(f) => {
                    let iter = self.infer(&f.iter);
                    let (key, value) = self.loop_types(&iter, &f.vars, f.iter.span);
                    let n = self.bind(&f.vars, key, value);
                    self.items(&f.body, false);
                    self.locals.truncate(self.locals.len() - n);
                }
                Item::If(i) => {
                    self.check(&i.cond, &Type::Bool);
                    self.narrowed(&i.cond, true, |c| c.items(&i.then, false));
                    self.narrowed(&i.cond, false, |c| c.items(&i.otherwise, false));
                }
                Item::Output(o) => {
                    self.check(&o.name, &Type::String);
                    let t = self.infer(&o.value);
                    match o.name.as_plain_string() {
                        // A second output of the same name is reported by evaluation,
                        // which sees every output, including those built in blocks.
                        Some(name) if top => {
                            self.outputs.outputs.insert(name.to_string(), t);
                        }
                        _ => self.outputs.dynamic_outputs = true,
                    }
                }
                Item::Assert(a) => {
                    self.check(&a.cond, &Type::Bool);
                    self.check(&a.message, &Type::String);
                }
                // Top-level tables are checked by `check_module`; block lets above.
                Item::Let(_)
                | Item::Param(_)
                | Item::Fn(_)
                | Item::Import(_)
                | Item::Stack(_)
                | Item::Type(_) => {}
                // Addresses, not expressions: read by `resolve/moved.rs`.
                Item::Moved(_) => {}
            }
        }
        self.locals.truncate(mark);
    }

    fn resource(&mut self, r: &'a ResourceDecl) {
        self.check(&r.name, &Type::String);
        let mut seen: HashMap<&str, Span> = HashMap::new();
        let mut names = Vec::new();
        let mut spreads = Vec::new();
        for field in &r.fields {
            if field.is_spread() {
                spreads.push(field);
                continue;
            }
            let Some(name) = field.key.static_name() else {
                self.infer_key(&field.key);
                self.errors
                    .push(errors::field_name_not_written(field.key.span()));
                continue;
            };
            if let Some(first) = seen.insert(name, field.key.span()) {
                self.errors
                    .push(errors::field_set_twice(name, field.key.span(), first));
            }
            names.push((name, field));
        }
        let written: HashSet<String> = names.iter().map(|(n, _)| n.to_string()).collect();
        let mut supplied = spread::Supplied::default();
        if let Some(kind) = Kind::parse(&r.kind.node) {
            for s in &spreads {
                let target = spread::SpreadTarget::Resource(kind);
                let found = self.check_spread(&s.value, &target, &written);
                if kind == Kind::Container && found.names.contains("container_name") {
                    self.errors
                        .push(spread::written_out_only("container_name", s.value.span));
                }
                supplied.names.extend(found.names);
                supplied.open |= found.open;
            }
            for (name, field) in &names {
                match schema::field_def(kind, name) {
                    Some(def) => self.check(&field.value, &def.accepted),
                    None => {
                        self.infer(&field.value);
                        let fields = schema::fields(kind).iter().map(|f| f.name);
                        self.errors.push(errors::unknown_resource_field(
                            kind,
                            name,
                            fields,
                            field.key.span(),
                        ));
                    }
                }
            }
            for def in schema::fields(kind).iter().filter(|d| d.required) {
                if !seen.contains_key(def.name) && !supplied.covers(def.name) {
                    self.errors.push(errors::missing_resource_field(
                        kind,
                        &r.name,
                        def.name,
                        &def.ty,
                        r.kind.span.to(r.name.span),
                    ));
                }
            }
        } else if let Some(import) = self.module.imports.get(&r.kind.node) {
            let target = self.program.module(import.module);
            let mut errors = Vec::new();
            let param_types: IndexMap<&str, Type> = target
                .params
                .iter()
                .map(|(n, p)| {
                    let t = self.named.resolve(self.program, target, &p.ty, &mut errors);
                    (n.as_str(), t)
                })
                .collect();
            for s in &spreads {
                let target = spread::SpreadTarget::Params(&r.kind.node, &param_types);
                let s = self.check_spread(&s.value, &target, &written);
                supplied.names.extend(s.names);
                supplied.open |= s.open;
            }
            for (name, field) in &names {
                match param_types.get(name) {
                    Some(t) => self.check(&field.value, t),
                    None => {
                        self.infer(&field.value);
                        let params: Vec<&str> = param_types.keys().copied().collect();
                        self.errors.push(errors::unknown_module_parameter(
                            &r.kind.node,
                            name,
                            &params,
                            field.key.span(),
                        ));
                    }
                }
            }
            for (pname, p) in &target.params {
                if p.default.is_none()
                    && !seen.contains_key(pname.as_str())
                    && !supplied.covers(pname)
                {
                    let t = param_types
                        .get(pname.as_str())
                        .cloned()
                        .unwrap_or(Type::Any);
                    self.errors.push(errors::missing_module_parameter(
                        &r.kind.node,
                        &r.name,
                        pname,
                        &t,
                        r.kind.span.to(r.name.span),
                    ));
                }
            }
        } else {
            for field in &r.fields {
                self.infer(&field.value);
            }
            let mut candidates: Vec<&str> = Kind::ALL.iter().map(|k| k.as_str()).collect();
            candidates.extend(self.module.imports.keys().map(String::as_str));
            self.errors
                .push(errors::unknown_kind(&r.kind.node, &candidates, r.kind.span));
        }
    }

    fn infer_key(&mut self, key: &Key) {
        if let Key::Str(e) = key {
            self.check(e, &Type::String);
        }
    }

    // ------------------------------------------------------------ names

    fn bind(&mut self, vars: &LoopVars, key: Type, value: Type) -> usize {
        self.warn_shadowing(vars);
        self.locals.push((vars.value.node.clone(), value));
        match &vars.key {
            Some(k) => {
                self.locals.push((k.node.clone(), key));
                2
            }
            None => 1,
        }
    }

    fn loop_types(&mut self, iter: &Type, vars: &LoopVars, span: Span) -> (Type, Type) {
        match iter {
            Type::List(t) => (Type::Int, (**t).clone()),
            Type::Optional(t) => self.loop_types(&t.clone(), vars, span),
            Type::Map(t) => {
                if vars.key.is_none() {
                    self.errors.push(errors::map_loop_with_one_variable(span));
                }
                (Type::String, (**t).clone())
            }
            Type::Record(fields) => {
                if vars.key.is_none() {
                    self.errors.push(errors::map_loop_with_one_variable(span));
                }
                let joined = fields
                    .values()
                    .cloned()
                    .reduce(|a, b| Type::join(&a, &b))
                    .unwrap_or(Type::Any);
                (Type::String, joined)
            }
            Type::Any => (Type::Any, Type::Any),
            other => {
                self.errors.push(errors::not_iterable(other, span));
                (Type::Any, Type::Any)
            }
        }
    }

    /// The type of a name bound to a value (a local, parameter or let), if it is one.
    fn value_type(&mut self, name: &str) -> Option<Type> {
        if let Some((_, t)) = self.locals.iter().rev().find(|(n, _)| n == name) {
            return Some(t.clone());
        }
        if let Some(t) = self.params.get(name) {
            return Some(t.clone());
        }
        if self.module.lets.contains_key(name) {
            return Some(self.let_type(name));
        }
        None
    }

    /// Whether `name` means nothing here: no value, kind, import or function.
    fn is_undefined(&mut self, name: &str) -> bool {
        self.value_type(name).is_none()
            && Kind::parse(name).is_none()
            && !self.module.imports.contains_key(name)
            && !self.module.fns.contains_key(name)
            && !builtins::is_builtin(name)
    }

    fn lookup(&mut self, name: &str, span: Span) -> Type {
        if let Some(t) = self.value_type(name) {
            return t;
        }
        if let Some(kind) = Kind::parse(name) {
            return Type::Namespace(Namespace::Kind(kind));
        }
        if let Some(import) = self.module.imports.get(name) {
            return Type::Namespace(Namespace::Module(import.module));
        }
        if self.module.fns.contains_key(name) || builtins::is_builtin(name) {
            self.errors.push(errors::function_as_value(name, span));
            return Type::Any;
        }
        let candidates = self.names();
        self.errors
            .push(errors::unknown_name(name, &candidates, span));
        Type::Any
    }

    /// The names an expression here may use, for "did you mean".
    fn names(&self) -> Vec<&str> {
        let mut names: Vec<&str> = self.locals.iter().map(|(n, _)| n.as_str()).collect();
        names.extend(self.module.params.keys().map(String::as_str));
        names.extend(self.module.lets.keys().map(String::as_str));
        names.extend(self.module.imports.keys().map(String::as_str));
        names.extend(Kind::ALL.iter().map(|k| k.as_str()));
        names
    }

    fn let_type(&mut self, name: &str) -> Type {
        if let Some(t) = self.let_types.get(name) {
            return t.clone();
        }
        let Some(l) = self.module.lets.get(name) else {
            return Type::Any;
        };
        // After nesting too deep (a hostile input, reported once), lets are not inferred.
        if self.too_deep {
            return Type::Any;
        }
        if !self.in_progress.insert(name.to_string()) {
            return Type::Any; // a cycle, reported by resolve
        }
        // Top-level lets see only module scope, never the caller's locals.
        let saved = std::mem::take(&mut self.locals);
        let saved_paths = std::mem::take(&mut self.narrowed_paths);
        let t = match &l.ty {
            Some(te) => {
                let t = self.resolve_type(te);
                self.check(&l.value, &t);
                t.plain()
            }
            None => self.infer(&l.value),
        };
        let t = self.bounded(t, l.value.span);
        self.locals = saved;
        self.narrowed_paths = saved_paths;
        self.in_progress.remove(name);
        self.let_types.insert(name.to_string(), t.clone());
        t
    }

    /// A type nested deeper than [`MAX_TYPE_DEPTH`] is refused, once, and unknown.
    fn bounded(&mut self, t: Type, span: Span) -> Type {
        if !deeper_than(&t, MAX_TYPE_DEPTH) {
            return t;
        }
        if !self.too_deep {
            self.too_deep = true;
            self.errors.push(errors::type_too_deep(span));
        }
        Type::Any
    }

    fn fn_return(&mut self, name: &str) -> Type {
        if let Some(t) = self.fn_returns.get(name) {
            return t.clone();
        }
        let (Some(f), Some((params, ret))) =
            (self.module.fns.get(name), self.fn_types.get(name).cloned())
        else {
            return Type::Any;
        };
        if !self.in_progress.insert(format!("fn {name}")) {
            return ret.map_or(Type::Any, |r| r.plain());
        }
        let saved = std::mem::take(&mut self.locals);
        let saved_paths = std::mem::take(&mut self.narrowed_paths);
        self.locals = f
            .params
            .iter()
            .zip(params)
            .map(|((n, _), t)| (n.node.clone(), t.plain()))
            .collect();
        let t = match &ret {
            Some(r) => {
                self.check(&f.body, r);
                r.plain()
            }
            None => self.infer(&f.body),
        };
        let t = self.bounded(t, f.body.span);
        self.locals = saved;
        self.narrowed_paths = saved_paths;
        self.in_progress.remove(&format!("fn {name}"));
        self.fn_returns.insert(name.to_string(), t.clone());
        t
    }
}
