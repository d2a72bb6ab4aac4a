//! Swarm services on a real single-node swarm, through the binary: created
//! and watched until they run, re-planned to "No changes.", updated in
//! place keeping the service's id, scaled, drift by hand shown and
//! repaired, a failing update rolled back by Swarm (apply exits 1), and
//! destroyed. The engine is made a swarm when it is not (and left one).

use std::path::Path;

use bollard::query_parameters::InspectServiceOptions;

use crate::docker_support::{block_on, docker_stack, raw_client, swarm, test_image};
use crate::support::{exits, ok, stack_dir, stderr, stdout};

fn source(stack: &str, vars: &str) -> String {
    format!(
        r#"stack "{stack}"
param replicas: int = 1
param greeting: string = "hello"
param cmd: string = "echo ready; exec httpd -f -p 8080 -h /www"
{vars}
network "mesh" {{ driver = "overlay", attachable = true, encrypted = true }}
service "api" {{
  image    = "{}"
  command  = ["sh", "-c", cmd]
  env      = {{ GREETING = greeting }}
  networks = [network.mesh]
  replicas = replicas
  health   = {{ cmd = "wget -q -O /dev/null http://127.0.0.1:8080/", interval = 500ms, timeout = 2s, retries = 2 }}
  update   = {{ parallelism = 0, order = "start-first", failure_action = "rollback", monitor = 2s }}
  rollback = {{ parallelism = 0, monitor = 500ms }}
  restart_policy = {{ condition = "on-failure", delay = 200ms, max_attempts = 1 }}
  stop_signal  = "SIGKILL"
  stop_timeout = 1s
}}
"#,
        test_image()
    )
}

/// The service's id and Swarm's spec of it.
fn service(name: &str) -> Option<(String, bollard::models::ServiceSpec)> {
    block_on(async {
        let docker = raw_client().await.unwrap();
        let s = docker
            .inspect_service(name, None::<InspectServiceOptions>)
            .await
            .ok()?;
        Some((s.id.unwrap_or_default(), s.spec.unwrap_or_default()))
    })
}

fn replicas(spec: &bollard::models::ServiceSpec) -> i64 {
    spec.mode
        .as_ref()
        .and_then(|m| m.replicated.as_ref())
        .and_then(|r| r.replicas)
        .unwrap_or(-1)
}

fn path(dir: &Path) -> &str {
    dir.to_str().unwrap()
}

#[test]
fn a_service_on_a_swarm_from_create_to_destroy() {
    let Some(guard) = docker_stack("swarm") else {
        return;
    };
    swarm();
    let stack = guard.stack.clone();
    let name = format!("{stack}-api");
    let dir = stack_dir("swarm", &source(&stack, ""), &[]);
    let dir = path(&dir);

    // Created, and watched until its task runs.
    let out = ok(&["apply", "--auto-approve", dir]);
    let progress = stderr(&out);
    assert!(progress.contains("created: 1/1 running"), "{progress}");
    let (id, spec) = service(&name).expect("the service exists");
    assert_eq!(replicas(&spec), 1);
    // The overlay network is encrypted, as `docker network create --opt encrypted`.
    let mesh = block_on(async {
        let docker = raw_client().await.unwrap();
        docker
            .inspect_network(
                &format!("{stack}-mesh"),
                None::<bollard::query_parameters::InspectNetworkOptions>,
            )
            .await
            .unwrap()
    });
    assert_eq!(mesh.driver.as_deref(), Some("overlay"));
    assert!(mesh.options.unwrap_or_default().contains_key("encrypted"));
    let out = ok(&["plan", "--detailed-exitcode", dir]);
    assert!(stdout(&out).contains("No changes."), "{}", stdout(&out));

    // env and replicas change in place: `~`, the same service.
    let vars = ["--var", "replicas=2", "--var", "greeting=hi"];
    let out = exits(
        2,
        &[
            "plan",
            "--detailed-exitcode",
            dir,
            vars[0],
            vars[1],
            vars[2],
            vars[3],
        ],
        &[],
    );
    let shown = stdout(&out);
    assert!(shown.contains("~ service.api"), "{shown}");
    assert!(shown.contains("replicas = 1 -> 2"), "{shown}");
    assert!(!shown.contains("forces replacement"), "{shown}");
    let out = ok(&[
        "apply",
        "--auto-approve",
        dir,
        vars[0],
        vars[1],
        vars[2],
        vars[3],
    ]);
    assert!(
        stderr(&out).contains("updated: 2/2 running"),
        "{}",
        stderr(&out)
    );
    let (same, spec) = service(&name).unwrap();
    assert_eq!(same, id, "updated in place");
    assert_eq!(replicas(&spec), 2);
    ok(&[
        "plan",
        "--detailed-exitcode",
        dir,
        vars[0],
        vars[1],
        vars[2],
        vars[3],
    ]);

    // Scaled by hand: drift, repaired by an update.
    block_on(async {
        let docker = raw_client().await.unwrap();
        let s = docker
            .inspect_service(&name, None::<InspectServiceOptions>)
            .await
            .unwrap();
        let mut spec = s.spec.unwrap();
        if let Some(r) = spec.mode.as_mut().and_then(|m| m.replicated.as_mut()) {
            r.replicas = Some(3);
        }
        let options = bollard::query_parameters::UpdateServiceOptionsBuilder::default()
            .version(s.version.and_then(|v| v.index).unwrap() as i32)
            .build();
        docker
            .update_service(&name, spec, options, None)
            .await
            .unwrap();
    });
    let out = exits(
        2,
        &[
            "plan",
            "--detailed-exitcode",
            dir,
            vars[0],
            vars[1],
            vars[2],
            vars[3],
        ],
        &[],
    );
    let shown = stdout(&out);
    assert!(shown.contains("was modified"), "{shown}");
    assert!(shown.contains("replicas = 3 -> 2"), "{shown}");
    ok(&[
        "apply",
        "--auto-approve",
        dir,
        vars[0],
        vars[1],
        vars[2],
        vars[3],
    ]);
    assert_eq!(replicas(&service(&name).unwrap().1), 2);
    // The service's log is its tasks': `api` names it as Compose would.
    let out = ok(&["logs", dir, "api"]);
    assert!(stdout(&out).contains("ready"), "{}", stdout(&out));
    let out = ok(&["status", dir, vars[0], vars[1], vars[2], vars[3]]);
    assert!(stdout(&out).contains("2/2 running"), "{}", stdout(&out));

    // An update whose tasks fail: Swarm rolls it back, the apply fails.
    let out = exits(
        1,
        &[
            "apply",
            "--auto-approve",
            dir,
            vars[0],
            vars[1],
            vars[2],
            vars[3],
            "--var",
            "cmd=exit 3",
        ],
        &[],
    );
    let said = stderr(&out);
    assert!(
        said.contains("the update failed and Swarm rolled it back"),
        "{said}"
    );
    assert!(said.contains("exit (3)"), "{said}");
    let (same, spec) = service(&name).unwrap();
    assert_eq!(same, id);
    let args = spec
        .task_template
        .unwrap()
        .container_spec
        .unwrap()
        .args
        .unwrap();
    assert_eq!(
        args[2], "echo ready; exec httpd -f -p 8080 -h /www",
        "the old spec is back"
    );

    // Destroyed: nothing of it is left.
    ok(&["destroy", "--auto-approve", dir]);
    assert!(service(&name).is_none());
}
