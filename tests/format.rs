//! `stackc fmt`: every shipped and test `.stack` file, with its blanks
//! scrambled, formats idempotently to a file that compiles to the same bytes;
//! the shipped files stay formatted; the CLI's modes.

use std::path::{Path, PathBuf};

use stackc::driver::{self, Options};
use stackc::format::{FormatError, format_source, whitespace_gaps};
use stackc::source::SourceId;

use crate::support::{copy_tree, root, stackc, stderr, stdout, temp_dir};

fn stack_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let mut entries: Vec<_> = std::fs::read_dir(dir).unwrap().flatten().collect();
    entries.sort_by_key(|e| e.file_name());
    for entry in entries {
        let path = entry.path();
        if path.is_dir() {
            stack_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "stack") {
            out.push(path);
        }
    }
}

/// A small deterministic generator (no dependency for a shuffle of blanks).
struct Lcg(u64);
impl Lcg {
    fn below(&mut self, n: u64) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (self.0 >> 33) % n
    }
}

/// `text` with every blank between tokens changed: runs on one line become
/// one to four spaces or tabs, runs across lines one to three line breaks
/// with a random indent. Line breaks are never added or removed, since they
/// separate fields (`a = x\n-1` is two things, `a = x -1` one).
fn scramble(text: &str, seed: u64) -> String {
    let mut rng = Lcg(seed);
    let mut out = String::new();
    let mut at = 0;
    for (start, end) in whitespace_gaps(text) {
        out.push_str(&text[at..start]);
        let gap = &text[start..end];
        if gap.contains('\n') {
            for _ in 0..=rng.below(3) {
                out.push('\n');
            }
            out.push_str(&" ".repeat(rng.below(7) as usize));
        } else {
            for _ in 0..=rng.below(4) {
                out.push(if rng.below(4) == 0 { '\t' } else { ' ' });
            }
        }
        at = end;
    }
    out.push_str(&text[at..]);
    out
}

fn fmt(text: &str) -> Result<String, FormatError> {
    format_source(text, SourceId(0))
}

/// The deployment as JSON (secrets shown), or the error codes.
fn compiled(path: &Path) -> Result<String, String> {
    let c = driver::compile(&Options {
        path: path.to_path_buf(),
        ..Options::default()
    });
    match c.result {
        Ok(d) => Ok(d.to_json(true).unwrap()),
        Err(diags) => Err(format!(
            "{:?}",
            diags.iter().map(|d| d.code).collect::<Vec<_>>()
        )),
    }
}

#[test]
fn scrambled_files_format_idempotently_and_compile_the_same() {
    let mut files = Vec::new();
    for dir in ["tests", "examples", "stdlib"] {
        stack_files(&root().join(dir), &mut files);
    }
    assert!(files.len() > 200, "{} files", files.len());
    let mut formatted_count = 0;
    let mut compiled_count = 0;
    for (n, file) in files.iter().enumerate() {
        let text = std::fs::read_to_string(file).unwrap();
        let name = file.strip_prefix(root()).unwrap().display().to_string();
        let once = match fmt(&text) {
            Ok(once) => once,
            // Files that are syntax errors on purpose.
            Err(FormatError::Syntax(_)) => continue,
            Err(e) => panic!("{name}: {e:?}"),
        };
        assert_eq!(
            fmt(&once).unwrap(),
            once,
            "{name}: formatting twice changes it"
        );
        for seed in 0..3 {
            let scrambled = scramble(&text, n as u64 * 7 + seed);
            let out =
                fmt(&scrambled).unwrap_or_else(|e| panic!("{name} scrambled: {e:?}\n{scrambled}"));
            assert_eq!(
                fmt(&out).unwrap(),
                out,
                "{name} (seed {seed}): not idempotent"
            );
        }
        formatted_count += 1;

        // The formatted file, put in place of the original in a copy of its directory.
        let dir = file.parent().unwrap();
        let copy = temp_dir("fmt").join(dir.file_name().unwrap());
        copy_tree(dir, &copy);
        let copied_file = copy.join(file.file_name().unwrap());
        let before = compiled(&copied_file);
        std::fs::write(&copied_file, fmt(&scramble(&text, n as u64)).unwrap()).unwrap();
        let after = compiled(&copied_file);
        if before.is_ok() {
            compiled_count += 1;
        }
        // Compared as text, so a failure names the first difference briefly.
        if before != after {
            let (b, a) = (format!("{before:?}"), format!("{after:?}"));
            let at = b.chars().zip(a.chars()).take_while(|(x, y)| x == y).count();
            let from = at.saturating_sub(200);
            panic!(
                "{name}: formatting changed what it compiles to:\n{}\n---\n{}",
                b.chars().skip(from).take(400).collect::<String>(),
                a.chars().skip(from).take(400).collect::<String>()
            );
        }
        let _ = std::fs::remove_dir_all(copy.parent().unwrap());
    }
    assert!(
        formatted_count > 100 && compiled_count > 20,
        "{formatted_count} {compiled_count}"
    );
}

#[test]
fn shipped_stack_files_are_formatted() {
    let out = stackc(&["fmt", "--check", "examples", "stdlib"]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "run `stackc fmt examples stdlib`:\n{}{}",
        stdout(&out),
        stderr(&out)
    );
}

#[test]
fn check_lists_unformatted_files_and_diff_shows_the_change() {
    let dir = temp_dir("fmt_cli");
    let file = dir.join("main.stack");
    let messy = "param  x:int=1\nvolume \"v\" {   }\n";
    std::fs::write(&file, messy).unwrap();
    let path = file.display().to_string();

    let out = stackc(&["fmt", "--check", &path]);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(stdout(&out), format!("{path}\n"));
    let out = stackc(&["fmt", "--diff", &path]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stdout(&out).contains("-param  x:int=1\n"),
        "{}",
        stdout(&out)
    );
    assert!(
        stdout(&out).contains("+param x: int = 1\n+volume \"v\" {}\n"),
        "{}",
        stdout(&out)
    );
    assert_eq!(
        std::fs::read_to_string(&file).unwrap(),
        messy,
        "--check and --diff change nothing"
    );

    let out = stackc(&["fmt", &dir.display().to_string()]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(
        std::fs::read_to_string(&file).unwrap(),
        "param x: int = 1\nvolume \"v\" {}\n"
    );
    let out = stackc(&["fmt", "--check", &path]);
    assert_eq!((out.status.code(), stdout(&out)), (Some(0), String::new()));
}

#[test]
fn a_file_that_does_not_parse_is_left_untouched() {
    let dir = temp_dir("fmt_bad");
    let file = dir.join("main.stack");
    let bad = "container \"a\" {\n  image = \n";
    std::fs::write(&file, bad).unwrap();
    let out = stackc(&["fmt", &file.display().to_string()]);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("syntax error"), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("it does not parse"),
        "{}",
        stderr(&out)
    );
    assert_eq!(std::fs::read_to_string(&file).unwrap(), bad);
}

#[test]
fn dash_formats_stdin_to_stdout() {
    use std::io::Write;
    let mut child = crate::support::command(&["fmt", "-"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(b"let  a=[1,2 , 3]")
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(stdout(&out), "let a = [1, 2, 3]\n");

    // With `--check`, stdin is named rather than printed.
    let mut child = crate::support::command(&["fmt", "--check", "-"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(b"let  a=1").unwrap();
    let out = child.wait_with_output().unwrap();
    assert_eq!(
        (out.status.code(), stdout(&out)),
        (Some(1), "<stdin>\n".to_string())
    );
}
