//! Built-in functions' signatures: the names, the argument counts and the
//! argument and result types the checker knows. The implementations are in
//! `eval::builtins`.

use super::Type;

pub const NAMES: &[&str] = &[
    "range",
    "len",
    "keys",
    "values",
    "join",
    "split",
    "upper",
    "lower",
    "replace",
    "trim",
    "contains",
    "starts_with",
    "ends_with",
    "format",
    "merge",
    "concat",
    "flatten",
    "distinct",
    "sort",
    "min",
    "max",
    "to_string",
    "to_int",
    "file",
    "secret_file",
    "dotenv",
    "secret_dotenv",
    "sha256",
    "lookup",
    "nonsecret",
    "templatefile",
    "jsonencode",
    "yamlencode",
    "jsondecode",
    "regex",
    "matches",
    "regex_replace",
    "substr",
    "seconds",
    "bytes",
];

pub fn is_builtin(name: &str) -> bool {
    NAMES.contains(&name)
}

/// Accepted argument counts: (min, max); `None` max means variadic.
fn arity(name: &str) -> (usize, Option<usize>) {
    match name {
        "range" => (1, Some(2)),
        "len" | "keys" | "values" | "upper" | "lower" | "trim" | "flatten" | "distinct"
        | "sort" | "to_string" | "to_int" | "file" | "secret_file" | "dotenv" | "secret_dotenv"
        | "sha256" | "nonsecret" | "jsonencode" | "yamlencode" | "jsondecode" | "seconds"
        | "bytes" => (1, Some(1)),
        "join" | "split" | "contains" | "starts_with" | "ends_with" | "templatefile" | "regex"
        | "matches" => (2, Some(2)),
        "replace" | "lookup" | "regex_replace" | "substr" => (3, Some(3)),
        _ => (1, None),
    }
}

