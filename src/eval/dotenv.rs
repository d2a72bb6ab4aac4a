//! Dotenv files, read by `dotenv(path)` and `secret_dotenv(path)`: the part
//! of Docker Compose's `env_file` syntax that means the same without an
//! environment to read (docs/language.md, "Dotenv files").
//!
//! Messages name lines and keys, never values: a dotenv file holds passwords.

/// A line that is not `KEY=VALUE`; `line` counts from 1.
#[derive(Debug, PartialEq)]
pub struct DotenvError {
    pub line: usize,
    pub message: String,
    /// What to write instead, where there is more to say than the syntax.
    pub help: Option<&'static str>,
}

/// The `KEY=VALUE`s of a dotenv file, in order; a key given twice keeps its
/// last value, as in Compose.
pub fn parse(text: &str) -> Result<Vec<(String, String)>, DotenvError> {
    let mut entries: Vec<(String, String)> = Vec::new();
    let mut lines = text.split('\n').enumerate().map(|(i, l)| (i + 1, l));
    while let Some((number, raw)) = lines.next() {
        let fail = |message: String| DotenvError {
            line: number,
            message,
            help: None,
        };
        let interpolated = |message: String| DotenvError {
            line: number,
            message,
            help: Some(INTERPOLATION_HELP),
        };
        let line = raw.strip_suffix('\r').unwrap_or(raw).trim_start();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let line = strip_export(line);
        let Some((key, rest)) = line.split_once('=') else {
            // The text is not shown: a lone word may be a password.
            return Err(fail(if is_key(line.trim_end()) {
                "a name without `=`: Compose would take its value from the environment, which \
                 stackc does not read; write `NAME=` for an empty value"
                    .to_string()
            } else {
                "expected `KEY=VALUE`".to_string()
            }));
        };
        let key = key.trim_end();
        if !is_key(key) {
            return Err(fail(
                "the text before `=` is not a variable name (letters, digits, `_`, `.`, `-`, \
                 not starting with a digit)"
                    .to_string(),
            ));
        }
        let rest = rest.trim_start_matches([' ', '\t']);
        let value = match rest.chars().next() {
            Some(q @ ('\'' | '"')) => {
                // A quoted value may run over several lines.
                let mut body = rest[1..].to_string();
                loop {
                    if let Some((value, after)) = quoted(&body, q, key).map_err(interpolated)? {
                        let after = after.trim_start_matches([' ', '\t', '\r']);
                        if !(after.is_empty() || after.starts_with('#')) {
                            return Err(fail(format!(
                                "`{key}`: text after the closing quote (a comment starts with ` #`)"
                            )));
                        }
                        break value;
                    }
                    match lines.next() {
                        Some((_, next)) => {
                            body.push('\n');
                            body.push_str(next.strip_suffix('\r').unwrap_or(next));
                        }
                        None => {
                            return Err(fail(format!("`{key}`: the quote `{q}` is never closed")));
                        }
                    }
                }
            }
            _ => {
                // An unquoted value ends where a comment starts: `#` after a blank.
                let end = rest
                    .char_indices()
                    .find(|&(i, c)| c == '#' && rest[..i].ends_with([' ', '\t']))
                    .map_or(rest.len(), |(i, _)| i);
                let value = rest[..end].trim_end();
                no_interpolation(value, key).map_err(interpolated)?;
                value.to_string()
            }
        };
        match entries.iter_mut().find(|(k, _)| k == key) {
            Some(entry) => entry.1 = value,
            None => entries.push((key.to_string(), value)),
        }
    }
    Ok(entries)
}

/// `export KEY=VALUE` is `KEY=VALUE`, so that the file can be sourced by a shell.
fn strip_export(line: &str) -> &str {
    match line.strip_prefix("export") {
        Some(rest) if rest.starts_with([' ', '\t']) => rest.trim_start(),
        _ => line,
    }
}

fn is_key(s: &str) -> bool {
    let mut chars = s.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-'))
}

