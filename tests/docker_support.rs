//! The real engine in tests: connecting (or skipping), the test image, unique
//! stack names and a guard that removes a stack's objects however the test ends.

use std::collections::{BTreeMap, HashMap};
use std::future::Future;
use std::path::Path;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicUsize, Ordering};

use bollard::Docker;
use bollard::models::{ContainerSummary, ImageSummary, Volume};
use bollard::query_parameters::{
    ListContainersOptionsBuilder, ListImagesOptionsBuilder, ListNetworksOptionsBuilder,
    ListVolumesOptionsBuilder, RemoveContainerOptionsBuilder, RemoveImageOptionsBuilder,
};
use stackc::deployment::Kind;
use stackc::deployment::{BuildSpec, ImageSpec, Resource, Spec};
use stackc::engine::docker::{DockerEngine, resolve_host};
use stackc::engine::{Engine, LABEL_STACK, quiet};

use crate::support::{make_executable, temp_dir, write_executable};

/// The image tests run: busybox on an empty base, serving `/www` over HTTP on port 80.
pub const TEST_IMAGE: &str = "stackc-test/busybox:2";
/// The stack the test image is built for; no test observes it.
const TEST_IMAGE_STACK: &str = "stackc-test-images";

/// Runs a future on a runtime of its own.
pub fn block_on<F: Future>(future: F) -> F::Output {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("a tokio runtime")
        .block_on(future)
}

/// Whether a missing engine fails the tests rather than skipping them.
pub fn required() -> bool {
    std::env::var("STACKC_REQUIRE_DOCKER").is_ok_and(|v| v == "1")
}

/// The Docker engine, or `None` when none answers (the test is then skipped,
/// saying why) — unless `STACKC_REQUIRE_DOCKER=1`, when that fails the test.
pub async fn docker() -> Option<DockerEngine> {
    match DockerEngine::connect(None).await {
        Ok(engine) => Some(engine),
        Err(e) if required() => {
            panic!("STACKC_REQUIRE_DOCKER=1, but there is no Docker engine: {e}")
        }
        Err(e) => {
            eprintln!("skipped: no Docker engine ({e})");
            None
        }
    }
}

/// A stack name no other test (or test process) uses: `t_<test>_<pid>_<n>`.
pub fn unique_stack(test: &str) -> String {
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    // Stack names hold no `-`.
    format!(
        "t_{}_{}_{}",
        test.replace('-', "_"),
        std::process::id(),
        NEXT.fetch_add(1, Ordering::SeqCst)
    )
}

/// For a test on the real engine: a stack of its own (see [`unique_stack`])
/// with its guard, or `None` — the test is then skipped, saying why — when
/// no engine answers.
pub fn docker_stack(test: &str) -> Option<StackGuard> {
    block_on(docker())?;
    Some(StackGuard::new(&unique_stack(test)))
}

/// Removes every object labelled with its stack when made and when dropped,
/// so a failing test cleans up too. Only that stack's objects are touched.
pub struct StackGuard {
    pub stack: String,
}

impl StackGuard {
    pub fn new(stack: &str) -> StackGuard {
        let guard = StackGuard {
            stack: stack.to_string(),
        };
        guard.clean();
        guard
    }

    fn clean(&self) {
        let stack = self.stack.clone();
        // A thread of its own: the guard may drop inside a runtime.
        let done = std::thread::spawn(move || block_on(remove_stack(&stack))).join();
        if let Ok(Err(e)) = done {
            eprintln!("cleaning up stack {}: {e}", self.stack);
        }
    }
}

impl Drop for StackGuard {
    fn drop(&mut self) {
        self.clean();
    }
}

/// A bollard client for the engine `DockerEngine::connect(None)` finds, so
/// that cleaning up (and checking what was made) does not depend on the code
/// under test.
pub async fn raw_client() -> Result<Docker, String> {
    let endpoint =
        resolve_host(None, &|name| std::env::var(name).ok()).map_err(|e| e.to_string())?;
    let docker = if endpoint.host.starts_with("unix://") {
        Docker::connect_with_unix(&endpoint.host, 120, bollard::API_DEFAULT_VERSION)
    } else {
        Docker::connect_with_http(&endpoint.host, 120, bollard::API_DEFAULT_VERSION)
    };
    docker
        .map_err(|e| e.to_string())?
        .negotiate_version()
        .await
        .map_err(|e| e.to_string())
}

