//! The command line's tools around a stack: `explain`, `completions`, `graph`.

use crate::support::{stackc, stderr, stdout};

#[test]
fn explain_prints_a_codes_documentation() {
    let out = stackc(&["explain", "E0302"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let text = stdout(&out);
    assert!(text.starts_with("## E0302: unknown field\n"), "{text}");
    assert!(text.contains("restrat"), "{text}");
    assert!(!text.contains("<!-- case:"), "{text}");
    // Lint codes too, in any case.
    let out = stackc(&["explain", "w0001"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(stdout(&out).starts_with("## W0001: privileged container\n"));
}

#[test]
fn explain_an_unknown_code_suggests_one() {
    let out = stackc(&["explain", "E0320"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(stdout(&out).is_empty());
    let err = stderr(&out);
    assert!(
        err.contains("error: `E0320` is not an error or warning code"),
        "{err}"
    );
    assert!(err.contains("did you mean `E0302`?"), "{err}");
}

#[test]
fn completions_for_each_shell_name_the_subcommands() {
    for shell in ["bash", "zsh", "fish"] {
        let out = stackc(&["completions", shell]);
        assert_eq!(out.status.code(), Some(0), "{shell}: {}", stderr(&out));
        let script = stdout(&out);
        assert!(!script.is_empty(), "{shell}");
        for command in ["check", "plan", "apply", "explain", "completions"] {
            assert!(
                script.contains(command),
                "{shell} completions lack `{command}`"
            );
        }
        // Flags too.
        assert!(script.contains("deny-warnings"), "{shell}");
    }
    assert_eq!(stackc(&["completions", "tcsh"]).status.code(), Some(1));
}

/// `stackc graph` of tests/fixtures/graph against the golden file beside it.
fn graph_matches(args: &[&str], golden: &str) {
    let mut all = vec!["graph"];
    all.extend_from_slice(args);
    all.push("tests/fixtures/graph");
    let out = stackc(&all);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let path = crate::support::root()
        .join("tests/fixtures/graph")
        .join(golden);
    let expected = std::fs::read_to_string(&path).unwrap();
    assert_eq!(stdout(&out), expected, "compare with {}", path.display());
}

#[test]
fn graph_writes_dot_with_instances_as_clusters() {
    graph_matches(&[], "expected.dot");
}

#[test]
fn graph_writes_mermaid() {
    graph_matches(&["--format", "mermaid"], "expected.mmd");
}

#[test]
fn graph_of_a_broken_stack_prints_its_errors() {
    let out = stackc(&["graph", "tests/cases/resolve/unknown_name.stack"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(stdout(&out).is_empty());
    assert!(stderr(&out).contains("E0201"), "{}", stderr(&out));
    assert_eq!(
        stackc(&["graph", "--format", "svg", "tests/fixtures/graph"])
            .status
            .code(),
        Some(1)
    );
}

/// The TextMate grammar is JSON, and every `#name` it includes is defined.
#[test]
fn the_textmate_grammar_is_well_formed() {
    let path = crate::support::root().join("editors/stack.tmLanguage.json");
    let text = std::fs::read_to_string(path).unwrap();
    let grammar: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert_eq!(grammar["scopeName"], "source.stack");
    let repository = grammar["repository"].as_object().unwrap();
    for include in text.split("\"include\": \"#").skip(1) {
        let name = include.split('"').next().unwrap();
        assert!(repository.contains_key(name), "#{name} is not defined");
    }
}
