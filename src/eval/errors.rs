//! The diagnostics of evaluation.

use std::path::Path;
use std::rc::Rc;

use super::builtins::CallError;
use super::conform::Mismatch;
use super::normalize::FieldError;
use super::text::TemplateProblem;
use super::value::{Map, Value};
use crate::deployment::SECRET_MASK;
use crate::diagnostic::{Diagnostic, ErrorCode, did_you_mean, subtraction_hint};
use crate::source::Span;
use crate::syntax::ast::BinaryOp;
use crate::types::template;

pub(super) fn invalid_name(what: &str, name: &str, span: Span) -> Diagnostic {
    Diagnostic::new(
        ErrorCode::InvalidName,
        format!("`{name}` is not a valid {what}"),
    )
    .label(span, "invalid name")
    .help(
        "use lowercase letters, digits, `-` and `_`, starting with a letter or digit (at most 63)",
    )
}

pub(super) fn unnamed_stack(dir: &str) -> Diagnostic {
    Diagnostic::new(
        ErrorCode::InvalidName,
        format!("cannot name the stack after the directory `{dir}`"),
    )
    .help(format!(
        "a directory names the stack only when its name is a valid stack name as it is; name it in main.stack: `stack \"{}\"`",
        suggested_stack_name(dir)
    ))
}

pub(super) fn invalid_stack_name(name: &str, span: Span) -> Diagnostic {
    Diagnostic::new(
        ErrorCode::InvalidName,
        format!("`{name}` is not a valid stack name"),
    )
    .label(span, "invalid name")
    .help(format!(
        "use lowercase letters, digits, `-` and `_`, starting with a letter or digit (at most 63): `stack \"{}\"`",
        suggested_stack_name(name)
    ))
}

/// `SA PROJ` → `sa_proj`: a suggestion, never taken silently.
fn suggested_stack_name(name: &str) -> String {
    let mapped: String = name
        .to_lowercase()
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' {
                c
            } else {
                '_'
            }
        })
        .collect();
    let trimmed = mapped.trim_matches(['-', '_']);
    if trimmed.is_empty() {
        "myapp".into()
    } else {
        trimmed.chars().take(63).collect()
    }
}

/// A `--var` for a parameter the stack does not have.
pub(super) fn unknown_var<'a>(
    name: &str,
    span: Span,
    params: impl Iterator<Item = &'a str> + Clone,
) -> Diagnostic {
    let mut d = Diagnostic::new(
        ErrorCode::InvalidVariable,
        format!("the stack has no parameter `{name}`"),
    )
    .label(span, "set here");
    d.help = did_you_mean(name, params.clone()).or_else(|| {
        let names: Vec<&str> = params.collect();
        Some(if names.is_empty() {
            "the stack has no parameters".into()
        } else {
            format!("its parameters are: {}", names.join(", "))
        })
    });
    d
}

/// A `--var` without `=`; its text is not shown: it may be a secret given without its name.
pub(super) fn var_without_name() -> Diagnostic {
    Diagnostic::new(ErrorCode::InvalidVariable, "a `--var` is not NAME=VALUE")
        .help("write `--var NAME=VALUE` (the value given is not shown: it may be secret)")
}

/// A `STACKC_VAR_<name>` whose value is not UTF-8; the value is not shown.
pub(super) fn env_var_not_utf8(name: &str) -> Diagnostic {
    Diagnostic::new(
        ErrorCode::InvalidVariable,
        format!("the environment variable `STACKC_VAR_{name}` is not valid UTF-8"),
    )
    .help("parameters are text; set it to a UTF-8 value or unset it")
}

pub(super) fn unreadable_var_file(path: &Path, e: &std::io::Error) -> Diagnostic {
    Diagnostic::new(
        ErrorCode::InvalidVariable,
        format!("cannot read var file `{}`: {e}", path.display()),
    )
}

pub(super) fn not_a_json_object(e: &serde_json::Error, span: Span) -> Diagnostic {
    Diagnostic::new(
        ErrorCode::InvalidVariable,
        format!("var file is not a JSON object: {e}"),
    )
    .label(span, "here")
}

