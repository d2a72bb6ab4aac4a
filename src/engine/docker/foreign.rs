//! Objects outside the stack that hold what a plan claims: a Docker name
//! taken by another stack's object (or one made by hand), a host port
//! published by another container. Found before anything changes, so that
//! apply refuses instead of failing halfway (or, for a volume, silently
//! sharing another stack's data).

use std::collections::HashMap;

use bollard::query_parameters::{
    ListContainersOptionsBuilder, ListNetworksOptionsBuilder, ListVolumesOptionsBuilder,
};

use super::{DockerEngine, LABEL_INTERNAL};
use crate::deployment::Kind;
use crate::engine::{
    Claims, EngineError, Foreign, HostPort, LABEL_ADDRESS, LABEL_STACK, holder_of,
};

impl DockerEngine {
    pub(super) async fn foreign_objects(
        &self,
        stack: &str,
        claims: &Claims,
    ) -> Result<Vec<Foreign>, EngineError> {
        let wants = |kind: Kind| claims.names.iter().any(|(_, k, _)| *k == kind);
        // One list per kind the plan claims something of, at once.
        let containers = async {
            if !wants(Kind::Container) && claims.ports.is_empty() {
                return Ok(Vec::new());
            }
            let all = ListContainersOptionsBuilder::default().all(true).build();
            self.docker
                .list_containers(Some(all))
                .await
                .map_err(|e| self.error(e, "containers".to_string()))
        };
        let networks = async {
            if !wants(Kind::Network) {
                return Ok(Vec::new());
            }
            let all = ListNetworksOptionsBuilder::default().build();
            self.docker
                .list_networks(Some(all))
                .await
                .map_err(|e| self.error(e, "networks".to_string()))
        };
        let volumes = async {
            if !wants(Kind::Volume) {
                return Ok(Vec::new());
            }
            let all = ListVolumesOptionsBuilder::default().build();
            self.docker
                .list_volumes(Some(all))
                .await
                .map(|v| v.volumes.unwrap_or_default())
                .map_err(|e| self.error(e, "volumes".to_string()))
        };
        let services = async {
            if !wants(Kind::Service) {
                return Ok(Vec::new());
            }
            match self
                .docker
                .list_services(None::<bollard::query_parameters::ListServicesOptions>)
                .await
            {
                Ok(s) => Ok(s),
                // Not a swarm manager: no services (the plan has said so already).
                Err(e) if super::error::status(&e) == Some(503) => Ok(Vec::new()),
                Err(e) => Err(self.error(e, "services".to_string())),
            }
        };
        let (containers, networks, volumes, services) =
            tokio::try_join!(containers, networks, volumes, services)?;

        // Every object outside the stack, by kind and name, with its labels.
        let ours = |labels: &HashMap<String, String>| container_stack(labels) == Some(stack);
        let mut others: Vec<(Kind, String, HashMap<String, String>)> = Vec::new();
        for c in &containers {
            let labels = c.labels.clone().unwrap_or_default();
            for name in c.names.iter().flatten() {
                others.push((
                    Kind::Container,
                    name.trim_start_matches('/').to_string(),
                    labels.clone(),
                ));
            }
        }
        for n in networks {
            others.push((
                Kind::Network,
                n.name.unwrap_or_default(),
                n.labels.unwrap_or_default(),
            ));
        }
        for v in volumes {
            others.push((Kind::Volume, v.name, v.labels));
        }
        for s in services {
            let spec = s.spec.unwrap_or_default();
            others.push((
                Kind::Service,
                spec.name.unwrap_or_default(),
                spec.labels.unwrap_or_default(),
            ));
        }
        others.retain(|(_, _, labels)| !ours(labels));

        let mut found = Vec::new();
        for (address, kind, name) in &claims.names {
            for (_, _, labels) in others.iter().filter(|(k, n, _)| k == kind && n == name) {
                found.push(Foreign {
                    address: address.clone(),
                    claim: format!("the {kind} name {name}"),
                    holder: holder_of(*kind, name, container_stack(labels)),
                });
            }
        }
        let running = containers
            .iter()
            .filter(|c| c.state == Some(bollard::models::ContainerSummaryStateEnum::RUNNING));
        for c in running {
            let labels = c.labels.clone().unwrap_or_default();
            if ours(&labels) || labels.contains_key(LABEL_INTERNAL) {
                continue;
            }
            let name = c
                .names
                .iter()
                .flatten()
                .next()
                .map_or_else(String::new, |n| n.trim_start_matches('/').to_string());
            for p in c.ports.iter().flatten() {
                let Some(public) = p.public_port else {
                    continue;
                };
                let published = HostPort {
                    ip: p.ip.clone(),
                    port: public,
                    protocol: p.typ.map_or_else(|| "tcp".into(), |t| t.to_string()),
                };
                let holder = holder_of(Kind::Container, &name, container_stack(&labels));
                for (address, wanted) in &claims.ports {
                    let seen = found
                        .iter()
                        .any(|f: &Foreign| f.address == *address && f.holder == holder);
                    if wanted.overlaps(&published) && !seen {
                        found.push(Foreign {
                            address: address.clone(),
                            claim: format!("host port {wanted}"),
                            holder: holder.clone(),
                        });
                    }
                }
            }
        }
        Ok(found)
    }
}

/// The stack an object belongs to. A container made by hand from a stack's
/// image inherits the image's labels: its address is the image's, and it is
/// no stack's.
fn container_stack(labels: &HashMap<String, String>) -> Option<&str> {
    let address = labels.get(LABEL_ADDRESS)?;
    let kind = address.rsplit('.').nth(1);
    if kind == Some("image") {
        return None;
    }
    labels.get(LABEL_STACK).map(String::as_str)
}
