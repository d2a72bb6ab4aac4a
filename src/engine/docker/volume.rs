//! Volumes: create and remove.

use bollard::query_parameters::RemoveVolumeOptions;

use super::DockerEngine;
use super::convert::volume_request;
use crate::deployment::{Resource, VolumeSpec};
use crate::engine::{EngineError, ErrorKind};

impl DockerEngine {
    /// Creates the volume of `resource`; a volume of its name made otherwise is a conflict.
    pub(super) async fn create_volume(
        &self,
        stack: &str,
        resource: &Resource,
        v: &VolumeSpec,
    ) -> Result<String, EngineError> {
        let what = format!("volume {}", resource.name);
        let request = volume_request(stack, resource, v);
        let ours = request.labels.clone().unwrap_or_default();
        let volume = self
            .docker
            .create_volume(request)
            .await
            .map_err(|e| self.error(e, what.clone()))?;
        // Docker answers a create of an existing name with that volume.
        if volume.labels != ours {
            return Err(EngineError::new(
                ErrorKind::Conflict,
                format!(
                    "volume name \"{}\" is already in use by a volume stackc did not make for this resource",
                    resource.name
                ),
            )
            .about(what));
        }
        Ok(volume.name)
    }

    pub(super) async fn remove_volume(&self, name: &str, what: String) -> Result<(), EngineError> {
        self.docker
            .remove_volume(name, None::<RemoveVolumeOptions>)
            .await
            .map_err(|e| self.error(e, what))
    }
}
