//! The syntax tree of one `.stack` file. Every node carries its span.

use crate::source::{SourceId, Span, Spanned};

pub type Ident = Spanned<String>;

#[derive(Debug, Clone)]
pub struct File {
    pub source: SourceId,
    pub items: Vec<Item>,
}

#[derive(Debug, Clone)]
pub enum Item {
    Stack(Spanned<String>),
    Type(TypeDecl),
    Param(Param),
    Let(Let),
    Import(Import),
    Fn(FnDecl),
    Output(Output),
    Assert(Assert),
    For(ForItems),
    If(IfItems),
    Resource(ResourceDecl),
    Moved(MovedDecl),
}

impl Item {
    pub fn span(&self) -> Span {
        match self {
            Item::Stack(s) => s.span,
            Item::Type(t) => t.span,
            Item::Param(p) => p.span,
            Item::Let(l) => l.span,
            Item::Import(i) => i.span,
            Item::Fn(f) => f.span,
            Item::Output(o) => o.span,
            Item::Assert(a) => a.span,
            Item::For(f) => f.span,
            Item::If(i) => i.span,
            Item::Resource(r) => r.span,
            Item::Moved(m) => m.span,
        }
    }

    /// What the item is called in messages ("a parameter", ...).
    pub fn describe(&self) -> &'static str {
        match self {
            Item::Stack(_) => "a stack name",
            Item::Type(_) => "a type",
            Item::Param(_) => "a parameter",
            Item::Let(_) => "a let binding",
            Item::Import(_) => "an import",
            Item::Fn(_) => "a function",
            Item::Output(_) => "an output",
            Item::Assert(_) => "an assertion",
            Item::For(_) => "a loop",
            Item::If(_) => "a condition",
            Item::Resource(_) => "a resource",
            Item::Moved(_) => "a `moved` block",
        }
    }
}

#[derive(Debug, Clone)]
pub struct Param {
    pub name: Ident,
    pub ty: TypeExpr,
    pub default: Option<Expr>,
    /// `validate cond, "message"` clauses, checked once the value is known.
    pub validations: Vec<Validation>,
    pub span: Span,
}

/// `validate cond, "message"` after a parameter.
#[derive(Debug, Clone)]
pub struct Validation {
    pub cond: Expr,
    pub message: Expr,
    pub span: Span,
}

/// `type Name = T` at the top level of a file.
#[derive(Debug, Clone)]
pub struct TypeDecl {
    pub name: Ident,
    pub ty: TypeExpr,
    pub span: Span,
}

#[derive(Debug, Clone)]
pub struct Let {
    pub name: Ident,
    pub ty: Option<TypeExpr>,
    pub value: Expr,
    pub span: Span,
}

#[derive(Debug, Clone)]
pub struct Import {
    pub path: Spanned<String>,
    pub alias: Ident,
    pub span: Span,
}

#[derive(Debug, Clone)]
pub struct FnDecl {
    pub name: Ident,
    pub params: Vec<(Ident, TypeExpr)>,
    pub ret: Option<TypeExpr>,
    pub body: Expr,
    pub span: Span,
}

#[derive(Debug, Clone)]
pub struct Output {
    pub name: Expr,
    pub value: Expr,
    pub span: Span,
}

#[derive(Debug, Clone)]
pub struct Assert {
    pub cond: Expr,
    pub message: Expr,
    pub span: Span,
}

#[derive(Debug, Clone)]
pub struct LoopVars {
    /// `for x in …` binds only `value`; `for i, x in …` binds `key` too.
    pub key: Option<Ident>,
    pub value: Ident,
}

#[derive(Debug, Clone)]
pub struct ForItems {
    pub vars: LoopVars,
    pub iter: Expr,
    pub body: Vec<Item>,
    pub span: Span,
}

#[derive(Debug, Clone)]
pub struct IfItems {
    pub cond: Expr,
    pub then: Vec<Item>,
    pub otherwise: Vec<Item>,
    pub span: Span,
}

#[derive(Debug, Clone)]
pub struct ResourceDecl {
    /// A built-in kind (`container`) or an import alias (`postgres`).
    pub kind: Ident,
    pub name: Expr,
    pub fields: Vec<Field>,
    pub span: Span,
}

/// `moved { from = …, to = … }`: its fields as written; `resolve` reads
/// them as addresses (no reference is resolved: `from` is gone).
#[derive(Debug, Clone)]
pub struct MovedDecl {
    pub fields: Vec<Field>,
    pub span: Span,
}

/// An entry of a record or a resource body: `key = value`, or `...value`
/// (a spread, with `Key::Spread`).
#[derive(Debug, Clone)]
pub struct Field {
    pub key: Key,
    pub value: Expr,
    pub span: Span,
}