/// A var's value that its parameter's type does not take.
pub(super) fn invalid_var(span: Span, message: String) -> Diagnostic {
    Diagnostic::new(ErrorCode::InvalidVariable, message).label(span, "this value")
}

pub(super) fn var_not_literal(span: Span) -> Diagnostic {
    Diagnostic::new(
        ErrorCode::InvalidVariable,
        "a variable's value must be a literal",
    )
    .label(span, "names and function calls are not allowed here")
    .help("write the value itself: a number, a string in quotes, a list or a record")
}

/// `instance`: the module instance the assertion is in, and where it is declared.
pub(super) fn assertion_failed(
    message: &str,
    span: Span,
    instance: Option<(&str, Span)>,
) -> Diagnostic {
    match instance {
        None => Diagnostic::new(
            ErrorCode::AssertionFailed,
            format!("assertion failed: {message}"),
        )
        .label(span, "this is false"),
        Some((name, declared)) => Diagnostic::new(
            ErrorCode::AssertionFailed,
            format!("assertion failed in {name}: {message}"),
        )
        .label(span, "this is false")
        .label(declared, format!("in the instance {name}")),
    }
}

/// A loop head or condition that needs the resources being declared.
pub(super) fn structure_cycle(what: &str, span: Span) -> Diagnostic {
    Diagnostic::new(
        ErrorCode::EvalCycle,
        format!(
            "a `for` or `if` of {what} refers to the resources that the `for`s and `if`s declare"
        ),
    )
    .label(span, "needs the resources while they are being declared")
    .help("loop over values that do not come from this module's resources")
}

/// `path` runs from the value needed to the value needing it again.
pub(super) fn value_cycle(label: &str, path: &[String], span: Span) -> Diagnostic {
    let message = format!("{label} depends on itself: {}", path.join(" → "));
    Diagnostic::new(ErrorCode::EvalCycle, message)
        .label(
            span,
            format!("{label} is needed here while it is being computed"),
        )
        .help("break the cycle: one of these values must not need the other")
}

pub(super) fn duplicate_output(name: &str, span: Span, first: Span) -> Diagnostic {
    Diagnostic::new(
        ErrorCode::Duplicate,
        format!("output `{name}` is defined twice"),
    )
    .label(span, "defined again here")
    .label(first, "first defined here")
}

pub(super) fn map_loop_with_one_variable(span: Span) -> Diagnostic {
    Diagnostic::new(
        ErrorCode::TypeMismatch,
        "a loop over a map needs two variables",
    )
    .label(span, "this is a map")
    .help("write `for key, value in …`, or loop over `keys(…)` or `values(…)`")
}

pub(super) fn not_iterable(v: &Value, span: Span) -> Diagnostic {
    Diagnostic::new(
        ErrorCode::TypeMismatch,
        format!("cannot iterate over {}", v.describe()),
    )
    .label(span, format!("this is {}", v.describe()))
}

pub(super) fn secret_name(what: &str, span: Span) -> Diagnostic {
    Diagnostic::new(
        ErrorCode::SecretExposed,
        format!("a secret cannot be used in a {what}"),
    )
    .label(span, "built from a secret")
    .help("names are shown in plans, logs and Docker; keep secrets in values")
}

/// A secret condition or loop that would choose which resources something
/// depends on, or which exist: plans show both.
pub(super) fn secret_chooses_structure(what: &str, span: Span) -> Diagnostic {
    Diagnostic::new(
        ErrorCode::SecretExposed,
        format!("a secret cannot choose {what}"),
    )
    .label(span, "decided by a secret")
    .help(
        "plans and Docker show which resources exist and what they depend on; decide by a value that is not secret, or declassify one on purpose with `nonsecret(…)`",
    )
}

/// A secret branch that refers to a resource: the dependencies would tell
/// which way the secret went.
pub(super) fn secret_chooses_dependency(span: Span) -> Diagnostic {
    secret_chooses_structure("the resources a value refers to", span)
}

