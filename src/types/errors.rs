//! The diagnostics of the static check.

use super::article;
use super::{Namespace, Type};
use crate::deployment::Kind;
use crate::diagnostic::{Diagnostic, ErrorCode, did_you_mean, subtraction_hint};
use crate::source::Span;
use crate::syntax::ast::{BinaryOp, Expr, ExprKind};

pub(super) fn type_takes_no_argument(name: &str, span: Span) -> Diagnostic {
    Diagnostic::new(
        ErrorCode::UnknownType,
        format!("`{name}` takes no type argument"),
    )
    .label(span, "only `list[T]` and `map[T]` take one")
}

/// A field listed twice in a record type.
pub(super) fn field_listed_twice(name: &str, span: Span, first: Span) -> Diagnostic {
    Diagnostic::new(
        ErrorCode::DuplicateKey,
        format!("field `{name}` is listed twice"),
    )
    .label(span, "again here")
    .label(first, "first listed here")
}

pub(super) fn field_name_not_written(span: Span) -> Diagnostic {
    Diagnostic::new(
        ErrorCode::UnknownField,
        "field names of a resource must be written out",
    )
    .label(span, "built at evaluation")
}

/// A field set twice in a resource or module instance.
pub(super) fn field_set_twice(name: &str, span: Span, first: Span) -> Diagnostic {
    Diagnostic::new(
        ErrorCode::DuplicateKey,
        format!("field `{name}` is set twice"),
    )
    .label(span, "set again here")
    .label(first, "first set here")
}

pub(super) fn unknown_resource_field<'a>(
    kind: Kind,
    name: &str,
    fields: impl Iterator<Item = &'a str>,
    span: Span,
) -> Diagnostic {
    let mut d = Diagnostic::new(
        ErrorCode::UnknownField,
        format!("{kind} has no field `{name}`"),
    )
    .label(span, "unknown field");
    d.help = super::compose_keys::help(kind, name)
        .map(str::to_string)
        .or_else(|| did_you_mean(name, fields));
    d
}

/// A required field missing from the resource named by `resource`; `ty` is the field's type.
pub(super) fn missing_resource_field(
    kind: Kind,
    resource: &Expr,
    field: &str,
    ty: &Type,
    span: Span,
) -> Diagnostic {
    Diagnostic::new(
        ErrorCode::MissingField,
        format!(
            "{kind} `{}` needs the field `{field}`",
            display_name(resource)
        ),
    )
    .label(span, format!("no `{field}`"))
    .help(format!("add `{field} = …` ({ty})"))
}

pub(super) fn unknown_module_parameter(
    module: &str,
    name: &str,
    params: &[&str],
    span: Span,
) -> Diagnostic {
    let mut d = Diagnostic::new(
        ErrorCode::UnknownField,
        format!("module `{module}` has no parameter `{name}`"),
    )
    .label(span, "unknown parameter");
    d.help = did_you_mean(name, params.iter().copied())
        .or_else(|| Some(format!("its parameters are: {}", params.join(", "))));
    d
}

/// A parameter without a default missing from the instance named by `instance`.
pub(super) fn missing_module_parameter(
    module: &str,
    instance: &Expr,
    param: &str,
    ty: &Type,
    span: Span,
) -> Diagnostic {
    Diagnostic::new(
        ErrorCode::MissingField,
        format!(
            "`{module} \"{}\"` needs the parameter `{param}`",
            display_name(instance)
        ),
    )
    .label(span, format!("no `{param}`"))
    .help(format!("add `{param} = …` ({ty})"))
}

pub(super) fn unknown_kind(kind: &str, candidates: &[&str], span: Span) -> Diagnostic {
    let mut d = Diagnostic::new(
        ErrorCode::UnknownKind,
        format!("unknown resource kind `{kind}`"),
    )
    .label(span, "not a kind");
    d.help = did_you_mean(kind, candidates.iter().copied()).or_else(|| {
        Some(
            "the kinds are image, network, volume, container, service, and imported module aliases"
                .into(),
        )
    });
    d
}

pub(super) fn map_loop_with_one_variable(span: Span) -> Diagnostic {
    Diagnostic::new(
        ErrorCode::TypeMismatch,
        "a loop over a map needs two variables",
    )
    .label(span, "this is a map")
    .help("write `for key, value in …`, or loop over `keys(…)` or `values(…)`")
}

pub(super) fn not_iterable(t: &Type, span: Span) -> Diagnostic {
    Diagnostic::new(
        ErrorCode::TypeMismatch,
        format!("cannot iterate over {}", article(t)),
    )
    .label(span, format!("this is {}", article(t)))
    .help("loops go over lists (`range(n)` counts) and maps (`for k, v in m`)")
}

pub(super) fn function_as_value(name: &str, span: Span) -> Diagnostic {
    Diagnostic::new(
        ErrorCode::TypeMismatch,
        format!("`{name}` is a function, not a value"),
    )
    .label(span, "used as a value")
    .help(format!("call it: `{name}(…)`"))
}

