//! Drift on a real engine: what is changed by hand shows in `plan` and
//! `status`, and `apply` repairs it the way the plan says.

use bollard::models::{EndpointSettings, NetworkConnectRequest, NetworkDisconnectRequest};
use bollard::query_parameters::InspectContainerOptions;

use crate::docker_support::{block_on, docker_stack, raw_client, test_image};
use crate::support::{ok, stack_dir, stdout};

/// The networks a container is on, each with its aliases (the short id left out).
fn networks_of(name: &str) -> Vec<(String, Vec<String>)> {
    block_on(async {
        let docker = raw_client().await.unwrap();
        let c = docker
            .inspect_container(name, None::<InspectContainerOptions>)
            .await
            .unwrap();
        let id = c.id.unwrap_or_default();
        let mut out: Vec<(String, Vec<String>)> = c
            .network_settings
            .and_then(|n| n.networks)
            .unwrap_or_default()
            .into_iter()
            .map(|(network, e)| {
                let mut aliases: Vec<String> = e
                    .aliases
                    .unwrap_or_default()
                    .into_iter()
                    .filter(|a| !id.starts_with(a.as_str()))
                    .collect();
                aliases.sort();
                (network, aliases)
            })
            .collect();
        out.sort();
        out
    })
}

/// Disconnects a container from `off`, then connects it to `on` with aliases.
fn by_hand(container: &str, off: &str, (network, aliases): (&str, &[&str])) {
    block_on(async {
        let docker = raw_client().await.unwrap();
        let request = NetworkDisconnectRequest {
            container: container.to_string(),
            force: Some(true),
        };
        docker.disconnect_network(off, request).await.unwrap();
        let request = NetworkConnectRequest {
            container: container.to_string(),
            endpoint_config: Some(EndpointSettings {
                aliases: Some(aliases.iter().map(|a| a.to_string()).collect()),
                ..Default::default()
            }),
        };
        docker.connect_network(network, request).await.unwrap();
    });
}

fn container_id(name: &str) -> String {
    block_on(async {
        let docker = raw_client().await.unwrap();
        docker
            .inspect_container(name, None::<InspectContainerOptions>)
            .await
            .unwrap()
            .id
            .unwrap()
    })
}

#[test]
fn networks_changed_by_hand_are_drift_repaired_without_replacing_the_container() {
    let Some(guard) = docker_stack("netdrift") else {
        return;
    };
    let stack = guard.stack.clone();
    let source = format!(
        "stack \"{stack}\"\nnetwork \"front\" {{}}\nnetwork \"back\" {{}}\ncontainer \"web\" {{\n  image    = \"{}\"\n  command  = [\"sleep\", \"3600\"]\n  networks = [{{ network = network.front, aliases = [\"www\"] }}]\n}}\n",
        test_image()
    );
    let dir = stack_dir("netdrift", &source, &[]);
    let path = dir.to_string_lossy().into_owned();
    ok(&["apply", &path, "--auto-approve"]);
    let (web, front, back) = (
        format!("{stack}-web"),
        format!("{stack}-front"),
        format!("{stack}-back"),
    );
    let id = container_id(&web);
    // Its logical name `web` is an alias too.
    let expected = vec![(front.clone(), vec!["web".to_string(), "www".to_string()])];
    assert_eq!(networks_of(&web), expected);

    // Off its network, onto another of the stack's, by hand.
    by_hand(&web, &front, (&back, &[]));
    let plan = stdout(&ok(&["plan", &path]));
    assert!(
        plan.contains("Objects have changed outside stackc")
            && plan.contains(&format!(
                "~ networks[0] = {{ network = \"{front}\", aliases = [\"web\", \"www\"] }} (removed outside stackc, in the source)"
            ))
            && plan.contains(&format!(
                "~ networks[0] = {{ network = \"{back}\", aliases = [] }} (added outside stackc, not in the source)"
            ))
            && plan.contains("container.web will be updated in place"),
        "{plan}"
    );
    let status = stdout(&ok(&["status", &path]));
    assert!(status.contains("was modified outside stackc"), "{status}");
    // Both end their last line, as a shell expects.
    assert!(plan.ends_with('\n') && status.ends_with('\n'));

    ok(&["apply", &path, "--auto-approve"]);
    assert_eq!(networks_of(&web), expected);
    assert_eq!(container_id(&web), id, "repaired in place, not replaced");
    assert!(stdout(&ok(&["plan", &path])).contains("No changes."));

    // The right network, another alias.
    by_hand(&web, &front, (&front, &["other"]));
    let plan = stdout(&ok(&["plan", &path]));
    assert!(plan.contains("aliases = [\"other\"]"), "{plan}");
    ok(&["apply", &path, "--auto-approve"]);
    assert_eq!(networks_of(&web), expected);
    assert_eq!(container_id(&web), id);
    assert!(stdout(&ok(&["plan", &path])).contains("No changes."));
    ok(&["destroy", &path, "--auto-approve"]);
}

