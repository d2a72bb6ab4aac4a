//! Images: pulls, builds and pushes (with the registries' credentials), and
//! removal.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::path::{Path, PathBuf};

use bollard::auth::DockerCredentials;
use bollard::query_parameters::{
    BuildImageOptionsBuilder, CreateImageOptionsBuilder, PushImageOptionsBuilder,
    RemoveImageOptions, RemoveImageOptionsBuilder,
};
use futures_util::StreamExt;

use super::convert::docker_labels;
use super::error::{engine_error, not_found};
use super::{DockerEngine, LABEL_ENGINE};
use crate::deployment::{BuildSpec, ImageSpec, Resource};
use crate::engine::credentials::registry_of;
use crate::engine::{EngineError, ErrorKind, LiveObject, Report};

/// Lines of build output kept for the error of a failing build.
const BUILD_TAIL: usize = 30;

impl DockerEngine {
    /// The credentials for the registry of `reference` (a credential helper
    /// may run: off the async threads). `what` names the image for errors.
    async fn credentials_for(
        &self,
        reference: &str,
        what: &str,
    ) -> Result<Option<DockerCredentials>, EngineError> {
        let source = self.credentials.clone();
        let image = reference.to_string();
        let found = tokio::task::spawn_blocking(move || source.for_image(&image))
            .await
            .map_err(|e| EngineError::new(ErrorKind::Other, e.to_string()).about(what))?;
        found.map_err(|e| {
            EngineError::new(
                ErrorKind::Other,
                format!(
                    "cannot get the credentials for registry {}: {e}",
                    registry_of(reference)
                ),
            )
            .about(what)
        })
    }

    /// Fails unless `reference` is present locally (`pull = "never"`).
    pub(super) async fn present_image(&self, reference: &str) -> Result<(), EngineError> {
        match self.docker.inspect_image(reference).await {
            Ok(_) => Ok(()),
            Err(e) if not_found(&e) => Err(crate::engine::never_pulled(reference)),
            Err(e) => Err(self.error(e, format!("image {reference}"))),
        }
    }

    /// Pulls `reference` unless it is present locally.
    pub(super) async fn ensure_image(
        &self,
        reference: &str,
        report: &Report<'_>,
    ) -> Result<(), EngineError> {
        match self.docker.inspect_image(reference).await {
            Ok(_) => Ok(()),
            Err(e) if not_found(&e) => self.pull_image(reference, report).await,
            Err(e) => Err(self.error(e, format!("image {reference}"))),
        }
    }