pub(super) fn unknown_name(name: &str, candidates: &[&str], span: Span) -> Diagnostic {
    let mut d = Diagnostic::new(ErrorCode::UnknownName, format!("unknown name `{name}`"))
        .label(span, "not defined");
    d.help = did_you_mean(name, candidates.iter().copied()).or_else(|| {
        // `${DB_URL}`, as in a Compose file, meant for the environment.
        let shouted = name.chars().any(|c| c.is_ascii_uppercase())
            && !name.chars().any(|c| c.is_ascii_lowercase());
        shouted.then(|| {
            format!(
                "a stack reads no environment variables: to set `{name}` from outside, declare \
                 `param {name}: string` and pass `--var {name}=…` or `STACKC_VAR_{name}`"
            )
        })
    });
    d
}

/// An unknown name where a string is expected: a YAML habit.
pub(super) fn bare_word(name: &str, candidates: &[&str], span: Span) -> Diagnostic {
    let mut d = unknown_name(name, candidates, span);
    if d.help.is_none() {
        d.help = Some(format!(
            "text is written in double quotes, unlike YAML: `\"{name}\"`"
        ));
    }
    d
}

pub(super) fn not_in_enum(text: &str, want: &Type, values: &[String], span: Span) -> Diagnostic {
    let mut d = Diagnostic::new(
        ErrorCode::TypeMismatch,
        format!("`\"{text}\"` is not one of {want}"),
    )
    .label(span, "not allowed here");
    d.help = did_you_mean(text, values.iter().map(String::as_str));
    d
}

/// The value of `e`, of type `have`, where `want` is expected.
pub(super) fn mismatch(want: &Type, have: &Type, e: &Expr) -> Diagnostic {
    let span = e.span;
    let mut d = Diagnostic::new(
        ErrorCode::TypeMismatch,
        format!("expected {}, found {}", article(want), article(have)),
    )
    .label(span, format!("this is {}", article(have)));
    let base = match want {
        Type::Optional(t) => t,
        t => t,
    };
    match (base, have) {
        (_, Type::Namespace(Namespace::Kind(k))) => {
            d = d.help(format!("refer to one {k}: `{k}.NAME` or `{k}[\"NAME\"]`"))
        }
        (Type::Duration, Type::Int) => {
            d = d.help("write a duration with its unit: 10s, 500ms, 1h30m")
        }
        (Type::Size, Type::Int) => d = d.help("write a size with its unit: 512MiB, 1GiB"),
        (Type::Size, Type::Duration) => {
            d = d.help(match e.kind {
                ExprKind::Duration(ms) => {
                    // `256m` as written: the literal's length tells it from `4h16m`.
                    let minutes = format!("{}m", ms / 60_000);
                    if minutes.len() == (span.end - span.start) as usize {
                        crate::units::duration_for_size_help(ms, Some(&minutes))
                    } else {
                        crate::units::duration_for_size_help(0, None)
                    }
                }
                _ => crate::units::duration_for_size_help(0, None),
            })
        }
        (Type::String, Type::Int | Type::Float | Type::Bool) => {
            d = d.help("write it in quotes, or interpolate: \"${x}\"")
        }
        _ => {}
    }
    d
}

/// A key given twice in a record literal.
pub(super) fn duplicate_key(name: &str, span: Span, first: Span) -> Diagnostic {
    Diagnostic::new(
        ErrorCode::DuplicateKey,
        format!("key `{name}` is given twice"),
    )
    .label(span, "given again here")
    .label(first, "first given here")
}

/// A field a record literal has and its record type does not.
pub(super) fn unknown_record_field(name: &str, expected: &[&str], span: Span) -> Diagnostic {
    let mut d = Diagnostic::new(ErrorCode::UnknownField, format!("unknown field `{name}`"))
        .label(span, "not expected here");
    d.help = crate::types::compose_keys::record_help(name, expected)
        .map(str::to_string)
        .or_else(|| did_you_mean(name, expected.iter().copied()))
        .or_else(|| Some(format!("expected fields: {}", expected.join(", "))));
    d
}

/// A field a record literal lacks; `ty` is the field's type.
pub(super) fn missing_record_field(name: &str, ty: &Type, span: Span) -> Diagnostic {
    Diagnostic::new(ErrorCode::MissingField, format!("missing field `{name}`"))
        .label(span, format!("needs `{name}`"))
        .help(format!("add `{name} = …` ({ty})"))
}

pub(super) fn not_interpolable(t: &Type, span: Span) -> Diagnostic {
    Diagnostic::new(
        ErrorCode::TypeMismatch,
        format!("cannot interpolate {}", article(t)),
    )
    .label(span, format!("this is {}", article(t)))
    .help(
        "only strings, numbers, bools, durations, sizes and references interpolate; use `join` for lists",
    )
}

pub(super) fn no_reference_attribute(kind: Kind, name: &str, span: Span) -> Diagnostic {
    let members = if kind == Kind::Container {
        "`.name` and `.hostname`"
    } else {
        "`.name`"
    };
    Diagnostic::new(
        ErrorCode::NoSuchMember,
        format!("a {kind} reference has no attribute `{name}`"),
    )
    .label(span, "unknown attribute")
    .help(format!("a {kind} reference has {members}"))
}

