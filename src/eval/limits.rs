//! How much work and memory evaluating a stack may take.
//!
//! A stack planned in CI may come from anyone, so evaluation is bounded:
//!
//! * **steps** (`--max-steps`, default 20,000,000): one step per expression
//!   evaluated and per loop iteration, one per element a built-in function or
//!   an operator reads or builds, and one per [`BYTES_PER_STEP`] bytes of text it
//!   reads or builds. Values are also walked, a step per element, where they are
//!   stored (`let`, parameters, outputs) and conformed to a type (arguments,
//!   results, resource fields), so a value that shares its parts (`[a, a]`
//!   nested forty times) costs what it would cost written out.
//! * **string size** (`--max-string-size`, default 256 MiB): no string is built
//!   larger; the size is computed before the string is allocated.
//! * **collection size** (`--max-collection`, default 10,000,000): no list or map
//!   is built with more elements; checked before it is allocated.
//! * **depth** (fixed): evaluations nested more than [`MAX_DEPTH`] deep (chains of
//!   lets, functions calling functions, resources referring to resources), and
//!   stored values nested more than [`MAX_VALUE_DEPTH`] levels, are refused: the
//!   evaluator recurses, and its stack is fixed.
//!
//! Exceeding any of them is `E0418`, reported once, at the expression where it
//! happened; evaluation then stops.

use std::fmt::Write as _;

use super::value::Value;
use crate::diagnostic::{Diagnostic, ErrorCode};
use crate::source::Span;

/// The limits of one evaluation. [`Limits::default`] holds the documented defaults.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Evaluation steps, in all (`--max-steps`).
    pub max_steps: u64,
    /// Bytes in any one string (`--max-string-size`).
    pub max_string_size: u64,
    /// Elements in any one list or map (`--max-collection`).
    pub max_collection: u64,
}

impl Limits {
    pub const DEFAULT_MAX_STEPS: u64 = 20_000_000;
    pub const DEFAULT_MAX_STRING_SIZE: u64 = 256 * 1024 * 1024;
    pub const DEFAULT_MAX_COLLECTION: u64 = 10_000_000;
}

impl Default for Limits {
    fn default() -> Limits {
        Limits {
            max_steps: Limits::DEFAULT_MAX_STEPS,
            max_string_size: Limits::DEFAULT_MAX_STRING_SIZE,
            max_collection: Limits::DEFAULT_MAX_COLLECTION,
        }
    }
}

/// A resource costs what normalizing, hashing and planning it cost besides
/// its expressions: with the default budget a stack holds some 20,000
/// resources (a `for` over `range(1000000)` of containers stops early).
pub const STEPS_PER_RESOURCE: u64 = 1_000;

/// Text read or built costs one step per this many bytes.
pub const BYTES_PER_STEP: u64 = 16;

/// Evaluations nested deeper than this are refused (fixed: the evaluator's
/// stack is fixed). Each level of an expression, each `let`, parameter or
/// output reached through another, and each function call is one level.
pub const MAX_DEPTH: usize = 10_000;

/// Values stored in a `let`, parameter or output, or conformed to a type, may
/// not be nested deeper than this (lists in lists, records in records).
pub const MAX_VALUE_DEPTH: usize = 256;

/// Which limit was exceeded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Limit {
    Steps,
    /// With the size that was asked for.
    StringSize(u64),
    /// With the number of elements that was asked for.
    Collection(u64),
    Depth,
    ValueDepth,
}

/// Counts the steps and the depth of one evaluation.
#[derive(Debug)]
pub(super) struct Meter {
    pub(super) limits: Limits,
    steps: u64,
    pub(super) depth: usize,
    /// A limit was exceeded and reported: everything fails from now on, silently.
    pub(super) exhausted: bool,
}

impl Meter {
    pub(super) fn new(limits: Limits) -> Meter {
        Meter {
            limits,
            steps: 0,
            depth: 0,
            exhausted: false,
        }
    }

    /// Charges `n` steps; `Err` when that goes over the limit.
    pub(super) fn charge(&mut self, n: u64) -> Result<(), Limit> {
        self.steps = self.steps.saturating_add(n);
        if self.exhausted || self.steps > self.limits.max_steps {
            Err(Limit::Steps)
        } else {
            Ok(())
        }
    }

    /// Steps left before the limit.
    pub(super) fn remaining(&self) -> u64 {
        self.limits.max_steps.saturating_sub(self.steps)
    }

    /// Checks the size of a string before it is built.
    pub(super) fn string(&self, bytes: u64) -> Result<(), Limit> {
        if bytes > self.limits.max_string_size {
            return Err(Limit::StringSize(bytes));
        }
        Ok(())
    }

    /// Checks the length of a list or map before it is built.
    pub(super) fn collection(&self, len: u64) -> Result<(), Limit> {
        if len > self.limits.max_collection {
            return Err(Limit::Collection(len));
        }
        Ok(())
    }

