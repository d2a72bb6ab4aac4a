//! The Docker engine, through bollard.
//!
//! The engine is found the way the docker CLI finds it ([`resolve_host`]);
//! the stack's objects are found by their labels alone (one label-filtered
//! list per kind). Besides them, each stack has two *internal* containers,
//! created from a tiny internal image and never started: `<stack>.stackc.lock`
//! (creating it is the atomic test-and-set of the lock) and
//! `<stack>.stackc.record`. They carry `io.stackc.internal` and never appear
//! among the stack's objects. `docs/engine.md` describes all of it.
//!
//! [`DockerEngine`] implements [`Engine`] here by delegating, one file per
//! concern: `connection.rs` (finding and reaching the engine, timeouts),
//! `observe.rs` (live state), `image.rs`, `container.rs`, `network.rs` and
//! `volume.rs` (one kind of object each), `files.rs` (files copied into
//! containers, and secret ones read back), `streams.rs` (logs and exec),
//! `foreign.rs` (objects outside the
//! stack in its way), `internal.rs` (lock and record),
//! `convert.rs` (specs to Docker's shapes and back, pure; `options.rs` for
//! Compose's container settings) and `error.rs`.

mod connection;
mod container;
mod convert;
mod error;
mod files;
mod foreign;
mod image;
mod internal;
mod network;
mod observe;
mod options;
mod service;
mod service_convert;
mod streams;
mod volume;

use async_trait::async_trait;
use bollard::Docker;
use tokio::sync::OnceCell;

pub use connection::{DEFAULT_HOST, Endpoint, resolve_host};
pub use internal::{
    INTERNAL_IMAGE, LABEL_LOCK_OPERATION, LABEL_LOCK_PID, LABEL_LOCK_SINCE, LABEL_LOCK_WHO,
    LABEL_RECORD, lock_name, record_name,
};

use super::credentials::CredentialSource;
use super::{
    Claims, Engine, EngineError, ErrorKind, Foreign, Holder, LiveObject, LiveState, Lock, Record,
    Report, State,
};
use crate::deployment::Kind;
use crate::deployment::{Millis, NetworkAttachment, Resource, RunSpec, Spec};

/// Marks stackc's own bookkeeping objects: `lock` and `record` on a stack's
/// two internal containers, `true` on the internal image. Objects carrying it
/// never appear in [`LiveState::objects`].
pub const LABEL_INTERNAL: &str = "io.stackc.internal";
/// On images the stack built: the id of the engine that built them. An
/// image pulled from a registry keeps the labels of the engine that pushed
/// it; only this engine's builds are the stack's objects.
pub const LABEL_ENGINE: &str = "io.stackc.engine";

/// A Docker engine, found the way the docker CLI finds it.
pub struct DockerEngine {
    docker: Docker,
    host: String,
    /// The API version negotiated at connection.
    api: (usize, usize),
    /// Set once the internal image is known to exist.
    internal_image: OnceCell<()>,
    /// Where registry credentials are found (the docker CLI's configuration).
    credentials: CredentialSource,
    /// The engine's own id (`docker info`), put on the images it builds.
    id: String,
}

impl DockerEngine {
    /// Connects to `host` (`--host`), else to what [`resolve_host`] finds,
    /// negotiates the API version once and pings the engine.
    pub async fn connect(host: Option<&str>) -> Result<DockerEngine, EngineError> {
        let endpoint = resolve_host(host, &|name| std::env::var(name).ok())?;
        DockerEngine::connect_to(&endpoint).await
    }

    /// Connects to an endpoint found by [`resolve_host`].
    pub async fn connect_to(endpoint: &Endpoint) -> Result<DockerEngine, EngineError> {
        let connection = connection::connect(endpoint).await?;
        Ok(DockerEngine {
            docker: connection.docker,
            host: endpoint.host.clone(),
            api: connection.api,
            internal_image: OnceCell::new(),
            credentials: CredentialSource::from_env(&|name| std::env::var(name).ok()),
            id: connection.id,
        })
    }

    /// The address of the engine (`unix:///var/run/docker.sock`).
    pub fn host(&self) -> &str {
        &self.host
    }

    /// The API version negotiated with the engine (`(1, 41)`).
    pub fn api_version(&self) -> (usize, usize) {
        self.api
    }
}

#[async_trait]
impl Engine for DockerEngine {
    fn describe(&self) -> String {
        format!("{} (API {}.{})", self.host, self.api.0, self.api.1)
    }

    async fn observe(&self, stack: &str, image_refs: &[String]) -> Result<LiveState, EngineError> {
        self.observe_stack(stack, image_refs).await
    }

