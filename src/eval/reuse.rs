//! Spreads (`...base`) into records, resources and module instances, the
//! deep merge `a ++ b`, and `a ?? b`.
//!
//! A field written out beside a spread wins wherever the spread is written;
//! of two spreads setting a field, the later one wins. Secret marks travel
//! with the values: a secret field stays secret wherever it is spread. A
//! spread whose value is itself secret (so which fields it sets is) may go
//! into a record, which is then secret, but never into a resource or an
//! instance, whose fields plans show.

use std::collections::HashSet;
use std::rc::Rc;

use indexmap::IndexMap;

use super::normalize::Fields;
use super::scope::Scope;
use super::structure::ResourceDeclared;
use super::value::{Map, Value};
use super::{Evaluator, R, Reported, errors};
use crate::deployment::Kind;
use crate::diagnostic::{Diagnostic, ErrorCode, did_you_mean};
use crate::source::Span;
use crate::syntax::ast::{Expr, ExprKind, Field, ResourceDecl};
use crate::types::schema;

/// A field a spread sets: its value, where to point, and the literal it was written in.
type Supplied<'p> = (Value, Span, Option<&'p Expr>);

impl<'p> Evaluator<'p> {
    /// `{ ...a, x = 1 }`: the entries in the order first written.
    pub(super) fn spread_record(&mut self, scope: Scope<'_, 'p>, fields: &'p [Field]) -> R<Value> {
        let mut written: Vec<Option<(String, Value)>> = Vec::with_capacity(fields.len());
        let mut names: HashSet<String> = HashSet::new();
        for field in fields {
            if field.is_spread() {
                written.push(None);
                continue;
            }
            let key = self.key(scope, &field.key)?;
            let value = self.eval(scope, &field.value)?;
            if !names.insert(key.clone()) {
                return Err(self.error(errors::duplicate_key(&key, field.key.span())));
            }
            written.push(Some((key, value)));
        }
        let mut out = Map::default();
        let mut secret = false;
        for (field, entry) in fields.iter().zip(written) {
            match entry {
                Some((key, value)) => {
                    out.insert(key, value);
                }
                None => {
                    let v = self.eval(scope, &field.value)?;
                    let (map, tainted) = self.spread_map(&v, field.value.span)?;
                    secret |= tainted;
                    for (k, x) in map.iter().filter(|(k, _)| !names.contains(*k)) {
                        out.insert(k.clone(), x.clone());
                    }
                    self.charge(map.len() as u64, field.value.span)?;
                    self.collection_size(out.len(), field.value.span)?;
                }
            }
        }
        Ok(Value::map(out).tainted_if(secret))
    }

    /// The entries of a spread value (none for null), and whether which
    /// entries there are is secret.
    fn spread_map(&mut self, v: &Value, span: Span) -> R<(Rc<Map>, bool)> {
        match v.reveal() {
            (Value::Map(m), secret) => Ok((m.clone(), secret)),
            (Value::Null, secret) => Ok((Rc::default(), secret)),
            _ => Err(self.error(not_spreadable(v, span))),
        }
    }

