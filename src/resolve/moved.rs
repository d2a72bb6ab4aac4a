//! `moved { from = volume.data, to = postgres.db.volume.data }`: the block's
//! fields read as addresses. `from` names what the source no longer has
//! (often inside a module instance that is gone), so it is never resolved
//! as a reference: both are paths, read from their text. Whether they exist
//! is known only once loops are expanded (`eval/moved.rs`).

use crate::deployment::moved::{Addressed, addressed};
use crate::diagnostic::{Diagnostic, ErrorCode};
use crate::source::{Span, Spanned};
use crate::syntax::ast::{Expr, ExprKind, MovedDecl};

/// A `moved` block of a module, addresses relative to its instance.
#[derive(Debug, Clone)]
pub struct MovedItem {
    pub from: Spanned<String>,
    pub to: Spanned<String>,
    /// What both name (the same: checked here).
    pub what: Addressed,
    pub span: Span,
}

/// The block's addresses, or every error in it.
pub(super) fn read(block: &MovedDecl, errors: &mut Vec<Diagnostic>) -> Option<MovedItem> {
    let mut from: Option<Spanned<String>> = None;
    let mut to: Option<Spanned<String>> = None;
    let before = errors.len();
    for field in &block.fields {
        let name = field.key.static_name();
        let slot = match name {
            Some("from") => &mut from,
            Some("to") => &mut to,
            _ => {
                errors.push(
                    Diagnostic::new(
                        ErrorCode::InvalidMoved,
                        format!(
                            "a `moved` block has no field `{}`",
                            name.unwrap_or("(computed)")
                        ),
                    )
                    .label(field.key.span(), "not `from` or `to`")
                    .help("write `moved { from = volume.data, to = postgres.db.volume.data }`"),
                );
                continue;
            }
        };
        if let Some(first) = slot {
            errors.push(
                Diagnostic::new(
                    ErrorCode::InvalidMoved,
                    format!("`{}` is given twice", name.unwrap_or_default()),
                )
                .label(field.key.span(), "given again here")
                .label(first.span, "first given here"),
            );
            continue;
        }
        match address(&field.value).filter(|a| addressed(a).is_some()) {
            Some(a) => *slot = Some(Spanned::new(a, field.value.span)),
            None => errors.push(not_an_address(field.value.span)),
        }
    }
    for (slot, name) in [(&from, "from"), (&to, "to")] {
        if slot.is_none()
            && !block
                .fields
                .iter()
                .any(|f| f.key.static_name() == Some(name))
        {
            errors.push(
                Diagnostic::new(
                    ErrorCode::InvalidMoved,
                    format!("a `moved` block needs `{name}`"),
                )
                .label(block.span, format!("no `{name}`"))
                .help("`from` is the address the object had, `to` the one it has now"),
            );
        }
    }
    let (from, to) = (from?, to?);
    if errors.len() > before {
        return None;
    }
    let (Some(was), Some(now)) = (addressed(&from.node), addressed(&to.node)) else {
        return None;
    };
    if was != now {
        errors.push(
            Diagnostic::new(
                ErrorCode::MovedKindMismatch,
                format!("`{}` cannot become `{}`", from.node, to.node),
            )
            .label(from.span, describe(was))
            .label(to.span, describe(now))
            .help("a move keeps what an object is: a volume stays a volume; to change the kind, remove the old resource and declare the new one"),
        );
        return None;
    }
    Some(MovedItem {
        from,
        to,
        what: was,
        span: block.span,
    })
}

fn describe(what: Addressed) -> String {
    match what {
        Addressed::Resource(kind) => format!("a {kind}"),
        Addressed::Instance => "a module instance".into(),
    }
}

fn not_an_address(span: Span) -> Diagnostic {
    Diagnostic::new(ErrorCode::NotAnAddress, "this is not a resource address")
        .label(span, "expected `kind.name` or `alias.instance.kind.name`")
        .help("write the address as a path, without quotes: `volume.data`, `postgres.db.volume.data`, `container[\"api-0\"]`, or `postgres.db` for a whole module instance")
}

/// The text of a path: names joined by `.`, an index only by a plain
/// string (`container["api-0"]`).
fn address(e: &Expr) -> Option<String> {
    let text = match &e.kind {
        ExprKind::Name(n) => n.clone(),
        ExprKind::Member(base, name) => format!("{}.{}", address(base)?, name.node),
        ExprKind::Index(base, key) => format!("{}.{}", address(base)?, key.as_plain_string()?),
        _ => return None,
    };
    let names_ok = text.split('.').all(|s| {
        !s.is_empty()
            && s.starts_with(|c: char| c.is_ascii_alphanumeric() || c == '_')
            && s.chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
    });
    names_ok.then_some(text)
}
