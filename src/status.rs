//! `stackc status`: the stack's live objects next to the source.

use serde::Serialize;

use crate::deployment::Kind;
use crate::deployment::{Deployment, Spec};
use crate::engine::LiveState;
use crate::plan::{Action, DriftKind, Plan};

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Row {
    pub address: String,
    pub kind: Kind,
    pub name: String,
    /// `running (healthy)`, `exited (0)`, `present`, `missing`.
    pub state: String,
    /// Drift, or what the next apply would do; `None` when in step.
    pub note: Option<String>,
}

/// One row per resource of the source and per object no longer in it.
pub fn rows(deployment: &Deployment, plan: &Plan, live: &LiveState) -> Vec<Row> {
    let mut rows: Vec<Row> = Vec::new();
    for r in &deployment.resources {
        let object = live.objects.iter().find(|o| o.address == r.address);
        let state = match (object, &r.spec) {
            (Some(o), _) => state_of(o),
            (None, Spec::Image(i)) if i.reference.is_some() => {
                let present = i
                    .reference
                    .as_ref()
                    .and_then(|x| live.images.get(x))
                    .is_some_and(Option::is_some);
                if present {
                    "present".into()
                } else {
                    "missing".into()
                }
            }
            (None, _) => "missing".into(),
        };
        rows.push(Row {
            address: r.address.clone(),
            kind: r.kind,
            name: r.name.clone(),
            state,
            note: note(plan, &r.address),
        });
    }
    for o in &live.objects {
        if deployment.resource(&o.address).is_none() {
            rows.push(Row {
                address: o.address.clone(),
                kind: o.kind,
                name: o.name.clone(),
                state: state_of(o),
                note: Some("not in the source".into()),
            });
        }
    }
    rows.sort_by(|a, b| a.address.cmp(&b.address));
    rows
}

/// An object's state; a service's is its tasks (`2/3 running`), and how
/// its last update ended when it stopped short.
fn state_of(o: &crate::engine::LiveObject) -> String {
    let Some(service) = &o.actual.service else {
        return o.state.to_string();
    };
    let (running, desired) = service.tasks;
    let mut state = format!("{running}/{desired} running");
    if let Some(u) = service.update.as_ref().filter(|u| u.state.failed()) {
        state.push_str(&format!(" ({})", u.state));
    }
    state
}

/// What a row says of drift when the source could not be evaluated.
pub const NOT_JUDGED: &str = "not judged: parameters not set";

/// One row per live object, when the source cannot be evaluated (its
/// parameters are not all set): their state, and drift not judged.
pub fn live_rows(live: &LiveState) -> Vec<Row> {
    let mut rows: Vec<Row> = live
        .objects
        .iter()
        .map(|o| Row {
            address: o.address.clone(),
            kind: o.kind,
            name: o.name.clone(),
            state: state_of(o),
            note: Some(NOT_JUDGED.into()),
        })
        .collect();
    rows.sort_by(|a, b| a.address.cmp(&b.address));
    rows
}

fn note(plan: &Plan, address: &str) -> Option<String> {
    if let Some(d) = plan.drift.iter().find(|d| d.address == address) {
        return Some(match d.drift {
            DriftKind::Stopped => "not running: apply starts it".to_string(),
            other => format!("{} outside stackc", other.describe()),
        });
    }
    let c = plan
        .resource_changes
        .iter()
        .find(|c| c.address == address)?;
    Some(
        match c.actions.as_slice() {
            [Action::Create] => "not created yet",
            [Action::Update] => "out of date: apply updates it",
            [Action::Delete, Action::Create] => "out of date: apply replaces it",
            _ => return None,
        }
        .into(),
    )
}

/// The rows as an aligned table.
pub fn table(rows: &[Row]) -> String {
    aligned(rows, "(the stack declares nothing)")
}

/// The rows of [`live_rows`] as an aligned table.
pub fn live_table(rows: &[Row]) -> String {
    aligned(rows, "(no object of the stack is on the engine)")
}

fn aligned(rows: &[Row], empty: &str) -> String {
    let header = ["ADDRESS", "KIND", "NAME", "STATE", "DRIFT"];
    let cells: Vec<[String; 5]> = rows
        .iter()
        .map(|r| {
            [
                r.address.clone(),
                r.kind.to_string(),
                r.name.clone(),
                r.state.clone(),
                r.note.clone().unwrap_or_else(|| "-".into()),
            ]
        })
        .collect();
    let mut widths = header.map(str::len);
    for row in &cells {
        for (w, c) in widths.iter_mut().zip(row) {
            *w = (*w).max(c.chars().count());
        }
    }
    let mut out = String::new();
    let mut line = |cols: [&str; 5]| {
        let mut l = String::new();
        for (i, c) in cols.iter().enumerate() {
            if i + 1 < cols.len() {
                l.push_str(&format!("{c:<width$}  ", width = widths[i]));
            } else {
                l.push_str(c);
            }
        }
        out.push_str(l.trim_end());
        out.push('\n');
    };
    line(header);
    for row in &cells {
        line([&row[0], &row[1], &row[2], &row[3], &row[4]]);
    }
    if rows.is_empty() {
        out.push_str(empty);
        out.push('\n');
    }
    out
}