pub(super) fn name_not_string(what: &str, v: &Value, span: Span) -> Diagnostic {
    Diagnostic::new(
        ErrorCode::TypeMismatch,
        format!("a {what} must be a string, found {}", v.describe()),
    )
    .label(span, "here")
}

pub(super) fn duplicate_resource(what: &str, span: Span, first: Span) -> Diagnostic {
    let d = Diagnostic::new(
        ErrorCode::DuplicateResource,
        format!("{what} is defined twice"),
    );
    if span == first {
        // One declaration, reached twice by a loop.
        d.label(span, "this name is the same in two iterations of the loop")
            .help("names built in a loop must differ in each iteration, e.g. \"api-${i}\"")
    } else {
        d.label(span, "defined again here")
            .label(first, "first defined here")
            .help("give each resource of a kind its own name")
    }
}

/// A parameter neither given nor defaulted; `root` for the stack's own.
pub(super) fn missing_param(name: &str, span: Span, root: bool) -> Diagnostic {
    let help = if root {
        format!(
            "pass `--var {name}=…`, put `{name} = …` in a --var-file, or set `STACKC_VAR_{name}`"
        )
    } else {
        format!("set `{name} = …` in the module instance")
    };
    Diagnostic::new(
        ErrorCode::MissingParam,
        format!("parameter `{name}` is not set"),
    )
    .label(span, format!("`{name}` has no default"))
    .help(help)
}

pub(super) fn no_output<'a>(
    instance: &str,
    module: &str,
    name: &str,
    outputs: impl Iterator<Item = &'a str> + Clone,
    span: Span,
) -> Diagnostic {
    let mut d = Diagnostic::new(
        ErrorCode::NoSuchMember,
        format!("{instance} has no output `{name}`"),
    )
    .label(span, format!("module {module}"));
    d.help = subtraction_hint(name, outputs.clone()).or_else(|| did_you_mean(name, outputs));
    d
}

/// A value that does not conform to its type; `what` names what it is for.
pub(super) fn mismatch(m: Mismatch, what: &str, span: Span) -> Diagnostic {
    let at = if m.path.is_empty() {
        String::new()
    } else {
        format!(" at `{}`", m.path)
    };
    let code = if m.refinement {
        ErrorCode::OutsideRefinement
    } else if m.out_of_range {
        ErrorCode::InvalidValue
    } else {
        ErrorCode::TypeMismatch
    };
    let mut d = Diagnostic::new(code, format!("invalid {what}{at}: {}", m.message))
        .label(span, "this value");
    d.help = m.help;
    d
}

/// "there is no container named `x`", with the closest name or the list of them.
pub(super) fn not_declared(
    what: &str,
    plural: &str,
    name: &str,
    names: &[&str],
    span: Span,
) -> Diagnostic {
    let mut d = Diagnostic::new(
        ErrorCode::UnknownResource,
        format!("there is no {what} named `{name}`"),
    )
    .label(span, "referenced here");
    d.help = did_you_mean(name, names.iter().copied()).or_else(|| {
        Some(if names.is_empty() {
            format!("no {what} is declared in this module")
        } else {
            format!("the {plural} are: {}", names.join(", "))
        })
    });
    d
}

pub(super) fn self_dependency(address: &str, span: Span) -> Diagnostic {
    Diagnostic::new(
        ErrorCode::DependencyCycle,
        format!("`{address}` depends on itself"),
    )
    .label(span, "lists the resource it is in")
    .help("remove it from its own `depends_on`")
}

/// A field value Docker would not take; `field` is the value, whose
/// secrets the message never shows.
pub(super) fn invalid_field(e: FieldError, field: Option<&Value>, span: Span) -> Diagnostic {
    let label = format!("in `{}`", e.field);
    // Its texts are fixed and name no value: masking them could only tell
    // which letters of the secret they contain.
    if e.code == ErrorCode::SecretInMetadata {
        let mut d = Diagnostic::new(e.code, e.message).label(span, label);
        d.help = e.help;
        return d;
    }
    let mut secrets = Vec::new();
    if let Some(v) = field {
        secret_texts(v, &mut secrets);
    }
    let hidden = || format!("invalid `{}`: {HIDDEN_MESSAGE}", e.field);
    let message = mask(&e.message, &secrets).unwrap_or_else(hidden);
    let mut d = Diagnostic::new(e.code, message).label(span, label);
    d.help = e.help.and_then(|h| mask(&h, &secrets));
    d
}

