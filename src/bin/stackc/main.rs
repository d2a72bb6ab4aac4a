//! The `stackc` command line: arguments → driver and engine → rendering → exit code.

mod args;
mod compose;
mod fmt;
mod streams;
mod terminal;
mod tty;

use std::io::{IsTerminal, Write};
use std::path::Path;
use std::process::ExitCode;

use clap::Parser;

use stackc::deployment::Deployment;
use stackc::diagnostic::{ErrorCode, RenderOptions, render_all};
use stackc::driver::{self, Compilation};
use stackc::engine::Engine;
use stackc::engine::docker::{DockerEngine, resolve_host};
use stackc::plan::{self, PlanOptions, SavedPlan};
use stackc::session::{self, Mode, SessionError};

use args::{Cli, Command, EngineArgs, Format, RunArgs, Selection, Source, Vars};
use terminal::run_session;

/// Compiling is allocation-heavy; mimalloc makes it markedly faster (docs/performance.md).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Why a command ends with a non-zero exit.
pub(crate) enum Failure {
    /// A message, and help when there is some.
    Message {
        message: String,
        help: Option<String>,
    },
    /// Nothing more to say: the diagnostics are printed, or the reader of
    /// stdout went away (`stackc plan | head`).
    Silent,
    /// Ctrl-C twice: exit 130, as a shell expects after SIGINT.
    Aborted,
}

impl Failure {
    pub(crate) fn new(message: impl Into<String>) -> Failure {
        Failure::Message {
            message: message.into(),
            help: None,
        }
    }
}

impl From<SessionError> for Failure {
    fn from(e: SessionError) -> Failure {
        match e {
            SessionError::Aborted => Failure::Aborted,
            e => Failure::Message {
                help: e.help(),
                message: e.to_string(),
            },
        }
    }
}

impl From<stackc::engine::EngineError> for Failure {
    fn from(e: stackc::engine::EngineError) -> Failure {
        Failure::new(e.to_string())
    }
}

impl From<plan::PlanFileError> for Failure {
    fn from(e: plan::PlanFileError) -> Failure {
        Failure::new(e.to_string())
    }
}

pub(crate) type Outcome_ = Result<ExitCode, Failure>;

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
    match run(cli.command) {
        Ok(code) => code,
        Err(Failure::Message { message, help }) => {
            let error = if color() {
                "\x1b[31;1merror\x1b[0m"
            } else {
                "error"
            };
            eprintln!("{error}: {message}");
            if let Some(help) = help {
                eprintln!("  help: {help}");
            }
            ExitCode::from(1)
        }
        Err(Failure::Silent) => ExitCode::from(1),
        Err(Failure::Aborted) => ExitCode::from(130),
    }
}

fn run(command: Command) -> Outcome_ {
    match command {
        Command::Check {
            source,
            deny_warnings,
        } => check(&source, deny_warnings),
        Command::Explain { code } => match stackc::explain::explain(&code) {
            Ok(text) => print_out(&text).map(|()| ExitCode::SUCCESS),
            Err(e) => Err(Failure::Message {
                message: e.message,
                help: Some(e.help),
            }),
        },
        Command::Completions { shell } => {
            let mut script = Vec::new();
            let mut command = <Cli as clap::CommandFactory>::command();
            clap_complete::generate(shell, &mut command, "stackc", &mut script);
            print_out(&String::from_utf8_lossy(&script)).map(|()| ExitCode::SUCCESS)
        }
        Command::Graph { source, format } => {
            let d = compiled(&source.vars.options(&source.path))?;
            print_out(&match format {
                args::GraphFormat::Dot => stackc::graph::dot(&d),
                args::GraphFormat::Mermaid => stackc::graph::mermaid(&d),
            })?;
            Ok(exit_now(d))
        }
        Command::Fmt(args) => fmt::fmt(&args, render_options()),
        Command::Compile {
            source,
            show_secrets,
        } => compile(&source, show_secrets),
        Command::Output {
            args,
            vars,
            json,
            show_secrets,
            planned: true,
            ..
        } => output(&args, &vars, json, show_secrets),
        Command::Output {
            args,
            vars,
            json,
            show_secrets,
            planned: false,
            engine,
        } => on_engine(
            async move { deployed_output(&args, &vars, json, show_secrets, &engine).await },
        ),
        Command::Plan {
            source,
            engine,
            selection,
            out,
            format,
            detailed_exitcode,
        } => on_engine(async move {
            plan_command(
                &source,
                &engine,
                &selection,
                out.as_deref(),
                format,
                detailed_exitcode,
            )
            .await
        }),
        Command::Apply {
            source,
            stack_path,
            vars,
            engine,
            selection,
            run,
        } => on_engine(async move {
            apply_command(
                &source,
                stack_path.as_deref(),
                &vars,
                &engine,
                &selection,
                &run,
            )
            .await
        }),
        Command::Destroy {
            source,
            engine,
            run,
        } => on_engine(async move { destroy_command(&source, &engine, &run).await }),
        Command::Status {
            source,
            engine,
            json,
        } => on_engine(async move { status_command(&source, &engine, json).await }),
        Command::Logs(args) => on_engine(async move { streams::logs_command(&args).await }),
        Command::Exec(args) => on_engine(async move { streams::exec_command(&args).await }),
        Command::ImportCompose(args) => compose::import_command(&args),
        Command::ExportCompose(args) => compose::export_command(&args),
        Command::Unlock {
            source,
            engine,
            force,
        } => on_engine(async move { unlock_command(&source, &engine, force).await }),
    }
}

