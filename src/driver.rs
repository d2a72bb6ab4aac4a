//! Runs the phases in order, stopping after the first phase with errors.

use std::path::PathBuf;

use crate::deployment::Deployment;
use crate::diagnostic::{Diagnostic, ErrorCode};
use crate::eval;
use crate::files::Confinement;
use crate::resolve;
use crate::source::SourceMap;
use crate::types;

/// What to compile.
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// A stack directory (holding `main.stack`) or a `.stack` file.
    pub path: PathBuf,
    /// Environment variables: `STACKC_VAR_<name>` ones set parameters, below
    /// var files and `--var`; others are ignored.
    pub environment: Vec<(std::ffi::OsString, std::ffi::OsString)>,
    /// `NAME=VALUE`, in order; later ones win.
    pub vars: Vec<String>,
    /// Var files, in order; `--var` wins over all of them.
    pub var_files: Vec<PathBuf>,
    /// Directories outside the stack's own that it may read (`--allow-outside`).
    pub allow_outside: Vec<PathBuf>,
    /// How much work and memory evaluation may take (`--max-steps`, …).
    pub limits: eval::Limits,
    /// Run the security lint (`stackc check`): its findings are warnings.
    pub lint: bool,
}

/// The outcome of a compilation: the sources read, and the deployment or
/// the diagnostics of the first phase that failed.
#[derive(Debug)]
pub struct Compilation {
    pub sources: SourceMap,
    pub result: Result<Deployment, Vec<Diagnostic>>,
    /// Warnings, in order: printed whatever the result, never a failure.
    pub warnings: Vec<Diagnostic>,
}

/// Deep inputs recurse deeply; a large stack keeps them from overflowing.
const STACK_SIZE: usize = 256 * 1024 * 1024;

/// Compiles a stack to its deployment.
pub fn compile(options: &Options) -> Compilation {
    let run = || {
        let mut sources = SourceMap::default();
        let mut warnings = Vec::new();
        let result = compile_into(options, &mut sources, &mut warnings);
        Compilation {
            sources,
            result,
            warnings: in_order(warnings),
        }
    };
    std::thread::scope(|scope| {
        match std::thread::Builder::new()
            .stack_size(STACK_SIZE)
            .spawn_scoped(scope, run)
        {
            Ok(handle) => handle.join().unwrap_or_else(|_| Compilation {
                sources: SourceMap::default(),
                result: Err(vec![Diagnostic::internal(
                    "internal error: the compiler crashed",
                )]),
                warnings: Vec::new(),
            }),
            Err(_) => run(),
        }
    })
}

fn compile_into(
    options: &Options,
    sources: &mut SourceMap,
    warnings: &mut Vec<Diagnostic>,
) -> Result<Deployment, Vec<Diagnostic>> {
    let root = resolve::root_file(&options.path).map_err(|d| vec![d])?;
    let files = confinement(&root, &options.allow_outside).map_err(|d| vec![d])?;
    let program = resolve::load(&root, &files, sources).map_err(in_order)?;
    let templates = types::TemplateFiles {
        sources,
        confinement: &files,
    };
    let (errors, found): (Vec<_>, Vec<_>) = types::check_program_with(&program, &templates)
        .into_iter()
        .partition(Diagnostic::is_error);
    warnings.extend(found);
    if !errors.is_empty() {
        return Err(in_order(errors));
    }
    let vars = eval::read_vars(
        &options.environment,
        &options.vars,
        &options.var_files,
        &program,
        sources,
    )
    .map_err(in_order)?;
    let (deployment, places) =
        eval::evaluate_with_places(&program, sources, &vars, &files, options.limits)
            .map_err(in_order)?;
    if options.lint {
        warnings.extend(crate::lint::lint(&deployment, &places, sources));
    }
    Ok(deployment)
}

/// What a stack is, read without evaluating it (no parameters needed).
pub struct Outline {
    pub stack: String,
    /// The outputs the root file declares by a plain name.
    pub outputs: Vec<String>,
}

/// The stack's outline: for commands that only need to find the stack on
/// the engine.
pub fn outline(options: &Options) -> Result<Outline, Vec<Diagnostic>> {
    let mut sources = SourceMap::default();
    let root = resolve::root_file(&options.path).map_err(|d| vec![d])?;
    let files = confinement(&root, &options.allow_outside).map_err(|d| vec![d])?;
    let program = resolve::load(&root, &files, &mut sources)?;
    let stack = eval::stack_name_of(program.root()).map_err(|d| vec![d])?;
    let outputs = program
        .root()
        .body
        .iter()
        .filter_map(|item| match item {
            crate::syntax::ast::Item::Output(o) => o.name.as_plain_string().map(str::to_string),
            _ => None,
        })
        .collect();
    Ok(Outline { stack, outputs })
}

/// What a stack may read: the root file's directory tree and the `--allow-outside` ones.
fn confinement(root: &std::path::Path, allowed: &[PathBuf]) -> Result<Confinement, Diagnostic> {
    let dir = root
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(std::path::Path::new("."));
    Confinement::new(dir, allowed)
        .map_err(|e| Diagnostic::new(ErrorCode::NotFound, format!("--allow-outside: {e}")))
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

/// Compiles `source` as the `main.stack` of a stack directory of its own,
/// with `--var` values: how the library's tests make a deployment.
#[cfg(test)]
pub(crate) fn compile_text(source: &str, vars: &[&str]) -> Deployment {
    use std::sync::atomic::{AtomicUsize, Ordering};
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    let dir = std::env::temp_dir().join(format!(
        "stackc-unit-{}-{}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::SeqCst)
    ));
    std::fs::create_dir_all(&dir).expect("mkdir");
    std::fs::write(dir.join("main.stack"), source).expect("write");
    let compiled = compile(&Options {
        path: dir.clone(),
        vars: vars.iter().map(|v| v.to_string()).collect(),
        ..Options::default()
    });
    let _ = std::fs::remove_dir_all(&dir);
    match compiled.result {
        Ok(d) => d,
        Err(ds) => panic!("does not compile: {}", ds[0].message),
    }
}
