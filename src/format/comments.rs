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
