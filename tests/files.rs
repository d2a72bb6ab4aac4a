//! Every file a stack names is read inside its directory tree (or an
//! `--allow-outside` one): imports, `file()`, build contexts, Dockerfiles and
//! `.dockerignore`, with symbolic links followed before the check. Only
//! regular files are read, and errors never show what a file holds.

use std::path::{Path, PathBuf};

use crate::support::{stack_dir, stackc, stackc_env, stderr, stdout, temp_dir};

/// Text that must never appear in any output.
const SECRET: &str = "hunter2-do-not-show";

/// A stack directory `<base>/stack` with `main.stack` and `files`, and
/// `<base>/outside.txt` holding [`SECRET`] next to it.
fn hostile(what: &str, main: &str, files: &[(&str, &str)]) -> (PathBuf, PathBuf) {
    let base = temp_dir(what);
    std::fs::write(base.join("outside.txt"), format!("{SECRET} {{\n")).unwrap();
    let stack = stack_dir(what, main, files);
    let moved = base.join("stack");
    std::fs::rename(&stack, &moved).unwrap();
    (base, moved)
}

fn link(target: impl AsRef<Path>, at: &Path) {
    std::os::unix::fs::symlink(target, at).unwrap();
}

fn fifo(at: &Path) {
    let made = std::process::Command::new("mkfifo").arg(at).status();
    assert!(made.is_ok_and(|s| s.success()), "mkfifo");
}

/// `stackc check DIR ARGS…` fails with `code`; returns stderr, which must not
/// hold the secret.
fn refused(code: &str, dir: &Path, args: &[&str]) -> String {
    let dir = dir.to_string_lossy();
    let mut all = vec!["check", &dir];
    all.extend(args);
    let out = stackc_env(&all, &[("STACKC_TEST_SECRET", SECRET)]);
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(err.contains(code), "expected {code}: {err}");
    assert!(!err.contains(SECRET), "a file's content is shown: {err}");
    // Messages wrap at 100 columns.
    err.replace("\n  │ ", " ")
}

#[test]
fn imports_stay_inside_the_stack() {
    // The environment (which holds the secret) used to be shown in a syntax error.
    let (_, dir) = hostile(
        "import-environ",
        "import \"../../../../../../../../proc/self/environ\" as e\n",
        &[],
    );
    let err = refused("E0203", &dir, &[]);
    assert!(
        err.contains("is outside the directories this stack may read"),
        "{err}"
    );
    assert!(err.contains("--allow-outside"), "{err}");

    let (_, dir) = hostile("import-link", "import \"./lib.stack\" as l\n", &[]);
    link("../outside.txt", &dir.join("lib.stack"));
    refused("E0203", &dir, &[]);
}

#[test]
fn imports_read_only_regular_stack_files() {
    // /dev/zero used to be read without end.
    let (_, dir) = hostile(
        "import-zero",
        "import \"../../../../../../../../dev/zero\" as z\n",
        &[],
    );
    refused("E0203", &dir, &[]);
    let err = refused("E0203", &dir, &["--allow-outside", "/dev"]);
    assert!(err.contains("zero` is not a .stack file"), "{err}");

    // Text that is not a module is not quoted, nor is a `.stack` link to it.
    let secrets = format!("TOKEN={SECRET} {{\n");
    let (_, dir) = hostile(
        "import-env",
        "import \"./.env\" as e\nimport \"./dressed.stack\" as d\n",
        &[(".env", &secrets)],
    );
    link(".env", &dir.join("dressed.stack"));
    let err = refused("E0203", &dir, &[]);
    assert!(err.contains(".env` is not a .stack file"), "{err}");
    assert!(err.contains("dressed.stack` is not a .stack file"), "{err}");

    let (_, dir) = hostile("import-fifo", "import \"./pipe.stack\" as p\n", &[]);
    fifo(&dir.join("pipe.stack"));
    let err = refused("E0203", &dir, &[]);
    assert!(err.contains("is a FIFO, not a regular file"), "{err}");
}

#[test]
fn the_root_file_is_inside_the_stack() {
    let (_, dir) = hostile("root-link", "", &[]);
    std::fs::remove_file(dir.join("main.stack")).unwrap();
    link("../outside.txt", &dir.join("main.stack"));
    let err = refused("E0501", &dir, &[]);
    assert!(err.contains("outside the directories"), "{err}");
}

#[test]
fn file_follows_links_before_checking() {
    let main = "output \"a\" = file(\"a\")\n";
    for (name, target) in [
        ("file-link-outside", "../outside.txt"),
        ("file-link-environ", "/proc/self/environ"),
    ] {
        let (_, dir) = hostile(name, main, &[]);
        link(target, &dir.join("a"));
        let err = refused("E0409", &dir, &[]);
        assert!(err.contains("is outside the directories"), "{err}");
    }
    let zero = "output \"a\" = file(\"../../../../../../../../dev/zero\")\n";
    let (_, dir) = hostile("file-zero", zero, &[]);
    let err = refused("E0409", &dir, &["--allow-outside", "/dev"]);
    assert!(err.contains("is a device, not a regular file"), "{err}");
    let (_, dir) = hostile("file-fifo", main, &[]);
    fifo(&dir.join("a"));
    let err = refused("E0409", &dir, &["--allow-outside", "/"]);
    assert!(err.contains("is a FIFO, not a regular file"), "{err}");
    let (_, dir) = hostile("file-dir", main, &[]);
    std::fs::create_dir(dir.join("a")).unwrap();
    refused("E0409", &dir, &[]);
}

