//! Convergence on a real engine, for what Docker decides: ports of a
//! container made again by hand, networks removed and made again under
//! their name, `--replace` of a built image, a stack reached through a
//! symlink.

use std::collections::HashMap;

use bollard::models::{ContainerCreateBody, HostConfig, PortBinding};
use bollard::query_parameters::{
    CreateContainerOptionsBuilder, InspectContainerOptions, RemoveContainerOptionsBuilder,
};

use crate::docker_support::{block_on, docker_stack, raw_client, test_image};
use crate::support::{ok, stack_dir, stdout};

/// A free TCP port on the loopback.
fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// The host ports a container asked for, as `ip:host->container/proto`.
fn asked_ports(name: &str) -> Vec<String> {
    block_on(async {
        let docker = raw_client().await.unwrap();
        let c = docker
            .inspect_container(name, None::<InspectContainerOptions>)
            .await
            .unwrap();
        let mut out: Vec<String> = c
            .host_config
            .and_then(|h| h.port_bindings)
            .unwrap_or_default()
            .into_iter()
            .flat_map(|(key, bindings)| {
                bindings.unwrap_or_default().into_iter().map(move |b| {
                    format!(
                        "{}:{}->{key}",
                        b.host_ip.unwrap_or_default(),
                        b.host_port.unwrap_or_default()
                    )
                })
            })
            .collect();
        out.sort();
        out
    })
}

/// Removes a container and makes it again by hand with the same labels,
/// image and command, publishing `ports` (`(container, ip, host)`).
fn remake_with_ports(name: &str, ports: &[(&str, &str, &str)]) {
    block_on(async {
        let docker = raw_client().await.unwrap();
        let old = docker
            .inspect_container(name, None::<InspectContainerOptions>)
            .await
            .unwrap();
        let config = old.config.unwrap();
        docker
            .remove_container(
                name,
                Some(RemoveContainerOptionsBuilder::default().force(true).build()),
            )
            .await
            .unwrap();
        let mut bindings: HashMap<String, Option<Vec<PortBinding>>> = HashMap::new();
        for (container, ip, host) in ports {
            bindings
                .entry(container.to_string())
                .or_insert_with(|| Some(Vec::new()))
                .get_or_insert_with(Vec::new)
                .push(PortBinding {
                    host_ip: Some(ip.to_string()),
                    host_port: Some(host.to_string()),
                });
        }
        docker
            .create_container(
                Some(CreateContainerOptionsBuilder::default().name(name).build()),
                ContainerCreateBody {
                    image: config.image,
                    cmd: config.cmd,
                    labels: config.labels,
                    exposed_ports: Some(ports.iter().map(|p| p.0.to_string()).collect()),
                    host_config: Some(HostConfig {
                        port_bindings: Some(bindings),
                        ..Default::default()
                    }),
                    ..Default::default()
                },
            )
            .await
            .unwrap();
        docker.start_container(name, None).await.unwrap();
    });
}

#[test]
fn a_container_made_again_by_hand_with_other_ports_is_made_again_and_picked_ports_never_count() {
    let Some(guard) = docker_stack("ports") else {
        return;
    };
    let stack = guard.stack.clone();
    let (port, other) = (free_port(), free_port());
    let source = format!(
        "stack \"{stack}\"\ncontainer \"web\" {{\n  image   = \"{}\"\n  command = [\"sleep\", \"3600\"]\n  ports   = [\"127.0.0.1:{port}:80\", \"127.0.0.1::81\"]\n}}\n",
        test_image()
    );
    let dir = stack_dir("ports", &source, &[]);
    let path = dir.to_string_lossy().into_owned();
    ok(&["apply", &path, "--auto-approve"]);
    let web = format!("{stack}-web");
    let made = asked_ports(&web);
    assert_eq!(
        made,
        [
            "127.0.0.1:->81/tcp".to_string(),
            format!("127.0.0.1:{port}->80/tcp"),
        ]
    );
    // The port Docker picked for 81 is no difference.
    assert!(stdout(&ok(&["plan", &path])).contains("No changes."));

    remake_with_ports(
        &web,
        &[
            ("80/tcp", "127.0.0.1", &other.to_string()),
            ("81/tcp", "127.0.0.1", ""),
        ],
    );
    let plan = stdout(&ok(&["plan", &path]));
    assert!(
        plan.contains("Objects have changed outside stackc")
            && plan.contains(&format!("host = {other}"))
            && plan.contains("container.web must be replaced")
            && plan.contains("# forces replacement"),
        "{plan}"
    );
    // Made again off the stack's network: the drift lists that too, not
    // only the ports that force the replacement.
    let drift = plan.split("stackc will perform").next().unwrap();
    assert!(drift.contains("networks[0]"), "{plan}");
    ok(&["apply", &path, "--auto-approve"]);
    assert_eq!(asked_ports(&web), made);
    assert!(stdout(&ok(&["plan", &path])).contains("No changes."));
    ok(&["destroy", &path, "--auto-approve"]);
}