/// The list filter for the objects labelled with `stack`.
fn stack_filter(stack: &str) -> HashMap<&'static str, Vec<String>> {
    HashMap::from([("label", vec![format!("{LABEL_STACK}={stack}")])])
}

/// The containers labelled with `stack`, stopped ones too (stackc's own lock
/// and record included).
pub async fn stack_containers(
    docker: &Docker,
    stack: &str,
) -> Result<Vec<ContainerSummary>, String> {
    let filters = stack_filter(stack);
    let options = ListContainersOptionsBuilder::default()
        .all(true)
        .filters(&filters)
        .build();
    docker
        .list_containers(Some(options))
        .await
        .map_err(|e| e.to_string())
}

/// The volumes labelled with `stack`.
pub async fn stack_volumes(docker: &Docker, stack: &str) -> Result<Vec<Volume>, String> {
    let filters = stack_filter(stack);
    let options = ListVolumesOptionsBuilder::default()
        .filters(&filters)
        .build();
    let list = docker
        .list_volumes(Some(options))
        .await
        .map_err(|e| e.to_string())?;
    Ok(list.volumes.unwrap_or_default())
}

/// The images labelled with `stack`.
pub async fn stack_images(docker: &Docker, stack: &str) -> Result<Vec<ImageSummary>, String> {
    let filters = stack_filter(stack);
    let options = ListImagesOptionsBuilder::default()
        .filters(&filters)
        .build();
    docker
        .list_images(Some(options))
        .await
        .map_err(|e| e.to_string())
}

/// Removes the containers (the lock and record too), networks, volumes and
/// images labelled with `stack`.
async fn remove_stack(stack: &str) -> Result<(), String> {
    remove_stack_services(stack).await?;
    let docker = raw_client().await?;
    for c in stack_containers(&docker, stack).await? {
        if let Some(id) = c.id {
            let _ = docker
                .remove_container(
                    &id,
                    Some(RemoveContainerOptionsBuilder::default().force(true).build()),
                )
                .await;
        }
    }
    let filters = stack_filter(stack);
    let networks = docker
        .list_networks(Some(
            ListNetworksOptionsBuilder::default()
                .filters(&filters)
                .build(),
        ))
        .await
        .map_err(|e| e.to_string())?;
    for n in networks {
        if let Some(id) = n.id {
            let _ = docker.remove_network(&id).await;
        }
    }
    for v in stack_volumes(&docker, stack).await? {
        let _ = docker
            .remove_volume(
                &v.name,
                None::<bollard::query_parameters::RemoveVolumeOptions>,
            )
            .await;
    }
    for image in stack_images(&docker, stack).await? {
        let _ = docker
            .remove_image(
                &image.id,
                Some(RemoveImageOptionsBuilder::default().force(true).build()),
                None,
            )
            .await;
    }
    Ok(())
}

/// An image resource built from `context` and tagged `tag`.
pub fn build_resource(
    address: &str,
    tag: &str,
    context: &Path,
    args: BTreeMap<String, String>,
) -> Resource {
    let mut spec = Spec::Image(Box::new(ImageSpec {
        reference: None,
        build: Some(BuildSpec {
            context: context.to_string_lossy().into_owned(),
            dockerfile: "Dockerfile".into(),
            args,
            target: None,
            content_hash: String::new(),
        }),
        tag: Some(tag.into()),
        push: false,
    }));
    Resource {
        address: address.into(),
        kind: Kind::Image,
        name: tag.into(),
        hash: Resource::compute_hash(Kind::Image, tag, &mut spec, &[], &[]),
        spec,
        depends_on: Vec::new(),
        sensitive_paths: Vec::new(),
    }
}

/// `stackc-test/busybox:2`, built once per process through the engine's
/// build API (never the docker CLI) and never removed: other tests and test
/// processes may be using it. Building twice at once is harmless: the second
/// build reuses the first one's cached steps and makes the same image.
pub fn test_image() -> &'static str {
    static BUILT: OnceLock<Result<(), String>> = OnceLock::new();
    let built = BUILT.get_or_init(|| {
        std::thread::spawn(|| block_on(build_test_image()))
            .join()
            .unwrap_or_else(|_| Err("building the test image panicked".into()))
    });
    if let Err(e) = built {
        panic!("cannot build the test image {TEST_IMAGE}: {e}");
    }
    TEST_IMAGE
}

