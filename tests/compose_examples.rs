//! The three Compose projects translated under `examples/` apply on the real
//! engine, and their containers reach each other by name as under Compose.
//!
//! Nothing can be pulled here, so every image is a parameter given a
//! stand-in: the test image with an entry point that serves HTTP on the ports
//! the real programs listen on, whatever its arguments.

use std::collections::BTreeMap;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use stackc::engine::docker::DockerEngine;
use stackc::engine::{Engine, quiet};

use crate::docker_support::{block_on, build_resource, docker_stack, test_image};
use crate::support::{command, copy_tree, root, stderr, stdout, temp_dir, write_executable};

const STAND_IN: &str = "stackc-test/stand-in:1";

/// The stand-in image, built once per process from the test image.
fn stand_in() -> &'static str {
    static BUILT: OnceLock<Result<(), String>> = OnceLock::new();
    let built = BUILT.get_or_init(|| {
        let base = test_image();
        std::thread::spawn(move || block_on(build_stand_in(base)))
            .join()
            .unwrap_or_else(|_| Err("building the stand-in panicked".into()))
    });
    if let Err(e) = built {
        panic!("cannot build {STAND_IN}: {e}");
    }
    STAND_IN
}

async fn build_stand_in(base: &str) -> Result<(), String> {
    let engine = DockerEngine::connect(None)
        .await
        .map_err(|e| e.to_string())?;
    let dir = temp_dir("stand-in");
    write_executable(
        &dir.join("stand-in"),
        "#!/bin/sh\n\
         # Serves /www on the ports the examples' programs use; arguments are ignored.\n\
         for port in 80 443 3000 3306 5054 8000 9229 9230; do httpd -p \"$port\" -h /www; done\n\
         trap 'exit 0' TERM INT\n\
         while :; do sleep 1; done\n",
    );
    std::fs::write(
        dir.join("Dockerfile"),
        format!("FROM {base}\nCOPY stand-in /usr/local/bin/stand-in\nENTRYPOINT [\"/usr/local/bin/stand-in\"]\n"),
    )
    .map_err(|e| e.to_string())?;
    let resource = build_resource("image.stand-in", STAND_IN, &dir, BTreeMap::new());
    let built = engine.create("stackc-test-images", &resource, &quiet).await;
    let _ = std::fs::remove_dir_all(&dir);
    built.map(|_| ()).map_err(|e| e.to_string())
}

/// A copy of `examples/<name>` as the stack `stack`, with each `(from, to)`
/// replaced in its main.stack.
fn example(name: &str, stack: &str, replace: &[(&str, &str)]) -> PathBuf {
    let dir = temp_dir(&format!("compose-{name}"));
    copy_tree(&root().join("examples").join(name), &dir);
    let main = dir.join("main.stack");
    let mut text = std::fs::read_to_string(&main).unwrap();
    let line = text
        .lines()
        .find(|l| l.starts_with("stack \""))
        .expect("a stack line")
        .to_string();
    text = text.replace(&line, &format!("stack \"{stack}\""));
    for (from, to) in replace {
        assert!(text.contains(from), "{name}: `{from}` is not in main.stack");
        text = text.replace(from, to);
    }
    std::fs::write(&main, text).unwrap();
    dir
}

/// A host port nothing listens on now.
fn free_port() -> String {
    loop {
        let port = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        // Room for `inspector_port + 1`.
        if port < 60_000 && TcpListener::bind(("127.0.0.1", port + 1)).is_ok() {
            return port.to_string();
        }
    }
}

/// Runs stackc with `--var`s, insisting on success; its stdout.
fn stackc_ok(args: &[&str], dir: &Path, vars: &[(&str, String)]) -> String {
    let mut all: Vec<String> = args.iter().map(|a| a.to_string()).collect();
    all.push(dir.to_string_lossy().into_owned());
    for (name, value) in vars {
        all.extend(["--var".into(), format!("{name}={value}")]);
    }
    let all: Vec<&str> = all.iter().map(String::as_str).collect();
    let out = command(&all).output().unwrap();
    assert!(
        out.status.success(),
        "stackc {all:?}:\n{}\n{}",
        stdout(&out),
        stderr(&out)
    );
    stdout(&out)
}

