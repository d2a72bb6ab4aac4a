//! `templatefile(path, vars)`: the template syntax (`${name}` placeholders,
//! `$${` for a literal `${`), reading a template where the checker can see
//! it, and the diagnostics the checker and the evaluator share, so that a
//! placeholder without a value reads the same at either.

use std::path::Path;

use crate::diagnostic::{Diagnostic, ErrorCode};
use crate::files::{Confinement, TEXT_LIMIT};
use crate::source::{SourceId, SourceMap, Span};

/// A piece of a template: text, or a placeholder with its line (from 1).
#[derive(Debug, Clone, PartialEq)]
pub enum Part {
    Text(String),
    Var { name: String, line: usize },
}

/// Why a template cannot be read as one: the line and what is wrong.
#[derive(Debug, Clone, PartialEq)]
pub struct SyntaxError {
    pub line: usize,
    pub message: String,
}

/// Splits a template into text and placeholders. A placeholder is `${`, a
/// name (spaces around it allowed), `}`; `$${` is the text `${`; any other
/// `$` is text.
pub fn parse(text: &str) -> Result<Vec<Part>, SyntaxError> {
    let mut parts = Vec::new();
    let mut literal = String::new();
    let mut line = 1;
    let mut rest = text;
    while let Some(at) = rest.find('$') {
        let (before, after) = rest.split_at(at);
        line += before.matches('\n').count();
        literal.push_str(before);
        if let Some(tail) = after.strip_prefix("$${") {
            literal.push_str("${");
            rest = tail;
        } else if let Some(tail) = after.strip_prefix("${") {
            let Some(close) = tail.find('}') else {
                return Err(SyntaxError {
                    line,
                    message: "`${` is not closed by `}`".to_string(),
                });
            };
            let inside = &tail[..close];
            let name = inside.trim();
            if !is_name(name) {
                let shown: String = name.chars().take(40).collect();
                return Err(SyntaxError {
                    line,
                    message: format!(
                        "`${{{shown}}}` is not a placeholder: a placeholder holds one name"
                    ),
                });
            }
            if !literal.is_empty() {
                parts.push(Part::Text(std::mem::take(&mut literal)));
            }
            parts.push(Part::Var {
                name: name.to_string(),
                line,
            });
            line += inside.matches('\n').count();
            rest = &tail[close + 1..];
        } else {
            literal.push('$');
            rest = &after[1..];
        }
    }
    literal.push_str(rest);
    if !literal.is_empty() {
        parts.push(Part::Text(literal));
    }
    Ok(parts)
}

fn is_name(s: &str) -> bool {
    let mut chars = s.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// The first placeholder with no value among `given`, and the first value
/// given that no placeholder uses.
pub fn mismatches<'a>(
    parts: &'a [Part],
    given: &[&'a str],
) -> (Vec<(&'a str, usize)>, Vec<&'a str>) {
    let mut missing: Vec<(&str, usize)> = Vec::new();
    for part in parts {
        if let Part::Var { name, line } = part
            && !given.contains(&name.as_str())
            && !missing.iter().any(|(m, _)| m == name)
        {
            missing.push((name, *line));
        }
    }
    let unused = given
        .iter()
        .copied()
        .filter(|g| {
            !parts
                .iter()
                .any(|p| matches!(p, Part::Var { name, .. } if name == g))
        })
        .collect();
    (missing, unused)
}

/// Where the checker reads templates: as `file` reads, relative to the
/// calling file and inside the confinement.
pub struct TemplateFiles<'a> {
    pub sources: &'a SourceMap,
    pub confinement: &'a Confinement,
}

impl TemplateFiles<'_> {
    /// The template's text, if it can be read; a template that cannot be is
    /// reported by evaluation (E0409), with the reason.
    pub fn read(&self, from: SourceId, path: &str) -> Option<String> {
        let dir = self.sources.dir_of(from)?;
        if Path::new(path).is_absolute() {
            return None;
        }
        let full = crate::resolve::normalize(&dir.join(path));
        self.confinement.read_text(&full, TEXT_LIMIT).ok()
    }
}

/// A placeholder with no value in the vars record.
pub fn missing_var(template: &str, name: &str, line: usize, span: Span) -> Diagnostic {
    Diagnostic::new(
        ErrorCode::TemplateVarMissing,
        format!("`${{{name}}}` in `{template}` line {line} has no value"),
    )
    .label(span, format!("no `{name}` here"))
    .help(format!(
        "add `{name} = …` to the record of values, or write `$${{{name}}}` in the template for the text `${{{name}}}`"
    ))
}

/// A value given that the template never uses: a typo, or a leftover.
pub fn unused_var(template: &str, name: &str, span: Span) -> Diagnostic {
    Diagnostic::new(
        ErrorCode::TemplateVarUnused,
        format!("`{name}` is given to `{template}`, which has no `${{{name}}}`"),
    )
    .label(span, "not used by the template")
    .help("remove it, or add the placeholder to the template")
}

/// A template that is not text and placeholders.
pub fn invalid(template: &str, e: &SyntaxError, span: Span) -> Diagnostic {
    Diagnostic::new(
        ErrorCode::InvalidTemplate,
        format!("`{template}` line {}: {}", e.line, e.message),
    )
    .label(span, "this template")
    .help("a placeholder is `${name}`, filled from the record of values; `$${` is the text `${`")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_and_literal_dollars() {
        let parts = parse("a ${x}\n$HOME $${y} ${ z }$").unwrap();
        assert_eq!(
            parts,
            vec![
                Part::Text("a ".into()),
                Part::Var {
                    name: "x".into(),
                    line: 1
                },
                Part::Text("\n$HOME ${y} ".into()),
                Part::Var {
                    name: "z".into(),
                    line: 2
                },
                Part::Text("$".into()),
            ]
        );
    }

    #[test]
    fn bad_placeholders_name_their_line() {
        assert_eq!(parse("a\nb ${x + 1}").unwrap_err().line, 2);
        assert_eq!(parse("\n\n${x").unwrap_err().line, 3);
    }

    #[test]
    fn missing_and_unused() {
        let parts = parse("${a} ${b}\n${b} ${c}").unwrap();
        let (missing, unused) = mismatches(&parts, &["a", "d"]);
        assert_eq!(missing, vec![("b", 1), ("c", 2)]);
        assert_eq!(unused, vec!["d"]);
    }
}
