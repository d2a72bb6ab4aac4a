//! `--var NAME=VALUE` and `--var-file` values, read according to the type
//! of the parameter they set.

use std::collections::HashMap;
use std::ffi::OsString;
use std::path::{Path, PathBuf};

use indexmap::IndexMap;

use super::errors;
use super::value::{Map, Value};
use crate::diagnostic::Diagnostic;
use crate::resolve::{Module, Program};
use crate::source::{SourceMap, Span};
use crate::syntax::{self, ast::Expr};
use crate::types::Type;
use crate::types::named::NamedTypes;
use crate::units::{parse_duration, parse_size};

/// One value given for a root parameter.
#[derive(Debug)]
pub struct VarInput {
    pub name: String,
    /// The value's span (in the `--var` pseudo-file or the var file).
    pub span: Span,
    pub value: VarValue,
}

#[derive(Debug)]
pub enum VarValue {
    /// `--var NAME=text`: read according to the parameter's type.
    Text(String),
    /// A `NAME = literal` line of a var file.
    Expr(Expr),
    /// A member of a JSON var file.
    Json(serde_json::Value),
}

/// The prefix of the environment variables that set parameters.
pub const ENV_PREFIX: &str = "STACKC_VAR_";

/// Reads `STACKC_VAR_<name>` environment variables, then var files in
/// order, then `NAME=VALUE`s, each winning over those before it, into one
/// value per parameter of the stack's root module.
///
/// `environment` may hold any variables; only those with the prefix that
/// name a parameter of the stack count: the environment is shared by every
/// stack a shell compiles, so a variable meant for another is not an error.
pub fn read_vars(
    environment: &[(OsString, OsString)],
    vars: &[String],
    var_files: &[PathBuf],
    program: &Program,
    sources: &mut SourceMap,
) -> Result<Vec<VarInput>, Vec<Diagnostic>> {
    let root = program.root();
    let named = NamedTypes::build(program, &mut Vec::new());
    let types = Types {
        program,
        root,
        named: &named,
    };
    let mut inputs: IndexMap<String, VarInput> = IndexMap::new();
    let mut errors = Vec::new();
    for (key, text) in environment {
        let Some(name) = key.to_str().and_then(|k| k.strip_prefix(ENV_PREFIX)) else {
            continue;
        };
        if !root.params.contains_key(name) {
            continue;
        }
        let Some(text) = text.to_str() else {
            errors.push(errors::env_var_not_utf8(name));
            continue;
        };
        let source_name = format!("environment variable {ENV_PREFIX}{name}");
        match text_var(name, text, source_name, &types, sources) {
            Ok(v) => {
                inputs.insert(v.name.clone(), v);
            }
            Err(d) => errors.push(d),
        }
    }
    for file in var_files {
        match read_var_file(file, sources) {
            Ok(entries) => {
                for v in entries {
                    inputs.insert(v.name.clone(), v);
                }
            }
            Err(e) => errors.extend(e),
        }
    }
    for raw in vars {
        let Some((name, text)) = raw.split_once('=') else {
            // The text is not shown: it may be a secret given without its name.
            errors.push(errors::var_without_name());
            continue;
        };
        let name = name.trim();
        match text_var(name, text, format!("--var {name}"), &types, sources) {
            Ok(v) => {
                inputs.insert(v.name.clone(), v);
            }
            Err(d) => errors.push(d),
        }
    }
    if errors.is_empty() {
        Ok(inputs.into_values().collect())
    } else {
        Err(errors)
    }
}

/// The root module's parameter types.
struct Types<'a> {
    program: &'a Program,
    root: &'a Module,
    named: &'a NamedTypes,
}

/// A value given as text (`--var`, the environment), kept in a source of
/// its own named `source_name`, read according to its parameter's type.
fn text_var(
    name: &str,
    text: &str,
    source_name: String,
    types: &Types<'_>,
    sources: &mut SourceMap,
) -> Result<VarInput, Diagnostic> {
    let ty = types.root.params.get(name).map(|p| {
        types
            .named
            .resolve(types.program, types.root, &p.ty, &mut Vec::new())
            .plain()
    });
    // Values of secret (or unknown) parameters never appear in diagnostics.
    let id = if ty.as_ref().is_some_and(|t| !t.contains_secret()) {
        sources.add(source_name, None, text.to_string())
    } else {
        sources.add_sensitive(source_name, None, text.to_string())
    };
    let span = Span::new(id, 0, text.len());
    let value = match ty {
        Some(t) if needs_literal(&t) && !(matches!(t, Type::Optional(_)) && text == "null") => {
            // Sizes and structured values are written as literals: `512MiB`, `[80, 443]`.
            VarValue::Expr(syntax::parse_expr(&sources.get(id).text, id)?)
        }
        _ => VarValue::Text(text.to_string()),
    };
    Ok(VarInput {
        name: name.to_string(),
        span,
        value,
    })
}

