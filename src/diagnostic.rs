//! Diagnostics: every error a user can cause, with a stable code, spans and help.
//!
//! Phases collect all their diagnostics and the driver stops between phases.
//! Rendering goes through miette; tests render without colour at a fixed width.

use std::fmt;

use miette::{GraphicalReportHandler, GraphicalTheme, LabeledSpan, NamedSource};

use crate::source::{SourceMap, Span};

macro_rules! error_codes {
    ($($variant:ident = $code:literal, $title:literal;)*) => {
        /// Every kind of error, with a code that never changes meaning.
        /// `docs/errors.md` shows an input for each.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum ErrorCode { $($variant,)* }

        impl ErrorCode {
            pub const ALL: &'static [ErrorCode] = &[$(ErrorCode::$variant,)*];

            pub fn as_str(self) -> &'static str {
                match self { $(ErrorCode::$variant => $code,)* }
            }

            /// A short description, used as the heading in `docs/errors.md`.
            pub fn title(self) -> &'static str {
                match self { $(ErrorCode::$variant => $title,)* }
            }
        }
    };
}

error_codes! {
    // A bug in stackc, not in the input: no input should ever cause one.
    Internal = "E0001", "internal compiler error — please report";
    Syntax = "E0101", "syntax error";
    InvalidEscape = "E0102", "unknown escape sequence in a string";
    NumberTooLarge = "E0103", "number literal out of range";
    TooDeep = "E0104", "nesting too deep";
    UnknownName = "E0201", "unknown name";
    Duplicate = "E0202", "name defined twice";
    ImportNotFound = "E0203", "imported module not found";
    ImportCycle = "E0204", "import cycle";
    LetCycle = "E0205", "cycle among let bindings";
    RecursiveFunction = "E0206", "recursive function";
    MisplacedItem = "E0207", "item not allowed here";
    UnknownKind = "E0208", "unknown resource kind";
    UnknownFunction = "E0209", "unknown function";
    TypeMismatch = "E0301", "type mismatch";
    UnknownField = "E0302", "unknown field";
    MissingField = "E0303", "missing required field";
    UnknownType = "E0304", "unknown type";
    ArgumentCount = "E0305", "wrong number of arguments";
    InvalidOperands = "E0306", "operator applied to the wrong types";
    NoSuchMember = "E0307", "no such attribute";
    AssertionFailed = "E0401", "assertion failed";
    EvalCycle = "E0402", "value depends on itself";
    DuplicateResource = "E0403", "resource defined twice";
    InvalidValue = "E0404", "invalid value";
    MissingParam = "E0405", "required parameter not set";
    DependencyCycle = "E0406", "cycle among resources";
    IndexOutOfRange = "E0407", "index or key not found";
    Arithmetic = "E0408", "arithmetic error";
    FileError = "E0409", "file cannot be read";
    UnknownResource = "E0410", "reference to a resource that does not exist";
    InvalidVariable = "E0411", "invalid --var or --var-file";
    SecretExposed = "E0412", "secret used where it would be shown";
    InvalidName = "E0413", "invalid name";
    InvalidArgument = "E0414", "invalid function argument";
    DuplicateKey = "E0415", "key given twice";
    NameConflict = "E0416", "two resources get the same Docker name";
    SecretInMetadata = "E0417", "secret in Docker metadata";
    EvalLimit = "E0418", "evaluation limit exceeded";
    PortConflict = "E0419", "two containers publish the same host port";
    // Values from files, Compose habits.
    InvalidDotenv = "E0420", "invalid dotenv file";
    // Files copied into containers.
    InvalidFile = "E0445", "invalid file for a container";
    // Network modes and static addresses.
    NetworkModeConflict = "E0430", "a field that cannot go with `network_mode`";
    InvalidNetworkMode = "E0431", "invalid network mode";
    InvalidStaticAddress = "E0432", "invalid static network address";
    // ---- named types, refinements and validation ----
    RecursiveType = "E0460", "recursive type";
    InvalidRefinement = "E0461", "refinement that does not fit its type";
    OutsideRefinement = "E0462", "value outside its refined type";
    ValidationFailed = "E0463", "parameter validation failed";
    InvalidDefault = "E0464", "field default that is not a constant";
    TypeTooLarge = "E0465", "named type too large";
    // ---- expressions: spreads, merges and null handling ----
    NeverNull = "E0470", "`??` on a value that is never null";
    NotSpreadable = "E0471", "spread of a value that is not a record";
    WrittenOutOnly = "E0472", "a field that must be written out";
    // ---- text functions, templates and loop names ----
    TemplateVarMissing = "E0480", "template placeholder without a value";
    TemplateVarUnused = "E0481", "template value never used";
    InvalidTemplate = "E0482", "invalid template";
    InvalidRegex = "E0483", "invalid regular expression";
    InvalidJson = "E0484", "invalid JSON";
    NotEncodable = "E0485", "value cannot be encoded";
    ShadowedName = "E0486", "loop variable hides a name (warning)";
    // ---- `moved` blocks ----
    InvalidMoved = "E0490", "invalid `moved` block";
    NotAnAddress = "E0491", "not a resource address";
    MovedFromExisting = "E0492", "`moved` from an address still in the source";
    MovedToNothing = "E0493", "`moved` to an address not in the source";
    MovedKindMismatch = "E0494", "`moved` between different kinds";
    AmbiguousMoves = "E0495", "ambiguous or cyclic `moved` blocks";
    NotFound = "E0501", "stack not found";
    // ---- Swarm ----
    ServiceOffOverlay = "E0510", "a service on a network that is not overlay";
    OverlayNotAttachable = "E0511", "a container on an overlay network that is not attachable";
    // ---- lint: warnings of `stackc check` (docs/lint.md, src/lint/) ----
    Privileged = "W0001", "privileged container";
    DockerSocket = "W0002", "Docker socket mounted";
    FloatingTag = "W0003", "image without a fixed tag";
    HostNamespace = "W0004", "host network or process namespace";
    DangerousCapability = "W0005", "dangerous capability added";
    PlainSecret = "W0006", "secret-looking variable set to plain text";
    SecretInCommand = "W0007", "secret in a command or health check";
    HealthyWithoutCheck = "W0008", "waited on as healthy without a health check";
    DatabasePublished = "W0009", "database port published on every interface";
    RunsAsRoot = "W0010", "runs as root";
}

