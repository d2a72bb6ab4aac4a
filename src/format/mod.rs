//! `stackc fmt`: `.stack` text to its one canonical layout (docs/formatting.md).
//!
//! The formatter prints the pest parse tree (which has every token and span)
//! rather than the AST, and takes comments from a side table, since the grammar
//! drops them. Its output is checked before it is used: it must parse to the
//! same tree and keep every comment, so formatting never changes a meaning.

mod comments;
mod expr;
mod printer;
mod verify;

use crate::diagnostic::Diagnostic;
use crate::source::SourceId;
use crate::syntax;

/// Why a file is left as it is.
#[derive(Debug)]
pub enum FormatError {
    /// The file does not parse (or is rejected on reading its syntax).
    Syntax(Vec<Diagnostic>),
    /// A comment sits where the layout has no place for it (inside an
    /// expression, between operands); the message names its line.
    Unsupported(String),
}

/// The canonical layout of `text`, a whole `.stack` file.
pub fn format_source(text: &str, source: SourceId) -> Result<String, FormatError> {
    syntax::parse_file(text, source).map_err(FormatError::Syntax)?;
    let tree = syntax::parse_tree(text, source).map_err(|d| FormatError::Syntax(vec![d]))?;
    let Some(file) = tree.clone().next() else {
        return Ok(String::new());
    };
    let comments = comments::collect(text, &file);
    let mut printer = printer::Printer::new(text, comments.clone());
    printer.file(&file);
    let line_of = |at: usize| text[..at].matches('\n').count() + 1;
    if let Some(at) = printer.misplaced {
        return Err(unsupported(line_of(at)));
    }
    if printer.next < comments.len() {
        return Err(unsupported(line_of(comments[printer.next].start)));
    }
    let out = comments::align_trailing(&printer.out, &printer.trailing);
    // The safety net: same tree, same comments, or the file is left alone.
    let again = syntax::parse_tree(&out, source).map_err(|_| internal())?;
    let Some(formatted) = again.clone().next() else {
        return Err(internal());
    };
    let texts = |cs: Vec<comments::Comment>| cs.into_iter().map(|c| c.text).collect::<Vec<_>>();
    if verify::shape(&formatted) != verify::shape(&file)
        || texts(comments::collect(&out, &formatted)) != texts(comments)
    {
        return Err(internal());
    }
    Ok(out)
}

/// The whitespace runs between tokens of a file that parses (outside strings
/// and comments): where a test may change the blanks without changing a meaning.
#[doc(hidden)]
pub fn whitespace_gaps(text: &str) -> Vec<(usize, usize)> {
    match syntax::parse_tree(text, SourceId(0)).map(|mut t| t.next()) {
        Ok(Some(file)) => comments::gaps(text, &file),
        _ => Vec::new(),
    }
}

fn unsupported(line: usize) -> FormatError {
    FormatError::Unsupported(format!(
        "line {line}: a comment inside an expression cannot be kept in place; \
         move it to its own line before the item or field"
    ))
}

fn internal() -> FormatError {
    FormatError::Unsupported(
        "the formatted text would not mean the same (a formatter bug); the file is left as it is"
            .to_string(),
    )
}

#[cfg(test)]
mod tests;
