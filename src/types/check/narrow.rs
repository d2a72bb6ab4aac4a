//! Flow narrowing: where a test proves an optional name present, the name
//! has its type without `?`. `x != null` (or `null != x`) proves `x` present
//! where it is true, `x == null` where it is false; `!` flips, `a && b` proves
//! what both prove where it is true, `a || b` what both prove where it is
//! false. A proof holds in the branch it guards only — an `if`'s `then` or
//! `else` (expression or items), the right side of `&&` / `||`, what a
//! comprehension's filter keeps — and never leaks out of it.
//!
//! Names are narrowed — parameters, lets, function parameters and loop and
//! comprehension variables, none of which can change value — and paths into
//! them: `svc.note`, `s?.port`, `m["key"]` (fields and literal keys). A
//! narrowed name is pushed onto the locals, shadowing what it narrows, so a
//! name bound again inside the branch shadows the narrowing in turn; a
//! narrowed path is kept with the length of the locals when it was proven,
//! and a local bound after that with the path's first name hides it.

use super::*;

/// A path proven present: its first name, the fields after it, its type
/// without `?`, and how many locals there were when it was proven.
pub(super) struct NarrowedPath {
    root: String,
    fields: Vec<String>,
    ty: Type,
    mark: usize,
}

/// `svc.note` → (`svc`, [`note`]): a name and one or more fields or literal keys.
fn path_of(e: &Expr) -> Option<(&str, Vec<&str>)> {
    let mut fields = Vec::new();
    let mut at = e;
    loop {
        match &at.kind {
            ExprKind::Member(base, name) | ExprKind::OptMember(base, name) => {
                fields.push(name.node.as_str());
                at = base;
            }
            ExprKind::Index(base, key) => {
                fields.push(key.as_plain_string()?);
                at = base;
            }
            ExprKind::Name(n) if !fields.is_empty() => {
                fields.reverse();
                return Some((n, fields));
            }
            _ => return None,
        }
    }
}

#[derive(Default)]
pub(super) struct Proven {
    names: Vec<(String, Type)>,
    paths: Vec<(String, Vec<String>, Type)>,
}

impl<'a> Checker<'a> {
    /// The optional names and paths `cond` proves present when it is
    /// `when`, each with its type without `?`.
    pub(super) fn proven(&mut self, cond: &Expr, when: bool) -> Proven {
        let mut out = Proven::default();
        self.collect_proven(cond, when, &mut out);
        out
    }

    fn collect_proven(&mut self, cond: &Expr, when: bool, out: &mut Proven) {
        match &cond.kind {
            ExprKind::Binary(op @ (BinaryOp::Eq | BinaryOp::Ne), a, b) => {
                // `x != null` proves `x` when true; `x == null` when false.
                if when != (*op == BinaryOp::Ne) {
                    return;
                }
                let tested = match (&a.kind, &b.kind) {
                    (_, ExprKind::Null) => a,
                    (ExprKind::Null, _) => b,
                    _ => return,
                };
                if let ExprKind::Name(name) = &tested.kind {
                    if let Some(Type::Optional(inner)) = self.value_type(name) {
                        out.names.push((name.clone(), (*inner).clone()));
                    }
                } else if let Some((root, fields)) = path_of(tested) {
                    // Inferred again: its errors were reported with the condition's.
                    let before = self.errors.len();
                    let t = self.infer(tested);
                    self.errors.truncate(before);
                    if let Type::Optional(inner) = t {
                        let fields = fields.into_iter().map(str::to_string).collect();
                        out.paths.push((root.to_string(), fields, *inner));
                    }
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

    /// Runs `f` with the names and paths `cond` proves present when it is `when` narrowed.
    pub(super) fn narrowed<T>(
        &mut self,
        cond: &Expr,
        when: bool,
        f: impl FnOnce(&mut Self) -> T,
    ) -> T {
        let proven = self.proven(cond, when);
        let mark = self.locals.len();
        let paths_mark = self.narrowed_paths.len();
        self.locals.extend(proven.names);
        let locals = self.locals.len();
        self.narrowed_paths
            .extend(
                proven
                    .paths
                    .into_iter()
                    .map(|(root, fields, ty)| NarrowedPath {
                        root,
                        fields,
                        ty,
                        mark: locals,
                    }),
            );
        let out = f(self);
        self.locals.truncate(mark);
        self.narrowed_paths.truncate(paths_mark);
        out
    }

    /// The narrowed type of a path proven present here, if `e` is one.
    pub(super) fn narrowed_path(&self, e: &Expr) -> Option<Type> {
        if self.narrowed_paths.is_empty() {
            return None;
        }
        let (root, fields) = path_of(e)?;
        let found = self.narrowed_paths.iter().rev().find(|p| {
            p.root == root
                && p.fields
                    .iter()
                    .map(String::as_str)
                    .eq(fields.iter().copied())
        })?;
        // A name bound again after the proof is another value.
        let shadowed = self
            .locals
            .get(found.mark..)
            .is_some_and(|later| later.iter().any(|(n, _)| n == root));
        (!shadowed).then(|| found.ty.clone())
    }
}
