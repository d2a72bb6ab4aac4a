//! Each lint rule, on the evaluated deployment (`docs/lint.md` says why each
//! one matters and how to silence it).

use std::collections::BTreeSet;

use super::Finding;
use crate::deployment::{Condition, Deployment, Resource, RunSpec, Spec};
use crate::diagnostic::ErrorCode;

/// Capabilities that give a container (most of) the host.
const DANGEROUS_CAPABILITIES: &[&str] =
    &["ALL", "SYS_ADMIN", "NET_ADMIN", "SYS_MODULE", "SYS_PTRACE"];

/// Where the Docker engine's socket is, and the directories that hold it.
const DOCKER_SOCKETS: &[&str] = &[
    "/var/run/docker.sock",
    "/run/docker.sock",
    "/var/run",
    "/run",
    "/",
];

/// Well-known database images (the last part of the repository).
const DATABASES: &[&str] = &[
    "postgres",
    "postgis",
    "mysql",
    "mariadb",
    "redis",
    "valkey",
    "mongo",
    "memcached",
    "elasticsearch",
    "opensearch",
    "cassandra",
    "couchdb",
    "influxdb",
    "neo4j",
    "clickhouse-server",
    "timescaledb",
];

/// Images that ship a user to run as instead of root: (repository, user).
const NON_ROOT_USERS: &[(&str, &str)] = &[("node", "node")];

/// Parts of an environment variable's name that say it holds a secret.
const SECRET_WORDS: &[&str] = &[
    "PASSWORD",
    "PASSWD",
    "PASS",
    "PWD",
    "TOKEN",
    "SECRET",
    "KEY",
    "APIKEY",
    "CREDENTIALS",
];

pub(super) fn findings(d: &Deployment) -> Vec<Finding> {
    let mut out = Vec::new();
    // Containers running an image resource are judged on that resource.
    let image_resources: BTreeSet<&str> = d
        .resources
        .iter()
        .filter(|r| matches!(r.spec, Spec::Image(_)))
        .map(|r| r.name.as_str())
        .collect();
    for r in &d.resources {
        let mut add =
            |code, field, within: Option<&str>, message: String, label: &str, help: &str| {
                out.push(Finding {
                    code,
                    address: r.address.clone(),
                    field,
                    within: within.map(str::to_string),
                    message,
                    label: label.to_string(),
                    help: help.to_string(),
                });
            };
        match &r.spec {
            Spec::Image(i) => {
                if let Some(reference) = &i.reference
                    && floating(reference)
                {
                    add(
                        ErrorCode::FloatingTag,
                        Some("ref"),
                        None,
                        format!(
                            "`{}` pulls `{reference}`, whose content changes over time",
                            r.address
                        ),
                        "no fixed tag",
                        "pin a version tag (`nginx:1.27`) or a digest (`@sha256:…`), so that a plan says when the image changes",
                    );
                }
            }
            Spec::Container(c) => {
                if c.privileged {
                    add(
                        ErrorCode::Privileged,
                        Some("privileged"),
                        None,
                        format!(
                            "`{}` runs privileged: it has every capability and every device of the host",
                            r.address
                        ),
                        "root on the host, in effect",
                        "add only the capabilities (`cap_add`) or `devices` it needs",
                    );
                }
                if c.network_mode.as_deref() == Some("host") {
                    add(
                        ErrorCode::HostNamespace,
                        Some("network_mode"),
                        None,
                        format!("`{}` shares the host's network", r.address),
                        "the host's network",
                        "its ports are the host's, on every interface, and it reaches services bound to localhost; publish `ports` instead",
                    );
                }
                if c.options.pid.as_deref() == Some("host") {
                    add(
                        ErrorCode::HostNamespace,
                        Some("pid"),
                        None,
                        format!("`{}` shares the host's processes", r.address),
                        "the host's process namespace",
                        "it sees, and as root may signal or trace, every process of the host; leave `pid` unset unless it is a monitoring agent",
                    );
                }
                run_findings(r, &c.run, &image_resources, &mut add);
            }
            Spec::Service(s) => run_findings(r, &s.run, &image_resources, &mut add),
            Spec::Network(_) | Spec::Volume(_) => {}
        }
    }
    healthy_without_check(d, &mut out);
    out
}

type Add<'a> = dyn FnMut(ErrorCode, Option<&'static str>, Option<&str>, String, &str, &str) + 'a;

