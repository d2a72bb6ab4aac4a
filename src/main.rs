//! The `stackc` command line: arguments → driver → rendering → exit code.

use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand};

use stackc::diagnostic::{RenderOptions, render_all};
use stackc::driver::{self, Compilation};

/// Compiling is allocation-heavy; mimalloc makes it markedly faster (docs/performance.md).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Parser)]
#[command(
    name = "stackc",
    version,
    about = "Typed Docker stacks: compile .stack files, plan and apply them"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Parse, resolve, type-check and evaluate; print diagnostics
    Check(Source),
    /// Print the normalized deployment as JSON
    Compile {
        #[command(flatten)]
        source: Source,
        /// Show secret values instead of "(secret)"
        #[arg(long)]
        show_secrets: bool,
    },
}

/// Where the stack is and how its parameters are set.
#[derive(Args)]
struct Source {
    /// A stack directory (holding main.stack) or a .stack file
    #[arg(default_value = ".")]
    path: PathBuf,
    /// Set a parameter: NAME=VALUE, read as the parameter's type (repeatable)
    #[arg(long = "var", value_name = "NAME=VALUE")]
    vars: Vec<String>,
    /// Read parameters from a file of `NAME = literal` lines or a JSON object (repeatable)
    #[arg(long = "var-file", value_name = "FILE")]
    var_files: Vec<PathBuf>,
}

impl Source {
    fn options(&self) -> driver::Options {
        driver::Options {
            path: self.path.clone(),
            vars: self.vars.clone(),
            var_files: self.var_files.clone(),
        }
    }
}

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            // Usage errors exit 1 like every other error; help and version exit 0.
            let _ = e.print();
            return if e.use_stderr() {
                ExitCode::from(1)
            } else {
                ExitCode::SUCCESS
            };
        }
    };
    match cli.command {
        Command::Check(source) => {
            let compilation = driver::compile(&source.options());
            match compilation.result {
                Ok(d) => {
                    let n = d.resources.len();
                    let plural = if n == 1 { "" } else { "s" };
                    eprintln!("ok: stack `{}` with {n} resource{plural}", d.stack);
                    exit_now(d)
                }
                Err(diags) => report(&compilation.sources, &diags),
            }
        }
        Command::Compile {
            source,
            show_secrets,
        } => {
            let Compilation { sources, result } = driver::compile(&source.options());
            match result {
                Ok(d) => {
                    print!("{}", d.to_json(show_secrets));
                    exit_now(d)
                }
                Err(diags) => report(&sources, &diags),
            }
        }
    }
}

/// The process ends next: freeing a large deployment piece by piece would
/// only cost time (as in compilers generally).
fn exit_now<T>(done: T) -> ExitCode {
    std::mem::forget(done);
    ExitCode::SUCCESS
}

fn render_options() -> RenderOptions {
    let color = std::io::stderr().is_terminal()
        && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty());
    RenderOptions {
        color,
        ..RenderOptions::PLAIN
    }
}

fn report(
    sources: &stackc::source::SourceMap,
    diags: &[stackc::diagnostic::Diagnostic],
) -> ExitCode {
    eprint!("{}", render_all(diags, sources, render_options()));
    ExitCode::from(1)
}
