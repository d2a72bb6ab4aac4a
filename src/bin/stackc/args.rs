//! The command line: every command, flag and argument (clap).

use std::path::{Path, PathBuf};
use std::time::Duration;

use clap::{Args, Parser, Subcommand, ValueEnum};

use stackc::apply::ApplyOptions;
use stackc::deployment::Deployment;
use stackc::driver;
use stackc::eval;
use stackc::plan::{PlanOptions, SavedPlan};
use stackc::session::{Mode, Request};

#[derive(Parser)]
#[command(
    name = "stackc",
    version,
    about = "Typed Docker stacks: compile .stack files, plan and apply them"
)]
pub(crate) struct Cli {
    #[command(subcommand)]
    pub(crate) command: Command,
}

#[derive(Subcommand)]
pub(crate) enum Command {
    /// Parse, resolve, type-check and evaluate; print diagnostics and the security lint's warnings
    Check {
        #[command(flatten)]
        source: Source,
        /// Fail (exit 1) when there are warnings
        #[arg(long)]
        deny_warnings: bool,
    },
    /// Print the documentation of an error or warning code (`stackc explain E0302`)
    Explain {
        /// A code as printed above a diagnostic: E0302, W0003
        code: String,
    },
    /// Print a shell's completion script (`stackc completions bash > /etc/bash_completion.d/stackc`)
    Completions { shell: clap_complete::Shell },
    /// Print the resources and their dependencies as a graph (`stackc graph | dot -Tsvg`)
    Graph {
        #[command(flatten)]
        source: Source,
        #[arg(long, value_enum, default_value = "dot")]
        format: GraphFormat,
    },
    /// Rewrite .stack files in the canonical layout (docs/formatting.md)
    Fmt(crate::fmt::FmtArgs),
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
        /// Show secret values instead of "(secret)" (with --planned)
        #[arg(long)]
        show_secrets: bool,
        /// Evaluate the source instead of reading what the last apply left
        #[arg(long)]
        planned: bool,
        #[command(flatten)]
        engine: EngineArgs,
    },
    /// Print the logs of the stack's containers, each line prefixed by its address
    Logs(LogsArgs),
    /// Run a command in a running container of the stack; exits with its status
    Exec(ExecArgs),
    /// Translate a compose.yaml into an idiomatic .stack file (docs/compose.md)
    ImportCompose(crate::compose::ImportArgs),
    /// Print the stack as a compose.yaml that `docker compose config` accepts
    ExportCompose(crate::compose::ExportArgs),
    /// Break a stack's lock left by a process that was killed
    Unlock {
        #[command(flatten)]
        source: Source,
        #[command(flatten)]
        engine: EngineArgs,
        /// Break it even when its holder is a running process of this host
        #[arg(long)]
        force: bool,
    },
}

#[derive(Clone, Copy, ValueEnum)]
pub(crate) enum Format {
    Human,
    Json,
    Markdown,
}

/// Where the stack is and how its parameters are set.
#[derive(Args)]
pub(crate) struct Source {
    /// A stack directory (holding main.stack) or a .stack file
    #[arg(default_value = ".")]
    pub(crate) path: PathBuf,
    #[command(flatten)]
    pub(crate) vars: Vars,
}

/// How parameters are set, and where the stack may read beyond its directory.
#[derive(Args)]
pub(crate) struct Vars {
    /// Set a parameter: NAME=VALUE, read as the parameter's type (repeatable); wins over --var-file, which wins over STACKC_VAR_<NAME> in the environment
    #[arg(long = "var", value_name = "NAME=VALUE")]
    pub(crate) vars: Vec<String>,
    /// Read parameters from a file of `NAME = literal` lines or a JSON object (repeatable)
    #[arg(long = "var-file", value_name = "FILE")]
    pub(crate) var_files: Vec<PathBuf>,
    /// Let the stack read files (imports, file(), build contexts) in this directory outside its own (repeatable)
    #[arg(long = "allow-outside", value_name = "DIR")]
    pub(crate) allow_outside: Vec<PathBuf>,
    #[command(flatten)]
    pub(crate) limits: LimitArgs,
}