impl fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A span with the text shown under it.
#[derive(Debug, Clone)]
pub struct Label {
    pub span: Span,
    pub text: String,
}

/// Whether a diagnostic stops the compilation. A warning is printed and
/// the command goes on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Severity {
    #[default]
    Error,
    Warning,
}

/// One error or warning, with its primary label first.
#[derive(Debug, Clone)]
pub struct Diagnostic {
    pub code: ErrorCode,
    pub severity: Severity,
    pub message: String,
    pub labels: Vec<Label>,
    pub help: Option<String>,
}

impl Diagnostic {
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Diagnostic {
        Diagnostic {
            code,
            severity: Severity::Error,
            message: message.into(),
            labels: Vec::new(),
            help: None,
        }
    }

    /// A bug in stackc, not in the input: said so, with what to do.
    pub fn internal(message: impl Into<String>) -> Diagnostic {
        Diagnostic::new(ErrorCode::Internal, message)
            .help("this is a bug in stackc: please report it, with the input that caused it")
    }

    pub fn label(mut self, span: Span, text: impl Into<String>) -> Diagnostic {
        self.labels.push(Label {
            span,
            text: text.into(),
        });
        self
    }

    /// The same diagnostic as a warning.
    pub fn warning(mut self) -> Diagnostic {
        self.severity = Severity::Warning;
        self
    }

    pub fn is_error(&self) -> bool {
        self.severity == Severity::Error
    }

    pub fn help(mut self, help: impl Into<String>) -> Diagnostic {
        self.help = Some(help.into());
        self
    }

    pub fn primary_span(&self) -> Option<Span> {
        self.labels.first().map(|l| l.span)
    }
}

