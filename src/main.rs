//! The `stackc` command line: arguments → driver and engine → rendering → exit code.

use std::io::{BufRead, IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use clap::{Args, Parser, Subcommand, ValueEnum};

use stackc::apply::{ApplyOptions, Interrupt, Outcome, Progress};
use stackc::deployment::Deployment;
use stackc::diagnostic::{RenderOptions, render_all};
use stackc::driver::{self, Compilation};
use stackc::engine::docker::DockerEngine;
use stackc::engine::{Engine, Holder};
use stackc::plan::{self, Plan, PlanOptions, SavedPlan};
use stackc::session::{self, Answer, Finished, Mode, Request, SessionError};

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

/// Why a command ends with a non-zero exit.
enum Failure {
    /// A message, and help when there is some.
    Message {
        message: String,
        help: Option<String>,
    },
    /// Diagnostics, already printed.
    Reported,
    /// Ctrl-C twice: exit 130, as a shell expects after SIGINT.
    Aborted,
}

impl Failure {
    fn new(message: impl Into<String>) -> Failure {
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
        Err(Failure::Reported) => ExitCode::from(1),
        Err(Failure::Aborted) => ExitCode::from(130),
    }
}

fn run(command: Command) -> Outcome_ {
    match command {
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
        Command::Unlock { source, engine } => {
            on_engine(async move { unlock_command(&source, &engine).await })
        }
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

fn color() -> bool {
    std::io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
}

fn stdout_color() -> bool {
    std::io::stdout().is_terminal() && color()
}

fn render_options() -> RenderOptions {
    RenderOptions {
        color: color(),
        ..RenderOptions::PLAIN
    }
}

/// Compiles, or prints the diagnostics.
fn compiled(options: &driver::Options) -> Result<Deployment, Failure> {
    let Compilation { sources, result } = driver::compile(options);
    result.map_err(|diags| {
        eprint!("{}", render_all(&diags, &sources, render_options()));
        Failure::Reported
    })
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

fn check(source: &Source) -> Outcome_ {
    let d = compiled(&source.vars.options(&source.path))?;
    let n = d.resources.len();
    let plural = if n == 1 { "" } else { "s" };
    eprintln!("ok: stack `{}` with {n} resource{plural}", d.stack);
    Ok(exit_now(d))
}

fn compile(source: &Source, show_secrets: bool) -> Outcome_ {
    let d = compiled(&source.vars.options(&source.path))?;
    print!("{}", d.to_json(show_secrets));
    Ok(exit_now(d))
}

fn output(args: &[String], vars: &Vars, as_json: bool, show_secrets: bool) -> Outcome_ {
    let is_stack = |a: &str| Path::new(a).is_dir() || a.ends_with(".stack");
    let (name, path) = match args {
        [] => (None, "."),
        [one] if is_stack(one) => (None, one.as_str()),
        [one] => (Some(one.as_str()), "."),
        [name, path, ..] => (Some(name.as_str()), path.as_str()),
    };
    let d = compiled(&vars.options(Path::new(path)))?;
    match name {
        Some(name) => match session::output(&d, name, show_secrets)? {
            serde_json::Value::String(s) if !as_json => println!("{s}"),
            value => println!("{}", json(&value)?),
        },
        None if as_json => println!("{}", json(&session::outputs(&d, show_secrets))?),
        None => {
            for (k, v) in session::outputs(&d, show_secrets) {
                println!("{k} = {v}");
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

async fn connect(args: &EngineArgs) -> Result<DockerEngine, Failure> {
    Ok(DockerEngine::connect(args.host.as_deref()).await?)
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
    let (plan, live) = session::plan(&engine, &deployment, &options).await?;
    match format {
        Format::Human => print!("{}", plan::human(&plan, stdout_color())),
        Format::Json => println!("{}", json(&plan)?),
        Format::Markdown => print!("{}", plan::markdown(&plan)),
    }
    let changes = plan.has_changes();
    if let Some(out) = out {
        let saved = SavedPlan::new(plan, deployment, live.fingerprint(), engine.describe());
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
    let selection = session::selection(&deployment, &selection.target, &selection.replace)?;
    let engine = connect(engine_args).await?;
    let request = run.request(&deployment, saved.as_ref(), selection, Mode::Apply);
    run_session(&engine, &request).await
}

async fn destroy_command(source: &Source, engine_args: &EngineArgs, run: &RunArgs) -> Outcome_ {
    let deployment = compiled(&source.vars.options(&source.path))?;
    let engine = connect(engine_args).await?;
    let request = run.request(&deployment, None, PlanOptions::default(), Mode::Destroy);
    run_session(&engine, &request).await
}

impl RunArgs {
    fn request<'a>(
        &self,
        deployment: &'a Deployment,
        saved: Option<&'a SavedPlan>,
        selection: PlanOptions,
        mode: Mode,
    ) -> Request<'a> {
        Request {
            deployment,
            saved,
            selection,
            mode,
            allow_data_loss: self.allow_data_loss,
            auto_approve: self.auto_approve,
            lock_timeout: self.lock_timeout,
            apply: ApplyOptions {
                parallelism: self.parallelism as usize,
                wait_timeout: self.wait_timeout,
            },
        }
    }
}

/// Runs `apply` or `destroy`, with Ctrl-C watched from the start: once
/// stops new work (or cancels before any), twice abandons it; the library
/// releases the lock either way.
async fn run_session(engine: &dyn Engine, request: &Request<'_>) -> Outcome_ {
    let terminal = Terminal {
        progress: std::sync::Arc::new(Progress::new(std::io::stderr().is_terminal(), color())),
        applying: std::sync::Arc::new(AtomicBool::new(false)),
        interrupt: Interrupt::default(),
    };
    let watcher = tokio::spawn(terminal.watch_ctrl_c()?);
    let ticker = tokio::spawn(terminal.tick());
    let finished = session::run(engine, request, &terminal, &terminal.interrupt).await;
    ticker.abort();
    watcher.abort();
    terminal.progress.clear();
    match finished? {
        Finished::Unchanged => Ok(ExitCode::SUCCESS),
        Finished::Cancelled => {
            eprintln!("Cancelled: nothing was changed.");
            Ok(ExitCode::from(1))
        }
        Finished::Applied { plan, outcome } => report(&outcome, &plan, request.mode),
    }
}

/// The user at a terminal (or a CI log): what [`session::run`] shows and asks.
struct Terminal {
    progress: std::sync::Arc<Progress>,
    /// Whether changes have started: what a first Ctrl-C means depends on it.
    applying: std::sync::Arc<AtomicBool>,
    interrupt: Interrupt,
}

impl Terminal {
    /// Counts Ctrl-C presses. The handler is installed before this returns:
    /// a press that came before the watching task first ran would be lost.
    fn watch_ctrl_c(&self) -> Result<impl Future<Output = ()> + use<>, Failure> {
        use tokio::signal::unix::{SignalKind, signal};
        let mut presses = signal(SignalKind::interrupt())
            .map_err(|e| Failure::new(format!("cannot watch for Ctrl-C: {e}")))?;
        let (interrupt, progress, applying) = (
            self.interrupt.clone(),
            self.progress.clone(),
            self.applying.clone(),
        );
        Ok(async move {
            while presses.recv().await.is_some() {
                if interrupt.press() > 1 {
                    progress.note("Aborted.");
                } else if applying.load(Ordering::SeqCst) {
                    progress.note(
                        "Interrupted: finishing the running actions; press Ctrl-C again to abort.",
                    );
                }
            }
        })
    }

    fn tick(&self) -> impl Future<Output = ()> + use<> {
        let progress = self.progress.clone();
        async move {
            loop {
                tokio::time::sleep(Duration::from_millis(250)).await;
                progress.tick();
            }
        }
    }
}

#[async_trait::async_trait]
impl session::Ui for Terminal {
    fn waiting_for_lock(&self, stack: &str, holder: &Holder, timeout: Duration) {
        let timeout = stackc::units::format_duration(timeout.as_millis() as i64);
        eprintln!("The stack `{stack}` is locked by {holder}; waiting up to {timeout}…");
    }

    fn keeping_volume(&self, address: &str) {
        eprintln!("Keeping {address}: volumes are removed only with --allow-data-loss.");
    }

    fn plan(&self, plan: &Plan) {
        print!("{}", plan::human(plan, stdout_color()));
    }

    /// Asks on the terminal; a Ctrl-C at the prompt answers no.
    async fn confirm(&self, question: &str) -> Answer {
        if !std::io::stdin().is_terminal() {
            return Answer::NoOneToAsk;
        }
        eprint!("\n{question}\n  Only 'yes' will be accepted: ");
        let _ = std::io::stderr().flush();
        // A thread of its own: a blocked read must not keep the process alive.
        let (tx, rx) = tokio::sync::oneshot::channel();
        std::thread::spawn(move || {
            let mut answer = String::new();
            let _ = std::io::stdin().lock().read_line(&mut answer);
            let _ = tx.send(answer);
        });
        tokio::select! {
            answer = rx => match answer {
                Ok(a) if a.trim() == "yes" => Answer::Yes,
                _ => Answer::No,
            },
            () = self.interrupt.first_press() => {
                eprintln!();
                Answer::No
            }
        }
    }

    fn applying(&self) {
        self.applying.store(true, Ordering::SeqCst);
    }

    fn progress(&self) -> &Progress {
        &self.progress
    }
}

fn report(outcome: &Outcome, plan: &Plan, mode: Mode) -> Outcome_ {
    if outcome.succeeded() {
        let s = plan.summary;
        match mode {
            Mode::Destroy => eprintln!("\nDestroy complete: {} destroyed.", s.destroy),
            Mode::Apply => eprintln!(
                "\nApply complete: {} added, {} changed, {} destroyed.",
                s.add, s.change, s.destroy
            ),
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
    Err(Failure::Message {
        message: if outcome.interrupted {
            "the apply was interrupted"
        } else {
            "the apply failed"
        }
        .into(),
        help: Some("run `stackc apply` again: it continues from where this one stopped".into()),
    })
}

async fn status_command(source: &Source, engine_args: &EngineArgs, as_json: bool) -> Outcome_ {
    let deployment = compiled(&source.vars.options(&source.path))?;
    let engine = connect(engine_args).await?;
    let (plan, live) = session::plan(&engine, &deployment, &PlanOptions::default()).await?;
    let rows = stackc::status::rows(&deployment, &plan, &live);
    if as_json {
        println!("{}", json(&rows)?);
    } else {
        print!("{}", stackc::status::table(&rows));
    }
    Ok(ExitCode::SUCCESS)
}

async fn unlock_command(source: &Source, engine_args: &EngineArgs) -> Outcome_ {
    let deployment = compiled(&source.vars.options(&source.path))?;
    let engine = connect(engine_args).await?;
    if engine.unlock(&deployment.stack).await? {
        eprintln!("Unlocked the stack `{}`.", deployment.stack);
    } else {
        eprintln!("The stack `{}` was not locked.", deployment.stack);
    }
    Ok(ExitCode::SUCCESS)
}
