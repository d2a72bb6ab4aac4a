//! Parse pairs to the AST: literal decoding, string dedent, operator precedence.

use std::sync::LazyLock;

use pest::iterators::{Pair, Pairs};
use pest::pratt_parser::{Assoc, Op, PrattParser};

use super::ast::*;
use super::errors;
use super::parser::{Rule, parse};
use crate::diagnostic::Diagnostic;
use crate::source::{SourceId, Span, Spanned};
use crate::units;

mod types;

static PRATT: LazyLock<PrattParser<Rule>> = LazyLock::new(|| {
    PrattParser::new()
        .op(Op::infix(Rule::or, Assoc::Left))
        .op(Op::infix(Rule::and, Assoc::Left))
        .op(Op::infix(Rule::eq, Assoc::Left)
            | Op::infix(Rule::ne, Assoc::Left)
            | Op::infix(Rule::lt, Assoc::Left)
            | Op::infix(Rule::le, Assoc::Left)
            | Op::infix(Rule::gt, Assoc::Left)
            | Op::infix(Rule::ge, Assoc::Left))
        .op(Op::infix(Rule::coalesce, Assoc::Right))
        .op(Op::infix(Rule::add, Assoc::Left)
            | Op::infix(Rule::sub, Assoc::Left)
            | Op::infix(Rule::merge, Assoc::Left))
        .op(Op::infix(Rule::mul, Assoc::Left)
            | Op::infix(Rule::div, Assoc::Left)
            | Op::infix(Rule::rem, Assoc::Left))
        .op(Op::prefix(Rule::neg) | Op::prefix(Rule::not))
});

/// Deeper expression trees than this are refused (left-leaning operator chains
/// are not bounded by bracket nesting).
const MAX_DEPTH: usize = 200;

type Result<T> = std::result::Result<T, Diagnostic>;

/// Parses a whole `.stack` file.
pub fn parse_file(text: &str, source: SourceId) -> std::result::Result<File, Vec<Diagnostic>> {
    let pairs = parse(Rule::file, text, source).map_err(|d| vec![d])?;
    let lower = Lower { source };
    let mut items = Vec::new();
    let mut errors = Vec::new();
    for pair in inner_of(pairs).map_err(|d| vec![d])? {
        if pair.as_rule() == Rule::EOI {
            continue;
        }
        match lower.item(pair) {
            Ok(item) => items.push(item),
            Err(e) => errors.push(e),
        }
    }
    if errors.is_empty() {
        Ok(File { source, items })
    } else {
        Err(errors)
    }
}

/// Parses one expression (a `--var` value of a structured type).
pub fn parse_expr(text: &str, source: SourceId) -> Result<Expr> {
    let pairs = parse(Rule::lone_expr, text, source)?;
    let lower = Lower { source };
    let expr = inner_of(pairs)?
        .find(|p| p.as_rule() == Rule::expr)
        .ok_or_else(errors::expected_expression)?;
    lower.expr(expr)
}

/// Parses a `--var-file` of `NAME = literal` lines.
pub fn parse_var_file(
    text: &str,
    source: SourceId,
) -> std::result::Result<Vec<(Ident, Expr)>, Vec<Diagnostic>> {
    let pairs = parse(Rule::var_file, text, source).map_err(|d| vec![d])?;
    let lower = Lower { source };
    let mut entries = Vec::new();
    let mut errors = Vec::new();
    for pair in inner_of(pairs)
        .map_err(|d| vec![d])?
        .filter(|p| p.as_rule() == Rule::var_entry)
    {
        let mut inner = pair.into_inner();
        let result = next(&mut inner).and_then(|name| {
            let name = lower.ident(name);
            let value = lower.expr(next(&mut inner)?)?;
            Ok((name, value))
        });
        match result {
            Ok(entry) => entries.push(entry),
            Err(e) => errors.push(e),
        }
    }
    if errors.is_empty() {
        Ok(entries)
    } else {
        Err(errors)
    }
}

/// The children of the single top-level pair.
fn inner_of(mut pairs: Pairs<'_, Rule>) -> Result<Pairs<'_, Rule>> {
    Ok(next(&mut pairs)?.into_inner())
}

fn next<'i>(pairs: &mut Pairs<'i, Rule>) -> Result<Pair<'i, Rule>> {
    // The grammar guarantees the shapes lowered here; a mismatch is a bug
    // in this file, reported rather than panicking.
    pairs
        .next()
        .ok_or_else(|| Diagnostic::internal("internal error: unexpected parse tree shape"))
}

