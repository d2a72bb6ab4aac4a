//! `# stackc: allow W0003, W0009`: a comment silencing lint codes for one
//! field or resource. It counts at the end of the line where the field or
//! resource starts, or in the block of comment lines right above that line.

/// The marker after `#`.
const MARKER: &str = "stackc: allow";

/// Does a comment at `offset`'s line, or just above it, allow `code`?
pub fn allows(text: &str, offset: usize, code: &str) -> bool {
    let offset = offset.min(text.len());
    let Some(before) = text.get(..offset) else {
        return false;
    };
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    let line_end = text[offset..].find('\n').map_or(text.len(), |i| offset + i);
    // The rest of the line itself: `image = "x" # stackc: allow W0003`.
    if comment_allows(&text[offset..line_end], code) {
        return true;
    }
    // The comment lines directly above.
    let above = &text[..line_start];
    for line in above.lines().rev() {
        let line = line.trim();
        if !line.starts_with('#') {
            break;
        }
        if comment_allows(line, code) {
            return true;
        }
    }
    false
}

/// Does this text hold a `# stackc: allow …` comment naming `code`?
fn comment_allows(text: &str, code: &str) -> bool {
    // Any `#` may start it: one inside a string before it is no comment.
    text.match_indices('#').any(|(hash, _)| {
        let comment = text[hash + 1..].trim_start();
        comment.strip_prefix(MARKER).is_some_and(|codes| {
            codes
                .split(|c: char| c == ',' || c.is_whitespace())
                .take_while(|w| w.is_empty() || is_code(w))
                .any(|w| w.eq_ignore_ascii_case(code))
        })
    })
}

fn is_code(word: &str) -> bool {
    word.len() == 5 && word.starts_with(['W', 'w']) && word[1..].bytes().all(|b| b.is_ascii_digit())
}

#[cfg(test)]
mod tests {
    use super::allows;

    #[test]
    fn a_comment_above_or_at_the_end_allows_its_codes() {
        let text = "# why\n# stackc: allow W0001, W0003\ncontainer \"a\" {\n  image = \"x\" # stackc: allow W0009\n}\n";
        let decl = text.find("container").unwrap();
        assert!(allows(text, decl, "W0001"));
        assert!(allows(text, decl, "W0003"));
        assert!(!allows(text, decl, "W0002"));
        let field = text.find("\"x\"").unwrap();
        assert!(allows(text, field, "W0009"));
        assert!(!allows(text, field, "W0001"));
    }

    #[test]
    fn a_blank_line_ends_the_comment_block() {
        let text = "# stackc: allow W0001\n\ncontainer \"a\" {}\n";
        assert!(!allows(text, text.find("container").unwrap(), "W0001"));
    }

    #[test]
    fn words_after_the_codes_are_a_reason() {
        let text = "# stackc: allow W0004 the agent needs the host's network\nx\n";
        assert!(allows(text, text.len() - 2, "W0004"));
        let text = "# stackc: allow because W0004\nx\n";
        assert!(!allows(text, text.len() - 2, "W0004"));
    }
}