    /// Walks a value, a step per element and per [`BYTES_PER_STEP`] bytes of
    /// text (shared parts counted each time), checking its depth. The walk
    /// stops as soon as the steps run out, so it is itself bounded.
    pub(super) fn walk(&mut self, v: &Value) -> Result<(), Limit> {
        if !matches!(v, Value::List(_) | Value::Map(_) | Value::Str(_)) {
            return Ok(());
        }
        let budget = self.remaining();
        let mut cost: u64 = 0;
        // One iterator per level: the walk holds at most MAX_VALUE_DEPTH of them.
        let mut levels: Vec<Box<dyn Iterator<Item = &Value> + '_>> =
            vec![Box::new(std::iter::once(v))];
        while let Some(level) = levels.last_mut() {
            let Some(v) = level.next() else {
                levels.pop();
                continue;
            };
            cost += 1;
            match v {
                Value::Str(s) => cost += text_steps(s.text.len() as u64),
                Value::List(xs) => levels.push(Box::new(xs.iter())),
                Value::Map(m) => levels.push(Box::new(m.values())),
                _ => {}
            }
            if levels.len() > MAX_VALUE_DEPTH + 1 {
                return Err(Limit::ValueDepth);
            }
            if cost > budget {
                break;
            }
        }
        self.charge(cost)
    }
}

/// The steps for reading or building `bytes` bytes of text.
pub(super) fn text_steps(bytes: u64) -> u64 {
    bytes / BYTES_PER_STEP
}

/// What calling a built-in costs, and the size of what it builds when that
/// can be known before it runs: `(steps, string bytes, collection elements)`.
pub(super) fn builtin_cost(name: &str, args: &[Value]) -> (u64, Option<u64>, Option<u64>) {
    // A secret costs what its value does.
    let len = |v: &Value| -> u64 {
        match v.reveal().0 {
            Value::List(xs) => xs.len() as u64,
            Value::Map(m) => m.len() as u64,
            Value::Str(s) => text_steps(s.text.len() as u64),
            _ => 0,
        }
    };
    let bytes = |v: &Value| -> u64 {
        match v.reveal().0 {
            Value::Str(s) => s.text.len() as u64,
            _ => 0,
        }
    };
    let all: u64 = args.iter().map(len).sum();
    match (name, args) {
        ("range", [n]) => {
            let n = as_int(n).max(0) as u64;
            (n, None, Some(n))
        }
        ("range", [a, b]) => {
            let n = as_int(b).saturating_sub(as_int(a)).max(0) as u64;
            (n, None, Some(n))
        }
        // Counting a string's characters reads it.
        ("len", [v]) if matches!(v.reveal().0, Value::Str(_)) => (1 + len(v), None, None),
        ("len" | "lookup", _) => (1, None, None),
        ("join", [Value::List(xs), sep]) => {
            // Other scalars print in at most 32 bytes.
            let text: u64 = xs
                .iter()
                .map(|x| match x {
                    Value::Str(s) => s.text.len() as u64,
                    _ => 32,
                })
                .sum();
            let size = text + bytes(sep).saturating_mul(xs.len().saturating_sub(1) as u64);
            (xs.len() as u64 + text_steps(size), Some(size), None)
        }
        ("replace", [s, old, new]) => {
            let (s, old, new) = (bytes(s), bytes(old).max(1), bytes(new));
            let size = s + (s / old).saturating_mul(new.saturating_sub(old));
            (text_steps(s + size), Some(size), None)
        }
        ("concat" | "merge", _) => (all, None, Some(all)),
        ("flatten", [Value::List(xs)]) => {
            let n: u64 = xs
                .iter()
                .map(|x| match x {
                    Value::List(inner) => inner.len() as u64,
                    _ => 1,
                })
                .sum();
            (n, None, Some(n))
        }
        // Each element is compared with those kept before it.
        ("distinct", [Value::List(xs)]) => {
            let n = xs.len() as u64;
            (n.saturating_mul(n) / 2, None, None)
        }
        ("sort", [Value::List(xs)]) => {
            let n = xs.len() as u64;
            (n.saturating_mul(u64::from(n.max(2).ilog2())), None, None)
        }
        ("format", [f, rest @ ..]) => {
            let padding = match f.reveal().0 {
                Value::Str(s) => super::text::format_padding(&s.text),
                _ => 0,
            };
            let size = bytes(f) + rest.iter().map(|a| bytes(a).max(32)).sum::<u64>() + padding;
            (text_steps(size), Some(size), None)
        }
        // Matching is linear in the text; compiling, in the pattern (a
        // byte a step: compiled programs are bounded, but not free).
        ("regex" | "matches" | "regex_replace", [s, p, rest @ ..]) => {
            let replacement: u64 = rest.iter().map(bytes).sum();
            let steps = 1 + 4 * text_steps(bytes(s)) + bytes(p) + text_steps(replacement);
            (steps, None, None)
        }
        // Each element decoded takes at least two bytes (`0,`).
        ("jsondecode", [s]) => (1 + bytes(s) / 2, None, None),
        _ => (1 + all, None, None),
    }
}

fn as_int(v: &Value) -> i64 {
    match v {
        Value::Int(i) => *i,
        _ => 0,
    }
}