/// A var file: `NAME = literal` lines, or one JSON object.
fn read_var_file(path: &Path, sources: &mut SourceMap) -> Result<Vec<VarInput>, Vec<Diagnostic>> {
    let text =
        std::fs::read_to_string(path).map_err(|e| vec![errors::unreadable_var_file(path, &e)])?;
    let id = sources.add_sensitive(
        path.display().to_string(),
        path.parent().map(Path::to_path_buf),
        text,
    );
    let text = &sources.get(id).text;
    if text.trim_start().starts_with('{') {
        let object: serde_json::Map<String, serde_json::Value> = serde_json::from_str(text)
            .map_err(|e| {
                let offset = offset_of(text, e.line(), e.column());
                vec![errors::not_a_json_object(&e, Span::new(id, offset, offset))]
            })?;
        let keys = json_keys(text);
        return Ok(object
            .into_iter()
            .map(|(name, value)| {
                let (start, end) = keys.get(&name).copied().unwrap_or((0, 0));
                VarInput {
                    span: Span::new(id, start, end),
                    name,
                    value: VarValue::Json(value),
                }
            })
            .collect());
    }
    let entries = syntax::parse_var_file(text, id)?;
    Ok(entries
        .into_iter()
        .map(|(name, e)| VarInput {
            name: name.node,
            span: e.span,
            value: VarValue::Expr(e),
        })
        .collect())
}

/// Where each key of a JSON object is written (quotes included), by its
/// decoded name; of a key written twice, the last, whose value is the one kept.
fn json_keys(text: &str) -> HashMap<String, (usize, usize)> {
    let bytes = text.as_bytes();
    let mut keys = HashMap::new();
    let mut depth = 0usize;
    // Whether the next string at depth 1 is a key: after `{` or `,`, not `:`.
    let mut key_next = false;
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'{' | b'[' => {
                depth += 1;
                key_next = depth == 1;
            }
            b'}' | b']' => depth = depth.saturating_sub(1),
            b',' if depth == 1 => key_next = true,
            b'"' => {
                let start = i;
                i += 1;
                while i < bytes.len() && bytes[i] != b'"' {
                    i += if bytes[i] == b'\\' { 2 } else { 1 };
                }
                let end = (i + 1).min(bytes.len());
                if depth == 1 && key_next {
                    if let Ok(name) = serde_json::from_str::<String>(&text[start..end]) {
                        keys.insert(name, (start, end));
                    }
                    key_next = false;
                }
            }
            _ => {}
        }
        i += 1;
    }
    keys
}

fn offset_of(text: &str, line: usize, column: usize) -> usize {
    let mut offset = 0;
    for (i, l) in text.split_inclusive('\n').enumerate() {
        if i + 1 == line {
            return (offset + column.saturating_sub(1)).min(text.len());
        }
        offset += l.len();
    }
    text.len()
}

pub(super) enum Parsed<'a> {
    Value(Value),
    /// A literal expression to evaluate (structured `--var` values, var files).
    Expr(&'a Expr),
}

pub(super) fn parse<'a>(var: &'a VarInput, ty: &Type) -> Result<Parsed<'a>, Diagnostic> {
    let ty = &ty.plain();
    match &var.value {
        VarValue::Text(text) => parse_text(var, text, ty),
        VarValue::Expr(e) => {
            literal_only(e)?;
            Ok(Parsed::Expr(e))
        }
        VarValue::Json(j) => Ok(Parsed::Value(from_json(j, ty))),
    }
}

fn parse_text<'a>(var: &'a VarInput, text: &str, ty: &Type) -> Result<Parsed<'a>, Diagnostic> {
    let base = match ty {
        Type::Optional(inner) if text == "null" && !inner.is_stringy() => {
            return Ok(Parsed::Value(Value::Null));
        }
        Type::Optional(inner) => inner,
        t => t,
    };
    let name = &var.name;
    Ok(Parsed::Value(match base {
        Type::String | Type::Secret | Type::Enum(_) => Value::str(text),
        Type::Int | Type::Port => Value::Int(text.trim().parse().map_err(|_| {
            errors::invalid_var(
                var.span,
                format!(
                    "`{name}` is {}, and `{text}` is not an integer",
                    article(base)
                ),
            )
        })?),
        Type::Float => Value::Float(text.trim().parse().map_err(|_| {
            errors::invalid_var(
                var.span,
                format!("`{name}` is a float, and `{text}` is not a number"),
            )
        })?),
        Type::Bool => match text.trim() {
            "true" => Value::Bool(true),
            "false" => Value::Bool(false),
            _ => {
                return Err(errors::invalid_var(
                    var.span,
                    format!("`{name}` is a bool: write `true` or `false`, not `{text}`"),
                ));
            }
        },
        Type::Duration => Value::Duration(parse_duration(text.trim()).ok_or_else(|| {
            errors::invalid_var(
                var.span,
                format!("`{name}` is a duration, like `10s` or `1h30m`, not `{text}`"),
            )
        })?),
        Type::Resource(k) => {
            return Err(errors::invalid_var(
                var.span,
                format!("`{name}` is a {k} reference and cannot be set from the command line"),
            ));
        }
        // Other types arrive as parsed literals (see `needs_literal`); a
        // string here is reported by the type check of the parameter.
        _ => Value::str(text),
    }))
}

