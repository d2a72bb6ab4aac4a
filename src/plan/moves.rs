//! Objects at a new address: `moved` blocks and the record of those applied.
//!
//! An object's address label cannot change (Docker changes no label of a
//! volume, network or container), so the label keeps the address the
//! object was made at, and the planner maps it: an object labelled with an
//! address of the source stays there; otherwise the record's entry for it
//! (a move an apply already made) and then the source's `moved` blocks say
//! where it is now. Apply records the result, so the object stays where it
//! went when the block is removed.

use std::borrow::Cow;
use std::collections::BTreeSet;

use serde_json::Value as Json;

use super::{FieldChange, Moved};
use crate::deployment::moved::follow;
use crate::deployment::{Deployment, Kind, Resource};
use crate::engine::{LiveObject, LiveState};

/// Gives every object of `live` the address it has now (its label address
/// kept in `moved_from`). Objects already followed are left as they are.
pub fn follow_moves(desired: &Deployment, live: &mut LiveState) {
    let labelled: BTreeSet<String> = live
        .objects
        .iter()
        .filter(|o| o.moved_from.is_none())
        .map(|o| o.address.clone())
        .collect();
    for o in &mut live.objects {
        if o.moved_from.is_some() || desired.resource(&o.address).is_some() {
            continue;
        }
        let recorded = live
            .record
            .as_ref()
            .and_then(|r| r.moved.get(&o.address))
            .cloned();
        let start = recorded.clone().unwrap_or_else(|| o.address.clone());
        let now = if desired.resource(&start).is_some() {
            Some(start.clone())
        } else {
            follow(&desired.moved, &start)
        };
        let target = now.filter(|a| {
            desired.resource(a).is_some_and(|r| r.kind == o.kind)
                // An object made at the new address already is the one there.
                && !labelled.contains(a)
        });
        // Where the record says the object went, if the source moves it no further.
        match target.or(recorded) {
            Some(address) if address != o.address => {
                o.moved_from = Some(std::mem::replace(&mut o.address, address));
            }
            _ => {}
        }
    }
}

/// `live` with [`follow_moves`] applied, copied only when something moves.
pub(super) fn followed<'a>(desired: &Deployment, live: &'a LiveState) -> Cow<'a, LiveState> {
    let any = live.objects.iter().any(|o| {
        o.moved_from.is_none()
            && desired.resource(&o.address).is_none()
            && (!desired.moved.is_empty()
                || live
                    .record
                    .as_ref()
                    .is_some_and(|r| r.moved.contains_key(&o.address)))
    });
    if !any {
        return Cow::Borrowed(live);
    }
    let mut copy = live.clone();
    follow_moves(desired, &mut copy);
    Cow::Owned(copy)
}

/// The moves a plan shows: objects at an address the record does not
/// have for them yet (apply records it).
pub(super) fn pending(live: &LiveState) -> Vec<Moved> {
    let mut out: Vec<Moved> = live
        .objects
        .iter()
        .filter_map(|o| {
            let from = o.moved_from.as_ref()?;
            let recorded = live.record.as_ref().and_then(|r| r.moved.get(from));
            (recorded != Some(&o.address)).then(|| Moved {
                from: from.clone(),
                to: o.address.clone(),
                kind: o.kind,
                name: o.name.clone(),
            })
        })
        .collect();
    out.sort_by(|a, b| a.to.cmp(&b.to));
    out
}

/// A volume or network whose Docker name the source changes: Docker renames
/// neither, so it is made again; the field change and why, with the way
/// to keep the object.
pub(super) fn renamed(r: &Resource, o: &LiveObject) -> Option<(FieldChange, String)> {
    if !matches!(r.kind, Kind::Volume | Kind::Network) || o.name == r.name {
        return None;
    }
    let change = FieldChange {
        path: "name".into(),
        before: Json::from(o.name.as_str()),
        after: Json::from(r.name.as_str()),
        forces_replacement: true,
    };
    let why = format!(
        "Docker cannot rename a {}; to keep {}, keep the `moved` block that led here or pin its name: `docker_name = \"{}\"`",
        r.kind, o.name, o.name
    );
    Some((change, why))
}

/// Gives objects the address the last apply recorded for them, for the
/// commands that do not compile the stack (`logs`, `exec`).
pub fn follow_recorded(live: &mut LiveState) {
    let Some(record) = &live.record else {
        return;
    };
    for o in live.objects.iter_mut().filter(|o| o.moved_from.is_none()) {
        if let Some(now) = record.moved.get(&o.address) {
            o.moved_from = Some(std::mem::replace(&mut o.address, now.clone()));
        }
    }
}

/// A volume deleted as no longer in the source while another is created:
/// perhaps a refactoring that moved it. The reason says how to keep it.
pub(super) fn suggest_moves(changes: &mut [super::Change]) {
    use super::Action;
    let created: Vec<String> = changes
        .iter()
        .filter(|c| c.kind == Kind::Volume && c.actions == [Action::Create])
        .map(|c| c.address.clone())
        .collect();
    if created.is_empty() {
        return;
    }
    for c in changes.iter_mut().filter(|c| {
        c.kind == Kind::Volume
            && c.actions == [Action::Delete]
            && c.reason.as_deref() == Some("no longer in the source")
    }) {
        let to = match created.as_slice() {
            [one] => one.as_str(),
            _ => "NEW.ADDRESS",
        };
        c.reason = Some(format!(
            "no longer in the source; if it moved, keep it: `moved {{ from = {}, to = {to} }}`",
            c.address
        ));
    }
}
