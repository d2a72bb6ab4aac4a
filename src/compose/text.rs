//! `.stack` text for the import: expressions, fields and resource blocks,
//! laid out as the hand-written examples are (fields aligned on `=`, a value
//! on one line when it fits in 100 columns, else one element per line).

const WIDTH: usize = 100;

const KEYWORDS: &[&str] = &[
    "stack", "param", "let", "import", "fn", "output", "assert", "for", "in", "if", "then", "else",
    "true", "false", "null", "as",
];

#[derive(Debug, Clone, PartialEq)]
pub enum Expr {
    /// A string literal, with parameters interpolated.
    Text(Vec<Part>),
    /// Written as it is: `80`, `true`, `10s`, `container.db`, `dotenv(".env")`.
    Raw(String),
    List(Vec<Expr>),
    Record(Vec<Field>),
}

#[derive(Debug, Clone, PartialEq)]
pub enum Part {
    Lit(String),
    /// A parameter or `let`, by name.
    Ref(String),
}

#[derive(Debug, Clone, PartialEq)]
pub struct Field {
    pub key: String,
    pub value: Expr,
    /// Lines written above the field, without `# `.
    pub comments: Vec<String>,
}

impl Field {
    pub fn new(key: &str, value: Expr) -> Field {
        Field {
            key: key.to_string(),
            value,
            comments: Vec::new(),
        }
    }

    pub fn commented(mut self, comment: impl Into<String>) -> Field {
        self.comments.push(comment.into());
        self
    }
}

impl Expr {
    pub fn lit(s: &str) -> Expr {
        Expr::Text(vec![Part::Lit(s.to_string())])
    }

    pub fn raw(s: impl Into<String>) -> Expr {
        Expr::Raw(s.into())
    }

    /// The literal text when there is no interpolation.
    pub fn as_lit(&self) -> Option<String> {
        match self {
            Expr::Text(parts) => parts
                .iter()
                .map(|p| match p {
                    Part::Lit(s) => Some(s.as_str()),
                    Part::Ref(_) => None,
                })
                .collect::<Option<Vec<_>>>()
                .map(|v| v.concat()),
            _ => None,
        }
    }

    fn has_comments(&self) -> bool {
        match self {
            Expr::List(items) => items.iter().any(Expr::has_comments),
            Expr::Record(fields) => fields
                .iter()
                .any(|f| !f.comments.is_empty() || f.value.has_comments()),
            _ => false,
        }
    }

    /// On one line.
    pub fn inline(&self) -> String {
        match self {
            Expr::Text(parts) => text(parts),
            Expr::Raw(s) => s.clone(),
            Expr::List(items) => {
                let items: Vec<String> = items.iter().map(Expr::inline).collect();
                format!("[{}]", items.join(", "))
            }
            Expr::Record(fields) if fields.is_empty() => "{}".into(),
            Expr::Record(fields) => {
                let fields: Vec<String> = fields
                    .iter()
                    .map(|f| format!("{} = {}", key(&f.key), f.value.inline()))
                    .collect();
                format!("{{ {} }}", fields.join(", "))
            }
        }
    }

    /// Written at `indent`, the first line after `used` columns.
    pub fn render(&self, indent: usize, used: usize) -> String {
        let one = self.inline();
        if !self.has_comments() && used + one.chars().count() <= WIDTH {
            return one;
        }
        let pad = " ".repeat(indent + 2);
        match self {
            Expr::List(items) if !items.is_empty() => {
                let mut out = String::from("[\n");
                for item in items {
                    out.push_str(&pad);
                    out.push_str(&item.render(indent + 2, indent + 2));
                    out.push_str(",\n");
                }
                out.push_str(&" ".repeat(indent));
                out.push(']');
                out
            }
            Expr::Record(fields) if !fields.is_empty() => {
                let mut out = String::from("{\n");
                out.push_str(&fields_text(fields, indent + 2));
                out.push_str(&" ".repeat(indent));
                out.push('}');
                out
            }
            _ => one,
        }
    }
}

/// Fields one per line at `indent`, aligned on `=`.
pub fn fields_text(fields: &[Field], indent: usize) -> String {
    let pad = " ".repeat(indent);
    let width = fields
        .iter()
        .map(|f| key(&f.key).chars().count())
        .max()
        .unwrap_or(0);
    let mut out = String::new();
    for f in fields {
        for c in &f.comments {
            out.push_str(&format!("{pad}# {c}\n"));
        }
        let k = key(&f.key);
        let head = format!("{pad}{k:<width$} = ");
        let used = head.chars().count();
        out.push_str(&head);
        out.push_str(&f.value.render(indent, used));
        out.push('\n');
    }
    out
}