/// "did you mean `x`?" for the closest candidate, if any is close enough.
pub fn did_you_mean<'a>(
    name: &str,
    candidates: impl IntoIterator<Item = &'a str>,
) -> Option<String> {
    let mut best: Option<(f64, &str)> = None;
    for candidate in candidates {
        let score = strsim::jaro_winkler(name, candidate);
        if score > 0.8 && best.is_none_or(|(s, _)| score > s) {
            best = Some((score, candidate));
        }
    }
    best.map(|(_, c)| format!("did you mean `{c}`?"))
}

/// For a member `.a-1` that is not there when `.a` is: the name after `.`
/// takes every `-` that touches it, so this was probably meant as a
/// subtraction (`x.a - 1`).
pub fn subtraction_hint<'a>(
    name: &str,
    candidates: impl IntoIterator<Item = &'a str>,
) -> Option<String> {
    let (head, rest) = name.split_once('-')?;
    if head.is_empty() || !candidates.into_iter().any(|c| c == head) {
        return None;
    }
    Some(format!(
        "the `-` is part of the name after `.`; to subtract, put a space before it: `.{head} - {rest}`"
    ))
}

/// How rendered diagnostics look.
#[derive(Debug, Clone, Copy)]
pub struct RenderOptions {
    pub color: bool,
    pub width: usize,
}

impl RenderOptions {
    /// No colour, 100 columns: what tests snapshot and what pipes receive.
    pub const PLAIN: RenderOptions = RenderOptions {
        color: false,
        width: 100,
    };
}

/// Renders one diagnostic, its labels grouped by file.
pub fn render(diag: &Diagnostic, sources: &SourceMap, options: RenderOptions) -> String {
    let theme = if options.color {
        GraphicalTheme::unicode()
    } else {
        GraphicalTheme::unicode_nocolor()
    };
    let handler = GraphicalReportHandler::new_themed(theme)
        .with_width(options.width)
        .with_links(false);
    let report = Report::build(diag, sources);
    let mut out = String::new();
    if handler.render_report(&mut out, &report).is_err() {
        let what = if diag.is_error() { "error" } else { "warning" };
        out = format!("{what}[{}]: {}\n", diag.code, diag.message);
    }
    out
}

/// Renders all diagnostics followed by a count line of the errors (none
/// when there are only warnings).
pub fn render_all(diags: &[Diagnostic], sources: &SourceMap, options: RenderOptions) -> String {
    let mut out = String::new();
    for d in diags {
        out.push_str(&render(d, sources, options));
        out.push('\n');
    }
    match diags.iter().filter(|d| d.is_error()).count() {
        0 => {}
        1 => out.push_str("error: could not compile: 1 error\n"),
        n => out.push_str(&format!("error: could not compile: {n} errors\n")),
    }
    out
}

/// The miette view of a [`Diagnostic`]: labels in the primary file render
/// inline; labels in other files become related reports.
#[derive(Debug)]
struct Report {
    code: ErrorCode,
    severity: Severity,
    message: String,
    help: Option<String>,
    /// Places in sensitive sources, named but not shown.
    notes: Vec<String>,
    source: Option<NamedSource<ClippedSource>>,
    labels: Vec<LabeledSpan>,
    related: Vec<Report>,
}

impl Report {
    fn build(diag: &Diagnostic, sources: &SourceMap) -> Report {
        let mut report = Report {
            code: diag.code,
            severity: diag.severity,
            message: diag.message.clone(),
            help: diag.help.clone(),
            notes: Vec::new(),
            source: None,
            labels: Vec::new(),
            related: Vec::new(),
        };
        let primary = diag.labels.first().map(|l| l.span.source);
        let mut clipped = ClippedSource::default();
        for label in &diag.labels {
            let file = sources.get(label.span.source);
            if file.sensitive {
                // Parameter values may be secret: name the place, never show the text.
                let text = if label.text.is_empty() {
                    "here".to_string()
                } else {
                    label.text.clone()
                };
                let place = if file.name.starts_with("--var") {
                    format!("in `{}`", file.name)
                } else {
                    format!("at {}", sources.location(label.span))
                };
                report
                    .notes
                    .push(format!("{text} ({place}; not shown: it may be secret)"));
                continue;
            }
            let text = (!label.text.is_empty()).then(|| label.text.clone());
            let span = (label.span.start as usize, label.span.end as usize);
            if Some(label.span.source) == primary {
                if report.source.is_none() {
                    // Long lines are clipped around the primary file's labels.
                    let spans: Vec<(usize, usize)> = diag
                        .labels
                        .iter()
                        .filter(|l| l.span.source == label.span.source)
                        .map(|l| (l.span.start as usize, l.span.end as usize))
                        .collect();
                    clipped = ClippedSource::new(&file.text, &spans);
                    report.source = Some(
                        NamedSource::new(file.name.clone(), clipped.clone()).with_language("stack"),
                    );
                }
                report.labels.push(clipped.label(text, span));
            } else {
                let other = ClippedSource::new(&file.text, &[span]);
                report.related.push(Report {
                    code: diag.code,
                    severity: diag.severity,
                    message: format!("see {}", sources.location(label.span)),
                    help: None,
                    notes: Vec::new(),
                    labels: vec![other.label(text, span)],
                    source: Some(NamedSource::new(file.name.clone(), other)),
                    related: Vec::new(),
                });
            }
        }
        report
    }
}

