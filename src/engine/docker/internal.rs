//! The lock and the record: two internal containers per stack, made from
//! a tiny internal image and never started. Creating the lock container is
//! the atomic test-and-set of the lock; the record container holds the
//! record in a label.

use std::collections::HashMap;

use bollard::models::{ContainerCreateBody, HostConfig};
use bollard::query_parameters::{
    CreateContainerOptionsBuilder, CreateImageOptionsBuilder, ListContainersOptionsBuilder,
};
use futures_util::StreamExt;

use super::container::force_remove;
use super::error::not_found;
use super::{DockerEngine, LABEL_INTERNAL};
use crate::engine::{EngineError, ErrorKind, Holder, LABEL_STACK, Lock, Record};

/// On the record container: the [`Record`] as JSON.
pub const LABEL_RECORD: &str = "io.stackc.record";
/// On the lock container: who holds the lock (`user@host`).
pub const LABEL_LOCK_WHO: &str = "io.stackc.lock.who";
/// On the lock container: the holder's process id.
pub const LABEL_LOCK_PID: &str = "io.stackc.lock.pid";
/// On the lock container: the command that took the lock (`apply`).
pub const LABEL_LOCK_OPERATION: &str = "io.stackc.lock.operation";
/// On the lock container: when the lock was taken, in seconds since the Unix epoch.
pub const LABEL_LOCK_SINCE: &str = "io.stackc.lock.since";
/// The image the internal containers are made from: an empty file system,
/// imported once per engine.
pub const INTERNAL_IMAGE: &str = "stackc-internal:empty";
const INTERNAL_REPO: &str = "stackc-internal";
const INTERNAL_TAG: &str = "empty";

/// The lock container of a stack (the `.` keeps it apart from resource names).
pub fn lock_name(stack: &str) -> String {
    format!("{stack}.stackc.lock")
}

/// The record container of a stack.
pub fn record_name(stack: &str) -> String {
    format!("{stack}.stackc.record")
}

impl DockerEngine {
    /// Takes the stack's lock unless someone holds it.
    pub(super) async fn take_lock(
        &self,
        stack: &str,
        holder: &Holder,
    ) -> Result<Lock, EngineError> {
        let name = lock_name(stack);
        let labels = internal_labels(
            stack,
            "lock",
            [
                (LABEL_LOCK_WHO, holder.who.clone()),
                (LABEL_LOCK_PID, holder.pid.to_string()),
                (LABEL_LOCK_OPERATION, holder.operation.clone()),
                (LABEL_LOCK_SINCE, holder.since.to_string()),
            ],
        );
        // Creating the container is the test-and-set; a holder that lets go
        // between our create and our inspect means we try again.
        for _ in 0..5 {
            match self.create_internal(&name, labels.clone()).await {
                Ok(_) => return Ok(Lock::Acquired),
                Err(e) if e.kind == ErrorKind::Conflict => {}
                Err(e) => return Err(e),
            }
            match self.docker.inspect_container(&name, None).await {
                Ok(c) => {
                    let labels = c.config.and_then(|c| c.labels).unwrap_or_default();
                    return Ok(Lock::HeldBy(holder_of(&labels)));
                }
                Err(e) if not_found(&e) => continue,
                Err(e) => return Err(self.error(e, format!("container {name}"))),
            }
        }
        Err(EngineError::new(
            ErrorKind::Conflict,
            "the lock kept changing hands; try again",
        )
        .about(format!("container {name}")))
    }

    /// Releases the stack's lock; `false` when there was none.
    pub(super) async fn release_lock(&self, stack: &str) -> Result<bool, EngineError> {
        self.remove_internal(&lock_name(stack)).await
    }

    /// Replaces the stack's record; `None` removes it.
    /// The record container's label, found by the stack's label and its role.
    pub(super) async fn record_of(&self, stack: &str) -> Result<Option<Record>, EngineError> {
        let filters = HashMap::from([(
            "label",
            vec![
                format!("{LABEL_STACK}={stack}"),
                format!("{LABEL_INTERNAL}=record"),
            ],
        )]);
        let found = self
            .docker
            .list_containers(Some(
                ListContainersOptionsBuilder::default()
                    .all(true)
                    .filters(&filters)
                    .build(),
            ))
            .await
            .map_err(|e| self.error(e, format!("container {}", record_name(stack))))?;
        match found.into_iter().next() {
            Some(c) => {
                let labels = c.labels.unwrap_or_default();
                parse_record(stack, labels.get(LABEL_RECORD)).map(Some)
            }
            None => Ok(None),
        }
    }

    pub(super) async fn replace_record(
        &self,
        stack: &str,
        record: Option<&Record>,
    ) -> Result<(), EngineError> {
        let name = record_name(stack);
        self.remove_internal(&name).await?;
        let Some(record) = record else {
            return Ok(());
        };
        let json = serde_json::to_string(record)
            .map_err(|e| EngineError::new(ErrorKind::Other, e.to_string()))?;
        let labels = internal_labels(stack, "record", [(LABEL_RECORD, json)]);
        self.create_internal(&name, labels).await.map(|_| ())
    }

