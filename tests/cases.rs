#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! Golden tests: every `.stack` file under `tests/cases/` is compiled and its
//! rendered diagnostics (no colour, 100 columns) or its deployment JSON is
//! snapshotted beside it, as `snapshots/<stem>.snap`. Regenerate with
//! `cargo insta test --review`.
//!
//! A test target of its own (`harness = false`, run by libtest-mimic): each
//! case file is one test, named `cases::<directory>::<stem>`, found when the
//! tests run, so adding a case needs no code. Filter as usual:
//! `cargo test --test cases E0302`.

use std::path::{Path, PathBuf};

use libtest_mimic::{Arguments, Trial};
use stackc::deployment::{Deployment, Spec};
use stackc::diagnostic::{RenderOptions, render_all};
use stackc::driver::{Options, compile};

#[allow(dead_code)]
mod support;

use support::root;

fn main() {
    let args = Arguments::from_args();
    // Tests run from the package root, so diagnostics name files relative to it.
    std::env::set_current_dir(root()).expect("cd to the package root");
    libtest_mimic::run(&args, trials()).exit();
}

/// One trial per case file, sorted by name.
fn trials() -> Vec<Trial> {
    let base = root().join("tests/cases");
    let mut files = Vec::new();
    case_files(&base, &mut files);
    files.sort();
    if files.is_empty() {
        return vec![Trial::test("cases", move || {
            Err(format!("no .stack files under {}", base.display()).into())
        })];
    }
    files
        .into_iter()
        .map(|path| Trial::test(trial_name(&base, &path), move || check_case(&path)))
        .collect()
}

/// Every `.stack` file below `dir`, but for the modules cases import (`lib/`).
fn case_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let path = entry.path();
        if path.is_dir() {
            if !path.ends_with("lib") {
                case_files(&path, out);
            }
        } else if path.extension().is_some_and(|e| e == "stack") {
            out.push(path);
        }
    }
}

/// `tests/cases/errors/E0302_unknown_field.stack` → `cases::errors::E0302_unknown_field`.
fn trial_name(base: &Path, path: &Path) -> String {
    let relative = path.strip_prefix(base).unwrap_or(path).with_extension("");
    let parts: Vec<String> = relative
        .components()
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .collect();
    format!("cases::{}", parts.join("::"))
}

/// Compiles one case and compares it with `snapshots/<stem>.snap` beside it.
fn check_case(path: &Path) -> Result<(), libtest_mimic::Failed> {
    let name = path
        .file_stem()
        .and_then(|s| s.to_str())
        .ok_or("a case file has a name")?
        .to_string();
    let dir = path
        .parent()
        .ok_or("a case has a directory")?
        .join("snapshots");
    insta::with_settings!({
        snapshot_path => dir,
        prepend_module_to_snapshot => false,
        omit_expression => true,
        input_file => path,
    }, {
        insta::assert_snapshot!(name, run_case(path));
    });
    Ok(())
}

fn run_case(path: &Path) -> String {
    let relative = path.strip_prefix(root()).unwrap_or(path);
    let options = Options {
        path: relative.to_path_buf(),
        vars: case_vars(path),
        var_files: Vec::new(),
        allow_outside: Vec::new(),
        // The security lint is `stackc check`'s; its cases are in lint/.
        lint: relative.starts_with("tests/cases/lint"),
        ..Default::default()
    };
    let compilation = compile(&options);
    // Warnings, if any, come first, as the command line prints them.
    let warnings = if compilation.warnings.is_empty() {
        String::new()
    } else {
        render_all(
            &compilation.warnings,
            &compilation.sources,
            RenderOptions::PLAIN,
        ) + "\n"
    };
    let text = warnings
        + &match compilation.result {
            Ok(mut deployment) => {
                mask_checkout_hashes(&mut deployment);
                deployment.to_json(false).unwrap()
            }
            Err(diagnostics) => {
                render_all(&diagnostics, &compilation.sources, RenderOptions::PLAIN)
            }
        };
    redact(&text)
}

/// Replaces machine-specific absolute paths so snapshots hold on any checkout.
pub fn redact(text: &str) -> String {
    let root = root();
    let root = root.to_string_lossy();
    text.replace(root.as_ref(), "[ROOT]")
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

/// Absolute paths are redacted to `[ROOT]`, but the hash of a spec holding
/// one (a bind mount's source) still depends on where the repository is
/// checked out: such hashes are masked too. (Image hashes leave out the
/// build context's location, so they need no masking.)
fn mask_checkout_hashes(deployment: &mut Deployment) {
    let root = root().to_string_lossy().into_owned();
    for r in &mut deployment.resources {
        let located = !matches!(r.spec, Spec::Image(_))
            && serde_json::to_string(&r.spec).is_ok_and(|s| s.contains(&root));
        if located {
            r.hash = "[HASH OF A SPEC WITH A CHECKOUT PATH]".to_string();
        }
    }
}