/// Lines longer than this are shown clipped: miette cannot draw labels on
/// very long lines (it panics past 65,535 columns), and nobody could read them.
const MAX_LINE: usize = 1000;

/// A clipped line shows a window of at most this many bytes (with `…` at
/// each end that was cut), starting [`CLIP_BEFORE`] bytes before its first label.
const CLIP_WIDTH: usize = 240;
const CLIP_BEFORE: usize = 60;

const ELLIPSIS: &str = "…";

/// A source text with each line over [`MAX_LINE`] bytes cut to a window
/// around the labels in it. Line numbers are kept, and the columns shown are
/// those of the original text.
#[derive(Debug, Clone, Default)]
struct ClippedSource {
    text: String,
    windows: Vec<Window>,
}

/// One clipped line: offsets in the original text, then in the clipped one.
#[derive(Debug, Clone, Copy)]
struct Window {
    line: usize,
    line_end: usize,
    start: usize,
    end: usize,
    clip_start: usize,
    clip_line_end: usize,
}

impl ClippedSource {
    fn new(text: &str, spans: &[(usize, usize)]) -> ClippedSource {
        if !text.split('\n').any(|l| l.len() > MAX_LINE) {
            return ClippedSource {
                text: text.to_string(),
                windows: Vec::new(),
            };
        }
        let mut out = String::new();
        let mut windows = Vec::new();
        let mut line = 0;
        for piece in text.split_inclusive('\n') {
            let content = piece.strip_suffix('\n').unwrap_or(piece);
            let line_end = line + content.len();
            if content.len() <= MAX_LINE {
                out.push_str(piece);
                line += piece.len();
                continue;
            }
            let anchor = spans
                .iter()
                .filter(|(s, e)| *s <= line_end && *e >= line)
                .map(|(s, _)| (*s).max(line))
                .min()
                .unwrap_or(line);
            let mut start = anchor.saturating_sub(CLIP_BEFORE).max(line);
            let mut end = (start + CLIP_WIDTH).min(line_end);
            start = end.saturating_sub(CLIP_WIDTH).max(line);
            while !text.is_char_boundary(start) {
                start += 1;
            }
            while !text.is_char_boundary(end) {
                end -= 1;
            }
            if start > line {
                out.push_str(ELLIPSIS);
            }
            let clip_start = out.len();
            out.push_str(&text[start..end]);
            if end < line_end {
                out.push_str(ELLIPSIS);
            }
            windows.push(Window {
                line,
                line_end,
                start,
                end,
                clip_start,
                clip_line_end: out.len(),
            });
            out.push_str(&piece[content.len()..]);
            line += piece.len();
        }
        ClippedSource { text: out, windows }
    }

    /// Where an offset of the original text is shown: in a clipped line, at
    /// the nearest place inside its window.
    fn map(&self, offset: usize) -> usize {
        let mut shift: isize = 0;
        for w in &self.windows {
            if offset < w.line {
                break;
            }
            if offset <= w.line_end {
                return w.clip_start + (offset.clamp(w.start, w.end) - w.start);
            }
            shift = w.clip_line_end as isize - w.line_end as isize;
        }
        offset.saturating_add_signed(shift)
    }

