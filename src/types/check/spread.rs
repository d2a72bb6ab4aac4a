//! Spreads (`...base`) into records, resources and module instances, and the
//! type of a deep merge (`a ++ b`).
//!
//! A spread is checked against what it is spread into — a resource kind's
//! fields, a module's parameters, a record type — where its fields are
//! written: a spread of a let bound to a record literal checks that literal's
//! fields, so an error points at the field in the let. Fields written out
//! beside the spread win, wherever the spread is written, and are not
//! checked in it. What cannot be followed to a literal is checked by its
//! type, and what is only known at evaluation (a map, `any`) there.

use super::*;
use crate::diagnostic::ErrorCode;
use crate::types::article;

/// What a spread may set, and the type of each field.
pub(super) enum SpreadTarget<'t> {
    Resource(Kind),
    /// A module's parameters, for an instance of `alias`.
    Params(&'t str, &'t IndexMap<&'t str, Type>),
    Record(Arc<IndexMap<String, Type>>),
    Map(Type),
}

impl SpreadTarget<'_> {
    /// The type a field may have; `None` for a field there is none of.
    fn field_type(&self, name: &str) -> Option<Type> {
        match self {
            SpreadTarget::Resource(kind) => {
                schema::field_def(*kind, name).map(|d| d.accepted.clone())
            }
            SpreadTarget::Params(_, params) => params.get(name).cloned(),
            SpreadTarget::Record(fields) => fields.get(name).cloned(),
            SpreadTarget::Map(t) => Some(t.clone()),
        }
    }

    fn unknown(&self, name: &str, span: Span) -> Diagnostic {
        match self {
            SpreadTarget::Resource(kind) => {
                let fields = schema::fields(*kind).iter().map(|f| f.name);
                errors::unknown_resource_field(*kind, name, fields, span)
            }
            SpreadTarget::Params(alias, params) => {
                let names: Vec<&str> = params.keys().copied().collect();
                errors::unknown_module_parameter(alias, name, &names, span)
            }
            SpreadTarget::Record(fields) => {
                let names: Vec<&str> = fields.keys().map(String::as_str).collect();
                errors::unknown_record_field(name, &names, span)
            }
            SpreadTarget::Map(_) => {
                Diagnostic::internal("internal error: a map has every field").label(span, "here")
            }
        }
    }
}

/// The fields a spread is known to set, and whether it may set others
/// known only at evaluation.
#[derive(Default)]
pub(super) struct Supplied {
    pub names: HashSet<String>,
    pub open: bool,
}

impl Supplied {
    fn absorb(&mut self, other: Supplied) {
        self.names.extend(other.names);
        self.open |= other.open;
    }

    /// Whether `name` is set for certain, or may be (then evaluation checks).
    pub fn covers(&self, name: &str) -> bool {
        self.open || self.names.contains(name)
    }
}

impl<'a> Checker<'a> {
    /// Checks what `e`, spread where `written` fields are written out, sets.
    pub(super) fn check_spread(
        &mut self,
        e: &Expr,
        target: &SpreadTarget<'_>,
        written: &HashSet<String>,
    ) -> Supplied {
        // Following lets nests like `infer` does, and is bounded alike.
        if self.depth >= MAX_DEPTH {
            self.infer(e);
            return Supplied {
                names: HashSet::new(),
                open: true,
            };
        }
        self.depth += 1;
        let supplied = self.spread_expr(e, target, written);
        self.depth -= 1;
        supplied
    }

    fn spread_expr(
        &mut self,
        e: &Expr,
        target: &SpreadTarget<'_>,
        written: &HashSet<String>,
    ) -> Supplied {
        match &e.kind {
            ExprKind::Record(fields) => self.spread_literal(fields, target, written),
            ExprKind::Name(n) if self.spreads_top_let(n) => {
                let Some(l) = self.module.lets.get(n) else {
                    return Supplied::default();
                };
                let key = format!("spread {n}");
                if !self.in_progress.insert(key.clone()) {
                    return Supplied::default(); // a cycle, reported by resolve
                }
                // The let's value sees the module's scope, not the resource's.
                let saved = std::mem::take(&mut self.locals);
                let saved_paths = std::mem::take(&mut self.narrowed_paths);
                let supplied = self.check_spread(&l.value, target, written);
                self.locals = saved;
                self.narrowed_paths = saved_paths;
                self.in_progress.remove(&key);
                supplied
            }
            ExprKind::If(c, a, b) => {
                self.check(c, &Type::Bool);
                let sa = self.narrowed(c, true, |s| s.check_spread(a, target, written));
                let sb = self.narrowed(c, false, |s| s.check_spread(b, target, written));
                Supplied {
                    names: sa.names.intersection(&sb.names).cloned().collect(),
                    open: sa.open || sb.open,
                }
            }
            ExprKind::Binary(BinaryOp::Add | BinaryOp::Merge, a, b) => {
                let mut s = self.check_spread(a, target, written);
                s.absorb(self.check_spread(b, target, written));
                s
            }
            _ => {
                let t = self.infer(e);
                self.spread_of_type(&t, e.span, target, written)
            }
        }
    }