struct Lower {
    source: SourceId,
}

impl Lower {
    /// The pair's span without the whitespace and comments pest skipped
    /// after its last part (trying an optional or repeated tail).
    fn span(&self, pair: &Pair<'_, Rule>) -> Span {
        Span::new(self.source, pair.as_span().start(), trimmed_end(pair))
    }

    fn ident(&self, pair: Pair<'_, Rule>) -> Ident {
        Spanned::new(pair.as_str().to_string(), self.span(&pair))
    }

    fn item(&self, pair: Pair<'_, Rule>) -> Result<Item> {
        let span = self.span(&pair);
        let rule = pair.as_rule();
        let mut inner = pair.into_inner();
        Ok(match rule {
            Rule::stack_decl => Item::Stack(self.plain_string(next(&mut inner)?)?),
            Rule::param_decl => {
                let name = self.ident(next(&mut inner)?);
                let ty = self.type_expr(next(&mut inner)?)?;
                let mut default = None;
                let mut validations = Vec::new();
                for p in inner {
                    if p.as_rule() == Rule::validate {
                        validations.push(self.validation(p)?);
                    } else {
                        default = Some(self.expr(p)?);
                    }
                }
                Item::Param(Param {
                    name,
                    ty,
                    default,
                    validations,
                    span,
                })
            }
            Rule::type_decl => {
                let _keyword = next(&mut inner)?;
                let name = self.ident(next(&mut inner)?);
                let ty = self.type_expr(next(&mut inner)?)?;
                Item::Type(TypeDecl { name, ty, span })
            }
            Rule::let_decl => {
                let name = self.ident(next(&mut inner)?);
                let second = next(&mut inner)?;
                let (ty, value) = if second.as_rule() == Rule::type_expr {
                    (Some(self.type_expr(second)?), self.expr(next(&mut inner)?)?)
                } else {
                    (None, self.expr(second)?)
                };
                Item::Let(Let {
                    name,
                    ty,
                    value,
                    span,
                })
            }
            Rule::import_decl => {
                let path = self.plain_string(next(&mut inner)?)?;
                let alias = self.ident(next(&mut inner)?);
                Item::Import(Import { path, alias, span })
            }
            Rule::fn_decl => {
                let name = self.ident(next(&mut inner)?);
                let mut params = Vec::new();
                for p in next(&mut inner)?.into_inner() {
                    let mut pi = p.into_inner();
                    let pname = self.ident(next(&mut pi)?);
                    params.push((pname, self.type_expr(next(&mut pi)?)?));
                }
                let second = next(&mut inner)?;
                let (ret, body) = if second.as_rule() == Rule::type_expr {
                    (Some(self.type_expr(second)?), self.expr(next(&mut inner)?)?)
                } else {
                    (None, self.expr(second)?)
                };
                Item::Fn(FnDecl {
                    name,
                    params,
                    ret,
                    body,
                    span,
                })
            }
            Rule::output_decl => {
                let name = self.string(next(&mut inner)?)?;
                let value = self.expr(next(&mut inner)?)?;
                Item::Output(Output { name, value, span })
            }
            Rule::assert_decl => {
                let cond = self.expr(next(&mut inner)?)?;
                let message = self.expr(next(&mut inner)?)?;
                Item::Assert(Assert {
                    cond,
                    message,
                    span,
                })
            }
            Rule::for_items => {
                let vars = self.loop_vars(next(&mut inner)?);
                let iter = self.expr(next(&mut inner)?)?;
                let body = self.block(next(&mut inner)?)?;
                Item::For(ForItems {
                    vars,
                    iter,
                    body,
                    span,
                })
            }
            Rule::if_items => Item::If(self.if_items(span, inner)?),
            Rule::resource => {
                let kind = self.ident(next(&mut inner)?);
                let name = self.string(next(&mut inner)?)?;
                let fields = self.fields(next(&mut inner)?)?;
                Item::Resource(ResourceDecl {
                    kind,
                    name,
                    fields,
                    span,
                })
            }
            Rule::moved_decl => Item::Moved(MovedDecl {
                fields: self.fields(next(&mut inner)?)?,
                span,
            }),
            _ => return Err(self.unexpected(span)),
        })
    }

