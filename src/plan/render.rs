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

/// A JSON value in the plan's own words.
fn show(v: &Json) -> String {
    match v {
        Json::Null => "null".into(),
        Json::String(s) if s == crate::deployment::SECRET_MASK || s == SECRET_CHANGED => s.clone(),
        v => v.to_string(),
    }
}

/// The summary line.
pub fn summary_line(plan: &Plan) -> String {
    if !plan.has_changes() {
        return "No changes.".into();
    }
    let s = plan.summary;
    format!(
        "Plan: {} to add, {} to change, {} to destroy.",
        s.add, s.change, s.destroy
    )
}

/// Leaves of a spec worth showing for a new object: set, non-empty, non-default-looking.
fn shown_fields(after: &Json) -> Vec<(String, Json)> {
    fn walk(v: &Json, path: &mut String, out: &mut Vec<(String, Json)>) {
        match v {
            Json::Object(m) => {
                for (k, x) in m {
                    let len = path.len();
                    if !path.is_empty() {
                        path.push('.');
                    }
                    path.push_str(k);
                    walk(x, path, out);
                    path.truncate(len);
                }
            }
            Json::Null | Json::Bool(false) => {}
            Json::Array(xs) if xs.is_empty() => {}
            v => out.push((path.clone(), v.clone())),
        }
    }
    let mut out = Vec::new();
    walk(after, &mut String::new(), &mut out);
    out
}

fn change_lines(c: &Change, data_loss_allowed: bool, style: &Style, out: &mut String) {
    let _ = writeln!(out, "  # {} {}", style.bold(&c.address), verb(c));
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
            for (path, v) in shown_fields(c.after.as_ref().unwrap_or(&Json::Null)) {
                let _ = writeln!(out, "      {} {path} = {}", style.green("+"), show(&v));
            }
        }
        _ => {
            for f in &c.fields {
                let note = if f.forces_replacement {
                    format!(" {}", style.red("# forces replacement"))
                } else {
                    String::new()
                };
                let _ = writeln!(
                    out,
                    "      {} {} = {} -> {}{note}",
                    style.yellow("~"),
                    f.path,
                    show(&f.before),
                    show(&f.after)
                );
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
                let _ = writeln!(
                    out,
                    "      ~ {} = {} (source: {})",
                    f.path,
                    show(&f.before),
                    show(&f.after)
                );
            }
        }
        out.push('\n');
    }
    if plan.has_changes() {
        let _ = writeln!(
            out,
            "{}\n",
            style.bold("stackc will perform the following actions:")
        );
        for c in plan.actions() {
            change_lines(c, plan.data_loss_allowed, &style, &mut out);
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
        change_lines(c, plan.data_loss_allowed, &style, &mut detail);
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
