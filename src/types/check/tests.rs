//! The checker through `check_program`: literals are checked against the
//! type they are wanted as, so errors point at the wrong element or field;
//! optional fields may be left out.

use std::sync::atomic::{AtomicUsize, Ordering};

use super::check_program;
use crate::diagnostic::ErrorCode;
use crate::resolve;
use crate::source::SourceMap;

/// One error as (code, message, help, the text under its first label).
pub(super) type Found = (ErrorCode, String, Option<String>, String);

/// Loads `text` as a one-file stack and checks it: its errors.
pub(super) fn check(text: &str) -> Vec<Found> {
    diagnostics(text, true)
}

/// The errors (or the warnings) of checking `text`.
fn diagnostics(text: &str, errors: bool) -> Vec<Found> {
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    let n = NEXT.fetch_add(1, Ordering::SeqCst);
    let file = std::env::temp_dir().join(format!("stackc-check-{}-{n}.stack", std::process::id()));
    std::fs::write(&file, text).expect("write");
    let mut sources = SourceMap::default();
    let files = crate::files::Confinement::new(&std::env::temp_dir(), &[]).expect("temp dir");
    let loaded = resolve::load(&file, &files, &mut sources);
    let _ = std::fs::remove_file(&file);
    let program = loaded.unwrap_or_else(|e| panic!("does not load: {}", e[0].message));
    check_program(&program)
        .into_iter()
        .filter(|d| d.is_error() == errors)
        .map(|d| {
            let under = d
                .primary_span()
                .map(|s| sources.text(s).to_string())
                .unwrap_or_default();
            (d.code, d.message, d.help, under)
        })
        .collect()
}

pub(super) fn one(text: &str) -> Found {
    let mut found = check(text);
    assert_eq!(found.len(), 1, "{found:#?}");
    found.remove(0)
}

pub(super) fn clean(text: &str) {
    let found = check(text);
    assert!(found.is_empty(), "{found:#?}");
}

#[test]
fn a_wrong_list_element_is_pointed_at_not_the_list() {
    let (code, message, _, under) = one("let ports: list[int] = [1, \"two\", 3]\n");
    assert_eq!(code, ErrorCode::TypeMismatch);
    assert_eq!(message, "expected an int, found a string");
    assert_eq!(under, "\"two\"");
}

#[test]
fn a_wrong_field_deep_in_a_literal_is_pointed_at() {
    let (code, message, _, under) = one(
        "let xs: list[{ name: string, port: int }] = [\n  { name = \"a\", port = 1 },\n  { name = \"b\", port = \"80\" },\n]\n",
    );
    assert_eq!(code, ErrorCode::TypeMismatch);
    assert_eq!(message, "expected an int, found a string");
    assert_eq!(under, "\"80\"");
}

#[test]
fn both_branches_of_an_if_are_checked_against_the_wanted_type() {
    let (code, message, _, under) = one("let x: int = if 1 > 0 then 1 else \"one\"\n");
    assert_eq!(code, ErrorCode::TypeMismatch);
    assert_eq!(message, "expected an int, found a string");
    assert_eq!(under, "\"one\"");
    let (_, message, _, under) = one("let x: int = if 1 then 1 else 2\n");
    assert_eq!(message, "expected a bool, found an int");
    assert_eq!(under, "1");
}

#[test]
fn without_a_wanted_type_a_literal_is_inferred_whole() {
    // A let without a type: the list is inferred, and only its use is checked.
    let (code, _, _, under) = one("let xs = [1, 2]\nlet n: string = xs\n");
    assert_eq!(code, ErrorCode::TypeMismatch);
    assert_eq!(under, "xs");
}

#[test]
fn an_unknown_record_field_suggests_the_closest_and_a_missing_one_is_named() {
    let found = check("let r: { name: string, port: int } = { name = \"a\", prot = 1 }\n");
    let summary: Vec<(ErrorCode, &str, Option<&str>, &str)> = found
        .iter()
        .map(|(c, m, h, u)| (*c, m.as_str(), h.as_deref(), u.as_str()))
        .collect();
    assert_eq!(
        summary,
        [
            (
                ErrorCode::UnknownField,
                "unknown field `prot`",
                Some("did you mean `port`?"),
                "prot"
            ),
            (
                ErrorCode::MissingField,
                "missing field `port`",
                Some("add `port = …` (int)"),
                "{ name = \"a\", prot = 1 }"
            ),
        ]
    );
}

