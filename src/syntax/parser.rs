//! The pest parser generated from `grammar/stack.pest`, and syntax errors.

use pest::Parser as _;
use pest::error::{ErrorVariant, InputLocation};
use pest::iterators::Pairs;
use pest_derive::Parser;

use super::errors;
use crate::diagnostic::Diagnostic;
use crate::source::{SourceId, Span};

#[derive(Parser)]
#[grammar = "../grammar/stack.pest"]
pub(super) struct StackParser;

/// Deeper nesting than this is refused before parsing, so no input can
/// exhaust the stack of the recursive-descent parser.
const MAX_NESTING: usize = 128;

/// Parses `text` with `rule` (one of the entry rules), mapping failures to a diagnostic.
pub(super) fn parse(
    rule: Rule,
    text: &str,
    source: SourceId,
) -> Result<Pairs<'_, Rule>, Diagnostic> {
    check_nesting(text, source)?;
    StackParser::parse(rule, text).map_err(|e| syntax_error(e, text, source))
}

fn syntax_error(e: pest::error::Error<Rule>, text: &str, source: SourceId) -> Diagnostic {
    let (start, end) = match e.location {
        InputLocation::Pos(p) => (p, p),
        InputLocation::Span((s, e)) => (s, e),
    };
    // At the end of the input, the likely cause is a bracket or string left open.
    let content_end = text.trim_end().len();
    if start >= content_end
        && let Some((open, c)) = unclosed(text)
    {
        let close = match c {
            '(' => ')',
            '[' => ']',
            '{' => '}',
            _ => '"',
        };
        let what = if c == '"' {
            "string".to_string()
        } else {
            format!("`{c}`")
        };
        return errors::never_closed(&what, close, Span::new(source, open, open + 1));
    }
    let message = match &e.variant {
        ErrorVariant::ParsingError { positives, .. } => {
            let mut expected: Vec<&str> = positives.iter().filter_map(|r| describe(*r)).collect();
            expected.sort_unstable();
            expected.dedup();
            match expected.as_slice() {
                [] => "unexpected input".to_string(),
                [one] => format!("expected {one}"),
                [init @ .., last] => format!("expected {} or {last}", init.join(", ")),
            }
        }
        ErrorVariant::CustomError { message } => message.clone(),
    };
    // A label at the very end of the input would not be drawn: point at the last character.
    let (start, end) = if start >= content_end && content_end > 0 {
        let last = text[..content_end]
            .char_indices()
            .next_back()
            .map_or(0, |(i, _)| i);
        (last, content_end)
    } else {
        (start, end)
    };
    let d = errors::syntax_error(&message, Span::new(source, start, end));
    let help = super::habits::hint(text, start).or_else(|| hint(text, start).map(String::from));
    match help {
        Some(help) => d.help(help),
        None => d,
    }
}

/// What users coming from other languages write, recognised on the line of
/// the error: said plainly, since the parser's "expected …" cannot.
fn hint(text: &str, at: usize) -> Option<&'static str> {
    let at = at.min(text.len());
    let line_start = text[..at].rfind('\n').map_or(0, |i| i + 1);
    let line_end = text[at..].find('\n').map_or(text.len(), |i| at + i);
    let line = text.get(line_start..line_end)?.trim();
    let rest = text.get(at..line_end).unwrap_or("").trim_start();
    if line.starts_with("import ") && !line.contains(" as ") {
        return Some("an import is named: `import \"./db.stack\" as db`");
    }
    if line.starts_with("fn ") && line.contains("):") {
        return Some("a function's result type follows `->`: `fn f(n: int) -> int = n + 1`");
    }
    if rest.starts_with("=>") || (rest.starts_with('>') && text[..at].ends_with('=')) {
        return Some("a map comprehension writes `key = value`: `{ for k in keys: k = 1 }`");
    }
    if rest.starts_with("---") || line.contains("----") {
        return Some("too many signs in a row: write the number, or use parentheses");
    }
    None
}

/// The innermost bracket or string still open at the end of `text`, with its offset.
fn unclosed(text: &str) -> Option<(usize, char)> {
    let mut open: Vec<(usize, char)> = Vec::new();
    let mut chars = text.char_indices().peekable();
    while let Some((i, c)) = chars.next() {
        match c {
            '#' => {
                for (_, c) in chars.by_ref() {
                    if c == '\n' {
                        break;
                    }
                }
            }
            '"' => {
                let triple = text[i..].starts_with("\"\"\"");
                if triple {
                    chars.next();
                    chars.next();
                }
                let mut closed = false;
                while let Some((j, c)) = chars.next() {
                    match c {
                        '\\' => {
                            chars.next();
                        }
                        '"' if !triple || text[j..].starts_with("\"\"\"") => {
                            if triple {
                                chars.next();
                                chars.next();
                            }
                            closed = true;
                            break;
                        }
                        '\n' if !triple => break,
                        _ => {}
                    }
                }
                if !closed {
                    return Some((i, '"'));
                }
            }
            '(' | '[' | '{' => open.push((i, c)),
            ')' | ']' | '}' => {
                open.pop();
            }
            _ => {}
        }
    }
    open.pop()
}

