//! Compose's variable references in values: `$VAR`, `${VAR}`,
//! `${VAR:-default}`, `${VAR-default}`, `${VAR:?error}`, `${VAR?error}`,
//! `${VAR:+alternative}`, and `$$` for a dollar sign.

#[derive(Debug, Clone, PartialEq)]
pub enum Piece {
    Lit(String),
    Var(Var),
}

#[derive(Debug, Clone, PartialEq)]
pub struct Var {
    pub name: String,
    /// `${VAR:-x}` or `${VAR-x}`.
    pub default: Option<String>,
    /// `${VAR:?message}`: the message (possibly empty).
    pub required: Option<String>,
    /// `${VAR:+x}`: not something a parameter says.
    pub alternative: Option<String>,
}

/// The pieces of a value; an error for a reference left open or misspelled.
pub fn pieces(text: &str) -> Result<Vec<Piece>, String> {
    let mut out: Vec<Piece> = Vec::new();
    let mut lit = String::new();
    let chars: Vec<char> = text.chars().collect();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c != '$' {
            lit.push(c);
            i += 1;
            continue;
        }
        match chars.get(i + 1) {
            Some('$') => {
                lit.push('$');
                i += 2;
            }
            Some('{') => {
                let start = i + 2;
                let mut depth = 1;
                let mut j = start;
                while j < chars.len() {
                    match chars[j] {
                        '{' => depth += 1,
                        '}' => {
                            depth -= 1;
                            if depth == 0 {
                                break;
                            }
                        }
                        _ => {}
                    }
                    j += 1;
                }
                if j >= chars.len() {
                    return Err(format!("`${{` without its `}}` in `{text}`"));
                }
                let inner: String = chars[start..j].iter().collect();
                flush(&mut out, &mut lit);
                out.push(Piece::Var(braced(&inner)?));
                i = j + 1;
            }
            Some(c2) if c2.is_ascii_alphabetic() || *c2 == '_' => {
                let mut j = i + 1;
                while j < chars.len() && (chars[j].is_ascii_alphanumeric() || chars[j] == '_') {
                    j += 1;
                }
                flush(&mut out, &mut lit);
                out.push(Piece::Var(Var {
                    name: chars[i + 1..j].iter().collect(),
                    default: None,
                    required: None,
                    alternative: None,
                }));
                i = j;
            }
            _ => {
                // A lone `$` stays, as Compose leaves it.
                lit.push('$');
                i += 1;
            }
        }
    }
    flush(&mut out, &mut lit);
    Ok(out)
}

fn flush(out: &mut Vec<Piece>, lit: &mut String) {
    if !lit.is_empty() {
        out.push(Piece::Lit(std::mem::take(lit)));
    }
}

fn braced(inner: &str) -> Result<Var, String> {
    let end = inner
        .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
        .unwrap_or(inner.len());
    let (name, rest) = inner.split_at(end);
    if name.is_empty() || name.starts_with(|c: char| c.is_ascii_digit()) {
        return Err(format!("`${{{inner}}}` does not name a variable"));
    }
    let mut var = Var {
        name: name.to_string(),
        default: None,
        required: None,
        alternative: None,
    };
    let ops = [":-", ":?", ":+", "-", "?", "+"];
    if rest.is_empty() {
        return Ok(var);
    }
    let Some(op) = ops.iter().find(|op| rest.starts_with(**op)) else {
        return Err(format!("`${{{inner}}}` is not a variable reference"));
    };
    let value = rest[op.len()..].to_string();
    match op.trim_start_matches(':') {
        "-" => var.default = Some(value),
        "?" => var.required = Some(value),
        _ => var.alternative = Some(value),
    }
    Ok(var)
}

/// The value as `docker compose config` reads it with no variable set:
/// defaults taken, required ones and alternatives empty.
pub fn with_defaults(pieces: &[Piece]) -> String {
    pieces
        .iter()
        .map(|p| match p {
            Piece::Lit(s) => s.clone(),
            Piece::Var(v) => v.default.clone().unwrap_or_default(),
        })
        .collect()
}

pub fn has_vars(pieces: &[Piece]) -> bool {
    pieces.iter().any(|p| matches!(p, Piece::Var(_)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_every_form() {
        let p = pieces("a$$b ${X:-80}:$Y ${Z:?set Z} ${W-1}").unwrap();
        assert_eq!(p[0], Piece::Lit("a$b ".into()));
        let Piece::Var(x) = &p[1] else { panic!() };
        assert_eq!((x.name.as_str(), x.default.as_deref()), ("X", Some("80")));
        let Piece::Var(z) = &p[5] else { panic!() };
        assert_eq!(z.required.as_deref(), Some("set Z"));
        assert_eq!(with_defaults(&p), "a$b 80:  1");
        assert!(pieces("${X").is_err());
        assert!(pieces("${1X}").is_err());
        assert_eq!(
            pieces("cost $5").unwrap(),
            vec![Piece::Lit("cost $5".into())]
        );
    }
}
