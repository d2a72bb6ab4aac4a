//! The printer's state and its layout of items, blocks, bodies and every
//! bracketed sequence: one element per line, comments and blank lines kept.

use pest::iterators::Pair;

use super::comments::Comment;
use crate::syntax::Rule;

/// Lines are kept within this many columns where a list or record can break.
pub(crate) const WIDTH: usize = 100;
const INDENT: usize = 2;

pub(crate) struct Printer<'a> {
    pub text: &'a str,
    pub comments: Vec<Comment>,
    /// The first comment not yet written.
    pub next: usize,
    pub out: String,
    /// A comment the layout cannot keep in its place (the file is left alone).
    pub misplaced: Option<usize>,
    /// Where each end-of-line comment was written in `out` (aligned at the end).
    pub trailing: Vec<usize>,
}

/// How a sequence writes its elements.
#[derive(Clone, Copy)]
pub(crate) struct Seq {
    /// A comma after every element (lists, records, calls, type records).
    pub comma: bool,
    /// Align the `=` of consecutive fields.
    pub align: bool,
}

pub(crate) const LINES: Seq = Seq {
    comma: false,
    align: false,
};

impl<'a> Printer<'a> {
    pub fn new(text: &'a str, comments: Vec<Comment>) -> Self {
        Printer {
            text,
            comments,
            next: 0,
            out: String::new(),
            misplaced: None,
            trailing: Vec::new(),
        }
    }

    /// The column the next character is written at.
    pub fn col(&self) -> usize {
        let line = self.out.rsplit('\n').next().unwrap_or("");
        line.chars().count()
    }

    pub fn push(&mut self, s: &str) {
        self.out.push_str(s);
    }

    /// Where `pair` really ends: pest spans of items take in the blanks and
    /// comments after them, while the parser looks for more of the item.
    pub fn end(&self, pair: &Pair<'_, Rule>) -> usize {
        let span = pair.as_span();
        let mut end = span.end();
        loop {
            end = span.start() + self.text[span.start()..end].trim_end().len();
            match self
                .comments
                .iter()
                .find(|c| c.start >= span.start() && c.start < end && end <= c.end)
            {
                Some(c) => end = c.start,
                None => return end,
            }
        }
    }

    /// Whether a comment starts inside `pair` (then it is never written flat).
    pub fn has_comments(&self, pair: &Pair<'_, Rule>) -> bool {
        let (start, end) = (pair.as_span().start(), self.end(pair));
        self.comments[self.next..]
            .iter()
            .any(|c| c.start >= start && c.start < end)
    }

    /// Whether `flat` fits on the current line.
    pub fn fits(&self, flat: &str) -> bool {
        // A `"""` string's later lines start at column 0 whatever comes before.
        let first = flat.split('\n').next().unwrap_or("");
        self.col() + first.chars().count() <= WIDTH
    }

    /// Whether a blank line separates `from` and `to` (a comment line is not blank).
    fn blank_between(&self, from: usize, to: usize) -> bool {
        let lines: Vec<_> = self.text.get(from..to).unwrap_or("").split('\n').collect();
        lines.len() > 2
            && lines[1..lines.len() - 1]
                .iter()
                .any(|l| l.trim().is_empty())
    }

    /// Starts a new line at `indent` (a blank one before it when `blank`).
    fn line(&mut self, indent: usize, blank: bool) {
        if !self.out.is_empty() {
            self.out.push('\n');
            if blank {
                self.out.push('\n');
            }
        }
        self.out.push_str(&" ".repeat(indent));
    }

    fn peek_comment(&self) -> Option<&Comment> {
        self.comments.get(self.next)
    }

    /// Writes the comments that start before `until` on their own lines.
    fn own_line_comments(
        &mut self,
        until: usize,
        indent: usize,
        prev_end: &mut usize,
        first: &mut bool,
    ) {
        while let Some(c) = self.peek_comment().cloned()
            && c.start < until
        {
            if c.start < *prev_end {
                // Inside the previous element, where no comment is laid out.
                self.misplaced.get_or_insert(c.start);
            }
            let blank = !*first && self.blank_between(*prev_end, c.start);
            self.line(indent, blank);
            self.push(&c.text);
            *prev_end = c.end;
            *first = false;
            self.next += 1;
        }
    }