/// How a grammar rule is named in "expected …" messages; `None` hides it.
fn describe(rule: Rule) -> Option<&'static str> {
    Some(match rule {
        Rule::EOI => "end of file",
        Rule::item | Rule::stack_decl | Rule::param_decl | Rule::let_decl | Rule::import_decl => {
            "an item"
        }
        Rule::fn_decl
        | Rule::output_decl
        | Rule::assert_decl
        | Rule::for_items
        | Rule::if_items => "an item",
        Rule::resource => "an item",
        Rule::block | Rule::body => "`{`",
        Rule::field | Rule::key | Rule::var_entry => "a field (`name = value`)",
        Rule::type_expr
        | Rule::type_union
        | Rule::type_name
        | Rule::type_generic
        | Rule::type_record => "a type",
        Rule::type_field => "a record field type (`name: type`)",
        Rule::type_opt => "`?`",
        Rule::expr | Rule::postfix_expr | Rule::primary | Rule::prefix | Rule::neg | Rule::not => {
            "an expression"
        }
        Rule::if_expr | Rule::list | Rule::list_comp | Rule::record | Rule::map_comp => {
            "an expression"
        }
        Rule::infix
        | Rule::or
        | Rule::and
        | Rule::eq
        | Rule::ne
        | Rule::le
        | Rule::ge
        | Rule::lt
        | Rule::gt => "an operator",
        Rule::add | Rule::sub | Rule::mul | Rule::div | Rule::rem => "an operator",
        Rule::member => "`.`",
        Rule::index => "`[`",
        Rule::call => "`(`",
        Rule::comp_filter => "`if`",
        Rule::number | Rule::int | Rule::float | Rule::size | Rule::duration => "a number",
        Rule::string | Rule::mstring => "a string",
        Rule::interp => "`${`",
        Rule::ident | Rule::name | Rule::member_name => "a name",
        Rule::loop_vars => "a loop variable",
        Rule::fn_params | Rule::fn_param => "a parameter (`name: type`)",
        Rule::kw_true | Rule::kw_false | Rule::kw_null => "an expression",
        _ => return None,
    })
}

/// Refuses nesting deeper than [`MAX_NESTING`] before pest sees the text.
///
/// A level is an open bracket, an open interpolation `${`, or an `if` that
/// continues a chain (`else if`, `then if`, `if if`): the constructs through
/// which the grammar recurses. Comments and the text of strings are skipped.
fn check_nesting(text: &str, source: SourceId) -> Result<(), Diagnostic> {
    #[derive(Clone, Copy, PartialEq)]
    enum Open {
        Bracket,
        Interp,
        Str { triple: bool },
    }
    #[derive(Clone, Copy, PartialEq)]
    enum Prev {
        /// `if`, `then`, `else`, `-` or `!`: an `if` next is nested in what precedes it.
        Nests,
        Other,
    }
    let bytes = text.as_bytes();
    let mut open: Vec<Open> = Vec::new();
    // The `if`s in the current chain, for each level of code (brackets, interpolations).
    let mut chains: Vec<usize> = vec![0];
    let mut depth = 0usize;
    let mut prev = Prev::Other;
    let mut i = 0;
    while i < bytes.len() {
        let c = bytes[i];
        let at = i;
        if let Some(Open::Str { triple }) = open.last().copied() {
            match c {
                b'\\' => i += 1,
                // `$${` is text.
                b'$' if text[i..].starts_with("$${") => i += 2,
                b'$' if bytes.get(i + 1) == Some(&b'{') => {
                    open.push(Open::Interp);
                    chains.push(0);
                    depth += 1;
                    prev = Prev::Other;
                    i += 1;
                }
                b'"' if !triple => {
                    open.pop();
                }
                b'"' if text[i..].starts_with("\"\"\"") => {
                    open.pop();
                    i += 2;
                }
                // An unclosed string: pest reports it.
                b'\n' if !triple => {
                    open.pop();
                }
                _ => {}
            }
            i += 1;
            if depth > MAX_NESTING {
                return Err(too_deep(source, at, "brackets nested"));
            }
            continue;
        }
        match c {
            b'#' => {
                while i < bytes.len() && bytes[i] != b'\n' {
                    i += 1;
                }
                continue;
            }
            b'"' => {
                let triple = text[i..].starts_with("\"\"\"");
                open.push(Open::Str { triple });
                if triple {
                    i += 2;
                }
                prev = Prev::Other;
            }
            b'(' | b'[' | b'{' => {
                open.push(Open::Bracket);
                chains.push(0);
                depth += 1;
                prev = Prev::Other;
                if depth > MAX_NESTING {
                    let what = if chains.iter().any(|c| *c > 0) {
                        "brackets and `if`s nested"
                    } else {
                        "brackets nested"
                    };
                    return Err(too_deep(source, at, what));
                }
            }
            b')' | b']' | b'}' => {
                // Closes a bracket, or (`}`) an interpolation, back into its string.
                if matches!(open.last(), Some(Open::Bracket | Open::Interp)) {
                    open.pop();
                    depth -= 1 + chains.pop().unwrap_or(0);
                }
                prev = Prev::Other;
            }
            b'-' => prev = Prev::Nests,
            b'!' if bytes.get(i + 1) != Some(&b'=') => prev = Prev::Nests,
            c if c.is_ascii_alphanumeric() || c == b'_' => {
                let start = i;
                while i < bytes.len() && (bytes[i].is_ascii_alphanumeric() || bytes[i] == b'_') {
                    i += 1;
                }
                let word = &text[start..i];
                if word == "if" {
                    let level = chains.len() - 1;
                    if prev == Prev::Nests {
                        chains[level] += 1;
                        depth += 1;
                    } else {
                        depth = depth - chains[level] + 1;
                        chains[level] = 1;
                    }
                    if depth > MAX_NESTING {
                        return Err(too_deep(source, start, "`if` nested"));
                    }
                }
                prev = if matches!(word, "if" | "then" | "else") {
                    Prev::Nests
                } else {
                    Prev::Other
                };
                continue;
            }
            c if c.is_ascii_whitespace() => {}
            _ => prev = Prev::Other,
        }
        i += 1;
    }
    Ok(())
}

fn too_deep(source: SourceId, at: usize, what: &str) -> Diagnostic {
    errors::nested_too_deep(what, MAX_NESTING, Span::new(source, at, at + 1))
}