#[test]
fn an_unknown_field_with_nothing_close_lists_the_fields() {
    let (code, _, help, under) =
        one("let r: { name: string, port: int? } = { name = \"a\", zzzzzz = 1 }\n");
    assert_eq!(code, ErrorCode::UnknownField);
    assert_eq!(help.as_deref(), Some("expected fields: name, port"));
    assert_eq!(under, "zzzzzz");
}

#[test]
fn optional_fields_may_be_left_out_or_null_but_are_still_typed() {
    clean("let r: { name: string, port: int? } = { name = \"a\" }\n");
    clean("let r: { name: string, port: int? } = { name = \"a\", port = null }\n");
    clean("let r: { name: string, port: int? } = { name = \"a\", port = 8080 }\n");
    let (code, message, _, under) =
        one("let r: { name: string, port: int? } = { name = \"a\", port = \"8080\" }\n");
    assert_eq!(code, ErrorCode::TypeMismatch);
    assert_eq!(message, "expected an int or null, found a string");
    assert_eq!(under, "\"8080\"");
}

#[test]
fn null_is_only_accepted_where_optional() {
    clean("let x: int? = null\n");
    let (code, message, _, under) = one("let x: int = null\n");
    assert_eq!(code, ErrorCode::TypeMismatch);
    assert_eq!(message, "expected an int, found null");
    assert_eq!(under, "null");
}

#[test]
fn a_key_given_twice_in_a_literal_is_e0415() {
    let (code, message, _, under) = one("let r: { a: int } = { a = 1, a = 2 }\n");
    assert_eq!(code, ErrorCode::DuplicateKey);
    assert_eq!(message, "key `a` is given twice");
    assert_eq!(under, "a");
}

#[test]
fn an_enum_literal_outside_the_enum_suggests_a_member() {
    clean("let p: \"always\" | \"never\" = \"never\"\n");
    let (code, message, help, under) = one("let p: \"always\" | \"never\" = \"alwyas\"\n");
    assert_eq!(code, ErrorCode::TypeMismatch);
    assert_eq!(message, "`\"alwyas\"` is not one of \"always\" | \"never\"");
    assert_eq!(help.as_deref(), Some("did you mean `always`?"));
    assert_eq!(under, "\"alwyas\"");
}

#[test]
fn resource_fields_are_checked_against_the_kind_schema() {
    let (code, message, help, under) =
        one("container \"c\" {\n  image = \"busybox\"\n  restrat = \"always\"\n}\n");
    assert_eq!(code, ErrorCode::UnknownField);
    assert_eq!(message, "container has no field `restrat`");
    assert_eq!(help.as_deref(), Some("did you mean `restart`?"));
    assert_eq!(under, "restrat");
    let (code, _, help, under) =
        one("container \"c\" {\n  image = \"busybox\"\n  memory = 512\n}\n");
    assert_eq!(code, ErrorCode::TypeMismatch);
    assert_eq!(
        help.as_deref(),
        Some("write a size with its unit: 512MiB, 1GiB")
    );
    assert_eq!(under, "512");
}

// ------------------------------------------------------------ narrowing

/// A parameter `note: string?` and a flag, then `body`.
fn with_note(body: &str) -> String {
    format!("param note: string? = null\nparam flag: bool = false\n{body}\n")
}

/// The one error of `with_note(body)`: a `string?` where a `string` is wanted.
fn still_optional(body: &str) -> String {
    let (code, message, _, under) = one(&with_note(body));
    assert_eq!(code, ErrorCode::TypeMismatch, "{body}");
    assert!(
        message.ends_with("found a string or null"),
        "{body}: {message}"
    );
    under
}

#[test]
fn a_test_against_null_narrows_the_branch_where_the_name_is_present() {
    for body in [
        "let s: string = if note == null then \"none\" else note",
        "let s: string = if note != null then note else \"none\"",
        "let s: string = if null == note then \"none\" else note",
        "let s: string = if null != note then note else \"none\"",
        "let s: string = if !(note == null) then note else \"none\"",
        "let s: string = if note == null || flag then \"\" else note",
        "let s: string = if flag && note != null then note else \"\"",
        "let s: string = if note != null then (if flag then note else upper(note)) else \"\"",
    ] {
        clean(&with_note(body));
    }
}

