//! `jsonencode`, `yamlencode` and `jsondecode`: values as JSON and YAML text
//! for configuration files, and JSON text as values. Values map as outputs
//! do: durations as their spelling (`"1m30s"`), sizes as bytes, references
//! as what they yield. The YAML emitter is small and written here: block
//! style, and every string that YAML could read as anything else quoted.

use serde_json::Value as Json;

use super::builtins::CallError;
use super::value::{Map, Value, format_float};
use crate::diagnostic::ErrorCode;
use crate::units::format_duration;

/// The JSON of a value with no secret wrappers.
pub fn to_json(v: &Value) -> Result<Json, CallError> {
    Ok(match v {
        Value::Null => Json::Null,
        Value::Bool(b) => Json::Bool(*b),
        Value::Int(i) => Json::from(*i),
        Value::Float(f) => serde_json::Number::from_f64(*f).map_or(Json::Null, Json::Number),
        Value::Duration(ms) => Json::String(format_duration(*ms)),
        Value::Size(b) => Json::from(*b),
        Value::Str(s) => Json::String(s.text.to_string()),
        Value::List(xs) => Json::Array(xs.iter().map(to_json).collect::<Result<_, _>>()?),
        Value::Map(m) => Json::Object(
            m.iter()
                .map(|(k, x)| Ok((k.clone(), to_json(x)?)))
                .collect::<Result<_, CallError>>()?,
        ),
        Value::Ref(r) => Json::String(r.yields.to_string()),
        Value::Secret(inner) => to_json(inner)?,
        Value::Instance(i) => {
            return Err(CallError::Coded(
                ErrorCode::NotEncodable,
                format!(
                    "the module instance `{}` is not data; encode its outputs instead",
                    i.address
                ),
            ));
        }
    })
}

/// `jsonencode(v)`: compact JSON, keys in the order they were written.
pub fn json_encode(v: &Value) -> Result<Value, CallError> {
    let json = to_json(v)?;
    Ok(Value::str(json.to_string()))
}

/// `jsondecode(s)`: objects become records, arrays lists, whole numbers that
/// fit ints, other numbers floats. Nesting is limited (128 levels).
pub fn json_decode(text: &str, secret: bool) -> Result<Value, CallError> {
    let json: Json = serde_json::from_str(text).map_err(|e| {
        // serde's messages name a place, never the text; a secret's place is secret too.
        let message = if secret {
            "the text is not valid JSON".to_string()
        } else {
            format!("the text is not valid JSON: {e}")
        };
        CallError::Coded(ErrorCode::InvalidJson, message)
    })?;
    Ok(from_json(json))
}

fn from_json(j: Json) -> Value {
    match j {
        Json::Null => Value::Null,
        Json::Bool(b) => Value::Bool(b),
        Json::Number(n) => match n.as_i64() {
            Some(i) => Value::Int(i),
            None => Value::Float(n.as_f64().unwrap_or(0.0)),
        },
        Json::String(s) => Value::str(s),
        Json::Array(xs) => Value::list(xs.into_iter().map(from_json).collect()),
        Json::Object(m) => {
            let mut out = Map::with_capacity_and_hasher(m.len(), Default::default());
            for (k, x) in m {
                out.insert(k, from_json(x));
            }
            Value::map(out)
        }
    }
}

/// `yamlencode(v)`: YAML in block style, ending with a newline.
pub fn yaml_encode(v: &Value) -> Result<Value, CallError> {
    let json = to_json(v)?;
    let mut out = String::new();
    match &json {
        Json::Array(xs) if !xs.is_empty() => yaml_list(xs, 0, &mut out),
        Json::Object(m) if !m.is_empty() => yaml_map(m, 0, &mut out),
        scalar => {
            out.push_str(&yaml_inline(scalar));
            out.push('\n');
        }
    }
    Ok(Value::str(out))
}

fn yaml_list(xs: &[Json], indent: usize, out: &mut String) {
    for x in xs {
        push_indent(out, indent);
        out.push('-');
        match x {
            // A map's first key goes on the dash's line, the others under it.
            Json::Object(m) if !m.is_empty() => {
                out.push(' ');
                let mut first = String::new();
                yaml_map(m, indent + 2, &mut first);
                out.push_str(first.trim_start_matches(' '));
            }
            Json::Array(inner) if !inner.is_empty() => {
                out.push('\n');
                yaml_list(inner, indent + 2, out);
            }
            scalar => {
                out.push(' ');
                out.push_str(&yaml_inline(scalar));
                out.push('\n');
            }
        }
    }
}