/// The value of a quoted text, up to its closing quote, and what follows;
/// `None` when the quote is not closed yet. Single quotes are literal;
/// double quotes know `\n`, `\r`, `\t`, `\\`, `\"` and `\$`.
fn quoted<'a>(body: &'a str, q: char, key: &str) -> Result<Option<(String, &'a str)>, String> {
    let mut value = String::new();
    let mut chars = body.char_indices().peekable();
    while let Some((i, c)) = chars.next() {
        match c {
            c if c == q => return Ok(Some((value, &body[i + 1..]))),
            '\\' if q == '"' => match chars.next() {
                Some((_, 'n')) => value.push('\n'),
                Some((_, 'r')) => value.push('\r'),
                Some((_, 't')) => value.push('\t'),
                Some((_, e @ ('\\' | '"' | '$'))) => value.push(e),
                Some((_, other)) => {
                    value.push('\\');
                    value.push(other);
                }
                None => value.push('\\'),
            },
            '$' if q == '"' => {
                if chars.peek().is_some_and(|&(_, n)| starts_reference(n)) {
                    return Err(interpolation(key));
                }
                value.push('$');
            }
            c => value.push(c),
        }
    }
    Ok(None)
}

fn no_interpolation(value: &str, key: &str) -> Result<(), String> {
    let mut chars = value.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '$' && chars.peek().copied().is_some_and(starts_reference) {
            return Err(interpolation(key));
        }
    }
    Ok(())
}

fn starts_reference(c: char) -> bool {
    c == '{' || c == '_' || c.is_ascii_alphabetic()
}

/// Compose would replace `${NAME}` / `$NAME` from the environment; stackc
/// reads none, and taking the text literally would differ without a word.
fn interpolation(key: &str) -> String {
    format!("`{key}`: `$` starts a variable reference, which stackc does not expand")
}

const INTERPOLATION_HELP: &str = "for a literal `$`, put the value in single quotes (or write \
    `\\$` in double quotes); for a value that varies, declare a `param` and add it: \
    `env = merge(dotenv(\"…\"), { KEY = \"…${param}\" })`";

#[cfg(test)]
mod tests {
    use super::*;

    fn ok(text: &str) -> Vec<(String, String)> {
        parse(text).expect("a valid dotenv file")
    }

    fn pairs(items: &[(&str, &str)]) -> Vec<(String, String)> {
        items
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn reads_the_documented_forms() {
        let text = "# a comment\n\n  A=1\nexport B = two words  # comment\r\nC='single # $HOME \\n'\nD=\"double\\n\\\"q\\\" \\$HOME\" # c\nE=\nF=a#b\nG=\"multi\nline\"\nA=last\n";
        assert_eq!(
            ok(text),
            pairs(&[
                ("A", "last"),
                ("B", "two words"),
                ("C", "single # $HOME \\n"),
                ("D", "double\n\"q\" $HOME"),
                ("E", ""),
                ("F", "a#b"),
                ("G", "multi\nline"),
            ])
        );
        assert_eq!(ok(""), pairs(&[]));
        assert_eq!(ok("PRICE=5$\nX=$1"), pairs(&[("PRICE", "5$"), ("X", "$1")]));
    }

    #[test]
    fn bad_lines_are_named_by_number_without_their_value() {
        let err = |text: &str| parse(text).expect_err("a bad dotenv file");
        let e = err("A=1\n\nsecretvalue!\n");
        assert_eq!(e.line, 3);
        assert!(!e.message.contains("secretvalue"), "{}", e.message);
        let e = err("A=1\nPASSWORD\n");
        assert_eq!(e.line, 2);
        assert!(e.message.contains("a name without `=`"), "{}", e.message);
        assert!(!e.message.contains("PASSWORD"), "{}", e.message);
        assert_eq!(err("1X=2").line, 1);
        let e = err("A=1\nB=\"open\nstill open\n");
        assert_eq!(e.line, 2);
        assert!(e.message.contains("never closed"), "{}", e.message);
        let e = err("P=\"hunter2\" trailing");
        assert!(!e.message.contains("hunter2"), "{}", e.message);
        let e = err("URL=http://${HOST}:80");
        assert!(e.message.contains("`URL`: `$` starts"), "{}", e.message);
        assert!(
            err("URL=\"$HOST\"")
                .help
                .is_some_and(|h| h.contains("single quotes"))
        );
        assert_eq!(ok("URL='${HOST}'"), pairs(&[("URL", "${HOST}")]));
    }
}
