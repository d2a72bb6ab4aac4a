//! Declared types at evaluation: written types resolved once, field
//! defaults evaluated once, and parameters' `validate` clauses, whose
//! errors point at where the value was given.

use super::scope::Scope;
use super::value::{Show, Value};
use super::{Evaluator, HashMap, R, errors};
use crate::resolve::Program;
use crate::source::Span;
use crate::syntax::ast::{Expr, Item, Param, TypeExpr, TypeExprKind};
use crate::types::Type;

/// Every field default written in the program, by where it is written:
/// the expressions a resolved type's defaults stand for.
pub(super) fn default_exprs(program: &Program) -> HashMap<Span, &Expr> {
    fn in_type<'p>(te: &'p TypeExpr, out: &mut HashMap<Span, &'p Expr>) {
        match &te.kind {
            TypeExprKind::Record(fields) => {
                for f in fields {
                    if let Some(d) = &f.default {
                        out.insert(d.span, d);
                    }
                    in_type(&f.ty, out);
                }
            }
            TypeExprKind::Generic(_, t)
            | TypeExprKind::Optional(t)
            | TypeExprKind::Refined(t, _) => in_type(t, out),
            TypeExprKind::Name(_) | TypeExprKind::Qualified(..) | TypeExprKind::Enum(_) => {}
        }
    }
    fn in_items<'p>(items: &'p [Item], out: &mut HashMap<Span, &'p Expr>) {
        for item in items {
            match item {
                Item::Let(l) => l.ty.iter().for_each(|t| in_type(t, out)),
                Item::For(f) => in_items(&f.body, out),
                Item::If(i) => {
                    in_items(&i.then, out);
                    in_items(&i.otherwise, out);
                }
                _ => {}
            }
        }
    }
    let mut out = HashMap::default();
    for m in &program.modules {
        m.types.values().for_each(|t| in_type(&t.ty, &mut out));
        m.params.values().for_each(|p| in_type(&p.ty, &mut out));
        m.lets
            .values()
            .for_each(|l| l.ty.iter().for_each(|t| in_type(t, &mut out)));
        for f in m.fns.values() {
            f.params.iter().for_each(|(_, t)| in_type(t, &mut out));
            f.ret.iter().for_each(|t| in_type(t, &mut out));
        }
        in_items(&m.body, &mut out);
    }
    out
}

impl<'p> Evaluator<'p> {
    /// A type written in the module of instance `inst`, resolved once.
    pub(super) fn declared_type(&mut self, inst: usize, te: &TypeExpr) -> Type {
        if let Some(t) = self.types.get(&te.span) {
            return t.clone();
        }
        let module = self.instances[inst].module;
        // Errors in types were reported by the checker.
        let t = self
            .named
            .resolve(self.program, module, te, &mut Vec::new());
        self.types.insert(te.span, t.clone());
        t
    }

    /// Evaluates the field defaults inside `ty` that are not yet.
    pub(super) fn evaluate_defaults(&mut self, ty: &Type) -> R<()> {
        let mut found = Vec::new();
        ty.defaults(&mut found);
        for d in found {
            let span = d.0.span;
            if self.defaults.contains_key(&span) {
                continue;
            }
            let Some(expr) = self.default_exprs.get(&span).copied() else {
                continue;
            };
            // A constant (checked): no instance's names are read.
            let v = self.eval(Scope::new(0, &None), expr)?;
            self.defaults.insert(span, v);
        }
        Ok(())
    }

    /// Checks a parameter's `validate` clauses against its value, once it
    /// is known; a failure points at where the value was given.
    pub(super) fn validate_param(&mut self, inst: usize, param: &'p Param) {
        if param.validations.is_empty() {
            return;
        }
        let name = param.name.node.as_str();
        if self.param(inst, name, param.name.span).is_err() {
            return;
        }
        let given = self.instances[inst].given.get(name).copied();
        let scope = Scope::new(inst, &None);
        for v in &param.validations {
            let Ok(cond) = self.eval(scope, &v.cond) else {
                continue;
            };
            match cond.reveal().0 {
                Value::Bool(true) => {}
                Value::Bool(false) => {
                    let message = match self.eval(scope, &v.message) {
                        Ok(Value::Str(s)) => s.text.to_string(),
                        Ok(v) => Show(&v).to_string(),
                        Err(_) => continue,
                    };
                    let of = (inst != 0).then(|| self.instance_label(inst));
                    let d = errors::validation_failed(
                        name,
                        of.as_deref(),
                        &message,
                        given,
                        v.cond.span,
                    );
                    self.error(d);
                }
                _ => {
                    self.error(errors::expected_bool(&cond, v.cond.span));
                }
            }
        }
    }
}