/// Checks a call's argument count and known argument types; returns the
/// result type, or a message for the caller's diagnostic.
pub fn signature(name: &str, args: &[Type]) -> Result<Type, SignatureError> {
    let (min, max) = arity(name);
    if args.len() < min || max.is_some_and(|m| args.len() > m) {
        let expected = match max {
            Some(m) if m == min => format!("{min}"),
            Some(m) => format!("{min} or {m}"),
            None => format!("at least {min}"),
        };
        return Err(SignatureError::Arity(expected));
    }
    let stringy = |t: &Type| matches!(t, Type::Any) || t.is_stringy();
    let want = |i: usize, ok: bool, what: &str| -> Result<(), SignatureError> {
        if ok {
            Ok(())
        } else {
            Err(SignatureError::Arg(i, what.to_string()))
        }
    };
    let elem = |t: &Type| match t {
        Type::List(e) => (**e).clone(),
        _ => Type::Any,
    };
    Ok(match name {
        "range" => {
            for (i, a) in args.iter().enumerate() {
                want(i, Type::Int.accepts(a), "an int")?;
            }
            Type::list(Type::Int)
        }
        "len" => {
            want(
                0,
                matches!(
                    args[0],
                    Type::Any | Type::List(_) | Type::Map(_) | Type::Record(_)
                ) || stringy(&args[0]),
                "a list, map or string",
            )?;
            Type::Int
        }
        "keys" | "values" => {
            want(
                0,
                matches!(args[0], Type::Any | Type::Map(_) | Type::Record(_)),
                "a map",
            )?;
            match (name, &args[0]) {
                ("keys", _) => Type::list(Type::String),
                (_, Type::Map(t)) => Type::list((**t).clone()),
                (_, Type::Record(fields)) => {
                    Type::list(fields.values().fold(Type::Any, |acc, t| {
                        if acc == Type::Any {
                            t.clone()
                        } else {
                            Type::join(&acc, t)
                        }
                    }))
                }
                _ => Type::list(Type::Any),
            }
        }
        "join" => {
            want(0, matches!(args[0], Type::Any | Type::List(_)), "a list")?;
            want(1, stringy(&args[1]), "a string")?;
            Type::String
        }
        "split" => {
            want(0, stringy(&args[0]), "a string")?;
            want(1, stringy(&args[1]), "a string")?;
            Type::list(Type::String)
        }
        "upper" | "lower" | "trim" | "sha256" | "file" => {
            want(0, stringy(&args[0]), "a string")?;
            Type::String
        }
        "secret_file" => {
            want(0, stringy(&args[0]), "a string")?;
            Type::Secret
        }
        "dotenv" => {
            want(0, stringy(&args[0]), "a string")?;
            Type::map(Type::String)
        }
        "secret_dotenv" => {
            want(0, stringy(&args[0]), "a string")?;
            Type::map(Type::Secret)
        }
        "replace" => {
            for (i, a) in args.iter().enumerate() {
                want(i, stringy(a), "a string")?;
            }
            Type::String
        }
        "starts_with" | "ends_with" => {
            want(0, stringy(&args[0]), "a string")?;
            want(1, stringy(&args[1]), "a string")?;
            Type::Bool
        }
        "contains" => {
            want(
                0,
                matches!(
                    args[0],
                    Type::Any | Type::List(_) | Type::Map(_) | Type::Record(_)
                ) || stringy(&args[0]),
                "a list, map or string",
            )?;
            Type::Bool
        }
        "format" => {
            want(0, stringy(&args[0]), "a format string")?;
            Type::String
        }
        "merge" => {
            for (i, a) in args.iter().enumerate() {
                want(
                    i,
                    matches!(a, Type::Any | Type::Map(_) | Type::Record(_)),
                    "a map",
                )?;
            }
            if args.len() == 1 {
                args[0].clone()
            } else {
                Type::Any
            }
        }
        "concat" => {
            for (i, a) in args.iter().enumerate() {
                want(i, matches!(a, Type::Any | Type::List(_)), "a list")?;
            }
            args.iter()
                .skip(1)
                .fold(args[0].clone(), |acc, t| Type::join(&acc, t))
        }
        "flatten" => {
            want(
                0,
                matches!(args[0], Type::Any | Type::List(_)),
                "a list of lists",
            )?;
            match elem(&args[0]) {
                Type::List(inner) => Type::List(inner),
                _ => Type::list(Type::Any),
            }
        }
        "distinct" | "sort" => {
            want(0, matches!(args[0], Type::Any | Type::List(_)), "a list")?;
            args[0].clone()
        }
        "min" | "max" => {
            if let [single] = args
                && let Type::List(e) = single
            {
                return Ok((**e).clone());
            }
            for (i, a) in args.iter().enumerate() {
                want(
                    i,
                    matches!(
                        a,
                        Type::Any
                            | Type::Int
                            | Type::Float
                            | Type::Port
                            | Type::Duration
                            | Type::Size
                    ),
                    "a number",
                )?;
            }
            args.iter()
                .skip(1)
                .fold(args[0].clone(), |acc, t| Type::join(&acc, t))
        }
        "templatefile" => {
            want(0, stringy(&args[0]), "a path string")?;
            want(
                1,
                matches!(args[1], Type::Any | Type::Map(_) | Type::Record(_)),
                "a record of values",
            )?;
            Type::String
        }
        "jsonencode" | "yamlencode" => Type::String,
        "jsondecode" => {
            want(0, stringy(&args[0]), "a string of JSON")?;
            Type::Any
        }
        "regex" | "matches" => {
            want(0, stringy(&args[0]), "a string")?;
            want(1, stringy(&args[1]), "a pattern string")?;
            if name == "matches" {
                Type::Bool
            } else {
                Type::list(Type::String)
            }
        }
        "regex_replace" => {
            want(0, stringy(&args[0]), "a string")?;
            want(1, stringy(&args[1]), "a pattern string")?;
            want(2, stringy(&args[2]), "a replacement string")?;
            Type::String
        }
        "substr" => {
            want(0, stringy(&args[0]), "a string")?;
            want(1, Type::Int.accepts(&args[1]), "an int")?;
            want(2, Type::Int.accepts(&args[2]), "an int")?;
            Type::String
        }
        "seconds" => {
            want(0, Type::Duration.accepts(&args[0]), "a duration")?;
            Type::Int
        }
        "bytes" => {
            want(0, Type::Size.accepts(&args[0]), "a size")?;
            Type::Int
        }
        "to_string" => Type::String,
        "nonsecret" => declassified(&args[0]),
        "to_int" => Type::Int,
        "lookup" => {
            want(
                0,
                matches!(args[0], Type::Any | Type::Map(_) | Type::Record(_)),
                "a map",
            )?;
            want(1, stringy(&args[1]), "a string")?;
            Type::Any
        }
        _ => Type::Any,
    })
}

/// The type of `nonsecret(x)`: `secret` becomes `string`, inside too.
fn declassified(t: &Type) -> Type {
    match t {
        Type::Secret => Type::String,
        Type::List(e) => Type::list(declassified(e)),
        Type::Map(e) => Type::map(declassified(e)),
        Type::Optional(e) => Type::optional(declassified(e)),
        Type::Record(fields) => Type::Record(std::sync::Arc::new(
            fields
                .iter()
                .map(|(k, t)| (k.clone(), declassified(t)))
                .collect(),
        )),
        t => t.clone(),
    }
}

#[derive(Debug)]
pub enum SignatureError {
    /// The expected number of arguments, in words.
    Arity(String),
    /// Argument index and what it should be.
    Arg(usize, String),
}
