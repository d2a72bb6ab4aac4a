//! Engines: one conformance suite run against the in-memory fake and against
//! a real Docker engine, so the fake cannot drift from what Docker does; and
//! what only Docker does (building images, finding the engine).

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use async_trait::async_trait;
use stackc::deployment::Kind;
use stackc::deployment::{
    ContainerSpec, HealthSpec, Millis, MountSpec, NetworkAttachment, NetworkSpec, PortSpec,
    Resource, RunSpec, Spec, VolumeSpec,
};
use stackc::engine::docker::{DEFAULT_HOST, DockerEngine, resolve_host};
use stackc::engine::memory::{Behaviour, MemoryEngine, actual_of};
use stackc::engine::{
    Actual, Engine, EngineError, ErrorKind, Health, Holder, LiveObject, LiveState, Lock, Record,
    State, masked_spec, quiet,
};

use crate::docker_support::{
    StackGuard, TEST_IMAGE, block_on, build_resource, docker, raw_client, test_image, unique_stack,
};
use crate::support::temp_dir;

const MIB: i64 = 1024 * 1024;
/// An image no registry has (and none is reachable here anyway).
const ABSENT_IMAGE: &str = "stackc-absent/nothing:1";

/// What each engine sets up its own way for the suite.
#[async_trait]
pub trait Harness: Sync {
    /// The stack under test, and another one beside it.
    fn stack(&self) -> &str;
    fn other_stack(&self) -> &str;
    /// A runnable image present on the engine (with `sh`, `wget`, `httpd`).
    fn image(&self) -> String;
    /// The container `name` will run `sh -c 'exit <code>'` when started.
    fn will_exit(&self, name: &str, code: i64);
    /// Time passing between two polls of a state.
    async fn pause(&self);
    /// How long a container may take to get healthy or to exit.
    fn deadline(&self) -> Duration;
}

struct Fake<'a> {
    engine: &'a MemoryEngine,
}

#[async_trait]
impl Harness for Fake<'_> {
    fn stack(&self) -> &str {
        "conformance"
    }

    fn other_stack(&self) -> &str {
        "conformance-other"
    }

    fn image(&self) -> String {
        self.engine.add_image(TEST_IMAGE);
        TEST_IMAGE.into()
    }

    fn will_exit(&self, name: &str, code: i64) {
        self.engine.behave(name, Behaviour::Exit { code, polls: 2 });
    }

    async fn pause(&self) {}

    fn deadline(&self) -> Duration {
        Duration::from_secs(1)
    }
}

struct Real {
    stack: String,
    other: String,
}

#[async_trait]
impl Harness for Real {
    fn stack(&self) -> &str {
        &self.stack
    }

    fn other_stack(&self) -> &str {
        &self.other
    }

    fn image(&self) -> String {
        test_image().into()
    }

    fn will_exit(&self, _name: &str, _code: i64) {}

    async fn pause(&self) {
        tokio::time::sleep(Duration::from_millis(200)).await;
    }

    fn deadline(&self) -> Duration {
        Duration::from_secs(30)
    }
}

#[test]
fn memory_engine_conforms() {
    let engine = MemoryEngine::new();
    block_on(conformance(&engine, &Fake { engine: &engine }));
}

#[test]
fn docker_engine_conforms() {
    block_on(async {
        let Some(engine) = docker().await else {
            return;
        };
        let real = Real {
            stack: unique_stack("conformance"),
            other: unique_stack("conformance-other"),
        };
        let _guards = (StackGuard::new(&real.stack), StackGuard::new(&real.other));
        conformance(&engine, &real).await;
    });
}

// ---- resources, as the compiler would make them ----

fn resource(stack: &str, kind: Kind, name: &str, mut spec: Spec, sensitive: &[&str]) -> Resource {
    let object = format!("{stack}-{name}");
    let sensitive_paths: Vec<String> = sensitive.iter().map(|p| p.to_string()).collect();
    Resource {
        address: format!("{kind}.{name}"),
        kind,
        hash: Resource::compute_hash(kind, &object, &mut spec, &sensitive_paths, &[]),
        name: object,
        spec,
        depends_on: Vec::new(),
        sensitive_paths,
    }
}

fn network(stack: &str, name: &str) -> Resource {
    let spec = Spec::Network(Box::new(NetworkSpec {
        driver: "bridge".into(),
        internal: false,
        attachable: false,
        subnet: None,
        labels: BTreeMap::from([("purpose".into(), "tests".into())]),
    }));
    resource(stack, Kind::Network, name, spec, &[])
}

fn volume(stack: &str, name: &str, options: &[(&str, &str)]) -> Resource {
    let spec = Spec::Volume(Box::new(VolumeSpec {
        driver: "local".into(),
        options: options
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
        labels: BTreeMap::new(),
    }));
    resource(stack, Kind::Volume, name, spec, &[])
}