    /// Whether `name` is a top-level let without a written type (else its
    /// type is what counts), not hidden by a local or a parameter.
    /// Its value is followed only where it is built of record literals;
    /// otherwise errors point at the spread.
    fn spreads_top_let(&self, name: &str) -> bool {
        let literal = |e: &Expr| {
            matches!(
                e.kind,
                ExprKind::Record(_)
                    | ExprKind::If(..)
                    | ExprKind::Name(_)
                    | ExprKind::Binary(BinaryOp::Add | BinaryOp::Merge, ..)
            )
        };
        !self.locals.iter().any(|(n, _)| n == name)
            && !self.params.contains_key(name)
            && self
                .module
                .lets
                .get(name)
                .is_some_and(|l| l.ty.is_none() && literal(&l.value))
            && !self.too_deep
    }

    fn spread_literal(
        &mut self,
        fields: &[Field],
        target: &SpreadTarget<'_>,
        written: &HashSet<String>,
    ) -> Supplied {
        let mut supplied = Supplied::default();
        // The literal's own fields win over its inner spreads.
        let mut inner_written = written.clone();
        inner_written.extend(
            fields
                .iter()
                .filter_map(|f| f.key.static_name().map(str::to_string)),
        );
        let mut seen: HashMap<String, Span> = HashMap::new();
        for field in fields {
            if field.is_spread() {
                supplied.absorb(self.check_spread(&field.value, target, &inner_written));
                continue;
            }
            let Some(name) = field.key.static_name() else {
                self.infer_key(&field.key);
                self.infer(&field.value);
                supplied.open = true;
                continue;
            };
            if let Some(first) = seen.insert(name.to_string(), field.key.span()) {
                self.errors
                    .push(errors::duplicate_key(name, field.key.span(), first));
            }
            supplied.names.insert(name.to_string());
            if written.contains(name) {
                self.infer(&field.value);
                continue;
            }
            match target.field_type(name) {
                Some(t) => self.check(&field.value, &t),
                None => {
                    self.infer(&field.value);
                    self.errors.push(target.unknown(name, field.key.span()));
                }
            }
        }
        supplied
    }

    /// A spread known by its type only: errors point at the spread.
    fn spread_of_type(
        &mut self,
        t: &Type,
        span: Span,
        target: &SpreadTarget<'_>,
        written: &HashSet<String>,
    ) -> Supplied {
        let mut supplied = Supplied::default();
        match t {
            Type::Record(fields) => {
                for (name, have) in fields.iter() {
                    supplied.names.insert(name.clone());
                    if written.contains(name) {
                        continue;
                    }
                    match target.field_type(name) {
                        Some(want) if !want.accepts(have) => {
                            self.errors
                                .push(spread_field_mismatch(name, &want, have, span));
                        }
                        Some(_) => {}
                        None => self.errors.push(target.unknown(name, span)),
                    }
                }
            }
            Type::Map(have) => {
                supplied.open = true;
                if let SpreadTarget::Map(want) = target
                    && !want.accepts(have)
                {
                    self.errors
                        .push(spread_field_mismatch("…", want, have, span));
                }
            }
            // Maybe null: it sets nothing for certain.
            Type::Optional(inner) => {
                let inner = self.spread_of_type(inner, span, target, written);
                supplied.open = inner.open;
            }
            Type::Null => {}
            Type::Any => supplied.open = true,
            other => self.errors.push(not_spreadable(other, span)),
        }
        supplied
    }