/// Runs an engine command on the async runtime.
fn on_engine(command: impl Future<Output = Outcome_>) -> Outcome_ {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(|e| Failure::new(format!("cannot start the async runtime: {e}")))?
        .block_on(command)
}

pub(crate) fn color() -> bool {
    std::io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
}

pub(crate) fn stdout_color() -> bool {
    std::io::stdout().is_terminal() && color()
}

fn render_options() -> RenderOptions {
    RenderOptions {
        color: color(),
        ..RenderOptions::PLAIN
    }
}

/// Compiles, or prints the diagnostics.
pub(crate) fn compiled(options: &driver::Options) -> Result<Deployment, Failure> {
    let Compilation {
        sources,
        result,
        warnings,
    } = driver::compile(options);
    print_warnings(&warnings, &sources);
    result.map_err(|diags| {
        eprint!("{}", render_all(&diags, &sources, render_options()));
        Failure::Silent
    })
}

/// Warnings go to stderr, and the command goes on.
fn print_warnings(
    warnings: &[stackc::diagnostic::Diagnostic],
    sources: &stackc::source::SourceMap,
) {
    if !warnings.is_empty() {
        eprint!("{}", render_all(warnings, sources, render_options()));
    }
}

/// Writes to stdout. A reader that went away (`stackc plan | head`) ends
/// the command quietly, as it would a shell tool, instead of a panic.
pub(crate) fn print_out(text: &str) -> Result<(), Failure> {
    let mut stdout = std::io::stdout().lock();
    match stdout
        .write_all(text.as_bytes())
        .and_then(|()| stdout.flush())
    {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Err(Failure::Silent),
        Err(e) => Err(Failure::new(format!("cannot write the output: {e}"))),
    }
}

/// Pretty JSON; a value that cannot be encoded is an error, never empty output.
fn json(value: &impl serde::Serialize) -> Result<String, Failure> {
    serde_json::to_string_pretty(value)
        .map_err(|e| Failure::new(format!("cannot encode the output as JSON: {e}")))
}

/// The process ends next: freeing a large deployment piece by piece would
/// only cost time (as in compilers generally).
fn exit_now<T>(done: T) -> ExitCode {
    std::mem::forget(done);
    ExitCode::SUCCESS
}

