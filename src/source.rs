//! Source files and byte spans into them.

use std::path::{Path, PathBuf};

/// Index of a file in the [`SourceMap`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct SourceId(pub u32);

/// A byte range in one source file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Span {
    pub source: SourceId,
    pub start: u32,
    pub end: u32,
}

impl Span {
    pub fn new(source: SourceId, start: usize, end: usize) -> Span {
        Span {
            source,
            start: start as u32,
            end: end as u32,
        }
    }

    /// The smallest span covering both (same source assumed).
    pub fn to(self, other: Span) -> Span {
        Span {
            source: self.source,
            start: self.start.min(other.start),
            end: self.end.max(other.end),
        }
    }

    pub fn len(&self) -> usize {
        (self.end - self.start) as usize
    }

    pub fn is_empty(&self) -> bool {
        self.end == self.start
    }
}

/// A value with the span it came from.
#[derive(Debug, Clone, PartialEq)]
pub struct Spanned<T> {
    pub node: T,
    pub span: Span,
}

impl<T> Spanned<T> {
    pub fn new(node: T, span: Span) -> Self {
        Spanned { node, span }
    }
}

/// One loaded file.
#[derive(Debug)]
pub struct SourceFile {
    /// Name shown in diagnostics: the path as the user gave it, or `std/<name>.stack`.
    pub name: String,
    /// Directory that relative paths inside the file resolve against; `None` for stdlib files.
    pub dir: Option<PathBuf>,
    pub text: String,
    /// Values for parameters (`--var`, var files): may hold secrets, so
    /// diagnostics name the place but never quote the text.
    pub sensitive: bool,
}

/// Every file read during one compilation.
#[derive(Debug, Default)]
pub struct SourceMap {
    files: Vec<SourceFile>,
}

impl SourceMap {
    pub fn add(&mut self, name: String, dir: Option<PathBuf>, text: String) -> SourceId {
        self.files.push(SourceFile {
            name,
            dir,
            text,
            sensitive: false,
        });
        SourceId((self.files.len() - 1) as u32)
    }

    /// Adds a file of parameter values, whose text diagnostics never show.
    pub fn add_sensitive(&mut self, name: String, dir: Option<PathBuf>, text: String) -> SourceId {
        let id = self.add(name, dir, text);
        self.files[id.0 as usize].sensitive = true;
        id
    }

    pub fn get(&self, id: SourceId) -> &SourceFile {
        &self.files[id.0 as usize]
    }

    pub fn text(&self, span: Span) -> &str {
        let text = &self.get(span.source).text;
        text.get(span.start as usize..span.end as usize)
            .unwrap_or("")
    }

    /// 1-based line and column (in characters) of a byte offset.
    pub fn line_col(&self, source: SourceId, offset: u32) -> (usize, usize) {
        let text = &self.get(source).text;
        let offset = (offset as usize).min(text.len());
        let before = text.get(..offset).unwrap_or("");
        let line = before.matches('\n').count() + 1;
        let col = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
        (line, col)
    }

    /// `file:line:col` of a span's start.
    pub fn location(&self, span: Span) -> String {
        let (line, col) = self.line_col(span.source, span.start);
        format!("{}:{}:{}", self.get(span.source).name, line, col)
    }

    pub fn dir_of(&self, source: SourceId) -> Option<&Path> {
        self.get(source).dir.as_deref()
    }
}