    async fn create(
        &self,
        stack: &str,
        resource: &Resource,
        report: &Report<'_>,
    ) -> Result<String, EngineError> {
        match &resource.spec {
            Spec::Image(image) => {
                if let Some(build) = &image.build {
                    self.build(stack, resource, image, build, false, report)
                        .await
                } else if let Some(reference) = &image.reference {
                    // A `ref` is pulled, and carries no labels of ours.
                    self.ensure_image(reference, report).await?;
                    Ok(reference.clone())
                } else {
                    Err(
                        EngineError::new(ErrorKind::Other, "an image needs `ref` or `build`")
                            .about(format!("image {}", resource.name)),
                    )
                }
            }
            Spec::Network(n) => self.create_network(stack, resource, n).await,
            Spec::Volume(v) => self.create_volume(stack, resource, v).await,
            Spec::Container(c) => self.create_container(stack, resource, c, report).await,
            Spec::Service(s) => self.create_service(stack, resource, s).await,
        }
    }

    async fn start(&self, id: &str) -> Result<(), EngineError> {
        self.start_container(id).await
    }

    async fn update(&self, id: &str, run: &RunSpec, restart: &str) -> Result<(), EngineError> {
        self.update_container(id, run, restart).await
    }

    async fn pull(&self, reference: &str, report: &Report<'_>) -> Result<(), EngineError> {
        self.pull_image(reference, report).await
    }

    async fn foreign(&self, stack: &str, claims: &Claims) -> Result<Vec<Foreign>, EngineError> {
        self.foreign_objects(stack, claims).await
    }

    async fn connect(&self, id: &str, attachment: &NetworkAttachment) -> Result<(), EngineError> {
        self.connect_container(id, attachment).await
    }

    async fn disconnect(&self, id: &str, network: &str) -> Result<(), EngineError> {
        self.disconnect_container(id, network).await
    }

    async fn stop(&self, id: &str, timeout: Millis) -> Result<(), EngineError> {
        self.stop_container(id, timeout).await
    }

    async fn remove(&self, object: &LiveObject) -> Result<(), EngineError> {
        let what = format!("{} {}", object.kind, object.name);
        match object.kind {
            Kind::Container => self.remove_container(&object.id, what).await,
            Kind::Network => self.remove_network(&object.id, what).await,
            Kind::Volume => self.remove_volume(&object.name, what).await,
            Kind::Image => self.remove_image(object, what).await,
            Kind::Service => self.remove_service(&object.id, what).await,
        }
    }

    async fn state(&self, id: &str) -> Result<State, EngineError> {
        self.container_state(id).await
    }

    async fn lock(&self, stack: &str, holder: &Holder) -> Result<Lock, EngineError> {
        self.take_lock(stack, holder).await
    }

    async fn unlock(&self, stack: &str) -> Result<bool, EngineError> {
        self.release_lock(stack).await
    }

    async fn read_record(&self, stack: &str) -> Result<Option<Record>, EngineError> {
        self.record_of(stack).await
    }

    async fn write_record(&self, stack: &str, record: Option<&Record>) -> Result<(), EngineError> {
        self.replace_record(stack, record).await
    }

    async fn rebuild(
        &self,
        stack: &str,
        resource: &Resource,
        report: &Report<'_>,
    ) -> Result<String, EngineError> {
        if let Spec::Image(image) = &resource.spec
            && let Some(build) = &image.build
        {
            return self
                .build(stack, resource, image, build, true, report)
                .await;
        }
        self.create(stack, resource, report).await
    }

    // --- Swarm services (`service.rs`) ---

    async fn swarm_refusal(&self) -> Result<Option<String>, EngineError> {
        self.refusal().await
    }

    async fn update_service(
        &self,
        stack: &str,
        resource: &Resource,
        object: &LiveObject,
        force: bool,
    ) -> Result<(), EngineError> {
        self.update_live_service(stack, resource, object, force)
            .await
    }

    async fn observe_service(&self, id: &str) -> Result<Option<LiveObject>, EngineError> {
        self.observe_one_service(id).await
    }

    async fn rollout(&self, id: &str) -> Result<super::swarm::Rollout, EngineError> {
        self.service_rollout(id).await
    }

    // --- `stackc logs` and `stackc exec` (`streams.rs`) ---

    async fn logs(
        &self,
        object: &LiveObject,
        options: &super::streams::LogOptions,
    ) -> Result<super::streams::LogStream, EngineError> {
        match object.kind {
            Kind::Container | Kind::Service => self.container_logs(object, options).await,
            _ => Err(EngineError::new(ErrorKind::Other, "it has no logs")
                .about(format!("{} {}", object.kind, object.name))),
        }
    }

    async fn exec(
        &self,
        container: &str,
        request: &super::streams::ExecRequest,
    ) -> Result<super::streams::Exec, EngineError> {
        self.exec_in(container, request).await
    }

    async fn resize_exec(&self, exec: &str, size: (u16, u16)) -> Result<(), EngineError> {
        self.resize_exec_tty(exec, size).await
    }

    async fn exec_status(&self, exec: &str) -> Result<i64, EngineError> {
        self.exec_exit(exec).await
    }
}
