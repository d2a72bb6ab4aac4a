//! Plans for people: a Terraform-like terminal view, and Markdown for code review.

use std::fmt::Write as _;

use serde_json::Value as Json;

use super::*;

/// Markdown output stays under this many characters (review tools cut longer comments).
pub const MARKDOWN_LIMIT: usize = 60_000;

struct Style {
    color: bool,
}

impl Style {
    fn paint(&self, code: &str, text: &str) -> String {
        if self.color {
            format!("\x1b[{code}m{text}\x1b[0m")
        } else {
            text.to_string()
        }
    }
    fn green(&self, t: &str) -> String {
        self.paint("32", t)
    }
    fn yellow(&self, t: &str) -> String {
        self.paint("33", t)
    }
    fn red(&self, t: &str) -> String {
        self.paint("31", t)
    }
    fn bold(&self, t: &str) -> String {
        self.paint("1", t)
    }
}

fn symbol(c: &Change) -> &'static str {
    match c.actions.as_slice() {
        [Action::Create] => "+",
        [Action::Update] => "~",
        [Action::Delete] => "-",
        [Action::Delete, Action::Create] => "-/+",
        _ => " ",
    }
}

fn verb(c: &Change) -> &'static str {
    match c.actions.as_slice() {
        [Action::Create] => "will be created",
        [Action::Update] => "will be updated in place",
        [Action::Delete] => "will be destroyed",
        [Action::Delete, Action::Create] => "must be replaced",
        _ => "is unchanged",
    }
}

/// Fields (by their last name) that hold sizes in bytes.
const SIZES: &[&str] = &["memory", "size", "shm_size"];

/// Fields that hold durations (`"1m30s"` in the JSON, `1m30s` in the source).
const DURATIONS: &[&str] = &[
    "stop_timeout",
    "interval",
    "timeout",
    "start_period",
    "delay",
    // a service's rollout, and its tasks' restarts
    "monitor",
    "window",
];

/// Strings longer than this are written on lines of their own.
const LONG_STRING: usize = 80;

/// A scalar in the plan's own words: sizes and durations as the user
/// writes them (`64MiB`, `1m30s`), masks as they are.
fn scalar(key: &str, v: &Json) -> String {
    match v {
        Json::Null => "null".into(),
        Json::String(s)
            if s == crate::deployment::SECRET_MASK
                || s == SECRET_CHANGED
                || s == SECRET_WRITTEN =>
        {
            s.clone()
        }
        Json::String(s)
            if DURATIONS.contains(&key) && crate::units::parse_duration(s).is_some() =>
        {
            s.clone()
        }
        Json::Number(n) if SIZES.contains(&key) => n
            .as_i64()
            .map_or_else(|| n.to_string(), crate::units::format_size),
        v => v.to_string(),
    }
}

/// The field name a path ends in: `mounts[0].size` → `size`, `ports[1]` → `ports`.
fn last_key(path: &str) -> &str {
    let name = path.rsplit('.').next().unwrap_or(path);
    name.split('[').next().unwrap_or(name)
}

/// The value on one line, if it fits there: scalars, lists of scalars and
/// flat records (`{ container = 80, host = 8080 }`, null fields left out).
fn inline(key: &str, v: &Json) -> Option<String> {
    let text = match v {
        Json::Object(m) => {
            let mut fields = Vec::new();
            for (k, x) in m.iter().filter(|(_, x)| !x.is_null()) {
                if x.is_object() {
                    return None;
                }
                fields.push(format!("{k} = {}", inline(k, x)?));
            }
            if fields.is_empty() {
                "{}".to_string()
            } else {
                format!("{{ {} }}", fields.join(", "))
            }
        }
        Json::Array(xs) => {
            let mut items = Vec::new();
            for x in xs {
                if x.is_object() || x.is_array() {
                    return None;
                }
                items.push(inline(key, x)?);
            }
            format!("[{}]", items.join(", "))
        }
        Json::String(s) if s.contains('\n') => return None,
        v => scalar(key, v),
    };
    (text.len() <= LONG_STRING || matches!(v, Json::String(_)) && text.len() <= 2 * LONG_STRING)
        .then_some(text)
}

/// Writes `{sign} {name} = value` at `indent`: what does not fit on one
/// line as a block — records nested, lists one element a line, multi-line
/// strings as heredocs. `name` is `None` for a list element.
fn write_value(
    out: &mut String,
    indent: usize,
    sign: &str,
    name: Option<&str>,
    key: &str,
    v: &Json,
) {
    let pad = " ".repeat(indent);
    let head = match name {
        Some(name) => format!("{pad}{sign} {name} = "),
        None => format!("{pad}{sign} "),
    };
    if let Some(text) = inline(key, v) {
        let _ = writeln!(out, "{head}{text}");
        return;
    }
    match v {
        Json::Object(m) => {
            let _ = writeln!(out, "{head}{{");
            for (k, x) in m.iter().filter(|(_, x)| !x.is_null()) {
                write_value(out, indent + 4, sign, Some(k), k, x);
            }
            let _ = writeln!(out, "{pad}  }}");
        }
        Json::Array(xs) => {
            let _ = writeln!(out, "{head}[");
            for x in xs {
                write_value(out, indent + 4, sign, None, key, x);
            }
            let _ = writeln!(out, "{pad}  ]");
        }
        Json::String(text) => {
            let _ = writeln!(out, "{head}<<-EOT");
            for line in text.lines() {
                let _ = writeln!(out, "{pad}      {line}");
            }
            let _ = writeln!(out, "{pad}    EOT");
        }
        v => {
            let _ = writeln!(out, "{head}{}", scalar(key, v));
        }
    }
}

