//! Flow narrowing: where a test proves an optional name present, the name
//! has its type without `?`. `x != null` (or `null != x`) proves `x` present
//! where it is true, `x == null` where it is false; `!` flips, `a && b` proves
//! what both prove where it is true, `a || b` what both prove where it is
//! false. A proof holds in the branch it guards only — an `if`'s `then` or
//! `else` (expression or items), the right side of `&&` / `||`, what a
//! comprehension's filter keeps — and never leaks out of it.
//!
//! Only names are narrowed: parameters, lets, function parameters and loop
//! and comprehension variables, none of which can change value. A narrowed
//! name is pushed onto the locals, shadowing what it narrows, so a name bound
//! again inside the branch shadows the narrowing in turn.

use super::*;

impl<'a> Checker<'a> {
    /// The optional names `cond` proves present when it is `when`, each with
    /// its type without `?`.
    pub(super) fn proven(&mut self, cond: &Expr, when: bool) -> Vec<(String, Type)> {
        let mut out = Vec::new();
        self.collect_proven(cond, when, &mut out);
        out
    }

    fn collect_proven(&mut self, cond: &Expr, when: bool, out: &mut Vec<(String, Type)>) {
        match &cond.kind {
            ExprKind::Binary(op @ (BinaryOp::Eq | BinaryOp::Ne), a, b) => {
                // `x != null` proves `x` when true; `x == null` when false.
                if when != (*op == BinaryOp::Ne) {
                    return;
                }
                let name = match (&a.kind, &b.kind) {
                    (ExprKind::Name(n), ExprKind::Null) | (ExprKind::Null, ExprKind::Name(n)) => n,
                    _ => return,
                };
                if let Some(Type::Optional(inner)) = self.value_type(name) {
                    out.push((name.clone(), (*inner).clone()));
                }
            }
            ExprKind::Binary(BinaryOp::And, a, b) if when => {
                self.collect_proven(a, true, out);
                self.collect_proven(b, true, out);
            }
            ExprKind::Binary(BinaryOp::Or, a, b) if !when => {
                self.collect_proven(a, false, out);
                self.collect_proven(b, false, out);
            }
            ExprKind::Unary(UnaryOp::Not, x) => self.collect_proven(x, !when, out),
            _ => {}
        }
    }

    /// Runs `f` with the names `cond` proves present when it is `when` narrowed.
    pub(super) fn narrowed<T>(
        &mut self,
        cond: &Expr,
        when: bool,
        f: impl FnOnce(&mut Self) -> T,
    ) -> T {
        let proven = self.proven(cond, when);
        let mark = self.locals.len();
        self.locals.extend(proven);
        let out = f(self);
        self.locals.truncate(mark);
        out
    }
}
