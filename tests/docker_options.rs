//! Compose's container settings on a real engine: Docker gets every one
//! (checked with inspect), a second plan
//! says `No changes.` — the engine's read-back and daemon defaults included
//! — a changed setting replaces the container, and `container_name` is
//! claimed against objects outside the stack.

use std::collections::HashMap;

use bollard::models::{ContainerCreateBody, ContainerInspectResponse};
use bollard::query_parameters::{
    CreateContainerOptionsBuilder, InspectContainerOptions, RemoveContainerOptionsBuilder,
};

use crate::docker_support::{block_on, docker_stack, raw_client, test_image};
use crate::support::{exits, ok, stack_dir, stdout};

fn inspect(name: &str) -> ContainerInspectResponse {
    block_on(async {
        let docker = raw_client().await.unwrap();
        docker
            .inspect_container(name, None::<InspectContainerOptions>)
            .await
            .unwrap()
    })
}

fn volume_exists(name: &str) -> bool {
    block_on(async {
        let docker = raw_client().await.unwrap();
        docker.inspect_volume(name).await.is_ok()
    })
}

fn source(stack: &str, image: &str, nofile: u32) -> String {
    format!(
        r#"stack "{stack}"
container "leader" {{
  image   = "{image}"
  command = ["sleep", "3600"]
}}
container "app" {{
  image          = "{image}"
  command        = ["sleep", "3600"]
  container_name = "{stack}.named"
  extra_hosts    = {{ "db.local" = "10.0.0.5", "gw" = "host-gateway" }}
  dns            = ["9.9.9.9", "1.1.1.1"]
  dns_search     = "example.com"
  init           = true
  stop_signal    = "quit"
  shm_size       = 96MiB
  ulimits        = {{ nofile = {{ soft = {nofile}, hard = 4096 }}, nproc = 512 }}
  sysctls        = {{ "net.core.somaxconn" = 1024 }}
  devices        = ["/dev/zero:/dev/zero0:r"]
  security_opt   = ["no-new-privileges:true"]
  group_add      = [1234]
  tty            = true
  stdin_open     = true
  logging        = {{ driver = "json-file", options = {{ "max-size" = "5m" }} }}
  pid            = container.leader
  mounts         = [{{ target = "/app/node_modules" }}]
  health         = "none"
}}
container "host-pid" {{
  image        = "{image}"
  command      = ["sleep", "3600"]
  pid          = "host"
  security_opt = ["no-new-privileges"]
  logging      = {{ options = {{ "max-size" = "1m" }} }}
}}
"#
    )
}