/// Said instead of a message that would show part of a secret.
const HIDDEN_MESSAGE: &str = "the value is secret, and the message would show part of it";

/// Every secret string inside a value.
fn secret_texts(v: &Value, out: &mut Vec<Rc<str>>) {
    match v {
        Value::Secret(inner) => match inner.to_text() {
            Some((t, _)) if !t.is_empty() => out.push(t),
            _ => secret_texts_inside(inner, out),
        },
        Value::List(xs) => xs.iter().for_each(|x| secret_texts(x, out)),
        Value::Map(m) => m.values().for_each(|x| secret_texts(x, out)),
        _ => {}
    }
}

/// The secret strings inside a secret list or map: all of its elements.
fn secret_texts_inside(v: &Value, out: &mut Vec<Rc<str>>) {
    match v {
        Value::List(xs) => xs.iter().for_each(|x| secret_texts(x, out)),
        Value::Map(m) => m.values().for_each(|x| secret_texts(x, out)),
        _ => {}
    }
}

/// The message with every `quoted` part of a secret shown as `(secret)`; `None`
/// where a secret is in the rest of it. Replacing it there would tell the
/// secret as much as showing it: with a secret `t`, "is no(secret) an
/// in(secret)eger" spells it out.
fn mask(text: &str, secrets: &[Rc<str>]) -> Option<String> {
    if secrets.is_empty() {
        return Some(text.to_string());
    }
    let mut out = String::with_capacity(text.len());
    for (i, part) in text.split('`').enumerate() {
        if i > 0 {
            out.push('`');
        }
        // Odd parts are between backticks: values quoted by the message.
        if i % 2 == 1 && !part.is_empty() && secrets.iter().any(|s| s.contains(part)) {
            out.push_str(SECRET_MASK);
        } else if secrets.iter().any(|s| part.contains(&**s)) {
            return None;
        } else {
            out.push_str(part);
        }
    }
    Some(out)
}

/// Resources that depend on each other in a cycle, each labelled where declared.
pub(super) fn resource_cycle(addresses: &[&str], spans: &[Option<Span>]) -> Diagnostic {
    let mut d = Diagnostic::new(
        ErrorCode::DependencyCycle,
        format!(
            "resources depend on each other in a cycle: {} → {}",
            addresses.join(" → "),
            addresses[0]
        ),
    )
    .help("remove a reference or a `depends_on` entry so that one can be created first");
    for (address, span) in addresses.iter().zip(spans) {
        if let Some(span) = span {
            d = d.label(*span, format!("`{address}`"));
        }
    }
    d
}

/// Two resources of a kind that would get one Docker name, each labelled where declared.
pub(super) fn name_conflict(
    kind: impl std::fmt::Display,
    name: &str,
    resources: [(&str, Option<Span>); 2],
) -> Diagnostic {
    let [(first, _), (second, _)] = resources;
    let mut d = Diagnostic::new(
        ErrorCode::NameConflict,
        format!("`{first}` and `{second}` would both be the {kind} `{name}`"),
    )
    .help("rename one of them");
    for (address, span) in resources {
        if let Some(span) = span {
            d = d.label(span, format!("`{address}`"));
        }
    }
    d
}

/// Two containers that publish one host port: (address, where declared,
/// what it publishes) of each.
pub(super) fn port_conflict(
    port: &str,
    containers: [(&str, Option<Span>, String); 2],
) -> Diagnostic {
    let [(first, ..), (second, ..)] = &containers;
    let mut d = Diagnostic::new(
        ErrorCode::PortConflict,
        format!("`{first}` and `{second}` both publish host port {port}"),
    )
    .help("give one of them another host port, or bind them to different addresses (`\"127.0.0.1:8080:80\"`)");
    for (address, span, published) in &containers {
        if let Some(span) = span {
            d = d.label(*span, format!("`{address}` publishes {published}"));
        }
    }
    d
}

