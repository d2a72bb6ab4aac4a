//! The whole tool on a real engine, through the binary: the examples plan,
//! apply, re-plan to "No changes.", show drift when changed by hand, and
//! destroy cleanly; saved plans, locks and secrets behave as documented.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;

use bollard::query_parameters::{
    InspectContainerOptions, RemoveContainerOptionsBuilder, StopContainerOptionsBuilder,
};
use stackc::engine::{Engine, Holder};

use crate::docker_support::{
    StackGuard, block_on, docker, docker_stack, raw_client, stack_containers, stack_images,
    stack_volumes, test_image, unique_stack,
};
use crate::support::{
    command, copy_tree, ok, root, run, stack_dir, stackc_env, stderr, stdout, temp_dir,
};

/// A copy of an example, renamed to a stack of its own.
fn example(name: &str, stack: &str) -> PathBuf {
    let dir = temp_dir(&format!("e2e-{name}"));
    copy_tree(&root().join("examples").join(name), &dir);
    let main = dir.join("main.stack");
    let text = std::fs::read_to_string(&main)
        .unwrap()
        .replace(&format!("stack \"{name}\""), &format!("stack \"{stack}\""));
    std::fs::write(&main, text).unwrap();
    dir
}

/// A port nothing listens on now, with `extra` more free above it.
fn free_ports(offsets: &[u16]) -> u16 {
    loop {
        let base = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        if base < 60_000
            && offsets
                .iter()
                .all(|o| TcpListener::bind(("127.0.0.1", base + o)).is_ok())
        {
            return base;
        }
    }
}

