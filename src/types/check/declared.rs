//! Declared types in the checker: named types' field defaults, literals
//! against refinements, and `validate` clauses.

use super::*;
use crate::types::Declared;
use crate::types::declared::{Num, Subject};
use crate::types::named_errors;
use crate::units::{format_duration, format_size};

impl<'a> Checker<'a> {
    /// A type written in this module.
    pub(super) fn resolve_type(&mut self, te: &TypeExpr) -> Type {
        self.type_defaults(te);
        self.named
            .resolve(self.program, self.module, te, &mut self.errors)
    }

    /// What is declared beside values: named types, and what parameters and
    /// functions are declared with (field defaults, `validate` clauses).
    pub(super) fn check_declarations(&mut self) {
        let module = self.module;
        for decl in module.types.values() {
            self.type_defaults(&decl.ty);
        }
        for p in module.params.values() {
            self.type_defaults(&p.ty);
            for v in &p.validations {
                self.check(&v.cond, &Type::Bool);
                self.check(&v.message, &Type::String);
            }
        }
        for f in module.fns.values() {
            for (_, te) in &f.params {
                self.type_defaults(te);
            }
        }
    }

    /// Checks the field defaults written in a type: constants, of their field's type.
    fn type_defaults(&mut self, te: &TypeExpr) {
        match &te.kind {
            TypeExprKind::Record(fields) => {
                for field in fields {
                    self.type_defaults(&field.ty);
                    let Some(default) = &field.default else {
                        continue;
                    };
                    let mut named = None;
                    crate::resolve::free_names(default, &mut Vec::new(), &mut |_, span| {
                        named.get_or_insert(span);
                    });
                    if let Some(span) = named {
                        self.errors.push(named_errors::default_not_constant(span));
                        continue;
                    }
                    // Errors in the field's type are reported where the type is resolved.
                    let t =
                        self.named
                            .resolve(self.program, self.module, &field.ty, &mut Vec::new());
                    self.check(default, &t);
                }
            }
            TypeExprKind::Generic(_, inner)
            | TypeExprKind::Optional(inner)
            | TypeExprKind::Refined(inner, _) => self.type_defaults(inner),
            TypeExprKind::Name(_) | TypeExprKind::Qualified(..) | TypeExprKind::Enum(_) => {}
        }
    }

    /// Checks `e` against a declared type: its base, then, for a literal,
    /// each refinement, so that a literal out of range is found before
    /// evaluation. A field with a default takes `null`.
    pub(super) fn check_declared(&mut self, e: &Expr, d: &Arc<Declared>) {
        if d.default.is_some() && matches!(e.kind, ExprKind::Null) {
            return;
        }
        // A literal of the type's shape is checked inside; anything else
        // against the whole type, so that a message names it.
        let inside = match &e.kind {
            ExprKind::Record(_) => expr::record_target(&d.base).is_some(),
            ExprKind::List(_) => expr::list_element(&d.base).is_some(),
            ExprKind::If(..) | ExprKind::Str(_) => true,
            _ => false,
        };
        if inside || d.name.is_none() {
            self.check(e, &d.base);
        } else {
            let have = self.infer(e);
            let want = Type::Declared(d.clone());
            if !want.accepts(&have) {
                self.errors.push(errors::mismatch(&want, &have, e));
            }
        }
        if d.refinements.is_empty() {
            return;
        }
        let Some((subject, mut text)) = literal_subject(e) else {
            return;
        };
        if d.base.contains_secret() {
            text = "the secret value".to_string();
        }
        if let Some(why) = d.refinements.iter().find_map(|r| r.violation(subject)) {
            let want = Type::Declared(d.clone());
            self.errors
                .push(named_errors::outside(&text, &why, &want, e.span));
        }
    }
}

/// Whether `want` is an optional declared type and `e` a literal other
/// than `null`, to be checked against what is inside.
pub(super) fn literal_for_declared<'t>(e: &Expr, want: &'t Type) -> Option<&'t Type> {
    match want {
        Type::Optional(inner) if matches!(**inner, Type::Declared(_)) => match e.kind {
            ExprKind::Int(_)
            | ExprKind::Float(_)
            | ExprKind::Duration(_)
            | ExprKind::Size(_)
            | ExprKind::Str(_)
            | ExprKind::List(_)
            | ExprKind::Record(_) => Some(inner),
            _ => None,
        },
        _ => None,
    }
}

/// What a refinement checks of a literal, and how messages show it.
fn literal_subject(e: &Expr) -> Option<(Subject<'_>, String)> {
    let number = |kind: &ExprKind, negative: bool| -> Option<(Num, String)> {
        let sign = if negative { "-" } else { "" };
        let flip = |i: i64| if negative { i.checked_neg() } else { Some(i) };
        Some(match kind {
            ExprKind::Int(i) => (Num::Int(flip(*i)?), format!("{sign}{i}")),
            ExprKind::Float(f) => (
                Num::Float(if negative { -f } else { *f }),
                format!("{sign}{f}"),
            ),
            ExprKind::Duration(ms) => (
                Num::Int(flip(*ms)?),
                format!("{sign}{}", format_duration(*ms)),
            ),
            ExprKind::Size(b) => (Num::Int(flip(*b)?), format!("{sign}{}", format_size(*b))),
            _ => return None,
        })
    };
    match &e.kind {
        ExprKind::Unary(UnaryOp::Neg, inner) => {
            number(&inner.kind, true).map(|(n, t)| (Subject::Number(n), t))
        }
        ExprKind::Str(_) => e
            .as_plain_string()
            .map(|s| (Subject::Text(s), format!("{s:?}"))),
        ExprKind::List(items) => Some((Subject::Count(items.len()), "the list".to_string())),
        ExprKind::Record(fields) if fields.iter().all(|f| f.key.static_name().is_some()) => {
            Some((Subject::Count(fields.len()), "the map".to_string()))
        }
        kind => number(kind, false).map(|(n, t)| (Subject::Number(n), t)),
    }
}
