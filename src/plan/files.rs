//! Files copied into containers, in plans: each named by its target
//! (`files[target=/run/secrets/db_password]`), never by its place in the
//! list; a secret one compared with what the engine read back from the
//! live container, and shown as `(secret changed)`.

use std::collections::BTreeSet;

use serde_json::Value as Json;

use super::fields::walk;
use super::{FieldChange, SECRET_CHANGED, SECRET_WRITTEN};
use crate::deployment::{Resource, SECRET_MASK, Spec};
use crate::engine::LiveObject;

/// `files[target=/etc/app.conf]`.
fn entry_path(target: &str) -> String {
    format!("files[target={target}]")
}

/// Whether every element of a list is a file entry, with a target.
fn by_target(list: &[Json]) -> bool {
    list.iter()
        .all(|f| f.get("target").and_then(Json::as_str).is_some())
}

/// The `files` lists of two specs compared file by file, matched by target:
/// a file whose content changes shows its digest and size changing.
/// `false` when the lists are not file entries (left to the caller).
pub(super) fn walk_files(
    before: &[Json],
    after: &[Json],
    path: &mut String,
    out: &mut Vec<FieldChange>,
) -> bool {
    if path != "files" || !by_target(before) || !by_target(after) {
        return false;
    }
    let find = |list: &[Json], target: &str| {
        list.iter()
            .find(|f| f.get("target").and_then(Json::as_str) == Some(target))
            .cloned()
            .unwrap_or(Json::Null)
    };
    let targets: BTreeSet<&str> = before
        .iter()
        .chain(after)
        .filter_map(|f| f.get("target")?.as_str())
        .collect();
    for target in targets {
        let (a, b) = (find(before, target), find(after, target));
        let mut entry = entry_path(target);
        if a.is_null() || b.is_null() {
            if a != b {
                out.push(FieldChange {
                    path: entry,
                    before: a,
                    after: b,
                    forces_replacement: false,
                });
            }
        } else {
            walk(&a, &b, &mut entry, out);
        }
    }
    true
}

/// For a secret pointer inside `files` (`/files/2/content`): `Some` with
/// the change found, if any — the content against the file read back from
/// the live container (one that was not read back counts as unchanged).
/// `None` for any other pointer. A file written since the last apply
/// copied it in shows as [`SECRET_WRITTEN`] (drift, see [`written`]); one
/// that was not holds what the last apply copied, so the source changed.
pub(super) fn secret_change(
    r: &Resource,
    o: &LiveObject,
    pointer: &str,
    visible: &[FieldChange],
) -> Option<Vec<FieldChange>> {
    let rest = pointer.strip_prefix("/files/")?;
    let Spec::Container(c) = &r.spec else {
        return Some(Vec::new());
    };
    let (index, _) = rest.split_once('/').unwrap_or((rest, ""));
    let Some(file) = index.parse::<usize>().ok().and_then(|i| c.files.get(i)) else {
        return Some(Vec::new());
    };
    let entry = entry_path(&file.target);
    // A file added, or changed in what is shown, is listed already.
    if visible.iter().any(|f| f.path == entry) {
        return Some(Vec::new());
    }
    let changed = match (o.actual.files.get(&file.target), file.bytes()) {
        (Some(live), Some(desired)) => *live != desired,
        _ => false,
    };
    let (before, after) = if o.actual.files_written.contains(&file.target) {
        (SECRET_WRITTEN, SECRET_MASK)
    } else {
        (SECRET_MASK, SECRET_CHANGED)
    };
    Some(if changed {
        vec![FieldChange {
            path: format!("{entry}.content"),
            before: Json::from(before),
            after: Json::from(after),
            forces_replacement: false,
        }]
    } else {
        Vec::new()
    })
}

/// Of the changes, the secret files written since the last apply copied
/// them in: drift.
pub(super) fn written(fields: &[FieldChange]) -> impl Iterator<Item = &FieldChange> {
    fields.iter().filter(|f| f.before == SECRET_WRITTEN)
}