/// What containers and services share.
fn run_findings(r: &Resource, run: &RunSpec, image_resources: &BTreeSet<&str>, add: &mut Add<'_>) {
    let a = &r.address;
    for m in &run.mounts {
        if m.kind == "bind"
            && let Some(source) = &m.source
            && DOCKER_SOCKETS.contains(&match source.trim_end_matches('/') {
                "" => "/",
                s => s,
            })
        {
            add(
                ErrorCode::DockerSocket,
                Some("mounts"),
                Some(source),
                format!("`{a}` mounts the Docker socket (`{source}`)"),
                "control of the Docker engine",
                "whoever controls the container controls the engine, and so the host (read-only does not help: the socket is still writable); give it a socket proxy that allows only the calls it needs",
            );
        }
    }
    if !image_resources.contains(run.image.as_str()) && floating(&run.image) {
        add(
            ErrorCode::FloatingTag,
            Some("image"),
            None,
            format!(
                "`{a}` runs `{}`, whose content changes over time",
                run.image
            ),
            "no fixed tag",
            "pin a version tag (`nginx:1.27`) or a digest (`@sha256:…`), so that a plan says when the image changes",
        );
    }
    let dangerous: Vec<&String> = run
        .cap_add
        .iter()
        .filter(|c| {
            let name = c.to_ascii_uppercase();
            DANGEROUS_CAPABILITIES.contains(&name.trim_start_matches("CAP_"))
        })
        .collect();
    if let Some(first) = dangerous.first() {
        let names: Vec<String> = dangerous.iter().map(|c| c.to_string()).collect();
        add(
            ErrorCode::DangerousCapability,
            Some("cap_add"),
            Some(first.as_str()),
            format!("`{a}` adds {}", quoted(&names)),
            "enough to escape to the host, or to take over its network",
            "add the narrowest capability that does the job (`NET_BIND_SERVICE`, `CHOWN`, …)",
        );
    }
    let plain = run.env.iter().filter(|(name, value)| {
        secret_name(name)
            && !plain_setting(value)
            && !sensitive(
                &r.sensitive_paths,
                &format!("/env/{}", pointer_escape(name)),
            )
    });
    for (name, _) in plain {
        add(
            ErrorCode::PlainSecret,
            Some("env"),
            Some(name),
            format!("`{name}` in `{a}` is plain text"),
            "named like a secret, set to plain text",
            "take the value from a `secret` parameter (`param db_password: secret`), so that stackc masks it in plans, output and labels",
        );
    }
    for (field, pointer) in [
        ("command", "/command"),
        ("entrypoint", "/entrypoint"),
        ("health", "/health"),
    ] {
        if r.sensitive_paths
            .iter()
            .any(|p| p == pointer || p.starts_with(&format!("{pointer}/")))
        {
            add(
                ErrorCode::SecretInCommand,
                Some(field),
                None,
                format!("a secret is in the `{field}` of `{a}`"),
                "anyone who may inspect the container reads it",
                "`docker inspect` and `ps` on the host show commands in clear; pass the secret in `env` or a secret file in `files`, and read it from there",
            );
        }
    }
    for p in &run.ports {
        let everywhere = matches!(p.ip.as_deref(), None | Some("0.0.0.0" | "::" | "[::]" | ""));
        if p.host.is_some() && everywhere && DATABASES.contains(&repository(&run.image)) {
            add(
                ErrorCode::DatabasePublished,
                Some("ports"),
                None,
                format!(
                    "`{a}` publishes the database port {} on every interface of the host",
                    p.container
                ),
                "reachable from other machines",
                "containers of the stack reach it on its network without `ports`; to reach it from the host, publish it on 127.0.0.1 (`\"127.0.0.1:5432:5432\"`)",
            );
            break;
        }
    }
    match run.user.as_deref() {
        Some(user) if root(user) => add(
            ErrorCode::RunsAsRoot,
            Some("user"),
            None,
            format!("`{a}` runs as root"),
            "root",
            "run it as an unprivileged user; a process escaping a root container is root on the host",
        ),
        None => {
            if let Some((_, user)) = NON_ROOT_USERS
                .iter()
                .find(|(image, _)| *image == repository(&run.image))
            {
                add(
                    ErrorCode::RunsAsRoot,
                    Some("image"),
                    None,
                    format!("`{a}` runs as root, though its image has the user `{user}`"),
                    "runs as root",
                    &format!("set `user = \"{user}\"`"),
                );
            }
        }
        Some(_) => {}
    }
}

