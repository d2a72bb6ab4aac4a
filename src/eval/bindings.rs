//! Named values: parameters, `let`s and outputs, each computed once, and
//! values conformed to the types they are declared with.

use std::rc::Rc;

use super::conform::{self, Mismatch, conform};
use super::memo::{Memo, Node};
use super::scope::{Frame, Scope};
use super::value::Value;
use super::vars::{self, VarInput, VarValue};
use super::{Evaluator, R, Reported, errors};
use crate::resolve::Module;
use crate::source::Span;
use crate::syntax::ast::*;
use crate::types::Type;

impl<'p> Evaluator<'p> {
    /// Reports every `--var` for a parameter the stack does not have.
    pub(super) fn check_vars(&mut self, root: &'p Module) {
        let unknown: Vec<&VarInput> = self
            .vars
            .values()
            .filter(|v| !root.params.contains_key(&v.name))
            .copied()
            .collect();
        for v in unknown {
            let params = root.params.keys().map(String::as_str);
            self.errors
                .push(errors::unknown_var(&v.name, v.span, params));
        }
    }

    pub(super) fn param(&mut self, inst: usize, name: &str, use_span: Span) -> R<Value> {
        let module = self.instances[inst].module;
        let Some((key, param)) = module.params.get_key_value(name) else {
            return Err(Reported);
        };
        if let Some(memo) = self.instances[inst].params.get(key.as_str()) {
            return self.memo_hit(memo.clone(), Node::Param(inst, key), use_span);
        }
        self.enter(Node::Param(inst, key), use_span)?;
        self.instances[inst].params.insert(key, Memo::Running);
        let ty = self.declared_type(inst, &param.ty);
        let (result, deps) = self.collecting(|ev| ev.param_value(inst, param, &ty));
        self.leave();
        self.instances[inst]
            .params
            .insert(key, Memo::Done(result.clone(), deps));
        result
    }

    fn param_value(&mut self, inst: usize, param: &'p Param, ty: &Type) -> R<Value> {
        let name = param.name.node.as_str();
        // A value given by the caller: --var for the root, a field for an instance.
        let given: Option<(Value, Span, Option<&'p Expr>)> = if inst == 0 {
            match self.vars.get(name).copied() {
                Some(var) => {
                    let expr = match &var.value {
                        VarValue::Expr(e) => Some(e),
                        _ => None,
                    };
                    Some((self.var_value(var, ty)?, var.span, expr))
                }
                None => None,
            }
        } else if let Some((parent, decl)) = self.instances[inst].parent.clone() {
            let field = decl
                .decl
                .fields
                .iter()
                .find(|f| f.key.static_name() == Some(name));
            let scope = Scope::new(parent, &decl.env);
            match field {
                Some(field) => {
                    let v = self.eval(scope, &field.value)?;
                    Some((v, field.value.span, Some(&field.value)))
                }
                // Else from a spread of the instance's declaration (`reuse.rs`).
                None => {
                    let module = self.instances[inst].module;
                    self.spread_param(scope, decl.decl, module, name)?
                }
            }
        } else {
            None
        };
        let (value, span, expr) = match (given, &param.default) {
            (Some(given), _) => given,
            (None, Some(default)) => (
                self.eval(Scope::new(inst, &None), default)?,
                default.span,
                Some(default),
            ),
            (None, None) => {
                return Err(self.error(errors::missing_param(name, param.name.span, inst == 0)));
            }
        };
        self.instances[inst].given.insert(name, span);
        self.conform_expr(
            value,
            ty,
            span,
            expr,
            &|| format!("parameter `{name}`"),
            true,
        )
    }

    /// A `--var` / `--var-file` value, parsed according to the parameter's type.
    fn var_value(&mut self, var: &'p VarInput, ty: &Type) -> R<Value> {
        match vars::parse(var, ty) {
            Ok(vars::Parsed::Value(v)) => Ok(v),
            Ok(vars::Parsed::Expr(e)) => self.eval(Scope::new(0, &None), e),
            Err(d) => Err(self.error(d)),
        }
    }

    pub(super) fn top_let(&mut self, inst: usize, name: &str, use_span: Span) -> R<Value> {
        let module = self.instances[inst].module;
        let Some((key, l)) = module.lets.get_key_value(name) else {
            return Err(Reported);
        };
        let node = Node::Let(inst, 0, key);
        if let Some(memo) = self.instances[inst].lets.get(key.as_str()) {
            return self.memo_hit(memo.clone(), node, use_span);
        }
        self.enter(node, use_span)?;
        self.instances[inst].lets.insert(key, Memo::Running);
        let (result, deps) = self.collecting(|ev| ev.let_value(Scope::new(inst, &None), l));
        self.leave();
        self.instances[inst]
            .lets
            .insert(key, Memo::Done(result.clone(), deps));
        result
    }

