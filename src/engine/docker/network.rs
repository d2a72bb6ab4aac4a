//! Networks: create and remove.

use std::collections::HashMap;

use bollard::query_parameters::ListNetworksOptionsBuilder;

use super::DockerEngine;
use super::convert::network_request;
use super::error::status;
use crate::deployment::{NetworkSpec, Resource};
use crate::engine::{EngineError, ErrorKind};

impl DockerEngine {
    /// Creates the network of `resource`, unless a network of its name exists.
    pub(super) async fn create_network(
        &self,
        stack: &str,
        resource: &Resource,
        n: &NetworkSpec,
    ) -> Result<String, EngineError> {
        let what = format!("network {}", resource.name);
        let taken = || {
            EngineError::new(
                ErrorKind::Conflict,
                format!("network with name {} already exists", resource.name),
            )
            .about(what.clone())
        };
        // Engines before API 1.44 make a second network of the same name
        // unless asked to check, which bollard's request cannot say: look first.
        let filters = HashMap::from([("name", vec![resource.name.clone()])]);
        let existing = self
            .docker
            .list_networks(Some(
                ListNetworksOptionsBuilder::default()
                    .filters(&filters)
                    .build(),
            ))
            .await
            .map_err(|e| self.error(e, what.clone()))?;
        if existing
            .iter()
            .any(|x| x.name.as_deref() == Some(resource.name.as_str()))
        {
            return Err(taken());
        }
        let created = self
            .docker
            .create_network(network_request(stack, resource, n))
            .await
            .map_err(|e| self.error(e, what.clone()))?;
        if created.warning.contains("already exists") {
            // Another network of that name appeared meanwhile: undo ours.
            let _ = self.docker.remove_network(&created.id).await;
            return Err(taken());
        }
        Ok(created.id)
    }

    pub(super) async fn remove_network(&self, id: &str, what: String) -> Result<(), EngineError> {
        match self.docker.remove_network(id).await {
            Ok(()) => Ok(()),
            // "has active endpoints"
            Err(e) if status(&e) == Some(403) => {
                let mut error = self.error(e, what);
                error.kind = ErrorKind::Conflict;
                Err(error)
            }
            Err(e) => Err(self.error(e, what)),
        }
    }
}
