//! Bounded evaluation: hostile stacks end quickly with an error, never a
//! crash, an exhausted stack or gigabytes of memory (docs/security.md,
//! "Bounded evaluation"). No test measures time: each asserts the error and
//! that the process ended on its own.

use std::path::Path;

use crate::support::{exits, stack_dir, stderr};

/// Checks a stack with `args` and returns its stderr, asserting exit 1.
fn refused(what: &str, main: &str, args: &[&str]) -> String {
    let dir = stack_dir(what, main, &[]);
    let out = check(&dir, args, 1);
    let _ = std::fs::remove_dir_all(&dir);
    out
}

fn check(dir: &Path, args: &[&str], code: i32) -> String {
    let mut all = vec!["check", dir.to_str().unwrap()];
    all.extend_from_slice(args);
    let out = exits(code, &all, &[]);
    let err = stderr(&out);
    assert!(!err.contains("panicked"), "{err}");
    assert!(!err.contains("E0001"), "{err}");
    err
}

fn shows(err: &str, code: &str, text: &str) {
    assert!(
        err.contains(code) && err.contains(text),
        "expected {code} with `{text}`:\n{err}"
    );
}

#[test]
fn a_string_doubled_forty_times_stops_at_a_limit() {
    let nested = format!("{}\"ab\"{}", "d(".repeat(40), ")".repeat(40));
    let main =
        format!("fn d(s: string) -> string = s + s\nlet x = {nested}\noutput \"n\" = len(x)\n");
    shows(
        &refused("double", &main, &[]),
        "E0418",
        "evaluation limit exceeded",
    );
    let lets: String = (0..40)
        .map(|i| format!("let a{} = a{i} + a{i}\n", i + 1))
        .collect();
    let main = format!("let a0 = \"ab\"\n{lets}output \"n\" = len(a40)\n");
    shows(
        &refused("double-lets", &main, &[]),
        "E0418",
        "evaluation limit exceeded",
    );
}

#[test]
fn nested_ranges_of_a_million_stop_at_the_step_limit() {
    let main = "let x = [for i in range(1000000) : [for j in range(1000000) : i + j]]\n\
                output \"n\" = len(x)\n";
    shows(&refused("ranges", main, &[]), "E0418", "--max-steps");
}

#[test]
fn a_value_that_shares_its_parts_costs_what_it_would_written_out() {
    let lets: String = (0..60)
        .map(|i| format!("let a{} = [a{i}, a{i}]\n", i + 1))
        .collect();
    let main = format!("let a0 = \"x\"\n{lets}output \"n\" = to_string(a60)\n");
    shows(&refused("share", &main, &[]), "E0418", "evaluation steps");
    // A value within the budget, shown many times over in one call.
    let lets: String = (0..20)
        .map(|i| format!("let a{} = [a{i}, a{i}]\n", i + 1))
        .collect();
    let many = vec!["a20"; 2000].join(", ");
    let main = format!("let a0 = \"x\"\n{lets}output \"n\" = len(to_string([{many}]))\n");
    shows(
        &refused("share-call", &main, &[]),
        "E0418",
        "evaluation steps",
    );
}

#[test]
fn sizes_are_refused_before_anything_is_built() {
    // 2^40 elements in one list: refused at once, nothing allocated.
    let main = "let xs = range(1000) + range(1000)\nlet ys = xs + xs\noutput \"n\" = len(ys)\n";
    let err = refused("collection", main, &["--max-collection", "3000"]);
    shows(
        &err,
        "E0418",
        "a list or map of 4,000 elements, over the 3,000 limit",
    );
    shows(&err, "E0418", "--max-collection N");
    let main =
        "let s = join([for i in range(100) : \"0123456789\"], \"\")\noutput \"n\" = len(s + s)\n";
    let err = refused("string", main, &["--max-string-size", "1KiB"]);
    shows(&err, "E0418", "a string of 2.0KiB, over the 1KiB limit");
    shows(&err, "E0418", "--max-string-size SIZE");
}

