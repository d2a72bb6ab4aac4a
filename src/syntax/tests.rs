//! Where the syntax is subtle: `"""` dedent, escapes and interpolation,
//! operator precedence, number literals and the nesting guards.

use super::ast::{Expr, ExprKind, Item, StrPart, UnaryOp};
use super::{parse_expr, parse_file};
use crate::diagnostic::{Diagnostic, ErrorCode};
use crate::source::SourceId;

const SOURCE: SourceId = SourceId(0);

fn expr(text: &str) -> Expr {
    match parse_expr(text, SOURCE) {
        Ok(e) => e,
        Err(d) => panic!("`{text}` does not parse: {}", d.message),
    }
}

fn expr_error(text: &str) -> Diagnostic {
    match parse_expr(text, SOURCE) {
        Ok(e) => panic!("`{text}` parses, as {}", sexpr(&e)),
        Err(d) => d,
    }
}

/// The value of `let x = …` in a file: goes through the same lowering as a whole file.
fn let_value(file: &str) -> Expr {
    let parsed = match parse_file(file, SOURCE) {
        Ok(f) => f,
        Err(ds) => panic!("does not parse: {}", ds[0].message),
    };
    match parsed.items.into_iter().next() {
        Some(Item::Let(l)) => l.value,
        other => panic!("not a let: {other:?}"),
    }
}

/// The tree in prefix form, e.g. `(+ 1 (* 2 3))`.
fn sexpr(e: &Expr) -> String {
    match &e.kind {
        ExprKind::Null => "null".into(),
        ExprKind::Bool(b) => b.to_string(),
        ExprKind::Int(i) => i.to_string(),
        ExprKind::Float(f) => format!("{f:?}"),
        ExprKind::Duration(ms) => format!("{ms}ms"),
        ExprKind::Size(b) => format!("{b}B"),
        ExprKind::Str(parts) => {
            let parts: Vec<String> = parts
                .iter()
                .map(|p| match p {
                    StrPart::Lit(s) => format!("{s:?}"),
                    StrPart::Interp(e) => format!("${{{}}}", sexpr(e)),
                })
                .collect();
            format!("(str {})", parts.join(" "))
        }
        ExprKind::Name(n) => n.clone(),
        ExprKind::Unary(UnaryOp::Neg, a) => format!("(neg {})", sexpr(a)),
        ExprKind::Unary(UnaryOp::Not, a) => format!("(! {})", sexpr(a)),
        ExprKind::Binary(op, a, b) => format!("({} {} {})", op.symbol(), sexpr(a), sexpr(b)),
        ExprKind::Member(a, name) => format!("(. {} {})", sexpr(a), name.node),
        ExprKind::OptMember(a, name) => format!("(?. {} {})", sexpr(a), name.node),
        ExprKind::Record(fields) => {
            let fields: Vec<String> = fields
                .iter()
                .map(|f| match f.key.static_name() {
                    Some(k) => format!("{k}={}", sexpr(&f.value)),
                    None if f.is_spread() => format!("...{}", sexpr(&f.value)),
                    None => format!("?={}", sexpr(&f.value)),
                })
                .collect();
            format!("{{{}}}", fields.join(" "))
        }
        ExprKind::Index(a, i) => format!("([] {} {})", sexpr(a), sexpr(i)),
        ExprKind::Call(f, args) => {
            let args: Vec<String> = args.iter().map(sexpr).collect();
            format!("({} {})", f.node, args.join(" "))
        }
        ExprKind::List(items) => {
            let items: Vec<String> = items.iter().map(sexpr).collect();
            format!("[{}]", items.join(" "))
        }
        ExprKind::If(c, a, b) => format!("(if {} {} {})", sexpr(c), sexpr(a), sexpr(b)),
        other => format!("{other:?}"),
    }
}

/// The text of a string literal without interpolation.
fn plain(e: &Expr) -> String {
    match e.as_plain_string() {
        Some(s) => s.to_string(),
        None => panic!("not a plain string: {}", sexpr(e)),
    }
}

// ------------------------------------------------------------ strings

#[test]
fn heredocs_drop_the_first_newline_the_closing_indent_and_the_common_indent() {
    let e = let_value("let x = \"\"\"\n    server {\n      listen 80\n    }\n    \"\"\"\n");
    assert_eq!(plain(&e), "server {\n  listen 80\n}\n");
}

