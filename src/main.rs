//! The `stackc` command line: arguments → driver and engine → rendering → exit code.

use std::io::{BufRead, IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use clap::{Args, Parser, Subcommand, ValueEnum};

use stackc::apply::{ApplyOptions, Interrupt, Job, Outcome, Progress};
use stackc::deployment::Deployment;
use stackc::diagnostic::{RenderOptions, render_all};
use stackc::driver::{self, Compilation};
use stackc::engine::docker::DockerEngine;
use stackc::engine::{Engine, Holder};
use stackc::plan::{self, PlanOptions, SavedPlan};
use stackc::session::{self, LockError};

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
    /// Show what apply would change on the engine
    Plan {
        #[command(flatten)]
        source: Source,
        #[command(flatten)]
        engine: EngineArgs,
        #[command(flatten)]
        selection: Selection,
        /// Save the plan for `stackc apply FILE` (written with mode 0600: it holds secrets)
        #[arg(long, value_name = "FILE")]
        out: Option<PathBuf>,
        #[arg(long, value_enum, default_value = "human")]
        format: Format,
        /// Exit 0 when there are no changes, 2 when there are, 1 on errors
        #[arg(long)]
        detailed_exitcode: bool,
    },
    /// Plan, confirm and make the changes; or apply a saved plan file
    Apply {
        /// A stack directory or .stack file, or a plan file saved by `plan --out`
        #[arg(default_value = ".", value_name = "PATH|PLANFILE")]
        source: PathBuf,
        /// With a plan file: the stack it must have been made for
        #[arg(value_name = "PATH")]
        stack_path: Option<PathBuf>,
        #[command(flatten)]
        vars: Vars,
        #[command(flatten)]
        engine: EngineArgs,
        #[command(flatten)]
        selection: Selection,
        #[command(flatten)]
        run: RunArgs,
    },
    /// Remove every object of the stack (volumes only with --allow-data-loss)
    Destroy {
        #[command(flatten)]
        source: Source,
        #[command(flatten)]
        engine: EngineArgs,
        #[command(flatten)]
        run: RunArgs,
    },
    /// List the stack's live objects, with drift against the source
    Status {
        #[command(flatten)]
        source: Source,
        #[command(flatten)]
        engine: EngineArgs,
        /// Print JSON
        #[arg(long)]
        json: bool,
    },
    /// Print the stack's outputs
    Output {
        /// An output name, a stack path, or both (NAME PATH)
        #[arg(num_args = 0..=2)]
        args: Vec<String>,
        #[command(flatten)]
        vars: Vars,
        /// Print JSON
        #[arg(long)]
        json: bool,
        /// Show secret values instead of "(secret)"
        #[arg(long)]
        show_secrets: bool,
    },
    /// Break a stack's lock left by a process that was killed
    Unlock {
        #[command(flatten)]
        source: Source,
        #[command(flatten)]
        engine: EngineArgs,
    },
}

#[derive(Clone, Copy, ValueEnum)]
enum Format {
    Human,
    Json,
    Markdown,
}

/// Where the stack is and how its parameters are set.
#[derive(Args)]
struct Source {
    /// A stack directory (holding main.stack) or a .stack file
    #[arg(default_value = ".")]
    path: PathBuf,
    #[command(flatten)]
    vars: Vars,
}

#[derive(Args)]
struct Vars {
    /// Set a parameter: NAME=VALUE, read as the parameter's type (repeatable)
    #[arg(long = "var", value_name = "NAME=VALUE")]
    vars: Vec<String>,
    /// Read parameters from a file of `NAME = literal` lines or a JSON object (repeatable)
    #[arg(long = "var-file", value_name = "FILE")]
    var_files: Vec<PathBuf>,
}

#[derive(Args)]
struct EngineArgs {
    /// The Docker engine (`unix:///var/run/docker.sock`, `tcp://host:2375`); default: DOCKER_HOST, the docker context, the local socket
    #[arg(long, short = 'H', value_name = "HOST")]
    host: Option<String>,
}

#[derive(Args)]
struct Selection {
    /// Plan only this resource and what it depends on (repeatable)
    #[arg(long, value_name = "ADDRESS")]
    target: Vec<String>,
    /// Replace this resource even if unchanged (repeatable)
    #[arg(long, value_name = "ADDRESS")]
    replace: Vec<String>,
}

