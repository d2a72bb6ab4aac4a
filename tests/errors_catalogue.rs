//! The error catalogue: every `ErrorCode` has a section in docs/errors.md (the
//! lint's warnings W… in docs/lint.md), and a golden case under tests/cases/ shows it. The examples in the docs are
//! checked against the cases and their snapshots.

use std::collections::BTreeSet;
use std::path::Path;

use stackc::diagnostic::ErrorCode;

use crate::support::root;

/// Codes no case file can show: E0501 (stack not found) is about the path on
/// the command line. See `cli::a_missing_stack_is_e0501`.
const NOT_FROM_SOURCES: &[&str] = &["E0501"];

/// Codes no input triggers by design: E0001 (internal compiler error) is a bug
/// in stackc itself.
const NO_INPUT: &[&str] = &["E0001"];

/// Codes no case shows because of a known bug. Each must really be missing from
/// the snapshots, so an entry has to go once the bug is fixed and a case added.
const KNOWN_MISSING: &[(&str, &str)] = &[];

/// One accepted snapshot: the case it was made from and the rendered output.
struct Snapshot {
    input: String,
    body: String,
}

/// Every `.snap` file under tests/cases/.
fn snapshots() -> Vec<Snapshot> {
    let mut out = Vec::new();
    let mut dirs = vec![root().join("tests/cases")];
    while let Some(dir) = dirs.pop() {
        for entry in std::fs::read_dir(&dir).into_iter().flatten().flatten() {
            let path = entry.path();
            if path.is_dir() {
                dirs.push(path);
            } else if path.extension().is_some_and(|e| e == "snap") {
                let text = std::fs::read_to_string(&path).unwrap_or_default();
                // `---`, a header naming the input file, `---`, the output.
                let mut parts = text.splitn(3, "---\n").skip(1);
                let header = parts.next().unwrap_or_default();
                let body = parts.next().unwrap_or_default().to_string();
                let input = header
                    .lines()
                    .find_map(|l| l.strip_prefix("input_file: "))
                    .unwrap_or_else(|| panic!("{} names no input file", path.display()))
                    .to_string();
                out.push(Snapshot { input, body });
            }
        }
    }
    assert!(!out.is_empty(), "no snapshots under tests/cases/");
    out
}

/// The codes a rendered output shows: miette prints each on a line of its own
/// (`E0201`, or `Error: E0416` for labels in another file).
fn codes_in(body: &str) -> BTreeSet<String> {
    body.lines()
        .map(|l| l.trim().trim_start_matches("Error: "))
        .filter(|l| {
            l.len() == 5
                && (l.starts_with('E') || l.starts_with('W'))
                && l[1..].bytes().all(|b| b.is_ascii_digit())
        })
        .map(str::to_string)
        .collect()
}

/// docs/errors.md, then docs/lint.md.
fn docs() -> String {
    ["docs/errors.md", "docs/lint.md"]
        .iter()
        .map(|name| {
            let path = root().join(name);
            std::fs::read_to_string(&path)
                .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()))
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// What the docs show of a case's output: a lint case's warnings, without
/// the deployment that follows them.
fn shown_output<'a>(path: &str, body: &'a str) -> &'a str {
    if path.starts_with("tests/cases/lint/") {
        body.split("\n{\n").next().unwrap_or(body)
    } else {
        body
    }
}

fn heading(code: ErrorCode) -> String {
    format!("## {}: {}", code.as_str(), code.title())
}

/// The first fenced block of kind `lang` in `text`, and the text after it.
fn fenced<'a>(text: &'a str, lang: &str) -> Option<(&'a str, &'a str)> {
    let open = format!("```{lang}\n");
    let start = text.find(&open)? + open.len();
    let len = text[start..].find("```\n")?;
    Some((&text[start..start + len], &text[start + len..]))
}

