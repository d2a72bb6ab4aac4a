//! Docker Compose's keys written as fields of a resource, and the stackc
//! field that does the job: the unknown-field diagnostic (E0302) tells this
//! instead of the nearest spelling, which for `volumes` or `links` would
//! point the wrong way. The one table of them (docs/errors.md, E0302).

use crate::deployment::Kind;

/// A key of a Compose file that is not a field of `kinds`.
pub struct ComposeKey {
    pub key: &'static str,
    pub kinds: &'static [Kind],
    /// The stackc field that replaces it, if one does (checked to exist).
    pub field: Option<&'static str>,
    pub help: &'static str,
}

const RUNTIME: &[Kind] = &[Kind::Container, Kind::Service];
const CONTAINER: &[Kind] = &[Kind::Container];
const SERVICE: &[Kind] = &[Kind::Service];
const IMAGE: &[Kind] = &[Kind::Image];
const VOLUME: &[Kind] = &[Kind::Volume];
const NETWORK: &[Kind] = &[Kind::Network];

const fn key(
    key: &'static str,
    kinds: &'static [Kind],
    field: Option<&'static str>,
    help: &'static str,
) -> ComposeKey {
    ComposeKey {
        key,
        kinds,
        field,
        help,
    }
}

const CPUS: &str = "CPU limits are `cpus`, a number of CPUs: `cpus = 1.5`";
const BUILD_FIELD: &str = "`context`, `dockerfile`, `args` and `target` are fields of `build`: \
    `build = { context = \"./app\", dockerfile = \"Dockerfile.prod\", args = [\"VERSION=1.2\"] }`";
const LINKS: &str = "not needed: containers reach each other by name on the networks they \
    share; `depends_on` orders start-up";

pub const KEYS: &[ComposeKey] = &[
    key(
        "volumes",
        RUNTIME,
        Some("mounts"),
        "Compose's `volumes` is `mounts`: `mounts = [\"db-data:/var/lib/mysql\", \"./conf:/etc/app:ro\"]` \
         (a named volume is a `volume` resource)",
    ),
    key(
        "environment",
        RUNTIME,
        Some("env"),
        "Compose's `environment` is `env`: `env = { KEY = \"value\" }` or `env = [\"KEY=value\"]`",
    ),
    key(
        "env_file",
        RUNTIME,
        Some("env"),
        "read the file into `env`: `env = dotenv(\"./.env\")` (`secret_dotenv` keeps its values \
         secret; `merge(dotenv(\"./.env\"), { KEY = \"value\" })` adds more)",
    ),
    key(
        "healthcheck",
        RUNTIME,
        Some("health"),
        "Compose's `healthcheck` is `health`, its `test` is `cmd`: \
         `health = { cmd = \"curl -f http://localhost/\", interval = 10s, retries = 3 }`; \
         `health = \"none\"` switches the image's check off (`disable: true`)",
    ),
    key(
        "mem_limit",
        RUNTIME,
        Some("memory"),
        "Compose's `mem_limit` is `memory`, a size: `memory = 512MiB`",
    ),
    key(
        "working_dir",
        RUNTIME,
        Some("workdir"),
        "Compose's `working_dir` is `workdir`: `workdir = \"/app\"`",
    ),
    key("cpu_count", RUNTIME, Some("cpus"), CPUS),
    key("cpu_shares", RUNTIME, Some("cpus"), CPUS),
    key("cpu_quota", RUNTIME, Some("cpus"), CPUS),
    key(
        "stop_grace_period",
        RUNTIME,
        Some("stop_timeout"),
        "Compose's `stop_grace_period` is `stop_timeout`, a duration: `stop_timeout = 30s`",
    ),
    key("links", RUNTIME, None, LINKS),
    key("external_links", RUNTIME, None, LINKS),
    key(
        "secrets",
        CONTAINER,
        Some("files"),
        "a secret is a file put into the container: \
         `files = [{ target = \"/run/secrets/db\", content = secret_file(\"db.txt\") }]`",
    ),
    key(
        "configs",
        CONTAINER,
        Some("files"),
        "a config is a file put into the container: \
         `files = [{ target = \"/etc/app.conf\", content = file(\"app.conf\") }]`",
    ),
    key(
        "deploy",
        CONTAINER,
        None,
        "`deploy` is Swarm's: a `service` resource has `replicas`, `update` and `placement`; a \
         container's limits are `memory` and `cpus`, its restart policy `restart`",
    ),
    key(
        "deploy",
        SERVICE,
        None,
        "a service's `deploy` settings are fields of its own: `replicas`, `update`, `placement`, \
         and `memory`, `cpus` for limits",
    ),
    key(
        "build",
        RUNTIME,
        None,
        "an image is built by an `image` resource: `image \"app\" { build = \"./app\" }`, then \
         `image = image.app` here",
    ),
    key(
        "pull_policy",
        CONTAINER,
        Some("pull"),
        "Compose's `pull_policy` is `pull`: `pull = \"always\"`",
    ),
    key(
        "tmpfs",
        RUNTIME,
        Some("mounts"),
        "a tmpfs is a mount: `mounts = [{ tmpfs = 64MiB, target = \"/run\" }]`",
    ),
    key(
        "volumes_from",
        RUNTIME,
        Some("mounts"),
        "share a named volume instead: declare a `volume` and mount it in both \
         (`mounts = [\"shared:/data\"]`)",
    ),
    key(
        "profiles",
        RUNTIME,
        None,
        "stackc has no profiles: declare a `param` and put the resource in an `if`: \
         `if debug { container \"adminer\" { … } }`",
    ),
    key(
        "scale",
        CONTAINER,
        None,
        "several copies are a `service` with `replicas`, or containers made by a `for`: \
         `for i in range(3) { container \"web-${i}\" { … } }`",
    ),
    key(
        "image",
        IMAGE,
        Some("ref"),
        "an `image` resource names the image it pulls with `ref`: `ref = \"nginx:1.27\"`",
    ),
    key("context", IMAGE, Some("build"), BUILD_FIELD),
    key("dockerfile", IMAGE, Some("build"), BUILD_FIELD),
    key("args", IMAGE, Some("build"), BUILD_FIELD),
    key("target", IMAGE, Some("build"), BUILD_FIELD),
    key(
        "external",
        VOLUME,
        None,
        "a volume made outside the stack needs no resource: name it in `mounts` as a string \
         (`mounts = [\"shared-data:/data\"]`)",
    ),
    key(
        "driver_opts",
        VOLUME,
        Some("options"),
        "Compose's `driver_opts` is `options`: `options = { type = \"nfs\", o = \"addr=10.0.0.1\" }`",
    ),
    key(
        "name",
        VOLUME,
        Some("docker_name"),
        "a volume's Docker name is `<stack>-<name>` unless `docker_name` sets it \
         (`docker_name = \"pgdata\"`); a volume made outside the stack needs no resource: name \
         it in `mounts` as a string",
    ),
    // Issue 12: Docker-name pins.
    key(
        "name",
        NETWORK,
        Some("docker_name"),
        "a network's Docker name is `<stack>-<name>` unless `docker_name` sets it \
         (`docker_name = \"backend\"`); a network made outside the stack needs no resource: \
         name it in `networks` as a string",
    ),
    key(
        "docker_name",
        CONTAINER,
        Some("container_name"),
        "a container's Docker name is set by `container_name`, as in Compose",
    ),
    key(
        "external",
        NETWORK,
        None,
        "a network made outside the stack needs no resource: name it in `networks` as a string \
         (`networks = [\"shared-net\"]`)",
    ),
    key(
        "ipam",
        NETWORK,
        Some("subnet"),
        "an address range is `subnet`: `subnet = \"172.28.0.0/16\"`",
    ),
];

