//! Reaching the engine: where it is (as the docker CLI finds it), the
//! client's options and every timeout of its requests.

use std::future::Future;
use std::path::{Path, PathBuf};
use std::time::Duration;

use bollard::{BollardRequest, Docker};

use super::DockerEngine;
use super::error::chain;
use crate::engine::{EngineError, ErrorKind};

/// The engine the docker CLI talks to when nothing else is set.
pub const DEFAULT_HOST: &str = "unix:///var/run/docker.sock";

/// Seconds an ordinary request may take.
const REQUEST_TIMEOUT: u64 = 120;
/// Seconds a build, a pull or a push may take.
const LONG_TIMEOUT: u64 = 3600;
/// How long connecting may take before the engine counts as unavailable.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(30);

/// Where an engine is, and how it was found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Endpoint {
    /// `unix:///var/run/docker.sock`, `tcp://10.0.0.5:2375`.
    pub host: String,
    /// Where the address came from: `--host`, `DOCKER_HOST`, `docker context "x"`, `default`.
    pub source: String,
    /// Whether the docker CLI would talk TLS to it.
    pub tls: bool,
}

impl Endpoint {
    /// A warning for an engine reached over plain TCP beyond this machine:
    /// everything sent to it, registry credentials included, crosses the
    /// network in clear. A loopback address (an SSH tunnel's end) is quiet.
    pub fn cleartext_warning(&self) -> Option<String> {
        let address = self
            .host
            .strip_prefix("tcp://")
            .or_else(|| self.host.strip_prefix("http://"))?;
        let host = match address.strip_prefix('[') {
            Some(v6) => v6.split(']').next().unwrap_or(v6),
            None => address.split([':', '/']).next().unwrap_or(address),
        };
        let loopback = host == "localhost"
            || host
                .parse::<std::net::IpAddr>()
                .is_ok_and(|ip| ip.is_loopback());
        (!loopback).then(|| {
            format!(
                "warning: the Docker engine at {} (from {}) is reached over plain TCP without TLS: what stackc sends it, registry credentials and secret values included, can be read on the network; use a unix socket or an SSH tunnel (see docs/engine.md)",
                self.host, self.source
            )
        })
    }
}

