//! Containers: create (with their image and networks), start, update, stop,
//! inspect and remove.

use bollard::models::{
    ContainerInspectResponse, ContainerStateStatusEnum, NetworkConnectRequest,
    NetworkDisconnectRequest,
};
use bollard::query_parameters::{
    CreateContainerOptionsBuilder, RemoveContainerOptions, RemoveContainerOptionsBuilder,
    StopContainerOptionsBuilder,
};

use super::DockerEngine;
use super::convert::{
    container_body, display_name, endpoint, seconds_up, short, state_of, update_body,
};
use super::error::not_found;
use crate::deployment::{ContainerSpec, Millis, NetworkAttachment, PullPolicy, Resource, RunSpec};
use crate::engine::{EngineError, ErrorKind, Report, State};

impl DockerEngine {
    /// Creates the container of `resource` (pulling its image if absent)
    /// attached to its networks, without starting it.
    pub(super) async fn create_container(
        &self,
        stack: &str,
        resource: &Resource,
        c: &ContainerSpec,
        report: &Report<'_>,
    ) -> Result<String, EngineError> {
        let what = format!("container {}", resource.name);
        if c.pull == PullPolicy::Never {
            self.present_image(&c.run.image).await?;
        } else {
            self.ensure_image(&c.run.image, report).await?;
        }
        // The engine takes (and connects a created container to) a network
        // that does not exist, and fails only at start: look first.
        for n in &c.run.networks {
            match self.docker.inspect_network(&n.network, None).await {
                Ok(_) => {}
                Err(e) if not_found(&e) => {
                    return Err(EngineError::new(
                        ErrorKind::NotFound,
                        format!("network {} not found", n.network),
                    )
                    .about(what));
                }
                Err(e) => return Err(self.error(e, format!("network {}", n.network))),
            }
        }
        // Engines before API 1.44 take one network at create.
        let all_networks = self.api >= (1, 44);
        let body = container_body(stack, resource, c, all_networks);
        let options = CreateContainerOptionsBuilder::default()
            .name(&resource.name)
            .build();
        let id = self
            .docker
            .create_container(Some(options), body)
            .await
            .map_err(|e| self.error(e, what.clone()))?
            .id;
        if !all_networks {
            for n in c.run.networks.iter().skip(1) {
                let request = NetworkConnectRequest {
                    container: id.clone(),
                    endpoint_config: Some(endpoint(n)),
                };
                if let Err(e) = self.docker.connect_network(&n.network, request).await {
                    let mut error = self.error(e, what.clone());
                    error.message = format!(
                        "cannot connect it to network {}: {}",
                        n.network, error.message
                    );
                    let _ = self
                        .docker
                        .remove_container(&id, Some(force_remove()))
                        .await;
                    return Err(error);
                }
            }
        }
        // Files go in before it ever starts (a container that never got them is not left).
        if let Err(e) = self.upload_files(&id, &c.files, &what).await {
            let _ = self
                .docker
                .remove_container(&id, Some(force_remove()))
                .await;
            return Err(e);
        }
        Ok(id)
    }

    /// Starts a container, or unpauses it; a running one is left alone.
    pub(super) async fn start_container(&self, id: &str) -> Result<(), EngineError> {
        let current = self.inspect(id).await?;
        let what = format!("container {}", display_name(&current, id));
        let status = current.state.as_ref().and_then(|s| s.status);
        match status {
            Some(ContainerStateStatusEnum::PAUSED) => self
                .docker
                .unpause_container(id)
                .await
                .map_err(|e| self.error(e, what)),
            Some(ContainerStateStatusEnum::RUNNING)
            | Some(ContainerStateStatusEnum::RESTARTING) => Ok(()),
            _ => self
                .docker
                .start_container(id, None)
                .await
                .map_err(|e| self.error(e, what)),
        }
    }

    pub(super) async fn update_container(
        &self,
        id: &str,
        run: &RunSpec,
        restart: &str,
    ) -> Result<(), EngineError> {
        let current = self.inspect(id).await?;
        let what = format!("container {}", display_name(&current, id));
        let host = current.host_config.unwrap_or_default();
        // The engine reads 0 as "unchanged": a limit cannot be lifted live.
        if run.memory.is_none() && host.memory.is_some_and(|m| m != 0) {
            return Err(cannot_lift("memory").about(what));
        }
        if run.cpus.is_none() && host.nano_cpus.is_some_and(|n| n != 0) {
            return Err(cannot_lift("cpus").about(what));
        }
        self.docker
            .update_container(id, update_body(run, restart))
            .await
            .map_err(|e| self.error(e, what))
    }

    pub(super) async fn connect_container(
        &self,
        id: &str,
        n: &NetworkAttachment,
    ) -> Result<(), EngineError> {
        let request = NetworkConnectRequest {
            container: id.to_string(),
            endpoint_config: Some(endpoint(n)),
        };
        self.docker
            .connect_network(&n.network, request)
            .await
            .map_err(|e| self.error(e, format!("network {}", n.network)))
    }

    pub(super) async fn disconnect_container(
        &self,
        id: &str,
        network: &str,
    ) -> Result<(), EngineError> {
        let request = NetworkDisconnectRequest {
            container: id.to_string(),
            force: Some(false),
        };
        self.docker
            .disconnect_network(network, request)
            .await
            .map_err(|e| self.error(e, format!("network {network}")))
    }

    pub(super) async fn stop_container(
        &self,
        id: &str,
        timeout: Millis,
    ) -> Result<(), EngineError> {
        let seconds = seconds_up(timeout);
        let options = StopContainerOptionsBuilder::default()
            .t(i32::try_from(seconds).unwrap_or(i32::MAX))
            .build();
        match self
            .for_stop(seconds.unsigned_abs())
            .stop_container(id, Some(options))
            .await
        {
            Ok(()) => Ok(()),
            Err(e) => {
                let what = self.container_name(id).await;
                Err(self.error(e, what))
            }
        }
    }

    /// Removes a container, running or not.
    pub(super) async fn remove_container(&self, id: &str, what: String) -> Result<(), EngineError> {
        self.docker
            .remove_container(id, Some(force_remove()))
            .await
            .map_err(|e| self.error(e, what))
    }

    /// The state of a container now.
    pub(super) async fn container_state(&self, id: &str) -> Result<State, EngineError> {
        let c = self.inspect(id).await?;
        Ok(state_of(c.state.as_ref()))
    }

    async fn inspect(&self, id: &str) -> Result<ContainerInspectResponse, EngineError> {
        self.docker
            .inspect_container(id, None)
            .await
            .map_err(|e| self.error(e, format!("container {}", short(id))))
    }

    /// `container <name>` for messages about a container known by id.
    async fn container_name(&self, id: &str) -> String {
        match self.docker.inspect_container(id, None).await {
            Ok(c) => format!("container {}", display_name(&c, id)),
            Err(_) => format!("container {}", short(id)),
        }
    }
}

/// Removal of a container whatever its state (a running one is killed).
/// Anonymous volumes (`{ target = "/app/node_modules" }`, an image's
/// `VOLUME`) go with their container, as `docker rm -v`; named ones stay.
pub(super) fn force_remove() -> RemoveContainerOptions {
    RemoveContainerOptionsBuilder::default()
        .force(true)
        .v(true)
        .build()
}

fn cannot_lift(what: &str) -> EngineError {
    EngineError::new(
        ErrorKind::Other,
        format!(
            "Docker cannot lift the {what} limit of an existing container (it takes 0 as \"unchanged\"); the container must be replaced"
        ),
    )
}