/// A name bound nowhere; a kind or module alias used as a value says so.
pub(super) fn unknown_name(name: &str, is_namespace: bool, span: Span) -> Diagnostic {
    let what = if is_namespace {
        format!("`{name}` is a kind, not a value: write `{name}.NAME` or `{name}[\"NAME\"]`")
    } else {
        format!("unknown name `{name}`")
    };
    Diagnostic::new(ErrorCode::UnknownName, what).label(span, "here")
}

pub(super) fn duplicate_key(key: &str, span: Span) -> Diagnostic {
    Diagnostic::new(
        ErrorCode::DuplicateKey,
        format!("key `{key}` is given twice"),
    )
    .label(span, "again here")
}

pub(super) fn duplicate_comprehension_key(key: &str, span: Span) -> Diagnostic {
    Diagnostic::new(
        ErrorCode::DuplicateKey,
        format!("the comprehension makes the key `{key}` twice"),
    )
    .label(span, "this key")
}

pub(super) fn expected_bool(v: &Value, span: Span) -> Diagnostic {
    Diagnostic::new(
        ErrorCode::TypeMismatch,
        format!("expected a bool, found {}", v.describe()),
    )
    .label(span, format!("this is {}", v.describe()))
}

pub(super) fn not_interpolable(v: &Value, span: Span) -> Diagnostic {
    Diagnostic::new(
        ErrorCode::TypeMismatch,
        format!("cannot interpolate {}", v.describe()),
    )
    .label(span, format!("this is {}", v.describe()))
    .help(
        "only strings, numbers, bools, durations, sizes and references interpolate; use `join` for lists",
    )
}

pub(super) fn no_reference_attribute(
    kind: impl std::fmt::Display,
    name: &str,
    span: Span,
) -> Diagnostic {
    Diagnostic::new(
        ErrorCode::NoSuchMember,
        format!("a {kind} reference has no attribute `{name}`"),
    )
    .label(span, "unknown attribute")
}

/// A field not in a record; a secret record's fields are not suggested.
pub(super) fn no_field(name: &str, record: &Map, secret: bool, span: Span) -> Diagnostic {
    let mut d = Diagnostic::new(ErrorCode::IndexOutOfRange, format!("no field `{name}`"))
        .label(span, "not in the record");
    if !secret {
        let keys = record.keys().map(String::as_str);
        d.help = subtraction_hint(name, keys.clone()).or_else(|| did_you_mean(name, keys));
    }
    d
}

pub(super) fn no_attribute(v: &Value, name: &str, span: Span) -> Diagnostic {
    Diagnostic::new(
        ErrorCode::NoSuchMember,
        format!("{} has no attribute `{name}`", v.describe()),
    )
    .label(span, format!("this is {}", v.describe()))
}

/// An index past a list's end; with a secret index or list, neither is shown.
pub(super) fn index_out_of_range(index: i64, len: usize, secret: bool, span: Span) -> Diagnostic {
    let message = if secret {
        format!("index {SECRET_MASK} is out of range for a list of {SECRET_MASK} items")
    } else {
        format!("index {index} is out of range for a list of {len} items")
    };
    Diagnostic::new(ErrorCode::IndexOutOfRange, message).label(span, "this index")
}

/// A key not in a map; a secret key is neither shown nor matched to others.
pub(super) fn no_key(key: &str, secret: bool, map: &Map, span: Span) -> Diagnostic {
    let shown = if secret {
        SECRET_MASK.to_string()
    } else {
        format!("\"{key}\"")
    };
    let mut d = Diagnostic::new(ErrorCode::IndexOutOfRange, format!("no key {shown}"))
        .label(span, "not in the map");
    if !secret {
        d.help = did_you_mean(key, map.keys().map(String::as_str));
    }
    d
}

pub(super) fn not_indexable(v: &Value, index: &Value, span: Span) -> Diagnostic {
    Diagnostic::new(
        ErrorCode::TypeMismatch,
        format!("cannot index {} with {}", v.describe(), index.describe()),
    )
    .label(span, "this index")
}

