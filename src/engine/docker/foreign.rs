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
        let mut found = Vec::new();
        let ours = |labels: &HashMap<String, String>| container_stack(labels) == Some(stack);
        for (address, kind, name) in &claims.names {
            // The engine's name filters match substrings: keep exact names.
            let filters = HashMap::from([("name", vec![name.clone()])]);
            let holders: Vec<HashMap<String, String>> = match kind {
                Kind::Container => self
                    .docker
                    .list_containers(Some(
                        ListContainersOptionsBuilder::default()
                            .all(true)
                            .filters(&filters)
                            .build(),
                    ))
                    .await
                    .map_err(|e| self.error(e, format!("container {name}")))?
                    .into_iter()
                    .filter(|c| {
                        c.names
                            .iter()
                            .flatten()
                            .any(|n| n.trim_start_matches('/') == name)
                    })
                    .map(|c| c.labels.unwrap_or_default())
                    .collect(),
                Kind::Network => self
                    .docker
                    .list_networks(Some(
                        ListNetworksOptionsBuilder::default()
                            .filters(&filters)
                            .build(),
                    ))
                    .await
                    .map_err(|e| self.error(e, format!("network {name}")))?
                    .into_iter()
                    .filter(|n| n.name.as_deref() == Some(name))
                    .map(|n| n.labels.unwrap_or_default())
                    .collect(),
                Kind::Volume => self
                    .docker
                    .list_volumes(Some(
                        ListVolumesOptionsBuilder::default()
                            .filters(&filters)
                            .build(),
                    ))
                    .await
                    .map_err(|e| self.error(e, format!("volume {name}")))?
                    .volumes
                    .unwrap_or_default()
                    .into_iter()
                    .filter(|v| v.name == *name)
                    .map(|v| v.labels)
                    .collect(),
                Kind::Image | Kind::Service => Vec::new(),
            };
            for labels in holders.iter().filter(|l| !ours(l)) {
                found.push(Foreign {
                    address: address.clone(),
                    claim: format!("the {kind} name {name}"),
                    holder: holder_of(*kind, name, container_stack(labels)),
                });
            }
        }
        if claims.ports.is_empty() {
            return Ok(found);
        }
        let running = self
            .docker
            .list_containers(Some(ListContainersOptionsBuilder::default().build()))
            .await
            .map_err(|e| self.error(e, "containers".to_string()))?;
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
                for (address, wanted) in &claims.ports {
                    let holder = holder_of(Kind::Container, &name, container_stack(&labels));
                    if wanted.overlaps(&published)
                        && !found
                            .iter()
                            .any(|f: &Foreign| f.address == *address && f.holder == holder)
                    {
                        found.push(Foreign {
                            address: address.clone(),
                            claim: format!("host port {wanted}"),
                            holder,
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
