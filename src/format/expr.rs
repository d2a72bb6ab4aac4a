//! Expressions and types: written on one line where they fit (and hold no
//! comment), otherwise lists, records and calls break one element per line.

use pest::iterators::Pair;

use super::printer::{Printer, Seq};
use crate::syntax::Rule;

const LIST: Seq = Seq {
    comma: true,
    align: false,
};
/// A record broken over lines reads like a resource body: no commas.
const RECORD: Seq = Seq {
    comma: false,
    align: true,
};

/// A record type broken over lines: no commas either, and `:` is not aligned.
const TYPE_RECORD: Seq = Seq {
    comma: false,
    align: false,
};

impl Printer<'_> {
    /// Writes an expression or type at the current column.
    pub fn render(&mut self, pair: &Pair<'_, Rule>, indent: usize) {
        if !self.has_comments(pair) {
            let flat = self.flat(pair);
            if self.fits(&flat) {
                self.push(&flat);
                return;
            }
        }
        let parts: Vec<_> = pair.clone().into_inner().collect();
        match pair.as_rule() {
            Rule::expr
            | Rule::postfix_expr
            | Rule::primary
            | Rule::type_union
            | Rule::type_expr => {
                for (i, part) in parts.iter().enumerate() {
                    self.joined(pair.as_rule(), part, i, indent);
                }
            }
            Rule::list => self.bracketed(pair, &parts, "[", "]", indent, LIST),
            Rule::call => self.bracketed(pair, &parts, "(", ")", indent, LIST),
            Rule::record => self.bracketed(pair, &parts, "{", "}", indent, RECORD),
            Rule::type_record => self.bracketed(pair, &parts, "{", "}", indent, TYPE_RECORD),
            Rule::index => {
                self.push("[");
                for part in &parts {
                    self.render(part, indent);
                }
                self.push("]");
            }
            Rule::spread => {
                self.push("...");
                for part in &parts {
                    self.render(part, indent);
                }
            }
            Rule::field => self.field(pair, indent, 0),
            Rule::if_expr => {
                if let [cond, then, other] = parts.as_slice() {
                    self.push("if ");
                    self.render(cond, indent);
                    self.push(" then ");
                    self.render(then, indent);
                    self.push(" else ");
                    self.render(other, indent);
                }
            }
            // Comprehensions, literals and names stay on one line.
            _ => {
                let flat = self.flat(pair);
                self.push(&flat);
            }
        }
    }

    /// One part of an operator chain, a postfix chain, a primary or a type union.
    fn joined(&mut self, parent: Rule, part: &Pair<'_, Rule>, i: usize, indent: usize) {
        match (parent, part.as_rule()) {
            (Rule::expr, Rule::neg | Rule::not) => self.push(part.as_str()),
            (Rule::expr, Rule::postfix_expr) => self.render(part, indent),
            (Rule::expr, _) => {
                self.push(" ");
                self.push(part.as_str());
                self.push(" ");
            }
            (Rule::primary | Rule::type_union, Rule::expr | Rule::type_expr) => {
                if parent == Rule::type_union && i > 0 {
                    self.push(" | ");
                }
                self.push("(");
                self.render(part, indent);
                self.push(")");
            }
            (Rule::type_union, _) => {
                if i > 0 {
                    self.push(" | ");
                }
                self.render(part, indent);
            }
            (Rule::type_expr, Rule::type_opt) => self.push("?"),
            (Rule::postfix_expr, Rule::member | Rule::opt_member) => self.push(part.as_str()),
            _ => self.render(part, indent),
        }
    }

    fn bracketed(
        &mut self,
        pair: &Pair<'_, Rule>,
        parts: &[Pair<'_, Rule>],
        open: &str,
        close: &str,
        indent: usize,
        how: Seq,
    ) {
        let span = pair.as_span();
        self.push(open);
        self.seq(parts, span.start() + 1, span.end(), indent + 2, how);
        self.push("\n");
        self.push(&" ".repeat(indent));
        self.push(close);
    }

    /// `{ a = 1, ...b }`, or `{}`.
    pub fn flat_record(&self, pair: &Pair<'_, Rule>) -> String {
        let parts: Vec<_> = pair.clone().into_inner().map(|p| self.flat(&p)).collect();
        if parts.is_empty() {
            "{}".to_string()
        } else {
            format!("{{ {} }}", parts.join(", "))
        }
    }

    /// The one-line form of an expression, type or part of one.
    pub fn flat(&self, pair: &Pair<'_, Rule>) -> String {
        let parts: Vec<_> = pair.clone().into_inner().collect();
        let each = |sep: &str| {
            parts
                .iter()
                .map(|p| self.flat(p))
                .collect::<Vec<_>>()
                .join(sep)
        };
        match pair.as_rule() {
            Rule::expr => {
                let mut out = String::new();
                for part in &parts {
                    match part.as_rule() {
                        Rule::neg | Rule::not => out.push_str(part.as_str()),
                        Rule::postfix_expr => out.push_str(&self.flat(part)),
                        _ => {
                            out.push(' ');
                            out.push_str(part.as_str());
                            out.push(' ');
                        }
                    }
                }
                out
            }
            Rule::postfix_expr | Rule::type_expr => each(""),
            Rule::primary => match parts.as_slice() {
                [inner] if inner.as_rule() == Rule::expr => format!("({})", self.flat(inner)),
                _ => each(""),
            },
            Rule::type_union => parts
                .iter()
                .map(|p| match p.as_rule() {
                    Rule::type_expr => format!("({})", self.flat(p)),
                    _ => self.flat(p),
                })
                .collect::<Vec<_>>()
                .join(" | "),
            Rule::list => format!("[{}]", each(", ")),
            Rule::call => format!("({})", each(", ")),
            Rule::index => format!("[{}]", each("")),
            Rule::record | Rule::body | Rule::type_record => self.flat_record(pair),
            Rule::field => match parts.as_slice() {
                [key, value] => format!("{} = {}", key.as_str(), self.flat(value)),
                _ => pair.as_str().to_string(),
            },
            Rule::spread => format!("...{}", each("")),
            Rule::if_expr => match parts.as_slice() {
                [c, a, b] => format!(
                    "if {} then {} else {}",
                    self.flat(c),
                    self.flat(a),
                    self.flat(b)
                ),
                _ => pair.as_str().to_string(),
            },
            Rule::list_comp => format!("[{}]", self.comprehension(&parts, false)),
            Rule::map_comp => format!("{{ {} }}", self.comprehension(&parts, true)),
            Rule::loop_vars => each(", "),
            Rule::comp_filter => format!("if {}", each("")),
            Rule::fn_param | Rule::type_field => match parts.as_slice() {
                [key, ty] => format!("{}: {}", key.as_str(), self.flat(ty)),
                [key, ty, default] => {
                    format!(
                        "{}: {} = {}",
                        key.as_str(),
                        self.flat(ty),
                        self.flat(default)
                    )
                }
                _ => pair.as_str().to_string(),
            },
            Rule::type_generic => match parts.as_slice() {
                [name, ty] => format!("{}[{}]", name.as_str(), self.flat(ty)),
                _ => pair.as_str().to_string(),
            },
            Rule::type_refined => match parts.split_first() {
                Some((base, refinements)) => {
                    let r: Vec<_> = refinements.iter().map(|p| self.flat(p)).collect();
                    format!("{}({})", self.flat(base), r.join(", "))
                }
                None => pair.as_str().to_string(),
            },
            Rule::refine_matches => format!("matches {}", parts.last().map_or("", |p| p.as_str())),
            Rule::refine_range => pair.as_str().split_whitespace().collect(),
            // Names, numbers, strings (kept exactly, interpolations and all), members.
            _ => pair.as_str().to_string(),
        }
    }

    /// `for k, v in xs if c: e` (and `= v` in a map comprehension).
    fn comprehension(&self, parts: &[Pair<'_, Rule>], map: bool) -> String {
        let mut out = String::from("for ");
        for (i, part) in parts.iter().enumerate() {
            match (i, part.as_rule()) {
                (0, _) => out.push_str(&self.flat(part)),
                (1, _) => {
                    out.push_str(" in ");
                    out.push_str(&self.flat(part));
                }
                (_, Rule::comp_filter) => {
                    out.push(' ');
                    out.push_str(&self.flat(part));
                }
                _ if map && i == parts.len() - 1 => {
                    out.push_str(" = ");
                    out.push_str(&self.flat(part));
                }
                _ => {
                    out.push_str(": ");
                    out.push_str(&self.flat(part));
                }
            }
        }
        out
    }
}