#[derive(Args)]
struct RunArgs {
    /// Do not ask for confirmation (required when stdin is not a terminal)
    #[arg(long)]
    auto_approve: bool,
    /// At most this many actions at once
    #[arg(long, default_value_t = 10, value_parser = clap::value_parser!(u64).range(1..))]
    parallelism: u64,
    /// Wait this long for another apply's lock (0: fail at once)
    #[arg(long, default_value = "0s", value_parser = parse_duration)]
    lock_timeout: Duration,
    /// How long to wait for a dependency to become healthy or complete
    #[arg(long, default_value = "5m", value_parser = parse_duration)]
    wait_timeout: Duration,
    /// Allow deleting or replacing volumes (their data is lost)
    #[arg(long)]
    allow_data_loss: bool,
}

fn parse_duration(s: &str) -> Result<Duration, String> {
    stackc::units::parse_duration(s)
        .filter(|ms| *ms >= 0)
        .map(|ms| Duration::from_millis(ms as u64))
        .ok_or_else(|| format!("`{s}` is not a duration like 30s or 5m"))
}

impl Vars {
    fn options(&self, path: &Path) -> driver::Options {
        driver::Options {
            path: path.to_path_buf(),
            vars: self.vars.clone(),
            var_files: self.var_files.clone(),
        }
    }
}

/// A failure the user sees: a message, and help when there is some.
struct Failure {
    message: String,
    help: Option<String>,
}

impl Failure {
    fn new(message: impl Into<String>) -> Failure {
        Failure {
            message: message.into(),
            help: None,
        }
    }

    fn help(mut self, help: impl Into<String>) -> Failure {
        self.help = Some(help.into());
        self
    }
}

impl From<stackc::engine::EngineError> for Failure {
    fn from(e: stackc::engine::EngineError) -> Failure {
        Failure::new(e.to_string())
    }
}

type Outcome_ = Result<ExitCode, Failure>;

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
    let result = match cli.command {
        Command::Check(source) => check(&source),
        Command::Compile {
            source,
            show_secrets,
        } => compile(&source, show_secrets),
        Command::Output {
            args,
            vars,
            json,
            show_secrets,
        } => output(&args, &vars, json, show_secrets),
        command => engine_command(command),
    };
    match result {
        Ok(code) => code,
        Err(f) => {
            let color = color();
            let error = if color {
                "\x1b[31;1merror\x1b[0m"
            } else {
                "error"
            };
            eprintln!("{error}: {}", f.message);
            if let Some(help) = f.help {
                eprintln!("  help: {help}");
            }
            ExitCode::from(1)
        }
    }
}

fn color() -> bool {
    std::io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
}

fn render_options() -> RenderOptions {
    RenderOptions {
        color: color(),
        ..RenderOptions::PLAIN
    }
}

/// Compiles, or reports the diagnostics (`Err` carries the exit code).
fn compiled(options: &driver::Options) -> Result<Deployment, ExitCode> {
    let Compilation { sources, result } = driver::compile(options);
    result.map_err(|diags| {
        eprint!("{}", render_all(&diags, &sources, render_options()));
        ExitCode::from(1)
    })
}

/// The process ends next: freeing a large deployment piece by piece would
/// only cost time (as in compilers generally).
fn exit_now<T>(done: T) -> ExitCode {
    std::mem::forget(done);
    ExitCode::SUCCESS
}

fn check(source: &Source) -> Outcome_ {
    let d = match compiled(&source.vars.options(&source.path)) {
        Ok(d) => d,
        Err(code) => return Ok(code),
    };
    let n = d.resources.len();
    let plural = if n == 1 { "" } else { "s" };
    eprintln!("ok: stack `{}` with {n} resource{plural}", d.stack);
    Ok(exit_now(d))
}

fn compile(source: &Source, show_secrets: bool) -> Outcome_ {
    let d = match compiled(&source.vars.options(&source.path)) {
        Ok(d) => d,
        Err(code) => return Ok(code),
    };
    print!("{}", d.to_json(show_secrets));
    Ok(exit_now(d))
}