/// The id of the image a container runs, and its own id.
fn runs(name: &str) -> (String, String) {
    block_on(async {
        let docker = raw_client().await.unwrap();
        let c = docker
            .inspect_container(name, None::<InspectContainerOptions>)
            .await
            .unwrap();
        (c.image.unwrap(), c.id.unwrap())
    })
}

fn image_exists(id: &str) -> bool {
    block_on(async {
        let docker = raw_client().await.unwrap();
        docker.inspect_image(id).await.is_ok()
    })
}

#[test]
fn replacing_a_built_image_rebuilds_it_without_the_cache_and_replaces_its_containers() {
    let Some(guard) = docker_stack("rebuild") else {
        return;
    };
    let stack = guard.stack.clone();
    let source = format!(
        "stack \"{stack}\"\nimage \"app\" {{\n  build = {{ context = \"./app\", args = {{ BASE = \"{}\" }} }}\n}}\ncontainer \"c\" {{\n  image   = image.app\n  command = [\"sleep\", \"3600\"]\n}}\n",
        test_image()
    );
    let dir = stack_dir(
        "rebuild",
        &source,
        &[
            (
                "app/Dockerfile",
                "ARG BASE\nFROM ${BASE}\nCOPY hello.txt /hello.txt\n",
            ),
            ("app/hello.txt", "hello\n"),
        ],
    );
    let path = dir.to_string_lossy().into_owned();
    ok(&["apply", &path, "--auto-approve"]);
    let c = format!("{stack}-c");
    let (old_image, old_container) = runs(&c);
    let plan = stdout(&ok(&["plan", &path, "--replace", "image.app"]));
    assert!(
        plan.contains("container.c must be replaced")
            && plan.contains("(image.app is replaced)")
            && plan.contains("image.app must be replaced"),
        "{plan}"
    );
    let replaced = ok(&["apply", &path, "--auto-approve", "--replace", "image.app"]);
    let said = crate::support::stderr(&replaced);
    assert!(
        said.contains("Apply complete: 2 added, 0 changed, 2 destroyed."),
        "{said}"
    );
    // Built again without the cache: another image, which the container runs.
    let (new_image, new_container) = runs(&c);
    assert_ne!(
        new_image, old_image,
        "the cache would have made the same image"
    );
    assert_ne!(new_container, old_container);
    assert!(image_exists(&new_image), "the new build is kept");
    assert!(!image_exists(&old_image), "the old build is removed");
    assert!(stdout(&ok(&["plan", &path])).contains("No changes."));
    ok(&["destroy", &path, "--auto-approve"]);
}

/// `docker network rm` and `docker network create` of the same name by
/// hand, with the labels it had or without any; with `detach`, the
/// container is disconnected first (`docker network disconnect`),
/// otherwise stopped (Docker then keeps its attachment to the removed one).
fn remake_network(network: &str, container: &str, detach: bool, labelled: bool) {
    block_on(async {
        let docker = raw_client().await.unwrap();
        let old = docker
            .inspect_network(
                network,
                None::<bollard::query_parameters::InspectNetworkOptions>,
            )
            .await
            .unwrap();
        if detach {
            let request = bollard::models::NetworkDisconnectRequest {
                container: container.to_string(),
                force: Some(true),
            };
            docker.disconnect_network(network, request).await.unwrap();
        } else {
            docker
                .stop_container(
                    container,
                    Some(
                        bollard::query_parameters::StopContainerOptionsBuilder::default()
                            .t(1)
                            .build(),
                    ),
                )
                .await
                .unwrap();
        }
        docker.remove_network(network).await.unwrap();
        let request = bollard::models::NetworkCreateRequest {
            name: network.to_string(),
            labels: labelled.then(|| old.labels.unwrap_or_default()),
            ..Default::default()
        };
        docker.create_network(request).await.unwrap();
    });
}