impl Field {
    pub fn is_spread(&self) -> bool {
        matches!(self.key, Key::Spread(_))
    }
}

#[derive(Debug, Clone)]
pub enum Key {
    Name(Ident),
    /// A string key; may interpolate, so it is an expression.
    Str(Expr),
    /// `...value`: the fields of a record, each unless written out (the span of `...`).
    Spread(Span),
}

impl Key {
    pub fn span(&self) -> Span {
        match self {
            Key::Name(i) => i.span,
            Key::Str(e) => e.span,
            Key::Spread(s) => *s,
        }
    }

    /// The key's text when it is known without evaluation.
    pub fn static_name(&self) -> Option<&str> {
        match self {
            Key::Name(i) => Some(&i.node),
            Key::Str(e) => e.as_plain_string(),
            Key::Spread(_) => None,
        }
    }
}

#[derive(Debug, Clone)]
pub struct TypeExpr {
    pub kind: TypeExprKind,
    pub span: Span,
}

#[derive(Debug, Clone)]
pub enum TypeExprKind {
    Name(String),
    Generic(Ident, Box<TypeExpr>),
    Record(Vec<TypeField>),
    Enum(Vec<Spanned<String>>),
    Optional(Box<TypeExpr>),
    /// `alias.Name`: a type declared in an imported module.
    Qualified(Ident, Ident),
    /// `int(1..20)`, `string(matches "…")`.
    Refined(Box<TypeExpr>, Vec<Refinement>),
}

/// A field of a record type, with its default if it has one.
#[derive(Debug, Clone)]
pub struct TypeField {
    pub name: Spanned<String>,
    pub ty: TypeExpr,
    pub default: Option<Expr>,
}

/// What a refined type asks of its values, as written.
#[derive(Debug, Clone)]
pub enum Refinement {
    /// `low..high`, either end left out; both ends included.
    Range {
        low: Option<Expr>,
        high: Option<Expr>,
        span: Span,
    },
    /// `matches "pattern"`.
    Matches(Spanned<String>),
}

#[derive(Debug, Clone)]
pub struct Expr {
    pub kind: ExprKind,
    pub span: Span,
}

#[derive(Debug, Clone)]
pub enum ExprKind {
    Null,
    Bool(bool),
    Int(i64),
    Float(f64),
    /// Milliseconds.
    Duration(i64),
    /// Bytes.
    Size(i64),
    Str(Vec<StrPart>),
    List(Vec<Expr>),
    Record(Vec<Field>),
    ListComp(Box<Comprehension>),
    MapComp(Box<Comprehension>),
    Name(String),
    Member(Box<Expr>, Ident),
    /// `a?.b`: null where `a` is null.
    OptMember(Box<Expr>, Ident),
    Index(Box<Expr>, Box<Expr>),
    Call(Ident, Vec<Expr>),
    Unary(UnaryOp, Box<Expr>),
    Binary(BinaryOp, Box<Expr>, Box<Expr>),
    If(Box<Expr>, Box<Expr>, Box<Expr>),
}

impl Expr {
    /// The text of a string literal without interpolation.
    pub fn as_plain_string(&self) -> Option<&str> {
        match &self.kind {
            ExprKind::Str(parts) => match parts.as_slice() {
                [] => Some(""),
                [StrPart::Lit(s)] => Some(s),
                _ => None,
            },
            _ => None,
        }
    }
}

#[derive(Debug, Clone)]
pub enum StrPart {
    Lit(String),
    Interp(Expr),
}

#[derive(Debug, Clone)]
pub struct Comprehension {
    pub vars: LoopVars,
    pub iter: Expr,
    pub filter: Option<Expr>,
    /// The key expression of a map comprehension.
    pub key: Option<Expr>,
    pub value: Expr,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UnaryOp {
    Neg,
    Not,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BinaryOp {
    Or,
    And,
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
    Add,
    Sub,
    Mul,
    Div,
    Rem,
    /// `a ?? b`: `b` where `a` is null.
    Coalesce,
    /// `a ++ b`: records and maps merged deeply.
    Merge,
}

impl BinaryOp {
    pub fn symbol(self) -> &'static str {
        match self {
            BinaryOp::Or => "||",
            BinaryOp::And => "&&",
            BinaryOp::Eq => "==",
            BinaryOp::Ne => "!=",
            BinaryOp::Lt => "<",
            BinaryOp::Le => "<=",
            BinaryOp::Gt => ">",
            BinaryOp::Ge => ">=",
            BinaryOp::Add => "+",
            BinaryOp::Sub => "-",
            BinaryOp::Mul => "*",
            BinaryOp::Div => "/",
            BinaryOp::Rem => "%",
            BinaryOp::Coalesce => "??",
            BinaryOp::Merge => "++",
        }
    }
}
