//! Syntax: `.stack` text to a spanned AST. No pest type leaves this module.

pub mod ast;
mod errors;
mod habits;
mod lower;
mod parser;
#[cfg(test)]
mod tests;

pub use lower::{parse_expr, parse_file, parse_var_file};

/// The raw parse tree of a whole file, for the formatter (src/format),
/// which needs every token with its span; the rest of the compiler uses the AST.
pub(crate) fn parse_tree(
    text: &str,
    source: crate::source::SourceId,
) -> Result<pest::iterators::Pairs<'_, parser::Rule>, crate::diagnostic::Diagnostic> {
    parser::parse(parser::Rule::file, text, source)
}

pub(crate) use parser::Rule;
