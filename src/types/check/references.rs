//! References to resources and module instances, checked against what the
//! module declares in every branch: a reference inside an `if` that is not
//! taken is checked too. A name built by interpolation (`"api-${i}"`) is a
//! pattern its references may match (`container.api-2`); whether that
//! resource really exists is known at evaluation.

use super::*;
use crate::diagnostic::{ErrorCode, did_you_mean};

/// The names declared for each kind or module alias, as patterns.
#[derive(Default)]
pub(super) struct DeclaredNames {
    names: HashMap<String, Vec<Pattern>>,
}

/// A declared name: literal text, with a wildcard for each interpolation.
struct Pattern(Vec<Option<String>>);

impl Pattern {
    fn of(e: &Expr) -> Pattern {
        match &e.kind {
            ExprKind::Str(parts) => Pattern(
                parts
                    .iter()
                    .map(|p| match p {
                        StrPart::Lit(s) => Some(s.clone()),
                        StrPart::Interp(_) => None,
                    })
                    .collect(),
            ),
            _ => Pattern(vec![None]),
        }
    }

    fn literal(&self) -> Option<&str> {
        match self.0.as_slice() {
            [] => Some(""),
            [Some(s)] => Some(s),
            _ => None,
        }
    }

    /// Whether `name` matches: each wildcard stands for any text.
    fn matches(&self, name: &str) -> bool {
        let mut rest = name;
        let mut after_wildcard = false;
        let n = self.0.len();
        for (i, part) in self.0.iter().enumerate() {
            match part {
                None => after_wildcard = true,
                Some(lit) if i + 1 == n && after_wildcard => return rest.ends_with(lit.as_str()),
                Some(lit) if after_wildcard => match rest.find(lit.as_str()) {
                    // The first occurrence leaves the most for what follows.
                    Some(at) => {
                        rest = &rest[at + lit.len()..];
                        after_wildcard = false;
                    }
                    None => return false,
                },
                Some(lit) => match rest.strip_prefix(lit.as_str()) {
                    Some(r) => rest = r,
                    None => return false,
                },
            }
        }
        after_wildcard || rest.is_empty()
    }

    /// As written, `${…}` for each interpolation.
    fn show(&self) -> String {
        self.0
            .iter()
            .map(|p| p.as_deref().unwrap_or("${…}"))
            .collect()
    }
}

fn collect(items: &[Item], out: &mut DeclaredNames) {
    for item in items {
        match item {
            Item::Resource(r) => out
                .names
                .entry(r.kind.node.clone())
                .or_default()
                .push(Pattern::of(&r.name)),
            Item::For(f) => collect(&f.body, out),
            Item::If(i) => {
                collect(&i.then, out);
                collect(&i.otherwise, out);
            }
            _ => {}
        }
    }
}

impl<'a> Checker<'a> {
    /// `kind.name` or `alias.name`: the resource or instance must be declared
    /// somewhere in the module, whichever branch declares it.
    pub(super) fn check_reference(&mut self, base: &Expr, name: &Ident, span: Span) {
        self.check_reference_declared(base, &name.node, span);
    }

    /// `kind["name"]`: checked where the name is written out.
    pub(super) fn check_indexed_reference(&mut self, base: &Expr, index: &Expr, span: Span) {
        if let Some(name) = index.as_plain_string() {
            self.check_reference_declared(base, name, span);
        }
    }

    fn check_reference_declared(&mut self, base: &Expr, name: &str, span: Span) {
        let ExprKind::Name(n) = &base.kind else {
            return;
        };
        let kind = Kind::parse(n);
        let is_alias = self.module.imports.contains_key(n.as_str());
        if (kind.is_none() && !is_alias) || self.value_type(n).is_some() {
            return;
        }
        let module = self.module;
        let declared = self.declared.get_or_insert_with(|| {
            let mut d = DeclaredNames::default();
            collect(&module.body, &mut d);
            d
        });
        let patterns = declared
            .names
            .get(n.as_str())
            .map_or(&[][..], Vec::as_slice);
        if patterns.iter().any(|p| p.matches(name)) {
            return;
        }
        let shown: Vec<String> = patterns.iter().map(Pattern::show).collect();
        let literal: Vec<&str> = patterns.iter().filter_map(Pattern::literal).collect();
        let (what, plural) = match kind {
            Some(k) => (k.to_string(), format!("{k}s")),
            None => (format!("`{n}` instance"), format!("`{n}` instances")),
        };
        let mut d = Diagnostic::new(
            ErrorCode::UnknownResource,
            format!("there is no {what} named `{name}`"),
        )
        .label(span, "referenced here");
        d.help = did_you_mean(name, literal.iter().copied()).or_else(|| {
            Some(if shown.is_empty() {
                format!("no {what} is declared in this module")
            } else {
                format!("the {plural} are: {}", shown.join(", "))
            })
        });
        self.errors.push(d);
    }
}

#[cfg(test)]
mod tests {
    use super::Pattern;

    fn pattern(parts: &[Option<&str>]) -> Pattern {
        Pattern(parts.iter().map(|p| p.map(str::to_string)).collect())
    }

    #[test]
    fn interpolations_match_any_text() {
        let p = pattern(&[Some("api-"), None]);
        assert!(p.matches("api-0") && p.matches("api-") && !p.matches("web-0"));
        let p = pattern(&[None, Some("-"), None, Some("-db")]);
        assert!(p.matches("a-b-db") && p.matches("x-y-z-db") && !p.matches("a-db-x"));
        let p = pattern(&[Some("web")]);
        assert!(p.matches("web") && !p.matches("web2"));
        assert!(pattern(&[None]).matches(""));
    }
}