/// GET / over plain HTTP; the status line.
fn http_status(port: u16) -> String {
    for _ in 0..50 {
        if let Ok(mut s) = TcpStream::connect(("127.0.0.1", port)) {
            let _ = s.write_all(b"GET / HTTP/1.0\r\n\r\n");
            let mut response = String::new();
            let _ = s.read_to_string(&mut response);
            if let Some(line) = response.lines().next() {
                return line.to_string();
            }
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    String::new()
}

fn with_vars<'a>(command: &'a [&'a str], vars: &'a [String]) -> Vec<&'a str> {
    let mut args = command.to_vec();
    for v in vars {
        args.extend(["--var", v.as_str()]);
    }
    args
}

/// The names of the containers labelled with the stack (not stackc's own lock and record).
fn containers(stack: &str) -> Vec<String> {
    block_on(async {
        let docker = raw_client().await.unwrap();
        let mut names: Vec<String> = stack_containers(&docker, stack)
            .await
            .unwrap()
            .into_iter()
            .flat_map(|c| c.names.unwrap_or_default())
            .map(|n| n.trim_start_matches('/').to_string())
            .filter(|n| !n.contains(".stackc."))
            .collect();
        names.sort();
        names
    })
}

fn volumes(stack: &str) -> Vec<String> {
    block_on(async {
        let docker = raw_client().await.unwrap();
        let list = stack_volumes(&docker, stack).await.unwrap();
        list.into_iter().map(|v| v.name).collect()
    })
}

#[test]
fn hello_applies_converges_repairs_drift_and_destroys() {
    let Some(guard) = docker_stack("hello") else {
        return;
    };
    let stack = guard.stack.clone();
    let image = test_image();
    let dir = example("hello", &stack);
    let path = dir.to_string_lossy().into_owned();
    let port = free_ports(&[]);
    let vars = [format!("image={image}"), format!("port={port}")];

    let plan = run(&with_vars(&["plan", &path, "--detailed-exitcode"], &vars));
    assert_eq!(plan.status.code(), Some(2));
    assert!(
        stdout(&plan).contains("+ container.web"),
        "{}",
        stdout(&plan)
    );
    // The container and the stack's default network it joins.
    assert!(stdout(&plan).contains("Plan: 2 to add, 0 to change, 0 to destroy."));

    // No terminal, no --auto-approve: nothing happens.
    let refused = run(&with_vars(&["apply", &path], &vars));
    assert_eq!(refused.status.code(), Some(1));
    assert!(
        stderr(&refused).contains("--auto-approve"),
        "{}",
        stderr(&refused)
    );
    assert!(containers(&stack).is_empty());

    let applied = ok(&with_vars(&["apply", &path, "--auto-approve"], &vars));
    assert!(stderr(&applied).contains("Apply complete: 2 added, 0 changed, 0 destroyed."));
    assert!(stderr(&applied).contains("container.web (create): created and started"));
    assert!(
        http_status(port).starts_with("HTTP/1."),
        "the container serves on port {port}"
    );
    let again = ok(&with_vars(&["plan", &path, "--detailed-exitcode"], &vars));
    assert!(stdout(&again).contains("No changes."));

    // Deleted by hand: drift, repaired by the next apply.
    let name = format!("{stack}-web");
    block_on(async {
        let docker = raw_client().await.unwrap();
        docker
            .remove_container(
                &name,
                Some(RemoveContainerOptionsBuilder::default().force(true).build()),
            )
            .await
            .unwrap();
    });
    let drift = run(&with_vars(&["plan", &path, "--detailed-exitcode"], &vars));
    assert_eq!(drift.status.code(), Some(2));
    let text = stdout(&drift);
    assert!(
        text.contains("Objects have changed outside stackc")
            && text.contains("container.web")
            && text.contains("was deleted"),
        "{text}"
    );
    ok(&with_vars(&["apply", &path, "--auto-approve"], &vars));
    assert_eq!(containers(&stack), std::slice::from_ref(&name));

    // Stopped by hand: drift, started again.
    block_on(async {
        let docker = raw_client().await.unwrap();
        docker
            .stop_container(
                &name,
                Some(StopContainerOptionsBuilder::default().t(1).build()),
            )
            .await
            .unwrap();
    });
    let drift = run(&with_vars(&["plan", &path], &vars));
    assert!(
        stdout(&drift).contains("is not running"),
        "{}",
        stdout(&drift)
    );
    ok(&with_vars(&["apply", &path, "--auto-approve"], &vars));
    let running = block_on(async {
        let docker = raw_client().await.unwrap();
        docker
            .inspect_container(&name, None::<InspectContainerOptions>)
            .await
            .unwrap()
            .state
            .and_then(|s| s.running)
    });
    assert_eq!(running, Some(true));
    assert!(stdout(&ok(&with_vars(&["plan", &path], &vars))).contains("No changes."));

    let destroyed = ok(&with_vars(&["destroy", &path, "--auto-approve"], &vars));
    assert!(
        // The container and the default network it was on.
        stderr(&destroyed).contains("Destroy complete: 2 destroyed."),
        "{}",
        stderr(&destroyed)
    );
    assert!(containers(&stack).is_empty());
}

#[test]
fn webapp_keeps_secrets_saved_plans_go_stale_and_volumes_need_consent() {
    let Some(engine) = block_on(docker()) else {
        return;
    };
    let image = test_image();
    let stack = unique_stack("webapp");
    let _guard = StackGuard::new(&stack);
    let dir = example("webapp", &stack);
    let path = dir.to_string_lossy().into_owned();
    let port = free_ports(&[]);
    let vars = [
        format!("web_image={image}"),
        format!("db_image={image}"),
        "db_password=hunter2-e2e".to_string(),
        "db_root_password=rootpw-e2e".to_string(),
        format!("web_port={port}"),
    ];
    let applied = ok(&with_vars(&["apply", &path, "--auto-approve"], &vars));
    // web waits for db to be healthy.
    let err = stderr(&applied);
    assert!(
        err.find("container.db (create): created and started")
            .unwrap()
            < err.find("container.web (create): started").unwrap(),
        "{err}"
    );
    assert!(http_status(port).starts_with("HTTP/1."));

    // Secrets reach the container, and nothing else.
    let (env, labels) = block_on(async {
        let docker = raw_client().await.unwrap();
        let c = docker
            .inspect_container(&format!("{stack}-web"), None::<InspectContainerOptions>)
            .await
            .unwrap();
        let config = c.config.unwrap();
        (
            config.env.unwrap_or_default(),
            config.labels.unwrap_or_default(),
        )
    });
    assert!(
        env.iter().any(|e| e.contains("hunter2-e2e")),
        "the container gets the secret"
    );
    assert!(
        labels.values().all(|v| !v.contains("hunter2-e2e")),
        "no label holds the secret: {labels:?}"
    );
    for args in [
        vec!["plan", &path],
        vec!["status", &path],
        vec!["output", &path],
    ] {
        let out = ok(&with_vars(&args, &vars));
        assert!(!stdout(&out).contains("hunter2") && !stderr(&out).contains("hunter2"));
    }
    let status = stdout(&ok(&with_vars(&["status", &path], &vars)));
    assert!(
        status.contains("container.db") && status.contains("running (healthy)"),
        "{status}"
    );

    // A restart policy changed by hand is drift, repaired in place.
    block_on(async {
        let docker = raw_client().await.unwrap();
        let update = bollard::models::ContainerUpdateBody {
            restart_policy: Some(bollard::models::RestartPolicy {
                name: Some(bollard::models::RestartPolicyNameEnum::NO),
                maximum_retry_count: None,
            }),
            ..Default::default()
        };
        docker
            .update_container(&format!("{stack}-db"), update)
            .await
            .unwrap();
    });
    let drift = stdout(&ok(&with_vars(&["plan", &path], &vars)));
    assert!(
        drift.contains("was modified") && drift.contains("restart = \"no\" (source: \"always\")"),
        "{drift}"
    );
    assert!(
        drift.contains("~ container.db"),
        "updated in place: {drift}"
    );
    ok(&with_vars(&["apply", &path, "--auto-approve"], &vars));
    assert!(stdout(&ok(&with_vars(&["plan", &path], &vars))).contains("No changes."));

    // Saved plans: 0600, applied as saved, refused once stale.
    let plan_file = dir.join("change.plan");
    let plan_path = plan_file.to_string_lossy().into_owned();
    let changed: Vec<String> = vars
        .iter()
        .map(|v| {
            if v.starts_with("db_password") {
                "db_password=rotated-e2e".into()
            } else {
                v.clone()
            }
        })
        .collect();
    // The hash leaves the secret out; the live value shows it changed.
    let db_hash = |vars: &[String]| {
        let out = stdout(&ok(&with_vars(&["compile", &path], vars)));
        let doc: serde_json::Value = serde_json::from_str(&out).unwrap();
        let resources = doc["resources"].as_array().unwrap().clone();
        resources
            .into_iter()
            .find(|r| r["address"] == "container.db")
            .unwrap()["hash"]
            .clone()
    };
    assert_eq!(db_hash(&vars), db_hash(&changed));
    let saved = ok(&with_vars(&["plan", &path, "--out", &plan_path], &changed));
    assert!(
        stdout(&saved).contains("env.MYSQL_PASSWORD = (secret) -> (secret changed)"),
        "{}",
        stdout(&saved)
    );
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(
            std::fs::metadata(&plan_file).unwrap().permissions().mode() & 0o777,
            0o600
        );
    }
    ok(&["apply", &plan_path]);
    let stale = run(&["apply", &plan_path]);
    assert_eq!(stale.status.code(), Some(1));
    assert!(
        stderr(&stale).contains("the plan is stale"),
        "{}",
        stderr(&stale)
    );
    let other = example("hello", &unique_stack("other"));
    let wrong_stack = run(&["apply", &plan_path, &other.to_string_lossy()]);
    assert!(
        stderr(&wrong_stack).contains("is a plan for the stack"),
        "{}",
        stderr(&wrong_stack)
    );
    std::fs::write(dir.join("not-a-plan"), "{}").unwrap();
    let not_a_plan = run(&["apply", &dir.join("not-a-plan").to_string_lossy()]);
    assert!(
        stderr(&not_a_plan).contains("is not a stackc plan file"),
        "{}",
        stderr(&not_a_plan)
    );

    // The lock: held by someone else, apply fails naming them; unlock breaks it.
    let holder = Holder {
        who: "ci@runner-7".into(),
        pid: 4242,
        operation: "apply".into(),
        since: 0,
    };
    block_on(engine.lock(&stack, &holder)).unwrap();
    let locked = run(&with_vars(&["apply", &path, "--auto-approve"], &changed));
    assert_eq!(locked.status.code(), Some(1));
    assert!(
        stderr(&locked).contains("is locked by ci@runner-7 (pid 4242"),
        "{}",
        stderr(&locked)
    );
    assert!(stderr(&locked).contains("stackc unlock"));
    ok(&with_vars(&["unlock", &path], &changed));

    // Destroy keeps the volume unless data loss is allowed.
    let kept = ok(&with_vars(&["destroy", &path, "--auto-approve"], &changed));
    assert!(
        stderr(&kept).contains("Keeping volume.db-data"),
        "{}",
        stderr(&kept)
    );
    assert!(containers(&stack).is_empty());
    assert_eq!(volumes(&stack), [format!("{stack}-db-data")]);
    ok(&with_vars(
        &["destroy", &path, "--auto-approve", "--allow-data-loss"],
        &changed,
    ));
    assert!(volumes(&stack).is_empty());
}