#[test]
fn allow_outside_names_a_directory_the_stack_may_read() {
    let main = "output \"a\" = file(\"../outside.txt\")\n";
    let (base, dir) = hostile("allow-outside", main, &[]);
    refused("E0409", &dir, &[]);
    let base_text = base.to_string_lossy();
    let d = dir.to_string_lossy();
    let out = stackc(&["compile", &d, "--allow-outside", &base_text]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(stdout(&out).contains(SECRET));
    let err = refused("E0501", &dir, &["--allow-outside", "/no/such/dir"]);
    assert!(
        err.contains("--allow-outside: cannot read `/no/such/dir`"),
        "{err}"
    );
    let help = stdout(&stackc(&["plan", "--help"]));
    assert!(help.contains("--allow-outside <DIR>"), "{help}");
}

#[test]
fn secret_file_reads_a_secret_and_secret_paths_are_masked() {
    let main = "output \"token\" = secret_file(\"token\")\n";
    let (_, dir) = hostile("secret-file", main, &[("token", SECRET)]);
    let out = stackc(&["compile", &dir.to_string_lossy()]);
    let json = stdout(&out);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(
        json.contains("(secret)") && !json.contains(SECRET),
        "{json}"
    );

    let main = "param p: secret\noutput \"a\" = file(p)\n";
    let (_, dir) = hostile("secret-path", main, &[]);
    let var = format!("p={SECRET}");
    let err = refused("E0409", &dir, &["--var", &var]);
    assert!(err.contains("cannot read `(secret)`"), "{err}");
    let var = format!("p=/{SECRET}");
    let err = refused("E0414", &dir, &["--var", &var]);
    assert!(err.contains("`(secret)` is absolute"), "{err}");
}

#[test]
fn dotenv_files_stay_inside_the_stack_and_secret_ones_stay_secret() {
    // Outside the stack, through `..` or a link: refused like `file()`.
    let main = "output \"a\" = dotenv(\"../outside.txt\")\n";
    let (_, dir) = hostile("dotenv-up", main, &[]);
    let err = refused("E0409", &dir, &[]);
    assert!(err.contains("is outside the directories"), "{err}");
    let main = "output \"a\" = dotenv(\"app.env\")\n";
    let (base, dir) = hostile("dotenv-link", main, &[]);
    link(base.join("outside.txt"), &dir.join("app.env"));
    refused("E0409", &dir, &[]);

    // A secret dotenv file: its values are masked, its keys are not.
    let env = format!("USER=app\nPASSWORD='{SECRET}'\n");
    let main =
        "container \"db\" {\n  image = \"busybox:1.36\"\n  env = secret_dotenv(\"db.env\")\n}\n";
    let (_, dir) = hostile("dotenv-secret", main, &[("db.env", &env)]);
    let out = stackc(&["compile", &dir.to_string_lossy()]);
    let json = stdout(&out);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(!json.contains(SECRET), "{json}");
    assert!(json.contains("\"/env/PASSWORD\""), "{json}");

    // A bad line is named by its number, its text never shown.
    let env = format!("USER=app\n{SECRET}\n");
    let (_, dir) = hostile("dotenv-bad", main, &[("db.env", &env)]);
    let err = refused("E0420", &dir, &[]);
    assert!(err.contains("`db.env` line 2: a name without `=`"), "{err}");
}

const IMAGE: &str = "image \"app\" {\n  build = { context = \"./ctx\" }\n}\n";

#[test]
fn build_contexts_stay_inside_the_stack() {
    // `../..` used to send the home directory to the build.
    let main = "image \"app\" {\n  build = { context = \"../..\" }\n}\n";
    let (_, dir) = hostile("context-up", main, &[]);
    let err = refused("E0409", &dir, &[]);
    assert!(err.contains("is outside the directories"), "{err}");

    let (base, dir) = hostile("context-link", IMAGE, &[]);
    link(&base, &dir.join("ctx"));
    refused("E0409", &dir, &[]);
}

#[test]
fn dockerfiles_and_dockerignores_are_regular_files_inside_the_context() {
    let files = [("ctx/Dockerfile", "FROM scratch\n")];
    let (_, dir) = hostile("dockerfile-link", IMAGE, &[]);
    std::fs::create_dir(dir.join("ctx")).unwrap();
    link("../../outside.txt", &dir.join("ctx/Dockerfile"));
    let err = refused("E0409", &dir, &[]);
    assert!(
        err.contains("Dockerfile` is outside the directories"),
        "{err}"
    );

    // A `.dockerignore` used to be read wherever it led, a line of it shown.
    let (_, dir) = hostile("dockerignore-link", IMAGE, &files);
    link("../../outside.txt", &dir.join("ctx/.dockerignore"));
    refused("E0409", &dir, &[]);
    let bad = format!("[{SECRET}\n");
    let (_, dir) = hostile("dockerignore-bad", IMAGE, &[files[0], ("ctx/notes", &bad)]);
    link("notes", &dir.join("ctx/.dockerignore"));
    let err = refused("E0409", &dir, &[]);
    assert!(err.contains("line 1: invalid pattern"), "{err}");

    let (_, dir) = hostile("context-fifo", IMAGE, &files);
    fifo(&dir.join("ctx/pipe"));
    let err = refused("E0409", &dir, &[]);
    assert!(err.contains("pipe` is a FIFO, not a regular file"), "{err}");
}

#[test]
fn links_in_a_build_context_are_sent_as_links() {
    let files = [("ctx/Dockerfile", "FROM scratch\n")];
    let (_, dir) = hostile("context-links", IMAGE, &files);
    link("../../outside.txt", &dir.join("ctx/leak"));
    let out = stackc(&["compile", &dir.to_string_lossy()]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let archive = stackc::build_context::tar(&dir.join("ctx"), "Dockerfile").unwrap();
    let text = String::from_utf8_lossy(&archive);
    assert!(text.contains("../../outside.txt") && !text.contains(SECRET));
}
