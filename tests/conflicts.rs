//! Objects outside a stack in its way, on a real engine: `plan` names them,
//! `apply` refuses before changing anything, and they are never removed.

use std::collections::HashMap;

use bollard::models::{ContainerCreateBody, HostConfig, PortBinding};
use bollard::query_parameters::{
    CreateContainerOptionsBuilder, RemoveContainerOptionsBuilder, RemoveVolumeOptions,
};

use crate::docker_support::{block_on, docker_stack, raw_client, test_image};
use crate::support::{exits, ok, stack_dir, stderr, stdout};

/// A free TCP port on the loopback.
fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Removes what the test made by hand, however it ends.
struct ByHand {
    container: String,
    volume: String,
}

impl Drop for ByHand {
    fn drop(&mut self) {
        let (container, volume) = (self.container.clone(), self.volume.clone());
        let _ = std::thread::spawn(move || {
            block_on(async {
                let docker = raw_client().await.unwrap();
                let _ = docker
                    .remove_container(
                        &container,
                        Some(RemoveContainerOptionsBuilder::default().force(true).build()),
                    )
                    .await;
                let _ = docker
                    .remove_volume(&volume, None::<RemoveVolumeOptions>)
                    .await;
            })
        })
        .join();
    }
}

#[test]
fn a_port_and_a_name_taken_outside_the_stack_stop_apply_before_any_change() {
    let Some(guard) = docker_stack("inway") else {
        return;
    };
    let stack = guard.stack.clone();
    let port = free_port();
    let by_hand = ByHand {
        container: format!("{stack}_by_hand"),
        volume: format!("{stack}-data"),
    };
    block_on(async {
        let docker = raw_client().await.unwrap();
        docker
            .create_volume(bollard::models::VolumeCreateRequest {
                name: Some(by_hand.volume.clone()),
                ..Default::default()
            })
            .await
            .unwrap();
        let bindings = HashMap::from([(
            "80/tcp".to_string(),
            Some(vec![PortBinding {
                host_ip: Some("127.0.0.1".into()),
                host_port: Some(port.to_string()),
            }]),
        )]);
        docker
            .create_container(
                Some(
                    CreateContainerOptionsBuilder::default()
                        .name(&by_hand.container)
                        .build(),
                ),
                ContainerCreateBody {
                    image: Some(test_image().into()),
                    cmd: Some(vec!["httpd".into(), "-f".into(), "-p".into(), "80".into()]),
                    exposed_ports: Some(vec!["80/tcp".to_string()]),
                    host_config: Some(HostConfig {
                        port_bindings: Some(bindings),
                        ..Default::default()
                    }),
                    ..Default::default()
                },
            )
            .await
            .unwrap();
        docker
            .start_container(&by_hand.container, None)
            .await
            .unwrap();
    });
    let source = format!(
        "stack \"{stack}\"\nvolume \"data\" {{}}\ncontainer \"web\" {{\n  image   = \"{}\"\n  command = [\"httpd\", \"-f\", \"-p\", \"80\"]\n  ports   = [\"{port}:80\"]\n  mounts  = [{{ volume = volume.data, target = \"/data\" }}]\n}}\n",
        test_image()
    );
    let dir = stack_dir("inway", &source, &[]);
    let path = dir.to_string_lossy().into_owned();

    let planned = exits(1, &["plan", &path], &[]);
    assert!(
        stderr(&planned)
            .contains("apply would refuse this plan: objects outside the stack are in its way"),
        "{}",
        stderr(&planned)
    );
    let plan = stdout(&planned);
    assert!(
        plan.contains("Objects outside the stack are in the way:")
            && plan.contains(&format!(
                "container.web: host port {port}/tcp is taken by container {} (not made by stackc)",
                by_hand.container
            ))
            && plan.contains(&format!(
                "volume.data: the volume name {} is taken by volume {} (not made by stackc)",
                by_hand.volume, by_hand.volume
            )),
        "{plan}"
    );
    let refused = exits(1, &["apply", &path, "--auto-approve"], &[]);
    assert!(
        stderr(&refused).contains("objects outside the stack are in its way; nothing was changed"),
        "{}",
        stderr(&refused)
    );
    let status = stdout(&ok(&["status", &path]));
    assert!(!status.contains("running"), "nothing was made: {status}");
    // What is not the stack's is left as it was.
    block_on(async {
        let docker = raw_client().await.unwrap();
        let c = docker
            .inspect_container(&by_hand.container, None)
            .await
            .unwrap();
        assert_eq!(c.state.and_then(|s| s.running), Some(true));
        docker.inspect_volume(&by_hand.volume).await.unwrap();
    });
    drop(by_hand);
    ok(&["apply", &path, "--auto-approve"]);
    ok(&["destroy", &path, "--auto-approve", "--allow-data-loss"]);
}
