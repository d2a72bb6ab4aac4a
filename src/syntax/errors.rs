//! The parser's diagnostics: what cannot be read, and why.

use crate::diagnostic::{Diagnostic, ErrorCode};
use crate::source::Span;

pub(super) fn syntax_error(message: &str, span: Span) -> Diagnostic {
    Diagnostic::new(ErrorCode::Syntax, format!("syntax error: {message}")).label(span, "here")
}

/// The end of the file came with a bracket or string (`what`) still open.
pub(super) fn never_closed(what: &str, close: char, opened: Span) -> Diagnostic {
    Diagnostic::new(
        ErrorCode::Syntax,
        format!("syntax error: unexpected end of file: the {what} opened here is never closed"),
    )
    .label(opened, "opened here")
    .help(format!("add `{close}` where it ends"))
}

pub(super) fn nested_too_deep(what: &str, max: usize, at: Span) -> Diagnostic {
    Diagnostic::new(
        ErrorCode::TooDeep,
        format!("{what} more than {max} levels deep"),
    )
    .label(at, "too deep here")
    .help("split the expression with `let` bindings")
}

pub(super) fn expression_too_deep(max: usize, span: Span) -> Diagnostic {
    Diagnostic::new(
        ErrorCode::TooDeep,
        format!("expression has more than {max} levels of nesting or chained operators"),
    )
    .label(span, "too deep")
    .help("split the expression with `let` bindings")
}

pub(super) fn expected_expression() -> Diagnostic {
    Diagnostic::new(ErrorCode::Syntax, "syntax error: expected an expression")
}

pub(super) fn mixed_enum(span: Span) -> Diagnostic {
    Diagnostic::new(
        ErrorCode::UnknownType,
        "only string literals can be joined with `|`",
    )
    .label(span, "mixes other types")
    .help("write an enum as `\"a\" | \"b\"`; use `T?` for an optional type")
}

pub(super) fn not_callable(span: Span) -> Diagnostic {
    Diagnostic::new(ErrorCode::Syntax, "only functions can be called")
        .label(span, "this is not a function name")
        .help("call a function by its name, as in `upper(x)`")
}

/// In a list, `1⏎-2` would read as `1 - 2`.
pub(super) fn ambiguous_minus(at: Span) -> Diagnostic {
    Diagnostic::new(
        ErrorCode::Syntax,
        "ambiguous `-` at the start of a line in a list",
    )
    .label(at, "subtracts from the item above")
    .help(
        "separate a negative item with a comma (`1, -2`), or end the line above with the operator",
    )
}

pub(super) fn number_too_large(text: &str, span: Span) -> Diagnostic {
    Diagnostic::new(
        ErrorCode::NumberTooLarge,
        format!("number `{text}` is out of range"),
    )
    .label(span, "too large")
}

pub(super) fn fractional_size(text: &str, span: Span) -> Diagnostic {
    Diagnostic::new(
        ErrorCode::NumberTooLarge,
        format!("size `{text}` is not a whole number of bytes"),
    )
    .label(span, "fractional bytes")
    .help("use a smaller unit")
}

pub(super) fn interpolation_not_allowed(span: Span) -> Diagnostic {
    Diagnostic::new(ErrorCode::Syntax, "interpolation is not allowed here")
        .label(span, "must be a plain string")
}

pub(super) fn unknown_escape(text: &str, span: Span) -> Diagnostic {
    Diagnostic::new(ErrorCode::InvalidEscape, format!("unknown escape `{text}`"))
        .label(span, "not an escape")
        .help("the escapes are \\n \\t \\r \\\" \\\\ and \\$")
}
