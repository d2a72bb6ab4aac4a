//! Diagnostics of named types, refinements, field defaults and `validate`
//! clauses found before evaluation.

use super::Type;
use super::declared::Unit;
use crate::diagnostic::{Diagnostic, ErrorCode, did_you_mean};
use crate::source::Span;
use crate::syntax::ast::Ident;

pub(super) fn unknown_type(name: &str, candidates: &[&str], span: Span) -> Diagnostic {
    let mut d = Diagnostic::new(ErrorCode::UnknownType, format!("unknown type `{name}`"))
        .label(span, "not a type");
    d.help = did_you_mean(name, candidates.iter().copied())
        .or_else(|| Some(format!("declare it: `type {name} = {{ … }}`")));
    d
}

pub(super) fn unknown_type_module(alias: &str, aliases: &[&str], span: Span) -> Diagnostic {
    let mut d = Diagnostic::new(
        ErrorCode::UnknownType,
        format!("no module is imported as `{alias}`"),
    )
    .label(span, "not an import");
    d.help = did_you_mean(alias, aliases.iter().copied()).or_else(|| {
        Some(format!(
            "import the module that declares the type: `import \"./….stack\" as {alias}`"
        ))
    });
    d
}

pub(super) fn no_such_type(
    alias: &str,
    module: &str,
    name: &str,
    names: &[&str],
    span: Span,
) -> Diagnostic {
    let mut d = Diagnostic::new(
        ErrorCode::UnknownType,
        format!("module `{alias}` ({module}) declares no type `{name}`"),
    )
    .label(span, "not declared there");
    d.help = did_you_mean(name, names.iter().copied()).or_else(|| {
        Some(if names.is_empty() {
            "it declares no types".to_string()
        } else {
            format!("its types are: {}", names.join(", "))
        })
    });
    d
}

pub(super) fn builtin_type_redefined(name: &Ident) -> Diagnostic {
    Diagnostic::new(
        ErrorCode::Duplicate,
        format!("`{}` is a built-in type", name.node),
    )
    .label(name.span, "cannot be declared again")
    .help("choose another name: type names are usually capitalized (`Service`)")
}

/// `cycle` runs from the type first entered to the one whose body names
/// it again at `span`.
pub(super) fn recursive_type(cycle: &[(String, Span)], span: Span) -> Diagnostic {
    let mut names: Vec<&str> = cycle.iter().map(|(n, _)| n.as_str()).collect();
    names.push(cycle[0].0.as_str());
    let last = cycle.last().map_or("", |(n, _)| n.as_str());
    let mut d = Diagnostic::new(
        ErrorCode::RecursiveType,
        format!(
            "type `{}` contains itself: {}",
            cycle[0].0,
            names
                .iter()
                .map(|n| format!("`{n}`"))
                .collect::<Vec<_>>()
                .join(" → ")
        ),
    )
    .label(span, format!("`{last}` uses `{}` here", cycle[0].0));
    for pair in cycle.windows(2) {
        d = d.label(
            pair[1].1,
            format!("`{}` uses `{}` here", pair[0].0, pair[1].0),
        );
    }
    d.help(
        "a type is copied where it is used, so none may contain itself (not even through an \
         optional field); refer to the other value by its name, a string",
    )
}

pub(super) fn type_too_large(name: &str, span: Span) -> Diagnostic {
    Diagnostic::new(
        ErrorCode::TypeTooLarge,
        format!(
            "type `{name}` is too large: written out, it has more than {} parts",
            super::named::MAX_TYPE_NODES
        ),
    )
    .label(span, "declared here")
    .help("each use of a named type is a copy of it: split the type, or use fewer copies")
}

pub(super) fn pattern_on(t: &Type, span: Span) -> Diagnostic {
    Diagnostic::new(
        ErrorCode::InvalidRefinement,
        format!("`matches` applies to strings, not to {}", super::article(t)),
    )
    .label(span, "a pattern")
}

pub(super) fn bad_pattern(why: &str, span: Span) -> Diagnostic {
    let last = why.lines().last().unwrap_or(why).trim();
    let first = last.strip_prefix("error: ").unwrap_or(last);
    Diagnostic::new(ErrorCode::InvalidRefinement, "invalid pattern")
        .label(span, first.to_string())
        .help("patterns are regular expressions as Rust's `regex` crate reads them")
}

pub(super) fn range_on(t: &Type, span: Span) -> Diagnostic {
    Diagnostic::new(
        ErrorCode::InvalidRefinement,
        format!("{} takes no range", super::article(t)),
    )
    .label(span, "a range")
    .help("ranges bound numbers, durations and sizes, and the length of strings, lists and maps")
}

pub(super) fn bound_unit(what: &str, t: &Type, unit: Unit, span: Span) -> Diagnostic {
    let want = match unit {
        Unit::Number if matches!(t, Type::Float) => "numbers",
        Unit::Number => "whole numbers",
        Unit::Duration => "durations, like `10s`",
        Unit::Size => "sizes, like `512MiB`",
        Unit::Characters => "lengths in characters (whole numbers from 0)",
        Unit::Elements => "numbers of elements (whole numbers from 0)",
    };
    Diagnostic::new(
        ErrorCode::InvalidRefinement,
        format!("the bounds of a range on {} are {want}", super::article(t)),
    )
    .label(span, format!("this is {what}"))
}

pub(super) fn empty_range(span: Span) -> Diagnostic {
    Diagnostic::new(ErrorCode::InvalidRefinement, "this range is empty")
        .label(span, "its low end is above its high end")
        .help("both ends are included: `1..20` is 1 to 20")
}

/// A literal outside its refined type, found before evaluation.
pub(super) fn outside(text: &str, violation: &str, t: &Type, span: Span) -> Diagnostic {
    Diagnostic::new(ErrorCode::OutsideRefinement, format!("{text} {violation}"))
        .label(span, format!("must be {t}"))
}

pub(super) fn default_not_constant(span: Span) -> Diagnostic {
    Diagnostic::new(
        ErrorCode::InvalidDefault,
        "a field default must be a constant",
    )
    .label(span, "names and function calls are not allowed here")
    .help("write the value itself (a number, a string, a list, a record); to compute a value, use a parameter default or a `let`")
}
