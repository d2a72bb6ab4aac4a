//! Docker Compose habits that end in a syntax error, recognised where the
//! parser stopped: YAML needs no quotes around `80:80` or `./data:/data`,
//! Docker writes sizes `1g`, and Compose strings interpolate the
//! environment with `${VAR:-default}`.

/// The help for a syntax error at byte `at` of `text`, when what is there
/// is a Compose habit.
pub(super) fn hint(text: &str, at: usize) -> Option<String> {
    interpolation_default(text, at)
        .or_else(|| single_quoted(text, at))
        .or_else(|| yaml_key(text, at))
        .or_else(|| unquoted(text, at))
}

/// `'--x'`: YAML's single quotes.
fn single_quoted(text: &str, at: usize) -> Option<String> {
    let rest = text.get(floor(text, at)..)?.strip_prefix('\'')?;
    let line = rest.lines().next().unwrap_or("");
    let inside = &line[..line.find('\'')?];
    Some(format!(
        "text is written in double quotes: `\"{}\"`",
        inside.replace('"', "\\\"")
    ))
}

/// `environment:` at the start of a field: YAML's `key: value`.
fn yaml_key(text: &str, at: usize) -> Option<String> {
    let rest = text.get(floor(text, at)..)?;
    let end = rest.find(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == '-'))?;
    let (key, after) = rest.split_at(end);
    let valid = key.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_');
    let colon = after.strip_prefix(':')?;
    (valid && colon.starts_with([' ', '\t', '\n', '\r']))
        .then(|| format!("a field is written `{key} = value`; `{key}:` is YAML"))
}

/// Characters that end a bare word: what Compose's YAML would have quoted
/// for us is the text between them.
fn delimiter(c: char) -> bool {
    c.is_whitespace() || matches!(c, ',' | '[' | ']' | '(' | ')' | '{' | '}' | '"' | '=' | '#')
}

/// `80:80`, `./data:/data` or `1g` written without quotes.
fn unquoted(text: &str, at: usize) -> Option<String> {
    let at = floor(text, at);
    let start = text[..at]
        .char_indices()
        .rev()
        .find(|&(_, c)| delimiter(c))
        .map_or(0, |(i, c)| i + c.len_utf8());
    let end = text[at..].find(delimiter).map_or(text.len(), |i| at + i);
    let word = text.get(start..end)?;
    if let Some(size) = crate::units::docker_size(word) {
        return Some(format!(
            "`{word}` is Docker's spelling of a size; stackc writes `{size}`"
        ));
    }
    let (first, after) = word.split_once(':')?;
    let port_like = |s: &str| {
        !s.is_empty()
            && s.chars()
                .all(|c| c.is_ascii_digit() || c == '.' || c == '-')
    };
    if port_like(first) {
        return Some(format!(
            "a port mapping is a string, as in Compose's YAML: `\"{word}\"`"
        ));
    }
    if first.starts_with(['.', '/', '~']) || after.starts_with('/') {
        return Some(format!(
            "a mount is a string, as in Compose's YAML: `\"{word}\"`"
        ));
    }
    None
}

/// `"${DB_URL:-postgres://db}"`: the parser stops at the `:` after the name.
fn interpolation_default(text: &str, at: usize) -> Option<String> {
    let at = floor(text, at);
    let before = &text[..at];
    let open = before.rfind("${")?;
    let name = &before[open + 2..];
    let identifier = name
        .chars()
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
    if !identifier {
        return None;
    }
    let rest = &text[at..];
    let operator = [":-", ":?", ":+", "?"]
        .into_iter()
        .find(|op| rest.starts_with(op))?;
    let close = rest
        .find(['}', '\n'])
        .filter(|&i| rest[i..].starts_with('}'))?;
    let word = &rest[operator.len()..close];
    let param = name.to_ascii_lowercase();
    let from = format!(
        "`${{{name}{operator}…}}` takes a value from the environment in Compose; a stack takes it from a parameter"
    );
    Some(match operator {
        ":-" => format!(
            "{from}: declare `param {param}: string = \"{word}\"` and write `${{{param}}}` \
             (set it with `--var {param}=…` or `STACKC_VAR_{param}`)"
        ),
        ":+" => format!(
            "{from}: declare `param {param}: bool = false` and write \
             `${{if {param} then \"{word}\" else \"\"}}`"
        ),
        _ => format!(
            "{from}: declare `param {param}: string` with no default (compiling without it is an \
             error) and write `${{{param}}}`"
        ),
    })
}

/// `at`, moved back to a character boundary.
fn floor(text: &str, at: usize) -> usize {
    let mut at = at.min(text.len());
    while !text.is_char_boundary(at) {
        at -= 1;
    }
    at
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The hint for a syntax error at the first `^` of `marked` (removed).
    fn at(marked: &str) -> Option<String> {
        let at = marked.find('^').expect("a marked position");
        let text = marked.replacen('^', "", 1);
        hint(&text, at)
    }

    #[test]
    fn unquoted_compose_values_are_recognised() {
        let h = at("ports = [80^:80, 443]").unwrap();
        assert!(h.contains("`\"80:80\"`"), "{h}");
        let h = at("ports = [127.0^.0.1:8080:80/udp]").unwrap();
        assert!(h.contains("`\"127.0.0.1:8080:80/udp\"`"), "{h}");
        let h = at("mounts = [^./data:/data:ro]").unwrap();
        assert!(h.contains("a mount is a string"), "{h}");
        let h = at("memory = ^1g\n").unwrap();
        assert!(h.contains("stackc writes `1GiB`"), "{h}");
        let h = at("mounts = [data^:/data]").unwrap();
        assert!(h.contains("`\"data:/data\"`"), "{h}");
        assert_eq!(at("x = [a^ b]"), None);
        assert_eq!(at("é^"), None);
    }

    #[test]
    fn compose_interpolation_suggests_a_param() {
        let h = at("url = \"${DB_URL^:-postgres://db}\"").unwrap();
        assert!(
            h.contains("`param db_url: string = \"postgres://db\"`") && h.contains("`${db_url}`"),
            "{h}"
        );
        let h = at("url = \"${TOKEN^:?required}\"").unwrap();
        assert!(h.contains("`param token: string` with no default"), "{h}");
        assert_eq!(at("url = \"${a^ b}\""), None);
    }
}