/// `KIND "name" { … }`, with comments above it.
pub fn block(kind: &str, name: &str, fields: &[Field], comments: &[String]) -> String {
    let mut out = String::new();
    for c in comments {
        out.push_str(&format!("# {c}\n"));
    }
    let head = format!("{kind} {} {{", quote(name));
    if fields.is_empty() {
        out.push_str(&head);
        out.push_str("}\n");
        return out;
    }
    // A single short field stays on the line, as `image "x" { build = "./x" }`.
    if let [f] = fields
        && f.comments.is_empty()
    {
        let one = format!("{head} {} = {} }}", key(&f.key), f.value.inline());
        if one.chars().count() <= WIDTH && !f.value.has_comments() {
            out.push_str(&one);
            out.push('\n');
            return out;
        }
    }
    out.push_str(&head);
    out.push('\n');
    out.push_str(&fields_text(fields, 2));
    out.push_str("}\n");
    out
}

pub fn is_ident(s: &str) -> bool {
    let mut chars = s.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
        && !KEYWORDS.contains(&s)
}

/// A record key: a name, or a quoted string.
pub fn key(s: &str) -> String {
    if is_ident(s) { s.to_string() } else { quote(s) }
}

/// `kind.name`, or `kind["name"]` for a name a member cannot spell.
pub fn reference(kind: &str, name: &str) -> String {
    let member = !name.is_empty()
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
    if member {
        format!("{kind}.{name}")
    } else {
        format!("{kind}[{}]", quote(name))
    }
}

pub fn quote(s: &str) -> String {
    text(&[Part::Lit(s.to_string())])
}

fn text(parts: &[Part]) -> String {
    if let [Part::Ref(name)] = parts {
        return name.clone();
    }
    let mut out = String::from("\"");
    for p in parts {
        match p {
            Part::Ref(name) => out.push_str(&format!("${{{name}}}")),
            Part::Lit(s) => {
                let mut chars = s.chars().peekable();
                while let Some(c) = chars.next() {
                    match c {
                        '"' => out.push_str("\\\""),
                        '\\' => out.push_str("\\\\"),
                        '\n' => out.push_str("\\n"),
                        '\t' => out.push_str("\\t"),
                        '$' if chars.peek() == Some(&'{') => out.push_str("\\$"),
                        c => out.push(c),
                    }
                }
            }
        }
    }
    out.push('"');
    out
}

/// A name usable as a parameter or `let`: `PIHOLE_PW` → `pihole_pw`.
pub fn ident_from(s: &str) -> String {
    let mut out: String = s
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_lowercase()
            } else {
                '_'
            }
        })
        .collect();
    if out.is_empty() || out.starts_with(|c: char| c.is_ascii_digit()) {
        out.insert(0, '_');
    }
    if KEYWORDS.contains(&out.as_str()) {
        out.push('_');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strings_escape_what_the_language_reads() {
        let e = Expr::Text(vec![
            Part::Lit("a \"b\" ${c} $d\n".into()),
            Part::Ref("port".into()),
        ]);
        assert_eq!(e.inline(), r#""a \"b\" \${c} $d\n${port}""#);
        assert_eq!(Expr::Text(vec![Part::Ref("tz".into())]).inline(), "tz");
    }

    #[test]
    fn long_values_break_and_fields_align() {
        let items: Vec<Expr> = (0..8)
            .map(|i| Expr::lit(&format!("/some/long/path/{i}:/x/{i}")))
            .collect();
        let fields = vec![
            Field::new("image", Expr::lit("nginx")),
            Field::new("mounts", Expr::List(items)),
        ];
        let text = block("container", "web", &fields, &[]);
        assert!(
            text.contains("  image  = \"nginx\"\n  mounts = [\n    \"/some/long/path/0:/x/0\",\n"),
            "{text}"
        );
        assert_eq!(key("max-size"), "\"max-size\"");
        assert_eq!(reference("container", "my.app"), "container[\"my.app\"]");
        assert_eq!(ident_from("PIHOLE_PW"), "pihole_pw");
    }
}