#[test]
fn shop_builds_waits_for_health_rebuilds_on_change_and_leaves_other_stacks_alone() {
    let Some(guard) = docker_stack("shop") else {
        return;
    };
    let stack = guard.stack.clone();
    let image = test_image();
    let dir = example("shop", &stack);
    let path = dir.to_string_lossy().into_owned();
    let base = free_ports(&[1, 100]);
    let vars = [
        "db_password=pw-e2e".to_string(),
        format!("base_image={image}"),
        format!("postgres_image={image}"),
        format!("redis_image={image}"),
        format!("lb_image={image}"),
        format!("base_port={base}"),
    ];
    // A neighbour that must survive everything done to the shop.
    let neighbour = unique_stack("neighbour");
    let _neighbour_guard = StackGuard::new(&neighbour);
    let hello = example("hello", &neighbour);
    let hello_vars = [
        format!("image={image}"),
        format!("port={}", free_ports(&[])),
    ];
    ok(&with_vars(
        &["apply", &hello.to_string_lossy(), "--auto-approve"],
        &hello_vars,
    ));

    let applied = ok(&with_vars(&["apply", &path, "--auto-approve"], &vars));
    assert!(
        stderr(&applied).contains("image.api (create): built"),
        "{}",
        stderr(&applied)
    );
    assert!(
        stderr(&applied).contains("image.api (create): Step 2/7 : FROM "),
        "build steps are reported as they run, numbered as in the Dockerfile"
    );
    assert!(
        stderr(&applied).contains("image.api (create): Step 7/7 : CMD ")
            && !stderr(&applied).contains("LABEL io.stackc"),
        "the builder's steps for stackc's labels are not the user's: {}",
        stderr(&applied)
    );
    assert!(http_status(base).starts_with("HTTP/1."));
    assert!(
        http_status(base + 100).starts_with("HTTP/1."),
        "the load balancer serves"
    );
    assert!(stdout(&ok(&with_vars(&["plan", &path], &vars))).contains("No changes."));

    // Changed build input: the image is rebuilt and the containers running it replaced.
    std::fs::write(dir.join("api/index.html"), "<h1>shop, again</h1>\n").unwrap();
    let plan = stdout(&ok(&with_vars(&["plan", &path], &vars)));
    assert!(
        plan.contains("-/+ image.api")
            && plan.contains("-/+ container.api-0")
            && plan.contains("-/+ container.api-1"),
        "{plan}"
    );
    ok(&with_vars(&["apply", &path, "--auto-approve"], &vars));
    assert!(stdout(&ok(&with_vars(&["plan", &path], &vars))).contains("No changes."));

    ok(&with_vars(
        &["destroy", &path, "--auto-approve", "--allow-data-loss"],
        &vars,
    ));
    assert!(containers(&stack).is_empty() && volumes(&stack).is_empty());
    assert_eq!(
        containers(&neighbour),
        [format!("{neighbour}-web")],
        "other stacks are untouched"
    );
    ok(&with_vars(
        &["destroy", &hello.to_string_lossy(), "--auto-approve"],
        &hello_vars,
    ));
}

