//! Registries for the tests: Debian's `docker-registry`, on the loopback
//! address (which the engine treats as an insecure, plain-HTTP registry).
//!
//! [`registry()`] is an open registry on `127.0.0.1:5000`; [`auth_registry()`]
//! one on `127.0.0.1:5001` that takes only [`AUTH_USER`] / [`AUTH_PASSWORD`]
//! (htpasswd). Each is reused when it already answers; otherwise started
//! with a configuration of its own and storage in a fresh temporary
//! directory, and left running: other test threads and test processes may
//! be using it (its directory, with `registry.log` and `registry.pid`, is
//! `stackc-registry-server-*` under the temporary directory). When several start
//! one at once, only one can bind the port; the others wait for it.
//!
//! Without the binary, or when it cannot start, the tests that need a
//! registry are skipped, saying why — unless `STACKC_REQUIRE_DOCKER=1`,
//! when that fails them.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use crate::docker_support::required;

/// The open registry.
pub const REGISTRY: &str = "127.0.0.1:5000";
/// The registry that asks for a password.
pub const AUTH_REGISTRY: &str = "127.0.0.1:5001";
/// The one user of [`AUTH_REGISTRY`].
pub const AUTH_USER: &str = "stackc";
/// Its password: `~` and `?` make the engine's auth header need URL-safe base64.
pub const AUTH_PASSWORD: &str = "s3cret~~~???";
/// `AUTH_USER:bcrypt(AUTH_PASSWORD)`, as htpasswd keeps it.
const AUTH_HTPASSWD: &str = "stackc:$2b$05$qsfa2a5fByeRxwNlD/Lhb.qbXgsuuAHb8gBzUXP/7sHkfFFQfA6Wm\n";
const AUTH_REALM: &str = "stackc-test";
/// How long a registry that is starting may take to answer.
const START_TIMEOUT: Duration = Duration::from_secs(30);

/// The open registry, started if need be; `None` (the test is skipped,
/// saying why) when there is none and none can be started.
pub fn registry() -> Option<&'static str> {
    static STARTED: OnceLock<Result<(), String>> = OnceLock::new();
    let started = STARTED.get_or_init(|| ensure(REGISTRY, &Expect::Open, ""));
    available(REGISTRY, started)
}

/// The registry that takes only [`AUTH_USER`] / [`AUTH_PASSWORD`].
pub fn auth_registry() -> Option<&'static str> {
    static STARTED: OnceLock<Result<(), String>> = OnceLock::new();
    let started = STARTED.get_or_init(|| {
        ensure(
            AUTH_REGISTRY,
            &Expect::Password,
            &format!("auth:\n  htpasswd:\n    realm: {AUTH_REALM}\n    path: HTPASSWD\n"),
        )
    });
    available(AUTH_REGISTRY, started)
}

