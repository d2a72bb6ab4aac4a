//! The resolver's diagnostics: finding the stack, imports, declarations.

use std::path::Path;

use crate::diagnostic::{Diagnostic, ErrorCode, did_you_mean};
use crate::files::FileError;
use crate::source::Span;
use crate::stdlib;
use crate::syntax::ast;

pub(super) fn no_main_stack(dir: &Path) -> Diagnostic {
    Diagnostic::new(
        ErrorCode::NotFound,
        format!("no main.stack in `{}`", dir.display()),
    )
    .help("a stack is a directory holding main.stack, or the path of one .stack file")
}

pub(super) fn no_such_path(path: &Path) -> Diagnostic {
    Diagnostic::new(
        ErrorCode::NotFound,
        format!("`{}` does not exist", path.display()),
    )
}

/// The root file refused (outside the stack, not a regular file, too large).
pub(super) fn unreadable_root(e: &FileError) -> Diagnostic {
    let mut d = Diagnostic::new(ErrorCode::NotFound, e.to_string());
    d.help = e.help().map(str::to_string);
    d
}

pub(super) fn no_std_module(name: &str, span: Span) -> Diagnostic {
    let mut d = Diagnostic::new(
        ErrorCode::ImportNotFound,
        format!("no module `std/{name}` in the standard library"),
    )
    .label(span, "not found");
    d.help = did_you_mean(name, stdlib::NAMES.iter().copied()).or_else(|| {
        Some(format!(
            "the standard library has: {}",
            stdlib::NAMES.join(", ")
        ))
    });
    d
}

pub(super) fn neither_std_nor_relative(path: &str, span: Span) -> Diagnostic {
    Diagnostic::new(ErrorCode::ImportNotFound, format!("cannot import `{path}`"))
        .label(span, "neither `std/…` nor a relative path")
        .help(format!(
            "write `\"std/{path}\"` for the standard library or `\"./{path}\"` for a file"
        ))
}

pub(super) fn relative_import_in_std(span: Span) -> Diagnostic {
    Diagnostic::new(
        ErrorCode::ImportNotFound,
        "standard library modules can only import `std/…`",
    )
    .label(span, "relative import")
}

pub(super) fn unreadable_import(e: &FileError, span: Span) -> Diagnostic {
    let mut d =
        Diagnostic::new(ErrorCode::ImportNotFound, e.to_string()).label(span, "imported here");
    d.help = e.help().map(str::to_string);
    d
}

/// A name declared twice; `again` labels the second declaration.
pub(super) fn defined_twice(name: &ast::Ident, again: &str, first: Span) -> Diagnostic {
    Diagnostic::new(
        ErrorCode::Duplicate,
        format!("`{}` is defined twice", name.node),
    )
    .label(name.span, again)
    .label(first, "first defined here")
}

pub(super) fn stack_in_module(span: Span) -> Diagnostic {
    Diagnostic::new(
        ErrorCode::MisplacedItem,
        "`stack` is only allowed in the root file",
    )
    .label(span, "in an imported module")
    .help("a module's objects are named after the stack that uses it")
}

pub(super) fn stack_named_twice(span: Span, first: Span) -> Diagnostic {
    Diagnostic::new(ErrorCode::Duplicate, "the stack is named twice")
        .label(span, "named again here")
        .label(first, "first named here")
}

pub(super) fn alias_hides_kind(alias: &ast::Ident) -> Diagnostic {
    Diagnostic::new(
        ErrorCode::Duplicate,
        format!("import alias `{}` hides a built-in kind", alias.node),
    )
    .label(alias.span, "choose another alias")
}

pub(super) fn not_in_block(what: &str, span: Span) -> Diagnostic {
    Diagnostic::new(
        ErrorCode::MisplacedItem,
        format!("{what} is not allowed inside a block"),
    )
    .label(span, "inside `for` or `if`")
    .help("declare it at the top level of the file")
}