#[test]
fn no_engine_is_a_clear_error() {
    let out = stackc_env(
        &["plan", "examples/hello"],
        &[("DOCKER_HOST", "unix:///nonexistent/docker.sock")],
    );
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out)
            .contains("cannot connect to the Docker engine at unix:///nonexistent/docker.sock"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn plain_tcp_warns_once() {
    // 0.0.0.0 is this machine, not a loopback address: refused at once.
    let out = stackc_env(
        &["plan", "examples/hello"],
        &[("DOCKER_HOST", "tcp://0.0.0.0:1")],
    );
    assert_eq!(out.status.code(), Some(1));
    let said = stderr(&out);
    assert_eq!(said.matches("without TLS").count(), 1, "{said}");
    assert!(
        said.starts_with("warning: the Docker engine at tcp://0.0.0.0:1 (from DOCKER_HOST) is reached over plain TCP without TLS"),
        "{said}"
    );
}

/// Runs `stackc apply`, interrupts it (SIGINT) `presses` times once `ready` shows on stderr.
fn interrupted_apply(path: &str, presses: usize, ready: &str) -> (Option<i32>, String) {
    use std::io::BufRead;
    let mut child = command(&["apply", path, "--auto-approve"])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut err = std::io::BufReader::new(child.stderr.take().unwrap());
    let mut text = String::new();
    let mut line = String::new();
    while err.read_line(&mut line).unwrap() > 0 {
        text.push_str(&line);
        let seen = line.contains(ready);
        line.clear();
        if seen {
            break;
        }
    }
    for _ in 0..presses {
        let sent = std::process::Command::new("kill")
            .args(["-INT", &child.id().to_string()])
            .status()
            .unwrap();
        assert!(sent.success());
        // Presses close together: the second lands while the first is being handled.
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    let mut rest = String::new();
    let _ = err.read_to_string(&mut rest);
    text.push_str(&rest);
    (child.wait().unwrap().code(), text)
}

#[test]
fn ctrl_c_finishes_running_work_and_a_second_one_aborts() {
    let Some(guard) = docker_stack("ctrlc") else {
        return;
    };
    let stack = guard.stack.clone();
    let image = test_image();
    let dir = stack_dir(
        "e2e-ctrlc",
        &format!(
            "stack \"{stack}\"\ncontainer \"db\" {{ image = \"{image}\", health = {{ cmd = [\"false\"], interval = 1s }} }}\ncontainer \"app\" {{ image = \"{image}\", depends_on = [{{ on = container.db, condition = \"healthy\" }}] }}\n"
        ),
        &[],
    );
    let path = dir.to_string_lossy().into_owned();
    // One Ctrl-C: app was waiting for db to be healthy; the wait stops, nothing new starts.
    let (code, err) = interrupted_apply(&path, 1, "container.db (create): created and started");
    assert_eq!(code, Some(1), "{err}");
    assert!(
        err.contains("Interrupted: finishing the running actions"),
        "{err}"
    );
    assert!(err.contains("Not attempted (1):\n  container.app"), "{err}");
    assert_eq!(containers(&stack), [format!("{stack}-db")]);
    // The next apply converges from there; two Ctrl-Cs abort at once.
    let (code, err) = interrupted_apply(&path, 2, "container.app (create): started");
    assert_eq!(code, Some(130), "{err}");
    assert!(err.contains("Aborted."), "{err}");
    // Even an aborted apply releases its lock: the next one is not blocked.
    let next = run(&["apply", &path, "--auto-approve", "--wait-timeout", "1s"]);
    assert!(!stderr(&next).contains("is locked by"), "{}", stderr(&next));
}

/// The id of a container, by name.
fn container_id(name: &str) -> Option<String> {
    block_on(async {
        let docker = raw_client().await.unwrap();
        docker
            .inspect_container(name, None::<InspectContainerOptions>)
            .await
            .ok()
            .and_then(|c| c.id)
    })
}

#[test]
fn builds_ignore_what_dockerignore_excludes_and_a_failed_build_changes_nothing() {
    let Some(guard) = docker_stack("build") else {
        return;
    };
    let stack = guard.stack.clone();
    let image = test_image();
    let port = free_ports(&[]);
    let dockerfile = "ARG BASE\nFROM ${BASE}\nCOPY index.html /www/index.html\n";
    let dir = stack_dir(
        "e2e-build",
        &format!(
            "stack \"{stack}\"\nimage \"site\" {{ build = {{ context = \"./app\", args = {{ BASE = \"{image}\" }} }} }}\ncontainer \"web\" {{ image = image.site, ports = [\"127.0.0.1:{port}:80\"] }}\n"
        ),
        &[
            ("app/Dockerfile", dockerfile),
            ("app/.dockerignore", "logs\n*.tmp\n"),
            ("app/index.html", "one\n"),
            ("app/logs/build.log", "a\n"),
        ],
    );
    let path = dir.to_string_lossy().into_owned();
    ok(&["apply", &path, "--auto-approve"]);
    let first = container_id(&format!("{stack}-web")).unwrap();
    assert!(
        http_status(port).starts_with("HTTP/1.0 200")
            || http_status(port).starts_with("HTTP/1.1 200")
    );

    // What .dockerignore leaves out is not a build input.
    std::fs::write(dir.join("app/logs/build.log"), "b\n").unwrap();
    std::fs::write(dir.join("app/notes.tmp"), "x\n").unwrap();
    assert!(stdout(&ok(&["plan", &path])).contains("No changes."));

    // A failing build: the step's output reaches the user, and the running container stays.
    std::fs::write(
        dir.join("app/Dockerfile"),
        format!("{dockerfile}RUN echo about to fail && false\n"),
    )
    .unwrap();
    std::fs::write(dir.join("app/index.html"), "two\n").unwrap();
    let plan = stdout(&ok(&["plan", &path]));
    assert!(
        plan.contains("-/+ image.site") && plan.contains("-/+ container.web"),
        "{plan}"
    );
    let failed = run(&["apply", &path, "--auto-approve"]);
    assert_eq!(failed.status.code(), Some(1));
    let err = stderr(&failed);
    assert!(
        err.contains("image.site") && err.contains("about to fail"),
        "the step's output is shown: {err}"
    );
    assert!(err.contains("Not attempted (1):\n  container.web"), "{err}");
    assert_eq!(
        container_id(&format!("{stack}-web")),
        Some(first.clone()),
        "the container was left as it was"
    );
    assert!(http_status(port).contains("200"));

    // Fixed: rebuilt, and the container running it replaced.
    std::fs::write(dir.join("app/Dockerfile"), dockerfile).unwrap();
    ok(&["apply", &path, "--auto-approve"]);
    assert_ne!(container_id(&format!("{stack}-web")), Some(first));
    assert!(stdout(&ok(&["plan", &path])).contains("No changes."));
    ok(&["destroy", &path, "--auto-approve"]);
    let images = block_on(async {
        let docker = raw_client().await.unwrap();
        stack_images(&docker, &stack).await.unwrap().len()
    });
    assert_eq!(images, 0, "destroy removes the images the stack built");
}

/// A CI job that destroys, or looks at, a stack without its secrets:
/// `status` lists the live objects and says drift is not judged; `destroy`
/// removes every object labelled with the stack (volumes only with
/// `--allow-data-loss`), as `output`, `logs` and `exec` work from the labels.
#[test]
fn destroy_and_status_work_without_the_parameters() {
    let Some(guard) = docker_stack("noparams") else {
        return;
    };
    let stack = guard.stack.clone();
    let source = format!(
        "stack \"{stack}\"\nparam password: secret\nvolume \"data\" {{}}\ncontainer \"db\" {{\n  image   = \"{}\"\n  command = [\"sleep\", \"3600\"]\n  env     = {{ PASSWORD = password }}\n  mounts  = [\"data:/data\"]\n  files   = [{{ target = \"/run/secrets/pw\", content = password }}]\n}}\n",
        test_image()
    );
    let dir = stack_dir("noparams", &source, &[]);
    let path = dir.to_string_lossy().into_owned();
    ok(&[
        "apply",
        &path,
        "--auto-approve",
        "--var",
        "password=hunter-one",
    ]);

    let status = ok(&["status", &path]);
    let table = stdout(&status);
    assert!(
        table.contains("container.db")
            && table.contains("running")
            && table.contains("volume.data")
            && table.contains("not judged: parameters not set"),
        "{table}"
    );
    assert!(
        stderr(&status).contains("drift cannot be judged"),
        "{}",
        stderr(&status)
    );
    let json: serde_json::Value =
        serde_json::from_str(&stdout(&ok(&["status", &path, "--json"]))).unwrap();
    assert_eq!(json[0]["address"], "container.db", "{json}");
    assert_eq!(json[0]["note"], "not judged: parameters not set", "{json}");

    let destroyed = ok(&["destroy", &path, "--auto-approve"]);
    let said = stderr(&destroyed);
    assert!(
        said.contains("parameters are not all set")
            && said.contains("Keeping volume.data")
            && !said.contains("E0405"),
        "{said}"
    );
    assert!(containers(&stack).is_empty(), "{:?}", containers(&stack));
    assert_eq!(volumes(&stack), [format!("{stack}-data")]);
    ok(&["destroy", &path, "--auto-approve", "--allow-data-loss"]);
    assert!(volumes(&stack).is_empty());
    // Another error than a missing parameter still stops them.
    std::fs::write(dir.join("main.stack"), format!("{source}\noops\n")).unwrap();
    for args in [
        &["destroy", &path, "--auto-approve"][..],
        &["status", &path],
    ] {
        let failed = run(args);
        assert_eq!(failed.status.code(), Some(1), "{}", stderr(&failed));
    }
    let _ = std::fs::remove_dir_all(&dir);
}