impl Limit {
    /// The diagnostic: the limit, its value, and the flag that raises it.
    pub(super) fn diagnostic(self, limits: &Limits, span: Span) -> Diagnostic {
        let (message, label, help) = match self {
            Limit::Steps => (
                format!(
                    "evaluation limit exceeded: more than {} evaluation steps",
                    thousands(limits.max_steps)
                ),
                "the steps ran out here",
                Some(("--max-steps", "N")),
            ),
            Limit::StringSize(size) => (
                format!(
                    "evaluation limit exceeded: a string of {}, over the {} limit",
                    show_size(size),
                    show_size(limits.max_string_size)
                ),
                "string too large",
                Some(("--max-string-size", "SIZE")),
            ),
            Limit::Collection(len) => (
                format!(
                    "evaluation limit exceeded: a list or map of {} elements, over the {} limit",
                    thousands(len),
                    thousands(limits.max_collection)
                ),
                "collection too large",
                Some(("--max-collection", "N")),
            ),
            Limit::Depth => (
                format!(
                    "evaluation limit exceeded: evaluation nested more than {} levels deep",
                    thousands(MAX_DEPTH as u64)
                ),
                "too deep here",
                None,
            ),
            Limit::ValueDepth => (
                format!(
                    "evaluation limit exceeded: a value nested more than {MAX_VALUE_DEPTH} levels deep"
                ),
                "too deep here",
                None,
            ),
        };
        let help = match help {
            Some((flag, arg)) => format!(
                "for a stack you trust, raise the limit with `{flag} {arg}`"
            ),
            None => "this limit is fixed: split the chain (fewer lets, calls or references each needing the next)".to_string(),
        };
        Diagnostic::new(ErrorCode::EvalLimit, message)
            .label(span, label)
            .help(help)
    }
}

/// `20000000` → `20,000,000`.
fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// Bytes in the largest binary unit that divides them, else with one decimal.
fn show_size(bytes: u64) -> String {
    const UNITS: [(u64, &str); 4] = [
        (1 << 40, "TiB"),
        (1 << 30, "GiB"),
        (1 << 20, "MiB"),
        (1 << 10, "KiB"),
    ];
    let mut out = String::new();
    for (factor, unit) in UNITS {
        if bytes >= factor {
            if bytes.is_multiple_of(factor) {
                let _ = write!(out, "{}{unit}", bytes / factor);
            } else {
                let _ = write!(out, "{:.1}{unit}", bytes as f64 / factor as f64);
            }
            return out;
        }
    }
    format!("{bytes}B")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_and_sizes_are_shown_readably() {
        assert_eq!(thousands(20_000_000), "20,000,000");
        assert_eq!(thousands(999), "999");
        assert_eq!(show_size(256 << 20), "256MiB");
        assert_eq!(show_size(3 << 29), "1.5GiB");
        assert_eq!(show_size(100), "100B");
    }

    #[test]
    fn a_shared_value_is_walked_as_written_out_and_the_walk_stops_early() {
        let mut v = Value::Int(1);
        for _ in 0..60 {
            v = Value::list(vec![v.clone(), v]);
        }
        let mut meter = Meter::new(Limits {
            max_steps: 1000,
            ..Limits::default()
        });
        // 2^60 elements: refused, after about 1000 of them were visited.
        assert_eq!(meter.walk(&v), Err(Limit::Steps));
    }

    #[test]
    fn values_nested_too_deep_are_refused() {
        let mut v = Value::Int(1);
        for _ in 0..MAX_VALUE_DEPTH {
            v = Value::list(vec![v]);
        }
        let mut meter = Meter::new(Limits::default());
        assert_eq!(meter.walk(&v), Ok(()));
        let v = Value::list(vec![v]);
        assert_eq!(meter.walk(&v), Err(Limit::ValueDepth));
    }

    #[test]
    fn sizes_are_checked_before_anything_is_built() {
        let meter = Meter::new(Limits::default());
        assert_eq!(meter.string(1 << 40), Err(Limit::StringSize(1 << 40)));
        assert_eq!(meter.collection(1 << 40), Err(Limit::Collection(1 << 40)));
        assert_eq!(builtin_cost("range", &[Value::Int(5)]), (5, None, Some(5)));
    }

    #[test]
    fn text_functions_pay_for_what_they_read_and_build() {
        // A format's widths are text it builds: sized before it is.
        let (_, size, _) = builtin_cost("format", &[Value::str("%4000d"), Value::Int(1)]);
        assert_eq!(size, Some(6 + 32 + 4000));
        // A pattern is compiled a byte a step; the text read 4 steps per 16 bytes.
        let text = Value::str("a".repeat(1600));
        let (steps, _, _) = builtin_cost("matches", &[text, Value::str("^a+$")]);
        assert_eq!(steps, 1 + 4 * 100 + 4);
        let (steps, _, _) = builtin_cost("jsondecode", &[Value::str("[0,0,0,0]")]);
        assert_eq!(steps, 1 + 4);
    }
}
