//! What only the Docker engine does: building images, translating every
//! container field, reporting itself, and being found like the docker CLI
//! finds it. The suite both engines pass is in `engine.rs`.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use stackc::deployment::Kind;
use stackc::deployment::{HealthSpec, Millis, MountSpec, NetworkAttachment, PortSpec};
use stackc::engine::docker::{DEFAULT_HOST, DockerEngine, resolve_host};
use stackc::engine::memory::actual_of;
use stackc::engine::{Actual, Engine, ErrorKind, Health, State, masked_spec, quiet};

use crate::docker_support::{
    StackGuard, block_on, build_resource, docker, raw_client, test_image, unique_stack,
};
use crate::support::temp_dir;

use crate::engine::{MIB, container, expect_error, find, network, run, run_of};

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
                mode: None,
            },
            PortSpec {
                container: 5353,
                protocol: "udp".into(),
                host: None,
                ip: None,
                mode: None,
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
                ipv4_address: None,
            },
            NetworkAttachment {
                network: front.name.clone(),
                aliases: vec!["api".into(), "web".into()],
                ipv4_address: None,
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
        assert_eq!(without_image, actual_of(run_of(&api), "on-failure:2"));

        // A network that does not exist: the engine would take it and fail
        // only at start; stackc says so at create.
        let attach = |second: &str| {
            let mut r = run(image);
            r.networks = vec![
                NetworkAttachment {
                    network: back.name.clone(),
                    aliases: Vec::new(),
                    ipv4_address: None,
                },
                NetworkAttachment {
                    network: second.to_string(),
                    aliases: Vec::new(),
                    ipv4_address: None,
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