/// Compiles with the security lint (`docs/lint.md`); `--deny-warnings`
/// makes any warning a failure.
fn check(source: &Source, deny_warnings: bool) -> Outcome_ {
    let options = driver::Options {
        lint: true,
        ..source.vars.options(&source.path)
    };
    let Compilation {
        sources,
        result,
        warnings,
    } = driver::compile(&options);
    print_warnings(&warnings, &sources);
    let d = result.map_err(|diags| {
        eprint!("{}", render_all(&diags, &sources, render_options()));
        Failure::Silent
    })?;
    let n = d.resources.len();
    let plural = if n == 1 { "" } else { "s" };
    if deny_warnings && !warnings.is_empty() {
        let w = warnings.len();
        return Err(Failure::Message {
            message: format!(
                "stack `{}` has {w} warning{} (--deny-warnings)",
                d.stack,
                if w == 1 { "" } else { "s" }
            ),
            help: Some(
                "fix them, or allow one where it is meant with a comment `# stackc: allow CODE` above it (`stackc explain CODE`)"
                    .to_string(),
            ),
        });
    }
    let w = warnings.len();
    let with = match w {
        0 => String::new(),
        1 => ", 1 warning".to_string(),
        w => format!(", {w} warnings"),
    };
    eprintln!("ok: stack `{}` with {n} resource{plural}{with}", d.stack);
    Ok(exit_now(d))
}

fn compile(source: &Source, show_secrets: bool) -> Outcome_ {
    let d = compiled(&source.vars.options(&source.path))?;
    let text = d
        .to_json(show_secrets)
        .map_err(|e| Failure::new(format!("cannot encode the deployment as JSON: {e}")))?;
    print_out(&text)?;
    Ok(exit_now(d))
}

/// `stackc output [NAME] [PATH]`: the name, the path, or both.
fn output_args(args: &[String]) -> (Option<&str>, &str) {
    let is_stack = |a: &str| Path::new(a).is_dir() || a.ends_with(".stack");
    match args {
        [] => (None, "."),
        [one] if is_stack(one) => (None, one.as_str()),
        [one] => (Some(one.as_str()), "."),
        [name, path, ..] => (Some(name.as_str()), path.as_str()),
    }
}

/// Prints one output, or all of them.
fn print_outputs(
    outputs: &serde_json::Map<String, serde_json::Value>,
    name: Option<&str>,
    as_json: bool,
) -> Result<(), Failure> {
    match name {
        Some(name) => match outputs.get(name) {
            Some(serde_json::Value::String(s)) if !as_json => print_out(&format!("{s}\n")),
            Some(value) => print_out(&format!("{}\n", json(value)?)),
            None => Err(SessionError::NoOutput {
                name: name.to_string(),
                outputs: outputs.keys().cloned().collect(),
            }
            .into()),
        },
        None if as_json => print_out(&format!("{}\n", json(outputs)?)),
        None => {
            for (k, v) in outputs {
                print_out(&format!("{k} = {v}\n"))?;
            }
            Ok(())
        }
    }
}

/// `stackc output --planned`: what the source computes now.
fn output(args: &[String], vars: &Vars, as_json: bool, show_secrets: bool) -> Outcome_ {
    let (name, path) = output_args(args);
    let d = compiled(&vars.options(Path::new(path)))?;
    print_outputs(&session::outputs(&d, show_secrets), name, as_json)?;
    Ok(ExitCode::SUCCESS)
}

/// An output the source has and the last apply did not record.
fn not_deployed(name: &str) -> Failure {
    Failure::Message {
        message: format!(
            "the output `{name}` is not deployed: the source has it, the last apply did not"
        ),
        help: Some(format!(
            "apply the stack, or see what the source computes with `stackc output --planned {name}`"
        )),
    }
}