#[test]
fn heredoc_blank_lines_do_not_count_towards_the_common_indent() {
    let e = let_value("let x = \"\"\"\n    a\n\n      b\n    \"\"\"\n");
    assert_eq!(plain(&e), "a\n\n  b\n");
}

#[test]
fn heredocs_closed_on_the_last_line_of_text_keep_no_trailing_newline() {
    let e = let_value("let x = \"\"\"\n  one\n  two\"\"\"\n");
    assert_eq!(plain(&e), "one\ntwo");
}

#[test]
fn escapes_and_interpolations_are_content_not_indentation() {
    // `\t` after the indentation is kept; an interpolation at the start of a
    // line sets the common indentation like any other content.
    let e = let_value("let x = \"\"\"\n    \\tcode\n    x\n    \"\"\"\n");
    assert_eq!(plain(&e), "\tcode\nx\n");
    let e = let_value("let x = \"\"\"\n      a\n    ${name}\n    \"\"\"\n");
    assert_eq!(sexpr(&e), r#"(str "  a\n" ${name} "\n")"#);
}

#[test]
fn escapes_decode_and_an_escaped_dollar_is_no_interpolation() {
    let e = expr(r#""a\n\t\"\\ \${x} ${y}""#);
    assert_eq!(sexpr(&e), r#"(str "a\n\t\"\\ ${x} " ${y})"#);
}

#[test]
fn interpolation_splits_a_string_into_parts() {
    let e = expr(r#""${a}-${b + 1}""#);
    assert_eq!(sexpr(&e), r#"(str ${a} "-" ${(+ b 1)})"#);
    assert_eq!(sexpr(&expr(r#""""#)), "(str )");
}

#[test]
fn an_unknown_escape_is_e0102_pointing_at_the_escape() {
    let d = expr_error(r#""ab\qc""#);
    assert_eq!(d.code, ErrorCode::InvalidEscape);
    assert_eq!(d.message, "unknown escape `\\q`");
    let span = d.primary_span().expect("a label");
    assert_eq!((span.start, span.end), (3, 5));
}

#[test]
fn plain_strings_are_required_where_no_interpolation_is_allowed() {
    let errors = parse_file("stack \"a-${x}\"\n", SOURCE).expect_err("interpolated stack name");
    assert_eq!(errors[0].code, ErrorCode::Syntax);
    assert_eq!(errors[0].message, "interpolation is not allowed here");
}

// ------------------------------------------------------------ operators

#[test]
fn multiplication_binds_tighter_than_addition_and_both_lean_left() {
    assert_eq!(sexpr(&expr("1 + 2 * 3")), "(+ 1 (* 2 3))");
    assert_eq!(sexpr(&expr("1 * 2 + 3")), "(+ (* 1 2) 3)");
    assert_eq!(sexpr(&expr("a - b - c")), "(- (- a b) c)");
    assert_eq!(sexpr(&expr("a / b % c")), "(% (/ a b) c)");
    assert_eq!(sexpr(&expr("(a - b) - c")), "(- (- a b) c)");
    assert_eq!(sexpr(&expr("a - (b - c)")), "(- a (- b c))");
}

#[test]
fn logic_and_comparison_precedence() {
    assert_eq!(sexpr(&expr("a || b && c")), "(|| a (&& b c))");
    assert_eq!(sexpr(&expr("a + 1 < b * 2")), "(< (+ a 1) (* b 2))");
    assert_eq!(
        sexpr(&expr("a == 1 && b != 2 || c")),
        "(|| (&& (== a 1) (!= b 2)) c)"
    );
    // Comparisons share one level: they chain to the left.
    assert_eq!(sexpr(&expr("a < b == c")), "(== (< a b) c)");
}

#[test]
fn coalescing_sits_between_comparison_and_addition_and_leans_right() {
    assert_eq!(sexpr(&expr("a ?? b ?? c")), "(?? a (?? b c))");
    assert_eq!(sexpr(&expr("a ?? 1 + 2")), "(?? a (+ 1 2))");
    assert_eq!(sexpr(&expr("a ?? b == c")), "(== (?? a b) c)");
    assert_eq!(sexpr(&expr("a ?? b || c")), "(|| (?? a b) c)");
    assert_eq!(sexpr(&expr("a?.b?.c ?? d")), "(?? (?. (?. a b) c) d)");
}

#[test]
fn deep_merge_binds_like_addition() {
    assert_eq!(sexpr(&expr("a ++ b + c")), "(+ (++ a b) c)");
    assert_eq!(sexpr(&expr("a + b ++ c")), "(++ (+ a b) c)");
    assert_eq!(sexpr(&expr("a ++ b * c")), "(++ a (* b c))");
}

#[test]
fn spreads_are_entries_of_records_and_resource_bodies() {
    assert_eq!(
        sexpr(&expr("{ ...a, x = 1, ...b.c }")),
        "{...a x=1 ...(. b c)}"
    );
    let file = parse_file("container \"c\" { ...base, image = \"x\" }\n", SOURCE)
        .unwrap_or_else(|e| panic!("does not parse: {}", e[0].message));
    let Some(Item::Resource(r)) = file.items.first() else {
        panic!("not a resource");
    };
    assert!(r.fields[0].is_spread() && !r.fields[1].is_spread());
    // The span of `...` is the key's.
    assert_eq!(
        (r.fields[0].key.span().start, r.fields[0].key.span().end),
        (16, 19)
    );
}

#[test]
fn prefix_operators_bind_tightest_and_postfix_tighter_still() {
    assert_eq!(sexpr(&expr("-a * b")), "(* (neg a) b)");
    assert_eq!(sexpr(&expr("!a && b")), "(&& (! a) b)");
    assert_eq!(sexpr(&expr("--1")), "(neg (neg 1))");
    assert_eq!(sexpr(&expr("-x.y[0]")), "(neg ([] (. x y) 0))");
    assert_eq!(sexpr(&expr("a - -1")), "(- a (neg 1))");
}

#[test]
fn if_expressions_take_whole_expressions() {
    assert_eq!(
        sexpr(&expr("if a > 1 then b + 1 else c")),
        "(if (> a 1) (+ b 1) c)"
    );
}

#[test]
fn a_minus_at_the_start_of_a_list_line_is_ambiguous() {
    let d = expr_error("[\n  1\n  -2\n]");
    assert_eq!(d.code, ErrorCode::Syntax);
    assert_eq!(d.message, "ambiguous `-` at the start of a line in a list");
    let span = d.primary_span().expect("a label");
    assert_eq!(span.start, "[\n  1\n  ".len() as u32);
    // With a comma, or on one line, it is clear.
    assert_eq!(sexpr(&expr("[\n  1,\n  -2\n]")), "[1 (neg 2)]");
    assert_eq!(sexpr(&expr("[1 - 2]")), "[(- 1 2)]");
}

// ------------------------------------------------------------ names after `.`

#[test]
fn a_name_after_a_dot_takes_dashes_and_may_start_with_a_digit() {
    assert_eq!(sexpr(&expr("network.dns-net")), "(. network dns-net)");
    assert_eq!(sexpr(&expr("container.api-0")), "(. container api-0)");
    assert_eq!(sexpr(&expr("volume.2nd-data")), "(. volume 2nd-data)");
    assert_eq!(sexpr(&expr("container.a--b-")), "(. container a--b-)");
    assert_eq!(
        sexpr(&expr("postgres.my-db.url")),
        "(. (. postgres my-db) url)"
    );
    assert_eq!(
        sexpr(&expr("container.api-0.name")),
        "(. (. container api-0) name)"
    );
    assert_eq!(
        sexpr(&expr(r#"container["api-0"].name"#)),
        r#"(. ([] container (str "api-0")) name)"#
    );
    assert_eq!(
        sexpr(&expr(r#""${container.api-0}""#)),
        "(str ${(. container api-0)})"
    );
}

#[test]
fn subtraction_after_a_member_needs_a_space_before_the_minus() {
    assert_eq!(sexpr(&expr("x.a-1")), "(. x a-1)");
    assert_eq!(sexpr(&expr("x.a - 1")), "(- (. x a) 1)");
    assert_eq!(sexpr(&expr("x.a -1")), "(- (. x a) 1)");
    assert_eq!(sexpr(&expr("x.a-b.c")), "(. (. x a-b) c)");
    assert_eq!(sexpr(&expr("x.a - b.c")), "(- (. x a) (. b c))");
}

#[test]
fn names_outside_member_position_never_take_dashes() {
    assert_eq!(sexpr(&expr("a-b")), "(- a b)");
    assert_eq!(sexpr(&expr("a-1")), "(- a 1)");
    assert_eq!(sexpr(&expr("f(a)-b")), "(- (f a) b)");
    assert_eq!(sexpr(&expr("xs[0]-b")), "(- ([] xs 0) b)");
    // A number still ends at its digits: `1.5` is no member access.
    assert_eq!(sexpr(&expr("1.5-x")), "(- 1.5 x)");
    // Record keys stay identifiers or strings.
    assert!(parse_file("let r = { a-b = 1 }\n", SOURCE).is_err());
}

// ------------------------------------------------------------ literals

#[test]
fn durations_are_milliseconds_and_combine_units() {
    assert_eq!(sexpr(&expr("500ms")), "500ms");
    assert_eq!(sexpr(&expr("10s")), "10000ms");
    assert_eq!(sexpr(&expr("1m")), "60000ms");
    assert_eq!(sexpr(&expr("1h30m")), "5400000ms");
    assert_eq!(sexpr(&expr("1d")), "86400000ms");
    assert_eq!(sexpr(&expr("1m1ms")), "60001ms");
}

#[test]
fn sizes_are_bytes_in_decimal_and_binary_units() {
    assert_eq!(sexpr(&expr("100B")), "100B");
    assert_eq!(sexpr(&expr("1KB")), "1000B");
    assert_eq!(sexpr(&expr("1KiB")), "1024B");
    assert_eq!(sexpr(&expr("512MiB")), "536870912B");
    assert_eq!(sexpr(&expr("1.5GiB")), "1610612736B");
    assert_eq!(sexpr(&expr("0.5KiB")), "512B");
}

#[test]
fn a_fractional_number_of_bytes_is_e0103() {
    let d = expr_error("1.3B");
    assert_eq!(d.code, ErrorCode::NumberTooLarge);
    assert_eq!(d.message, "size `1.3B` is not a whole number of bytes");
    assert_eq!(d.help.as_deref(), Some("use a smaller unit"));
}

#[test]
fn numbers_out_of_range_are_e0103() {
    assert_eq!(sexpr(&expr("9223372036854775807")), "9223372036854775807");
    let d = expr_error("9223372036854775808");
    assert_eq!(d.code, ErrorCode::NumberTooLarge);
    assert_eq!(d.message, "number `9223372036854775808` is out of range");
    let d = expr_error("9999999999999999999d");
    assert_eq!(d.code, ErrorCode::NumberTooLarge);
    assert_eq!(sexpr(&expr("1.5")), "1.5");
}

#[test]
fn a_number_may_not_run_into_a_name() {
    let d = expr_error("10x");
    assert_eq!(d.code, ErrorCode::Syntax);
}

// ------------------------------------------------------------ depth guards

/// Runs `f` on a stack as large as the driver gives the compiler: deep input
/// recurses deeply (that is what the guards bound).
fn on_compiler_stack<T: Send>(f: impl FnOnce() -> T + Send) -> T {
    std::thread::scope(|scope| {
        std::thread::Builder::new()
            .stack_size(256 * 1024 * 1024)
            .spawn_scoped(scope, f)
            .expect("a thread")
            .join()
            .unwrap_or_else(|e| std::panic::resume_unwind(e))
    })
}

#[test]
fn brackets_nested_deeper_than_128_are_refused_before_parsing() {
    let nested = |n: usize| format!("{}1{}", "[".repeat(n), "]".repeat(n));
    on_compiler_stack(|| assert!(parse_expr(&nested(128), SOURCE).is_ok()));
    let d = expr_error(&nested(129));
    assert_eq!(d.code, ErrorCode::TooDeep);
    assert_eq!(d.message, "brackets nested more than 128 levels deep");
    let span = d.primary_span().expect("a label");
    assert_eq!(span.start, 128, "points at the 129th bracket");
}

#[test]
fn brackets_in_comments_do_not_count_towards_the_depth() {
    let text = format!("# {}\nlet x = 1\n", "(".repeat(500));
    assert!(parse_file(&text, SOURCE).is_ok());
}

#[test]
fn long_operator_chains_are_refused_without_brackets() {
    let chain = |n: usize| vec!["1"; n].join(" + ");
    on_compiler_stack(|| assert!(parse_expr(&chain(150), SOURCE).is_ok()));
    let d = on_compiler_stack(|| expr_error(&chain(250)));
    assert_eq!(d.code, ErrorCode::TooDeep);
    assert_eq!(
        d.message,
        "expression has more than 200 levels of nesting or chained operators"
    );
}

#[test]
fn usual_mistakes_get_a_hint() {
    for (source, help) in [
        ("import \"./x.stack\"\n", "an import is named"),
        ("fn f(n: int): int = n\n", "follows `->`"),
        (
            "let m = { for c in [\"a\"]: c => 1 }\n",
            "writes `key = value`",
        ),
        ("let x = -----------------1\n", "too many signs"),
    ] {
        let d = parse_file(source, SourceId(0)).unwrap_err();
        let shown = format!("{:?}", d.first().map(|d| d.help.clone()));
        assert!(shown.contains(help), "{source}: {shown}");
    }
}

/// The items of a file that must parse.
fn items(file: &str) -> Vec<Item> {
    match parse_file(file, SOURCE) {
        Ok(f) => f.items,
        Err(ds) => panic!("does not parse: {}", ds[0].message),
    }
}

#[test]
fn types_are_declared_refined_and_given_defaults() {
    use super::ast::{Refinement, TypeExprKind};
    let parsed = items(
        "type Svc = { image: string, port: port? = 8080, n: int(-5..20, ..30)? }\n\
         param name: string(1..64, matches \"^[a-z]+$\") = \"x\"\n\
         param s: lib.Svc",
    );
    let Some(Item::Type(t)) = parsed.first() else {
        panic!("not a type: {:?}", parsed.first());
    };
    let TypeExprKind::Record(fields) = &t.ty.kind else {
        panic!("not a record: {:?}", t.ty.kind);
    };
    assert!(fields[0].default.is_none());
    assert!(matches!(
        fields[1].default.as_ref().map(|d| &d.kind),
        Some(ExprKind::Int(8080))
    ));
    let TypeExprKind::Optional(n) = &fields[2].ty.kind else {
        panic!("`int(…)?` is optional: {:?}", fields[2].ty.kind);
    };
    let TypeExprKind::Refined(_, ranges) = &n.kind else {
        panic!("not refined: {:?}", n.kind);
    };
    match ranges.as_slice() {
        [
            Refinement::Range {
                low: Some(low),
                high: Some(_),
                ..
            },
            Refinement::Range {
                low: None,
                high: Some(_),
                ..
            },
        ] => assert_eq!(sexpr(low), "(neg 5)"),
        other => panic!("two ranges, not {other:?}"),
    }
    let Some(Item::Param(p)) = parsed.get(1) else {
        panic!("not a param");
    };
    assert!(matches!(
        &p.ty.kind,
        TypeExprKind::Refined(_, r) if matches!(r.as_slice(), [Refinement::Range { .. }, Refinement::Matches(m)] if m.node == "^[a-z]+$")
    ));
    let Some(Item::Param(p)) = parsed.get(2) else {
        panic!("not a param");
    };
    assert!(
        matches!(&p.ty.kind, TypeExprKind::Qualified(a, n) if a.node == "lib" && n.node == "Svc")
    );
}

#[test]
fn validate_clauses_follow_their_parameter_and_the_words_stay_names() {
    let parsed = items(
        "let type = 1\nlet validate = 2\n\
         param n: int = type\n  validate n > 0, \"positive\"\n  validate n < validate, \"small\"\n\
         validate \"x\" {}",
    );
    let Some(Item::Param(p)) = parsed.get(2) else {
        panic!("not a param: {:?}", parsed.get(2));
    };
    assert_eq!(p.validations.len(), 2);
    assert_eq!(sexpr(&p.validations[1].cond), "(< n validate)");
    assert!(
        matches!(parsed.get(3), Some(Item::Resource(r)) if r.kind.node == "validate"),
        "a module alias named `validate` still declares instances"
    );
}