    /// Makes sure the internal image exists (once per engine).
    async fn ensure_internal_image(&self) -> Result<(), EngineError> {
        self.internal_image
            .get_or_try_init(|| async {
                match self.docker.inspect_image(INTERNAL_IMAGE).await {
                    Ok(_) => Ok(()),
                    Err(e) if not_found(&e) => self.import_internal_image().await,
                    Err(e) => Err(self.error(e, format!("image {INTERNAL_IMAGE}"))),
                }
            })
            .await
            .map(|_| ())
    }

    /// Imports an empty file system as the internal image. Two imports at
    /// once are harmless: the tag ends on one of two identical images.
    async fn import_internal_image(&self) -> Result<(), EngineError> {
        let options = CreateImageOptionsBuilder::default()
            .from_src("-")
            .repo(INTERNAL_REPO)
            .tag(INTERNAL_TAG)
            .message("stackc: the image of the lock and record containers")
            .changes(vec![format!("LABEL {LABEL_INTERNAL}=true")])
            .build();
        // An empty tar archive: two zero blocks.
        let empty = vec![0u8; 1024];
        let mut progress =
            self.docker
                .create_image(Some(options), Some(bollard::body_full(empty.into())), None);
        while let Some(item) = progress.next().await {
            item.map_err(|e| self.error(e, format!("image {INTERNAL_IMAGE}")))?;
        }
        Ok(())
    }

    /// Creates an internal container (never started).
    async fn create_internal(
        &self,
        name: &str,
        labels: HashMap<String, String>,
    ) -> Result<String, EngineError> {
        self.ensure_internal_image().await?;
        let body = ContainerCreateBody {
            image: Some(INTERNAL_IMAGE.to_string()),
            // Never run: the image holds no files at all.
            cmd: Some(vec!["/stackc-never-started".to_string()]),
            labels: Some(labels),
            host_config: Some(HostConfig {
                network_mode: Some("none".to_string()),
                ..Default::default()
            }),
            ..Default::default()
        };
        let options = || CreateContainerOptionsBuilder::default().name(name).build();
        let what = format!("container {name}");
        match self
            .docker
            .create_container(Some(options()), body.clone())
            .await
        {
            Ok(created) => Ok(created.id),
            // The internal image was removed since: make it again.
            Err(e) if not_found(&e) => {
                self.import_internal_image().await?;
                self.docker
                    .create_container(Some(options()), body)
                    .await
                    .map(|created| created.id)
                    .map_err(|e| self.error(e, what))
            }
            Err(e) => Err(self.error(e, what)),
        }
    }

    /// Removes an internal container; `false` when there was none.
    async fn remove_internal(&self, name: &str) -> Result<bool, EngineError> {
        match self
            .docker
            .remove_container(name, Some(force_remove()))
            .await
        {
            Ok(()) => Ok(true),
            Err(e) if not_found(&e) => Ok(false),
            Err(e) => Err(self.error(e, format!("container {name}"))),
        }
    }
}

/// The labels of a stack's internal container: `role` (`lock`, `record`)
/// under [`LABEL_INTERNAL`], and what it holds.
fn internal_labels<const N: usize>(
    stack: &str,
    role: &str,
    held: [(&str, String); N],
) -> HashMap<String, String> {
    [
        (LABEL_STACK, stack.to_string()),
        (LABEL_INTERNAL, role.to_string()),
    ]
    .into_iter()
    .chain(held)
    .map(|(k, v)| (k.to_string(), v))
    .collect()
}

/// The record as the record container's label holds it.
pub(super) fn parse_record(stack: &str, text: Option<&String>) -> Result<Record, EngineError> {
    serde_json::from_str(text.map_or("", String::as_str)).map_err(|e| {
        EngineError::new(
            ErrorKind::Other,
            format!(
                "the record of the stack is unreadable ({e}); `docker rm {}` forgets it",
                record_name(stack)
            ),
        )
        .about(format!("container {}", record_name(stack)))
    })
}

/// The holder of a lock, from the lock container's labels.
fn holder_of(labels: &HashMap<String, String>) -> Holder {
    let get = |k: &str| labels.get(k).cloned().unwrap_or_else(|| "unknown".into());
    Holder {
        who: get(LABEL_LOCK_WHO),
        pid: labels
            .get(LABEL_LOCK_PID)
            .and_then(|p| p.parse().ok())
            .unwrap_or(0),
        operation: get(LABEL_LOCK_OPERATION),
        since: labels
            .get(LABEL_LOCK_SINCE)
            .and_then(|s| s.parse().ok())
            .unwrap_or(0),
    }
}