/// `stackc output`: what the last apply left, as Terraform shows its state's outputs.
async fn deployed_output(
    args: &[String],
    vars: &Vars,
    as_json: bool,
    show_secrets: bool,
    engine_args: &EngineArgs,
) -> Outcome_ {
    if show_secrets {
        return Err(SessionError::SecretsNotKept.into());
    }
    let (name, path) = output_args(args);
    let options = vars.options(Path::new(path));
    // Only parameters missing: the deployed outputs are read all the same,
    // without comparing them with the source.
    let d = match evaluated_or_outline(&options)? {
        Evaluated::Deployment(d) => d,
        Evaluated::Outline(outline) => {
            let engine = connect(engine_args).await?;
            let outputs = session::recorded_outputs(&engine, &outline.stack).await?;
            if let Some(name) = name
                && !outputs.contains_key(name)
                && outline.outputs.iter().any(|o| o == name)
            {
                return Err(not_deployed(name));
            }
            print_outputs(&outputs, name, as_json)?;
            eprintln!(
                "note: the source's parameters are not all set, so it was not compared with what is deployed"
            );
            return Ok(ExitCode::SUCCESS);
        }
    };
    let engine = connect(engine_args).await?;
    let deployed = session::deployed_outputs(&engine, &d).await?;
    if let Some(name) = name
        && !deployed.outputs.contains_key(name)
        && d.outputs.contains_key(name)
    {
        return Err(not_deployed(name));
    }
    let changed: Vec<&String> = deployed
        .changed
        .iter()
        .filter(|c| name.is_none_or(|n| n == c.as_str()))
        .collect();
    print_outputs(&deployed.outputs, name, as_json)?;
    let quoted = |names: Vec<&&String>| {
        names
            .iter()
            .map(|c| format!("`{c}`"))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let (other, new): (Vec<&&String>, Vec<&&String>) = changed
        .iter()
        .partition(|c| deployed.outputs.contains_key(c.as_str()));
    if !other.is_empty() {
        eprintln!(
            "note: the source now computes other values for {}: shown as deployed by the last apply (`stackc output --planned` shows the source's)",
            quoted(other)
        );
    }
    if !new.is_empty() {
        eprintln!(
            "note: the source has outputs the last apply did not deploy: {}",
            quoted(new)
        );
    }
    Ok(ExitCode::SUCCESS)
}

/// The source evaluated, or — when only parameters are missing (E0405) —
/// its outline, read without them: enough for the commands that work from
/// what is on the engine (`output`, `destroy`, `status`).
enum Evaluated {
    Deployment(Deployment),
    Outline(driver::Outline),
}

fn evaluated_or_outline(options: &driver::Options) -> Result<Evaluated, Failure> {
    let Compilation {
        sources,
        result,
        warnings,
    } = driver::compile(options);
    print_warnings(&warnings, &sources);
    let failed = |diags: &[stackc::diagnostic::Diagnostic]| {
        eprint!("{}", render_all(diags, &sources, render_options()));
        Failure::Silent
    };
    match result {
        Ok(d) => Ok(Evaluated::Deployment(d)),
        Err(diags) if diags.iter().all(|d| d.code == ErrorCode::MissingParam) => {
            driver::outline(options)
                .map(Evaluated::Outline)
                .map_err(|diags| failed(&diags))
        }
        Err(diags) => Err(failed(&diags)),
    }
}

async fn connect(args: &EngineArgs) -> Result<DockerEngine, Failure> {
    let endpoint = resolve_host(args.host.as_deref(), &|name| std::env::var(name).ok())?;
    if let Some(warning) = endpoint.cleartext_warning() {
        eprintln!("{warning}");
    }
    Ok(DockerEngine::connect_to(&endpoint).await?)
}

async fn plan_command(
    source: &Source,
    engine_args: &EngineArgs,
    selection: &Selection,
    out: Option<&Path>,
    format: Format,
    detailed_exitcode: bool,
) -> Outcome_ {
    let deployment = compiled(&source.vars.options(&source.path))?;
    let options = session::selection(&deployment, &selection.target, &selection.replace)?;
    let engine = connect(engine_args).await?;
    let report = |line: &str| eprintln!("{line}");
    session::pull_images(&engine, &deployment, selection.pull, &report).await?;
    let (plan, live) = session::plan(&engine, &deployment, &options).await?;
    match format {
        Format::Human => print_out(&plan::human(&plan, stdout_color()))?,
        Format::Json => print_out(&format!("{}\n", json(&plan)?))?,
        Format::Markdown => print_out(&plan::markdown(&plan))?,
    }
    let changes = plan.has_changes();
    // A plan apply would refuse fails, so that CI does not pass it.
    if !plan.conflicts.is_empty() {
        let n = plan.conflicts.len();
        let (them, objects) = if n == 1 {
            ("it", "an object")
        } else {
            ("them", "objects")
        };
        return Err(Failure::Message {
            message: format!(
                "apply would refuse this plan: {objects} outside the stack {} in its way (listed above)",
                if n == 1 { "is" } else { "are" }
            ),
            help: Some(format!(
                "free {them} (stackc never removes what is not the stack's), or change the names or ports in the stack"
            )),
        });
    }
    if let Some(out) = out {
        let saved = SavedPlan::new(plan, deployment, live.snapshot(), engine.describe());
        plan::write_plan_file(out, &saved)?;
        eprintln!(
            "Saved the plan to {}; apply it with `stackc apply {}`.",
            out.display(),
            out.display()
        );
    }
    Ok(if detailed_exitcode && changes {
        ExitCode::from(2)
    } else {
        ExitCode::SUCCESS
    })
}

/// Is this a plan file rather than a stack?
fn is_plan_file(path: &Path) -> bool {
    path.is_file() && path.extension().is_none_or(|e| e != "stack")
}

async fn apply_command(
    target: &Path,
    stack_path: Option<&Path>,
    vars: &Vars,
    engine_args: &EngineArgs,
    selection: &Selection,
    run: &RunArgs,
) -> Outcome_ {
    let saved = if is_plan_file(target) {
        Some(plan::read_plan_file(target)?)
    } else {
        None
    };
    let deployment = match &saved {
        Some(saved) => {
            if let Some(path) = stack_path {
                session::check_plan_stack(target, saved, &compiled(&vars.options(path))?)?;
            }
            saved.deployment.clone()
        }
        None => compiled(&vars.options(target))?,
    };
    let pull = selection.pull;
    let selection = session::selection(&deployment, &selection.target, &selection.replace)?;
    let engine = connect(engine_args).await?;
    let request = run.request(
        &deployment,
        target,
        saved.as_ref(),
        selection,
        pull,
        Mode::Apply,
    );
    run_session(&engine, &request).await
}

async fn destroy_command(source: &Source, engine_args: &EngineArgs, run: &RunArgs) -> Outcome_ {
    // Destroy removes every object labelled with the stack: without the
    // parameters, the stack's name is all it needs.
    let deployment = match evaluated_or_outline(&source.vars.options(&source.path))? {
        Evaluated::Deployment(d) => d,
        Evaluated::Outline(outline) => {
            eprintln!(
                "note: the source's parameters are not all set: destroying every object labelled with the stack `{}` on the engine",
                outline.stack
            );
            session::stack_only(&outline.stack)
        }
    };
    let engine = connect(engine_args).await?;
    let request = run.request(
        &deployment,
        &source.path,
        None,
        PlanOptions::default(),
        false,
        Mode::Destroy,
    );
    run_session(&engine, &request).await
}

async fn status_command(source: &Source, engine_args: &EngineArgs, as_json: bool) -> Outcome_ {
    let deployment = match evaluated_or_outline(&source.vars.options(&source.path))? {
        Evaluated::Deployment(d) => d,
        Evaluated::Outline(outline) => {
            // The live objects alone: drift needs the source's values.
            let engine = connect(engine_args).await?;
            let live = session::observe_stack(&engine, &outline.stack).await?;
            let rows = stackc::status::live_rows(&live);
            if as_json {
                print_out(&format!("{}\n", json(&rows)?))?;
            } else {
                print_out(&stackc::status::live_table(&rows))?;
            }
            eprintln!(
                "note: the source's parameters are not all set, so drift cannot be judged: set them (--var, --var-file, STACKC_VAR_<name>) to see it"
            );
            return Ok(ExitCode::SUCCESS);
        }
    };
    let engine = connect(engine_args).await?;
    let (plan, live) = session::plan(&engine, &deployment, &PlanOptions::default()).await?;
    let rows = stackc::status::rows(&deployment, &plan, &live);
    if as_json {
        print_out(&format!("{}\n", json(&rows)?))?;
    } else {
        print_out(&stackc::status::table(&rows))?;
    }
    Ok(ExitCode::SUCCESS)
}

/// Breaks a stack's lock; the stack is named by its source or by a saved plan.
async fn unlock_command(source: &Source, engine_args: &EngineArgs, force: bool) -> Outcome_ {
    let stack = if is_plan_file(&source.path) {
        plan::read_plan_file(&source.path)?.stack
    } else {
        compiled(&source.vars.options(&source.path))?.stack
    };
    let engine = connect(engine_args).await?;
    match session::break_lock(&engine, &stack, force).await? {
        session::Unlocked::Broken(holder) => {
            eprintln!("Unlocked the stack `{stack}` (it was locked by {holder}).");
        }
        session::Unlocked::NotLocked => eprintln!("The stack `{stack}` was not locked."),
    }
    Ok(ExitCode::SUCCESS)
}