async fn build_test_image() -> Result<(), String> {
    let engine = DockerEngine::connect(None)
        .await
        .map_err(|e| e.to_string())?;
    let live = engine
        .observe(TEST_IMAGE_STACK, &[TEST_IMAGE.to_string()])
        .await
        .map_err(|e| e.to_string())?;
    if live.images.get(TEST_IMAGE).is_some_and(Option::is_some) {
        return Ok(());
    }
    let dir = temp_dir("test-image");
    let busybox = ["/bin/busybox", "/usr/bin/busybox"]
        .into_iter()
        .find(|p| Path::new(p).is_file())
        .ok_or("no static busybox at /bin/busybox")?;
    std::fs::copy(busybox, dir.join("busybox")).map_err(|e| e.to_string())?;
    make_executable(&dir.join("busybox"));
    for tool in ["pg_isready", "redis-cli", "mysqladmin"] {
        write_executable(&dir.join(tool), "#!/bin/sh\nexit 0\n");
    }
    // Servers the stdlib modules run as their command: they just keep running.
    write_executable(
        &dir.join("redis-server"),
        "#!/bin/sh\nexec httpd -f -p 6379 -h /www\n",
    );
    std::fs::write(dir.join("index.html"), "<h1>stackc test</h1>\n").map_err(|e| e.to_string())?;
    std::fs::write(
        dir.join("Dockerfile"),
        r#"FROM scratch
COPY busybox /bin/busybox
RUN ["/bin/busybox", "--install", "-s", "/bin"]
COPY pg_isready redis-cli mysqladmin redis-server /usr/local/bin/
COPY index.html /www/index.html
ENV PATH=/usr/local/bin:/bin
CMD ["httpd", "-f", "-p", "80", "-h", "/www"]
"#,
    )
    .map_err(|e| e.to_string())?;
    let resource = build_resource("image.busybox", TEST_IMAGE, &dir, BTreeMap::new());
    let built = engine.create(TEST_IMAGE_STACK, &resource, &quiet).await;
    let _ = std::fs::remove_dir_all(&dir);
    built.map(|_| ()).map_err(|e| e.to_string())
}

/// Makes the engine a single-node swarm unless it is in swarm mode already
/// (`docker swarm init --advertise-addr 127.0.0.1`), and leaves it so: the
/// tests of services need a manager. Once per process.
pub fn swarm() {
    static DONE: OnceLock<Result<(), String>> = OnceLock::new();
    let done = DONE.get_or_init(|| {
        std::thread::spawn(|| {
            block_on(async {
                let docker = raw_client().await?;
                let info = docker.info().await.map_err(|e| e.to_string())?;
                let state = info
                    .swarm
                    .and_then(|s| s.local_node_state)
                    .map(|s| s.to_string())
                    .unwrap_or_default();
                if state == "active" {
                    return Ok(());
                }
                let request = bollard::models::SwarmInitRequest {
                    listen_addr: Some("127.0.0.1:2377".into()),
                    advertise_addr: Some("127.0.0.1".into()),
                    ..Default::default()
                };
                match docker.init_swarm(request).await {
                    Ok(_) => Ok(()),
                    // Another test process got there first.
                    Err(e) if e.to_string().contains("already part of a swarm") => Ok(()),
                    Err(e) => Err(e.to_string()),
                }
            })
        })
        .join()
        .unwrap_or_else(|_| Err("swarm init panicked".into()))
    });
    if let Err(e) = done {
        panic!("cannot make the engine a swarm (docker swarm init): {e}");
    }
}

/// Removes the services labelled with `stack` (tests that make services
/// call this in their guard's stead before the rest is removed).
pub async fn remove_stack_services(stack: &str) -> Result<(), String> {
    let docker = raw_client().await?;
    let filters = stack_filter(stack);
    let services = match docker
        .list_services(Some(
            bollard::query_parameters::ListServicesOptionsBuilder::default()
                .filters(&filters)
                .build(),
        ))
        .await
    {
        Ok(s) => s,
        Err(_) => return Ok(()),
    };
    let mut ids = Vec::new();
    for s in services {
        if let Some(id) = s.id {
            let _ = docker.delete_service(&id).await;
            ids.push(id);
        }
    }
    // Their tasks' containers hold the networks until they are gone.
    for id in ids {
        let filters = HashMap::from([("label", vec![format!("com.docker.swarm.service.id={id}")])]);
        for _ in 0..120 {
            let left = docker
                .list_containers(Some(
                    ListContainersOptionsBuilder::default()
                        .all(true)
                        .filters(&filters)
                        .build(),
                ))
                .await
                .map_err(|e| e.to_string())?;
            if left.is_empty() {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(250)).await;
        }
    }
    Ok(())
}
