//! Networks in the fake as Docker keeps them: a container's attachment
//! holds the id of the network joined, and a network removed and made
//! again under its name is another one.

use std::collections::BTreeMap;

use super::Inner;
use crate::deployment::Kind;
use crate::engine::{EngineError, ErrorKind};

impl Inner {
    /// The ids of the networks of these names (those that exist).
    pub(super) fn network_ids<'a>(
        &self,
        names: impl Iterator<Item = &'a String>,
    ) -> BTreeMap<String, String> {
        names
            .filter_map(|name| {
                self.objects
                    .iter()
                    .find(|o| o.kind == Kind::Network && o.name == *name)
                    .map(|o| (name.clone(), o.id.clone()))
            })
            .collect()
    }

    /// The container `id` joins its networks as it starts: those it joined
    /// before by their id (Docker fails on one removed since), the others by
    /// name, as the network of that name now.
    pub(super) fn joins_networks(&mut self, id: &str, name: &str) -> Result<(), EngineError> {
        let Some(o) = self.objects.iter().find(|o| o.id == id) else {
            return Ok(());
        };
        let by_name: Vec<&String> = o
            .actual
            .networks
            .keys()
            .filter(|n| !o.actual.network_ids.contains_key(*n))
            .collect();
        let joined = self.network_ids(by_name.into_iter());
        let Some(o) = self.find(id) else {
            return Ok(());
        };
        o.actual.network_ids.extend(joined);
        let ids: Vec<String> = o.actual.network_ids.values().cloned().collect();
        let exists = |network: &String| {
            self.objects
                .iter()
                .any(|o| o.kind == Kind::Network && o.id == *network)
        };
        match ids.iter().find(|network| !exists(network)) {
            Some(gone) => Err(EngineError::new(
                ErrorKind::NotFound,
                format!("network {gone} not found"),
            )
            .about(format!("container {name}"))),
            None => Ok(()),
        }
    }
}