    pub(super) fn frame_let(
        &mut self,
        inst: usize,
        frame: &Rc<Frame<'p>>,
        index: usize,
        use_span: Span,
    ) -> R<Value> {
        let (l, cell) = &frame.lets[index];
        let node = Node::Let(inst, frame.id, &l.name.node);
        let existing = cell.borrow().clone();
        if let Some(memo) = existing {
            return self.memo_hit(memo, node, use_span);
        }
        self.enter(node, use_span)?;
        *cell.borrow_mut() = Some(Memo::Running);
        let env = Some(frame.clone());
        let (result, deps) = self.collecting(|ev| ev.let_value(Scope::new(inst, &env), l));
        self.leave();
        *cell.borrow_mut() = Some(Memo::Done(result.clone(), deps));
        result
    }

    fn let_value(&mut self, scope: Scope<'_, 'p>, l: &'p Let) -> R<Value> {
        let v = self.eval(scope, &l.value)?;
        match &l.ty {
            Some(te) => {
                let ty = self.declared_type(scope.inst, te);
                self.conform_expr(
                    v,
                    &ty,
                    l.value.span,
                    Some(&l.value),
                    &|| format!("`{}`", l.name.node),
                    true,
                )
            }
            None => {
                self.walk(&v, l.value.span)?;
                Ok(v)
            }
        }
    }

    pub(super) fn output(&mut self, inst: usize, name: &str, use_span: Span) -> R<Value> {
        let node = Node::Output(inst, name.into());
        if let Some(memo) = self.instances[inst].outputs.get(name) {
            return self.memo_hit(memo.clone(), node, use_span);
        }
        let structure = self.structure(inst, Some(use_span))?;
        let Some((out, env)) = structure.outputs.get(name) else {
            let module = self.instances[inst].module;
            let outputs = structure.outputs.keys().map(String::as_str);
            let d = errors::no_output(
                &self.instance_label(inst),
                &module.name,
                name,
                outputs,
                use_span,
            );
            return Err(self.error(d));
        };
        self.enter(node, use_span)?;
        self.instances[inst]
            .outputs
            .insert(name.to_string(), Memo::Running);
        let (result, deps) = self.collecting(|ev| {
            let v = ev.eval(Scope::new(inst, env), &out.value)?;
            ev.walk(&v, out.value.span)?;
            Ok(v)
        });
        self.leave();
        self.instances[inst]
            .outputs
            .insert(name.to_string(), Memo::Done(result.clone(), deps));
        result
    }

    pub(super) fn conform_at(
        &mut self,
        v: Value,
        ty: &Type,
        span: Span,
        what: &dyn Fn() -> String,
    ) -> R<Value> {
        self.conform_expr(v, ty, span, None, what, true)
    }

    /// Conforms a value computed by `expr`; an error inside a literal points
    /// at the element or field that is wrong.
    pub(super) fn conform_expr(
        &mut self,
        v: Value,
        ty: &Type,
        span: Span,
        expr: Option<&Expr>,
        what: &dyn Fn() -> String,
        fill: bool,
    ) -> R<Value> {
        // Conforming walks the value: charged, and its depth checked, first.
        self.walk(&v, expr.map_or(span, |e| e.span))?;
        if ty.has_defaults() {
            self.evaluate_defaults(ty)?;
        }
        conform(v, ty, fill, &self.defaults).map_err(|m: Mismatch| {
            let span = expr.map_or(span, |e| locate(e, &m.segments).span);
            self.error(errors::mismatch(m, &what(), span))
        })
    }
}

/// The innermost literal along a path into a value: `[0].host` of
/// `[{ host = 70000 }]` is `70000`.
fn locate<'e>(e: &'e Expr, segments: &[conform::Segment]) -> &'e Expr {
    let Some((first, rest)) = segments.split_first() else {
        return e;
    };
    let inner = match (&e.kind, first) {
        (ExprKind::List(items), conform::Segment::Index(i)) => items.get(*i),
        (ExprKind::Record(fields), conform::Segment::Key(k)) => fields
            .iter()
            .find(|f| f.key.static_name() == Some(k.as_str()))
            .map(|f| &f.value),
        _ => None,
    };
    inner.map_or(e, |inner| locate(inner, rest))
}