    /// The type of a record literal with spreads: the fields written out
    /// win over those spread, and a later spread over an earlier one.
    pub(super) fn infer_spread_record(&mut self, fields: &[Field]) -> Type {
        let written: HashSet<String> = fields
            .iter()
            .filter_map(|f| f.key.static_name().map(str::to_string))
            .collect();
        let mut out: IndexMap<String, Type> = IndexMap::new();
        let mut seen: HashMap<String, Span> = HashMap::new();
        let (mut dynamic, mut unknown) = (false, false);
        for field in fields {
            if field.is_spread() {
                let t = self.infer(&field.value);
                match spread_fields(&t) {
                    Some(Spread::Fields(fs)) => {
                        for (k, ft) in fs {
                            if !written.contains(&k) {
                                out.insert(k, ft);
                            }
                        }
                    }
                    Some(Spread::Map(elem)) => {
                        dynamic = true;
                        out.insert(String::new(), elem);
                    }
                    Some(Spread::Unknown) => unknown = true,
                    None => self.errors.push(not_spreadable(&t, field.value.span)),
                }
                continue;
            }
            let t = self.infer(&field.value);
            match field.key.static_name() {
                Some(name) => {
                    if let Some(first) = seen.insert(name.to_string(), field.key.span()) {
                        self.errors
                            .push(errors::duplicate_key(name, field.key.span(), first));
                    }
                    out.insert(name.to_string(), t);
                }
                None => {
                    self.infer_key(&field.key);
                    dynamic = true;
                    out.insert(String::new(), t);
                }
            }
        }
        if unknown {
            Type::Any
        } else if dynamic {
            let joined = out.values().cloned().reduce(|a, b| Type::join(&a, &b));
            Type::map(joined.unwrap_or(Type::Any))
        } else {
            Type::Record(Arc::new(out))
        }
    }
}

enum Spread {
    Fields(Vec<(String, Type)>),
    Map(Type),
    Unknown,
}

/// What spreading a value of type `t` adds; `None` where it cannot be spread.
fn spread_fields(t: &Type) -> Option<Spread> {
    Some(match t {
        Type::Record(fields) => {
            Spread::Fields(fields.iter().map(|(k, t)| (k.clone(), t.clone())).collect())
        }
        Type::Map(elem) => Spread::Map((**elem).clone()),
        // Maybe null: every field maybe absent.
        Type::Optional(inner) => match spread_fields(inner)? {
            Spread::Fields(fs) => Spread::Fields(
                fs.into_iter()
                    .map(|(k, t)| (k, Type::optional(t)))
                    .collect(),
            ),
            other => other,
        },
        Type::Null => Spread::Fields(Vec::new()),
        Type::Any => Spread::Unknown,
        _ => return None,
    })
}

/// The type of `a ++ b`: records merged field by field, deeply.
pub(super) fn deep_merge_type(a: &Type, b: &Type) -> Type {
    match (a, b) {
        (Type::Record(x), Type::Record(y)) => {
            let mut merged = (**x).clone();
            for (k, t) in y.iter() {
                let t = match merged.get(k) {
                    Some(old) if is_mergeable(old) && is_mergeable(t) => deep_merge_type(old, t),
                    _ => t.clone(),
                };
                merged.insert(k.clone(), t);
            }
            Type::Record(Arc::new(merged))
        }
        (Type::Map(x), Type::Map(y)) if x == y => Type::Map(x.clone()),
        _ => Type::map(Type::Any),
    }
}

fn is_mergeable(t: &Type) -> bool {
    matches!(t, Type::Record(_) | Type::Map(_))
}

/// A field of a spread whose type the target does not accept.
fn spread_field_mismatch(name: &str, want: &Type, have: &Type, span: Span) -> Diagnostic {
    Diagnostic::new(
        ErrorCode::TypeMismatch,
        format!(
            "field `{name}` of the spread: expected {}, found {}",
            article(want),
            article(have)
        ),
    )
    .label(span, format!("sets `{name}` to {}", article(have)))
}

/// `container_name` from a spread: the Docker name is decided with the
/// declaration, before any field is computed (the evaluator reports it too,
/// for a spread whose keys are known only then).
pub fn written_out_only(name: &str, span: Span) -> Diagnostic {
    Diagnostic::new(
        ErrorCode::WrittenOutOnly,
        format!("`{name}` cannot come from a spread"),
    )
    .label(span, format!("sets `{name}`"))
    .help(format!(
        "write `{name} = …` in the container itself: the Docker name is decided where the container is declared, before its fields are computed"
    ))
}

/// `...x` of a value that has no fields.
pub(super) fn not_spreadable(t: &Type, span: Span) -> Diagnostic {
    Diagnostic::new(
        ErrorCode::NotSpreadable,
        format!("cannot spread {}", article(t)),
    )
    .label(span, format!("this is {}", article(t)))
    .help("`...` takes a record or a map: its fields are set where it is written")
}