pub(super) fn argument_count(function: &str, params: usize, span: Span) -> Diagnostic {
    Diagnostic::new(
        ErrorCode::ArgumentCount,
        format!("`{function}` takes {params} arguments"),
    )
    .label(span, "here")
}

/// A built-in that failed; no secret among `args` is shown.
pub(super) fn builtin_failed(
    function: &str,
    e: CallError,
    args: &[Value],
    span: Span,
) -> Diagnostic {
    let mut secrets = Vec::new();
    args.iter().for_each(|a| secret_texts(a, &mut secrets));
    let masked = |m: &str| mask(m, &secrets).unwrap_or_else(|| HIDDEN_MESSAGE.to_string());
    let (code, message, help) = match e {
        CallError::Template(problem) => return template_failed(problem, args, span),
        CallError::Coded(code, m) => (code, masked(&m), None),
        CallError::File(e) => (ErrorCode::FileError, e.to_string(), e.help()),
        CallError::Dotenv(m, help) => (
            ErrorCode::InvalidDotenv,
            m,
            help.or(Some(
                "a dotenv file holds `KEY=VALUE` lines, blank lines and `#` comments; a value may be quoted",
            )),
        ),
        CallError::Argument(m) => (ErrorCode::InvalidArgument, masked(&m), None),
    };
    let mut d =
        Diagnostic::new(code, format!("`{function}`: {message}")).label(span, "in this call");
    d.help = help.map(str::to_string);
    d
}

/// A template and its values that do not fit, said as the checker says it.
fn template_failed(problem: TemplateProblem, args: &[Value], span: Span) -> Diagnostic {
    let name = match args.first() {
        Some(Value::Str(s)) => s.text.to_string(),
        _ => SECRET_MASK.to_string(),
    };
    match problem {
        TemplateProblem::Syntax(e) => template::invalid(&name, &e, span),
        TemplateProblem::Missing { name: var, line } => {
            template::missing_var(&name, &var, line, span)
        }
        TemplateProblem::Unused(var) => template::unused_var(&name, &var, span),
    }
}

/// `!x` or `-x` of a value the operator does not take.
pub(super) fn unary_operand(symbol: &str, v: &Value, span: Span) -> Diagnostic {
    Diagnostic::new(
        ErrorCode::InvalidOperands,
        format!("cannot apply `{symbol}` to {}", v.describe()),
    )
    .label(span, "here")
}

/// `a op b` of values the operator does not take; one label when `a == b`.
pub(super) fn operands(op: BinaryOp, l: &Value, r: &Value, a: Span, b: Span) -> Diagnostic {
    let mut d = Diagnostic::new(
        ErrorCode::InvalidOperands,
        format!(
            "cannot apply `{}` to {} and {}",
            op.symbol(),
            l.describe(),
            r.describe()
        ),
    )
    .label(a, l.describe());
    if a != b {
        d = d.label(b, r.describe());
    }
    d
}

pub(super) fn division_by_zero(span: Span) -> Diagnostic {
    Diagnostic::new(ErrorCode::Arithmetic, "division by zero").label(span, "divides by zero")
}

pub(super) fn not_finite(span: Span) -> Diagnostic {
    Diagnostic::new(ErrorCode::Arithmetic, "the result is not a finite number").label(span, "here")
}

pub(super) fn overflow(span: Span) -> Diagnostic {
    Diagnostic::new(ErrorCode::Arithmetic, "arithmetic overflow")
        .label(span, "the result does not fit in 64 bits")
}

// ---- parameter validation (issue 12) ----

/// A `validate` clause that is false; `given` is where the value was given.
pub(super) fn validation_failed(
    param: &str,
    instance: Option<&str>,
    message: &str,
    given: Option<Span>,
    cond: Span,
) -> Diagnostic {
    let of = instance.map_or(String::new(), |i| format!(" of {i}"));
    let mut d = Diagnostic::new(
        ErrorCode::ValidationFailed,
        format!("invalid parameter `{param}`{of}: {message}"),
    );
    if let Some(given) = given {
        d = d.label(given, "the value given here");
    }
    d.label(cond, "this is false")
}
