//! The Docker engine, through bollard.
//!
//! The engine is found the way the docker CLI finds it ([`resolve_host`]);
//! the stack's objects are found by their labels alone (one label-filtered
//! list per kind). Besides them, each stack has two *internal* containers,
//! created from a tiny internal image and never started: `<stack>.stackc.lock`
//! (creating it is the atomic test-and-set of the lock) and
//! `<stack>.stackc.record`. They carry `io.stackc.internal` and never appear
//! among the stack's objects. `docs/engine.md` describes all of it.

use std::collections::{BTreeMap, BTreeSet, HashMap, VecDeque};
use std::path::{Path, PathBuf};
use std::time::Duration;

use async_trait::async_trait;
use bollard::auth::DockerCredentials;
use bollard::errors::Error as BollardError;
use bollard::models::{
    ContainerConfig, ContainerCreateBody, ContainerInspectResponse, ContainerState,
    ContainerStateStatusEnum, ContainerUpdateBody, EndpointSettings, HealthConfig,
    HealthStatusEnum, HostConfig, Ipam, IpamConfig, Mount, MountTmpfsOptions, MountType,
    NetworkConnectRequest, NetworkCreateRequest, NetworkingConfig, PortBinding, RestartPolicy,
    RestartPolicyNameEnum, VolumeCreateRequest,
};
use bollard::query_parameters::{
    BuildImageOptionsBuilder, CreateContainerOptionsBuilder, CreateImageOptionsBuilder,
    ListContainersOptionsBuilder, ListImagesOptionsBuilder, ListNetworksOptionsBuilder,
    ListVolumesOptionsBuilder, PushImageOptionsBuilder, RemoveContainerOptionsBuilder,
    RemoveImageOptionsBuilder, StopContainerOptionsBuilder,
};
use bollard::{BollardRequest, Docker};
use futures_util::{StreamExt, stream};
use tokio::sync::OnceCell;

use super::credentials::{CredentialSource, registry_of};
use super::*;
use crate::deployment::{
    BuildSpec, ContainerSpec, ImageSpec, NetworkSpec, Spec, VolumeSpec, pointer_segment,
};

/// The engine the docker CLI talks to when nothing else is set.
pub const DEFAULT_HOST: &str = "unix:///var/run/docker.sock";
/// Marks stackc's own bookkeeping objects: `lock` and `record` on a stack's
/// two internal containers, `true` on the internal image. Objects carrying it
/// never appear in [`LiveState::objects`].
pub const LABEL_INTERNAL: &str = "io.stackc.internal";
/// On images the stack built: the id of the engine that built them. An
/// image pulled from a registry keeps the labels of the engine that pushed
/// it; only this engine's builds are the stack's objects.
pub const LABEL_ENGINE: &str = "io.stackc.engine";
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

/// Seconds an ordinary request may take.
const REQUEST_TIMEOUT: u64 = 120;
/// Seconds a build or a pull may take.
const LONG_TIMEOUT: u64 = 3600;
/// How long connecting may take before the engine counts as unavailable.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(30);
/// Container inspects run at most this many at once.
const INSPECT_CONCURRENCY: usize = 8;
/// Lines of build output kept for the error of a failing build.
const BUILD_TAIL: usize = 30;

/// Where an engine is, and how it was found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Endpoint {
    /// `unix:///var/run/docker.sock`, `tcp://10.0.0.5:2375`.
    pub host: String,
    /// Where the address came from: `--host`, `DOCKER_HOST`, `docker context "x"`, `default`.
    pub source: String,
    /// Whether the docker CLI would talk TLS to it.
    pub tls: bool,
}