#[test]
fn each_limit_is_raised_by_its_flag() {
    let main = "let xs = [for i in range(100000) : i * 2]\noutput \"n\" = len(xs)\n";
    let dir = stack_dir("raise", main, &[]);
    shows(
        &check(&dir, &["--max-steps", "1000"], 1),
        "E0418",
        "more than 1,000 evaluation steps",
    );
    check(&dir, &["--max-steps", "1000000"], 0);
    shows(
        &check(&dir, &["--max-collection", "99999"], 1),
        "E0418",
        "--max-collection",
    );
    let out = exits(
        0,
        &[
            "compile",
            dir.to_str().unwrap(),
            "--max-steps",
            "1000000",
            "--max-string-size",
            "64MiB",
        ],
        &[],
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("100000"));
    let out = exits(
        1,
        &["output", "n", dir.to_str().unwrap(), "--max-steps", "10"],
        &[],
    );
    assert!(stderr(&out).contains("E0418"));
    let out = exits(
        1,
        &["check", dir.to_str().unwrap(), "--max-string-size", "lots"],
        &[],
    );
    assert!(stderr(&out).contains("not a size like 64MiB"));
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn every_command_that_evaluates_takes_the_limit_flags() {
    for command in [
        "check", "compile", "plan", "apply", "destroy", "status", "output",
    ] {
        let out = exits(0, &[command, "--help"], &[]);
        let help = String::from_utf8_lossy(&out.stdout).into_owned();
        for flag in [
            "--max-steps <N>",
            "--max-string-size <SIZE>",
            "--max-collection <N>",
        ] {
            assert!(
                help.contains(flag),
                "`{command} --help` lacks {flag}:\n{help}"
            );
        }
        assert!(help.contains("[default: 20000000]") && help.contains("[default: 256MiB]"));
        assert!(help.contains("[default: 10000000]"), "{help}");
    }
}

#[test]
fn deep_nesting_is_refused_before_parsing() {
    let n = 200_000;
    let cases = [
        (
            "parens",
            format!("let x = {}1{}\n", "(".repeat(n), ")".repeat(n)),
            "brackets nested",
        ),
        (
            "lists",
            format!("let x = {}1{}\n", "[".repeat(n), "]".repeat(n)),
            "brackets nested",
        ),
        (
            "records",
            format!("let x = {}1{}\n", "{a = ".repeat(n), "}".repeat(n)),
            "brackets nested",
        ),
        (
            "interp",
            format!("let x = {}1{}\n", "\"${".repeat(n), "}\"".repeat(n)),
            "brackets nested",
        ),
        (
            "if-then",
            format!(
                "let x = {}1{}\n",
                "if true then ".repeat(n),
                " else 2".repeat(n)
            ),
            "`if` nested",
        ),
        (
            "else-if",
            format!("let x = {}2\n", "if false then 1 else ".repeat(n / 2)),
            "`if` nested",
        ),
        (
            "if-cond",
            format!(
                "let x = {}true{}\n",
                "if ".repeat(n),
                " then 1 else 2".repeat(n)
            ),
            "`if` nested",
        ),
        (
            "if-items",
            format!("{}}}\n", "if true {\n".repeat(n)).replace("}\n", &"}\n".repeat(n)),
            "nested",
        ),
        (
            "else-if-items",
            format!("if false {{\n}}{}\n", " else if false {\n}".repeat(n)),
            "nested",
        ),
    ];
    for (what, main, message) in cases {
        shows(&refused(what, &main, &[]), "E0104", message);
    }
}

#[test]
fn brackets_inside_strings_are_not_nesting() {
    let main = format!(
        "let x = \"{}\"\nlet y = \"\"\"\n{}\n\"\"\"\nlet z = \"${{\"${{1}}\"}}\"\noutput \"n\" = len(x) + len(y) + len(z)\n",
        "(".repeat(1000),
        "{[".repeat(500)
    );
    let dir = stack_dir("strings", &main, &[]);
    check(&dir, &[], 0);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn long_chains_of_lets_functions_and_resources_end_with_an_error() {
    let n = 12_000;
    // Lets each using the next, declared backwards: the checker would recurse n deep.
    let lets: String = (0..n)
        .rev()
        .map(|i| format!("let a{} = a{i} + 1\n", i + 1))
        .collect();
    let main = format!("output \"n\" = a{n}\n{lets}let a0 = 0\n");
    shows(
        &refused("lets", &main, &[]),
        "E0104",
        "nested more than 10000 levels deep",
    );
    // Types nested by a chain of lets.
    let lets: String = (0..400)
        .map(|i| format!("let a{} = [a{i}]\n", i + 1))
        .collect();
    let main = format!("let a0 = 0\n{lets}output \"n\" = len(a400)\n");
    shows(
        &refused("types", &main, &[]),
        "E0104",
        "a type nested more than 256 levels deep",
    );
    // Functions calling functions: the evaluator's depth limit.
    let fns: String = (0..n)
        .map(|i| format!("fn f{}(x: int) -> int = f{i}(x) + 1\n", i + 1))
        .collect();
    let main = format!("fn f0(x: int) -> int = x\n{fns}output \"n\" = f{n}(1)\n");
    shows(
        &refused("fns", &main, &[]),
        "E0418",
        "nested more than 10,000 levels deep",
    );
    // Resources each needing the next.
    let main = format!(
        "container \"c{n}\" {{\n  image = \"busybox\"\n}}\nfor i in range(0, {n}) {{\n  container \"c${{i}}\" {{\n    image = \"busybox\"\n    hostname = \"h${{len(container[\"c${{i + 1}}\"].hostname) % 10}}\"\n  }}\n}}\n"
    );
    shows(
        &refused("resources", &main, &[]),
        "E0418",
        "nested more than 10,000 levels deep",
    );
}

#[test]
fn a_chain_of_lets_in_order_is_fine() {
    let lets: String = (0..5000)
        .map(|i| format!("let a{} = a{i} + 1\n", i + 1))
        .collect();
    let main = format!("let a0 = 0\n{lets}output \"n\" = a5000\n");
    let dir = stack_dir("lets-ok", &main, &[]);
    check(&dir, &[], 0);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn errors_on_very_long_lines_are_shown_clipped() {
    let a = "a".repeat(50_000);
    let b = "b".repeat(50_000);
    let wide = "é日".repeat(20_000);
    let cases = [
        ("middle", format!("let x = \"{a}\" + 1 + \"{b}\"\n"), 9),
        ("end", format!("let x = \"{a}{b}\" + 1\n"), 9),
        ("utf8", format!("let x = \"{wide}\" + 1 + \"{wide}\"\n"), 9),
        (
            "late",
            format!("let x = [\"{a}\", \"{b}\", 1 + \"c\"]\n"),
            100_018,
        ),
    ];
    for (what, main, column) in cases {
        let err = refused(what, &main, &[]);
        shows(&err, "E0306", "cannot apply `+`");
        assert!(err.contains('…'), "{err}");
        assert!(err.len() < 5_000, "{what}: {} bytes shown", err.len());
        assert!(
            err.contains(&format!("main.stack:1:{column}]")),
            "{what}:\n{err}"
        );
    }
}

#[test]
fn a_million_resources_from_one_loop_stop_at_the_step_limit() {
    let dir = crate::support::stack_dir(
        "many-resources",
        "stack \"many\"\nfor i in range(1000000) {\n  container \"c${i}\" { image = \"busybox:1.36\" }\n}\n",
        &[],
    );
    let out = crate::support::stackc(&["check", &dir.to_string_lossy()]);
    assert_eq!(out.status.code(), Some(1));
    let err = crate::support::stderr(&out);
    assert!(
        err.contains("E0418") && err.contains("--max-steps"),
        "{err}"
    );
}

#[test]
fn hostile_patterns_and_replacements_are_bounded() {
    // A pattern that would compile to gigabytes is refused before it is built.
    let main = "output \"m\" = matches(\"a\", \"((a{100}){100}){100}\")\n";
    shows(
        &refused("regex-size", main, &[]),
        "E0483",
        "compiles to more than",
    );
    // Every empty match replaced by a long text: stops at the string limit.
    let main = "let s = join([for i in range(4096): \"a\"], \"\")\n\
                output \"r\" = len(regex_replace(s, \"\", join([for i in range(4096): \"b\"], \"\")))\n";
    shows(
        &refused("regex-replace", main, &["--max-string-size", "1MiB"]),
        "E0414",
        "--max-string-size",
    );
    // Widths are bounded, so one `format` cannot build megabytes.
    let main = "output \"f\" = format(\"%999999999d\", 1)\n";
    shows(&refused("format-width", main, &[]), "E0414", "at most 4096");
}

#[test]
fn a_template_of_many_placeholders_stops_before_it_is_built() {
    // 100,000 placeholders, each given 64KiB: 6GiB of text if it were built.
    let template = "${a}".repeat(100_000);
    let main = "let v = join([for i in range(65536): \"x\"], \"\")\n\
                output \"n\" = len(templatefile(\"t.tpl\", { a = v }))\n";
    let dir = stack_dir("template-size", main, &[("t.tpl", &template)]);
    shows(&check(&dir, &[], 1), "E0414", "--max-string-size");
    // Each filled template is paid for by its size: a loop of them ends.
    let main = "let v = join([for i in range(64): \"x\"], \"\")\n\
                output \"n\" = [for i in range(1000): len(templatefile(\"t.tpl\", { a = v }))]\n";
    std::fs::write(dir.join("main.stack"), main).unwrap();
    shows(&check(&dir, &[], 1), "E0418", "evaluation steps");
    let _ = std::fs::remove_dir_all(&dir);
}
