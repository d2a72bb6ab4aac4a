//! What tests do to the fake behind stackc's back, as `docker` commands by
//! hand would: rename, delete, stop, change live values, move tags, make a
//! network again.

use std::collections::BTreeMap;

use super::{MemoryEngine, Object};
use crate::deployment::Kind;
use crate::engine::{Actual, State};

impl MemoryEngine {
    /// `docker rename` by hand.
    pub fn rename_by_hand(&self, name: &str, to: &str) {
        self.with(|i| {
            if let Some(o) = i.objects.iter_mut().find(|o| o.name == name) {
                o.name = to.to_string();
            }
        });
    }

    /// An object made by hand, without stackc's labels.
    pub fn add_unlabelled(&self, kind: Kind, name: &str) {
        self.with(|i| {
            i.next_id += 1;
            let id = format!("{:012x}", i.next_id);
            i.objects
                .push(Object::plain(kind, id, name.to_string(), BTreeMap::new()));
        });
    }

    /// pull elsewhere moved it).
    pub fn move_tag(&self, reference: &str) {
        self.add_image(reference);
    }

    /// The registry now has another image under the tag (someone pushed).
    pub fn publish(&self, reference: &str) {
        self.with(|i| {
            let id = i.new_image_id();
            i.pullable.insert(reference.to_string(), id)
        });
    }

    /// Removes an object behind stackc's back (`docker rm -f`).
    pub fn delete_by_hand(&self, kind: Kind, name: &str) -> bool {
        self.with(|i| {
            let before = i.objects.len();
            i.objects.retain(|o| !(o.kind == kind && o.name == name));
            before != i.objects.len()
        })
    }

    /// Stops a container behind stackc's back (`docker stop`).
    pub fn stop_by_hand(&self, name: &str) {
        self.with(|i| {
            if let Some(o) = i
                .objects
                .iter_mut()
                .find(|o| o.kind == Kind::Container && o.name == name)
            {
                o.state = State::Exited { code: 0 };
            }
        });
    }

    /// Changes a container's live values behind stackc's back (`docker update`).
    pub fn tamper(&self, name: &str, f: impl FnOnce(&mut Actual)) {
        self.with(|i| {
            if let Some(o) = i
                .objects
                .iter_mut()
                .find(|o| o.kind == Kind::Container && o.name == name)
            {
                f(&mut o.actual);
            }
        });
    }

    /// Writes a file inside a container behind stackc's back (`docker exec
    /// C sh -c 'echo … > FILE'`): its content changes, and so does its
    /// modification time.
    pub fn write_file_by_hand(&self, name: &str, target: &str, content: &[u8]) {
        self.tamper(name, |a| {
            a.files.insert(target.to_string(), content.to_vec());
            a.files_written.insert(target.to_string());
        });
    }

    /// `docker network rm` and `docker network create` of the same name by
    /// hand, with the network's labels or without: stopped containers keep
    /// their attachment to the removed one, as Docker's do.
    pub fn remake_network_by_hand(&self, name: &str, labelled: bool) {
        self.with(|i| {
            let Some(at) = i
                .objects
                .iter()
                .position(|o| o.kind == Kind::Network && o.name == name)
            else {
                return;
            };
            let old = i.objects.remove(at);
            i.next_id += 1;
            let id = format!("{:012x}", i.next_id);
            let labels = if labelled {
                old.labels
            } else {
                BTreeMap::new()
            };
            i.objects
                .push(Object::plain(Kind::Network, id, name.to_string(), labels));
        });
    }
}