fn run(image: &str) -> RunSpec {
    RunSpec {
        image: image.into(),
        command: None,
        entrypoint: None,
        env: BTreeMap::new(),
        ports: Vec::new(),
        mounts: Vec::new(),
        networks: Vec::new(),
        health: None,
        user: None,
        workdir: None,
        hostname: None,
        labels: BTreeMap::new(),
        memory: None,
        cpus: None,
        read_only: false,
        cap_add: Vec::new(),
        cap_drop: Vec::new(),
        stop_timeout: Millis(1000),
    }
}

fn container(stack: &str, name: &str, run: RunSpec, restart: &str, sensitive: &[&str]) -> Resource {
    let spec = Spec::Container(Box::new(ContainerSpec {
        run,
        expose: vec!["8080/tcp".into()],
        restart: restart.into(),
        privileged: false,
        pull: Default::default(),
    }));
    resource(stack, Kind::Container, name, spec, sensitive)
}

fn run_of(resource: &Resource) -> &RunSpec {
    match &resource.spec {
        Spec::Container(c) => &c.run,
        _ => panic!("{} is no container", resource.address),
    }
}

// ---- helpers ----

fn find<'a>(live: &'a LiveState, address: &str) -> &'a LiveObject {
    live.objects
        .iter()
        .find(|o| o.address == address)
        .unwrap_or_else(|| panic!("{address} is not among {:#?}", live.objects))
}

/// Polls the state of `id` until `done` holds, or panics at the deadline.
async fn wait_for(
    engine: &dyn Engine,
    h: &dyn Harness,
    id: &str,
    what: &str,
    done: impl Fn(State) -> bool,
) -> State {
    let start = Instant::now();
    loop {
        let state = engine.state(id).await.expect("state");
        if done(state) {
            return state;
        }
        assert!(
            start.elapsed() < h.deadline(),
            "{what}: still {state} after {:?}",
            h.deadline()
        );
        h.pause().await;
    }
}

fn expect_error<T: std::fmt::Debug>(result: Result<T, EngineError>, what: &str) -> EngineError {
    match result {
        Ok(v) => panic!("{what}: expected an error, got {v:?}"),
        Err(e) => e,
    }
}