/// One field change: `+` for a value added (a list element, a field that
/// was unset), `-` for one removed, `~ before -> after` otherwise.
fn write_field(out: &mut String, style: &Style, f: &FieldChange) {
    let key = last_key(&f.path);
    let mut lines = String::new();
    let sign = match (&f.before, &f.after) {
        (Json::Null, after) => {
            write_value(&mut lines, 6, "+", Some(&f.path), key, after);
            "+"
        }
        (before, Json::Null) => {
            write_value(&mut lines, 6, "-", Some(&f.path), key, before);
            "-"
        }
        (before, after) if inline(key, before).is_some() && inline(key, after).is_some() => {
            let _ = writeln!(
                lines,
                "      ~ {} = {} -> {}",
                f.path,
                inline(key, before).unwrap_or_default(),
                inline(key, after).unwrap_or_default()
            );
            "~"
        }
        (before, after) => {
            write_value(&mut lines, 6, "-", Some(&f.path), key, before);
            write_value(&mut lines, 6, "+", Some(&f.path), key, after);
            "~"
        }
    };
    // The note goes on the field's first line.
    let (first, rest) = lines.split_once('\n').unwrap_or((&lines, ""));
    let note = if f.forces_replacement {
        format!(" {}", style.red("# forces replacement"))
    } else {
        String::new()
    };
    let painted = first.replacen(
        &format!("{sign} "),
        &format!("{} ", paint_sign(style, sign)),
        1,
    );
    let _ = writeln!(out, "{painted}{note}");
    out.push_str(rest);
}

fn paint_sign(style: &Style, sign: &str) -> String {
    match sign {
        "+" => style.green(sign),
        "-" => style.red(sign),
        _ => style.yellow(sign),
    }
}

/// Whether a new object's field is worth a line: set and not empty or false.
fn is_set(v: &Json) -> bool {
    match v {
        Json::Null | Json::Bool(false) => false,
        Json::Array(xs) => !xs.is_empty(),
        Json::Object(m) => m.values().any(|x| !x.is_null()),
        _ => true,
    }
}

/// The summary line.
pub fn summary_line(plan: &Plan) -> String {
    if !plan.has_changes() {
        return match plan.moved.len() {
            0 => "No changes.".into(),
            1 => "No changes. 1 object has moved: apply records its new address.".into(),
            n => format!("No changes. {n} objects have moved: apply records their new addresses."),
        };
    }
    let s = plan.summary;
    format!(
        "Plan: {} to add, {} to change, {} to destroy.",
        s.add, s.change, s.destroy
    )
}

fn change_lines(plan: &Plan, c: &Change, style: &Style, out: &mut String) {
    let data_loss_allowed = plan.data_loss_allowed;
    let _ = writeln!(out, "  # {} {}", style.bold(&c.address), verb(c));
    if let Some(m) = plan.moved.iter().find(|m| m.to == c.address) {
        let _ = writeln!(out, "  # (moved from {})", m.from);
    }
    if let Some(reason) = &c.reason {
        let _ = writeln!(out, "  # ({reason})");
    }
    let sym = symbol(c);
    let painted = match c.actions.as_slice() {
        [Action::Create] => style.green(sym),
        [Action::Update] => style.yellow(sym),
        [Action::Delete] => style.red(sym),
        _ => style.yellow(sym),
    };
    let _ = writeln!(out, "{painted:>3} {} ({})", c.address, c.name);
    match c.actions.as_slice() {
        [Action::Create] => {
            if let Some(Json::Object(fields)) = &c.after {
                for (k, v) in fields.iter().filter(|(_, v)| is_set(v)) {
                    let mut lines = String::new();
                    write_value(&mut lines, 6, "+", Some(k), k, v);
                    out.push_str(&lines.replacen("+ ", &format!("{} ", style.green("+")), 1));
                }
            }
        }
        _ => {
            for f in &c.fields {
                write_field(out, style, f);
            }
        }
    }
    if c.data_loss {
        let why = if data_loss_allowed {
            "allowed by --allow-data-loss"
        } else {
            "it needs --allow-data-loss"
        };
        let _ = writeln!(
            out,
            "      {} this loses the volume's data: {why}",
            style.red("!")
        );
    }
    out.push('\n');
}