/// How much work and memory evaluating the stack may take (docs/language.md,
/// "Evaluation limits"); every command that evaluates a stack takes them.
#[derive(Args)]
#[command(next_help_heading = "Evaluation limits")]
pub(crate) struct LimitArgs {
    /// Stop after this many evaluation steps (expressions, loop iterations, elements built)
    #[arg(long, value_name = "N", default_value_t = eval::Limits::DEFAULT_MAX_STEPS)]
    pub(crate) max_steps: u64,
    /// The largest string evaluation may build (`64MiB`, `1GB`)
    #[arg(long, value_name = "SIZE", default_value = "256MiB", value_parser = parse_size)]
    pub(crate) max_string_size: u64,
    /// The most elements in one list or map
    #[arg(long, value_name = "N", default_value_t = eval::Limits::DEFAULT_MAX_COLLECTION)]
    pub(crate) max_collection: u64,
}

impl LimitArgs {
    pub(crate) fn limits(&self) -> eval::Limits {
        eval::Limits {
            max_steps: self.max_steps,
            max_string_size: self.max_string_size,
            max_collection: self.max_collection,
        }
    }
}

pub(crate) fn parse_size(s: &str) -> Result<u64, String> {
    stackc::units::parse_size(s)
        .ok()
        .filter(|b| *b >= 0)
        .map(|b| b as u64)
        .ok_or_else(|| format!("`{s}` is not a size like 64MiB or 1GB"))
}

#[derive(Args)]
pub(crate) struct EngineArgs {
    /// The Docker engine (`unix:///var/run/docker.sock`, `tcp://host:2375`); default: DOCKER_HOST, the docker context, the local socket
    #[arg(long, short = 'H', value_name = "HOST")]
    pub(crate) host: Option<String>,
}

/// How `stackc graph` writes the graph.
#[derive(Clone, Copy, ValueEnum)]
pub(crate) enum GraphFormat {
    /// Graphviz DOT
    Dot,
    /// A Mermaid flowchart
    Mermaid,
}

#[derive(Args)]
pub(crate) struct Selection {
    /// Plan only this resource and what it depends on (repeatable)
    #[arg(long, value_name = "ADDRESS")]
    pub(crate) target: Vec<String>,
    /// Replace this resource even if unchanged (repeatable)
    #[arg(long, value_name = "ADDRESS")]
    pub(crate) replace: Vec<String>,
    /// Pull the stack's image references first (but those of containers with `pull = "never"`), so a moved tag is redeployed
    #[arg(long)]
    pub(crate) pull: bool,
}

#[derive(Args)]
pub(crate) struct RunArgs {
    /// Do not ask for confirmation (required when stdin is not a terminal)
    #[arg(long)]
    pub(crate) auto_approve: bool,
    /// At most this many actions at once
    #[arg(long, default_value_t = 10, value_parser = clap::value_parser!(u64).range(1..))]
    pub(crate) parallelism: u64,
    /// Wait this long for another apply's lock (0: fail at once)
    #[arg(long, default_value = "0s", value_parser = parse_duration)]
    pub(crate) lock_timeout: Duration,
    /// How long to wait for a dependency to become healthy or complete, and for a service to converge
    #[arg(long, default_value = "5m", value_parser = parse_duration)]
    pub(crate) wait_timeout: Duration,
    /// Allow deleting or replacing volumes (their data is lost)
    #[arg(long)]
    pub(crate) allow_data_loss: bool,
}

pub(crate) fn parse_duration(s: &str) -> Result<Duration, String> {
    stackc::units::parse_duration(s)
        .filter(|ms| *ms >= 0)
        .map(|ms| Duration::from_millis(ms as u64))
        .ok_or_else(|| format!("`{s}` is not a duration like 30s or 5m"))
}

impl Vars {
    pub(crate) fn options(&self, path: &Path) -> driver::Options {
        driver::Options {
            path: path.to_path_buf(),
            environment: std::env::vars_os()
                .filter(|(k, _)| {
                    k.to_str()
                        .is_some_and(|k| k.starts_with(stackc::eval::ENV_VAR_PREFIX))
                })
                .collect(),
            vars: self.vars.clone(),
            var_files: self.var_files.clone(),
            allow_outside: self.allow_outside.clone(),
            limits: self.limits.limits(),
            lint: false,
        }
    }
}

