//! Engines: one conformance suite run against the in-memory fake and against
//! a real Docker engine, so the fake cannot drift from what Docker does.
//! What only Docker does is in `docker_engine.rs`.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use async_trait::async_trait;
use stackc::deployment::Kind;
use stackc::deployment::{
    ContainerSpec, HealthSpec, Millis, MountSpec, NetworkAttachment, NetworkSpec, PortSpec,
    Resource, RunSpec, Spec, VolumeSpec,
};
use stackc::engine::memory::{Behaviour, MemoryEngine, actual_of};
use stackc::engine::{
    Actual, Engine, EngineError, ErrorKind, Health, Holder, LiveObject, LiveState, Lock, Record,
    State, masked_spec, quiet,
};

use crate::docker_support::{StackGuard, TEST_IMAGE, block_on, docker, test_image, unique_stack};

pub(crate) const MIB: i64 = 1024 * 1024;
/// An image no registry has (and none is reachable here anyway).
pub(crate) const ABSENT_IMAGE: &str = "stackc-absent/nothing:1";

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

pub(crate) fn resource(
    stack: &str,
    kind: Kind,
    name: &str,
    mut spec: Spec,
    sensitive: &[&str],
) -> Resource {
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

pub(crate) fn network(stack: &str, name: &str) -> Resource {
    let spec = Spec::Network(Box::new(NetworkSpec {
        driver: "bridge".into(),
        internal: false,
        attachable: false,
        subnet: None,
        labels: BTreeMap::from([("purpose".into(), "tests".into())]),
        encrypted: false,
    }));
    resource(stack, Kind::Network, name, spec, &[])
}

pub(crate) fn volume(stack: &str, name: &str, options: &[(&str, &str)]) -> Resource {
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

pub(crate) fn run(image: &str) -> RunSpec {
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

pub(crate) fn container(
    stack: &str,
    name: &str,
    run: RunSpec,
    restart: &str,
    sensitive: &[&str],
) -> Resource {
    let spec = Spec::Container(Box::new(ContainerSpec {
        run,
        expose: vec!["8080/tcp".into()],
        restart: restart.into(),
        privileged: false,
        pull: Default::default(),
        files: Vec::new(),
        options: Default::default(),
        network_mode: None,
    }));
    resource(stack, Kind::Container, name, spec, sensitive)
}

pub(crate) fn run_of(resource: &Resource) -> &RunSpec {
    match &resource.spec {
        Spec::Container(c) => &c.run,
        _ => panic!("{} is no container", resource.address),
    }
}

// ---- helpers ----

pub(crate) fn find<'a>(live: &'a LiveState, address: &str) -> &'a LiveObject {
    live.objects
        .iter()
        .find(|o| o.address == address)
        .unwrap_or_else(|| panic!("{address} is not among {:#?}", live.objects))
}

/// Polls the state of `id` until `done` holds, or panics at the deadline.
pub(crate) async fn wait_for(
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

pub(crate) fn expect_error<T: std::fmt::Debug>(
    result: Result<T, EngineError>,
    what: &str,
) -> EngineError {
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
        ipv4_address: None,
    }];
    web_run.ports = vec![PortSpec {
        container: 80,
        protocol: "tcp".into(),
        host: None,
        ip: Some("127.0.0.1".into()),
        mode: None,
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
        network_ids: Default::default(),
        ..o.actual.clone()
    };
    // An attachment is to a network known by its id (once the container has run).
    assert!(
        o.actual
            .network_ids
            .keys()
            .all(|n| o.actual.networks.contains_key(n)),
        "{:?}",
        o.actual.network_ids
    );
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
        ipv4_address: None,
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
        settings: Default::default(),
        // A `moved` block applied: the label keeps the old address.
        moved: [(
            "volume.data".to_string(),
            "postgres.db.volume.data".to_string(),
        )]
        .into(),
    };
    engine
        .write_record(stack, Some(&record))
        .await
        .expect("write record");
    let live = engine.observe(stack, &[]).await.expect("observe");
    assert_eq!(live.record.as_ref(), Some(&record));
    assert_eq!(
        engine.read_record(stack).await.expect("read record"),
        Some(record.clone())
    );
    assert!(live.objects.is_empty(), "{:#?}", live.objects);
    let replaced = Record {
        addresses: ["volume.data".to_string()].into(),
        outputs: None,
        settings: Default::default(),
        moved: Default::default(),
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
    assert_eq!(engine.read_record(stack).await.expect("read record"), None);
    assert_eq!(
        engine.observe(stack, &[]).await.expect("observe").record,
        None
    );
    assert!(engine.unlock(stack).await.expect("unlock"));
}

// ---- Swarm services: the same suite, both engines ----

#[test]
fn memory_engine_services_conform() {
    let engine = MemoryEngine::new();
    block_on(services_conformance(&engine, &Fake { engine: &engine }));
}

#[test]
fn docker_engine_services_conform() {
    block_on(async {
        let Some(engine) = docker().await else {
            return;
        };
        crate::docker_support::swarm();
        let real = Real {
            stack: unique_stack("svc_conformance"),
            other: unique_stack("svc_conformance_other"),
        };
        let _guard = StackGuard::new(&real.stack);
        services_conformance(&engine, &real).await;
    });
}

/// Polls a service's rollout until every task runs its spec.
async fn converged(
    engine: &dyn Engine,
    h: &dyn Harness,
    id: &str,
) -> stackc::engine::swarm::Rollout {
    let start = Instant::now();
    loop {
        let rollout = engine.rollout(id).await.expect("rollout");
        let settled = rollout
            .update
            .as_ref()
            .is_none_or(|u| u.state == stackc::engine::swarm::UpdateState::Completed);
        if settled && rollout.running == rollout.desired {
            return rollout;
        }
        assert!(start.elapsed() < h.deadline(), "not converged: {rollout:?}");
        h.pause().await;
    }
}

/// What every engine does with services: made on an overlay network, read
/// back as they were given (no drift), updated in place naming their
/// version (a stale one is refused), removed.
pub async fn services_conformance(engine: &dyn Engine, h: &dyn Harness) {
    let stack = h.stack();
    let image = h.image();
    assert_eq!(engine.swarm_refusal().await.expect("swarm state"), None);
    let source = |replicas: u32, greeting: &str| {
        format!(
            r#"
stack "{stack}"
network "mesh" {{ driver = "overlay", attachable = true }}
service "api" {{
  image    = "{image}"
  command  = ["httpd", "-f", "-p", "8080", "-h", "/www"]
  env      = {{ GREETING = "{greeting}" }}
  networks = [{{ network = network.mesh, aliases = ["backend"] }}]
  replicas = {replicas}
  labels   = {{ team = "shop" }}
  container_labels = {{ tier = "api" }}
  memory   = 64MiB
  reservations = {{ memory = 16MiB }}
  health   = {{ cmd = "wget -q -O /dev/null http://127.0.0.1:8080/", interval = 500ms, timeout = 2s }}
  update   = {{ parallelism = 0, order = "start-first", failure_action = "rollback", monitor = 500ms }}
  rollback = {{ parallelism = 0, monitor = 500ms }}
  placement = {{ constraints = ["node.role == manager"], max_replicas = 3 }}
  restart_policy = {{ condition = "on-failure", delay = 500ms, max_attempts = 3 }}
  stop_signal  = "SIGKILL"
  stop_timeout = 1s
}}
"#
        )
    };
    let first = crate::support::deploy(&source(1, "hello"), &[]);
    let mesh = first.resource("network.mesh").expect("the network");
    let api = first.resource("service.api").expect("the service");
    engine
        .create(stack, mesh, &quiet)
        .await
        .expect("create the overlay network");
    let id = engine
        .create(stack, api, &quiet)
        .await
        .expect("create the service");
    converged(engine, h, &id).await;

    // Found by its labels, read back as it was given: nothing to plan.
    let live = engine.observe(stack, &[]).await.expect("observe");
    let o = find(&live, "service.api");
    assert_eq!(
        (o.kind, o.id.as_str(), o.name.as_str()),
        (Kind::Service, id.as_str(), api.name.as_str())
    );
    assert_eq!(o.hash, api.hash);
    let plan = stackc::plan::diff(&first, &live, &Default::default());
    assert!(!plan.has_changes(), "{:#?}", plan.resource_changes);
    assert!(plan.drift.is_empty(), "{:#?}", plan.drift);
    let version = o
        .actual
        .service
        .as_ref()
        .expect("a service's live state")
        .version;

    // Updated in place: the same service, at a newer version.
    let second = crate::support::deploy(&source(2, "hi"), &[]);
    let api2 = second.resource("service.api").expect("the service");
    engine
        .update_service(stack, api2, o, false)
        .await
        .expect("update");
    converged(engine, h, &id).await;
    let live = engine.observe(stack, &[]).await.expect("observe");
    let updated = find(&live, "service.api");
    assert_eq!(updated.id, id);
    assert_eq!(updated.hash, api2.hash);
    let service = updated.actual.service.as_ref().expect("live state");
    assert!(service.version > version);
    assert_eq!(service.spec["replicas"], 2);
    assert_eq!(service.spec["env"]["GREETING"], "hi");
    let plan = stackc::plan::diff(&second, &live, &Default::default());
    assert!(!plan.has_changes(), "{:#?}", plan.resource_changes);

    // A write naming the version read before the last one is refused.
    let stale = engine
        .update_service(stack, &first.resources[1], o, false)
        .await;
    let e = expect_error(stale, "stale version");
    assert_eq!(e.kind, ErrorKind::Conflict, "{e}");

    // Removed; then its network can go.
    engine.remove(updated).await.expect("remove the service");
    let live = engine.observe(stack, &[]).await.expect("observe");
    assert!(
        live.objects.iter().all(|o| o.kind != Kind::Service),
        "{:#?}",
        live.objects
    );
    engine
        .remove(find(&live, "network.mesh"))
        .await
        .expect("remove the network");
}