/// The suite every engine passes.
pub async fn conformance(engine: &dyn Engine, h: &dyn Harness) {
    let stack = h.stack();
    let image = h.image();

    // An empty stack.
    let live = engine.observe(stack, &[]).await.expect("observe");
    assert!(live.objects.is_empty(), "{:#?}", live.objects);
    assert_eq!(live.record, None);
    assert!(live.images.is_empty());

    // A network, a volume, and a container on the one mounting the other.
    let net = network(stack, "net");
    let data = volume(stack, "data", &[]);
    let mut web_run = run(&image);
    web_run.env = BTreeMap::from([
        ("GREETING".into(), "hello".into()),
        ("PASSWORD".into(), "s3cret-value".into()),
    ]);
    web_run.labels = BTreeMap::from([("team".into(), "shop".into())]);
    web_run.mounts = vec![
        MountSpec {
            kind: "volume".into(),
            source: Some(data.name.clone()),
            target: "/data".into(),
            read_only: false,
            size: None,
        },
        MountSpec {
            kind: "tmpfs".into(),
            source: None,
            target: "/scratch".into(),
            read_only: false,
            size: Some(MIB),
        },
    ];
    web_run.networks = vec![NetworkAttachment {
        network: net.name.clone(),
        aliases: vec!["web".into()],
    }];
    web_run.ports = vec![PortSpec {
        container: 80,
        protocol: "tcp".into(),
        host: None,
        ip: Some("127.0.0.1".into()),
    }];
    web_run.health = Some(HealthSpec {
        test: vec![
            "CMD".into(),
            "wget".into(),
            "-q".into(),
            "-O".into(),
            "/dev/null".into(),
            "http://127.0.0.1/".into(),
        ],
        interval: Millis(500),
        timeout: Millis(2000),
        retries: 3,
        start_period: Millis(0),
    });
    web_run.memory = Some(64 * MIB);
    let web = container(stack, "web", web_run, "no", &["/env/PASSWORD"]);

    let net_id = engine
        .create(stack, &net, &quiet)
        .await
        .expect("create network");
    engine
        .create(stack, &data, &quiet)
        .await
        .expect("create volume");
    let web_id = engine
        .create(stack, &web, &quiet)
        .await
        .expect("create container");

    let absent = ABSENT_IMAGE.to_string();
    let live = engine
        .observe(stack, &[image.clone(), absent.clone()])
        .await
        .expect("observe");
    let addresses: Vec<(Kind, &str)> = live
        .objects
        .iter()
        .map(|o| (o.kind, o.address.as_str()))
        .collect();
    assert_eq!(
        addresses,
        [
            (Kind::Network, "network.net"),
            (Kind::Volume, "volume.data"),
            (Kind::Container, "container.web"),
        ]
    );
    for r in [&net, &data, &web] {
        let o = find(&live, &r.address);
        assert_eq!(o.kind, r.kind);
        assert_eq!(o.name, r.name);
        assert_eq!(o.hash, r.hash, "{}", r.address);
        assert_eq!(o.spec.as_ref(), Some(&masked_spec(r)), "{}", r.address);
    }
    assert_eq!(find(&live, "network.net").id, net_id);
    assert_eq!(find(&live, "volume.data").id, data.name);
    assert_eq!(find(&live, "network.net").state, State::Present);
    assert_eq!(find(&live, "volume.data").state, State::Present);
    let o = find(&live, "container.web");
    assert_eq!(o.id, web_id);
    assert_eq!(o.state, State::Created);
    // The secret is masked in what is shown and stored, real in the values.
    assert_eq!(
        o.spec.as_ref().and_then(|s| s.pointer("/env/PASSWORD")),
        Some(&serde_json::json!("(secret)"))
    );
    let shown = serde_json::to_string(&live.objects).expect("serialize");
    assert!(!shown.contains("s3cret-value"), "{shown}");
    // The image it runs, by id: what its reference names now.
    assert_eq!(o.actual.image, live.images[&image]);
    let without_image = Actual {
        image: None,
        ..o.actual.clone()
    };
    assert_eq!(without_image, actual_of(run_of(&web), "no"));
    assert_eq!(o.actual.values["/env/PASSWORD"], "s3cret-value");
    assert_eq!(o.actual.values["/mounts/0/source"], data.name);
    assert!(
        live.images[&image]
            .as_ref()
            .is_some_and(|id| id.starts_with("sha256:"))
    );
    assert_eq!(live.images[&absent], None);

    // Another stack's objects are invisible, and this one's to it.
    let other = network(h.other_stack(), "net");
    engine
        .create(h.other_stack(), &other, &quiet)
        .await
        .expect("create other network");
    let mine = engine.observe(stack, &[]).await.expect("observe");
    assert_eq!(mine.objects.len(), 3);
    assert!(mine.objects.iter().all(|o| o.name != other.name));
    let theirs = engine
        .observe(h.other_stack(), &[])
        .await
        .expect("observe other");
    let names: Vec<&str> = theirs.objects.iter().map(|o| o.name.as_str()).collect();
    assert_eq!(names, [other.name.as_str()]);
    engine
        .remove(&theirs.objects[0])
        .await
        .expect("remove other network");

    // A name that is taken.
    let mut clash_run = run(&image);
    clash_run.command = Some(vec!["sleep".into(), "60".into()]);
    let mut clash = container(stack, "web", clash_run, "no", &[]);
    clash.address = "container.clash".into();
    let e = expect_error(
        engine.create(stack, &clash, &quiet).await,
        "container name taken",
    );
    assert_eq!(e.kind, ErrorKind::Conflict, "{e}");
    let mut net2 = network(stack, "net");
    net2.address = "network.other".into();
    net2.hash = "another".into();
    let e = expect_error(
        engine.create(stack, &net2, &quiet).await,
        "network name taken",
    );
    assert_eq!(e.kind, ErrorKind::Conflict, "{e}");
    let data2 = resource(
        stack,
        Kind::Volume,
        "data",
        Spec::Volume(Box::new(VolumeSpec {
            driver: "local".into(),
            options: BTreeMap::new(),
            labels: BTreeMap::from([("other".into(), "yes".into())]),
        })),
        &[],
    );
    let e = expect_error(
        engine.create(stack, &data2, &quiet).await,
        "volume name taken",
    );
    assert_eq!(e.kind, ErrorKind::Conflict, "{e}");
    // The same volume made again is the same volume (Docker's create is idempotent).
    assert_eq!(
        engine
            .create(stack, &data, &quiet)
            .await
            .expect("same volume again"),
        data.name
    );

    // Started, it runs, and its health check makes it healthy.
    engine.start(&web_id).await.expect("start");
    let state = engine.state(&web_id).await.expect("state");
    assert!(state.is_running(), "{state}");
    wait_for(engine, h, &web_id, "web gets healthy", |s| {
        s == State::Running {
            health: Health::Healthy,
        }
    })
    .await;
    // Starting what runs changes nothing.
    engine.start(&web_id).await.expect("start again");

    // One that exits reports its code.
    let mut job_run = run(&image);
    job_run.command = Some(vec!["sh".into(), "-c".into(), "exit 3".into()]);
    let job = container(stack, "job", job_run, "no", &[]);
    h.will_exit(&job.name, 3);
    let job_id = engine
        .create(stack, &job, &quiet)
        .await
        .expect("create job");
    engine.start(&job_id).await.expect("start job");
    let state = wait_for(engine, h, &job_id, "job exits", |s| {
        matches!(s, State::Exited { .. })
    })
    .await;
    assert_eq!(state, State::Exited { code: 3 });

    // What Docker changes live: restart policy, memory (raised past the
    // swap limit it was created with), cpus.
    let mut changed = run_of(&web).clone();
    changed.memory = Some(256 * MIB);
    changed.cpus = Some(0.5);
    engine
        .update(&web_id, &changed, "on-failure:3")
        .await
        .expect("update");
    let live = engine.observe(stack, &[]).await.expect("observe");
    let o = find(&live, "container.web");
    assert_eq!(o.actual.restart.as_deref(), Some("on-failure:3"));
    assert_eq!(o.actual.memory, Some(256 * MIB));
    assert_eq!(o.actual.cpus, Some(0.5));
    assert!(o.state.is_running(), "{}", o.state);
    engine
        .update(&web_id, &changed, "unless-stopped")
        .await
        .expect("update restart only");
    // A limit cannot be lifted live.
    let mut unlimited = changed.clone();
    unlimited.memory = None;
    let e = expect_error(
        engine.update(&web_id, &unlimited, "no").await,
        "lift the memory limit",
    );
    assert!(e.message.contains("memory"), "{e}");
    let live = engine.observe(stack, &[]).await.expect("observe");
    let o = find(&live, "container.web");
    assert_eq!(o.actual.restart.as_deref(), Some("unless-stopped"));
    assert_eq!(o.actual.memory, Some(256 * MIB));

    // Stopped, it has exited; started again, it runs.
    engine.stop(&web_id, Millis(1000)).await.expect("stop");
    let state = engine.state(&web_id).await.expect("state");
    assert!(matches!(state, State::Exited { .. }), "{state}");
    engine.start(&web_id).await.expect("start after stop");
    assert!(engine.state(&web_id).await.expect("state").is_running());

    // A network in use cannot be removed; once its container is gone, it can.
    let live = engine.observe(stack, &[]).await.expect("observe");
    let e = expect_error(
        engine.remove(find(&live, "network.net")).await,
        "remove a network in use",
    );
    assert_eq!(e.kind, ErrorKind::Conflict, "{e}");
    assert!(e.message.contains("active endpoints"), "{e}");
    assert_eq!(
        e.object.as_deref(),
        Some(format!("network {}", net.name).as_str())
    );
    engine
        .remove(find(&live, "container.web"))
        .await
        .expect("remove a running container");
    engine
        .remove(find(&live, "container.job"))
        .await
        .expect("remove an exited container");
    engine
        .remove(find(&live, "network.net"))
        .await
        .expect("remove the network");
    engine
        .remove(find(&live, "volume.data"))
        .await
        .expect("remove the volume");
    let live = engine.observe(stack, &[]).await.expect("observe");
    assert!(live.objects.is_empty(), "{:#?}", live.objects);

    // A network that does not exist.
    let mut lost_run = run(&image);
    lost_run.networks = vec![NetworkAttachment {
        network: format!("{stack}-nowhere"),
        aliases: Vec::new(),
    }];
    let lost = container(stack, "lost", lost_run, "no", &[]);
    let e = expect_error(engine.create(stack, &lost, &quiet).await, "missing network");
    assert_eq!(e.kind, ErrorKind::NotFound, "{e}");
    assert!(e.message.contains(&format!("{stack}-nowhere")), "{e}");

    // An image that is absent and cannot be pulled.
    let lost = container(stack, "lost", run(ABSENT_IMAGE), "no", &[]);
    let e = expect_error(engine.create(stack, &lost, &quiet).await, "absent image");
    assert!(e.to_string().contains(ABSENT_IMAGE), "{e}");
    let live = engine
        .observe(stack, std::slice::from_ref(&absent))
        .await
        .expect("observe");
    assert!(live.objects.is_empty(), "{:#?}", live.objects);
    assert!(live.images[&absent].is_none());

    // The lock: taken, held, released.
    let first = Holder {
        who: "alice@laptop".into(),
        pid: 4242,
        operation: "apply".into(),
        since: 1_700_000_000,
    };
    let second = Holder {
        who: "bob@ci".into(),
        pid: 7,
        operation: "destroy".into(),
        since: 1_700_000_100,
    };
    assert_eq!(
        engine.lock(stack, &first).await.expect("lock"),
        Lock::Acquired
    );
    assert_eq!(
        engine.lock(stack, &second).await.expect("lock again"),
        Lock::HeldBy(first.clone())
    );
    // Another stack's lock is its own.
    assert_eq!(
        engine
            .lock(h.other_stack(), &second)
            .await
            .expect("lock other"),
        Lock::Acquired
    );
    assert!(engine.unlock(h.other_stack()).await.expect("unlock other"));
    assert!(engine.unlock(stack).await.expect("unlock"));
    assert!(!engine.unlock(stack).await.expect("unlock again"));
    assert_eq!(
        engine
            .lock(stack, &second)
            .await
            .expect("lock after unlock"),
        Lock::Acquired
    );

    // The record: written, replaced, read, removed; never among the objects.
    let record = Record {
        addresses: ["container.web".to_string(), "network.net".to_string()].into(),
        outputs: Some(serde_json::Map::from_iter([(
            "url".to_string(),
            serde_json::json!("http://web:80"),
        )])),
    };
    engine
        .write_record(stack, Some(&record))
        .await
        .expect("write record");
    let live = engine.observe(stack, &[]).await.expect("observe");
    assert_eq!(live.record.as_ref(), Some(&record));
    assert!(live.objects.is_empty(), "{:#?}", live.objects);
    let replaced = Record {
        addresses: ["volume.data".to_string()].into(),
        outputs: None,
    };
    engine
        .write_record(stack, Some(&replaced))
        .await
        .expect("replace record");
    let live = engine.observe(stack, &[]).await.expect("observe");
    assert_eq!(live.record, Some(replaced));
    engine
        .write_record(stack, None)
        .await
        .expect("remove record");
    engine
        .write_record(stack, None)
        .await
        .expect("remove an absent record");
    assert_eq!(
        engine.observe(stack, &[]).await.expect("observe").record,
        None
    );
    assert!(engine.unlock(stack).await.expect("unlock"));
}