fn available(address: &'static str, started: &Result<(), String>) -> Option<&'static str> {
    match started {
        Ok(()) => Some(address),
        Err(e) if required() => {
            panic!("STACKC_REQUIRE_DOCKER=1, but there is no registry at {address}: {e}")
        }
        Err(e) => {
            eprintln!("skipped: no registry at {address} ({e})");
            None
        }
    }
}

/// What a registry of the tests answers to `GET /v2/`.
enum Expect {
    /// 200: anyone may push and pull.
    Open,
    /// 401 asking for basic authentication in our realm.
    Password,
}

/// What answered at an address.
enum Probe {
    /// Nothing listens.
    Nothing,
    /// The registry expected.
    Ours,
    /// Something else: its status line.
    Other(String),
}

/// `GET /v2/` over plain HTTP: is the expected registry there?
fn probe(address: &str, expect: &Expect) -> Probe {
    let Ok(addr) = address.parse::<SocketAddr>() else {
        return Probe::Nothing;
    };
    let Ok(mut stream) = TcpStream::connect_timeout(&addr, Duration::from_secs(1)) else {
        return Probe::Nothing;
    };
    let _ = stream.set_read_timeout(Some(Duration::from_secs(5)));
    let request = format!("GET /v2/ HTTP/1.0\r\nHost: {address}\r\n\r\n");
    if stream.write_all(request.as_bytes()).is_err() {
        return Probe::Other("(the connection broke)".into());
    }
    let mut response = Vec::new();
    let _ = stream.read_to_end(&mut response);
    let response = String::from_utf8_lossy(&response).to_lowercase();
    let status = response
        .lines()
        .next()
        .unwrap_or_default()
        .trim()
        .to_string();
    let registry = response.contains("docker-distribution-api-version: registry/2.0");
    let ours = match expect {
        Expect::Open => status.contains(" 200"),
        Expect::Password => {
            status.contains(" 401") && response.contains(&format!("basic realm=\"{AUTH_REALM}\""))
        }
    };
    if registry && ours {
        Probe::Ours
    } else if status.is_empty() {
        Probe::Other("(no HTTP answer)".into())
    } else {
        Probe::Other(status)
    }
}

/// The `docker-registry` binary: Debian's path, else on PATH.
fn binary() -> Option<PathBuf> {
    let debian = PathBuf::from("/usr/bin/docker-registry");
    if debian.is_file() {
        return Some(debian);
    }
    std::env::split_paths(&std::env::var_os("PATH")?)
        .map(|dir| dir.join("docker-registry"))
        .find(|p| p.is_file())
}

/// Makes sure the expected registry answers at `address`: reused when it
/// does, else started with `extra` configuration (`HTPASSWD` standing for
/// the path of the htpasswd file).
fn ensure(address: &str, expect: &Expect, extra: &str) -> Result<(), String> {
    match probe(address, expect) {
        Probe::Ours => return Ok(()),
        Probe::Other(status) => {
            return Err(format!(
                "{address} is taken by something that is not the registry the tests expect (it answers `GET /v2/` with `{status}`)"
            ));
        }
        Probe::Nothing => {}
    }
    let binary = binary().ok_or(
        "no `docker-registry` binary (Debian's package docker-registry: `apt-get install docker-registry`)",
    )?;
    let dir = fresh_dir(address);
    let storage = dir.join("storage");
    std::fs::create_dir_all(&storage)
        .map_err(|e| format!("cannot make {}: {e}", storage.display()))?;
    let htpasswd = dir.join("htpasswd");
    std::fs::write(&htpasswd, AUTH_HTPASSWD).map_err(|e| e.to_string())?;
    let config = dir.join("config.yml");
    let text = format!(
        "version: 0.1\nlog:\n  level: warn\n  accesslog:\n    disabled: true\nstorage:\n  filesystem:\n    rootdirectory: {}\n  delete:\n    enabled: true\nhttp:\n  addr: {address}\n  secret: stackc-tests\n{}",
        storage.display(),
        extra.replace("HTPASSWD", &htpasswd.to_string_lossy()),
    );
    std::fs::write(&config, text).map_err(|e| e.to_string())?;
    let log_path = dir.join("registry.log");
    let log = std::fs::File::create(&log_path).map_err(|e| e.to_string())?;
    let log_too = log.try_clone().map_err(|e| e.to_string())?;
    let mut command = Command::new(&binary);
    command
        .arg("serve")
        .arg(&config)
        // Its own environment would override the configuration.
        .env_remove("REGISTRY_HTTP_ADDR")
        .stdin(Stdio::null())
        .stdout(log)
        .stderr(log_too);
    detach(&mut command);
    let mut child = command
        .spawn()
        .map_err(|e| format!("cannot run {}: {e}", binary.display()))?;
    let _ = std::fs::write(dir.join("registry.pid"), child.id().to_string());
    let deadline = Instant::now() + START_TIMEOUT;
    loop {
        match probe(address, expect) {
            // Another thread or process took the port first: ours exited.
            Probe::Ours if matches!(child.try_wait(), Ok(Some(_))) => {
                let _ = std::fs::remove_dir_all(&dir);
                return Ok(());
            }
            Probe::Ours => {
                eprintln!(
                    "registry at {address}: {} serve {} (left running)",
                    binary.display(),
                    config.display()
                );
                // Left running (dropping a child neither kills nor waits for it).
                return Ok(());
            }
            // Ours, or a racing starter's, is not up yet.
            Probe::Nothing | Probe::Other(_) => {}
        }
        if let Ok(Some(status)) = child.try_wait() {
            let log = std::fs::read_to_string(&log_path).unwrap_or_default();
            // Another thread or process took the port: wait for it.
            if !log.contains("address already in use") {
                return Err(format!(
                    "`{} serve {}` exited ({status}): {}",
                    binary.display(),
                    config.display(),
                    tail(&log)
                ));
            }
        }
        if Instant::now() > deadline {
            let log = std::fs::read_to_string(&log_path).unwrap_or_default();
            return Err(format!(
                "{address} did not answer within {}s of starting `{} serve {}`: {}",
                START_TIMEOUT.as_secs(),
                binary.display(),
                config.display(),
                tail(&log)
            ));
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// In a process group of its own: a Ctrl-C meant for the tests does not
/// stop a registry that other test processes may be using.
#[cfg(unix)]
fn detach(command: &mut Command) {
    use std::os::unix::process::CommandExt;
    command.process_group(0);
}

#[cfg(not(unix))]
fn detach(_command: &mut Command) {}

fn fresh_dir(address: &str) -> PathBuf {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos());
    let dir = std::env::temp_dir().join(format!(
        "stackc-registry-server-{}-{}-{nanos}",
        address.replace([':', '.'], "_"),
        std::process::id()
    ));
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

fn tail(log: &str) -> String {
    let lines: Vec<&str> = log.lines().collect();
    let start = lines.len().saturating_sub(5);
    let text = lines[start..].join("\n");
    if text.trim().is_empty() {
        "(no output)".into()
    } else {
        text
    }
}

/// A plain HTTP/1.0 GET of `path` on `address`: (status code, headers
/// lower-cased, body).
pub fn http_get(
    address: &str,
    path: &str,
    headers: &[(&str, &str)],
) -> Result<(u16, String, String), String> {
    let addr: SocketAddr = address.parse().map_err(|e| format!("{address}: {e}"))?;
    let mut stream = TcpStream::connect_timeout(&addr, Duration::from_secs(5))
        .map_err(|e| format!("{address}: {e}"))?;
    stream
        .set_read_timeout(Some(Duration::from_secs(30)))
        .map_err(|e| e.to_string())?;
    let mut request = format!("GET {path} HTTP/1.0\r\nHost: {address}\r\n");
    for (name, value) in headers {
        request.push_str(&format!("{name}: {value}\r\n"));
    }
    request.push_str("\r\n");
    stream
        .write_all(request.as_bytes())
        .map_err(|e| e.to_string())?;
    let mut response = Vec::new();
    stream
        .read_to_end(&mut response)
        .map_err(|e| e.to_string())?;
    let response = String::from_utf8_lossy(&response).into_owned();
    let (head, body) = response
        .split_once("\r\n\r\n")
        .ok_or_else(|| format!("not an HTTP response: {response}"))?;
    let code = head
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .ok_or_else(|| format!("not an HTTP status line: {head}"))?;
    Ok((code, head.to_lowercase(), body.to_string()))
}

/// The tags the open registry lists for `repository`.
pub fn tags(registry: &str, repository: &str) -> Vec<String> {
    let (code, _, body) =
        http_get(registry, &format!("/v2/{repository}/tags/list"), &[]).unwrap_or_default();
    if code != 200 {
        return Vec::new();
    }
    let doc: serde_json::Value = serde_json::from_str(&body).unwrap_or_default();
    doc["tags"]
        .as_array()
        .map(|tags| {
            tags.iter()
                .filter_map(|t| t.as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default()
}

/// The digest the open registry gives `repository:tag`'s manifest.
pub fn manifest_digest(registry: &str, repository: &str, tag: &str) -> Option<String> {
    let accept = "application/vnd.docker.distribution.manifest.v2+json";
    let (code, head, _) = http_get(
        registry,
        &format!("/v2/{repository}/manifests/{tag}"),
        &[("Accept", accept)],
    )
    .ok()?;
    if code != 200 {
        return None;
    }
    head.lines()
        .find_map(|l| l.strip_prefix("docker-content-digest:"))
        .map(|d| d.trim().to_string())
}