/// A container others wait on as `healthy` that has no health check.
fn healthy_without_check(d: &Deployment, out: &mut Vec<Finding>) {
    for r in &d.resources {
        for dep in &r.depends_on {
            if dep.condition != Condition::Healthy {
                continue;
            }
            let unchecked = d.resources.iter().any(|t| {
                t.address == dep.address
                    && matches!(&t.spec, Spec::Container(c) if c.run.health.as_ref().is_none_or(|h| h.test.first().is_some_and(|t| t == "NONE")))
            });
            if unchecked {
                out.push(Finding {
                    code: ErrorCode::HealthyWithoutCheck,
                    address: r.address.clone(),
                    field: Some("depends_on"),
                    within: None,
                    message: format!(
                        "`{}` waits for `{}` to be healthy, and the stack gives it no health check",
                        r.address, dep.address
                    ),
                    label: format!("`{}` has no `health`", dep.address),
                    help: format!(
                        "unless its image has a HEALTHCHECK, apply waits until it times out; give `{}` a `health` check, or wait for `started`",
                        dep.address
                    ),
                });
            }
        }
    }
}

/// An image reference without a fixed version: no tag, or `latest`.
fn floating(reference: &str) -> bool {
    if reference.contains('@') {
        return false;
    }
    let last = reference.rsplit('/').next().unwrap_or(reference);
    match last.split_once(':') {
        None => true,
        Some((_, tag)) => tag == "latest",
    }
}

/// The repository's last part: `postgres` for `docker.io/library/postgres:16`.
fn repository(image: &str) -> &str {
    let without_digest = image.split('@').next().unwrap_or(image);
    let last = without_digest.rsplit('/').next().unwrap_or(without_digest);
    last.split(':').next().unwrap_or(last)
}

fn secret_name(name: &str) -> bool {
    let upper = name.to_ascii_uppercase();
    // `POSTGRES_PASSWORD_FILE` names where the secret is, not the secret.
    if upper.ends_with("_FILE") || upper.ends_with("_PATH") {
        return false;
    }
    upper.split(['_', '-', '.']).any(|w| {
        SECRET_WORDS.contains(&w)
            || w.contains("PASSWORD")
            || w.contains("TOKEN")
            || w.contains("SECRET")
    })
}

/// Values that switch something rather than hold a secret
/// (`MYSQL_ALLOW_EMPTY_PASSWORD=yes`), a path to a file holding it
/// (`/run/secrets/db-password`), or nothing at all.
fn plain_setting(value: &str) -> bool {
    value.starts_with('/')
        || matches!(
            value.to_ascii_lowercase().as_str(),
            "" | "yes" | "no" | "true" | "false" | "0" | "1" | "on" | "off"
        )
}

fn root(user: &str) -> bool {
    let name = user.split(':').next().unwrap_or(user);
    name == "root" || name == "0"
}

/// Is the value at `pointer`, or a value holding it, secret?
fn sensitive(paths: &[String], pointer: &str) -> bool {
    paths
        .iter()
        .any(|p| p.is_empty() || pointer == p || pointer.starts_with(&format!("{p}/")))
}

/// RFC 6901: `~` and `/` in a key.
fn pointer_escape(key: &str) -> String {
    key.replace('~', "~0").replace('/', "~1")
}

fn quoted(names: &[String]) -> String {
    names
        .iter()
        .map(|n| format!("`{n}`"))
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn floating_references() {
        assert!(floating("nginx"));
        assert!(floating("nginx:latest"));
        assert!(floating("localhost:5000/app"));
        assert!(!floating("localhost:5000/app:1.2"));
        assert!(!floating("nginx@sha256:abc"));
        assert!(!floating("postgres:16"));
    }

    #[test]
    fn names_like_secrets() {
        for name in [
            "DB_PASSWORD",
            "api_key",
            "GITHUB_TOKEN",
            "SECRET",
            "MYSQL_ROOT_PASSWORD",
        ] {
            assert!(secret_name(name), "{name}");
        }
        for name in [
            "POSTGRES_PASSWORD_FILE",
            "KEYCLOAK_URL",
            "MONKEY",
            "PATH",
            "TOKENIZER_MODEL_PATH",
        ] {
            assert!(!secret_name(name), "{name}");
        }
        assert_eq!(repository("docker.io/library/postgres:16"), "postgres");
        assert_eq!(repository("bitnami/redis@sha256:0"), "redis");
    }
}