    fn if_items(&self, span: Span, mut inner: Pairs<'_, Rule>) -> Result<IfItems> {
        let cond = self.expr(next(&mut inner)?)?;
        let then = self.block(next(&mut inner)?)?;
        let otherwise = match inner.next() {
            None => Vec::new(),
            Some(p) if p.as_rule() == Rule::if_items => {
                let span = self.span(&p);
                vec![Item::If(self.if_items(span, p.into_inner())?)]
            }
            Some(p) => self.block(p)?,
        };
        Ok(IfItems {
            cond,
            then,
            otherwise,
            span,
        })
    }

    fn block(&self, pair: Pair<'_, Rule>) -> Result<Vec<Item>> {
        pair.into_inner().map(|p| self.item(p)).collect()
    }

    fn loop_vars(&self, pair: Pair<'_, Rule>) -> LoopVars {
        let mut names: Vec<Ident> = pair.into_inner().map(|p| self.ident(p)).collect();
        let value = names
            .pop()
            .unwrap_or_else(|| Spanned::new(String::new(), Span::new(self.source, 0, 0)));
        LoopVars {
            key: names.pop(),
            value,
        }
    }

    fn fields(&self, pair: Pair<'_, Rule>) -> Result<Vec<Field>> {
        pair.into_inner().map(|f| self.field(f)).collect()
    }

    fn field(&self, pair: Pair<'_, Rule>) -> Result<Field> {
        let span = self.span(&pair);
        let spread = pair.as_rule() == Rule::spread;
        let mut inner = pair.into_inner();
        if spread {
            let dots = Span::new(self.source, span.start as usize, span.start as usize + 3);
            let value = self.expr(next(&mut inner)?)?;
            return Ok(Field {
                key: Key::Spread(dots),
                value,
                span,
            });
        }
        let key_pair = next(&mut next(&mut inner)?.into_inner())?;
        let key = match key_pair.as_rule() {
            Rule::name => Key::Name(self.ident(key_pair)),
            _ => Key::Str(self.string(key_pair)?),
        };
        let value = self.expr(next(&mut inner)?)?;
        Ok(Field { key, value, span })
    }

    // ------------------------------------------------------------ expressions

    fn expr(&self, pair: Pair<'_, Rule>) -> Result<Expr> {
        let expr = PRATT
            .map_primary(|p| self.postfix_expr(p))
            .map_prefix(|op, rhs| {
                let rhs = rhs?;
                let span = self.span(&op).to(rhs.span);
                let op = if op.as_rule() == Rule::neg {
                    UnaryOp::Neg
                } else {
                    UnaryOp::Not
                };
                Ok(Expr {
                    kind: ExprKind::Unary(op, Box::new(rhs)),
                    span,
                })
            })
            .map_infix(|lhs, op, rhs| {
                let (lhs, rhs) = (lhs?, rhs?);
                let op = match op.as_rule() {
                    Rule::or => BinaryOp::Or,
                    Rule::and => BinaryOp::And,
                    Rule::eq => BinaryOp::Eq,
                    Rule::ne => BinaryOp::Ne,
                    Rule::lt => BinaryOp::Lt,
                    Rule::le => BinaryOp::Le,
                    Rule::gt => BinaryOp::Gt,
                    Rule::ge => BinaryOp::Ge,
                    Rule::add => BinaryOp::Add,
                    Rule::sub => BinaryOp::Sub,
                    Rule::mul => BinaryOp::Mul,
                    Rule::div => BinaryOp::Div,
                    Rule::coalesce => BinaryOp::Coalesce,
                    Rule::merge => BinaryOp::Merge,
                    _ => BinaryOp::Rem,
                };
                let span = lhs.span.to(rhs.span);
                Ok(Expr {
                    kind: ExprKind::Binary(op, Box::new(lhs), Box::new(rhs)),
                    span,
                })
            })
            .parse(pair.into_inner())?;
        if exceeds_depth(&expr, MAX_DEPTH) {
            return Err(errors::expression_too_deep(MAX_DEPTH, expr.span));
        }
        Ok(expr)
    }