/// Finds the engine like the docker CLI does: `explicit` (`--host`), else
/// `DOCKER_HOST`, else the current docker context (`DOCKER_CONTEXT`, else
/// `currentContext` in `config.json` under `DOCKER_CONFIG` or `~/.docker`;
/// its endpoint is in `contexts/meta/<sha256 of the name>/meta.json`), else
/// the local socket. `env` reads an environment variable; empty counts as unset.
pub fn resolve_host(
    explicit: Option<&str>,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<Endpoint, EngineError> {
    let var = |name: &str| env(name).filter(|v| !v.trim().is_empty());
    let tls_env = var("DOCKER_TLS_VERIFY").is_some() || var("DOCKER_TLS").is_some();
    let given = |host: &str, source: &str| {
        let host = if host.contains("://") {
            host.to_string()
        } else {
            format!("tcp://{host}")
        };
        Endpoint {
            tls: tls_env || host.starts_with("https://"),
            host,
            source: source.into(),
        }
    };
    if let Some(host) = explicit.filter(|h| !h.trim().is_empty()) {
        return Ok(given(host.trim(), "--host"));
    }
    if let Some(host) = var("DOCKER_HOST") {
        return Ok(given(host.trim(), "DOCKER_HOST"));
    }
    let config_dir = var("DOCKER_CONFIG")
        .map(PathBuf::from)
        .or_else(|| var("HOME").map(|home| Path::new(&home).join(".docker")));
    let context = var("DOCKER_CONTEXT").or_else(|| config_dir.as_deref().and_then(current_context));
    match (context, config_dir) {
        (Some(name), Some(dir)) if name != "default" => context_endpoint(&dir, &name),
        (Some(name), None) if name != "default" => Err(EngineError::new(
            ErrorKind::Other,
            format!(
                "docker context \"{name}\" is set, but there is no docker configuration directory (set DOCKER_CONFIG or HOME)"
            ),
        )),
        _ => Ok(Endpoint {
            host: DEFAULT_HOST.into(),
            source: "default".into(),
            tls: false,
        }),
    }
}

/// `currentContext` in `config.json`; an unreadable file counts as none (the
/// docker CLI only warns about it).
fn current_context(config_dir: &Path) -> Option<String> {
    let text = std::fs::read_to_string(config_dir.join("config.json")).ok()?;
    let config: serde_json::Value = serde_json::from_str(&text).ok()?;
    config
        .get("currentContext")?
        .as_str()
        .filter(|c| !c.is_empty())
        .map(str::to_string)
}

fn context_endpoint(config_dir: &Path, name: &str) -> Result<Endpoint, EngineError> {
    let digest = crate::eval::builtins::hex(&Sha256::digest(name.as_bytes()));
    let meta = config_dir
        .join("contexts")
        .join("meta")
        .join(&digest)
        .join("meta.json");
    let fail = |why: String| {
        EngineError::new(
            ErrorKind::Other,
            format!("docker context \"{name}\": {why}"),
        )
    };
    let text = std::fs::read_to_string(&meta)
        .map_err(|e| fail(format!("cannot read `{}`: {e}", meta.display())))?;
    let doc: serde_json::Value = serde_json::from_str(&text)
        .map_err(|e| fail(format!("`{}` is not valid JSON: {e}", meta.display())))?;
    let host = doc
        .pointer("/Endpoints/docker/Host")
        .and_then(|h| h.as_str())
        .filter(|h| !h.is_empty())
        .ok_or_else(|| fail(format!("`{}` names no docker endpoint", meta.display())))?;
    let tls_dir = config_dir
        .join("contexts")
        .join("tls")
        .join(&digest)
        .join("docker");
    Ok(Endpoint {
        host: host.to_string(),
        source: format!("docker context \"{name}\""),
        tls: host.starts_with("https://") || tls_dir.is_dir(),
    })
}

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
        let host = endpoint.host.clone();
        let from = if endpoint.source.starts_with("docker context") {
            format!(" ({})", endpoint.source)
        } else {
            String::new()
        };
        let unavailable = |why: String| {
            EngineError::new(
                ErrorKind::Unavailable,
                format!(
                    "cannot connect to the Docker engine at {host}{from}: {why}; is it running? set DOCKER_HOST or --host"
                ),
            )
        };
        if endpoint.tls {
            return Err(EngineError::new(
                ErrorKind::Other,
                format!(
                    "the Docker engine at {host} (from {}) is reached over TLS, which stackc does not support yet; use a unix socket, plain tcp:// on a trusted network, or an SSH tunnel (`ssh -L`)",
                    endpoint.source
                ),
            ));
        }
        let docker = if host.starts_with("unix://") {
            Docker::connect_with_unix(&host, REQUEST_TIMEOUT, bollard::API_DEFAULT_VERSION)
        } else if host.starts_with("tcp://") || host.starts_with("http://") {
            Docker::connect_with_http(&host, REQUEST_TIMEOUT, bollard::API_DEFAULT_VERSION)
        } else {
            return Err(EngineError::new(
                ErrorKind::Other,
                format!(
                    "cannot connect to the Docker engine at {host} (from {}): stackc reaches engines at unix:// and tcp:// addresses only",
                    endpoint.source
                ),
            ));
        };
        let docker = docker
            .map_err(|e| unavailable(chain(&e)))?
            .with_request_modifier(url_safe_registry_auth);
        let docker = match tokio::time::timeout(CONNECT_TIMEOUT, docker.negotiate_version()).await {
            Ok(Ok(docker)) => docker,
            Ok(Err(e)) => return Err(unavailable(chain(&e))),
            Err(_) => {
                return Err(unavailable(format!(
                    "no answer within {}s",
                    CONNECT_TIMEOUT.as_secs()
                )));
            }
        };
        match tokio::time::timeout(CONNECT_TIMEOUT, docker.ping()).await {
            Ok(Ok(_)) => {}
            Ok(Err(e)) => return Err(unavailable(chain(&e))),
            Err(_) => {
                return Err(unavailable(format!(
                    "no answer within {}s",
                    CONNECT_TIMEOUT.as_secs()
                )));
            }
        }
        let version = docker.client_version();
        let id = match tokio::time::timeout(CONNECT_TIMEOUT, docker.info()).await {
            Ok(Ok(info)) => info.id.unwrap_or_default(),
            Ok(Err(e)) => return Err(unavailable(chain(&e))),
            Err(_) => {
                return Err(unavailable(format!(
                    "no answer within {}s",
                    CONNECT_TIMEOUT.as_secs()
                )));
            }
        };
        Ok(DockerEngine {
            docker,
            host,
            api: (version.major_version, version.minor_version),
            internal_image: OnceCell::new(),
            credentials: CredentialSource::from_env(&|name| std::env::var(name).ok()),
            id,
        })
    }

    /// Finds registry credentials in `source` instead of the docker CLI's
    /// configuration that the environment names.
    pub fn with_credentials(mut self, source: CredentialSource) -> DockerEngine {
        self.credentials = source;
        self
    }

    /// The credentials for the registry of `reference` (a credential helper
    /// may run: off the async threads). `what` names the image for errors.
    async fn credentials_for(
        &self,
        reference: &str,
        what: &str,
    ) -> Result<Option<DockerCredentials>, EngineError> {
        let source = self.credentials.clone();
        let registry = registry_of(reference);
        let wanted = registry.clone();
        let found = tokio::task::spawn_blocking(move || source.lookup(&wanted))
            .await
            .map_err(|e| EngineError::new(ErrorKind::Other, e.to_string()).about(what))?;
        found.map_err(|e| {
            EngineError::new(
                ErrorKind::Other,
                format!("cannot get the credentials for registry {registry}: {e}"),
            )
            .about(what)
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

    fn error(&self, e: BollardError, object: impl Into<String>) -> EngineError {
        engine_error(&self.host, e).about(object)
    }

    /// A client whose requests may take `seconds` (builds, pulls, long stops).
    fn patient(&self, seconds: u64) -> Docker {
        self.docker
            .clone()
            .with_timeout(Duration::from_secs(seconds.max(REQUEST_TIMEOUT)))
    }

    /// `container <name>` for messages about a container known by id.
    async fn container_name(&self, id: &str) -> String {
        match self.docker.inspect_container(id, None).await {
            Ok(c) => format!("container {}", display_name(&c, id)),
            Err(_) => format!("container {}", short(id)),
        }
    }

    async fn inspect(&self, id: &str) -> Result<ContainerInspectResponse, EngineError> {
        self.docker
            .inspect_container(id, None)
            .await
            .map_err(|e| self.error(e, format!("container {}", short(id))))
    }

    // ---- observing ----

    async fn live_container(&self, id: &str) -> Result<Option<LiveObject>, EngineError> {
        match self.docker.inspect_container(id, None).await {
            Ok(c) => Ok(live_container(c)),
            // Removed between the list and the inspect.
            Err(e) if status(&e) == Some(404) => Ok(None),
            Err(e) => Err(self.error(e, format!("container {}", short(id)))),
        }
    }

    async fn images_present(&self, refs: &[String]) -> Result<BTreeMap<String, bool>, EngineError> {
        let results: Vec<Result<(String, bool), EngineError>> = stream::iter(refs.to_vec())
            .map(|reference| async move {
                match self.docker.inspect_image(&reference).await {
                    Ok(_) => Ok((reference, true)),
                    Err(e) if status(&e) == Some(404) => Ok((reference, false)),
                    Err(e) => Err(self.error(e, format!("image {reference}"))),
                }
            })
            .buffer_unordered(INSPECT_CONCURRENCY)
            .collect()
            .await;
        results.into_iter().collect()
    }

    // ---- images ----

    /// Pulls `reference` unless it is present locally.
    async fn ensure_image(&self, reference: &str, report: &Report<'_>) -> Result<(), EngineError> {
        match self.docker.inspect_image(reference).await {
            Ok(_) => Ok(()),
            Err(e) if status(&e) == Some(404) => self.pull(reference, report).await,
            Err(e) => Err(self.error(e, format!("image {reference}"))),
        }
    }

    /// Pulls an image with the credentials of its registry, reporting each
    /// layer as it completes.
    async fn pull(&self, reference: &str, report: &Report<'_>) -> Result<(), EngineError> {
        let what = format!("image {reference}");
        let credentials = self.credentials_for(reference, &what).await?;
        let docker = self.patient(LONG_TIMEOUT);
        // Without a tag the engine would pull every tag of the repository.
        let options = CreateImageOptionsBuilder::default()
            .from_image(&with_default_tag(reference))
            .build();
        let mut progress = docker.create_image(Some(options), None, credentials);
        report(&format!("pulling {reference}"));
        while let Some(item) = progress.next().await {
            if let Ok(info) = &item
                && let Some(status) = &info.status
                && (info.id.is_none()
                    || matches!(status.as_str(), "Pull complete" | "Already exists"))
            {
                match &info.id {
                    Some(layer) => report(&format!("pulling {reference}: layer {layer}: {status}")),
                    None => report(&format!("pulling {reference}: {status}")),
                }
            }
            if let Err(e) = item {
                let mut error = engine_error(&self.host, e);
                if error.kind != ErrorKind::Unavailable {
                    error.message = format!("cannot pull it: {}", error.message);
                }
                return Err(error.about(what));
            }
        }
        Ok(())
    }

    /// Pushes `tag` to its registry with the registry's credentials,
    /// reporting each layer as it completes. The whole stream is read: an
    /// error in it (unauthorized, registry unreachable) fails the push.
    async fn push(&self, tag: &str, report: &Report<'_>) -> Result<(), EngineError> {
        let what = format!("image {tag}");
        let credentials = self.credentials_for(tag, &what).await?;
        let (repository, version) = split_tag(tag);
        let mut options = PushImageOptionsBuilder::default();
        if let Some(version) = version {
            options = options.tag(version);
        }
        let docker = self.patient(LONG_TIMEOUT);
        let mut progress = docker.push_image(repository, Some(options.build()), credentials);
        report(&format!("pushing {tag}"));
        while let Some(item) = progress.next().await {
            match item {
                Ok(info) => {
                    if let Some(status) = info.status.as_deref()
                        && (status == "Pushed"
                            || status == "Layer already exists"
                            || status.starts_with("Mounted from")
                            || status.contains(": digest: "))
                    {
                        report(&format!("pushing {tag}: {status}"));
                    }
                }
                Err(e) => {
                    let mut error = engine_error(&self.host, e);
                    if error.kind != ErrorKind::Unavailable {
                        error.message =
                            format!("cannot push it to {}: {}", registry_of(tag), error.message);
                    }
                    return Err(error.about(what));
                }
            }
        }
        Ok(())
    }

    async fn build(
        &self,
        stack: &str,
        resource: &Resource,
        spec: &ImageSpec,
        build: &BuildSpec,
        report: &Report<'_>,
    ) -> Result<String, EngineError> {
        let what = format!("image {}", resource.name);
        let context = PathBuf::from(&build.context);
        let dockerfile = build.dockerfile.clone();
        let archive =
            tokio::task::spawn_blocking(move || crate::build_context::tar(&context, &dockerfile))
                .await
                .map_err(|e| EngineError::new(ErrorKind::Other, e.to_string()).about(what.clone()))?
                .map_err(|e| EngineError::new(ErrorKind::Other, e.to_string()).about(what.clone()))?;
        let args: HashMap<String, String> = build.args.clone().into_iter().collect();
        let mut labels: HashMap<String, String> = labels(stack, resource).into_iter().collect();
        labels.insert(LABEL_ENGINE.into(), self.id.clone());
        let mut options = BuildImageOptionsBuilder::default()
            .dockerfile(&build.dockerfile)
            .t(&resource.name)
            .rm(true)
            .forcerm(true)
            .buildargs(&args)
            .labels(&labels);
        if let Some(target) = &build.target {
            options = options.target(target);
        }
        // The registries of the base images, with the docker CLI's credentials for them.
        let dockerfile_text =
            std::fs::read_to_string(Path::new(&build.context).join(&build.dockerfile))
                .unwrap_or_default();
        let mut registries: HashMap<String, DockerCredentials> = HashMap::new();
        for base in base_images(&dockerfile_text, &build.args) {
            if let Some(credentials) = self.credentials_for(&base, &what).await? {
                registries.insert(registry_of(&base), credentials);
            }
        }
        let docker = self.patient(LONG_TIMEOUT);
        let mut output = docker.build_image(
            options.build(),
            (!registries.is_empty()).then_some(registries),
            Some(bollard::body_full(archive.into())),
        );
        let mut tail: VecDeque<String> = VecDeque::new();
        let mut partial = String::new();
        while let Some(item) = output.next().await {
            match item {
                Ok(info) => {
                    if let Some(text) = info.stream {
                        partial.push_str(&text);
                        while let Some(end) = partial.find('\n') {
                            let line: String = partial.drain(..=end).collect();
                            let line = line.trim_end();
                            if line.starts_with("Step ") {
                                report(line);
                            }
                            push_line(&mut tail, line);
                        }
                    }
                }
                Err(e) => {
                    push_line(&mut tail, partial.trim_end());
                    let error = engine_error(&self.host, e);
                    if error.kind == ErrorKind::Unavailable {
                        return Err(error.about(what));
                    }
                    let mut message = String::from("build failed");
                    if !tail.is_empty() {
                        message.push_str(":\n");
                        for line in &tail {
                            message.push_str("  ");
                            message.push_str(line);
                            message.push('\n');
                        }
                    } else {
                        message.push_str(": ");
                    }
                    message.push_str(&error.message);
                    return Err(EngineError::new(error.kind, message).about(what));
                }
            }
        }
        let image = self
            .docker
            .inspect_image(&resource.name)
            .await
            .map_err(|e| self.error(e, what.clone()))?;
        if spec.push {
            let tag = spec.tag.as_deref().unwrap_or(&resource.name);
            if let Err(mut error) = self.push(tag, report).await {
                // Kept, the image would look up to date, and the next apply
                // would not push it: without its tag it is built and pushed
                // again. Its untagged parents go with it: left, they would
                // be dangling images carrying some of stackc's labels.
                let untag = RemoveImageOptionsBuilder::default().force(false).build();
                match self.docker.remove_image(tag, Some(untag), None).await {
                    Ok(_) => error.message.push_str(
                        "; the new build was removed, so the next apply builds and pushes it again",
                    ),
                    Err(e) => error.message.push_str(&format!(
                        "; the new build could not be removed ({}), so the next apply may not push it: `docker rmi {tag}` first",
                        engine_error(&self.host, e).message
                    )),
                }
                return Err(error);
            }
        }
        Ok(image.id.unwrap_or_else(|| resource.name.clone()))
    }

    // ---- creating ----

    async fn create_network(
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
        let request = NetworkCreateRequest {
            name: resource.name.clone(),
            driver: Some(n.driver.clone()),
            internal: Some(n.internal),
            attachable: Some(n.attachable),
            ipam: n.subnet.as_ref().map(|subnet| Ipam {
                config: Some(vec![IpamConfig {
                    subnet: Some(subnet.clone()),
                    ..Default::default()
                }]),
                ..Default::default()
            }),
            labels: Some(labels(stack, resource).into_iter().collect()),
            ..Default::default()
        };
        let created = self
            .docker
            .create_network(request)
            .await
            .map_err(|e| self.error(e, what.clone()))?;
        if created.warning.contains("already exists") {
            // Another network of that name appeared meanwhile: undo ours.
            let _ = self.docker.remove_network(&created.id).await;
            return Err(taken());
        }
        Ok(created.id)
    }

    async fn create_volume(
        &self,
        stack: &str,
        resource: &Resource,
        v: &VolumeSpec,
    ) -> Result<String, EngineError> {
        let what = format!("volume {}", resource.name);
        let ours: HashMap<String, String> = labels(stack, resource).into_iter().collect();
        let request = VolumeCreateRequest {
            name: Some(resource.name.clone()),
            driver: Some(v.driver.clone()),
            driver_opts: Some(v.options.clone().into_iter().collect()),
            labels: Some(ours.clone()),
            ..Default::default()
        };
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

    async fn create_container(
        &self,
        stack: &str,
        resource: &Resource,
        c: &ContainerSpec,
        report: &Report<'_>,
    ) -> Result<String, EngineError> {
        let what = format!("container {}", resource.name);
        self.ensure_image(&c.run.image, report).await?;
        // The engine takes (and connects a created container to) a network
        // that does not exist, and fails only at start: look first.
        for n in &c.run.networks {
            match self.docker.inspect_network(&n.network, None).await {
                Ok(_) => {}
                Err(e) if status(&e) == Some(404) => {
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
                    endpoint_config: Some(endpoint(&n.aliases)),
                };
                if let Err(e) = self.docker.connect_network(&n.network, request).await {
                    let mut error = self.error(e, what.clone());
                    error.message = format!(
                        "cannot connect it to network {}: {}",
                        n.network, error.message
                    );
                    let _ = self
                        .docker
                        .remove_container(
                            &id,
                            Some(RemoveContainerOptionsBuilder::default().force(true).build()),
                        )
                        .await;
                    return Err(error);
                }
            }
        }
        Ok(id)
    }

    // ---- lock and record ----

    /// Makes sure the internal image exists (once per engine).
    async fn ensure_internal_image(&self) -> Result<(), EngineError> {
        self.internal_image
            .get_or_try_init(|| async {
                match self.docker.inspect_image(INTERNAL_IMAGE).await {
                    Ok(_) => Ok(()),
                    Err(e) if status(&e) == Some(404) => self.import_internal_image().await,
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
            Err(e) if status(&e) == Some(404) => {
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
        let options = RemoveContainerOptionsBuilder::default().force(true).build();
        match self.docker.remove_container(name, Some(options)).await {
            Ok(()) => Ok(true),
            Err(e) if status(&e) == Some(404) => Ok(false),
            Err(e) => Err(self.error(e, format!("container {name}"))),
        }
    }
}

/// The lock container of a stack (the `.` keeps it apart from resource names).
pub fn lock_name(stack: &str) -> String {
    format!("{stack}.stackc.lock")
}

/// The record container of a stack.
pub fn record_name(stack: &str) -> String {
    format!("{stack}.stackc.record")
}

#[async_trait]
impl Engine for DockerEngine {
    fn describe(&self) -> String {
        format!("{} (API {}.{})", self.host, self.api.0, self.api.1)
    }

    async fn observe(&self, stack: &str, image_refs: &[String]) -> Result<LiveState, EngineError> {
        let filters = HashMap::from([("label", vec![format!("{LABEL_STACK}={stack}")])]);
        let of_stack = |kind: &str| format!("{kind} of stack {stack}");
        let (containers, networks, volumes, images, present) = tokio::join!(
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
        );
        let containers = containers.map_err(|e| self.error(e, of_stack("containers")))?;
        let networks = networks.map_err(|e| self.error(e, of_stack("networks")))?;
        let volumes = volumes.map_err(|e| self.error(e, of_stack("volumes")))?;
        let images = images.map_err(|e| self.error(e, of_stack("images")))?;
        let images_present = present?;

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
        objects.sort_by(|a, b| (a.kind, &a.address, &a.name).cmp(&(b.kind, &b.address, &b.name)));
        Ok(LiveState {
            objects,
            images: images_present,
            record,
        })
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
                    self.build(stack, resource, image, build, report).await
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
            Spec::Service(_) => Err(services_unsupported(&resource.name)),
        }
    }

    async fn start(&self, id: &str) -> Result<(), EngineError> {
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

    async fn update(&self, id: &str, run: &RunSpec, restart: &str) -> Result<(), EngineError> {
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
        let body = ContainerUpdateBody {
            restart_policy: Some(restart_policy(restart)),
            memory: Some(run.memory.unwrap_or(0)),
            // Swap as Docker sets it at create (twice the memory). Given
            // explicitly, the engine orders the cgroup writes so that
            // raising memory above the old swap limit works; -1 would be
            // dropped by engines before 23 and the raise refused.
            memory_swap: run.memory.map(|m| m.saturating_mul(2)),
            nano_cpus: Some(run.cpus.map_or(0, nano_cpus)),
            ..Default::default()
        };
        self.docker
            .update_container(id, body)
            .await
            .map_err(|e| self.error(e, what))
    }

    async fn stop(&self, id: &str, timeout: Millis) -> Result<(), EngineError> {
        let seconds = seconds_up(timeout);
        let options = StopContainerOptionsBuilder::default()
            .t(i32::try_from(seconds).unwrap_or(i32::MAX))
            .build();
        match self
            .patient(seconds.unsigned_abs() + REQUEST_TIMEOUT)
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

    async fn remove(&self, object: &LiveObject) -> Result<(), EngineError> {
        let what = format!("{} {}", object.kind, object.name);
        match object.kind {
            Kind::Container => self
                .docker
                .remove_container(
                    &object.id,
                    Some(RemoveContainerOptionsBuilder::default().force(true).build()),
                )
                .await
                .map_err(|e| self.error(e, what)),
            Kind::Network => match self.docker.remove_network(&object.id).await {
                Ok(()) => Ok(()),
                // "has active endpoints"
                Err(e) if status(&e) == Some(403) => {
                    let mut error = self.error(e, what);
                    error.kind = ErrorKind::Conflict;
                    Err(error)
                }
                Err(e) => Err(self.error(e, what)),
            },
            Kind::Volume => self
                .docker
                .remove_volume(
                    &object.name,
                    None::<bollard::query_parameters::RemoveVolumeOptions>,
                )
                .await
                .map_err(|e| self.error(e, what)),
            Kind::Image => {
                // By tag, never forced: other tags of the image stay. A tag
                // that a newer build took (a fixed `tag`, rebuilt) is no
                // longer the old image's: that one goes by its id.
                let by_tag = !object.name.is_empty()
                    && object.name != object.id
                    && match self.docker.inspect_image(&object.name).await {
                        Ok(image) => image.id.as_deref() == Some(object.id.as_str()),
                        Err(_) => false,
                    };
                let target = if by_tag { &object.name } else { &object.id };
                match self
                    .docker
                    .remove_image(
                        target,
                        Some(RemoveImageOptionsBuilder::default().force(false).build()),
                        None,
                    )
                    .await
                {
                    Ok(_) => Ok(()),
                    // Gone already (pruned with its last tag).
                    Err(e) if !by_tag && status(&e) == Some(404) => Ok(()),
                    Err(e) => Err(self.error(e, what)),
                }
            }
            Kind::Service => Err(services_unsupported(&object.name)),
        }
    }

    async fn state(&self, id: &str) -> Result<State, EngineError> {
        let c = self.inspect(id).await?;
        Ok(state_of(c.state.as_ref()))
    }

    async fn lock(&self, stack: &str, holder: &Holder) -> Result<Lock, EngineError> {
        let name = lock_name(stack);
        let labels: HashMap<String, String> = [
            (LABEL_STACK, stack.to_string()),
            (LABEL_INTERNAL, "lock".to_string()),
            (LABEL_LOCK_WHO, holder.who.clone()),
            (LABEL_LOCK_PID, holder.pid.to_string()),
            (LABEL_LOCK_OPERATION, holder.operation.clone()),
            (LABEL_LOCK_SINCE, holder.since.to_string()),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v))
        .collect();
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
                Err(e) if status(&e) == Some(404) => continue,
                Err(e) => return Err(self.error(e, format!("container {name}"))),
            }
        }
        Err(EngineError::new(
            ErrorKind::Conflict,
            "the lock kept changing hands; try again",
        )
        .about(format!("container {name}")))
    }

    async fn unlock(&self, stack: &str) -> Result<bool, EngineError> {
        self.remove_internal(&lock_name(stack)).await
    }

    async fn write_record(&self, stack: &str, record: Option<&Record>) -> Result<(), EngineError> {
        let name = record_name(stack);
        self.remove_internal(&name).await?;
        let Some(record) = record else {
            return Ok(());
        };
        let json = serde_json::to_string(record)
            .map_err(|e| EngineError::new(ErrorKind::Other, e.to_string()))?;
        let labels: HashMap<String, String> = [
            (LABEL_STACK, stack.to_string()),
            (LABEL_INTERNAL, "record".to_string()),
            (LABEL_RECORD, json),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v))
        .collect();
        self.create_internal(&name, labels).await.map(|_| ())
    }
}

// ---- translation to and from Docker's shapes ----

/// The create request of a container. With `all_networks` every network is
/// attached at create (API ≥ 1.44); otherwise only the first.
fn container_body(
    stack: &str,
    resource: &Resource,
    c: &ContainerSpec,
    all_networks: bool,
) -> ContainerCreateBody {
    let run = &c.run;
    let mut exposed: BTreeSet<String> = c.expose.iter().cloned().collect();
    let mut bindings: HashMap<String, Option<Vec<PortBinding>>> = HashMap::new();
    for p in &run.ports {
        let key = format!("{}/{}", p.container, p.protocol);
        exposed.insert(key.clone());
        bindings
            .entry(key)
            .or_insert_with(|| Some(Vec::new()))
            .get_or_insert_with(Vec::new)
            .push(PortBinding {
                host_ip: Some(p.ip.clone().unwrap_or_default()),
                host_port: Some(p.host.map(|h| h.to_string()).unwrap_or_default()),
            });
    }
    let mounts: Vec<Mount> = run
        .mounts
        .iter()
        .map(|m| Mount {
            target: Some(m.target.clone()),
            source: m.source.clone(),
            typ: Some(match m.kind.as_str() {
                "bind" => MountType::BIND,
                "tmpfs" => MountType::TMPFS,
                _ => MountType::VOLUME,
            }),
            read_only: Some(m.read_only),
            tmpfs_options: m.size.map(|size| MountTmpfsOptions {
                size_bytes: Some(size),
                ..Default::default()
            }),
            ..Default::default()
        })
        .collect();
    let healthcheck = run.health.as_ref().map(|h| HealthConfig {
        test: Some(h.test.clone()),
        interval: Some(nanos(h.interval)),
        timeout: Some(nanos(h.timeout)),
        retries: Some(i64::from(h.retries)),
        start_period: Some(nanos(h.start_period)),
        ..Default::default()
    });
    let endpoints: HashMap<String, EndpointSettings> = run
        .networks
        .iter()
        .enumerate()
        .filter(|(i, _)| *i == 0 || all_networks)
        .map(|(_, n)| (n.network.clone(), endpoint(&n.aliases)))
        .collect();
    let host_config = HostConfig {
        network_mode: run.networks.first().map(|n| n.network.clone()),
        port_bindings: (!bindings.is_empty()).then_some(bindings),
        mounts: (!mounts.is_empty()).then_some(mounts),
        restart_policy: Some(restart_policy(&c.restart)),
        memory: run.memory,
        nano_cpus: run.cpus.map(nano_cpus),
        readonly_rootfs: Some(run.read_only),
        privileged: Some(c.privileged),
        cap_add: (!run.cap_add.is_empty()).then(|| run.cap_add.clone()),
        cap_drop: (!run.cap_drop.is_empty()).then(|| run.cap_drop.clone()),
        ..Default::default()
    };
    ContainerCreateBody {
        image: Some(run.image.clone()),
        cmd: run.command.clone(),
        entrypoint: run.entrypoint.clone(),
        env: Some(run.env.iter().map(|(k, v)| format!("{k}={v}")).collect()),
        exposed_ports: (!exposed.is_empty()).then(|| exposed.into_iter().collect()),
        healthcheck,
        user: run.user.clone(),
        working_dir: run.workdir.clone(),
        hostname: run.hostname.clone(),
        labels: Some(labels(stack, resource).into_iter().collect()),
        stop_timeout: Some(seconds_up(run.stop_timeout)),
        host_config: Some(host_config),
        networking_config: (!endpoints.is_empty()).then_some(NetworkingConfig {
            endpoints_config: Some(endpoints),
        }),
        ..Default::default()
    }
}

fn endpoint(aliases: &[String]) -> EndpointSettings {
    EndpointSettings {
        aliases: (!aliases.is_empty()).then(|| aliases.to_vec()),
        ..Default::default()
    }
}

/// `no`, `always`, `unless-stopped`, `on-failure`, `on-failure:N`.
fn restart_policy(restart: &str) -> RestartPolicy {
    let (name, count) = match restart.split_once(':') {
        Some((name, n)) => (name, n.trim().parse::<i64>().ok()),
        None => (restart, None),
    };
    let name = match name {
        "always" => RestartPolicyNameEnum::ALWAYS,
        "unless-stopped" => RestartPolicyNameEnum::UNLESS_STOPPED,
        "on-failure" => RestartPolicyNameEnum::ON_FAILURE,
        _ => RestartPolicyNameEnum::NO,
    };
    RestartPolicy {
        maximum_retry_count: (name == RestartPolicyNameEnum::ON_FAILURE)
            .then(|| count.unwrap_or(0)),
        name: Some(name),
    }
}

/// The restart policy as the spec spells it.
fn restart_name(policy: Option<&RestartPolicy>) -> String {
    let Some(policy) = policy else {
        return "no".into();
    };
    match policy.name {
        Some(RestartPolicyNameEnum::ALWAYS) => "always".into(),
        Some(RestartPolicyNameEnum::UNLESS_STOPPED) => "unless-stopped".into(),
        Some(RestartPolicyNameEnum::ON_FAILURE) => match policy.maximum_retry_count {
            Some(n) if n > 0 => format!("on-failure:{n}"),
            _ => "on-failure".into(),
        },
        _ => "no".into(),
    }
}

fn nanos(d: Millis) -> i64 {
    d.0.saturating_mul(1_000_000)
}

/// Whole seconds, rounded up.
fn seconds_up(d: Millis) -> i64 {
    d.0.max(0).saturating_add(999) / 1000
}

fn nano_cpus(cpus: f64) -> i64 {
    (cpus * 1e9).round() as i64
}

fn cannot_lift(what: &str) -> EngineError {
    EngineError::new(
        ErrorKind::Other,
        format!(
            "Docker cannot lift the {what} limit of an existing container (it takes 0 as \"unchanged\"); the container must be replaced"
        ),
    )
}

fn services_unsupported(name: &str) -> EngineError {
    EngineError::new(
        ErrorKind::Other,
        "Swarm services are not supported yet: stackc deploys containers to one Docker engine",
    )
    .about(format!("service {name}"))
}

/// `127.0.0.1:5000/app:1` → (`127.0.0.1:5000/app`, `1`): the repository
/// and the tag a push names apart. A digest or no tag: the whole, no tag.
fn split_tag(reference: &str) -> (&str, Option<&str>) {
    if reference.contains('@') {
        return (reference, None);
    }
    match reference.rsplit_once(':') {
        Some((repository, tag)) if !tag.contains('/') => (repository, Some(tag)),
        _ => (reference, None),
    }
}

/// bollard encodes the `X-Registry-Auth` and `X-Registry-Config` headers
/// in standard base64, the engine decodes them as URL-safe base64 and
/// silently drops what it cannot decode: credentials whose encoding holds a
/// `+` or `/` (a password with `?`, `>` or `~` in the wrong place) would be
/// ignored. Rewritten here to the alphabet the engine reads.
fn url_safe_registry_auth(mut request: BollardRequest) -> BollardRequest {
    for name in ["x-registry-auth", "x-registry-config"] {
        let Some(value) = request.headers().get(name) else {
            continue;
        };
        let Ok(text) = value.to_str() else {
            continue;
        };
        if !text.contains(['+', '/']) {
            continue;
        }
        let fixed = text.replace('+', "-").replace('/', "_");
        if let Ok(value) = http::HeaderValue::from_str(&fixed) {
            request.headers_mut().insert(name, value);
        }
    }
    request
}

/// `busybox` → `busybox:latest`; references with a tag or digest stay.
fn with_default_tag(reference: &str) -> String {
    let last = reference.rsplit('/').next().unwrap_or(reference);
    if reference.contains('@') || last.contains(':') {
        reference.to_string()
    } else {
        format!("{reference}:latest")
    }
}

/// The images a Dockerfile builds `FROM` (build args and `ARG` defaults
/// substituted; stages and `scratch` left out): the images the build pulls.
fn base_images(dockerfile: &str, args: &BTreeMap<String, String>) -> Vec<String> {
    let mut defaults: BTreeMap<String, String> = BTreeMap::new();
    let mut stages: Vec<String> = Vec::new();
    let mut images = Vec::new();
    let substitute = |word: &str, defaults: &BTreeMap<String, String>| {
        let mut out = word.to_string();
        for (name, value) in defaults.iter().chain(args) {
            out = out
                .replace(&format!("${{{name}}}"), value)
                .replace(&format!("${name}"), value);
        }
        out
    };
    for line in dockerfile.lines().map(str::trim) {
        let mut words = line.split_whitespace();
        match words.next().map(str::to_ascii_uppercase).as_deref() {
            Some("ARG") if images.is_empty() => {
                if let Some((name, value)) = words.next().and_then(|w| w.split_once('=')) {
                    defaults.insert(name.to_string(), value.trim_matches('"').to_string());
                }
            }
            Some("FROM") => {
                let rest: Vec<&str> = words.filter(|w| !w.starts_with("--")).collect();
                let Some(image) = rest.first().map(|w| substitute(w, &defaults)) else {
                    continue;
                };
                let earlier_stage = stages.contains(&image.to_ascii_lowercase());
                if image != "scratch" && !image.contains('$') && !earlier_stage {
                    images.push(image);
                }
                if let [_, r#as, name] = rest.as_slice()
                    && r#as.eq_ignore_ascii_case("as")
                {
                    stages.push(name.to_ascii_lowercase());
                }
            }
            _ => {}
        }
    }
    images
}

fn push_line(tail: &mut VecDeque<String>, line: &str) {
    if line.trim().is_empty() {
        return;
    }
    if tail.len() == BUILD_TAIL {
        tail.pop_front();
    }
    tail.push_back(line.to_string());
}

fn parse_spec(labels: &HashMap<String, String>) -> Option<serde_json::Value> {
    labels
        .get(LABEL_SPEC)
        .and_then(|s| serde_json::from_str(s).ok())
}

/// A network or volume of the stack; `None` without an address label.
fn plain(
    kind: Kind,
    id: String,
    name: String,
    labels: &HashMap<String, String>,
) -> Option<LiveObject> {
    if labels.contains_key(LABEL_INTERNAL) {
        return None;
    }
    Some(LiveObject {
        kind,
        id,
        name,
        address: labels.get(LABEL_ADDRESS)?.clone(),
        hash: labels.get(LABEL_HASH).cloned().unwrap_or_default(),
        spec: parse_spec(labels),
        state: State::Present,
        actual: Actual::default(),
    })
}

/// The tag an image of the stack is known by: the spec's `tag` if the image
/// has it, else its first tag.
fn image_name(tags: &[String], spec: Option<&serde_json::Value>) -> Option<String> {
    let mut tags: Vec<&String> = tags.iter().filter(|t| *t != "<none>:<none>").collect();
    tags.sort();
    let wanted = spec.and_then(|s| s.get("tag")).and_then(|t| t.as_str());
    tags.iter()
        .find(|t| Some(t.as_str()) == wanted)
        .or_else(|| tags.first())
        .map(|t| (*t).clone())
}

fn parse_record(stack: &str, text: Option<&String>) -> Result<Record, EngineError> {
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

/// A container of the stack as inspected; `None` without an address label.
fn live_container(c: ContainerInspectResponse) -> Option<LiveObject> {
    let config = c.config.clone().unwrap_or_default();
    let labels = config.labels.clone().unwrap_or_default();
    if labels.contains_key(LABEL_INTERNAL) {
        return None;
    }
    let address = labels.get(LABEL_ADDRESS)?.clone();
    let spec = parse_spec(&labels);
    let host = c.host_config.clone().unwrap_or_default();
    let actual = Actual {
        restart: Some(restart_name(host.restart_policy.as_ref())),
        memory: host.memory.filter(|m| *m != 0),
        cpus: host.nano_cpus.filter(|n| *n != 0).map(|n| n as f64 / 1e9),
        values: values(&config, &host, spec.as_ref()),
    };
    let id = c.id.clone().unwrap_or_default();
    Some(LiveObject {
        kind: Kind::Container,
        name: display_name(&c, &id),
        id,
        address,
        hash: labels.get(LABEL_HASH).cloned().unwrap_or_default(),
        spec,
        state: state_of(c.state.as_ref()),
        actual,
    })
}

/// The values at the spec's paths (see [`super::memory::actual_of`]). Only
/// what the spec sets: the image's env, labels, command and health check,
/// which Docker merges in, are left out.
fn values(
    config: &ContainerConfig,
    host: &HostConfig,
    spec: Option<&serde_json::Value>,
) -> BTreeMap<String, String> {
    let mut values = BTreeMap::new();
    let keys = |field: &str| -> Option<BTreeSet<String>> {
        spec.map(|s| {
            s.get(field)
                .and_then(|v| v.as_object())
                .map(|o| o.keys().cloned().collect())
                .unwrap_or_default()
        })
    };
    let sets = |field: &str| spec.is_none_or(|s| s.get(field).is_some_and(|v| !v.is_null()));
    let env_keys = keys("env");
    for entry in config.env.iter().flatten() {
        let (k, v) = entry.split_once('=').unwrap_or((entry.as_str(), ""));
        if env_keys.as_ref().is_none_or(|keys| keys.contains(k)) {
            values.insert(format!("/env/{}", pointer_segment(k)), v.to_string());
        }
    }
    if sets("command") {
        for (i, w) in config.cmd.iter().flatten().enumerate() {
            values.insert(format!("/command/{i}"), w.clone());
        }
    }
    if sets("entrypoint") {
        for (i, w) in config.entrypoint.iter().flatten().enumerate() {
            values.insert(format!("/entrypoint/{i}"), w.clone());
        }
    }
    if sets("health") {
        let test = config.healthcheck.as_ref().and_then(|h| h.test.as_ref());
        for (i, w) in test.into_iter().flatten().enumerate() {
            values.insert(format!("/health/test/{i}"), w.clone());
        }
    }
    let label_keys = keys("labels");
    for (k, v) in config.labels.iter().flatten() {
        let wanted = match &label_keys {
            Some(keys) => keys.contains(k),
            None => !k.starts_with("io.stackc."),
        };
        if wanted {
            values.insert(format!("/labels/{}", pointer_segment(k)), v.clone());
        }
    }
    // The spec's mounts are sorted by target; so are these.
    let mut mounts: Vec<&Mount> = host.mounts.iter().flatten().collect();
    mounts.sort_by(|a, b| a.target.cmp(&b.target));
    for (i, m) in mounts.iter().enumerate() {
        if let Some(source) = m.source.as_ref().filter(|s| !s.is_empty()) {
            values.insert(format!("/mounts/{i}/source"), source.clone());
        }
    }
    values
}

fn state_of(state: Option<&ContainerState>) -> State {
    let Some(s) = state else {
        return State::Dead;
    };
    let health = || match s.health.as_ref().and_then(|h| h.status) {
        Some(HealthStatusEnum::STARTING) => Health::Starting,
        Some(HealthStatusEnum::HEALTHY) => Health::Healthy,
        Some(HealthStatusEnum::UNHEALTHY) => Health::Unhealthy,
        _ => Health::None,
    };
    let exited = || State::Exited {
        code: s.exit_code.unwrap_or(0),
    };
    match s.status {
        Some(ContainerStateStatusEnum::CREATED) => State::Created,
        Some(ContainerStateStatusEnum::RUNNING) | Some(ContainerStateStatusEnum::STOPPING) => {
            State::Running { health: health() }
        }
        Some(ContainerStateStatusEnum::PAUSED) => State::Paused,
        Some(ContainerStateStatusEnum::RESTARTING) => State::Restarting,
        Some(ContainerStateStatusEnum::EXITED) => exited(),
        Some(ContainerStateStatusEnum::DEAD) | Some(ContainerStateStatusEnum::REMOVING) => {
            State::Dead
        }
        Some(ContainerStateStatusEnum::EMPTY) | None => {
            if s.paused == Some(true) {
                State::Paused
            } else if s.restarting == Some(true) {
                State::Restarting
            } else if s.running == Some(true) {
                State::Running { health: health() }
            } else if s.dead == Some(true) {
                State::Dead
            } else {
                exited()
            }
        }
    }
}

/// The container's name without Docker's leading `/`.
fn display_name(c: &ContainerInspectResponse, id: &str) -> String {
    c.name
        .as_deref()
        .map(|n| n.trim_start_matches('/').to_string())
        .filter(|n| !n.is_empty())
        .unwrap_or_else(|| short(id).to_string())
}

/// The first 12 characters of an id, as Docker shows them.
fn short(id: &str) -> &str {
    id.get(..12).unwrap_or(id)
}

fn status(e: &BollardError) -> Option<u16> {
    match e {
        BollardError::DockerResponseServerError { status_code, .. } => Some(*status_code),
        _ => None,
    }
}

/// An error of the engine as an [`EngineError`], with Docker's own message.
fn engine_error(host: &str, e: BollardError) -> EngineError {
    match e {
        BollardError::DockerResponseServerError {
            status_code,
            message,
        } => {
            let kind = match status_code {
                404 => ErrorKind::NotFound,
                409 => ErrorKind::Conflict,
                _ => ErrorKind::Other,
            };
            let message = if message.trim().is_empty() {
                format!("the engine answered with status {status_code}")
            } else {
                message.trim_end().to_string()
            };
            EngineError::new(kind, message)
        }
        BollardError::DockerStreamError { error } => {
            EngineError::new(ErrorKind::Other, error.trim_end().to_string())
        }
        e @ (BollardError::HyperLegacyError { .. }
        | BollardError::HyperResponseError { .. }
        | BollardError::IOError { .. }
        | BollardError::RequestTimeoutError
        | BollardError::SocketNotFoundError(_)) => EngineError::new(
            ErrorKind::Unavailable,
            format!("lost the Docker engine at {host}: {}", chain(&e)),
        ),
        e => EngineError::new(ErrorKind::Other, chain(&e)),
    }
}

/// An error with its causes, `outer: inner: innermost`.
fn chain(e: &(dyn std::error::Error + 'static)) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        let part = s.to_string();
        if !text.contains(&part) {
            text.push_str(": ");
            text.push_str(&part);
        }
        source = s.source();
    }
    text
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;

    #[test]
    fn a_push_names_the_repository_and_the_tag_apart() {
        assert_eq!(
            split_tag("127.0.0.1:5000/team/app:1.0"),
            ("127.0.0.1:5000/team/app", Some("1.0"))
        );
        assert_eq!(split_tag("app:latest"), ("app", Some("latest")));
        assert_eq!(
            split_tag("127.0.0.1:5000/team/app"),
            ("127.0.0.1:5000/team/app", None)
        );
        assert_eq!(split_tag("app@sha256:abc"), ("app@sha256:abc", None));
    }

    #[test]
    fn registry_auth_headers_are_sent_in_url_safe_base64() {
        let request = |value: &str| {
            http::Request::builder()
                .uri("/images/create")
                .header("X-Registry-Auth", value)
                .header("X-Registry-Config", value)
                .header("Content-Type", "application/json")
                .body(bollard::body_full(Vec::new().into()))
                .unwrap()
        };
        let fixed = url_safe_registry_auth(request("eyJ+c2VjcmV0Ijoi/w=="));
        assert_eq!(fixed.headers()["x-registry-auth"], "eyJ-c2VjcmV0Ijoi_w==");
        assert_eq!(fixed.headers()["x-registry-config"], "eyJ-c2VjcmV0Ijoi_w==");
        assert_eq!(fixed.headers()["content-type"], "application/json");
        let plain = url_safe_registry_auth(request("eyJ1c2VyIjoiYSJ9"));
        assert_eq!(plain.headers()["x-registry-auth"], "eyJ1c2VyIjoiYSJ9");
    }
}

#[cfg(test)]
mod base_image_tests {
    use super::*;

    #[test]
    fn base_images_are_the_froms_a_build_pulls() {
        let dockerfile = "ARG BASE=alpine:3.20\nARG TAG\nFROM ${BASE} AS build\nRUN make\nfrom registry.example.com:5000/run:$TAG\nFROM build\nFROM --platform=linux/amd64 scratch\nFROM busybox AS final\n";
        let args = BTreeMap::from([("TAG".to_string(), "1.2".to_string())]);
        assert_eq!(
            base_images(dockerfile, &args),
            [
                "alpine:3.20",
                "registry.example.com:5000/run:1.2",
                "busybox"
            ]
        );
        assert!(base_images("FROM $UNKNOWN\n", &BTreeMap::new()).is_empty());
    }
}
