//! What the checker sees of text functions and loop names: the placeholders
//! of a `templatefile` whose template and values are known before
//! evaluation, and loop variables that hide a name (a warning).

use super::*;
use crate::diagnostic::ErrorCode;
use crate::types::template;

impl<'a> Checker<'a> {
    /// A loop variable named like a parameter, a let, an import or a
    /// variable of an enclosing loop hides it inside the loop: legal, and a
    /// warning, since `x` no longer means what it means outside. (Kinds are
    /// left out: `for name, image in images` is natural, and `image.x`
    /// inside such a loop is an error that says why.)
    pub(super) fn warn_shadowing(&mut self, vars: &LoopVars) {
        for var in std::iter::once(&vars.value).chain(vars.key.as_ref()) {
            let name = var.node.as_str();
            let hidden = if self.locals.iter().any(|(n, _)| n == name) {
                "the outer"
            } else if self.params.contains_key(name) {
                "the parameter"
            } else if self.module.lets.contains_key(name) {
                "the let"
            } else if self.module.imports.contains_key(name) {
                "the imported module"
            } else {
                continue;
            };
            self.errors.push(
                Diagnostic::new(
                    ErrorCode::ShadowedName,
                    format!("the loop variable `{name}` hides {hidden} `{name}`"),
                )
                .label(var.span, "hides the outer name inside the loop")
                .help(format!(
                    "inside the loop `{name}` is the loop variable; rename it to keep the outer `{name}` in reach"
                ))
                .warning(),
            );
        }
    }

    /// `templatefile("literal path", vars)` with a record of known keys:
    /// every placeholder has a value, and every value a placeholder.
    pub(super) fn check_template(&mut self, args: &[Expr], types: &[Type]) {
        let (Some(templates), [path, vars], [_, Type::Record(fields)]) =
            (self.templates, args, types)
        else {
            return;
        };
        let Some(file) = path.as_plain_string() else {
            return;
        };
        // Only a record type is known whole (computed keys make a map).
        let Some(text) = templates.read(self.module.source, file) else {
            return;
        };
        let parts = match template::parse(&text) {
            Ok(parts) => parts,
            Err(e) => {
                self.errors.push(template::invalid(file, &e, path.span));
                return;
            }
        };
        let given: Vec<&str> = fields.keys().map(String::as_str).collect();
        let (missing, unused) = template::mismatches(&parts, &given);
        for (name, line) in missing {
            self.errors
                .push(template::missing_var(file, name, line, vars.span));
        }
        for name in unused {
            let at = field_span(vars, name).unwrap_or(vars.span);
            self.errors.push(template::unused_var(file, name, at));
        }
    }
}

/// The span of the field `name` when `e` is a record literal.
fn field_span(e: &Expr, name: &str) -> Option<Span> {
    let ExprKind::Record(fields) = &e.kind else {
        return None;
    };
    fields
        .iter()
        .find(|f| f.key.static_name() == Some(name))
        .map(|f| f.key.span())
}