/// Objects at a new address: Terraform's `# a has moved to b`, and what
/// the object is (its changes, if any, follow with the others).
fn moved_lines(plan: &Plan, style: &Style, out: &mut String) {
    for m in &plan.moved {
        let _ = writeln!(
            out,
            "  # {} has moved to {}",
            style.bold(&m.from),
            style.bold(&m.to)
        );
        let changes = plan.actions().any(|c| c.address == m.to && c.id.is_some());
        let what = if changes {
            "changes below"
        } else {
            "no changes"
        };
        let _ = writeln!(out, "      {} {} ({what})\n", m.kind, m.name);
    }
}

/// The terminal view: drift first, then each change, then the summary line.
pub fn human(plan: &Plan, color: bool) -> String {
    let style = Style { color };
    let mut out = String::new();
    if !plan.drift.is_empty() {
        let _ = writeln!(
            out,
            "{}\n",
            style.bold("Objects have changed outside stackc:")
        );
        for d in &plan.drift {
            let _ = writeln!(
                out,
                "  # {} ({}) {}",
                style.bold(&d.address),
                d.name,
                d.drift.describe()
            );
            for f in &d.fields {
                let key = last_key(&f.path);
                let shown = |v: &Json| inline(key, v).unwrap_or_else(|| v.to_string());
                // What was done by hand, in words: the signs below are what
                // apply will do.
                let _ = match (&f.before, &f.after) {
                    (live, Json::Null) => writeln!(
                        out,
                        "      ~ {} = {} (added outside stackc, not in the source)",
                        f.path,
                        shown(live)
                    ),
                    (Json::Null, source) => writeln!(
                        out,
                        "      ~ {} = {} (removed outside stackc, in the source)",
                        f.path,
                        shown(source)
                    ),
                    (live, source) => writeln!(
                        out,
                        "      ~ {} = {} (source: {})",
                        f.path,
                        shown(live),
                        shown(source)
                    ),
                };
            }
        }
        out.push('\n');
    }
    if !plan.conflicts.is_empty() {
        let _ = writeln!(
            out,
            "{}\n",
            style.bold("Objects outside the stack are in the way:")
        );
        for c in &plan.conflicts {
            let _ = writeln!(
                out,
                "  {} {}: {} is taken by {}",
                style.red("!"),
                c.address,
                c.claim,
                c.holder
            );
        }
        let _ = writeln!(
            out,
            "\n  apply refuses until they are freed (stackc never removes what is not the stack's)\n  or the stack changes its names or ports.\n"
        );
    }
    moved_lines(plan, &style, &mut out);
    if plan.has_changes() {
        let _ = writeln!(
            out,
            "{}\n",
            style.bold("stackc will perform the following actions:")
        );
        for c in plan.actions() {
            change_lines(plan, c, &style, &mut out);
        }
    }
    let _ = writeln!(out, "{}", style.bold(&summary_line(plan)));
    out
}

/// Markdown for a pull request: the summary first, then one collapsible
/// section per change, cut (never the summary) to stay under
/// [`MARKDOWN_LIMIT`] characters.
pub fn markdown(plan: &Plan) -> String {
    let mut head = format!(
        "**stackc plan for `{}`:** {}\n",
        plan.stack,
        summary_line(plan)
    );
    if !plan.conflicts.is_empty() {
        let _ = writeln!(
            head,
            "\n**In the way (apply refuses until they are freed):**\n"
        );
        for c in &plan.conflicts {
            let _ = writeln!(
                head,
                "- `{}`: {} is taken by {}",
                c.address, c.claim, c.holder
            );
        }
    }
    if !plan.moved.is_empty() {
        let _ = writeln!(head, "\n**Moved (`moved` blocks):**\n");
        for m in &plan.moved {
            let _ = writeln!(head, "- `{}` has moved to `{}`", m.from, m.to);
        }
    }
    if !plan.drift.is_empty() {
        let _ = writeln!(head, "\n**Changed outside stackc:**\n");
        for d in &plan.drift {
            let _ = writeln!(head, "- `{}` {}", d.address, d.drift.describe());
        }
    }
    let style = Style { color: false };
    let mut body = String::new();
    let changes: Vec<&Change> = plan.actions().collect();
    let mut shown = 0;
    for c in &changes {
        let mut detail = String::new();
        change_lines(plan, c, &style, &mut detail);
        let section = format!(
            "\n<details><summary><code>{}</code> {} {}</summary>\n\n```diff\n{}```\n</details>\n",
            symbol(c),
            c.address,
            verb(c),
            detail.replace("```", "'''")
        );
        // Leave room for the note about what was cut.
        if head.len() + body.len() + section.len() + 200 > MARKDOWN_LIMIT {
            break;
        }
        body.push_str(&section);
        shown += 1;
    }
    if shown < changes.len() {
        let _ = writeln!(
            body,
            "\n_{} more changes are not shown: this comment is limited to {MARKDOWN_LIMIT} characters. Run `stackc plan` for all of them._",
            changes.len() - shown
        );
    }
    head + &body
}