    fn postfix_expr(&self, pair: Pair<'_, Rule>) -> Result<Expr> {
        let mut inner = pair.into_inner();
        let mut expr = self.primary(next(&mut inner)?)?;
        for op in inner {
            let span = expr.span.to(self.span(&op));
            let kind = match op.as_rule() {
                Rule::member => {
                    let name = self.ident(next(&mut op.into_inner())?);
                    ExprKind::Member(Box::new(expr), name)
                }
                Rule::opt_member => {
                    let name = self.ident(next(&mut op.into_inner())?);
                    ExprKind::OptMember(Box::new(expr), name)
                }
                Rule::index => {
                    let index = self.expr(next(&mut op.into_inner())?)?;
                    ExprKind::Index(Box::new(expr), Box::new(index))
                }
                _ => {
                    let ExprKind::Name(name) = &expr.kind else {
                        return Err(errors::not_callable(expr.span));
                    };
                    let callee = Spanned::new(name.clone(), expr.span);
                    let args = op
                        .into_inner()
                        .map(|a| self.expr(a))
                        .collect::<Result<Vec<_>>>()?;
                    ExprKind::Call(callee, args)
                }
            };
            expr = Expr { kind, span };
        }
        Ok(expr)
    }

    fn primary(&self, pair: Pair<'_, Rule>) -> Result<Expr> {
        let outer_span = self.span(&pair);
        let pair = next(&mut pair.into_inner())?;
        let span = self.span(&pair);
        let kind = match pair.as_rule() {
            Rule::expr => {
                // Parentheses: keep the span with the parentheses.
                let mut e = self.expr(pair)?;
                e.span = outer_span;
                return Ok(e);
            }
            Rule::if_expr => {
                let mut inner = pair.into_inner();
                let c = self.expr(next(&mut inner)?)?;
                let a = self.expr(next(&mut inner)?)?;
                let b = self.expr(next(&mut inner)?)?;
                ExprKind::If(Box::new(c), Box::new(a), Box::new(b))
            }
            Rule::number => return self.number(pair),
            Rule::string | Rule::mstring => return self.string(pair),
            Rule::list => {
                let input = pair.get_input();
                let items = pair
                    .into_inner()
                    .map(|p| self.expr(p))
                    .collect::<Result<Vec<_>>>()?;
                if let Some(at) = items
                    .iter()
                    .find_map(|item| minus_at_line_start(item, input))
                {
                    return Err(errors::ambiguous_minus(Span::new(self.source, at, at + 1)));
                }
                ExprKind::List(items)
            }
            Rule::record => ExprKind::Record(self.fields(pair)?),
            Rule::list_comp => ExprKind::ListComp(Box::new(self.comprehension(pair, false)?)),
            Rule::map_comp => ExprKind::MapComp(Box::new(self.comprehension(pair, true)?)),
            Rule::kw_true => ExprKind::Bool(true),
            Rule::kw_false => ExprKind::Bool(false),
            Rule::kw_null => ExprKind::Null,
            Rule::ident => ExprKind::Name(pair.as_str().to_string()),
            _ => return Err(self.unexpected(span)),
        };
        Ok(Expr { kind, span })
    }

    fn comprehension(&self, pair: Pair<'_, Rule>, is_map: bool) -> Result<Comprehension> {
        let mut inner = pair.into_inner();
        let vars = self.loop_vars(next(&mut inner)?);
        let iter = self.expr(next(&mut inner)?)?;
        let mut p = next(&mut inner)?;
        let filter = if p.as_rule() == Rule::comp_filter {
            let f = self.expr(next(&mut p.into_inner())?)?;
            p = next(&mut inner)?;
            Some(f)
        } else {
            None
        };
        let first = self.expr(p)?;
        let (key, value) = if is_map {
            (Some(first), self.expr(next(&mut inner)?)?)
        } else {
            (None, first)
        };
        Ok(Comprehension {
            vars,
            iter,
            filter,
            key,
            value,
        })
    }

    // ------------------------------------------------------------ literals

