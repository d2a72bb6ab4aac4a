//! Text built-ins for configuration files: `templatefile`, `format` with
//! widths and precisions, `substr`, and regular expressions.
//!
//! Patterns come from untrusted stacks: the `regex` crate matches in time
//! linear in the text, and a pattern is refused when its compiled program
//! would pass [`REGEX_SIZE`] bytes or nest deeper than [`REGEX_NESTING`].

use std::cell::RefCell;
use std::collections::HashMap;

use regex::{Regex, RegexBuilder};

use super::builtins::CallError;
use super::value::{Map, Show, Value, format_float};
use crate::diagnostic::ErrorCode;
use crate::types::template::{self, Part};

/// The most a compiled pattern may take (its program, and the lazy DFA's cache).
pub const REGEX_SIZE: usize = 1024 * 1024;
/// The deepest a pattern may nest groups and repetitions.
pub const REGEX_NESTING: u32 = 64;
/// The widest field and the longest precision `format` takes.
pub const MAX_WIDTH: usize = 4096;

/// Why `templatefile` refused: told with the same words the checker uses.
pub enum TemplateProblem {
    Syntax(template::SyntaxError),
    Missing { name: String, line: usize },
    Unused(String),
}

/// `templatefile`'s text with every placeholder filled from `vars`; stops
/// past `limit` bytes, before allocating them (a line of a million
/// placeholders, each given 100KB, would ask for 100GB).
pub fn fill_template(text: &str, vars: &Map, limit: u64) -> Result<String, CallError> {
    let parts =
        template::parse(text).map_err(|e| CallError::Template(TemplateProblem::Syntax(e)))?;
    let given: Vec<&str> = vars.keys().map(String::as_str).collect();
    let (missing, unused) = template::mismatches(&parts, &given);
    if let Some((name, line)) = missing.first() {
        return Err(CallError::Template(TemplateProblem::Missing {
            name: name.to_string(),
            line: *line,
        }));
    }
    if let Some(name) = unused.first() {
        return Err(CallError::Template(TemplateProblem::Unused(
            name.to_string(),
        )));
    }
    let mut out = String::with_capacity(text.len());
    for part in &parts {
        match part {
            Part::Text(t) => out.push_str(t),
            Part::Var { name, line } => {
                let v = vars.get(name).unwrap_or(&Value::Null);
                match v.to_text() {
                    Some((t, _)) => {
                        if (out.len() + t.len()) as u64 > limit {
                            return Err(too_long(limit));
                        }
                        out.push_str(&t)
                    }
                    None => {
                        return Err(CallError::Argument(format!(
                            "`${{{name}}}` (line {line}) is {}, which cannot be put in text; use `jsonencode`, `join` or a field",
                            v.describe()
                        )));
                    }
                }
            }
        }
    }
    Ok(out)
}

thread_local! {
    /// Compiled patterns by their text: a pattern in a loop compiles once.
    static PATTERNS: RefCell<HashMap<String, Regex>> = RefCell::new(HashMap::new());
}

/// A compiled pattern, within the size and nesting limits. A secret
/// pattern's error names no part of it.
pub fn pattern(p: &str, secret: bool) -> Result<Regex, CallError> {
    if let Some(r) = PATTERNS.with(|c| c.borrow().get(p).cloned()) {
        return Ok(r);
    }
    let r = RegexBuilder::new(p)
        .size_limit(REGEX_SIZE)
        .dfa_size_limit(REGEX_SIZE)
        .nest_limit(REGEX_NESTING)
        .build()
        .map_err(|e| {
            let message = match (&e, secret) {
                (regex::Error::CompiledTooBig(_), _) => format!(
                    "the pattern compiles to more than {}; patterns are limited because stacks may be untrusted",
                    crate::units::format_size(REGEX_SIZE as i64)
                ),
                (_, true) => "the pattern is not a valid regular expression".to_string(),
                // The regex crate's message quotes the pattern with a caret under the fault.
                (_, false) => format!("the pattern is not a valid regular expression:\n{e}"),
            };
            CallError::Coded(ErrorCode::InvalidRegex, message)
        })?;
    PATTERNS.with(|c| {
        let mut cache = c.borrow_mut();
        if cache.len() >= 256 {
            cache.clear();
        }
        cache.insert(p.to_string(), r.clone());
    });
    Ok(r)
}