#[test]
fn every_code_has_a_section_in_the_docs() {
    let docs = docs();
    let headings: BTreeSet<&str> = docs.lines().filter(|l| l.starts_with("## ")).collect();
    let missing: Vec<String> = ErrorCode::ALL
        .iter()
        .map(|c| heading(*c))
        .filter(|h| !headings.contains(h.as_str()))
        .collect();
    assert!(
        missing.is_empty(),
        "docs/errors.md lacks these headings:\n{}",
        missing.join("\n")
    );
    // And no section for a code that does not exist, or under an old title.
    let known: BTreeSet<String> = ErrorCode::ALL.iter().map(|c| heading(*c)).collect();
    let stale: Vec<&&str> = headings
        .iter()
        .filter(|h| (h.starts_with("## E") || h.starts_with("## W")) && !known.contains(**h))
        .collect();
    assert!(
        stale.is_empty(),
        "docs/errors.md has sections for unknown codes: {stale:?}"
    );
}

#[test]
fn every_code_is_shown_by_a_golden_case() {
    let shown: BTreeSet<String> = snapshots().iter().flat_map(|s| codes_in(&s.body)).collect();
    let excused: BTreeSet<&str> = NOT_FROM_SOURCES
        .iter()
        .chain(NO_INPUT)
        .copied()
        .chain(KNOWN_MISSING.iter().map(|(c, _)| *c))
        .collect();
    let missing: Vec<&str> = ErrorCode::ALL
        .iter()
        .map(|c| c.as_str())
        .filter(|c| !shown.contains(*c) && !excused.contains(c))
        .collect();
    assert!(
        missing.is_empty(),
        "no snapshot shows {missing:?}: add tests/cases/errors/<CODE>_<slug>.stack"
    );
    for code in &excused {
        assert!(
            ErrorCode::ALL.iter().any(|c| c.as_str() == *code),
            "{code} is not an error code"
        );
    }
    for (code, why) in KNOWN_MISSING {
        assert!(
            !shown.contains(*code),
            "a case shows {code} now: remove it from KNOWN_MISSING ({why})"
        );
    }
}

#[test]
fn error_cases_show_the_code_they_are_named_after() {
    for snapshot in snapshots() {
        let name = Path::new(&snapshot.input)
            .file_stem()
            .and_then(|s| s.to_str())
            .unwrap_or_default();
        let Some(code) = name
            .split('_')
            .next()
            .filter(|c| c.len() == 5 && (c.starts_with('E') || c.starts_with('W')))
        else {
            continue;
        };
        let shown = codes_in(&snapshot.body);
        assert!(
            shown.contains(code),
            "{} is named after {code} but shows {shown:?}",
            snapshot.input
        );
    }
}

#[test]
fn docs_examples_match_their_cases() {
    // Each `<!-- case: PATH -->` is followed by a ```stack block with the case
    // file and a ```text block with its output.
    let docs = docs();
    let snapshots = snapshots();
    let mut checked = 0;
    for marked in docs.split("<!-- case: ").skip(1) {
        let (path, rest) = marked
            .split_once(" -->")
            .expect("a case marker ends with ` -->`");
        let source =
            std::fs::read_to_string(root().join(path)).unwrap_or_else(|e| panic!("{path}: {e}"));
        let (input, rest) =
            fenced(rest, "stack").unwrap_or_else(|| panic!("no ```stack block for {path}"));
        assert_eq!(
            input.trim_end(),
            source.trim_end(),
            "docs/errors.md shows another input for {path}"
        );
        let (output, _) =
            fenced(rest, "text").unwrap_or_else(|| panic!("no ```text block for {path}"));
        let snapshot = snapshots
            .iter()
            .find(|s| s.input == path)
            .unwrap_or_else(|| panic!("no snapshot of {path}"));
        assert_eq!(
            output.trim_end(),
            shown_output(path, &snapshot.body).trim_end(),
            "docs/errors.md shows another output for {path}"
        );
        checked += 1;
    }
    let expected =
        ErrorCode::ALL.len() - NOT_FROM_SOURCES.len() - NO_INPUT.len() - KNOWN_MISSING.len();
    assert!(
        checked >= expected,
        "only {checked} examples in docs/errors.md are checked"
    );
}

#[test]
fn codes_are_found_in_rendered_output() {
    let body = "E0201\n\n  × unknown name `E0202`\n\nError: E0416\n\n  × see x\nerror: could not compile: 2 errors\n";
    let codes: Vec<String> = codes_in(body).into_iter().collect();
    assert_eq!(codes, ["E0201", "E0416"]);
}
