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