// ---- Docker only ----

#[test]
fn docker_builds_images_and_reports_failing_steps() {
    block_on(async {
        let Some(engine) = docker().await else {
            return;
        };
        let base = test_image();
        let stack = unique_stack("build");
        let _guard = StackGuard::new(&stack);

        let dir = temp_dir("build");
        std::fs::create_dir_all(dir.join("site")).expect("mkdir");
        std::fs::write(dir.join("site/hello.txt"), "hello from the context\n").expect("write");
        std::fs::write(
            dir.join("Dockerfile"),
            format!(
                "FROM {base}\nARG GREETING=none\nCOPY site /site\nRUN echo \"$GREETING\" > /site/greeting && cat /site/hello.txt\n"
            ),
        )
        .expect("write");
        let tag = format!("{stack}-app:1");
        let args = BTreeMap::from([("GREETING".to_string(), "hi".to_string())]);
        let app = build_resource("image.app", &tag, &dir, args);
        let id = engine.create(&stack, &app, &quiet).await.expect("build");
        assert!(id.starts_with("sha256:"), "{id}");

        let live = engine
            .observe(&stack, std::slice::from_ref(&tag))
            .await
            .expect("observe");
        assert!(live.images[&tag].is_some());
        assert_eq!(live.objects.len(), 1, "{:#?}", live.objects);
        let image = &live.objects[0];
        assert_eq!(
            (image.kind, image.address.as_str(), image.name.as_str()),
            (Kind::Image, "image.app", tag.as_str())
        );
        assert_eq!(image.id, id);
        assert_eq!(image.hash, app.hash);
        assert_eq!(image.spec.as_ref(), Some(&masked_spec(&app)));

        // A container of the image runs what the build made.
        let mut check = run(&tag);
        check.command = Some(vec![
            "sh".into(),
            "-c".into(),
            "test \"$(cat /site/greeting)\" = hi".into(),
        ]);
        let checker = container(&stack, "check", check, "no", &[]);
        let checker_id = engine
            .create(&stack, &checker, &quiet)
            .await
            .expect("create");
        engine.start(&checker_id).await.expect("start");
        let start = Instant::now();
        let state = loop {
            let state = engine.state(&checker_id).await.expect("state");
            if matches!(state, State::Exited { .. }) || start.elapsed() > Duration::from_secs(30) {
                break state;
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        };
        assert_eq!(state, State::Exited { code: 0 });
        // The container made from the stack's image is the container, not the image.
        let live = engine.observe(&stack, &[]).await.expect("observe");
        let kinds: Vec<Kind> = live.objects.iter().map(|o| o.kind).collect();
        assert_eq!(kinds, [Kind::Image, Kind::Container]);
        // An image in use stays; without its container it goes.
        let e = expect_error(
            engine.remove(&live.objects[0]).await,
            "remove an image in use",
        );
        assert_eq!(e.kind, ErrorKind::Conflict, "{e}");
        engine
            .remove(&live.objects[1])
            .await
            .expect("remove container");
        engine.remove(&live.objects[0]).await.expect("remove image");
        let live = engine
            .observe(&stack, std::slice::from_ref(&tag))
            .await
            .expect("observe");
        assert!(live.objects.is_empty(), "{:#?}", live.objects);
        assert!(live.images[&tag].is_none());

        // A failing step: the error carries its output and Docker's detail.
        std::fs::write(
            dir.join("Dockerfile"),
            format!("FROM {base}\nRUN echo step-output-marker && exit 3\n"),
        )
        .expect("write");
        let broken = build_resource(
            "image.broken",
            &format!("{stack}-broken:1"),
            &dir,
            BTreeMap::new(),
        );
        let e = expect_error(
            engine.create(&stack, &broken, &quiet).await,
            "failing build",
        );
        let text = e.to_string();
        assert!(text.contains("step-output-marker"), "{text}");
        assert!(text.contains("returned a non-zero code: 3"), "{text}");
        assert!(
            text.starts_with(&format!("image {stack}-broken:1")),
            "{text}"
        );
        let _ = std::fs::remove_dir_all(&dir);
    });
}

#[test]
fn docker_translates_every_container_field() {
    block_on(async {
        let Some(engine) = docker().await else {
            return;
        };
        let image = test_image();
        let stack = unique_stack("fields");
        let _guard = StackGuard::new(&stack);
        let raw = raw_client().await.expect("a bollard client");
        let back = network(&stack, "back");
        let front = network(&stack, "front");
        engine
            .create(&stack, &back, &quiet)
            .await
            .expect("create back");
        engine
            .create(&stack, &front, &quiet)
            .await
            .expect("create front");
        let shared = temp_dir("bind");
        std::fs::write(shared.join("note.txt"), "from the host\n").expect("write");

        let mut r = run(image);
        r.command = Some(vec![
            "httpd".into(),
            "-f".into(),
            "-p".into(),
            "8080".into(),
            "-h".into(),
            "/www".into(),
        ]);
        r.env = BTreeMap::from([("A".into(), "1".into()), ("B".into(), "x=y".into())]);
        r.ports = vec![
            PortSpec {
                container: 8080,
                protocol: "tcp".into(),
                host: None,
                ip: Some("127.0.0.1".into()),
            },
            PortSpec {
                container: 5353,
                protocol: "udp".into(),
                host: None,
                ip: None,
            },
        ];
        r.mounts = vec![
            MountSpec {
                kind: "bind".into(),
                source: Some(shared.to_string_lossy().into_owned()),
                target: "/host".into(),
                read_only: true,
                size: None,
            },
            MountSpec {
                kind: "tmpfs".into(),
                source: None,
                target: "/scratch".into(),
                read_only: false,
                size: Some(2 * MIB),
            },
        ];
        r.networks = vec![
            NetworkAttachment {
                network: back.name.clone(),
                aliases: vec!["api-back".into()],
            },
            NetworkAttachment {
                network: front.name.clone(),
                aliases: vec!["api".into(), "web".into()],
            },
        ];
        r.health = Some(HealthSpec {
            test: vec![
                "CMD-SHELL".into(),
                "wget -q -O /dev/null http://127.0.0.1:8080/ && test -f /host/note.txt".into(),
            ],
            interval: Millis(1000),
            timeout: Millis(2000),
            retries: 5,
            start_period: Millis(3000),
        });
        r.user = Some("1000".into());
        r.workdir = Some("/www".into());
        r.hostname = Some("api-host".into());
        r.labels = BTreeMap::from([("team".into(), "shop".into())]);
        r.memory = Some(32 * MIB);
        r.cpus = Some(0.25);
        r.read_only = true;
        r.cap_add = vec!["NET_ADMIN".into()];
        r.cap_drop = vec!["MKNOD".into()];
        r.stop_timeout = Millis(1500);
        let api = container(&stack, "api", r, "on-failure:2", &[]);
        let id = engine.create(&stack, &api, &quiet).await.expect("create");

        let c = raw.inspect_container(&id, None).await.expect("inspect");
        let config = c.config.clone().expect("config");
        assert_eq!(config.image.as_deref(), Some(image));
        assert_eq!(config.cmd, run_of(&api).command);
        let env = config.env.clone().unwrap_or_default();
        assert!(
            env.contains(&"A=1".to_string()) && env.contains(&"B=x=y".to_string()),
            "{env:?}"
        );
        let mut exposed = config.exposed_ports.clone().unwrap_or_default();
        exposed.sort();
        assert_eq!(exposed, ["5353/udp", "8080/tcp"]);
        let health = config.healthcheck.clone().expect("health check");
        assert_eq!(
            health.test,
            run_of(&api).health.as_ref().map(|h| h.test.clone())
        );
        assert_eq!(
            (
                health.interval,
                health.timeout,
                health.retries,
                health.start_period
            ),
            (
                Some(1_000_000_000),
                Some(2_000_000_000),
                Some(5),
                Some(3_000_000_000)
            )
        );
        assert_eq!(config.user.as_deref(), Some("1000"));
        assert_eq!(config.working_dir.as_deref(), Some("/www"));
        assert_eq!(config.hostname.as_deref(), Some("api-host"));
        assert_eq!(config.stop_timeout, Some(2));
        let labels = config.labels.clone().unwrap_or_default();
        assert_eq!(labels.get("team").map(String::as_str), Some("shop"));
        assert_eq!(
            labels.get("io.stackc.address").map(String::as_str),
            Some("container.api")
        );
        let host = c.host_config.clone().expect("host config");
        let bindings = host.port_bindings.clone().unwrap_or_default();
        let tcp = bindings["8080/tcp"].clone().unwrap_or_default();
        assert_eq!(tcp.len(), 1);
        assert_eq!(tcp[0].host_ip.as_deref(), Some("127.0.0.1"));
        assert!(bindings.contains_key("5353/udp"), "{bindings:?}");
        let mounts = host.mounts.clone().unwrap_or_default();
        assert_eq!(mounts.len(), 2);
        let bind = mounts
            .iter()
            .find(|m| m.target.as_deref() == Some("/host"))
            .expect("bind");
        assert_eq!(bind.read_only, Some(true));
        let tmpfs = mounts
            .iter()
            .find(|m| m.target.as_deref() == Some("/scratch"))
            .expect("tmpfs");
        assert_eq!(
            tmpfs.tmpfs_options.as_ref().and_then(|t| t.size_bytes),
            Some(2 * MIB)
        );
        let restart = host.restart_policy.clone().expect("restart policy");
        assert_eq!(restart.maximum_retry_count, Some(2));
        assert_eq!(host.memory, Some(32 * MIB));
        assert_eq!(host.nano_cpus, Some(250_000_000));
        assert_eq!(host.readonly_rootfs, Some(true));
        assert_eq!(host.privileged, Some(false));
        assert_eq!(host.cap_add, Some(vec!["NET_ADMIN".to_string()]));
        assert_eq!(host.cap_drop, Some(vec!["MKNOD".to_string()]));
        assert_eq!(host.network_mode.as_deref(), Some(back.name.as_str()));
        // Both networks, with their aliases, before the container ever started.
        let networks = c
            .network_settings
            .clone()
            .and_then(|n| n.networks)
            .unwrap_or_default();
        let mut attached: Vec<&String> = networks.keys().collect();
        attached.sort();
        assert_eq!(attached, [&back.name, &front.name]);
        let aliases = networks[&front.name].aliases.clone().unwrap_or_default();
        assert!(
            aliases.contains(&"api".to_string()) && aliases.contains(&"web".to_string()),
            "{aliases:?}"
        );

        // It runs as specified: healthy, and read back as it was made.
        engine.start(&id).await.expect("start");
        let start = Instant::now();
        loop {
            let state = engine.state(&id).await.expect("state");
            if state
                == (State::Running {
                    health: Health::Healthy,
                })
            {
                break;
            }
            assert!(start.elapsed() < Duration::from_secs(30), "still {state}");
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        let live = engine.observe(&stack, &[]).await.expect("observe");
        let o = find(&live, "container.api");
        let without_image = Actual {
            image: None,
            ..o.actual.clone()
        };
        assert_eq!(without_image, actual_of(run_of(&api), "on-failure:2"));

        // A network that does not exist: the engine would take it and fail
        // only at start; stackc says so at create.
        let attach = |second: &str| {
            let mut r = run(image);
            r.networks = vec![
                NetworkAttachment {
                    network: back.name.clone(),
                    aliases: Vec::new(),
                },
                NetworkAttachment {
                    network: second.to_string(),
                    aliases: Vec::new(),
                },
            ];
            container(&stack, "stray", r, "no", &[])
        };
        let missing = format!("{stack}-missing");
        let stray = attach(&missing);
        let e = expect_error(
            engine.create(&stack, &stray, &quiet).await,
            "missing network",
        );
        assert_eq!(e.kind, ErrorKind::NotFound, "{e}");
        assert!(e.to_string().contains(&missing), "{e}");
        assert_eq!(
            e.object.as_deref(),
            Some(format!("container {}", stray.name).as_str())
        );
        // A network the engine refuses to join after create (`host`, beside
        // another): the half-made container is removed.
        let stray = attach("host");
        let e = expect_error(engine.create(&stack, &stray, &quiet).await, "host network");
        assert!(e.message.contains("host network"), "{e}");
        let left = raw.inspect_container(&stray.name, None).await;
        assert!(left.is_err(), "{left:?}");
        let _ = std::fs::remove_dir_all(&shared);
    });
}

#[test]
fn docker_services_are_not_supported_yet() {
    block_on(async {
        let Some(engine) = docker().await else {
            return;
        };
        let stack = unique_stack("service");
        let _guard = StackGuard::new(&stack);
        let spec = Spec::Service(Box::new(stackc::deployment::ServiceSpec {
            run: run(TEST_IMAGE),
            replicas: 2,
            update: stackc::deployment::UpdateSpec {
                parallelism: 1,
                delay: Millis(0),
                order: "stop-first".into(),
                failure_action: "pause".into(),
            },
            placement: stackc::deployment::PlacementSpec {
                constraints: Vec::new(),
            },
        }));
        let service = resource(&stack, Kind::Service, "api", spec, &[]);
        let e = expect_error(engine.create(&stack, &service, &quiet).await, "service");
        assert!(
            e.to_string().contains("Swarm services are not supported"),
            "{e}"
        );
    });
}

#[test]
fn docker_reports_engine_details() {
    block_on(async {
        let Some(engine) = docker().await else {
            return;
        };
        let described = engine.describe();
        let (major, minor) = engine.api_version();
        assert!(
            described.ends_with(&format!("(API {major}.{minor})")),
            "{described}"
        );
        assert!(described.starts_with(engine.host()), "{described}");
    });
}

// ---- finding the engine ----

fn env_of(vars: &[(&str, String)]) -> impl Fn(&str) -> Option<String> + use<> {
    let vars: BTreeMap<String, String> = vars
        .iter()
        .map(|(k, v)| (k.to_string(), v.clone()))
        .collect();
    move |name| vars.get(name).cloned()
}

#[test]
fn the_engine_is_found_like_the_docker_cli_finds_it() {
    let config = temp_dir("docker-config");
    let dir = config.to_string_lossy().into_owned();
    // Nothing set: the local socket.
    let found = resolve_host(None, &env_of(&[])).expect("default");
    assert_eq!(found.host, DEFAULT_HOST);
    // --host wins over DOCKER_HOST, which wins over a context.
    let env = env_of(&[
        ("DOCKER_HOST", "tcp://10.1.2.3:2375".into()),
        ("DOCKER_CONTEXT", "remote".into()),
        ("DOCKER_CONFIG", dir.clone()),
    ]);
    assert_eq!(
        resolve_host(Some("unix:///tmp/other.sock"), &env)
            .expect("explicit")
            .host,
        "unix:///tmp/other.sock"
    );
    let found = resolve_host(None, &env).expect("DOCKER_HOST");
    assert_eq!(
        (found.host.as_str(), found.source.as_str()),
        ("tcp://10.1.2.3:2375", "DOCKER_HOST")
    );
    // A bare host:port is TCP.
    assert_eq!(
        resolve_host(Some("localhost:2375"), &env_of(&[]))
            .expect("bare")
            .host,
        "tcp://localhost:2375"
    );

    // A context: its endpoint is in meta.json under the SHA-256 of its name.
    let name = "remote";
    let hash = stackc::digest::sha256_hex(name.as_bytes());
    let meta = config.join("contexts/meta").join(&hash);
    std::fs::create_dir_all(&meta).expect("mkdir");
    std::fs::write(
        meta.join("meta.json"),
        r#"{"Name":"remote","Metadata":{},"Endpoints":{"docker":{"Host":"tcp://192.0.2.7:2375","SkipTLSVerify":false}}}"#,
    )
    .expect("write");
    let by_env = resolve_host(
        None,
        &env_of(&[
            ("DOCKER_CONTEXT", name.into()),
            ("DOCKER_CONFIG", dir.clone()),
        ]),
    )
    .expect("DOCKER_CONTEXT");
    assert_eq!(by_env.host, "tcp://192.0.2.7:2375");
    assert_eq!(by_env.source, "docker context \"remote\"");
    assert!(!by_env.tls);
    std::fs::write(
        config.join("config.json"),
        r#"{"currentContext": "remote"}"#,
    )
    .expect("write");
    let by_config = resolve_host(None, &env_of(&[("DOCKER_CONFIG", dir.clone())])).expect("config");
    assert_eq!(by_config, by_env);
    // `default` is the local socket; an unknown context is an error naming it.
    let default = resolve_host(
        None,
        &env_of(&[
            ("DOCKER_CONTEXT", "default".into()),
            ("DOCKER_CONFIG", dir.clone()),
        ]),
    )
    .expect("default context");
    assert_eq!(default.host, DEFAULT_HOST);
    let e = resolve_host(
        None,
        &env_of(&[
            ("DOCKER_CONTEXT", "nowhere".into()),
            ("DOCKER_CONFIG", dir.clone()),
        ]),
    )
    .expect_err("unknown context");
    assert!(e.message.contains("\"nowhere\""), "{e}");
    // TLS material beside a context means TLS.
    std::fs::create_dir_all(config.join("contexts/tls").join(&hash).join("docker")).expect("mkdir");
    let tls = resolve_host(None, &env_of(&[("DOCKER_CONFIG", dir.clone())])).expect("tls");
    assert!(tls.tls);
    let _ = std::fs::remove_dir_all(&config);
}

#[test]
fn no_engine_is_a_clear_error_naming_the_address() {
    let e = block_on(DockerEngine::connect(Some(
        "unix:///nonexistent/stackc-test.sock",
    )))
    .err()
    .expect("no engine there");
    assert_eq!(e.kind, ErrorKind::Unavailable);
    assert!(
        e.message.starts_with(
            "cannot connect to the Docker engine at unix:///nonexistent/stackc-test.sock: "
        ),
        "{e}"
    );
    assert!(
        e.message
            .ends_with("is it running? set DOCKER_HOST or --host"),
        "{e}"
    );
    let e = block_on(DockerEngine::connect(Some("https://192.0.2.1:2376")))
        .err()
        .expect("TLS");
    assert!(e.message.contains("TLS"), "{e}");
    let e = block_on(DockerEngine::connect(Some("ssh://me@example")))
        .err()
        .expect("ssh");
    assert!(e.message.contains("unix:// and tcp://"), "{e}");
}

#[test]
fn docker_ignores_images_another_engine_built() {
    block_on(async {
        let Some(engine) = docker().await else {
            return;
        };
        let base = test_image();
        let stack = unique_stack("foreign");
        let _guard = StackGuard::new(&stack);
        // An image with the stack's labels, as one built elsewhere arrives by a pull.
        let dir = temp_dir("foreign");
        std::fs::write(
            dir.join("Dockerfile"),
            format!(
                "FROM {base}\nLABEL io.stackc.stack={stack} io.stackc.address=image.app io.stackc.hash=elsewhere io.stackc.engine=another-engine\n"
            ),
        )
        .expect("write");
        let archive = stackc::build_context::tar(&dir, "Dockerfile").expect("tar");
        let raw = raw_client().await.expect("a bollard client");
        let tag = format!("{stack}-foreign:1");
        let options = bollard::query_parameters::BuildImageOptionsBuilder::default()
            .t(&tag)
            .rm(true)
            .build();
        let mut build = raw.build_image(options, None, Some(bollard::body_full(archive.into())));
        while let Some(step) = futures_util::StreamExt::next(&mut build).await {
            step.expect("build");
        }
        let live = engine.observe(&stack, &[]).await.expect("observe");
        assert!(
            live.objects.is_empty(),
            "another engine's build is not the stack's: {:#?}",
            live.objects
        );
    });
}