#[test]
fn a_saved_plan_goes_stale_when_a_container_is_stopped_by_hand() {
    let Some(guard) = docker_stack("stalerun") else {
        return;
    };
    let stack = guard.stack.clone();
    let source = |memory: &str| {
        format!(
            "stack \"{stack}\"\ncontainer \"web\" {{\n  image   = \"{}\"\n  command = [\"sleep\", \"3600\"]\n  memory  = {memory}\n}}\n",
            test_image()
        )
    };
    let dir = stack_dir("stalerun", &source("64MiB"), &[]);
    let path = dir.to_string_lossy().into_owned();
    ok(&["apply", &path, "--auto-approve"]);
    std::fs::write(dir.join("main.stack"), source("96MiB")).unwrap();
    let file = dir.join("plan.bin").to_string_lossy().into_owned();
    ok(&["plan", &path, "--out", &file]);
    let web = format!("{stack}-web");
    block_on(async {
        let docker = raw_client().await.unwrap();
        docker
            .stop_container(
                &web,
                Some(
                    bollard::query_parameters::StopContainerOptionsBuilder::default()
                        .t(1)
                        .build(),
                ),
            )
            .await
            .unwrap();
    });
    let stale = crate::support::run(&["apply", &file]);
    assert_eq!(stale.status.code(), Some(1));
    assert!(
        crate::support::stderr(&stale).contains(&format!(
            "the plan is stale: the stack's objects changed since it was made:\n    container.web ({web}): running → exited"
        )),
        "{}",
        crate::support::stderr(&stale)
    );
    ok(&["destroy", &path, "--auto-approve"]);
}

#[test]
fn deployed_outputs_are_read_without_the_parameters_and_secrets_stay_masked() {
    let Some(guard) = docker_stack("outputs") else {
        return;
    };
    let stack = guard.stack.clone();
    let source = format!(
        "stack \"{stack}\"\nparam pw: secret\ncontainer \"c\" {{\n  image   = \"{}\"\n  command = [\"sleep\", \"3600\"]\n  env     = {{ PW = pw }}\n}}\noutput \"name\" = container.c.name\noutput \"dsn\" = \"x://${{pw}}\"\n",
        test_image()
    );
    let dir = stack_dir("outputs", &source, &[]);
    let path = dir.to_string_lossy().into_owned();
    ok(&["apply", &path, "--auto-approve", "--var", "pw=hunter2-out"]);
    let out = ok(&["output", &path]);
    let shown = stdout(&out);
    assert!(
        shown.contains(&format!("name = \"{stack}-c\"")) && shown.contains("dsn = \"(secret)\""),
        "{shown}"
    );
    assert!(!shown.contains("hunter2-out"));
    assert!(
        crate::support::stderr(&out).contains("not compared"),
        "{}",
        crate::support::stderr(&out)
    );
    ok(&[
        "destroy",
        &path,
        "--auto-approve",
        "--var",
        "pw=hunter2-out",
    ]);
}

#[test]
fn renaming_a_network_and_a_volume_in_use_converges_in_one_apply() {
    let Some(guard) = docker_stack("rename") else {
        return;
    };
    let stack = guard.stack.clone();
    let source = |net: &str, vol: &str| {
        format!(
            "stack \"{stack}\"\nnetwork \"{net}\" {{}}\nvolume \"{vol}\" {{}}\ncontainer \"web\" {{\n  image    = \"{}\"\n  command  = [\"sleep\", \"3600\"]\n  networks = [network.{net}]\n  mounts   = [{{ volume = volume.{vol}, target = \"/data\" }}]\n}}\n",
            test_image()
        )
    };
    let dir = stack_dir("rename", &source("a", "x"), &[]);
    let path = dir.to_string_lossy().into_owned();
    ok(&["apply", &path, "--auto-approve"]);
    std::fs::write(dir.join("main.stack"), source("b", "y")).unwrap();
    let applied = ok(&["apply", &path, "--auto-approve", "--allow-data-loss"]);
    assert!(
        crate::support::stderr(&applied).contains("Apply complete"),
        "{}",
        crate::support::stderr(&applied)
    );
    assert!(stdout(&ok(&["plan", &path])).contains("No changes."));
    ok(&["destroy", &path, "--auto-approve", "--allow-data-loss"]);
}