#[test]
fn an_inferred_if_joins_the_narrowed_branch() {
    // Without an annotation the let takes the join: `string`, not `string?`.
    clean(&with_note(
        "let s = if note == null then \"none\" else note\nlet t: string = s",
    ));
}

#[test]
fn the_right_of_and_and_or_sees_what_the_left_proves() {
    clean(&with_note("let b: bool = note != null && len(note) > 0"));
    clean(&with_note("let b: bool = note == null || len(note) == 0"));
    // The wrong way round proves nothing.
    assert_eq!(
        one(&with_note("let b: bool = note == null && len(note) > 0")).3,
        "note"
    );
    assert_eq!(
        one(&with_note("let b: bool = note != null || len(note) > 0")).3,
        "note"
    );
}

#[test]
fn narrowing_does_not_leak_out_of_its_branch() {
    assert_eq!(
        still_optional("let s: string = if note != null then \"x\" else note"),
        "note"
    );
    assert_eq!(
        still_optional("let s: string = if note != null || flag then note else \"\""),
        "note"
    );
    // After the `if`, in the next field, `note` may be null again.
    let body = "container \"c\" {\n  image = \"busybox\"\n  env = { A = if note != null then note else \"\", B = note }\n}";
    let (code, _, _, under) = one(&with_note(body));
    assert_eq!(code, ErrorCode::TypeMismatch);
    assert_eq!(under, "note");
    // Nor from the left of `&&` into what follows the whole test.
    assert_eq!(
        still_optional("let b = note != null && flag\nlet s: string = if b then note else \"\""),
        "note"
    );
}

#[test]
fn function_parameters_loop_variables_and_lets_narrow() {
    clean("fn show(x: string?) -> string = if x == null then \"-\" else x\n");
    clean("let x: int? = 3\nlet y: int = if x != null then x else 0\n");
    clean(
        "param notes: list[string?] = []\nlet up: list[string] = [for n in notes if n != null: upper(n)]\n",
    );
    clean(
        "param notes: map[string?] = {}\nlet m: map[string] = {for k, v in notes if v != null: k = v}\n",
    );
    // `if` items narrow their blocks, lets in them included.
    clean(&with_note(
        "if note != null {\n  let shown: string = note\n  container \"c\" {\n    image = \"busybox\"\n    env = { NOTE = note, SHOWN = shown }\n  }\n}",
    ));
    clean(&with_note(
        "if note == null {\n} else {\n  container \"c\" {\n    image = \"busybox\"\n    env = { NOTE = note }\n  }\n}",
    ));
}

#[test]
fn a_name_bound_again_inside_the_branch_is_not_narrowed() {
    let (code, _, _, under) = one(
        "param xs: list[string?] = []\nfn f(x: string?) -> list[string] = if x != null then [for x in xs: x] else []\n",
    );
    // The inner `x` is an element of `xs`, still optional.
    assert_eq!(code, ErrorCode::TypeMismatch);
    assert_eq!(under, "[for x in xs: x]");
}

#[test]
fn fields_narrow_like_names() {
    // A path into a name is narrowed too (issue 12; more in `tests_exprs.rs`).
    clean(
        "param svc: { note: string? } = {}\nlet s: string = if svc.note != null then svc.note else \"\"\n",
    );
}

#[test]
fn a_loop_variable_hiding_a_name_is_a_warning() {
    let warnings = diagnostics(
        "import \"std/redis\" as redis\nparam port: int = 1\nlet x = 1\n\
         output \"a\" = [for port in [1]: [for port in [2]: port]]\n\
         output \"b\" = [for k, x in { a = 1 }: k]\n\
         output \"c\" = [for redis in [1]: redis]\n\
         output \"d\" = [for image in [1]: image]\n",
        false,
    );
    let messages: Vec<&str> = warnings.iter().map(|w| w.1.as_str()).collect();
    assert_eq!(
        messages,
        [
            "the loop variable `port` hides the parameter `port`",
            "the loop variable `port` hides the outer `port`",
            "the loop variable `x` hides the let `x`",
            "the loop variable `redis` hides the imported module `redis`",
        ]
    );
    assert!(warnings.iter().all(|w| w.0 == ErrorCode::ShadowedName));
}
