//! Field-by-field differences of two specs: objects key by key, lists
//! element by element.

use std::collections::BTreeSet;

use serde_json::Value as Json;

use super::FieldChange;

/// Leaf-by-leaf differences of two specs: objects are walked key by key,
/// lists element by element (a removed element has `after` null, an added
/// one `before` null).
pub(super) fn field_changes(before: &Json, after: &Json) -> Vec<FieldChange> {
    let mut out = Vec::new();
    walk(before, after, &mut String::new(), &mut out);
    out
}

pub(super) fn walk(before: &Json, after: &Json, path: &mut String, out: &mut Vec<FieldChange>) {
    match (before, after) {
        (Json::Object(a), Json::Object(b)) => {
            let keys: BTreeSet<&String> = a.keys().chain(b.keys()).collect();
            for k in keys {
                let len = path.len();
                if !path.is_empty() {
                    path.push('.');
                }
                path.push_str(k);
                walk(
                    a.get(k).unwrap_or(&Json::Null),
                    b.get(k).unwrap_or(&Json::Null),
                    path,
                    out,
                );
                path.truncate(len);
            }
        }
        // Files are matched by target, not by place.
        (Json::Array(a), Json::Array(b)) if a != b && super::files::walk_files(a, b, path, out) => {
        }
        (Json::Array(a), Json::Array(b)) if a != b && !path.is_empty() => {
            for edit in list_edits(a, b) {
                let (index, before, after) = match edit {
                    Edit::Removed(i) => (i, a[i].clone(), Json::Null),
                    Edit::Added(j) => (j, Json::Null, b[j].clone()),
                };
                out.push(FieldChange {
                    path: format!("{path}[{index}]"),
                    before,
                    after,
                    forces_replacement: false,
                });
            }
        }
        (a, b) if a != b => out.push(FieldChange {
            path: if path.is_empty() {
                "spec".into()
            } else {
                path.clone()
            },
            before: a.clone(),
            after: b.clone(),
            forces_replacement: false,
        }),
        _ => {}
    }
}

/// One element of a list diff: removed from the old list, or added to the new.
#[derive(Debug, PartialEq)]
enum Edit {
    Removed(usize),
    Added(usize),
}

/// The shortest edit from `a` to `b` (longest common subsequence kept),
/// removals before additions at each place. Lists past a few thousand
/// elements are replaced whole rather than diffed.
fn list_edits(a: &[Json], b: &[Json]) -> Vec<Edit> {
    let (n, m) = (a.len(), b.len());
    if n.saturating_mul(m) > 4_000_000 {
        return (0..n)
            .map(Edit::Removed)
            .chain((0..m).map(Edit::Added))
            .collect();
    }
    // common[i][j]: the longest common subsequence of a[i..] and b[j..].
    let mut common = vec![vec![0u32; m + 1]; n + 1];
    for i in (0..n).rev() {
        for j in (0..m).rev() {
            common[i][j] = if a[i] == b[j] {
                common[i + 1][j + 1] + 1
            } else {
                common[i + 1][j].max(common[i][j + 1])
            };
        }
    }
    let (mut i, mut j, mut edits) = (0, 0, Vec::new());
    let mut added = Vec::new();
    while i < n || j < m {
        if i < n && j < m && a[i] == b[j] {
            edits.append(&mut added);
            i += 1;
            j += 1;
        } else if i < n && (j == m || common[i + 1][j] >= common[i][j + 1]) {
            edits.push(Edit::Removed(i));
            i += 1;
        } else {
            added.push(Edit::Added(j));
            j += 1;
        }
    }
    edits.append(&mut added);
    edits
}