    /// Writes `elems` one per line at `indent`, each with the comments before
    /// it and on its line; `close` is where the enclosing bracket closes.
    pub fn seq(
        &mut self,
        elems: &[Pair<'_, Rule>],
        open_end: usize,
        close: usize,
        indent: usize,
        how: Seq,
    ) {
        let pads = if how.align {
            self.key_pads(elems)
        } else {
            vec![0; elems.len()]
        };
        let mut prev_end = open_end;
        let mut first = true;
        for (i, (elem, pad)) in elems.iter().zip(pads).enumerate() {
            // A comment after the next element on this line is that one's.
            let next_start = elems.get(i + 1).map_or(close, |e| e.as_span().start());
            let start = elem.as_span().start();
            self.own_line_comments(start, indent, &mut prev_end, &mut first);
            let blank = !first && self.blank_between(prev_end, start);
            self.line(indent, blank);
            self.element(elem, indent, pad);
            if how.comma {
                self.push(",");
            }
            prev_end = self.end(elem);
            if let Some(c) = self.peek_comment().cloned()
                && c.start >= prev_end
                && c.start < next_start
                && !self.text[prev_end..c.start].contains('\n')
            {
                self.trailing.push(self.out.len());
                self.push("  ");
                self.push(&c.text);
                prev_end = c.end;
                self.next += 1;
            }
            first = false;
        }
        self.own_line_comments(close, indent, &mut prev_end, &mut first);
    }

    /// The key width every field aligns to: the widest key in its run of
    /// fields (a run ends at a blank line or a spread).
    fn key_pads(&self, elems: &[Pair<'_, Rule>]) -> Vec<usize> {
        let width = |p: &Pair<'_, Rule>| match p.as_rule() {
            Rule::field => p
                .clone()
                .into_inner()
                .next()
                .map(|k| k.as_str().chars().count()),
            _ => None,
        };
        let mut pads = vec![0; elems.len()];
        let mut run_start = 0;
        for i in 0..=elems.len() {
            let ends = i == elems.len()
                || width(&elems[i]).is_none()
                || i > run_start
                    && self.blank_between(self.end(&elems[i - 1]), elems[i].as_span().start());
            if ends {
                let widest = elems[run_start..i]
                    .iter()
                    .filter_map(width)
                    .max()
                    .unwrap_or(0);
                pads[run_start..i].iter_mut().for_each(|p| *p = widest);
                run_start = if i < elems.len() && width(&elems[i]).is_none() {
                    i + 1
                } else {
                    i
                };
            }
        }
        pads
    }

    fn element(&mut self, elem: &Pair<'_, Rule>, indent: usize, pad: usize) {
        match elem.as_rule() {
            Rule::field => self.field(elem, indent, pad),
            Rule::spread | Rule::expr | Rule::type_field => self.render(elem, indent),
            _ => self.item(elem, indent),
        }
    }

    /// `key = value`, the `=` at column `pad` past the key's start.
    pub fn field(&mut self, pair: &Pair<'_, Rule>, indent: usize, pad: usize) {
        let mut inner = pair.clone().into_inner();
        let (Some(key), Some(value)) = (inner.next(), inner.next()) else {
            return;
        };
        let key = key.as_str();
        self.push(key);
        self.push(&" ".repeat(pad.saturating_sub(key.chars().count())));
        self.push(" = ");
        self.render(&value, indent);
    }

    /// A `{ … }` of items or fields, one per line; `{}` when empty.
    pub fn braces(&mut self, pair: &Pair<'_, Rule>, indent: usize, how: Seq) {
        let elems: Vec<_> = pair.clone().into_inner().collect();
        let span = pair.as_span();
        if elems.is_empty() && !self.has_comments(pair) {
            self.push("{}");
            return;
        }
        self.push("{");
        self.seq(&elems, span.start() + 1, span.end(), indent + INDENT, how);
        self.line(indent, false);
        self.push("}");
    }

    /// The whole file.
    pub fn file(&mut self, file: &Pair<'_, Rule>) {
        let items: Vec<_> = file
            .clone()
            .into_inner()
            .filter(|p| p.as_rule() != Rule::EOI)
            .collect();
        self.seq(&items, 0, self.text.len(), 0, LINES);
        if !self.out.is_empty() {
            self.out.push('\n');
        }
    }

    pub fn item(&mut self, pair: &Pair<'_, Rule>, indent: usize) {
        let parts: Vec<_> = pair.clone().into_inner().collect();
        match (pair.as_rule(), parts.as_slice()) {
            (Rule::stack_decl, [name]) => {
                self.push("stack ");
                self.push(name.as_str());
            }
            (Rule::param_decl, [name, ty, rest @ ..]) => {
                self.push("param ");
                self.push(name.as_str());
                self.push(": ");
                self.render(ty, indent);
                for part in rest {
                    if part.as_rule() == Rule::validate {
                        self.line(indent + INDENT, false);
                        self.validate(part, indent + INDENT);
                    } else {
                        self.push(" = ");
                        self.render(part, indent);
                    }
                }
            }
            (Rule::let_decl, [name, rest @ .., value]) => {
                self.push("let ");
                self.push(name.as_str());
                if let [ty] = rest {
                    self.push(": ");
                    self.render(ty, indent);
                }
                self.push(" = ");
                self.render(value, indent);
            }
            (Rule::type_decl, [_, name, ty]) => {
                self.push("type ");
                self.push(name.as_str());
                self.push(" = ");
                self.render(ty, indent);
            }
            (Rule::import_decl, [path, alias]) => {
                self.push("import ");
                self.push(path.as_str());
                self.push(" as ");
                self.push(alias.as_str());
            }
            (Rule::fn_decl, [name, params, rest @ .., body]) => {
                self.push("fn ");
                self.push(name.as_str());
                let params: Vec<_> = params.clone().into_inner().map(|p| self.flat(&p)).collect();
                self.push(&format!("({})", params.join(", ")));
                if let [ty] = rest {
                    self.push(" -> ");
                    self.render(ty, indent);
                }
                self.push(" = ");
                self.render(body, indent);
            }
            (Rule::output_decl, [name, value]) => {
                self.push("output ");
                self.push(name.as_str());
                self.push(" = ");
                self.render(value, indent);
            }
            (Rule::assert_decl, [cond, message]) => {
                self.push("assert ");
                self.render(cond, indent);
                self.push(", ");
                self.render(message, indent);
            }
            (Rule::for_items, [vars, list, block]) => {
                self.push("for ");
                self.push(&self.flat(vars));
                self.push(" in ");
                self.render(list, indent);
                self.push(" ");
                self.braces(block, indent, LINES);
            }
            (Rule::if_items, [cond, block, rest @ ..]) => {
                self.push("if ");
                self.render(cond, indent);
                self.push(" ");
                self.braces(block, indent, LINES);
                if let [other] = rest {
                    self.push(" else ");
                    if other.as_rule() == Rule::if_items {
                        self.item(other, indent);
                    } else {
                        self.braces(other, indent, LINES);
                    }
                }
            }
            (Rule::resource, [kind, name, body]) => {
                self.push(kind.as_str());
                self.push(" ");
                self.push(name.as_str());
                self.push(" ");
                self.braces(
                    body,
                    indent,
                    Seq {
                        comma: false,
                        align: true,
                    },
                );
            }
            (Rule::moved_decl, [body]) => {
                self.push("moved ");
                // `moved { from = a, to = b }` reads best on one line.
                let flat = self.flat_record(body);
                if !self.has_comments(body) && self.fits(&flat) {
                    self.push(&flat);
                } else {
                    self.braces(
                        body,
                        indent,
                        Seq {
                            comma: false,
                            align: true,
                        },
                    );
                }
            }
            // Not reached for a tree the grammar produced; the text is kept as it is.
            _ => self.push(pair.as_str()),
        }
    }

    pub fn validate(&mut self, pair: &Pair<'_, Rule>, indent: usize) {
        let parts: Vec<_> = pair.clone().into_inner().collect();
        if let [_, cond, message] = parts.as_slice() {
            self.push("validate ");
            self.render(cond, indent);
            self.push(", ");
            self.render(message, indent);
        }
    }
}