/// Finds the engine like the docker CLI does: `explicit` (`--host`), else
/// `DOCKER_HOST`, else the current docker context (`DOCKER_CONTEXT`, else
/// `currentContext` in `config.json` under `DOCKER_CONFIG` or `~/.docker`;
/// its endpoint is in `contexts/meta/<sha256 of the name>/meta.json`), else
/// the local socket. `env` reads an environment variable; empty counts as unset.
pub fn resolve_host(
    explicit: Option<&str>,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<Endpoint, EngineError> {
    let var = |name: &str| env(name).filter(|v| !v.trim().is_empty());
    let tls_env = var("DOCKER_TLS_VERIFY").is_some() || var("DOCKER_TLS").is_some();
    let given = |host: &str, source: &str| {
        let host = if host.contains("://") {
            host.to_string()
        } else {
            format!("tcp://{host}")
        };
        Endpoint {
            tls: tls_env || host.starts_with("https://"),
            host,
            source: source.into(),
        }
    };
    if let Some(host) = explicit.filter(|h| !h.trim().is_empty()) {
        return Ok(given(host.trim(), "--host"));
    }
    if let Some(host) = var("DOCKER_HOST") {
        return Ok(given(host.trim(), "DOCKER_HOST"));
    }
    let config_dir = var("DOCKER_CONFIG")
        .map(PathBuf::from)
        .or_else(|| var("HOME").map(|home| Path::new(&home).join(".docker")));
    let context = var("DOCKER_CONTEXT").or_else(|| config_dir.as_deref().and_then(current_context));
    match (context, config_dir) {
        (Some(name), Some(dir)) if name != "default" => context_endpoint(&dir, &name),
        (Some(name), None) if name != "default" => Err(EngineError::new(
            ErrorKind::Other,
            format!(
                "docker context \"{name}\" is set, but there is no docker configuration directory (set DOCKER_CONFIG or HOME)"
            ),
        )),
        _ => Ok(Endpoint {
            host: DEFAULT_HOST.into(),
            source: "default".into(),
            tls: false,
        }),
    }
}

/// `currentContext` in `config.json`; an unreadable file counts as none (the
/// docker CLI only warns about it).
fn current_context(config_dir: &Path) -> Option<String> {
    let text = std::fs::read_to_string(config_dir.join("config.json")).ok()?;
    let config: serde_json::Value = serde_json::from_str(&text).ok()?;
    config
        .get("currentContext")?
        .as_str()
        .filter(|c| !c.is_empty())
        .map(str::to_string)
}

fn context_endpoint(config_dir: &Path, name: &str) -> Result<Endpoint, EngineError> {
    let digest = crate::digest::sha256_hex(name.as_bytes());
    let meta = config_dir
        .join("contexts")
        .join("meta")
        .join(&digest)
        .join("meta.json");
    let fail = |why: String| {
        EngineError::new(
            ErrorKind::Other,
            format!("docker context \"{name}\": {why}"),
        )
    };
    let text = std::fs::read_to_string(&meta)
        .map_err(|e| fail(format!("cannot read `{}`: {e}", meta.display())))?;
    let doc: serde_json::Value = serde_json::from_str(&text)
        .map_err(|e| fail(format!("`{}` is not valid JSON: {e}", meta.display())))?;
    let host = doc
        .pointer("/Endpoints/docker/Host")
        .and_then(|h| h.as_str())
        .filter(|h| !h.is_empty())
        .ok_or_else(|| fail(format!("`{}` names no docker endpoint", meta.display())))?;
    let tls_dir = config_dir
        .join("contexts")
        .join("tls")
        .join(&digest)
        .join("docker");
    Ok(Endpoint {
        host: host.to_string(),
        source: format!("docker context \"{name}\""),
        tls: host.starts_with("https://") || tls_dir.is_dir(),
    })
}

/// A client that answered: what connecting learnt about the engine.
pub(super) struct Connection {
    pub docker: Docker,
    /// The API version negotiated.
    pub api: (usize, usize),
    /// The engine's own id (`docker info`).
    pub id: String,
}

/// Makes the client for `endpoint`, negotiates the API version once and
/// asks the engine who it is.
pub(super) async fn connect(endpoint: &Endpoint) -> Result<Connection, EngineError> {
    let host = &endpoint.host;
    let from = if endpoint.source.starts_with("docker context") {
        format!(" ({})", endpoint.source)
    } else {
        String::new()
    };
    let unavailable = |why: String| {
        EngineError::new(
            ErrorKind::Unavailable,
            format!(
                "cannot connect to the Docker engine at {host}{from}: {why}; is it running? set DOCKER_HOST or --host"
            ),
        )
    };
    if endpoint.tls {
        return Err(EngineError::new(
            ErrorKind::Other,
            format!(
                "the Docker engine at {host} (from {}) is reached over TLS, which stackc does not support yet; use a unix socket, plain tcp:// on a trusted network, or an SSH tunnel (`ssh -L`)",
                endpoint.source
            ),
        ));
    }
    let client = if host.starts_with("unix://") {
        Docker::connect_with_unix
    } else if host.starts_with("tcp://") || host.starts_with("http://") {
        Docker::connect_with_http
    } else {
        return Err(EngineError::new(
            ErrorKind::Other,
            format!(
                "cannot connect to the Docker engine at {host} (from {}): stackc reaches engines at unix:// and tcp:// addresses only",
                endpoint.source
            ),
        ));
    };
    let docker = client(host, REQUEST_TIMEOUT, bollard::API_DEFAULT_VERSION)
        .map_err(|e| unavailable(chain(&e)))?
        .with_request_modifier(url_safe_registry_auth);
    let docker = answer(docker.negotiate_version(), &unavailable).await?;
    answer(docker.ping(), &unavailable).await?;
    let version = docker.client_version();
    let info = answer(docker.info(), &unavailable).await?;
    Ok(Connection {
        docker,
        api: (version.major_version, version.minor_version),
        id: info.id.unwrap_or_default(),
    })
}

/// The answer to one request made while connecting; without one, the
/// engine is `unavailable` for the reason given.
async fn answer<T>(
    request: impl Future<Output = Result<T, bollard::errors::Error>>,
    unavailable: impl Fn(String) -> EngineError,
) -> Result<T, EngineError> {
    match tokio::time::timeout(CONNECT_TIMEOUT, request).await {
        Ok(answer) => answer.map_err(|e| unavailable(chain(&e))),
        Err(_) => Err(unavailable(format!(
            "no answer within {}s",
            CONNECT_TIMEOUT.as_secs()
        ))),
    }
}

impl DockerEngine {
    /// A client for a build, a pull or a push.
    pub(super) fn for_long_work(&self) -> Docker {
        self.patient(LONG_TIMEOUT)
    }

    /// A client for stopping a container that is given `grace` seconds.
    pub(super) fn for_stop(&self, grace: u64) -> Docker {
        self.patient(grace + REQUEST_TIMEOUT)
    }

    /// A client whose requests may take `seconds` (more than an ordinary one).
    fn patient(&self, seconds: u64) -> Docker {
        self.docker
            .clone()
            .with_timeout(Duration::from_secs(seconds))
    }
}

/// bollard encodes the `X-Registry-Auth` and `X-Registry-Config` headers
/// in standard base64, the engine decodes them as URL-safe base64 and
/// silently drops what it cannot decode: credentials whose encoding holds a
/// `+` or `/` (a password with `?`, `>` or `~` in the wrong place) would be
/// ignored. Rewritten here to the alphabet the engine reads.
fn url_safe_registry_auth(mut request: BollardRequest) -> BollardRequest {
    for name in ["x-registry-auth", "x-registry-config"] {
        let Some(value) = request.headers().get(name) else {
            continue;
        };
        let Ok(text) = value.to_str() else {
            continue;
        };
        if !text.contains(['+', '/']) {
            continue;
        }
        let fixed = text.replace('+', "-").replace('/', "_");
        if let Ok(value) = http::HeaderValue::from_str(&fixed) {
            request.headers_mut().insert(name, value);
        }
    }
    request
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;

    #[test]
    fn plain_tcp_beyond_loopback_warns() {
        let warning = |host: &str| {
            let endpoint = resolve_host(Some(host), &|_| None).unwrap();
            endpoint.cleartext_warning()
        };
        let w = warning("tcp://10.0.0.5:2375").unwrap();
        assert!(
            w.starts_with("warning: the Docker engine at tcp://10.0.0.5:2375 (from --host) is reached over plain TCP without TLS"),
            "{w}"
        );
        assert!(warning("docker.example:2375").is_some());
        assert!(warning("http://[2001:db8::1]:2375").is_some());
        for quiet in [
            "unix:///var/run/docker.sock",
            "tcp://127.0.0.1:2375",
            "tcp://localhost:2375",
            "tcp://[::1]:2375",
        ] {
            assert_eq!(warning(quiet), None, "{quiet}");
        }
    }

    #[test]
    fn registry_auth_headers_are_sent_in_url_safe_base64() {
        let request = |value: &str| {
            http::Request::builder()
                .uri("/images/create")
                .header("X-Registry-Auth", value)
                .header("X-Registry-Config", value)
                .header("Content-Type", "application/json")
                .body(bollard::body_full(Vec::new().into()))
                .unwrap()
        };
        let fixed = url_safe_registry_auth(request("eyJ+c2VjcmV0Ijoi/w=="));
        assert_eq!(fixed.headers()["x-registry-auth"], "eyJ-c2VjcmV0Ijoi_w==");
        assert_eq!(fixed.headers()["x-registry-config"], "eyJ-c2VjcmV0Ijoi_w==");
        assert_eq!(fixed.headers()["content-type"], "application/json");
        let plain = url_safe_registry_auth(request("eyJ1c2VyIjoiYSJ9"));
        assert_eq!(plain.headers()["x-registry-auth"], "eyJ1c2VyIjoiYSJ9");
    }
}