    /// Pulls an image with the credentials of its registry, reporting each
    /// layer as it completes.
    pub(super) async fn pull_image(
        &self,
        reference: &str,
        report: &Report<'_>,
    ) -> Result<(), EngineError> {
        let what = format!("image {reference}");
        let credentials = self.credentials_for(reference, &what).await?;
        // Without a tag the engine would pull every tag of the repository.
        let options = CreateImageOptionsBuilder::default()
            .from_image(&with_default_tag(reference))
            .build();
        let docker = self.for_long_work();
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
        let docker = self.for_long_work();
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

    /// Builds the image of `resource` (labelled with the stack's labels and
    /// this engine's id), reporting each step, and pushes it if the spec says
    /// so; `without_cache` builds every step again (and pulls nothing anew).
    pub(super) async fn build(
        &self,
        stack: &str,
        resource: &Resource,
        spec: &ImageSpec,
        build: &BuildSpec,
        without_cache: bool,
        report: &Report<'_>,
    ) -> Result<String, EngineError> {
        let what = format!("image {}", resource.name);
        let context = PathBuf::from(&build.context);
        let dockerfile = build.dockerfile.clone();
        let archive =
            tokio::task::spawn_blocking(move || crate::build_context::tar(&context, &dockerfile))
                .await
                .map_err(|e| EngineError::new(ErrorKind::Other, e.to_string()).about(what.clone()))?
                .map_err(|e| {
                    EngineError::new(ErrorKind::Other, e.to_string()).about(what.clone())
                })?;
        let args: HashMap<String, String> = build.args.clone().into_iter().collect();
        let mut labels = docker_labels(stack, resource);
        labels.insert(LABEL_ENGINE.into(), self.id.clone());
        let mut options = BuildImageOptionsBuilder::default()
            .dockerfile(&build.dockerfile)
            .t(&resource.name)
            .rm(true)
            .forcerm(true)
            .nocache(without_cache)
            .buildargs(&args)
            .labels(&labels);
        if let Some(target) = &build.target {
            options = options.target(target);
        }
        // The registries of the base images, with the docker CLI's credentials for them.
        let dockerfile_text =
            crate::build_context::dockerfile_text(Path::new(&build.context), &build.dockerfile)
                .unwrap_or_default();
        let mut registries: HashMap<String, DockerCredentials> = HashMap::new();
        for base in base_images(&dockerfile_text, &build.args) {
            if let Some(credentials) = self.credentials_for(&base, &what).await? {
                registries.insert(registry_of(&base), credentials);
            }
        }
        let docker = self.for_long_work();
        let mut output = docker.build_image(
            options.build(),
            (!registries.is_empty()).then_some(registries),
            Some(bollard::body_full(archive.into())),
        );
        let mut tail: VecDeque<String> = VecDeque::new();
        let mut partial = String::new();
        let mut steps = UserSteps::new(labels.len());
        while let Some(item) = output.next().await {
            match item {
                Ok(info) => {
                    if let Some(text) = info.stream {
                        partial.push_str(&text);
                        while let Some(end) = partial.find('\n') {
                            let line: String = partial.drain(..=end).collect();
                            let Some(line) = steps.line(line.trim_end()) else {
                                continue;
                            };
                            if line.starts_with("Step ") {
                                report(&line);
                            }
                            push_line(&mut tail, &line);
                        }
                    }
                }
                Err(e) => {
                    push_line(&mut tail, partial.trim_end());
                    let error = engine_error(&self.host, e);
                    if error.kind == ErrorKind::Unavailable {
                        return Err(error.about(what));
                    }
                    return Err(build_failed(&tail, error).about(what));
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
                match self.docker.remove_image(tag, Some(untag()), None).await {
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

    /// Removes an image of the stack. By tag, never forced: other tags of
    /// the image stay. A tag that a newer build took (a fixed `tag`,
    /// rebuilt) is no longer the old image's: that one goes by its id.
    pub(super) async fn remove_image(
        &self,
        object: &LiveObject,
        what: String,
    ) -> Result<(), EngineError> {
        let by_tag = !object.name.is_empty()
            && object.name != object.id
            && match self.docker.inspect_image(&object.name).await {
                Ok(image) => image.id.as_deref() == Some(object.id.as_str()),
                Err(_) => false,
            };
        let target = if by_tag { &object.name } else { &object.id };
        match self.docker.remove_image(target, Some(untag()), None).await {
            Ok(_) => Ok(()),
            // Gone already (pruned with its last tag).
            Err(e) if !by_tag && not_found(&e) => Ok(()),
            Err(e) => match self.error(e, what) {
                // Untagged, but a container (of this stack or another) still
                // runs it: it is no longer the stack's, and Docker keeps it.
                error if !by_tag && error.kind == ErrorKind::Conflict => Ok(()),
                error => Err(error),
            },
        }
    }
}

/// Removes a tag, and the image with its last one; never a used image.
fn untag() -> RemoveImageOptions {
    RemoveImageOptionsBuilder::default().force(false).build()
}

/// The error of a failed build: the build's last lines of output, then the engine's message.
fn build_failed(tail: &VecDeque<String>, error: EngineError) -> EngineError {
    let mut message = String::from("build failed");
    if !tail.is_empty() {
        message.push_str(":\n");
        for line in tail {
            message.push_str("  ");
            message.push_str(line);
            message.push('\n');
        }
    } else {
        message.push_str(": ");
    }
    message.push_str(&error.message);
    EngineError::new(error.kind, message)
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

/// The build output of the user's Dockerfile only. The classic builder
/// turns each label given to the build API into a `LABEL` step of its own,
/// after the Dockerfile's, and counts them in every `Step i/N`: those steps
/// (and their output) are left out, and the user's are numbered as in their
/// Dockerfile.
struct UserSteps {
    labels: usize,
    hiding: bool,
}

impl UserSteps {
    fn new(labels: usize) -> UserSteps {
        UserSteps {
            labels,
            hiding: false,
        }
    }

    /// The line as the user sees it, or `None` for one of stackc's steps.
    fn line(&mut self, line: &str) -> Option<String> {
        let step = line.strip_prefix("Step ").and_then(|rest| {
            let (numbers, text) = rest.split_once(" : ")?;
            let (i, n) = numbers.split_once('/')?;
            Some((i.parse::<usize>().ok()?, n.parse::<usize>().ok()?, text))
        });
        match step {
            Some((i, n, text)) => {
                let users = n.saturating_sub(self.labels);
                self.hiding = i > users;
                (!self.hiding).then(|| format!("Step {i}/{users} : {text}"))
            }
            None => (!self.hiding).then(|| line.to_string()),
        }
    }
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

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;

    #[test]
    fn the_build_shows_the_users_steps_numbered_as_in_their_dockerfile() {
        let output = [
            "Step 1/4 : FROM scratch",
            " ---> abc",
            "Step 2/4 : COPY busybox /bin/busybox",
            " ---> def",
            "Step 3/4 : LABEL io.stackc.address=image.app",
            " ---> Running in 123",
            "Removing intermediate container 123",
            "Step 4/4 : LABEL io.stackc.stack=shop",
            " ---> 456",
            "Successfully built 456",
        ];
        let mut steps = UserSteps::new(2);
        let shown: Vec<String> = output.iter().filter_map(|l| steps.line(l)).collect();
        assert_eq!(
            shown,
            [
                "Step 1/2 : FROM scratch",
                " ---> abc",
                "Step 2/2 : COPY busybox /bin/busybox",
                " ---> def",
            ]
        );
    }

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