fn yaml_map(m: &serde_json::Map<String, Json>, indent: usize, out: &mut String) {
    for (k, x) in m {
        push_indent(out, indent);
        out.push_str(&yaml_string(k));
        out.push(':');
        match x {
            Json::Object(inner) if !inner.is_empty() => {
                out.push('\n');
                yaml_map(inner, indent + 2, out);
            }
            Json::Array(inner) if !inner.is_empty() => {
                out.push('\n');
                yaml_list(inner, indent + 2, out);
            }
            scalar => {
                out.push(' ');
                out.push_str(&yaml_inline(scalar));
                out.push('\n');
            }
        }
    }
}

fn push_indent(out: &mut String, indent: usize) {
    out.extend(std::iter::repeat_n(' ', indent));
}

/// A scalar, or an empty list or map, on one line.
fn yaml_inline(j: &Json) -> String {
    match j {
        Json::Null => "null".to_string(),
        Json::Bool(b) => b.to_string(),
        Json::Number(n) => match n.as_i64() {
            Some(i) => i.to_string(),
            None => format_float(n.as_f64().unwrap_or(0.0)),
        },
        Json::String(s) => yaml_string(s),
        Json::Array(_) => "[]".to_string(),
        Json::Object(_) => "{}".to_string(),
    }
}

/// A string plain when YAML (1.1 or 1.2) can only read it as that string,
/// double-quoted otherwise (JSON's escapes are YAML's).
fn yaml_string(s: &str) -> String {
    const WORDS: &[&str] = &[
        "y", "n", "yes", "no", "on", "off", "true", "false", "null", "nan", "inf",
    ];
    let mut chars = s.chars();
    let plain = chars.next().is_some_and(|c| c.is_ascii_alphabetic())
        && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '/' | '-'))
        && !WORDS.contains(&s.to_ascii_lowercase().as_str());
    if plain {
        s.to_string()
    } else {
        Json::String(s.to_string()).to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(entries: &[(&str, Value)]) -> Value {
        Value::map(
            entries
                .iter()
                .map(|(k, v)| (k.to_string(), v.clone()))
                .collect(),
        )
    }

    fn text(v: Result<Value, CallError>) -> String {
        match v {
            Ok(Value::Str(s)) => s.text.to_string(),
            _ => String::from("(not text)"),
        }
    }

    #[test]
    fn yaml_nests_in_block_style_and_quotes_what_would_change_meaning() {
        let v = record(&[
            ("name", Value::str("api")),
            ("on", Value::str("yes")),
            ("port", Value::Int(80)),
            (
                "tags",
                Value::list(vec![Value::str("a b"), Value::str("1.0")]),
            ),
            (
                "env",
                Value::list(vec![record(&[
                    ("k", Value::str("v")),
                    ("x", Value::list(vec![])),
                ])]),
            ),
            ("timeout", Value::Duration(90_000)),
            ("empty", record(&[])),
        ]);
        assert_eq!(
            text(yaml_encode(&v)),
            "name: api\n\"on\": \"yes\"\nport: 80\ntags:\n  - \"a b\"\n  - \"1.0\"\nenv:\n  - k: v\n    x: []\ntimeout: \"1m30s\"\nempty: {}\n"
        );
        assert_eq!(text(yaml_encode(&Value::str("a\nb"))), "\"a\\nb\"\n");
    }

    #[test]
    fn json_round_trips() {
        let v = record(&[
            ("a", Value::list(vec![Value::Int(1), Value::Float(1.5)])),
            ("b", Value::Null),
        ]);
        let encoded = text(json_encode(&v));
        assert_eq!(encoded, r#"{"a":[1,1.5],"b":null}"#);
        let Ok(decoded) = json_decode(&encoded, false) else {
            unreachable!()
        };
        assert!(decoded.equals(&v));
        assert!(json_decode("{", false).is_err());
    }
}