impl RunArgs {
    pub(crate) fn request<'a>(
        &self,
        deployment: &'a Deployment,
        path: &'a Path,
        saved: Option<&'a SavedPlan>,
        selection: PlanOptions,
        pull: bool,
        mode: Mode,
    ) -> Request<'a> {
        Request {
            deployment,
            path,
            pull,
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

/// `stackc logs`.
#[derive(Args)]
pub(crate) struct LogsArgs {
    /// Containers (`container.web`, or `web`) or module instances (`postgres.db`) to show, all
    /// when none; and the stack (a directory holding main.stack, or a .stack file) if not `.`
    #[arg(value_name = "ADDRESS|PATH")]
    pub(crate) args: Vec<String>,
    /// Keep printing new lines until Ctrl-C
    #[arg(long, short = 'f')]
    pub(crate) follow: bool,
    /// Only this many lines from the end of each container's log
    #[arg(long, short = 'n', value_name = "N")]
    pub(crate) tail: Option<u64>,
    /// Only lines since a time (`2024-05-01T12:00:00Z`) or for a duration back (`10m`)
    #[arg(long, value_name = "WHEN")]
    pub(crate) since: Option<String>,
    /// Print each line's time (RFC 3339, UTC) after its address
    #[arg(long, short = 't')]
    pub(crate) timestamps: bool,
    #[command(flatten)]
    pub(crate) vars: Vars,
    #[command(flatten)]
    pub(crate) engine: EngineArgs,
}

/// `stackc exec`.
#[derive(Args)]
pub(crate) struct ExecArgs {
    /// The container (`container.web`, or `web`), and the stack (a directory holding
    /// main.stack, or a .stack file) if not `.`
    #[arg(value_name = "ADDRESS|PATH", num_args = 1..=2, required = true)]
    pub(crate) args: Vec<String>,
    /// The command and its arguments, after `--`
    #[arg(last = true, required = true, value_name = "COMMAND")]
    pub(crate) command: Vec<String>,
    /// Run it as this user (`name`, `uid`, `name:group`)
    #[arg(long, short = 'u')]
    pub(crate) user: Option<String>,
    /// Run it in this directory of the container
    #[arg(long, short = 'w', value_name = "DIR")]
    pub(crate) workdir: Option<String>,
    /// Set an environment variable for it: KEY=VALUE (repeatable)
    #[arg(long = "env", short = 'e', value_name = "KEY=VALUE")]
    pub(crate) env: Vec<String>,
    #[command(flatten)]
    pub(crate) vars: Vars,
    #[command(flatten)]
    pub(crate) engine: EngineArgs,
}

/// Splits positional words into the stack's path (a directory holding
/// `main.stack`, or a `.stack` file; `.` when none) and the rest: names
/// of containers may well be the names of directories beside the stack.
pub(crate) fn stack_and_names(args: &[String]) -> Result<(PathBuf, Vec<String>), String> {
    let is_stack = |a: &str| {
        let p = Path::new(a);
        (p.is_dir() && p.join("main.stack").is_file()) || (a.ends_with(".stack") && p.is_file())
    };
    // No address holds a `/`: such a word can only be meant as a path.
    if let Some(bad) = args
        .iter()
        .find(|a| (a.contains('/') || *a == "." || *a == "..") && !is_stack(a))
    {
        return Err(format!(
            "no stack at `{bad}`: a stack is a directory holding main.stack, or a .stack file"
        ));
    }
    let (paths, names): (Vec<&String>, Vec<&String>) = args.iter().partition(|a| is_stack(a));
    match paths.as_slice() {
        [] => Ok((PathBuf::from("."), names.into_iter().cloned().collect())),
        [one] => Ok((PathBuf::from(one), names.into_iter().cloned().collect())),
        [a, b, ..] => Err(format!("two stacks given: `{a}` and `{b}`")),
    }
}
