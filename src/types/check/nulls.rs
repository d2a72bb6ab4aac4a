//! Null handling: `a ?? b` (the default where `a` is null; refused where `a`
//! is never null, since then the default is dead code or a mistaken type)
//! and `a?.b` (null where `a` is null).

use super::*;
use crate::diagnostic::ErrorCode;
use crate::types::article;

impl<'a> Checker<'a> {
    /// `a ?? b`, checked against `want` where one is known; its type.
    pub(super) fn coalesce(&mut self, a: &Expr, b: &Expr, want: Option<&Type>) -> Type {
        let ta = self.infer(a);
        // What `a` gives where it is not null; `None` where it always is.
        let present = match &ta {
            Type::Optional(inner) => Some((**inner).clone()),
            Type::Null => None,
            Type::Any => Some(Type::Any),
            t => {
                self.errors.push(never_null(t, a.span, b.span));
                Some(t.clone())
            }
        };
        match want {
            Some(want) => {
                if let Some(p) = &present
                    && !want.accepts(p)
                {
                    self.errors.push(errors::mismatch(want, p, a));
                }
                self.check(b, want);
                want.clone()
            }
            None => {
                let tb = self.infer(b);
                match present {
                    Some(p) => Type::join(&p, &tb),
                    None => tb,
                }
            }
        }
    }

    /// `base?.name`: the member's type, optional where `base` may be null.
    pub(super) fn optional_member(&mut self, e: &Expr, base: &Expr, name: &Ident) -> Type {
        if let Some(t) = self.narrowed_path(e) {
            return t;
        }
        self.check_reference(base, name, e.span);
        match self.infer(base) {
            Type::Null => Type::Null,
            Type::Optional(inner) => Type::optional(self.member(&inner, name)),
            t => self.member(&t, name),
        }
    }
}

/// `a ?? b` where `a` has a type without `?`.
fn never_null(t: &Type, a: Span, b: Span) -> Diagnostic {
    Diagnostic::new(
        ErrorCode::NeverNull,
        format!(
            "`??` gives its right side where the left is null, but this is {}, never null",
            article(t)
        ),
    )
    .label(a, format!("this is {}", article(t)))
    .label(b, "never used")
    .help("remove `?? …`; or, if the value may be absent, give it an optional type (`T?`)")
}
