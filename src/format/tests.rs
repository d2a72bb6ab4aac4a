use super::*;

fn fmt(text: &str) -> String {
    match format_source(text, SourceId(0)) {
        Ok(out) => {
            assert_eq!(
                format_source(&out, SourceId(0)).ok().as_deref(),
                Some(out.as_str()),
                "idempotent"
            );
            out
        }
        Err(e) => panic!("{e:?}"),
    }
}

#[test]
fn every_construct_has_its_layout() {
    let input = include_str!("../../tests/fixtures/format/constructs.in.stack");
    let expected = include_str!("../../tests/fixtures/format/constructs.out.stack");
    assert_eq!(fmt(input), expected);
}

#[test]
fn blanks_and_separators_are_normalized() {
    let out = fmt("param  x :int=1\n\n\n\ncontainer \"a\" { image = \"x\"\n ports=[1,2,] , }\n");
    assert_eq!(
        out,
        "param x: int = 1\n\ncontainer \"a\" {\n  image = \"x\"\n  ports = [1, 2]\n}\n"
    );
}

#[test]
fn fields_align_in_runs_split_by_blank_lines() {
    let out = fmt("container \"a\" {\n image = \"x\"\n restart = \"no\"\n\n memory = 1MiB\n}\n");
    assert_eq!(
        out,
        "container \"a\" {\n  image   = \"x\"\n  restart = \"no\"\n\n  memory = 1MiB\n}\n"
    );
}

#[test]
fn long_lists_and_records_break_one_element_per_line() {
    let long = "\"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\"";
    let text = format!(
        "let l = [{long}, {long}, {long}]\nlet r = {{ a = {long}, bb = {long}, c = {long} }}\n"
    );
    assert_eq!(
        fmt(&text),
        format!(
            "let l = [\n  {long},\n  {long},\n  {long},\n]\nlet r = {{\n  a  = {long}\n  bb = {long}\n  c  = {long}\n}}\n"
        )
    );
    // Calls break the same way; what fits stays on one line.
    let call = format!("let c = f({long}, {long}, {long}, 1)\nlet s = f(1, 2)\n");
    assert_eq!(
        fmt(&call),
        format!("let c = f(\n  {long},\n  {long},\n  {long},\n  1,\n)\nlet s = f(1, 2)\n")
    );
}

#[test]
fn comments_stay_on_their_lines() {
    let text =
        "# top\n\nlet a = [\n  # first\n  1, # one\n  2,\n  # last\n]\nlet b = 1 # b\n# end\n";
    assert_eq!(
        fmt(text),
        "# top\n\nlet a = [\n  # first\n  1,  # one\n  2,\n  # last\n]\nlet b = 1  # b\n# end\n"
    );
    // A `#` in a string is text.
    assert_eq!(fmt("let s = \"a # b\"   # c\n"), "let s = \"a # b\"  # c\n");
}

#[test]
fn a_comment_inside_an_expression_leaves_the_file_alone() {
    let text = "let a = 1 + # why\n  2\n";
    match format_source(text, SourceId(0)) {
        Err(FormatError::Unsupported(m)) => assert!(m.contains("line 1"), "{m}"),
        other => panic!("{other:?}"),
    }
}

#[test]
fn strings_are_kept_exactly() {
    let text = "let a = \"x${ 1+2 }\\t$${y}\"\nlet b = \"\"\"\n  keep   this\n\t\"\"\"\n";
    assert_eq!(fmt(text), text);
}

#[test]
fn syntax_errors_are_reported() {
    assert!(matches!(
        format_source("let = 1", SourceId(0)),
        Err(FormatError::Syntax(_))
    ));
}

#[test]
fn empty_file_stays_empty() {
    assert_eq!(fmt(""), "");
    assert_eq!(fmt("\n\n"), "");
    assert_eq!(fmt("# only\n"), "# only\n");
}

/// Mutated inputs (characters dropped or repeated) never panic, and what
/// formats, formats to itself.
#[test]
fn mutated_inputs_never_panic() {
    let base = include_str!("../../tests/fixtures/format/constructs.in.stack");
    let chars: Vec<char> = base.chars().collect();
    let mut seed = 7u64;
    let mut formatted = 0;
    for _ in 0..200 {
        seed = seed
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        let at = (seed >> 33) as usize % chars.len();
        let mut text: Vec<char> = chars.clone();
        if seed & 1 == 0 {
            text.remove(at);
        } else {
            text.insert(at, chars[(seed >> 40) as usize % chars.len()]);
        }
        let text: String = text.into_iter().collect();
        if let Ok(out) = format_source(&text, SourceId(0)) {
            formatted += 1;
            assert_eq!(
                format_source(&out, SourceId(0)).ok().as_deref(),
                Some(out.as_str()),
                "{text}"
            );
        }
    }
    assert!(formatted > 25, "{formatted}");
}