    /// The spreads of a resource or instance declaration, in order, each
    /// field not written out: the later spread wins.
    fn declared_spreads(
        &mut self,
        scope: Scope<'_, 'p>,
        decl: &'p ResourceDecl,
    ) -> R<IndexMap<String, Supplied<'p>>> {
        let written: HashSet<&str> = decl
            .fields
            .iter()
            .filter_map(|f| f.key.static_name())
            .collect();
        let mut out: IndexMap<String, Supplied<'p>> = IndexMap::new();
        let mut failed = false;
        for field in decl.fields.iter().filter(|f| f.is_spread()) {
            let span = field.value.span;
            let spread = self
                .eval(scope, &field.value)
                .and_then(|v| self.spread_map(&v, span));
            let map = match spread {
                Ok((_, true)) => {
                    failed = true;
                    self.error(errors::secret_chooses_structure(
                        "which fields are set",
                        span,
                    ));
                    continue;
                }
                Ok((map, false)) => map,
                Err(Reported) => {
                    failed = true;
                    continue;
                }
            };
            for (k, x) in map.iter().filter(|(k, _)| !written.contains(k.as_str())) {
                let source = self.spread_source(scope.inst, &field.value, k, 0);
                out.insert(k.clone(), (x.clone(), span, source));
            }
        }
        if failed { Err(Reported) } else { Ok(out) }
    }

    /// Adds the fields a resource's spreads set to those written out, each
    /// conformed to its kind's schema; then every required field must be set.
    pub(super) fn spread_resource_fields(
        &mut self,
        decl: &ResourceDeclared<'p>,
        fields: &mut Fields<'p>,
    ) -> R<()> {
        if !decl.decl.fields.iter().any(Field::is_spread) {
            return Ok(());
        }
        let scope = Scope::new(decl.inst, &decl.env);
        let kind = decl.kind;
        let mut failed = false;
        for (name, (value, span, source)) in self.declared_spreads(scope, decl.decl)? {
            let Some(def) = schema::field_def(kind, &name) else {
                failed = true;
                self.error(unknown_spread_field(kind, &name, span));
                continue;
            };
            if kind == Kind::Container && name == "container_name" {
                failed = true;
                self.error(crate::types::check::written_out_only(
                    &name,
                    source.map_or(span, |e| e.span),
                ));
                continue;
            }
            let at = source.map_or(span, |e| e.span);
            let what = || format!("`{name}`");
            match self.conform_expr(value, &def.accepted, at, source, &what, false) {
                Ok(v) => fields.push(name, v, at),
                Err(Reported) => failed = true,
            }
        }
        for def in schema::fields(kind).iter().filter(|d| d.required) {
            if fields.get(def.name).is_none() {
                failed = true;
                let d = Diagnostic::new(
                    ErrorCode::MissingField,
                    format!("`{}` needs the field `{}`", decl.address, def.name),
                )
                .label(
                    decl.decl.kind.span.to(decl.decl.name.span),
                    "not set here nor by a spread",
                )
                .help(format!("add `{} = …` ({})", def.name, def.ty));
                self.error(d);
            }
        }
        if failed { Err(Reported) } else { Ok(()) }
    }

    /// A module parameter an instance's spreads set, if any; a key that is
    /// no parameter of the module is an error.
    pub(super) fn spread_param(
        &mut self,
        scope: Scope<'_, 'p>,
        decl: &'p ResourceDecl,
        module: &'p crate::resolve::Module,
        name: &str,
    ) -> R<Option<Supplied<'p>>> {
        if !decl.fields.iter().any(Field::is_spread) {
            return Ok(None);
        }
        let mut spread = self.declared_spreads(scope, decl)?;
        if let Some((key, (_, span, _))) =
            spread.iter().find(|(k, _)| !module.params.contains_key(*k))
        {
            let params = module.params.keys().map(String::as_str);
            let mut d = Diagnostic::new(
                ErrorCode::UnknownField,
                format!("module `{}` has no parameter `{key}`", decl.kind.node),
            )
            .label(*span, format!("sets `{key}`"));
            d.help = did_you_mean(key, params);
            return Err(self.error(d));
        }
        Ok(spread.swap_remove(name))
    }

    /// The literal `key` was written in, following a spread to a record
    /// literal, directly or through top-level lets: errors point there.
    fn spread_source(&self, inst: usize, e: &'p Expr, key: &str, depth: usize) -> Option<&'p Expr> {
        if depth > 16 {
            return None;
        }
        match &e.kind {
            ExprKind::Record(fields) => fields
                .iter()
                .rev()
                .find(|f| f.key.static_name() == Some(key))
                .map(|f| &f.value)
                .or_else(|| {
                    fields
                        .iter()
                        .rev()
                        .filter(|f| f.is_spread())
                        .find_map(|f| self.spread_source(inst, &f.value, key, depth + 1))
                }),
            ExprKind::Name(n) => {
                let module = self.instances[inst].module;
                if module.params.contains_key(n) {
                    return None;
                }
                let l = module.lets.get(n)?;
                self.spread_source(inst, &l.value, key, depth + 1)
            }
            _ => None,
        }
    }

    /// `a ?? b`: `b` where `a` is null; chosen by a secret, the answer is secret.
    pub(super) fn coalesce(&mut self, scope: Scope<'_, 'p>, a: &'p Expr, b: &'p Expr) -> R<Value> {
        let left = self.eval(scope, a)?;
        match left.reveal() {
            (Value::Null, false) => self.eval(scope, b),
            (Value::Null, true) => self
                .under_secret(a.span, |ev| ev.eval(scope, b))
                .map(Value::tainted),
            _ => Ok(left),
        }
    }

    /// `a ++ b`: records and maps merged key by key; where both sides hold
    /// a record or map, those merge too; otherwise the right side wins.
    pub(super) fn deep_merge(&mut self, l: &Value, r: &Value, a: Span, b: Span) -> R<Value> {
        // Walking checks both values' depth, which bounds the recursion below.
        self.walk(l, a)?;
        self.walk(r, b)?;
        match (l.reveal(), r.reveal()) {
            ((Value::Map(_), _), (Value::Map(_), _)) => Ok(self.merge_maps(l, r, a.to(b))?),
            _ => Err(self.error(merge_operands(l, r, a, b))),
        }
    }

    fn merge_maps(&mut self, l: &Value, r: &Value, span: Span) -> R<Value> {
        let ((Value::Map(x), sx), (Value::Map(y), sy)) = (l.reveal(), r.reveal()) else {
            return Ok(r.clone());
        };
        self.charge((x.len() + y.len()) as u64, span)?;
        self.collection_size(x.len() + y.len(), span)?;
        let mut merged = (**x).clone();
        for (k, v) in y.iter() {
            let deep = merged
                .get(k)
                .is_some_and(|old| matches!(old.reveal().0, Value::Map(_)))
                && matches!(v.reveal().0, Value::Map(_));
            let value = if deep {
                let old = merged.get(k).cloned().unwrap_or(Value::Null);
                self.merge_maps(&old, v, span)?
            } else {
                v.clone()
            };
            merged.insert(k.clone(), value);
        }
        // Which keys there are is secret where either side's was.
        Ok(Value::map(merged).tainted_if(sx || sy))
    }
}

/// `...x` of a value that has no fields.
fn not_spreadable(v: &Value, span: Span) -> Diagnostic {
    Diagnostic::new(
        ErrorCode::NotSpreadable,
        format!("cannot spread {}", v.describe()),
    )
    .label(span, format!("this is {}", v.describe()))
    .help("`...` takes a record or a map: its fields are set where it is written")
}

/// A key of a spread (known only at evaluation) that the kind has no field for.
fn unknown_spread_field(kind: Kind, name: &str, span: Span) -> Diagnostic {
    let mut d = Diagnostic::new(
        ErrorCode::UnknownField,
        format!("{kind} has no field `{name}`"),
    )
    .label(span, format!("this spread sets `{name}`"));
    d.help = crate::types::compose_keys::help(kind, name)
        .map(str::to_string)
        .or_else(|| did_you_mean(name, schema::fields(kind).iter().map(|f| f.name)));
    d
}

fn merge_operands(l: &Value, r: &Value, a: Span, b: Span) -> Diagnostic {
    let mut d = errors::operands(crate::syntax::ast::BinaryOp::Merge, l, r, a, b);
    d.help = Some("`++` merges records and maps; join lists and strings with `+`".into());
    d
}