fn article(t: &Type) -> String {
    crate::types::article(t)
}

/// Var files and structured `--var` values hold literals only.
pub(super) fn literal_only(e: &Expr) -> Result<(), Diagnostic> {
    let mut bad: Option<Span> = None;
    let mut visit = |_: &str, span: Span| {
        bad.get_or_insert(span);
    };
    crate::resolve::free_names(e, &mut Vec::new(), &mut visit);
    match bad {
        Some(span) => Err(errors::var_not_literal(span)),
        None => Ok(()),
    }
}

/// A JSON value as a stack value; strings become durations or sizes where
/// the parameter wants one and the text is one.
pub(super) fn from_json(j: &serde_json::Value, ty: &Type) -> Value {
    use serde_json::Value as J;
    let base = match ty {
        Type::Optional(inner) => inner,
        t => t,
    };
    match j {
        J::Null => Value::Null,
        J::Bool(b) => Value::Bool(*b),
        J::Number(n) => match n.as_i64() {
            Some(i) => Value::Int(i),
            None => Value::Float(n.as_f64().unwrap_or(0.0)),
        },
        J::String(s) => match base {
            Type::Duration => {
                parse_duration(s).map_or_else(|| Value::str(s.as_str()), Value::Duration)
            }
            Type::Size => parse_size(s).map_or_else(|_| Value::str(s.as_str()), Value::Size),
            _ => Value::str(s.as_str()),
        },
        J::Array(xs) => {
            let elem = match base {
                Type::List(t) => (**t).clone(),
                _ => Type::Any,
            };
            Value::list(xs.iter().map(|x| from_json(x, &elem)).collect())
        }
        J::Object(m) => {
            let field_type = |k: &str| match base {
                Type::Map(t) => (**t).clone(),
                Type::Record(fields) => fields.get(k).cloned().unwrap_or(Type::Any),
                _ => Type::Any,
            };
            let map: Map = m
                .iter()
                .map(|(k, v)| (k.clone(), from_json(v, &field_type(k))))
                .collect();
            Value::map(map)
        }
    }
}

/// Whether a var's text must be parsed as a literal expression for this type.
fn needs_literal(ty: &Type) -> bool {
    match ty {
        Type::Optional(inner) => needs_literal(inner),
        Type::String
        | Type::Secret
        | Type::Enum(_)
        | Type::Int
        | Type::Port
        | Type::Float
        | Type::Bool
        | Type::Duration => false,
        Type::Resource(_) => false,
        _ => true,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Each var of a var file with `text`, and where its span starts and ends.
    fn var_spans(file_name: &str, text: &str) -> Vec<(String, u32, u32)> {
        let path = std::env::temp_dir().join(format!("stackc-{}-{file_name}", std::process::id()));
        std::fs::write(&path, text).expect("write the var file");
        let vars = read_var_file(&path, &mut SourceMap::default());
        let _ = std::fs::remove_file(&path);
        let mut spans: Vec<(String, u32, u32)> = vars
            .expect("a valid var file")
            .into_iter()
            .map(|v| (v.name, v.span.start, v.span.end))
            .collect();
        spans.sort();
        spans
    }

    #[test]
    fn json_vars_point_at_their_own_key() {
        // `"b"` is a value before it is a key, and a key of a nested object.
        let text = r#"{"a": "b", "b": 1, "c": {"b": 2, "c": "x"}, "d\u0065": "\"e\""}"#;
        let spans = var_spans("keys.json", text);
        let shown: Vec<(&str, &str)> = spans
            .iter()
            .map(|(n, s, e)| (n.as_str(), &text[*s as usize..*e as usize]))
            .collect();
        assert_eq!(
            shown,
            [
                ("a", r#""a""#),
                ("b", r#""b""#),
                ("c", r#""c""#),
                ("de", r#""d\u0065""#)
            ]
        );
        let starts: Vec<u32> = spans.iter().map(|(_, s, _)| *s).collect();
        assert_eq!(starts, [1, 11, 19, 44]);
        // A key given twice: its last value is the one kept, and shown.
        let spans = var_spans("twice.json", r#"{"x": 1, "x": 2}"#);
        assert_eq!(spans, [("x".to_string(), 9, 12)]);
    }
}