/// `regex(s, pattern)`: the first match and its groups, `[whole, group 1, …]`
/// (a group that took no part: `""`); `[]` when nothing matches.
pub fn first_match(s: &str, r: &Regex) -> Value {
    match r.captures(s) {
        Some(caps) => Value::list(
            caps.iter()
                .map(|g| Value::str(g.map_or("", |m| m.as_str())))
                .collect(),
        ),
        None => Value::list(Vec::new()),
    }
}

/// `regex_replace(s, pattern, replacement)`: every match replaced; `$1`,
/// `$name` and `${1}` in the replacement take groups. Stops past `limit` bytes.
pub fn replace_all(s: &str, r: &Regex, replacement: &str, limit: u64) -> Result<Value, CallError> {
    let mut out = String::new();
    let mut last = 0;
    for caps in r.captures_iter(s) {
        let Some(whole) = caps.get(0) else {
            continue;
        };
        out.push_str(&s[last..whole.start()]);
        caps.expand(replacement, &mut out);
        last = whole.end();
        if out.len() as u64 > limit {
            return Err(too_long(limit));
        }
    }
    out.push_str(&s[last..]);
    if out.len() as u64 > limit {
        return Err(too_long(limit));
    }
    Ok(Value::str(out))
}

fn too_long(limit: u64) -> CallError {
    CallError::Argument(format!(
        "the result would be longer than the string size limit ({limit} bytes; raise it with --max-string-size)"
    ))
}

/// `substr(s, offset, length)` in characters: a negative offset counts from
/// the end, a negative length takes the rest; what lies past the end is not there.
pub fn substr(s: &str, offset: i64, length: i64) -> String {
    let count = s.chars().count() as i64;
    let start = if offset < 0 {
        count.saturating_add(offset).max(0)
    } else {
        offset.min(count)
    };
    let take = if length < 0 {
        count - start
    } else {
        length.min(count - start)
    };
    s.chars().skip(start as usize).take(take as usize).collect()
}

/// One `%` directive: flags, width, precision and verb.
struct Directive {
    left: bool,
    zero: bool,
    width: usize,
    precision: Option<usize>,
    verb: char,
}

/// Reads a directive after its `%`.
fn directive(chars: &mut std::iter::Peekable<std::str::Chars<'_>>) -> Result<Directive, String> {
    let (mut left, mut zero) = (false, false);
    while let Some(&c) = chars.peek() {
        match c {
            '-' => left = true,
            '0' => zero = true,
            _ => break,
        }
        chars.next();
    }
    let number = |chars: &mut std::iter::Peekable<std::str::Chars<'_>>| -> Result<usize, String> {
        let mut n: usize = 0;
        while let Some(d) = chars.peek().and_then(|c| c.to_digit(10)) {
            n = n.saturating_mul(10).saturating_add(d as usize);
            chars.next();
        }
        if n > MAX_WIDTH {
            return Err(format!("a width or precision may be at most {MAX_WIDTH}"));
        }
        Ok(n)
    };
    let width = number(chars)?;
    let precision = if chars.peek() == Some(&'.') {
        chars.next();
        Some(number(chars)?)
    } else {
        None
    };
    let verb = chars.next().ok_or("format string ends with `%`")?;
    Ok(Directive {
        left,
        zero,
        width,
        precision,
        verb,
    })
}

/// How many bytes the widths of a format string may add: what `format`
/// builds beyond its arguments.
pub fn format_padding(f: &str) -> u64 {
    let mut chars = f.chars().peekable();
    let mut total = 0u64;
    while let Some(c) = chars.next() {
        if c == '%'
            && let Ok(d) = directive(&mut chars)
        {
            total += (d.width + d.precision.unwrap_or(0)) as u64;
        }
    }
    total
}