    fn number(&self, pair: Pair<'_, Rule>) -> Result<Expr> {
        let span = self.span(&pair);
        let lit = next(&mut pair.into_inner())?;
        let text = lit.as_str();
        let too_large = || errors::number_too_large(text, span);
        let kind = match lit.as_rule() {
            Rule::int => ExprKind::Int(text.parse().map_err(|_| too_large())?),
            Rule::float => ExprKind::Float(text.parse().map_err(|_| too_large())?),
            Rule::size => match units::parse_size(text) {
                Ok(bytes) => ExprKind::Size(bytes),
                Err(units::SizeError::Fractional) => {
                    return Err(errors::fractional_size(text, span));
                }
                Err(_) => return Err(too_large()),
            },
            // The grammar admits only well-formed durations: failing here is overflow.
            _ => ExprKind::Duration(units::parse_duration(text).ok_or_else(too_large)?),
        };
        Ok(Expr { kind, span })
    }

    /// A string literal without interpolation (stack names, imports, enum members).
    fn plain_string(&self, pair: Pair<'_, Rule>) -> Result<Spanned<String>> {
        let e = self.string(pair)?;
        match e.as_plain_string() {
            Some(s) => Ok(Spanned::new(s.to_string(), e.span)),
            None => Err(errors::interpolation_not_allowed(e.span)),
        }
    }

    fn string(&self, pair: Pair<'_, Rule>) -> Result<Expr> {
        let span = self.span(&pair);
        let multiline = pair.as_rule() == Rule::mstring;
        let mut pieces = Vec::new();
        for p in pair.into_inner() {
            pieces.push(match p.as_rule() {
                Rule::interp => Piece::Interp(self.expr(next(&mut p.into_inner())?)?),
                Rule::escape => Piece::Escaped(self.escape(&p)?),
                Rule::dollar_brace => Piece::Raw("${".to_string()),
                _ => Piece::Raw(p.as_str().to_string()),
            });
        }
        if multiline {
            dedent(&mut pieces);
        }
        let mut parts: Vec<StrPart> = Vec::new();
        for piece in pieces {
            match piece {
                Piece::Interp(e) => parts.push(StrPart::Interp(e)),
                Piece::Raw(s) => push_lit(&mut parts, &s),
                Piece::Escaped(c) => push_lit(&mut parts, c.encode_utf8(&mut [0; 4])),
            }
        }
        Ok(Expr {
            kind: ExprKind::Str(parts),
            span,
        })
    }

    fn escape(&self, pair: &Pair<'_, Rule>) -> Result<char> {
        let text = pair.as_str();
        Ok(match text {
            "\\n" => '\n',
            "\\t" => '\t',
            "\\r" => '\r',
            "\\\"" => '"',
            "\\\\" => '\\',
            "\\$" => '$',
            _ => {
                return Err(errors::unknown_escape(text, self.span(pair)));
            }
        })
    }

    fn unexpected(&self, span: Span) -> Diagnostic {
        Diagnostic::internal("internal error: unexpected parse tree shape").label(span, "here")
    }
}

/// In a list, `1⏎-2` reads as `1 - 2`; the offset of such a `-`, if any.
fn minus_at_line_start(e: &Expr, input: &str) -> Option<usize> {
    let ExprKind::Binary(op, lhs, rhs) = &e.kind else {
        return None;
    };
    if *op == BinaryOp::Sub {
        let between = input
            .get(lhs.span.end as usize..rhs.span.start as usize)
            .unwrap_or("");
        if let Some(minus) = between.find('-')
            && between[..minus].contains('\n')
        {
            return Some(lhs.span.end as usize + minus);
        }
    }
    minus_at_line_start(lhs, input)
}

fn trimmed_end(pair: &Pair<'_, Rule>) -> usize {
    let end = pair.as_span().end();
    let Some(last) = pair.clone().into_inner().last() else {
        return end;
    };
    let last_end = last.as_span().end();
    let tail = pair.get_input().get(last_end..end).unwrap_or("");
    if is_trivia(tail) {
        trimmed_end(&last)
    } else {
        end
    }
}

/// Whether text is only whitespace and comments.
fn is_trivia(text: &str) -> bool {
    let mut rest = text;
    loop {
        rest = rest.trim_start();
        match rest.strip_prefix('#') {
            Some(comment) => rest = comment.split_once('\n').map_or("", |(_, after)| after),
            None => return rest.is_empty(),
        }
    }
}