#[test]
fn every_setting_reaches_docker_and_a_second_plan_says_no_changes() {
    let Some(guard) = docker_stack("compose_fields") else {
        return;
    };
    let stack = guard.stack.clone();
    let image = test_image();
    let dir = stack_dir("compose_fields", &source(&stack, image, 1024), &[]);
    let path = dir.to_string_lossy().into_owned();
    ok(&["apply", &path, "--auto-approve"]);
    let name = format!("{stack}.named");
    let c = inspect(&name);
    let host = c.host_config.clone().unwrap();
    let config = c.config.clone().unwrap();
    assert_eq!(
        host.extra_hosts.unwrap(),
        ["db.local:10.0.0.5", "gw:host-gateway"]
    );
    assert_eq!(host.dns.unwrap(), ["9.9.9.9", "1.1.1.1"]);
    assert_eq!(host.dns_search.unwrap(), ["example.com"]);
    assert_eq!(host.init, Some(true));
    assert_eq!(config.stop_signal.as_deref(), Some("SIGQUIT"));
    assert_eq!(host.shm_size, Some(96 * 1024 * 1024));
    let ulimits: Vec<(String, i64, i64)> = host
        .ulimits
        .unwrap()
        .into_iter()
        .map(|u| (u.name.unwrap(), u.soft.unwrap(), u.hard.unwrap()))
        .collect();
    assert_eq!(
        ulimits,
        [("nofile".into(), 1024, 4096), ("nproc".into(), 512, 512)]
    );
    assert_eq!(
        host.sysctls.unwrap(),
        HashMap::from([("net.core.somaxconn".to_string(), "1024".to_string())])
    );
    let device = &host.devices.unwrap()[0];
    assert_eq!(
        (
            device.path_on_host.as_deref(),
            device.path_in_container.as_deref(),
            device.cgroup_permissions.as_deref()
        ),
        (Some("/dev/zero"), Some("/dev/zero0"), Some("r"))
    );
    assert!(
        host.security_opt
            .clone()
            .unwrap()
            .contains(&"no-new-privileges=true".to_string()),
        "{:?}",
        host.security_opt
    );
    assert_eq!(host.group_add.unwrap(), ["1234"]);
    assert_eq!((config.tty, config.open_stdin), (Some(true), Some(true)));
    let log = host.log_config.unwrap();
    assert_eq!(log.typ.as_deref(), Some("json-file"));
    assert_eq!(
        log.config.unwrap().get("max-size").map(String::as_str),
        Some("5m")
    );
    let leader = inspect(&format!("{stack}-leader"));
    assert_eq!(
        host.pid_mode.unwrap(),
        format!("container:{}", leader.id.unwrap())
    );
    assert_eq!(
        config.healthcheck.unwrap().test.unwrap(),
        ["NONE".to_string()]
    );
    let anonymous = c
        .mounts
        .unwrap()
        .into_iter()
        .find(|m| m.destination.as_deref() == Some("/app/node_modules"))
        .expect("the anonymous volume");
    let volume = anonymous.name.unwrap();
    assert!(volume_exists(&volume));
    // Labelled and found by its labels, as any container of the stack.
    let labels = config.labels.unwrap();
    assert_eq!(
        labels.get("io.stackc.address").map(String::as_str),
        Some("container.app")
    );

    // Docker adds `label=disable` to a container in the host's pid namespace.
    let host_pid = inspect(&format!("{stack}-host-pid"));
    let host_pid = host_pid.host_config.unwrap();
    assert_eq!(host_pid.pid_mode.as_deref(), Some("host"));
    assert!(
        host_pid
            .security_opt
            .clone()
            .unwrap()
            .contains(&"no-new-privileges=true".to_string()),
        "{:?}",
        host_pid.security_opt
    );

    // Converged: the engine reads back what the source says, with the
    // daemon's own log options and SELinux option beside them.
    let plan = stdout(&ok(&["plan", &path]));
    assert!(plan.contains("No changes."), "{plan}");

    // A changed ulimit replaces the container, and names what forces it.
    std::fs::write(dir.join("main.stack"), source(&stack, image, 2048)).unwrap();
    let plan = stdout(&ok(&["plan", &path]));
    assert!(
        plan.contains("container.app must be replaced")
            && plan.contains("forces replacement")
            && plan.contains("nofile"),
        "{plan}"
    );
    ok(&["apply", &path, "--auto-approve"]);
    assert!(stdout(&ok(&["plan", &path])).contains("No changes."));
    // The old container's anonymous volume went with it.
    assert!(
        !volume_exists(&volume),
        "anonymous volume {volume} left behind"
    );

    ok(&["destroy", &path, "--auto-approve"]);
}

/// Removes a container made outside any stack, however the test ends.
struct Outsider(String);

impl Drop for Outsider {
    fn drop(&mut self) {
        let name = self.0.clone();
        let _ = std::thread::spawn(move || {
            block_on(async {
                let docker = raw_client().await.unwrap();
                let options = RemoveContainerOptionsBuilder::default().force(true).build();
                let _ = docker.remove_container(&name, Some(options)).await;
            })
        })
        .join();
    }
}

#[test]
fn a_container_name_taken_outside_the_stack_is_in_the_way() {
    let Some(guard) = docker_stack("taken_name") else {
        return;
    };
    let stack = guard.stack.clone();
    let image = test_image();
    let taken = Outsider(format!("{stack}.taken"));
    block_on(async {
        let docker = raw_client().await.unwrap();
        let options = CreateContainerOptionsBuilder::default()
            .name(&taken.0)
            .build();
        let body = ContainerCreateBody {
            image: Some(image.to_string()),
            ..Default::default()
        };
        docker.create_container(Some(options), body).await.unwrap();
    });
    let text = format!(
        "stack \"{stack}\"\ncontainer \"web\" {{\n  image          = \"{image}\"\n  container_name = \"{}\"\n}}\n",
        taken.0
    );
    let dir = stack_dir("taken_name", &text, &[]);
    let path = dir.to_string_lossy().into_owned();
    let out = exits(1, &["apply", &path, "--auto-approve"], &[]);
    let said = format!("{}{}", stdout(&out), crate::support::stderr(&out));
    assert!(
        said.contains(&format!("the container name {} is taken", taken.0))
            && said.contains("not made by stackc"),
        "{said}"
    );
}
