//! `stackc fmt [PATH…]`: rewrite `.stack` files in their canonical layout.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::Args;

use stackc::diagnostic::{RenderOptions, render};
use stackc::format::{FormatError, format_source};
use stackc::source::SourceMap;

use crate::{Failure, Outcome_};

#[derive(Args)]
pub(crate) struct FmtArgs {
    /// Files or directories (searched for .stack files); `-` formats stdin to stdout
    #[arg(default_value = ".", value_name = "PATH")]
    paths: Vec<PathBuf>,
    /// Change nothing: list the files that are not formatted, and exit 1 if any
    #[arg(long)]
    check: bool,
    /// Change nothing: print what would change as a unified diff, and exit 1 if anything would
    #[arg(long)]
    diff: bool,
}

pub(crate) fn fmt(args: &FmtArgs, options: RenderOptions) -> Outcome_ {
    let mut files = Vec::new();
    for path in &args.paths {
        if path == Path::new("-") {
            files.push(None);
        } else if path.is_dir() {
            stack_files(path, &mut files)
                .map_err(|e| Failure::new(format!("cannot read {}: {e}", path.display())))?;
        } else {
            files.push(Some(path.clone()));
        }
    }
    let mut failed = false;
    let mut changed = false;
    for file in files {
        let name = file
            .as_ref()
            .map_or("<stdin>".to_string(), |p| p.display().to_string());
        let text = match read(file.as_deref()) {
            Ok(text) => text,
            Err(e) => {
                eprintln!("error: cannot read {name}: {e}");
                failed = true;
                continue;
            }
        };
        let mut sources = SourceMap::default();
        let id = sources.add(name.clone(), None, text.clone());
        let formatted = match format_source(&text, id) {
            Ok(formatted) => formatted,
            Err(FormatError::Syntax(diags)) => {
                for d in &diags {
                    eprintln!("{}", render(d, &sources, options));
                }
                eprintln!("error: {name} is left as it is: it does not parse");
                failed = true;
                continue;
            }
            Err(FormatError::Unsupported(message)) => {
                eprintln!("error: {name}: {message}");
                failed = true;
                continue;
            }
        };
        let writes = !args.check && !args.diff;
        if file.is_none() && writes {
            crate::print_out(&formatted)?;
            continue;
        }
        if formatted == text {
            continue;
        }
        changed = true;
        if args.check {
            crate::print_out(&format!("{name}\n"))?;
        }
        if args.diff {
            let diff = similar::TextDiff::from_lines(&text, &formatted);
            crate::print_out(&diff.unified_diff().header(&name, &name).to_string())?;
        }
        if let Some(path) = file.filter(|_| writes) {
            std::fs::write(&path, &formatted)
                .map_err(|e| Failure::new(format!("cannot write {name}: {e}")))?;
        }
    }
    if failed || changed && (args.check || args.diff) {
        Ok(ExitCode::from(1))
    } else {
        Ok(ExitCode::SUCCESS)
    }
}

fn read(file: Option<&Path>) -> std::io::Result<String> {
    match file {
        Some(path) => std::fs::read_to_string(path),
        None => {
            let mut text = String::new();
            std::io::stdin().read_to_string(&mut text)?;
            Ok(text)
        }
    }
}

/// Every `.stack` file under `dir`, sorted; hidden directories and `target`
/// are skipped, and symbolic links to directories are not followed.
fn stack_files(dir: &Path, out: &mut Vec<Option<PathBuf>>) -> std::io::Result<()> {
    let mut entries: Vec<_> = std::fs::read_dir(dir)?.collect::<Result<_, _>>()?;
    entries.sort_by_key(|e| e.file_name());
    for entry in entries {
        let path = entry.path();
        let name = entry.file_name().to_string_lossy().to_string();
        let kind = entry.file_type()?;
        if kind.is_dir() {
            if !name.starts_with('.') && name != "target" {
                stack_files(&path, out)?;
            }
        } else if name.ends_with(".stack") {
            out.push(Some(path));
        }
    }
    Ok(())
}
