//! Helpers shared by the integration tests.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// The repository root (where Cargo.toml is).
pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Replaces machine-specific absolute paths so snapshots hold on any checkout.
pub fn redact(text: &str) -> String {
    let root = root();
    let root = root.to_string_lossy();
    text.replace(root.as_ref(), "[ROOT]")
}

/// Runs the stackc binary from the repository root.
pub fn stackc(args: &[&str]) -> Output {
    stackc_env(args, &[])
}

/// Runs the stackc binary with extra environment variables; stdin is not a terminal.
pub fn stackc_env(args: &[&str], env: &[(&str, &str)]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_stackc"))
        .args(args)
        .current_dir(root())
        .env("NO_COLOR", "1")
        .envs(env.iter().copied())
        .stdin(std::process::Stdio::null())
        .output()
        .expect("the stackc binary runs")
}

pub fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

pub fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// `# var: NAME=VALUE` lines at the top of a case file.
pub fn case_vars(path: &Path) -> Vec<String> {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    text.lines()
        .take_while(|l| l.starts_with('#'))
        .filter_map(|l| l.strip_prefix("# var: "))
        .map(|v| v.trim().to_string())
        .collect()
}