/// What to write instead of the Compose key `key` in a resource of `kind`.
pub fn help(kind: Kind, key: &str) -> Option<&'static str> {
    KEYS.iter()
        .find(|k| k.key == key && k.kinds.contains(&kind))
        .map(|k| k.help)
}

/// Compose's keys inside a health check, written in `health`'s record:
/// told what they are here rather than the nearest spelling.
const HEALTH_KEYS: &[(&str, &str)] = &[
    (
        "disable",
        "Compose's `disable: true` is `health = \"none\"`: it switches the image's check off",
    ),
    (
        "test",
        "Compose's `test` is `cmd`: `cmd = \"curl -f http://localhost/\"` (run by a shell) \
         or `cmd = [\"pg_isready\"]`",
    ),
];

/// What to write instead of the Compose key `key` in a record whose fields
/// are `expected` (only `health`'s has such keys).
pub fn record_help(key: &str, expected: &[&str]) -> Option<&'static str> {
    let is_health = ["cmd", "start_period"].iter().all(|f| expected.contains(f));
    is_health
        .then(|| HEALTH_KEYS.iter().find(|(k, _)| *k == key))
        .flatten()
        .map(|(_, help)| *help)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::types::schema::field_def;

    #[test]
    fn health_keys_are_told_only_in_health() {
        let health = ["cmd", "interval", "timeout", "retries", "start_period"];
        assert!(
            record_help("disable", &health)
                .unwrap()
                .contains("\"none\"")
        );
        assert!(record_help("test", &health).unwrap().contains("`cmd`"));
        assert_eq!(record_help("disable", &["host", "container"]), None);
        assert_eq!(record_help("cmdd", &health), None);
    }

    #[test]
    fn every_key_is_unknown_and_every_replacement_exists() {
        for k in KEYS {
            for &kind in k.kinds {
                assert!(
                    field_def(kind, k.key).is_none(),
                    "`{}` is a field of {kind}: it needs no entry",
                    k.key
                );
                if let Some(f) = k.field {
                    assert!(
                        field_def(kind, f).is_some(),
                        "`{}` suggests `{f}`, which {kind} does not have",
                        k.key
                    );
                }
                assert!(
                    help(kind, k.key) == Some(k.help),
                    "`{}` is in the table twice",
                    k.key
                );
            }
        }
    }
}