fn push_lit(parts: &mut Vec<StrPart>, s: &str) {
    if s.is_empty() {
        return;
    }
    if let Some(StrPart::Lit(last)) = parts.last_mut() {
        last.push_str(s);
    } else {
        parts.push(StrPart::Lit(s.to_string()));
    }
}

enum Piece {
    Raw(String),
    Escaped(char),
    Interp(Expr),
}

/// Strips a `"""` string's first newline, the indentation of its closing
/// line, and the indentation common to its non-blank lines. Only raw text
/// counts as indentation; escapes and interpolations are content.
fn dedent(pieces: &mut [Piece]) {
    if let Some(Piece::Raw(first)) = pieces.first_mut()
        && let Some(rest) = first
            .strip_prefix("\r\n")
            .or_else(|| first.strip_prefix('\n'))
    {
        *first = rest.to_string();
    }
    if let Some(Piece::Raw(last)) = pieces.last_mut() {
        let tail_start = last.rfind('\n').map_or(0, |i| i + 1);
        if last[tail_start..].chars().all(|c| c == ' ' || c == '\t')
            && (tail_start > 0 || pieces.len() == 1)
        {
            let keep = tail_start;
            if let Some(Piece::Raw(last)) = pieces.last_mut() {
                last.truncate(keep);
            }
        }
    }
    // Find the common indentation of lines with content.
    let mut common: Option<usize> = None;
    let mut indent = 0usize;
    let mut at_line_start = true;
    for piece in pieces.iter() {
        match piece {
            Piece::Raw(s) => {
                for c in s.chars() {
                    if c == '\n' {
                        at_line_start = true;
                        indent = 0;
                    } else if at_line_start && (c == ' ' || c == '\t') {
                        indent += 1;
                    } else if at_line_start {
                        common = Some(common.map_or(indent, |m| m.min(indent)));
                        at_line_start = false;
                    }
                }
            }
            _ => {
                if at_line_start {
                    common = Some(common.map_or(indent, |m| m.min(indent)));
                    at_line_start = false;
                }
            }
        }
    }
    let common = common.unwrap_or(0);
    if common == 0 {
        return;
    }
    let mut at_line_start = true;
    for piece in pieces.iter_mut() {
        match piece {
            Piece::Raw(s) => {
                let mut out = String::with_capacity(s.len());
                let mut strip = if at_line_start { common } else { 0 };
                for c in s.chars() {
                    if c == '\n' {
                        out.push(c);
                        strip = common;
                        at_line_start = true;
                    } else if strip > 0 && (c == ' ' || c == '\t') {
                        strip -= 1;
                    } else {
                        strip = 0;
                        at_line_start = false;
                        out.push(c);
                    }
                }
                *s = out;
            }
            _ => at_line_start = false,
        }
    }
}

/// Whether the expression tree is deeper than `limit` (recursion bounded by `limit`).
fn exceeds_depth(e: &Expr, limit: usize) -> bool {
    if limit == 0 {
        return true;
    }
    let l = limit - 1;
    match &e.kind {
        ExprKind::Str(parts) => parts
            .iter()
            .any(|p| matches!(p, StrPart::Interp(e) if exceeds_depth(e, l))),
        ExprKind::List(xs) => xs.iter().any(|x| exceeds_depth(x, l)),
        ExprKind::Record(fs) => fs.iter().any(|f| exceeds_depth(&f.value, l)),
        ExprKind::ListComp(c) | ExprKind::MapComp(c) => {
            exceeds_depth(&c.iter, l)
                || exceeds_depth(&c.value, l)
                || c.key.as_ref().is_some_and(|k| exceeds_depth(k, l))
                || c.filter.as_ref().is_some_and(|f| exceeds_depth(f, l))
        }
        ExprKind::Member(a, _) | ExprKind::OptMember(a, _) | ExprKind::Unary(_, a) => {
            exceeds_depth(a, l)
        }
        ExprKind::Index(a, b) | ExprKind::Binary(_, a, b) => {
            exceeds_depth(a, l) || exceeds_depth(b, l)
        }
        ExprKind::Call(_, args) => args.iter().any(|a| exceeds_depth(a, l)),
        ExprKind::If(a, b, c) => exceeds_depth(a, l) || exceeds_depth(b, l) || exceeds_depth(c, l),
        _ => false,
    }
}
