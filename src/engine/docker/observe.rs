//! Live state: the stack's objects, found by their labels alone (one
//! label-filtered list per kind, inspecting only containers), the presence
//! of images, and the record.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use bollard::query_parameters::{
    ListContainersOptionsBuilder, ListImagesOptionsBuilder, ListNetworksOptionsBuilder,
    ListVolumesOptionsBuilder,
};
use futures_util::{StreamExt, stream};

use super::convert::{image_name, live_container, parse_spec, plain, short};
use super::error::not_found;
use super::internal::parse_record;
use super::{DockerEngine, LABEL_ENGINE, LABEL_INTERNAL, LABEL_RECORD};
use crate::deployment::Kind;
use crate::engine::{
    Actual, EngineError, LABEL_ADDRESS, LABEL_HASH, LABEL_STACK, LiveObject, LiveState, State,
};

/// Container and image inspects run at most this many at once.
const INSPECT_CONCURRENCY: usize = 8;

impl DockerEngine {
    pub(super) async fn observe_stack(
        &self,
        stack: &str,
        image_refs: &[String],
    ) -> Result<LiveState, EngineError> {
        let filters = HashMap::from([("label", vec![format!("{LABEL_STACK}={stack}")])]);
        let of_stack = |kind: &str| format!("{kind} of stack {stack}");
        let (containers, networks, volumes, images, present, services) = tokio::join!(
            self.docker.list_containers(Some(
                ListContainersOptionsBuilder::default()
                    .all(true)
                    .filters(&filters)
                    .build()
            )),
            self.docker.list_networks(Some(
                ListNetworksOptionsBuilder::default()
                    .filters(&filters)
                    .build()
            )),
            self.docker.list_volumes(Some(
                ListVolumesOptionsBuilder::default()
                    .filters(&filters)
                    .build()
            )),
            self.docker.list_images(Some(
                ListImagesOptionsBuilder::default()
                    .filters(&filters)
                    .build()
            )),
            self.images_present(image_refs),
            self.stack_services(stack),
        );
        let containers = containers.map_err(|e| self.error(e, of_stack("containers")))?;
        let networks = networks.map_err(|e| self.error(e, of_stack("networks")))?;
        let volumes = volumes.map_err(|e| self.error(e, of_stack("volumes")))?;
        let images = images.map_err(|e| self.error(e, of_stack("images")))?;
        let images_present = present?;
        let services = services?;

        let mut objects = Vec::new();
        // (address, hash) of the stack's images: a container made from one
        // by hand inherits its labels, and is not the stack's.
        let mut image_labels = BTreeSet::new();
        for image in images {
            // Internal images, and images built by another engine (pulled with their labels).
            if image.labels.contains_key(LABEL_INTERNAL)
                || image.labels.get(LABEL_ENGINE) != Some(&self.id)
            {
                continue;
            }
            let Some(address) = image.labels.get(LABEL_ADDRESS) else {
                continue;
            };
            // An untagged build lost its tag to a newer one: it is no longer
            // the stack's (an apply removes it, unless a container still
            // runs it; `docker image prune` takes it after).
            let tagged = image.repo_tags.iter().any(|t| t != "<none>:<none>");
            if !tagged {
                continue;
            }
            let hash = image.labels.get(LABEL_HASH).cloned().unwrap_or_default();
            image_labels.insert((address.clone(), hash.clone()));
            let spec = parse_spec(&image.labels);
            let name = image_name(&image.repo_tags, spec.as_ref()).unwrap_or(image.id.clone());
            objects.push(LiveObject {
                kind: Kind::Image,
                id: image.id,
                name,
                address: address.clone(),
                hash,
                spec,
                state: State::Present,
                actual: Actual::default(),
                moved_from: None,
            });
        }
        for n in networks {
            let labels = n.labels.unwrap_or_default();
            if let Some(o) = plain(
                Kind::Network,
                n.id.unwrap_or_default(),
                n.name.unwrap_or_default(),
                &labels,
            ) {
                objects.push(o);
            }
        }
        for v in volumes.volumes.unwrap_or_default() {
            if let Some(o) = plain(Kind::Volume, v.name.clone(), v.name, &v.labels) {
                objects.push(o);
            }
        }
        let mut record = None;
        let mut inspect = Vec::new();
        for c in containers {
            let labels = c.labels.unwrap_or_default();
            match labels.get(LABEL_INTERNAL).map(String::as_str) {
                Some("record") => {
                    record = Some(parse_record(stack, labels.get(LABEL_RECORD))?);
                    continue;
                }
                Some(_) => continue,
                None => {}
            }
            let Some(address) = labels.get(LABEL_ADDRESS) else {
                continue;
            };
            let hash = labels.get(LABEL_HASH).cloned().unwrap_or_default();
            if image_labels.contains(&(address.clone(), hash)) {
                continue;
            }
            if let Some(id) = c.id {
                inspect.push(id);
            }
        }
        let inspected: Vec<Result<Option<LiveObject>, EngineError>> = stream::iter(inspect)
            .map(|id| async move { self.live_container(&id).await })
            .buffer_unordered(INSPECT_CONCURRENCY)
            .collect()
            .await;
        for o in inspected {
            if let Some(o) = o? {
                objects.push(o);
            }
        }
        objects.extend(services);
        objects.sort_by(|a, b| (a.kind, &a.address, &a.name).cmp(&(b.kind, &b.address, &b.name)));
        Ok(LiveState {
            objects,
            images: images_present,
            record,
        })
    }

    async fn live_container(&self, id: &str) -> Result<Option<LiveObject>, EngineError> {
        match self.docker.inspect_container(id, None).await {
            Ok(c) => {
                let Some(mut o) = live_container(c) else {
                    return Ok(None);
                };
                // Secret files are read back: their label holds no digest.
                let secret = o
                    .spec
                    .as_ref()
                    .map(crate::deployment::files::secret_targets)
                    .unwrap_or_default();
                if !secret.is_empty() {
                    (o.actual.files, o.actual.files_written) = self.read_files(id, &secret).await?;
                }
                Ok(Some(o))
            }
            // Removed between the list and the inspect.
            Err(e) if not_found(&e) => Ok(None),
            Err(e) => Err(self.error(e, format!("container {}", short(id)))),
        }
    }

    /// The id each image reference names locally, if it is present.
    async fn images_present(
        &self,
        refs: &[String],
    ) -> Result<BTreeMap<String, Option<String>>, EngineError> {
        let results: Vec<Result<(String, Option<String>), EngineError>> =
            stream::iter(refs.to_vec())
                .map(|reference| async move {
                    match self.docker.inspect_image(&reference).await {
                        Ok(image) => Ok((reference, Some(image.id.unwrap_or_default()))),
                        Err(e) if not_found(&e) => Ok((reference, None)),
                        Err(e) => Err(self.error(e, format!("image {reference}"))),
                    }
                })
                .buffer_unordered(INSPECT_CONCURRENCY)
                .collect()
                .await;
        results.into_iter().collect()
    }
}