/// `%s` (any scalar), `%d` (int), `%f` (number), `%v` (any value), `%%`;
/// each with flags `-` (left-align) and `0` (zero-pad numbers), a width,
/// and a precision (`%.2f` digits, `%.3s` characters).
pub fn format(f: &str, args: &[Value]) -> Result<String, String> {
    let mut out = String::new();
    let mut next = args.iter();
    let mut chars = f.chars().peekable();
    while let Some(c) = chars.next() {
        if c != '%' {
            out.push(c);
            continue;
        }
        if chars.peek() == Some(&'%') {
            chars.next();
            out.push('%');
            continue;
        }
        let d = directive(&mut chars)?;
        let verb = d.verb;
        let arg = next
            .next()
            .ok_or_else(|| format!("not enough arguments for `%{verb}`"))?;
        let text = match (verb, arg) {
            ('d', Value::Int(i)) if d.precision.is_none() => i.to_string(),
            ('d', Value::Int(_)) => return Err("`%d` takes no precision".into()),
            ('f', Value::Int(_) | Value::Float(_)) => {
                let x = match arg {
                    Value::Int(i) => *i as f64,
                    Value::Float(x) => *x,
                    _ => 0.0,
                };
                match d.precision {
                    Some(p) => format!("{x:.p$}"),
                    None => format_float(x),
                }
            }
            ('s' | 'v', v) => {
                let t = match v.to_text() {
                    Some((t, _)) => t.to_string(),
                    None if verb == 'v' => Show(v).to_string(),
                    None => return Err(format!("`%s` cannot show {}", v.describe())),
                };
                match d.precision {
                    Some(p) => t.chars().take(p).collect(),
                    None => t,
                }
            }
            ('d' | 'f', v) => {
                return Err(format!(
                    "`%{verb}` expects a number, found {}",
                    v.describe()
                ));
            }
            (other, _) => return Err(format!("unknown format verb `%{other}`")),
        };
        pad(&mut out, &text, &d);
    }
    if next.next().is_some() {
        return Err("more arguments than `%` verbs".into());
    }
    Ok(out)
}

/// `text` in a field of the directive's width: right-aligned with spaces,
/// or left-aligned (`-`), or zero-padded after any sign (`0`, numbers only).
fn pad(out: &mut String, text: &str, d: &Directive) {
    let fill = d.width.saturating_sub(text.chars().count());
    if d.left {
        out.push_str(text);
        out.extend(std::iter::repeat_n(' ', fill));
    } else if d.zero && matches!(d.verb, 'd' | 'f') {
        let (sign, digits) = match text.strip_prefix('-') {
            Some(rest) => ("-", rest),
            None => ("", text),
        };
        out.push_str(sign);
        out.extend(std::iter::repeat_n('0', fill));
        out.push_str(digits);
    } else {
        out.extend(std::iter::repeat_n(' ', fill));
        out.push_str(text);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn widths_and_precisions() {
        let f = |spec: &str, v: Value| format(spec, &[v]).unwrap_or_else(|e| e);
        assert_eq!(f("[%5d]", Value::Int(42)), "[   42]");
        assert_eq!(f("[%-5d]", Value::Int(42)), "[42   ]");
        assert_eq!(f("[%05d]", Value::Int(-42)), "[-0042]");
        assert_eq!(f("[%.2f]", Value::Float(1.23456)), "[1.23]");
        assert_eq!(f("[%8.3f]", Value::Int(2)), "[   2.000]");
        assert_eq!(f("[%-10s]", Value::str("api")), "[api       ]");
        assert_eq!(f("[%.2s]", Value::str("héllo")), "[hé]");
        assert_eq!(f("%.1d", Value::Int(1)), "`%d` takes no precision");
        assert!(f("%99999d", Value::Int(1)).contains("at most"));
        assert_eq!(format_padding("%5d %-10s %.2f %%"), 17);
    }

    #[test]
    fn substrings_count_characters() {
        assert_eq!(substr("héllo", 1, 3), "éll");
        assert_eq!(substr("hello", -3, -1), "llo");
        assert_eq!(substr("hello", 3, 10), "lo");
        assert_eq!(substr("hello", 9, 1), "");
        assert_eq!(substr("hello", -9, 2), "he");
        assert_eq!(substr("hello", i64::MIN, i64::MAX), "hello");
        assert_eq!(substr("hello", i64::MAX, i64::MIN), "");
    }

    #[test]
    fn patterns_are_bounded() {
        assert!(pattern("(a{1000}){1000}", false).is_err());
        assert!(pattern(&"(".repeat(100), false).is_err());
        let r = pattern(r"(\w+)@(\w+)?", false).unwrap_or_else(|_| unreachable!());
        assert!(first_match("mail: me@", &r).equals(&Value::list(vec![
            Value::str("me@"),
            Value::str("me"),
            Value::str("")
        ])));
        let Ok(Value::Str(s)) = replace_all("a-b", &r, "<$1>", 100) else {
            unreachable!()
        };
        assert_eq!(&*s.text, "a-b");
        assert!(
            replace_all(
                "aaaa",
                &pattern("", false).unwrap_or_else(|_| unreachable!()),
                "xxxx",
                10
            )
            .is_err()
        );
    }
}