/// `stackc exec ADDRESS -- sh -c SCRIPT` in the stack, retried while the
/// servers start; its output.
fn exec(dir: &Path, address: &str, script: &str) -> String {
    let dir = dir.to_string_lossy();
    let mut last = String::new();
    for _ in 0..30 {
        let out = command(&["exec", address, &dir, "--", "sh", "-c", script])
            .output()
            .unwrap();
        if out.status.success() {
            return stdout(&out);
        }
        last = format!("{}{}", stdout(&out), stderr(&out));
        std::thread::sleep(std::time::Duration::from_millis(300));
    }
    panic!("`{script}` in {address} kept failing:\n{last}");
}

/// Applies, re-plans to "No changes.", checks each `(from, url)` from inside
/// `from`, and destroys with the volumes.
fn round_trip(dir: &Path, vars: &[(&str, String)], reach: &[(&str, &str)]) {
    stackc_ok(&["apply", "--auto-approve"], dir, vars);
    let again = stackc_ok(&["plan"], dir, vars);
    assert!(again.contains("No changes."), "{again}");
    for (from, url) in reach {
        let page = exec(dir, from, &format!("wget -q -O- {url}"));
        assert!(page.contains("stackc test"), "{from} → {url}: {page}");
    }
    stackc_ok(
        &["destroy", "--auto-approve", "--allow-data-loss"],
        dir,
        vars,
    );
}

#[test]
fn nginx_flask_mysql_applies_and_the_services_reach_each_other_by_name() {
    let Some(guard) = docker_stack("nginx_flask_mysql") else {
        return;
    };
    let image = stand_in().to_string();
    let dir = example("nginx-flask-mysql", &guard.stack, &[]);
    let vars = [
        ("db_image", image.clone()),
        ("backend_image", image.clone()),
        ("proxy_image", image),
        ("db_password", "pw-flask".to_string()),
        ("http_port", free_port()),
        ("backend_port", free_port()),
    ];
    // The secret reaches the database as a file, readable by its owner only.
    stackc_ok(&["apply", "--auto-approve"], &dir, &vars);
    let secret = exec(
        &dir,
        "db",
        "stat -c %a /run/secrets/db-password && cat /run/secrets/db-password",
    );
    assert_eq!(secret, "400\npw-flask");
    round_trip(
        &dir,
        &vars,
        &[
            ("backend", "http://db:3306/"),
            ("proxy", "http://backend:8000/"),
        ],
    );
}

#[test]
fn react_express_mysql_applies_and_the_services_reach_each_other_by_name() {
    let Some(guard) = docker_stack("react_express_mysql") else {
        return;
    };
    let image = stand_in().to_string();
    let dir = example("react-express-mysql", &guard.stack, &[]);
    let vars = [
        ("db_image", image.clone()),
        ("backend_image", image.clone()),
        ("frontend_image", image),
        ("db_password", "pw-react".to_string()),
        ("api_port", free_port()),
        ("frontend_port", free_port()),
        ("inspector_port", free_port()),
    ];
    round_trip(
        &dir,
        &vars,
        &[
            ("backend", "http://db:3306/"),
            ("frontend", "http://backend:80/"),
        ],
    );
}

#[test]
fn pihole_cloudflared_applies_and_pihole_reaches_cloudflared() {
    let Some(guard) = docker_stack("pihole_cloudflared") else {
        return;
    };
    let image = stand_in().to_string();
    // Names and addresses of its own, so that nothing else on the engine
    // (another stack's network in 172.20.0.0/16, a container named
    // `pihole`) is in the way.
    let cloudflared = format!("{}-cloudflared", guard.stack);
    let pihole = format!("{}-pihole", guard.stack);
    let dir = example(
        "pihole-cloudflared-DoH",
        &guard.stack,
        &[
            ("172.20.0.", "10.213.47."),
            (
                "container_name = \"cloudflared\"",
                &format!("container_name = \"{cloudflared}\""),
            ),
            (
                "container_name = \"pihole\"",
                &format!("container_name = \"{pihole}\""),
            ),
        ],
    );
    let vars = [
        ("cloudflared_image", image.clone()),
        ("pihole_image", image),
        ("pihole_password", "pw-pihole".to_string()),
        ("cloudflared_port", free_port()),
        ("dns_port", free_port()),
        ("dhcp_port", free_port()),
        ("http_port", free_port()),
        ("https_port", free_port()),
    ];
    round_trip(
        &dir,
        &vars,
        &[
            // By its logical name, by its container_name, and at its static address.
            ("pihole", "http://cloudflared:5054/"),
            ("pihole", &format!("http://{cloudflared}:5054/")),
            ("pihole", "http://10.213.47.2:5054/"),
        ],
    );
}
