//! Helpers shared by the integration tests: paths, temporary directories,
//! running the binary, compiling a stack from text.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::atomic::{AtomicUsize, Ordering};

use stackc::deployment::Deployment;

/// The repository root (where Cargo.toml is).
pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// A fresh, empty directory under the system's temporary directory:
/// `stackc-<what>-<pid>-<n>`.
pub fn temp_dir(what: &str) -> PathBuf {
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    let dir = std::env::temp_dir().join(format!(
        "stackc_{}_{}_{}",
        what.replace('-', "_"),
        std::process::id(),
        NEXT.fetch_add(1, Ordering::SeqCst)
    ));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("a temporary directory");
    dir
}

/// A fresh temporary directory holding a stack: `main.stack`, and `files`
/// (path, text) beside it.
pub fn stack_dir(what: &str, main: &str, files: &[(&str, &str)]) -> PathBuf {
    let dir = temp_dir(what);
    std::fs::write(dir.join("main.stack"), main).unwrap();
    for (name, text) in files {
        let path = dir.join(name);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    }
    dir
}

/// Copies a directory and everything below it.
pub fn copy_tree(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap().flatten() {
        let target = to.join(entry.file_name());
        if entry.path().is_dir() {
            copy_tree(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).unwrap();
        }
    }
}

/// Writes a file and makes it executable.
pub fn write_executable(path: &Path, text: &str) {
    std::fs::write(path, text).unwrap();
    make_executable(path);
}

#[cfg(unix)]
pub fn make_executable(path: &Path) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755)).expect("chmod");
}

#[cfg(not(unix))]
pub fn make_executable(_path: &Path) {}

/// The stackc binary with `args`, without colour, from the repository root;
/// stdin is not a terminal.
pub fn command(args: &[&str]) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_stackc"));
    command
        .args(args)
        .current_dir(root())
        .env("NO_COLOR", "1")
        .stdin(std::process::Stdio::null());
    command
}

/// Runs the stackc binary from the repository root.
pub fn stackc(args: &[&str]) -> Output {
    stackc_env(args, &[])
}

/// Runs the stackc binary with extra environment variables; stdin is not a terminal.
pub fn stackc_env(args: &[&str], env: &[(&str, &str)]) -> Output {
    command(args)
        .envs(env.iter().copied())
        .output()
        .expect("the stackc binary runs")
}

pub fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

pub fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// Runs the binary with `env`, echoing the command and what it said (the
/// test's output shows it when the test fails).
pub fn run_env(args: &[&str], env: &[(&str, &str)]) -> Output {
    let out = stackc_env(args, env);
    eprintln!(
        "$ stackc {}\n{}{}",
        args.join(" "),
        stdout(&out),
        stderr(&out)
    );
    out
}

pub fn run(args: &[&str]) -> Output {
    run_env(args, &[])
}

/// [`run_env`], asserting the exit code.
pub fn exits(code: i32, args: &[&str], env: &[(&str, &str)]) -> Output {
    let out = run_env(args, env);
    assert_eq!(
        out.status.code(),
        Some(code),
        "stackc {} should have exited with {code}",
        args.join(" ")
    );
    out
}

/// Runs the binary and asserts it succeeded.
pub fn ok(args: &[&str]) -> Output {
    exits(0, args, &[])
}

/// Compiles a stack from source text.
pub fn deploy(source: &str, vars: &[&str]) -> Deployment {
    deploy_with(source, vars, &[])
}

/// Compiles a stack from source text, with other files beside it; a
/// compilation error fails the test, showing the diagnostics.
pub fn deploy_with(source: &str, vars: &[&str], files: &[(&str, &str)]) -> Deployment {
    let dir = stack_dir("deploy", source, files);
    let options = stackc::driver::Options {
        path: dir.clone(),
        vars: vars.iter().map(|v| v.to_string()).collect(),
        var_files: vec![],
        allow_outside: Vec::new(),
        ..Default::default()
    };
    let compiled = stackc::driver::compile(&options);
    let _ = std::fs::remove_dir_all(&dir);
    match compiled.result {
        Ok(d) => d,
        Err(diags) => panic!(
            "{}",
            stackc::diagnostic::render_all(
                &diags,
                &compiled.sources,
                stackc::diagnostic::RenderOptions::PLAIN
            )
        ),
    }
}
