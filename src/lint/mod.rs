//! The security lint of `stackc check` (`docs/lint.md`): warnings W0001…
//! about a deployment that works but is risky. It reads the evaluated
//! deployment (values after defaults, loops and modules) and points at the
//! fields where the values are written (`eval::Places`). A comment
//! `# stackc: allow W0003` on the line of a field or resource, or in the
//! comment lines just above it, silences a code there (`allow.rs`).

mod allow;
mod rules;

use crate::deployment::Deployment;
use crate::diagnostic::{Diagnostic, ErrorCode};
use crate::eval::{Place, Places};
use crate::source::{SourceMap, Span};

/// One finding before it is placed: the field it is about (or the resource).
struct Finding {
    code: ErrorCode,
    address: String,
    /// The field the finding is about; `None` for the resource as a whole.
    field: Option<&'static str>,
    /// Text inside the field's value to point at when it is written there
    /// (an `env` key, a mount's source), rather than at the whole value.
    within: Option<String>,
    message: String,
    label: String,
    help: String,
}

/// The warnings of a deployment, in source order, minus those an
/// annotation allows.
pub fn lint(deployment: &Deployment, places: &Places, sources: &SourceMap) -> Vec<Diagnostic> {
    let mut out = Vec::new();
    for finding in rules::findings(deployment) {
        // Resources without a place (the stack's default network) are stackc's own.
        let Some(place) = places.get(&finding.address) else {
            continue;
        };
        let field_span = finding
            .field
            .and_then(|f| place.field(f))
            .map(|span| narrow(span, finding.within.as_deref(), sources));
        if allowed(finding.code, place, field_span, sources) {
            continue;
        }
        let span = field_span.unwrap_or(place.name);
        out.push(
            Diagnostic::new(finding.code, finding.message)
                .label(span, finding.label)
                .help(finding.help)
                .warning(),
        );
    }
    out.sort_by_key(|d| d.primary_span().map(|s| (s.source.0, s.start)));
    out
}

/// The first place `within` is written inside `span`, or all of `span`.
/// Parameter values may be secret: their sources are never searched.
fn narrow(span: Span, within: Option<&str>, sources: &SourceMap) -> Span {
    let file = sources.get(span.source);
    let Some(within) = within.filter(|w| !w.is_empty() && !file.sensitive) else {
        return span;
    };
    let Some(text) = file.text.get(span.start as usize..span.end as usize) else {
        return span;
    };
    match text.find(within) {
        Some(at) => {
            let start = span.start as usize + at;
            Span::new(span.source, start, start + within.len())
        }
        None => span,
    }
}

/// Is the code allowed on the field's lines or the resource's?
fn allowed(code: ErrorCode, place: &Place, field: Option<Span>, sources: &SourceMap) -> bool {
    let at = |span: Span| {
        let file = sources.get(span.source);
        allow::allows(&file.text, span.start as usize, code.as_str())
    };
    field.is_some_and(at)
        || at(place.declaration)
        || at(place.name)
        || place.instances.iter().any(|s| at(*s))
}