pub(super) fn no_output(module: &str, name: &str, outputs: &[&str], span: Span) -> Diagnostic {
    let mut d = Diagnostic::new(
        ErrorCode::NoSuchMember,
        format!("module `{module}` has no output `{name}`"),
    )
    .label(span, "unknown output");
    d.help = subtraction_hint(name, outputs.iter().copied())
        .or_else(|| did_you_mean(name, outputs.iter().copied()))
        .or_else(|| Some(format!("its outputs are: {}", outputs.join(", "))));
    d
}

/// `.name` or `["name"]` of a record type without that field.
pub(super) fn no_record_field<'a>(
    name: &str,
    fields: impl Iterator<Item = &'a str> + Clone,
    span: Span,
) -> Diagnostic {
    let mut d = Diagnostic::new(
        ErrorCode::NoSuchMember,
        format!("the record has no field `{name}`"),
    )
    .label(span, "unknown field");
    d.help = subtraction_hint(name, fields.clone()).or_else(|| did_you_mean(name, fields));
    d
}

pub(super) fn no_attribute(t: &Type, name: &str, span: Span) -> Diagnostic {
    Diagnostic::new(
        ErrorCode::NoSuchMember,
        format!("{} has no attribute `{name}`", article(t)),
    )
    .label(span, "unknown attribute")
}

pub(super) fn not_indexable(t: &Type, span: Span) -> Diagnostic {
    Diagnostic::new(
        ErrorCode::TypeMismatch,
        format!("cannot index {}", article(t)),
    )
    .label(span, "indexed here")
    .help("lists take `[int]`, maps and records `[\"key\"]`, kinds `[\"name\"]`")
}

/// A call with `given` arguments of a function that takes `takes`, in words.
pub(super) fn argument_count(function: &str, takes: &str, given: usize, span: Span) -> Diagnostic {
    Diagnostic::new(
        ErrorCode::ArgumentCount,
        format!(
            "`{function}` takes {takes} argument{}, but {given} {} given",
            if takes == "1" { "" } else { "s" },
            if given == 1 { "was" } else { "were" }
        ),
    )
    .label(span, "wrong number of arguments")
}

/// A built-in's argument of type `found` where it expects `what`.
pub(super) fn builtin_argument(function: &str, what: &str, found: &Type, span: Span) -> Diagnostic {
    Diagnostic::new(
        ErrorCode::TypeMismatch,
        format!("`{function}` expects {what}, found {}", article(found)),
    )
    .label(span, format!("this is {}", article(found)))
}

pub(super) fn unknown_function(name: &str, candidates: &[&str], span: Span) -> Diagnostic {
    let mut d = Diagnostic::new(
        ErrorCode::UnknownFunction,
        format!("unknown function `{name}`"),
    )
    .label(span, "not a function");
    d.help = did_you_mean(name, candidates.iter().copied());
    d
}

/// `!x` or `-x` of a type the operator does not take.
pub(super) fn unary_operand(symbol: &str, t: &Type, span: Span) -> Diagnostic {
    Diagnostic::new(
        ErrorCode::InvalidOperands,
        format!("cannot apply `{symbol}` to {}", article(t)),
    )
    .label(span, format!("this is {}", article(t)))
}

/// `a op b` of types the operator does not take.
pub(super) fn operands(op: BinaryOp, ta: &Type, tb: &Type, a: Span, b: Span) -> Diagnostic {
    let mut d = Diagnostic::new(
        ErrorCode::InvalidOperands,
        format!(
            "cannot apply `{}` to {} and {}",
            op.symbol(),
            article(ta),
            article(tb)
        ),
    )
    .label(a, article(ta).to_string())
    .label(b, article(tb).to_string());
    if op == BinaryOp::Add && (ta.is_stringy() || tb.is_stringy()) {
        d = d.help("build the string with interpolation: \"${a}${b}\"");
    }
    if op == BinaryOp::Merge {
        d = d.help("`++` merges records and maps; join lists and strings with `+`");
    }
    d
}

/// A resource's or instance's name as written, `…` when it is built.
fn display_name(e: &Expr) -> String {
    e.as_plain_string()
        .map_or_else(|| "…".to_string(), str::to_string)
}

/// A chain of lets or functions, each using the next, deeper than the checker goes.
pub(super) fn too_deep(span: Span) -> Diagnostic {
    Diagnostic::new(
        ErrorCode::TooDeep,
        format!(
            "expressions nested more than {} levels deep through lets and functions",
            super::check::MAX_DEPTH
        ),
    )
    .label(span, "too deep here")
    .help("a chain of lets or functions, each using the next, may be at most this deep")
}

/// The type of a let or a function's result nested deeper than allowed.
pub(super) fn type_too_deep(span: Span) -> Diagnostic {
    Diagnostic::new(
        ErrorCode::TooDeep,
        format!(
            "a type nested more than {} levels deep",
            super::check::MAX_TYPE_DEPTH
        ),
    )
    .label(span, "this value's type is too deep")
    .help("lists and records may be nested at most this deep")
}