    /// The original column (in bytes) of a shown offset inside a clipped line.
    fn column(&self, shown: usize) -> Option<usize> {
        let w = self.windows.iter().find(|w| {
            let clip_line = w.clip_start - if w.start > w.line { ELLIPSIS.len() } else { 0 };
            shown >= clip_line && shown <= w.clip_line_end
        })?;
        let inside = shown.clamp(w.clip_start, w.clip_start + (w.end - w.start)) - w.clip_start;
        Some(w.start + inside - w.line)
    }

    fn label(&self, text: Option<String>, (start, end): (usize, usize)) -> LabeledSpan {
        let (s, e) = (self.map(start), self.map(end));
        LabeledSpan::new(text, s, e.saturating_sub(s))
    }
}

impl miette::SourceCode for ClippedSource {
    fn read_span<'a>(
        &'a self,
        span: &miette::SourceSpan,
        before: usize,
        after: usize,
    ) -> Result<Box<dyn miette::SpanContents<'a> + 'a>, miette::MietteError> {
        let contents = self.text.read_span(span, before, after)?;
        // The column shown in the header is that of the original line.
        let column = match self.column(span.offset()) {
            Some(c) if before == 0 => c,
            _ => contents.column(),
        };
        Ok(Box::new(miette::MietteSpanContents::new(
            contents.data(),
            *contents.span(),
            contents.line(),
            column,
            contents.line_count(),
        )))
    }
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Report {}

impl miette::Diagnostic for Report {
    fn code<'a>(&'a self) -> Option<Box<dyn fmt::Display + 'a>> {
        Some(Box::new(self.code))
    }

    fn severity(&self) -> Option<miette::Severity> {
        Some(match self.severity {
            Severity::Error => miette::Severity::Error,
            Severity::Warning => miette::Severity::Warning,
        })
    }

    fn help<'a>(&'a self) -> Option<Box<dyn fmt::Display + 'a>> {
        let mut lines: Vec<&str> = self.notes.iter().map(String::as_str).collect();
        lines.extend(self.help.as_deref());
        if lines.is_empty() {
            None
        } else {
            Some(Box::new(lines.join("\n")))
        }
    }

    fn source_code(&self) -> Option<&dyn miette::SourceCode> {
        self.source.as_ref().map(|s| s as &dyn miette::SourceCode)
    }

    fn labels(&self) -> Option<Box<dyn Iterator<Item = LabeledSpan> + '_>> {
        if self.labels.is_empty() {
            None
        } else {
            Some(Box::new(self.labels.iter().cloned()))
        }
    }

    fn related<'a>(&'a self) -> Option<Box<dyn Iterator<Item = &'a dyn miette::Diagnostic> + 'a>> {
        if self.related.is_empty() {
            None
        } else {
            Some(Box::new(
                self.related.iter().map(|r| r as &dyn miette::Diagnostic),
            ))
        }
    }
}

#[cfg(test)]
mod clip_tests {
    use super::*;

    #[test]
    fn short_lines_are_kept_as_they_are() {
        let c = ClippedSource::new("let x = 1\n", &[(4, 5)]);
        assert_eq!(c.text, "let x = 1\n");
        assert_eq!(c.map(4), 4);
    }

    #[test]
    fn a_long_line_is_cut_around_its_label_on_char_boundaries() {
        let line = format!("let x = \"{}\" + 1\nnext\n", "é日".repeat(20_000));
        let at = line.find(" + 1").unwrap_or(0) + 3;
        let c = ClippedSource::new(&line, &[(at, at + 1)]);
        assert!(c.text.len() < 400, "{}", c.text.len());
        assert!(c.text.starts_with('…') && c.text.ends_with("1\nnext\n"));
        let shown = c.map(at);
        assert_eq!(&c.text[shown..shown + 1], "1");
        assert_eq!(c.column(shown), Some(at));
        // An offset on a later line moves by what was cut.
        let next = line.find("next").unwrap_or(0);
        assert_eq!(&c.text[c.map(next)..c.map(next) + 4], "next");
    }
}