fn output(args: &[String], vars: &Vars, json: bool, show_secrets: bool) -> Outcome_ {
    let is_stack = |a: &str| Path::new(a).is_dir() || a.ends_with(".stack");
    let (name, path) = match args {
        [] => (None, ".".to_string()),
        [one] if is_stack(one) => (None, one.clone()),
        [one] => (Some(one.clone()), ".".to_string()),
        [name, path, ..] => (Some(name.clone()), path.clone()),
    };
    let d = match compiled(&vars.options(Path::new(&path))) {
        Ok(d) => d,
        Err(code) => return Ok(code),
    };
    let doc: serde_json::Value = serde_json::from_str(&d.to_json(show_secrets)).unwrap_or_default();
    let outputs = doc
        .get("outputs")
        .and_then(|o| o.as_object())
        .cloned()
        .unwrap_or_default();
    let values: serde_json::Map<String, serde_json::Value> = outputs
        .iter()
        .map(|(k, v)| (k.clone(), v.get("value").cloned().unwrap_or_default()))
        .collect();
    match name {
        Some(name) => {
            let Some(value) = values.get(&name) else {
                let names: Vec<&str> = values.keys().map(String::as_str).collect();
                let mut f = Failure::new(format!("the stack has no output `{name}`"));
                if let Some(m) = stackc::diagnostic::did_you_mean(&name, names.iter().copied()) {
                    f = f.help(m);
                } else if !names.is_empty() {
                    f = f.help(format!("its outputs are: {}", names.join(", ")));
                }
                return Err(f);
            };
            match (json, value) {
                (false, serde_json::Value::String(s)) => println!("{s}"),
                (_, v) => println!("{}", serde_json::to_string_pretty(v).unwrap_or_default()),
            }
        }
        None if json => println!(
            "{}",
            serde_json::to_string_pretty(&values).unwrap_or_default()
        ),
        None => {
            for (k, v) in &values {
                println!("{k} = {v}");
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn engine_command(command: Command) -> Outcome_ {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(|e| Failure::new(format!("cannot start the async runtime: {e}")))?;
    runtime.block_on(async move {
        match command {
            Command::Plan {
                source,
                engine,
                selection,
                out,
                format,
                detailed_exitcode,
            } => {
                plan_command(
                    &source,
                    &engine,
                    &selection,
                    out.as_deref(),
                    format,
                    detailed_exitcode,
                )
                .await
            }
            Command::Apply {
                source,
                stack_path,
                vars,
                engine,
                selection,
                run,
            } => {
                apply_command(
                    &source,
                    stack_path.as_deref(),
                    &vars,
                    &engine,
                    &selection,
                    &run,
                )
                .await
            }
            Command::Destroy {
                source,
                engine,
                run,
            } => destroy_command(&source, &engine, &run).await,
            Command::Status {
                source,
                engine,
                json,
            } => status_command(&source, &engine, json).await,
            Command::Unlock { source, engine } => unlock_command(&source, &engine).await,
            _ => Ok(ExitCode::SUCCESS),
        }
    })
}

async fn connect(args: &EngineArgs) -> Result<DockerEngine, Failure> {
    DockerEngine::connect(args.host.as_deref())
        .await
        .map_err(Failure::from)
}

fn plan_options(selection: &Selection, deployment: &Deployment) -> Result<PlanOptions, Failure> {
    for a in selection.target.iter().chain(&selection.replace) {
        if deployment.resource(a).is_none() {
            let addresses = deployment.resources.iter().map(|r| r.address.as_str());
            let mut f = Failure::new(format!("the stack has no resource `{a}`"));
            if let Some(m) = stackc::diagnostic::did_you_mean(a, addresses) {
                f = f.help(m);
            }
            return Err(f);
        }
    }
    Ok(PlanOptions {
        targets: selection.target.clone(),
        replace: selection.replace.clone(),
        destroy: false,
    })
}

async fn plan_command(
    source: &Source,
    engine_args: &EngineArgs,
    selection: &Selection,
    out: Option<&Path>,
    format: Format,
    detailed_exitcode: bool,
) -> Outcome_ {
    let deployment = match compiled(&source.vars.options(&source.path)) {
        Ok(d) => d,
        Err(code) => return Ok(code),
    };
    let options = plan_options(selection, &deployment)?;
    let engine = connect(engine_args).await?;
    let (plan, live) = session::plan(&engine, &deployment, &options).await?;
    match format {
        Format::Human => print!(
            "{}",
            plan::human(&plan, std::io::stdout().is_terminal() && color())
        ),
        Format::Json => println!(
            "{}",
            serde_json::to_string_pretty(&plan).unwrap_or_default()
        ),
        Format::Markdown => print!("{}", plan::markdown(&plan)),
    }
    if let Some(out) = out {
        let saved = SavedPlan::new(
            plan.clone(),
            deployment,
            live.fingerprint(),
            engine.describe(),
        );
        plan::write_plan_file(out, &saved).map_err(Failure::new)?;
        eprintln!(
            "Saved the plan to {}; apply it with `stackc apply {}`.",
            out.display(),
            out.display()
        );
    }
    Ok(if detailed_exitcode && plan.has_changes() {
        ExitCode::from(2)
    } else {
        ExitCode::SUCCESS
    })
}

/// Is this a plan file rather than a stack?
fn is_plan_file(path: &Path) -> bool {
    path.is_file() && path.extension().is_none_or(|e| e != "stack")
}

async fn take_lock(
    engine: &dyn Engine,
    stack: &str,
    operation: &str,
    timeout: Duration,
) -> Result<(), Failure> {
    let holder = Holder::me(operation);
    session::lock(engine, stack, &holder, timeout, |other| {
        eprintln!("The stack `{stack}` is locked by {other}; waiting up to {}…", stackc::units::format_duration(timeout.as_millis() as i64));
    })
    .await
    .map_err(|e| match e {
        LockError::Held(other) => Failure::new(format!("the stack `{stack}` is locked by {other}"))
            .help("wait for it (--lock-timeout 5m), or if that process is gone, break the lock with `stackc unlock`"),
        LockError::Engine(e) => Failure::from(e),
    })
}

/// Asks "yes?" on a terminal; without one, refuses unless approved beforehand.
fn confirm(question: &str, auto_approve: bool) -> Result<bool, Failure> {
    if auto_approve {
        return Ok(true);
    }
    if !std::io::stdin().is_terminal() {
        return Err(
            Failure::new("stdin is not a terminal, so there is no one to confirm")
                .help("pass --auto-approve to go ahead without confirmation"),
        );
    }
    eprint!("\n{question}\n  Only 'yes' will be accepted: ");
    let _ = std::io::stderr().flush();
    let mut answer = String::new();
    let _ = std::io::stdin().lock().read_line(&mut answer);
    Ok(answer.trim() == "yes")
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
        Some(plan::read_plan_file(target).map_err(Failure::new)?)
    } else {
        None
    };
    let deployment = match &saved {
        Some(s) => {
            if s.deployment.stack != s.stack {
                return Err(Failure::new(format!(
                    "{} was made for another stack (`{}`)",
                    target.display(),
                    s.deployment.stack
                )));
            }
            if let Some(path) = stack_path {
                let here = match compiled(&vars.options(path)) {
                    Ok(d) => d,
                    Err(code) => return Ok(code),
                };
                if here.stack != s.stack {
                    return Err(Failure::new(format!(
                        "{} is a plan for the stack `{}`, not `{}`",
                        target.display(),
                        s.stack,
                        here.stack
                    )));
                }
            }
            s.deployment.clone()
        }
        None => match compiled(&vars.options(target)) {
            Ok(d) => d,
            Err(code) => return Ok(code),
        },
    };
    let options = plan_options(selection, &deployment)?;
    let engine = connect(engine_args).await?;
    let stack = deployment.stack.clone();
    take_lock(&engine, &stack, "apply", run.lock_timeout).await?;
    let result = apply_locked(&engine, &deployment, saved.as_ref(), &options, run, false).await;
    let _ = engine.unlock(&stack).await;
    result
}

async fn apply_locked(
    engine: &dyn Engine,
    deployment: &Deployment,
    saved: Option<&SavedPlan>,
    options: &PlanOptions,
    run: &RunArgs,
    destroying: bool,
) -> Outcome_ {
    let (mut plan, live) = session::plan(engine, deployment, options).await?;
    if let Some(saved) = saved {
        if live.fingerprint() != saved.fingerprint {
            return Err(Failure::new(
                "the plan is stale: the stack's objects changed since it was made",
            )
            .help("make a new plan with `stackc plan --out FILE`"));
        }
        plan = saved.plan.clone();
    }
    if destroying && !run.allow_data_loss {
        let kept = session::keep_volumes(&mut plan);
        for v in &kept {
            eprintln!("Keeping {v}: volumes are removed only with --allow-data-loss.");
        }
    }
    let stdout_color = std::io::stdout().is_terminal() && color();
    print!("{}", plan::human(&plan, stdout_color));
    if !plan.has_changes() {
        // Still record what is in place (the first apply of an already-converged stack).
        let job = Job {
            deployment,
            plan: &plan,
            live: &live,
        };
        session::apply(
            engine,
            job,
            &ApplyOptions::default(),
            &Progress::captured(),
            &Interrupt::default(),
            destroying,
        )
        .await?;
        return Ok(ExitCode::SUCCESS);
    }
    let at_risk = session::data_loss(&plan);
    if !at_risk.is_empty() && !run.allow_data_loss {
        return Err(Failure::new(format!(
            "this would delete or replace {} and lose the data",
            at_risk.join(", ")
        ))
        .help("run again with --allow-data-loss if the data may go"));
    }
    if saved.is_none() {
        let question = if destroying {
            "Do you really want to destroy these objects?"
        } else {
            "Do you want to perform these actions?"
        };
        if !confirm(question, run.auto_approve)? {
            eprintln!("Cancelled: nothing was changed.");
            return Ok(ExitCode::from(1));
        }
    }
    let live_display = std::io::stderr().is_terminal();
    let progress = std::sync::Arc::new(Progress::new(live_display, color()));
    let interrupt = Interrupt::default();
    let watcher = {
        let interrupt = interrupt.clone();
        let progress = progress.clone();
        tokio::spawn(async move {
            while tokio::signal::ctrl_c().await.is_ok() {
                if interrupt.press() == 1 {
                    progress.note(
                        "Interrupted: finishing the running actions; press Ctrl-C again to abort.",
                    );
                } else {
                    progress.note("Aborted.");
                    std::process::exit(130);
                }
            }
        })
    };
    let ticker = {
        let progress = progress.clone();
        tokio::spawn(async move {
            loop {
                tokio::time::sleep(Duration::from_millis(250)).await;
                progress.tick();
            }
        })
    };
    let options = ApplyOptions {
        parallelism: run.parallelism as usize,
        wait_timeout: run.wait_timeout,
    };
    let job = Job {
        deployment,
        plan: &plan,
        live: &live,
    };
    let outcome = session::apply(engine, job, &options, &progress, &interrupt, destroying).await;
    ticker.abort();
    watcher.abort();
    progress.clear();
    let outcome = outcome?;
    report(&outcome, &plan, destroying)
}

fn report(outcome: &Outcome, plan: &plan::Plan, destroying: bool) -> Outcome_ {
    if outcome.succeeded() {
        let s = plan.summary;
        if destroying {
            eprintln!("\nDestroy complete: {} destroyed.", s.destroy);
        } else {
            eprintln!(
                "\nApply complete: {} added, {} changed, {} destroyed.",
                s.add, s.change, s.destroy
            );
        }
        return Ok(ExitCode::SUCCESS);
    }
    let mut text = String::from("\n");
    if outcome.interrupted {
        text.push_str("Interrupted.\n");
    }
    text.push_str(&format!("Done ({}):\n", outcome.done.len()));
    for (address, what, _) in &outcome.done {
        text.push_str(&format!("  {address}: {what}\n"));
    }
    if !outcome.failed.is_empty() {
        text.push_str(&format!("Failed ({}):\n", outcome.failed.len()));
        for (address, error) in &outcome.failed {
            text.push_str(&format!("  {address}: {error}\n"));
        }
    }
    if !outcome.not_attempted.is_empty() {
        text.push_str(&format!(
            "Not attempted ({}):\n",
            outcome.not_attempted.len()
        ));
        for address in &outcome.not_attempted {
            text.push_str(&format!("  {address}\n"));
        }
    }
    eprint!("{text}");
    Err(Failure::new(if outcome.interrupted {
        "the apply was interrupted"
    } else {
        "the apply failed"
    })
    .help("run `stackc apply` again: it continues from where this one stopped"))
}

async fn destroy_command(source: &Source, engine_args: &EngineArgs, run: &RunArgs) -> Outcome_ {
    let deployment = match compiled(&source.vars.options(&source.path)) {
        Ok(d) => d,
        Err(code) => return Ok(code),
    };
    let engine = connect(engine_args).await?;
    let stack = deployment.stack.clone();
    take_lock(&engine, &stack, "destroy", run.lock_timeout).await?;
    let options = PlanOptions {
        destroy: true,
        ..PlanOptions::default()
    };
    let result = apply_locked(&engine, &deployment, None, &options, run, true).await;
    let _ = engine.unlock(&stack).await;
    result
}

async fn status_command(source: &Source, engine_args: &EngineArgs, json: bool) -> Outcome_ {
    let deployment = match compiled(&source.vars.options(&source.path)) {
        Ok(d) => d,
        Err(code) => return Ok(code),
    };
    let engine = connect(engine_args).await?;
    let (plan, live) = session::plan(&engine, &deployment, &PlanOptions::default()).await?;
    let rows = stackc::status::rows(&deployment, &plan, &live);
    if json {
        println!(
            "{}",
            serde_json::to_string_pretty(&rows).unwrap_or_default()
        );
    } else {
        print!("{}", stackc::status::table(&rows));
    }
    Ok(ExitCode::SUCCESS)
}

async fn unlock_command(source: &Source, engine_args: &EngineArgs) -> Outcome_ {
    let deployment = match compiled(&source.vars.options(&source.path)) {
        Ok(d) => d,
        Err(code) => return Ok(code),
    };
    let engine = connect(engine_args).await?;
    if engine.unlock(&deployment.stack).await? {
        eprintln!("Unlocked the stack `{}`.", deployment.stack);
    } else {
        eprintln!("The stack `{}` was not locked.", deployment.stack);
    }
    Ok(ExitCode::SUCCESS)
}
