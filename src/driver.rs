//! Runs the phases in order, stopping after the first phase with errors.

use std::path::{Path, PathBuf};

use indexmap::IndexMap;

use crate::deployment::Deployment;
use crate::diagnostic::{Diagnostic, ErrorCode};
use crate::eval::{self, VarInput, VarValue};
use crate::resolve::{self, Program};
use crate::source::{SourceMap, Span};
use crate::syntax;
use crate::types::{self, Type};

/// What to compile.
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// A stack directory (holding `main.stack`) or a `.stack` file.
    pub path: PathBuf,
    /// `NAME=VALUE`, in order; later ones win.
    pub vars: Vec<String>,
    /// Var files, in order; `--var` wins over all of them.
    pub var_files: Vec<PathBuf>,
}

/// The outcome of a compilation: the sources read, and the deployment or
/// the diagnostics of the first phase that failed.
#[derive(Debug)]
pub struct Compilation {
    pub sources: SourceMap,
    pub result: Result<Deployment, Vec<Diagnostic>>,
}

/// Deep inputs recurse deeply; a large stack keeps them from overflowing.
const STACK_SIZE: usize = 256 * 1024 * 1024;

/// Compiles a stack to its deployment.
pub fn compile(options: &Options) -> Compilation {
    let run = || {
        let mut sources = SourceMap::default();
        let result = compile_into(options, &mut sources);
        Compilation { sources, result }
    };
    std::thread::scope(|scope| {
        match std::thread::Builder::new()
            .stack_size(STACK_SIZE)
            .spawn_scoped(scope, run)
        {
            Ok(handle) => handle.join().unwrap_or_else(|_| Compilation {
                sources: SourceMap::default(),
                result: Err(vec![Diagnostic::new(
                    ErrorCode::Syntax,
                    "internal error: the compiler crashed",
                )]),
            }),
            Err(_) => run(),
        }
    })
}

fn compile_into(options: &Options, sources: &mut SourceMap) -> Result<Deployment, Vec<Diagnostic>> {
    let root = resolve::root_file(&options.path).map_err(|d| vec![d])?;
    let program = resolve::load(&root, sources).map_err(in_order)?;
    let errors = types::check_program(&program);
    if !errors.is_empty() {
        return Err(in_order(errors));
    }
    let vars = read_vars(options, &program, sources).map_err(in_order)?;
    eval::evaluate(&program, sources, &vars).map_err(in_order)
}

/// A phase's diagnostics in source order, each reported once (a loop can
/// reach the same mistake many times).
fn in_order(mut diagnostics: Vec<Diagnostic>) -> Vec<Diagnostic> {
    diagnostics.sort_by_key(|d| d.primary_span().map(|s| (s.source, s.start, s.end)));
    let mut seen = std::collections::HashSet::new();
    diagnostics.retain(|d| {
        let spans: Vec<(u32, u32, u32)> = d
            .labels
            .iter()
            .map(|l| (l.span.source.0, l.span.start, l.span.end))
            .collect();
        seen.insert((d.code, d.message.clone(), spans))
    });
    diagnostics
}

/// Reads var files and `--var` values into one value per parameter.
fn read_vars(
    options: &Options,
    program: &Program,
    sources: &mut SourceMap,
) -> Result<Vec<VarInput>, Vec<Diagnostic>> {
    let mut vars: IndexMap<String, VarInput> = IndexMap::new();
    let mut errors = Vec::new();
    for file in &options.var_files {
        match read_var_file(file, sources) {
            Ok(entries) => {
                for v in entries {
                    vars.insert(v.name.clone(), v);
                }
            }
            Err(e) => errors.extend(e),
        }
    }
    let root = program.root();
    for raw in &options.vars {
        let Some((name, text)) = raw.split_once('=') else {
            // The text is not shown: it may be a secret given without its name.
            errors.push(
                Diagnostic::new(ErrorCode::InvalidVariable, "a `--var` is not NAME=VALUE").help(
                    "write `--var NAME=VALUE` (the value given is not shown: it may be secret)",
                ),
            );
            continue;
        };
        let name = name.trim().to_string();
        let ty = root
            .params
            .get(&name)
            .map(|p| types::check::resolve_type(&p.ty, &mut Vec::new()));
        // Values of secret (or unknown) parameters never appear in diagnostics.
        let source_name = format!("--var {name}");
        let id = if ty.as_ref().is_some_and(|t| !t.contains_secret()) {
            sources.add(source_name, None, text.to_string())
        } else {
            sources.add_sensitive(source_name, None, text.to_string())
        };
        let span = Span::new(id, 0, text.len());
        let value = match ty {
            Some(t)
                if eval::needs_literal(&t)
                    && !(matches!(t, Type::Optional(_)) && text == "null") =>
            {
                // Sizes and structured values are written as literals: `512MiB`, `[80, 443]`.
                match syntax::parse_expr(&sources.get(id).text, id) {
                    Ok(e) => VarValue::Expr(e),
                    Err(d) => {
                        errors.push(d);
                        continue;
                    }
                }
            }
            _ => VarValue::Text(text.to_string()),
        };
        vars.insert(name.clone(), VarInput { name, span, value });
    }
    if errors.is_empty() {
        Ok(vars.into_values().collect())
    } else {
        Err(errors)
    }
}

/// A var file: `NAME = literal` lines, or one JSON object.
fn read_var_file(path: &Path, sources: &mut SourceMap) -> Result<Vec<VarInput>, Vec<Diagnostic>> {
    let text = std::fs::read_to_string(path).map_err(|e| {
        vec![Diagnostic::new(
            ErrorCode::InvalidVariable,
            format!("cannot read var file `{}`: {e}", path.display()),
        )]
    })?;
    let id = sources.add_sensitive(
        path.display().to_string(),
        path.parent().map(Path::to_path_buf),
        text,
    );
    let text = &sources.get(id).text;
    if text.trim_start().starts_with('{') {
        let object: serde_json::Map<String, serde_json::Value> = serde_json::from_str(text)
            .map_err(|e| {
                let offset = offset_of(text, e.line(), e.column());
                vec![
                    Diagnostic::new(
                        ErrorCode::InvalidVariable,
                        format!("var file is not a JSON object: {e}"),
                    )
                    .label(Span::new(id, offset, offset), "here"),
                ]
            })?;
        return Ok(object
            .into_iter()
            .map(|(name, value)| {
                let quoted = format!("\"{name}\"");
                let start = text.find(&quoted).unwrap_or(0);
                let span = Span::new(id, start, start + quoted.len());
                VarInput {
                    name,
                    span,
                    value: VarValue::Json(value),
                }
            })
            .collect());
    }
    let entries = syntax::parse_var_file(text, id)?;
    Ok(entries
        .into_iter()
        .map(|(name, e)| VarInput {
            name: name.node,
            span: e.span,
            value: VarValue::Expr(e),
        })
        .collect())
}

fn offset_of(text: &str, line: usize, column: usize) -> usize {
    let mut offset = 0;
    for (i, l) in text.split_inclusive('\n').enumerate() {
        if i + 1 == line {
            return (offset + column.saturating_sub(1)).min(text.len());
        }
        offset += l.len();
    }
    text.len()
}