/// Removes a network made by hand without the stack's labels, however the test ends.
struct Unlabelled(String);

impl Drop for Unlabelled {
    fn drop(&mut self) {
        let name = self.0.clone();
        let _ = std::thread::spawn(move || {
            block_on(async {
                if let Ok(docker) = raw_client().await {
                    let _ = docker.remove_network(&name).await;
                }
            })
        })
        .join();
    }
}

#[test]
fn a_network_removed_and_made_again_by_hand_is_never_no_changes_and_one_apply_converges() {
    let Some(guard) = docker_stack("netremade") else {
        return;
    };
    let stack = guard.stack.clone();
    let source = format!(
        "stack \"{stack}\"\nnetwork \"back\" {{}}\ncontainer \"web\" {{\n  image    = \"{}\"\n  command  = [\"sleep\", \"3600\"]\n  networks = [network.back]\n}}\n",
        test_image()
    );
    let dir = stack_dir("netremade", &source, &[]);
    let path = dir.to_string_lossy().into_owned();
    ok(&["apply", &path, "--auto-approve"]);
    let (web, back) = (format!("{stack}-web"), format!("{stack}-back"));
    let converges = || {
        ok(&["apply", &path, "--auto-approve"]);
        assert!(stdout(&ok(&["plan", &path])).contains("No changes."));
        let running = block_on(async {
            let docker = raw_client().await.unwrap();
            let c = docker
                .inspect_container(&web, None::<InspectContainerOptions>)
                .await
                .unwrap();
            c.state.and_then(|s| s.running).unwrap_or(false)
        });
        assert!(running, "{web} runs again");
    };

    // Disconnected, then the network made again with the stack's labels.
    remake_network(&back, &web, true, true);
    let plan = stdout(&ok(&["plan", &path]));
    assert!(
        plan.contains("container.web will be updated in place")
            && plan.contains(&format!("+ networks[0] = {{ network = \"{back}\"")),
        "{plan}"
    );
    converges();

    // Stopped: Docker keeps its attachment to the removed network.
    remake_network(&back, &web, false, true);
    let plan = stdout(&ok(&["plan", &path]));
    assert!(
        plan.contains(&format!(
            "reconnect: {back} was removed and made again outside stackc"
        )) && plan.contains(&format!("+ networks[0] = {{ network = \"{back}\"")),
        "{plan}"
    );
    converges();

    // Made again without the stack's labels: another object in the way.
    let _unlabelled = Unlabelled(back.clone());
    remake_network(&back, &web, false, false);
    let refused = crate::support::exits(1, &["plan", &path], &[]);
    let plan = stdout(&refused);
    assert!(
        plan.contains(&format!(
            "! network.back: the network name {back} is taken by network {back} (not made by stackc)"
        )) && plan.contains(&format!("reconnect: {back} was removed outside stackc")),
        "{plan}"
    );
    block_on(async {
        let docker = raw_client().await.unwrap();
        docker.remove_network(&back).await.unwrap();
    });
    converges();
    ok(&["destroy", &path, "--auto-approve"]);
}

#[test]
fn a_stack_applied_through_a_symlink_plans_no_changes_from_its_real_directory_and_back() {
    let Some(guard) = docker_stack("symlink") else {
        return;
    };
    let stack = guard.stack.clone();
    let source = format!(
        "stack \"{stack}\"\ncontainer \"web\" {{\n  image   = \"{}\"\n  command = [\"sleep\", \"3600\"]\n  mounts  = [\"./data:/data:ro\"]\n}}\n",
        test_image()
    );
    let real = stack_dir("symlink", &source, &[("data/hello.txt", "hello\n")]);
    let elsewhere = crate::support::temp_dir("symlink_parent");
    let link = elsewhere.join("stack");
    std::os::unix::fs::symlink(&real, &link).unwrap();
    let (real, link) = (
        real.to_string_lossy().into_owned(),
        link.to_string_lossy().into_owned(),
    );
    for (applied, planned) in [(&real, &link), (&link, &real)] {
        ok(&["apply", applied, "--auto-approve"]);
        let plan = stdout(&ok(&["plan", planned]));
        assert!(plan.contains("No changes."), "{plan}");
        ok(&["destroy", applied, "--auto-approve"]);
    }
    let _ = std::fs::remove_dir_all(&elsewhere);
}
