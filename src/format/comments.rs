//! The comment side table: the grammar drops comments (`COMMENT` is silent),
//! so they are found again in the text, outside every string literal.

use pest::iterators::Pair;

use crate::syntax::Rule;

/// One `# …` comment: its byte range, and its text without trailing blanks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Comment {
    pub start: usize,
    pub end: usize,
    pub text: String,
}

/// Every comment of `text`, in order. `root` is the file's parse tree: a `#`
/// inside a string literal (or its interpolations) is text, not a comment.
pub(crate) fn collect(text: &str, root: &Pair<'_, Rule>) -> Vec<Comment> {
    scan(text, root).0
}

/// The blanks between tokens: every run of whitespace outside strings and comments.
pub(crate) fn gaps(text: &str, root: &Pair<'_, Rule>) -> Vec<(usize, usize)> {
    scan(text, root).1
}

fn scan(text: &str, root: &Pair<'_, Rule>) -> (Vec<Comment>, Vec<(usize, usize)>) {
    let mut gaps: Vec<(usize, usize)> = Vec::new();
    let mut strings = Vec::new();
    string_spans(root, &mut strings);
    strings.sort_unstable();
    let bytes = text.as_bytes();
    let mut comments = Vec::new();
    let mut next_string = 0;
    let mut i = 0;
    while i < bytes.len() {
        while next_string < strings.len() && strings[next_string].1 <= i {
            next_string += 1;
        }
        if let Some(&(start, end)) = strings.get(next_string)
            && start <= i
        {
            i = end;
            continue;
        }
        if bytes[i].is_ascii_whitespace() {
            match gaps.last_mut() {
                Some(gap) if gap.1 == i => gap.1 = i + 1,
                _ => gaps.push((i, i + 1)),
            }
            i += 1;
        } else if bytes[i] == b'#' {
            let end = text[i..].find('\n').map_or(text.len(), |n| i + n);
            comments.push(Comment {
                start: i,
                end,
                text: text[i..end].trim_end().to_string(),
            });
            i = end;
        } else {
            i += 1;
        }
    }
    (comments, gaps)
}

fn string_spans(pair: &Pair<'_, Rule>, out: &mut Vec<(usize, usize)>) {
    if matches!(pair.as_rule(), Rule::string | Rule::mstring) {
        out.push((pair.as_span().start(), pair.as_span().end()));
        return;
    }
    for inner in pair.clone().into_inner() {
        string_spans(&inner, out);
    }
}

/// Lines up the end-of-line comments of consecutive lines at the same indent,
/// two spaces after the longest code among them. `at` holds where each comment
/// (with its two leading spaces) starts in `out`, in order.
pub(crate) fn align_trailing(out: &str, at: &[usize]) -> String {
    // Each line: its code, and its comment when it has one.
    let mut lines: Vec<(&str, Option<&str>)> = Vec::new();
    let mut next = at.iter().peekable();
    let mut start = 0;
    for line in out.split_inclusive('\n') {
        let end = start + line.len();
        let line = line.strip_suffix('\n').unwrap_or(line);
        match next.peek() {
            Some(&&c) if c >= start && c < end => {
                next.next();
                lines.push((
                    &out[start..c],
                    Some(out[c..start + line.len()].trim_start()),
                ));
            }
            _ => lines.push((line, None)),
        }
        start = end;
    }
    let indent = |s: &str| s.len() - s.trim_start().len();
    let mut result = String::with_capacity(out.len());
    let mut i = 0;
    while i < lines.len() {
        let mut j = i + 1;
        if lines[i].1.is_some() {
            while j < lines.len()
                && lines[j].1.is_some()
                && indent(lines[j].0) == indent(lines[i].0)
            {
                j += 1;
            }
        }
        let width = lines[i..j]
            .iter()
            .map(|(code, _)| code.chars().count())
            .max()
            .unwrap_or(0);
        for (code, comment) in &lines[i..j] {
            result.push_str(code);
            if let Some(comment) = comment {
                result.push_str(&" ".repeat(width - code.chars().count() + 2));
                result.push_str(comment);
            }
            result.push('\n');
        }
        i = j;
    }
    if !out.ends_with('\n') {
        result.pop();
    }
    result
}
