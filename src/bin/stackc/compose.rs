//! `stackc import-compose` and `stackc export-compose` (docs/compose.md).

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::Args;

use crate::args::Vars;
use crate::{Failure, Outcome_, compiled, print_out};

/// `stackc import-compose`.
#[derive(Args)]
pub(crate) struct ImportArgs {
    /// The Compose file (compose.yaml, docker-compose.yml)
    pub(crate) file: PathBuf,
    /// Write DIR/main.stack instead of printing it (the directory is made if missing)
    #[arg(long, short = 'o', value_name = "DIR")]
    pub(crate) out: Option<PathBuf>,
}

/// `stackc export-compose`.
#[derive(Args)]
pub(crate) struct ExportArgs {
    /// A stack directory (holding main.stack) or a .stack file
    #[arg(default_value = ".")]
    pub(crate) path: PathBuf,
    /// Export secret files and secret variables as Compose secrets and env files
    /// written in this directory (mode 0600); without it they are left out
    #[arg(long, value_name = "DIR")]
    pub(crate) secrets_dir: Option<PathBuf>,
    #[command(flatten)]
    pub(crate) vars: Vars,
}

/// Compose files are small; a larger one is refused before it is read.
const MAX_COMPOSE_FILE: u64 = 16 << 20;

pub(crate) fn import_command(args: &ImportArgs) -> Outcome_ {
    let file = &args.file;
    let size = std::fs::metadata(file)
        .map_err(|e| Failure::new(format!("cannot read `{}`: {e}", file.display())))?
        .len();
    if size > MAX_COMPOSE_FILE {
        return Err(Failure::new(format!(
            "`{}` is larger than 16 MiB: not a Compose file",
            file.display()
        )));
    }
    let text = std::fs::read_to_string(file)
        .map_err(|e| Failure::new(format!("cannot read `{}`: {e}", file.display())))?;
    let imported = match stackc::compose::import(file, &text) {
        Ok(i) => i,
        Err(errors) => {
            for e in &errors {
                eprintln!("error: {e}");
            }
            return Err(Failure::Silent);
        }
    };
    for w in &imported.warnings {
        eprintln!("warning: {w}");
    }
    match &args.out {
        None => print_out(&imported.text)?,
        Some(dir) => {
            std::fs::create_dir_all(dir)
                .map_err(|e| Failure::new(format!("cannot make `{}`: {e}", dir.display())))?;
            let path = dir.join("main.stack");
            std::fs::write(&path, &imported.text)
                .map_err(|e| Failure::new(format!("cannot write `{}`: {e}", path.display())))?;
            eprintln!("Wrote {}.", path.display());
        }
    }
    if !imported.warnings.is_empty() {
        let n = imported.warnings.len();
        eprintln!(
            "{n} setting{} not translated (listed above): the stack does without {}",
            if n == 1 { " was" } else { "s were" },
            if n == 1 { "it" } else { "them" }
        );
    }
    Ok(ExitCode::SUCCESS)
}

pub(crate) fn export_command(args: &ExportArgs) -> Outcome_ {
    let d = compiled(&args.vars.options(&args.path))?;
    let base = if args.path.is_dir() {
        args.path.clone()
    } else {
        args.path
            .parent()
            .map(Path::to_path_buf)
            .unwrap_or_default()
    };
    let base = std::fs::canonicalize(&base).unwrap_or(base);
    let secrets_dir = match &args.secrets_dir {
        Some(dir) => {
            make_private_dir(dir)?;
            Some(std::fs::canonicalize(dir).unwrap_or_else(|_| dir.clone()))
        }
        None => None,
    };
    let exported = stackc::compose::export(&d, &base, secrets_dir.as_deref());
    for f in &exported.secret_files {
        write_private(&f.path, &f.content)?;
    }
    for w in &exported.warnings {
        eprintln!("warning: {w}");
    }
    print_out(&exported.yaml)?;
    Ok(ExitCode::SUCCESS)
}

fn make_private_dir(dir: &Path) -> Result<(), Failure> {
    use std::os::unix::fs::DirBuilderExt;
    if dir.is_dir() {
        return Ok(());
    }
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
        .map_err(|e| Failure::new(format!("cannot make `{}`: {e}", dir.display())))
}

/// A secret on disk: readable by its owner only, from the moment it exists.
fn write_private(path: &Path, content: &[u8]) -> Result<(), Failure> {
    use std::os::unix::fs::OpenOptionsExt;
    use std::os::unix::fs::PermissionsExt;
    let fail = |e: std::io::Error| Failure::new(format!("cannot write `{}`: {e}", path.display()));
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        // Never through a link planted in the directory.
        .custom_flags(libc::O_NOFOLLOW)
        .open(path)
        .map_err(fail)?;
    file.set_permissions(std::fs::Permissions::from_mode(0o600))
        .map_err(fail)?;
    file.write_all(content).map_err(fail)
}
